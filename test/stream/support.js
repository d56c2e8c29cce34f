'use strict';
// Real media clients for the stream tests: a source file made once per test file with ffmpeg
// (lavfi testsrc2 + sine, x264 + aac), ffmpeg as a publisher (-re -c copy, looped), ffprobe,
// ffmpeg and rtmpdump as players. Each client is a child process tracked by pid and killed when
// the test file ends.
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const h = require('../helpers/harness');

const FPS = 25;
const GOP = 25; // a keyframe a second
const WIDTH = 320;
const HEIGHT = 240;

/** The test source: `seconds` of 320x240 25 fps H.264 (a keyframe a second) and 44.1 kHz stereo AAC, FLV. */
async function makeSource(dir, seconds = 6) {
  const file = path.join(dir, 'source.flv');
  const r = await h.run(
    'ffmpeg',
    ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${WIDTH}x${HEIGHT}:rate=${FPS}`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(GOP), '-keyint_min', String(GOP), '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2', '-b:a', '64k', '-f', 'flv', file],
    { timeoutMs: 60000 },
  );
  if (r.code !== 0) throw new Error(`ffmpeg could not make the source: ${r.output}`);
  return file;
}

/** A child process tracked by pid, with its output kept and a wait for its exit. */
function child(cmd, args, { cwd } = {}) {
  const c = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  h.track(c.pid);
  const out = { text: '' };
  c.stdout.on('data', (d) => (out.text += d));
  c.stderr.on('data', (d) => (out.text += d));
  const exited = new Promise((resolve) => c.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    pid: c.pid,
    child: c,
    get output() {
      return out.text;
    },
    exited,
    kill(signal = 'SIGKILL') {
      h.killPid(c.pid, signal);
    },
    async waitExit(timeoutMs, what) {
      let timer;
      const t = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what ?? cmd} did not exit within ${timeoutMs} ms; output: ${out.text.slice(-1500)}`)), timeoutMs);
      });
      try {
        return await Promise.race([exited, t]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** ffmpeg publishes the source in a loop, in real time, without re-encoding. */
function publish(source, url, { loop = true } = {}) {
  return child('ffmpeg', ['-nostdin', '-loglevel', 'warning', '-re', ...(loop ? ['-stream_loop', '-1'] : []), '-i', source, '-c', 'copy', '-f', 'flv', url]);
}

/** ffprobe's view of a live URL: its streams. */
async function probeStreams(url, timeoutMs = 20000) {
  const r = await h.run('ffprobe', ['-v', 'error', '-rw_timeout', '15000000', '-show_streams', '-of', 'json', url], { timeoutMs });
  if (r.code !== 0) throw new Error(`ffprobe ${url} exited ${r.code}: ${r.output.slice(-1500)}`);
  return JSON.parse(r.stdout).streams;
}

/** ffmpeg plays `seconds` of a live URL into a file (stream copy), the way a viewer records it. */
function record(url, file, seconds) {
  return child('ffmpeg', ['-nostdin', '-loglevel', 'warning', '-rw_timeout', '15000000', '-i', url, '-t', String(seconds), '-c', 'copy', '-f', 'flv', '-y', file]);
}

/** The packets of a file, per stream type, with pts (s) and flags. */
async function packets(file) {
  const r = await h.run('ffprobe', ['-v', 'error', '-show_entries', 'packet=codec_type,pts_time,dts_time,flags,size', '-of', 'json', file], { timeoutMs: 30000 });
  if (r.code !== 0) throw new Error(`ffprobe ${file} exited ${r.code}: ${r.output.slice(-1500)}`);
  return JSON.parse(r.stdout).packets ?? [];
}

/** ffprobe reads a whole file: errors it reports (a truncated tag shows here). */
async function probeErrors(file) {
  const r = await h.run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'json', file], { timeoutMs: 30000 });
  return { code: r.code, errors: r.stderr.trim() };
}

function exists(cmd) {
  return (process.env.PATH ?? '').split(':').some((d) => fs.existsSync(path.join(d, cmd)));
}

module.exports = { FPS, GOP, WIDTH, HEIGHT, makeSource, child, publish, probeStreams, record, packets, probeErrors, exists };
