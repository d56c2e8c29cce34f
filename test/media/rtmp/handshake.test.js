'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { ServerHandshake, ClientHandshake, findDigest, verifySignedEcho, GENUINE_FMS_KEY, GENUINE_FP_KEY, HANDSHAKE_SIZE } = require('../../../dist/media/rtmp/handshake');
const { RtmpError } = require('../../../dist/media/rtmp/error');

function plainC0C1() {
  const b = Buffer.alloc(1 + HANDSHAKE_SIZE, 7);
  b[0] = 3;
  b.writeUInt32BE(0, 5); // version 0: plain
  return b;
}

test('plain handshake: S2 echoes C1, S1 has a zero version, bytes after C2 are returned', () => {
  const s = new ServerHandshake({ nowSeconds: () => 1000 });
  const c0c1 = plainC0C1();
  const a = s.feed(c0c1.subarray(0, 100));
  assert.strictEqual(a.reply.length, 0);
  const b = s.feed(c0c1.subarray(100));
  assert.strictEqual(b.reply.length, 1 + 2 * HANDSHAKE_SIZE);
  assert.strictEqual(b.reply[0], 3);
  assert.strictEqual(b.reply.readUInt32BE(1), 1000);
  assert.strictEqual(b.reply.readUInt32BE(5), 0);
  assert.deepStrictEqual(b.reply.subarray(1 + HANDSHAKE_SIZE), c0c1.subarray(1));
  assert.strictEqual(s.kind, 'plain');
  const c2 = Buffer.concat([Buffer.alloc(HANDSHAKE_SIZE), Buffer.from([1, 2, 3])]);
  const c = s.feed(c2);
  assert.ok(c.done);
  assert.deepStrictEqual([...c.rest], [1, 2, 3]);
});

test('digest handshake: client and server agree, each schema; S1 and S2 verify as librtmp checks them', () => {
  for (let i = 0; i < 4; i++) {
    const client = new ClientHandshake();
    const c0c1 = client.start();
    assert.ok(findDigest(c0c1.subarray(1), GENUINE_FP_KEY.subarray(0, 30)));
    const server = new ServerHandshake();
    const r = server.feed(c0c1);
    assert.strictEqual(server.kind, 'digest');
    const s1 = r.reply.subarray(1, 1 + HANDSHAKE_SIZE);
    const s2 = r.reply.subarray(1 + HANDSHAKE_SIZE);
    const s1d = findDigest(s1, GENUINE_FMS_KEY.subarray(0, 36));
    assert.ok(s1d, 'S1 carries a valid FMS digest');
    assert.strictEqual(s1d.schema, server.schema);
    const c1d = findDigest(c0c1.subarray(1), GENUINE_FP_KEY.subarray(0, 30));
    assert.ok(verifySignedEcho(s2, c1d.digest, GENUINE_FMS_KEY), 'S2 is keyed from C1 digest');
    const cr = client.feed(r.reply);
    assert.ok(cr.done);
    assert.strictEqual(client.kind, 'digest');
    assert.ok(verifySignedEcho(cr.reply, s1d.digest, GENUINE_FP_KEY), 'C2 is keyed from S1 digest');
    assert.ok(server.feed(cr.reply).done);
  }
});

test('digest handshake, schema 0 C1 (key block first) is recognised', () => {
  const crypto = require('node:crypto');
  const c1 = crypto.randomBytes(HANDSHAKE_SIZE);
  c1.writeUInt32BE(0x80000702, 4);
  const block = 772;
  const at = block + 4 + ((c1[block] + c1[block + 1] + c1[block + 2] + c1[block + 3]) % 728);
  const h = crypto.createHmac('sha256', GENUINE_FP_KEY.subarray(0, 30));
  h.update(c1.subarray(0, at));
  h.update(c1.subarray(at + 32));
  h.digest().copy(c1, at);
  const s = new ServerHandshake();
  s.feed(Buffer.concat([Buffer.from([3]), c1]));
  assert.strictEqual(s.kind, 'digest');
  assert.strictEqual(s.schema, 0);
});

test('a non-zero version without a valid digest falls back to plain', () => {
  const c0c1 = plainC0C1();
  c0c1.writeUInt32BE(0x09007c02, 5);
  const s = new ServerHandshake();
  const r = s.feed(c0c1);
  assert.strictEqual(s.kind, 'plain');
  assert.deepStrictEqual(r.reply.subarray(1 + HANDSHAKE_SIZE), c0c1.subarray(1));
});

test('C0 other than 3 (RTMPE 6) is refused with an RtmpError', () => {
  const s = new ServerHandshake();
  assert.throws(() => s.feed(Buffer.from([6])), (e) => e instanceof RtmpError && e.layer === 'handshake' && /C0 version 6/.test(e.message));
});

test('a client talking to a plain server echoes S1 as C2', () => {
  const client = new ClientHandshake();
  client.start();
  const s0s1s2 = Buffer.alloc(1 + 2 * HANDSHAKE_SIZE, 5);
  s0s1s2[0] = 3;
  s0s1s2.writeUInt32BE(0, 5);
  const r = client.feed(s0s1s2);
  assert.strictEqual(client.kind, 'plain');
  assert.deepStrictEqual(r.reply, s0s1s2.subarray(1, 1 + HANDSHAKE_SIZE));
});

test('S1 and S2 verify with an independent HMAC check, as ffmpeg rtmp_validate_digest and librtmp VerifyDigest do', () => {
  const crypto = require('node:crypto');
  const hmac = (key, ...parts) => {
    const h = crypto.createHmac('sha256', key);
    for (const p of parts) h.update(p);
    return h.digest();
  };
  const FMS = Buffer.concat([Buffer.from('Genuine Adobe Flash Media Server 001'), Buffer.from('f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae', 'hex')]);
  const FP = Buffer.from('Genuine Adobe Flash Player 001');
  // ffmpeg's C1: digest at ff_rtmp_calc_digest_pos(c1, 8, 728, 12)
  const c1 = crypto.randomBytes(HANDSHAKE_SIZE);
  c1.writeUInt32BE(0x80000702, 4);
  const cpos = ((c1[8] + c1[9] + c1[10] + c1[11]) % 728) + 12;
  hmac(FP, c1.subarray(0, cpos), c1.subarray(cpos + 32)).copy(c1, cpos);
  const r = new ServerHandshake().feed(Buffer.concat([Buffer.from([3]), c1]));
  const s1 = r.reply.subarray(1, 1 + HANDSHAKE_SIZE);
  const s2 = r.reply.subarray(1 + HANDSHAKE_SIZE);
  const spos = ((s1[8] + s1[9] + s1[10] + s1[11]) % 728) + 12;
  assert.ok(hmac(FMS.subarray(0, 36), s1.subarray(0, spos), s1.subarray(spos + 32)).equals(s1.subarray(spos, spos + 32)), 'S1 digest (same schema as C1)');
  const key = hmac(FMS, c1.subarray(cpos, cpos + 32));
  assert.ok(hmac(key, s2.subarray(0, HANDSHAKE_SIZE - 32)).equals(s2.subarray(HANDSHAKE_SIZE - 32)), 'S2 signature');
});
