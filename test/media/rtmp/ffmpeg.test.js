'use strict';
// Real clients against the RTMP session (in this process, on the real stream hub): ffmpeg
// publishes a generated x264+aac file with -re -c copy; ffmpeg and rtmpdump (librtmp, which checks
// the digest of S1) play it; a late ffprobe starts at a keyframe. Codecs, sizes and packet
// counts must match the source.
const test = require('node:test');
const assert = require('node:assert');
const net = require('node:net');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { RtmpSession } = require('../../../dist/media/rtmp/session');
const { StreamHub, DEFAULT_MEDIA_SETTINGS } = require('../../../dist/media/hub');

const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function run(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let err = '';
  child.stderr.on('data', (b) => (err = (err + b).slice(-4000)));
  child.stdout.on('data', () => {});
  const done = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, err })));
  return { child, done };
}

function within(p, ms, what) {
  let timer;
  return Promise.race([p, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)))]).finally(() => clearTimeout(timer));
}

function probe(file) {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height:stream_tags=', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'json', file], { encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stderr);
  const streams = JSON.parse(r.stdout).streams;
  const v = streams.find((s) => s.codec_type === 'video');
  const a = streams.find((s) => s.codec_type === 'audio');
  return { video: v && { codec: v.codec_name, width: v.width, height: v.height, packets: Number(v.nb_read_packets) }, audio: a && { codec: a.codec_name, packets: Number(a.nb_read_packets) } };
}

test('ffmpeg publishes; ffmpeg and rtmpdump play from the start; packet counts, codecs and sizes match', { skip: !have('ffmpeg') || !have('rtmpdump') ? 'ffmpeg or rtmpdump not installed' : false, timeout: 120000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-rtmp-'));
  const children = [];
  const hub = new StreamHub();
  const events = new (require('node:events').EventEmitter)();
  const lines = [];
  const log = {
    info: (o, m) => {
      lines.push({ ...o, msg: m });
      events.emit('line', { ...o, msg: m });
    },
    warn: (o, m) => lines.push({ level: 'warn', ...o, msg: m }),
    error: (o, m) => lines.push({ level: 'error', ...o, msg: m }),
  };
  const sessions = [];
  let n = 0;
  const server = net.createServer((socket) => {
    const s = new RtmpSession(socket, {
      hub,
      log,
      cid: `c${++n}`,
      resolver: { vhostNames: () => [], settings: () => ({ media: DEFAULT_MEDIA_SETTINGS, chunkSize: 60000, allow: () => true, firstPacketTimeoutMs: 20000, normalTimeoutMs: 5000 }) },
    });
    sessions.push(s);
    s.start();
  });
  t.after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const s of sessions) s.drain('test over');
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `rtmp://127.0.0.1:${server.address().port}/live/test`;

  const src = path.join(dir, 'src.flv');
  const gen = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', src]);
  assert.strictEqual(gen.status, 0, String(gen.stderr));
  const want = probe(src);

  const waitPlay = (cid) => within(new Promise((resolve) => events.on('line', (l) => l.msg === 'rtmp play' && (!cid || l.cid === cid) && resolve(l))), 20000, 'a player to start playing');
  const out1 = path.join(dir, 'ffmpeg.flv');
  const p1 = waitPlay();
  const ffplay = run('ffmpeg', ['-v', 'error', '-i', url, '-c', 'copy', '-f', 'flv', out1]);
  children.push(ffplay.child);
  await p1;
  const out2 = path.join(dir, 'rtmpdump.flv');
  const p2 = waitPlay();
  const dump = run('rtmpdump', ['-q', '--live', '-r', url, '-o', out2]);
  children.push(dump.child);
  await p2;

  const pub = run('ffmpeg', ['-v', 'error', '-re', '-i', src, '-c', 'copy', '-f', 'flv', url]);
  children.push(pub.child);
  const pubDone = await within(pub.done, 60000, 'the ffmpeg publisher to finish');
  assert.strictEqual(pubDone.code, 0, `ffmpeg publish failed: ${pubDone.err}`);

  // the publisher is gone: the players got UnpublishNotify; a graceful quit ends them
  for (const s of sessions) if (s.snapshot().kind === 'rtmp-player') s.drain('quit');
  await within(Promise.all([ffplay.done, dump.done]), 20000, 'the players to exit after drain');
  assert.deepStrictEqual(lines.filter((l) => l.level === 'warn' || l.level === 'error'), []);
  // ffmpeg signs C1 (schema 1): the session answered with the digest handshake; librtmp sends a plain C1
  const connects = lines.filter((l) => l.msg === 'rtmp connect');
  assert.deepStrictEqual(connects.map((l) => l.handshake), ['digest', 'plain', 'digest']);
  for (const file of [out1, out2]) {
    const got = probe(file);
    assert.deepStrictEqual(got, want, `${path.basename(file)} matches the source`);
  }
});

test('a late ffprobe player gets the sequence headers and starts at a keyframe', { skip: !have('ffprobe') ? 'ffprobe not installed' : false, timeout: 120000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-rtmp-'));
  const children = [];
  const hub = new StreamHub();
  const sessions = [];
  const log = { info() {}, warn() {}, error() {} };
  let n = 0;
  const server = net.createServer((socket) => {
    const s = new RtmpSession(socket, { hub, log, cid: `c${++n}`, resolver: { vhostNames: () => [], settings: () => ({ media: DEFAULT_MEDIA_SETTINGS, chunkSize: 4096, allow: () => true, firstPacketTimeoutMs: 20000, normalTimeoutMs: 5000 }) } });
    sessions.push(s);
    s.start();
  });
  t.after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const s of sessions) s.drain('test over');
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `rtmp://127.0.0.1:${server.address().port}/live/late`;
  // a live source that runs until the test ends (x264 keyframe every 25 frames)
  const pub = run('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', url]);
  children.push(pub.child);
  // wait until the hub has the sequence headers
  await within(
    (async () => {
      for (;;) {
        const st = hub.state({ vhost: '__defaultVhost__', app: 'live', stream: 'late' });
        if (st && st.publishing && st.video && st.audio) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    })(),
    30000,
    'the publisher\'s sequence headers at the hub',
  );
  // not spawnSync: this process serves the stream
  const probeRun = spawn('ffprobe', ['-v', 'error', '-rw_timeout', '15000000', '-read_intervals', '%+#10', '-select_streams', 'v', '-show_entries', 'stream=codec_name,width,height:packet=flags', '-of', 'json', url], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(probeRun);
  let stdout = '';
  let stderr = '';
  probeRun.stdout.on('data', (b) => (stdout += b));
  probeRun.stderr.on('data', (b) => (stderr += b));
  const code = await within(new Promise((r) => probeRun.on('close', r)), 60000, 'ffprobe to read 10 packets');
  assert.strictEqual(code, 0, stderr);
  const j = JSON.parse(stdout);
  assert.deepStrictEqual(j.streams[0], { codec_name: 'h264', width: 320, height: 240 });
  assert.ok(j.packets.length > 0, 'packets were read');
  assert.match(j.packets[0].flags, /^K/, 'the first video packet is a keyframe');
});
