// The RTMP handshake, server and client side, as pure state machines fed bytes in memory.
// Plain: S1 with a zero version, S2 echoes C1 (RTMP spec 1.0, 5.2). Digest ("complex", FP9): C1
// carries an HMAC-SHA256 digest keyed with "Genuine Adobe Flash Player 001" at an offset given by
// one of two layouts (schema 0: time, version, key block, digest block; schema 1: digest block
// first); the server answers with S1 signed by the FMS key and S2 keyed from C1's digest.
// Source: SRS srs_protocol_rtmp_handshake.cpp (c1s1 / c2s2, SrsGenuineFMSKey / SrsGenuineFPKey).
import { createHmac, randomBytes as nodeRandomBytes, timingSafeEqual } from 'node:crypto';
import { RtmpError } from './error';

export const RTMP_VERSION = 3;
export const HANDSHAKE_SIZE = 1536;

const KEY_TAIL = [
  0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1, 0x02, 0x9e, 0x7e, 0x57,
  0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
];
/** 68 bytes; the first 36 ("Genuine Adobe Flash Media Server 001") sign S1. */
export const GENUINE_FMS_KEY = Buffer.concat([Buffer.from('Genuine Adobe Flash Media Server 001', 'latin1'), Buffer.from(KEY_TAIL)]);
/** 62 bytes; the first 30 ("Genuine Adobe Flash Player 001") sign C1. */
export const GENUINE_FP_KEY = Buffer.concat([Buffer.from('Genuine Adobe Flash Player 001', 'latin1'), Buffer.from(KEY_TAIL)]);

/** SRS's versions in C1/S1 (any non-zero version announces a digest). */
const SERVER_VERSION = 0x01000504;
const CLIENT_VERSION = 0x80000702;

export type DigestSchema = 0 | 1;

function hmac(key: Buffer, ...data: Buffer[]): Buffer {
  const h = createHmac('sha256', key);
  for (const d of data) h.update(d);
  return h.digest();
}

/** Offset of the 32-byte digest inside a 1536-byte C1/S1 for a schema (SRS digest_block). */
export function digestOffset(c1: Buffer, schema: DigestSchema): number {
  const block = schema === 0 ? 8 + 764 : 8;
  const offset = (c1[block] + c1[block + 1] + c1[block + 2] + c1[block + 3]) % 728;
  return block + 4 + offset;
}

function digestOf(packet: Buffer, at: number, key: Buffer): Buffer {
  return hmac(key, packet.subarray(0, at), packet.subarray(at + 32));
}

/**
 * Which schema C1 (or S1) was signed with, or null when its digest is valid in neither (then the
 * peer gets the plain handshake, as SRS falls back to simple).
 * @param key GENUINE_FP_KEY[0:30] for C1, GENUINE_FMS_KEY[0:36] for S1
 */
export function findDigest(packet: Buffer, key: Buffer): { schema: DigestSchema; digest: Buffer } | null {
  if (packet.length !== HANDSHAKE_SIZE) return null;
  for (const schema of [0, 1] as const) {
    const at = digestOffset(packet, schema);
    const want = digestOf(packet, at, key);
    const got = packet.subarray(at, at + 32);
    if (timingSafeEqual(want, got)) return { schema, digest: Buffer.from(got) };
  }
  return null;
}

/** Sign a 1536-byte packet in place at its schema's digest offset; returns the digest. */
function sign(packet: Buffer, schema: DigestSchema, key: Buffer): Buffer {
  const at = digestOffset(packet, schema);
  const d = digestOf(packet, at, key);
  d.copy(packet, at);
  return d;
}

/** S2/C2 of the digest handshake: 1504 random bytes and their HMAC keyed from the peer's digest. */
function signedEcho(random: Buffer, peerDigest: Buffer, longKey: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HANDSHAKE_SIZE);
  random.copy(out, 0, 0, HANDSHAKE_SIZE - 32);
  const temp = hmac(longKey, peerDigest);
  hmac(temp, out.subarray(0, HANDSHAKE_SIZE - 32)).copy(out, HANDSHAKE_SIZE - 32);
  return out;
}

export interface HandshakeDeps {
  /** seconds since the epoch for the time field of S1/C1 */
  nowSeconds?: () => number;
  randomBytes?: (n: number) => Buffer;
}

export interface HandshakeStep {
  /** bytes to send to the peer now (may be empty) */
  reply: Buffer;
  /** true once the handshake is complete */
  done: boolean;
  /** bytes after the handshake (the first chunks), only when done */
  rest: Buffer;
}

const EMPTY: Buffer = Buffer.alloc(0);

/** Accumulates exactly what a handshake state needs; never more than C0+C1+C2 bytes. */
class Bytes {
  private parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    if (b.length) {
      this.parts.push(b);
      this.length += b.length;
    }
  }
  first(): number {
    return this.parts[0][0];
  }
  /** take n bytes (copied when they span reads) */
  take(n: number): Buffer {
    const all = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.length);
    const head = all.subarray(0, n);
    const tail = all.subarray(n);
    this.parts = tail.length ? [tail] : [];
    this.length = tail.length;
    return head;
  }
}

/**
 * Server side: feed C0, C1, C2 as they arrive; replies S0+S1+S2 once C0+C1 are in.
 * @throws RtmpError('handshake') when C0 is not version 3 (RTMPE, 6, is not supported, as SRS)
 */
export class ServerHandshake {
  private state: 'c0c1' | 'c2' | 'done' = 'c0c1';
  private readonly buf = new Bytes();
  /** 'digest' when C1 carried a valid digest (schema in `schema`), 'plain' otherwise; null until C1 */
  kind: 'plain' | 'digest' | null = null;
  schema: DigestSchema | null = null;
  private readonly now: () => number;
  private readonly random: (n: number) => Buffer;

