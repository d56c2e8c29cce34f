// AMF0 encoding and decoding for RTMP commands and data messages, and the AMF3 command form
// (type 17: a leading 0x00, then AMF0 values where the 0x11 marker switches one value to AMF3).
// Bounds: nesting depth, and counts checked against the bytes left, so hostile input costs at
// most its own size. Source: Adobe AMF0 specification (2007); SRS srs_protocol_amf0.cpp.
import { decodeAmf3Value } from './amf3';
import { RtmpError } from './error';

export type AmfValue = number | boolean | string | null | undefined | Date | Buffer | AmfValue[] | AmfObject | EcmaArray;
export interface AmfObject {
  [key: string]: AmfValue;
}

/** An AMF0 ECMA array (marker 0x08) to encode, e.g. the `data` of connect's _result. Decoded ECMA arrays are plain objects. */
export class EcmaArray {
  constructor(readonly props: AmfObject) {}
}

export const Amf0Marker = {
  Number: 0x00,
  Boolean: 0x01,
  String: 0x02,
  Object: 0x03,
  MovieClip: 0x04,
  Null: 0x05,
  Undefined: 0x06,
  Reference: 0x07,
  EcmaArray: 0x08,
  ObjectEnd: 0x09,
  StrictArray: 0x0a,
  Date: 0x0b,
  LongString: 0x0c,
  Unsupported: 0x0d,
  XmlDocument: 0x0f,
  TypedObject: 0x10,
  AvmPlusObject: 0x11,
} as const;

const MAX_DEPTH = 32;

/** Reads AMF0 values one after another from a buffer. */
export class Amf0Reader {
  offset: number;
  constructor(
    private readonly buf: Buffer,
    offset = 0,
  ) {
    this.offset = offset;
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  private fail(reason: string): never {
    throw new RtmpError('amf0', `${reason} at byte ${this.offset}`);
  }

  private need(n: number): void {
    if (this.offset + n > this.buf.length) this.fail(`needs ${n} more bytes, ${this.buf.length - this.offset} left`);
  }

  private utf8(len: number): string {
    this.need(len);
    const s = this.buf.toString('utf8', this.offset, this.offset + len);
    this.offset += len;
    return s;
  }

  private shortString(): string {
    this.need(2);
    const len = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return this.utf8(len);
  }

  /**
   * The next value.
   * @throws RtmpError('amf0' | 'amf3') on truncation, an unknown or unsupported marker
   *   (reference, movieclip, recordset), a stray object-end, or nesting over 32
   */
  read(depth = 0): AmfValue {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    this.need(1);
    const marker = this.buf[this.offset++];
    switch (marker) {
      case Amf0Marker.Number: {
        this.need(8);
        const v = this.buf.readDoubleBE(this.offset);
        this.offset += 8;
        return v;
      }
      case Amf0Marker.Boolean:
        this.need(1);
        return this.buf[this.offset++] !== 0;
      case Amf0Marker.String:
        return this.shortString();
      case Amf0Marker.Object:
        return this.properties(depth);
      case Amf0Marker.TypedObject:
        this.shortString(); // class name: srs has no use for it
        return this.properties(depth);
      case Amf0Marker.Null:
        return null;
      case Amf0Marker.Undefined:
      case Amf0Marker.Unsupported:
        return undefined;
      case Amf0Marker.EcmaArray:
        // the count is a hint only (encoders get it wrong); the object-end marker ends it
        this.need(4);
        this.offset += 4;
        return this.properties(depth);
      case Amf0Marker.StrictArray: {
        this.need(4);
        const n = this.buf.readUInt32BE(this.offset);
        this.offset += 4;
        if (n > this.remaining) this.fail(`strict array count ${n} exceeds the bytes left`);
        const out: AmfValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.read(depth + 1));
        return out;
      }
      case Amf0Marker.Date: {
        this.need(10);
        const ms = this.buf.readDoubleBE(this.offset);
        this.offset += 10; // the 2-byte time zone is reserved (always 0)
        return new Date(ms);
      }
      case Amf0Marker.LongString:
      case Amf0Marker.XmlDocument: {
        this.need(4);
        const len = this.buf.readUInt32BE(this.offset);
        this.offset += 4;
        return this.utf8(len);
      }
      case Amf0Marker.AvmPlusObject: {
        const r = decodeAmf3Value(this.buf, this.offset, depth);
        this.offset = r.offset;
        return r.value;
      }
      case Amf0Marker.ObjectEnd:
        return this.fail('object-end marker outside an object');
      default:
        return this.fail(`unsupported AMF0 marker 0x${marker.toString(16)}`);
    }
  }

