// AMF3 decoding, enough for AMF3 command and data messages (types 17 and 15), where a 0x11 marker
// in an AMF0 stream switches one value to AMF3. Reference tables (strings, objects, traits) are
// per value, as Flash writes them. Bounds: nesting depth, and every count checked against the
// bytes left, so no input allocates more than its own size.
// Source: Adobe AMF3 specification (2013) sections 1.3 and 3; SRS srs_protocol_amf0.cpp (the
// AMF3 switch is skipped there; srs decodes it so Flash clients' commands work).
import { RtmpError } from './error';
import type { AmfObject, AmfValue } from './amf0';

const MAX_DEPTH = 32;

interface Traits {
  className: string;
  dynamic: boolean;
  sealed: string[];
}

class Amf3Reader {
  private readonly strings: string[] = [];
  private readonly objects: AmfValue[] = [];
  private readonly traits: Traits[] = [];
  constructor(
    private readonly buf: Buffer,
    public offset: number,
  ) {}

  private fail(reason: string): never {
    throw new RtmpError('amf3', `${reason} at byte ${this.offset}`);
  }

  private need(n: number): void {
    if (this.offset + n > this.buf.length) this.fail(`needs ${n} more bytes, ${this.buf.length - this.offset} left`);
  }

  private u8(): number {
    this.need(1);
    return this.buf[this.offset++];
  }

  /** variable-length unsigned 29-bit integer */
  u29(): number {
    let v = 0;
    for (let i = 0; i < 3; i++) {
      const b = this.u8();
      v = (v << 7) | (b & 0x7f);
      if (!(b & 0x80)) return v;
    }
    return ((v << 8) | this.u8()) >>> 0;
  }

  private count(n: number, what: string): number {
    if (n > this.buf.length - this.offset) this.fail(`${what} count ${n} exceeds the bytes left`);
    return n;
  }

  private utf8(len: number): string {
    this.need(len);
    const s = this.buf.toString('utf8', this.offset, this.offset + len);
    this.offset += len;
    return s;
  }

  string(): string {
    const h = this.u29();
    if (!(h & 1)) {
      const s = this.strings[h >> 1];
      if (s === undefined) this.fail(`string reference ${h >> 1} is undefined`);
      return s;
    }
    const s = this.utf8(h >> 1);
    if (s.length) this.strings.push(s);
    return s;
  }

  private ref(h: number): AmfValue {
    const idx = h >> 1;
    if (idx >= this.objects.length) this.fail(`object reference ${idx} is undefined`);
    return this.objects[idx];
  }

  value(depth: number): AmfValue {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    const marker = this.u8();
    switch (marker) {
      case 0x00:
        return undefined;
      case 0x01:
        return null;
      case 0x02:
        return false;
      case 0x03:
        return true;
      case 0x04: {
        const v = this.u29();
        return v & 0x10000000 ? v - 0x20000000 : v;
      }
      case 0x05: {
        this.need(8);
        const d = this.buf.readDoubleBE(this.offset);
        this.offset += 8;
        return d;
      }
      case 0x06:
        return this.string();
      case 0x07:
      case 0x0b: {
        const h = this.u29();
        if (!(h & 1)) return this.ref(h);
        const s = this.utf8(h >> 1);
        this.objects.push(s);
        return s;
      }
      case 0x08: {
        const h = this.u29();
        if (!(h & 1)) return this.ref(h);
        this.need(8);
        const d = new Date(this.buf.readDoubleBE(this.offset));
        this.offset += 8;
        this.objects.push(d);
        return d;
      }
      case 0x09:
        return this.array(depth);
      case 0x0a:
        return this.object(depth);
      case 0x0c: {
        const h = this.u29();
        if (!(h & 1)) return this.ref(h);
        const len = h >> 1;
        this.need(len);
        const b = Buffer.from(this.buf.subarray(this.offset, this.offset + len));
        this.offset += len;
        this.objects.push(b);
        return b;
      }
      default:
        return this.fail(`unsupported AMF3 marker 0x${marker.toString(16)}`);
    }
  }

  private array(depth: number): AmfValue {
    const h = this.u29();
    if (!(h & 1)) return this.ref(h);
    const dense = this.count(h >> 1, 'array');
    const assoc: AmfObject = Object.create(null) as AmfObject;
    const list: AmfValue[] = [];
    this.objects.push(list);
    let hasAssoc = false;
    for (;;) {
      const key = this.string();
      if (key === '') break;
      assoc[key] = this.value(depth + 1);
      hasAssoc = true;
    }
    for (let i = 0; i < dense; i++) list.push(this.value(depth + 1));
    if (!hasAssoc) return list;
    list.forEach((v, i) => (assoc[String(i)] = v));
    return assoc;
  }

  private object(depth: number): AmfValue {
    const h = this.u29();
    if (!(h & 1)) return this.ref(h);
    let t: Traits;
    if (!(h & 2)) {
      const tr = this.traits[h >> 2];
      if (!tr) this.fail(`traits reference ${h >> 2} is undefined`);
      t = tr;
    } else {
      if (h & 4) this.fail('externalizable objects are not supported');
      const n = this.count(h >> 4, 'sealed member');
      t = { className: this.string(), dynamic: (h & 8) !== 0, sealed: [] };
      for (let i = 0; i < n; i++) t.sealed.push(this.string());
      this.traits.push(t);
    }
    const o: AmfObject = Object.create(null) as AmfObject;
    this.objects.push(o);
    for (const k of t.sealed) o[k] = this.value(depth + 1);
    if (t.dynamic) {
      for (;;) {
        const key = this.string();
        if (key === '') break;
        o[key] = this.value(depth + 1);
      }
    }
    return o;
  }
}

/**
 * Decode one AMF3 value at `offset` (after the AMF0 0x11 switch marker, or in an AMF3 stream).
 * Arrays with only dense members decode to arrays, mixed ones to objects; XML to strings;
 * ByteArray to Buffer (copied).
 * @returns the value and the offset after it
 * @throws RtmpError('amf3') on truncation, bad references, unsupported markers (vectors,
 *   dictionaries, externalizable objects) or nesting over 32
 */
export function decodeAmf3Value(buf: Buffer, offset: number, depth = 0): { value: AmfValue; offset: number } {
  const r = new Amf3Reader(buf, offset);
  const value = r.value(depth);
  return { value, offset: r.offset };
}