  constructor(deps: HandshakeDeps = {}) {
    this.now = deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
    this.random = deps.randomBytes ?? nodeRandomBytes;
  }

  get done(): boolean {
    return this.state === 'done';
  }

  feed(chunk: Buffer): HandshakeStep {
    if (this.state === 'done') throw new RtmpError('handshake', 'fed after the handshake completed');
    this.buf.push(chunk);
    let reply: Buffer = EMPTY;
    if (this.state === 'c0c1' && this.buf.length >= 1) {
      const c0 = this.buf.first();
      if (c0 !== RTMP_VERSION) throw new RtmpError('handshake', `C0 version ${c0} is not RTMP ${RTMP_VERSION} (plain RTMP only)`);
    }
    if (this.state === 'c0c1' && this.buf.length >= 1 + HANDSHAKE_SIZE) {
      const c0c1 = this.buf.take(1 + HANDSHAKE_SIZE);
      reply = this.answer(Buffer.from(c0c1.subarray(1)));
      this.state = 'c2';
    }
    if (this.state === 'c2' && this.buf.length >= HANDSHAKE_SIZE) {
      // C2 is not verified: SRS does not either, and some clients send a plain echo after a digest S1
      this.buf.take(HANDSHAKE_SIZE);
      this.state = 'done';
      const rest = this.buf.length ? this.buf.take(this.buf.length) : EMPTY;
      return { reply, done: true, rest };
    }
    return { reply, done: false, rest: EMPTY };
  }

  private answer(c1: Buffer): Buffer {
    const out = Buffer.allocUnsafe(1 + 2 * HANDSHAKE_SIZE);
    out[0] = RTMP_VERSION;
    const s1 = out.subarray(1, 1 + HANDSHAKE_SIZE);
    const s2 = out.subarray(1 + HANDSHAKE_SIZE);
    this.random(HANDSHAKE_SIZE).copy(s1);
    s1.writeUInt32BE(this.now() >>> 0, 0);
    const found = c1.readUInt32BE(4) === 0 ? null : findDigest(c1, GENUINE_FP_KEY.subarray(0, 30));
    if (!found) {
      this.kind = 'plain';
      s1.writeUInt32BE(0, 4);
      c1.copy(s2);
      return out;
    }
    this.kind = 'digest';
    this.schema = found.schema;
    s1.writeUInt32BE(SERVER_VERSION, 4);
    sign(s1, found.schema, GENUINE_FMS_KEY.subarray(0, 36));
    signedEcho(this.random(HANDSHAKE_SIZE - 32), found.digest, GENUINE_FMS_KEY).copy(s2);
    return out;
  }
}

/**
 * Client side (srs pulling from or forwarding to another server): C0+C1 with a schema-1 digest,
 * then S0+S1+S2 in, then C2 out — signed when S1 carries a valid FMS digest, else S1 echoed.
 * @throws RtmpError('handshake') when S0 is not version 3
 */
export class ClientHandshake {
  private state: 'start' | 's0s1s2' | 'done' = 'start';
  private readonly buf = new Bytes();
  private readonly now: () => number;
  private readonly random: (n: number) => Buffer;
  /** whether the server answered with a digest S1 */
  kind: 'plain' | 'digest' | null = null;

  constructor(deps: HandshakeDeps = {}) {
    this.now = deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
    this.random = deps.randomBytes ?? nodeRandomBytes;
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /** C0+C1, to send first */
  start(): Buffer {
    if (this.state !== 'start') throw new RtmpError('handshake', 'client handshake started twice');
    const out = Buffer.allocUnsafe(1 + HANDSHAKE_SIZE);
    out[0] = RTMP_VERSION;
    const c1 = out.subarray(1);
    this.random(HANDSHAKE_SIZE).copy(c1);
    c1.writeUInt32BE(this.now() >>> 0, 0);
    c1.writeUInt32BE(CLIENT_VERSION, 4);
    sign(c1, 1, GENUINE_FP_KEY.subarray(0, 30));
    this.state = 's0s1s2';
    return out;
  }

  /** feed the server's bytes; the reply is C2 once S0+S1+S2 are in */
  feed(chunk: Buffer): HandshakeStep {
    if (this.state !== 's0s1s2') throw new RtmpError('handshake', `fed in state ${this.state}`);
    this.buf.push(chunk);
    if (this.buf.length < 1 + 2 * HANDSHAKE_SIZE) return { reply: EMPTY, done: false, rest: EMPTY };
    const all = this.buf.take(1 + 2 * HANDSHAKE_SIZE);
    if (all[0] !== RTMP_VERSION) throw new RtmpError('handshake', `S0 version ${all[0]} is not RTMP ${RTMP_VERSION}`);
    const s1 = Buffer.from(all.subarray(1, 1 + HANDSHAKE_SIZE));
    const found = s1.readUInt32BE(4) === 0 ? null : findDigest(s1, GENUINE_FMS_KEY.subarray(0, 36));
    this.kind = found ? 'digest' : 'plain';
    const c2 = found ? signedEcho(this.random(HANDSHAKE_SIZE - 32), found.digest, GENUINE_FP_KEY) : s1;
    this.state = 'done';
    const rest = this.buf.length ? this.buf.take(this.buf.length) : EMPTY;
    return { reply: c2, done: true, rest };
  }
}

/** Whether S2 (as a client) or C2 (as a server) is the signed echo of our digest (tests, diagnostics). */
export function verifySignedEcho(packet: Buffer, ourDigest: Buffer, longKey: Buffer): boolean {
  const want = hmac(hmac(longKey, ourDigest), packet.subarray(0, HANDSHAKE_SIZE - 32));
  return timingSafeEqual(want, packet.subarray(HANDSHAKE_SIZE - 32));
}