  private properties(depth: number): AmfObject {
    const o: AmfObject = Object.create(null) as AmfObject;
    for (;;) {
      this.need(3);
      if (this.buf.readUInt16BE(this.offset) === 0 && this.buf[this.offset + 2] === Amf0Marker.ObjectEnd) {
        this.offset += 3;
        return o;
      }
      const key = this.shortString();
      o[key] = this.read(depth + 1);
    }
  }
}

/** Decode every AMF0 value in `buf` (a command or data message payload). @throws RtmpError */
export function decodeAmf0(buf: Buffer, offset = 0): AmfValue[] {
  const r = new Amf0Reader(buf, offset);
  const out: AmfValue[] = [];
  while (r.remaining > 0) out.push(r.read());
  return out;
}

function writeString(parts: Buffer[], s: string, withMarker: boolean): void {
  const body = Buffer.from(s, 'utf8');
  if (body.length > 0xffff) {
    if (!withMarker) throw new RangeError(`AMF0 property name of ${body.length} bytes is over 65535`);
    const h = Buffer.allocUnsafe(5);
    h[0] = Amf0Marker.LongString;
    h.writeUInt32BE(body.length, 1);
    parts.push(h, body);
    return;
  }
  const h = Buffer.allocUnsafe(withMarker ? 3 : 2);
  if (withMarker) h[0] = Amf0Marker.String;
  h.writeUInt16BE(body.length, withMarker ? 1 : 0);
  parts.push(h, body);
}

const OBJECT_END = Buffer.from([0, 0, Amf0Marker.ObjectEnd]);

function writeProps(parts: Buffer[], o: AmfObject): void {
  for (const [k, v] of Object.entries(o)) {
    writeString(parts, k, false);
    writeValue(parts, v);
  }
  parts.push(OBJECT_END);
}

function writeValue(parts: Buffer[], v: AmfValue): void {
  if (typeof v === 'number') {
    const b = Buffer.allocUnsafe(9);
    b[0] = Amf0Marker.Number;
    b.writeDoubleBE(v, 1);
    parts.push(b);
  } else if (typeof v === 'boolean') {
    parts.push(Buffer.from([Amf0Marker.Boolean, v ? 1 : 0]));
  } else if (typeof v === 'string') {
    writeString(parts, v, true);
  } else if (v === null) {
    parts.push(Buffer.from([Amf0Marker.Null]));
  } else if (v === undefined) {
    parts.push(Buffer.from([Amf0Marker.Undefined]));
  } else if (v instanceof Date) {
    const b = Buffer.alloc(11);
    b[0] = Amf0Marker.Date;
    b.writeDoubleBE(v.getTime(), 1);
    parts.push(b);
  } else if (Buffer.isBuffer(v)) {
    throw new RangeError('AMF0 has no byte array type');
  } else if (Array.isArray(v)) {
    const h = Buffer.allocUnsafe(5);
    h[0] = Amf0Marker.StrictArray;
    h.writeUInt32BE(v.length, 1);
    parts.push(h);
    for (const e of v) writeValue(parts, e);
  } else if (v instanceof EcmaArray) {
    const h = Buffer.allocUnsafe(5);
    h[0] = Amf0Marker.EcmaArray;
    h.writeUInt32BE(Object.keys(v.props).length, 1);
    parts.push(h);
    writeProps(parts, v.props);
  } else {
    parts.push(Buffer.from([Amf0Marker.Object]));
    writeProps(parts, v);
  }
}

/**
 * Encode values as AMF0, one after another. Strings over 65535 bytes become long strings;
 * arrays strict arrays; EcmaArray instances ECMA arrays; other objects anonymous objects.
 * @throws RangeError for a Buffer value or a property name over 65535 bytes
 */
export function encodeAmf0(values: readonly AmfValue[]): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) writeValue(parts, v);
  return Buffer.concat(parts);
}
