'use strict';
// A graceful quit with 500 slow readers: each downloading a 2 MiB file at about 512 KiB/s when
// SIGQUIT arrives. Every download must finish complete (every byte, the right length), then the
// server exits 0 on its own.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const h = require('../helpers/harness');
const { report } = require('./support');

const SIZE = 2 * 1024 * 1024;
const READERS = 500;

/** { started: resolves at the first response bytes, done: resolves with {length, body} at close } */
function slowDownload(port) {
  let started;
  const first = new Promise((r) => (started = r));
  const done = new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let head = '';
    let body = 0;
    let length = -1;
    sock.on('connect', () => sock.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n'));
    // read in bursts: 64 KiB then a pause of 125 ms, about 512 KiB/s
    let burst = 0;
    sock.on('data', (d) => {
      started();
      if (length < 0) {
        head += d.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        length = Number(/content-length: (\d+)/i.exec(head.slice(0, end))?.[1] ?? NaN);
        body = Buffer.byteLength(head.slice(end + 4), 'latin1');
      } else body += d.length;
      burst += d.length;
      if (body >= length) {
        sock.end();
        return;
      }
      if (burst >= 64 * 1024) {
        burst = 0;
        sock.pause();
        setTimeout(() => sock.resume(), 125);
      }
    });
    sock.on('error', reject);
    sock.on('close', () => resolve({ length, body }));
  });
  return { started: first, done };
}

test(`graceful quit with ${READERS} slow readers: every download finishes complete, then exit 0`, async (t) => {
  const dir = h.tmpdir('srs-chaos-quit-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const html = path.join(dir, 'html');
  fs.mkdirSync(html);
  fs.writeFileSync(path.join(html, 'big.bin'), Buffer.alloc(SIZE, 9));
  const [rtmp, files] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, http: files, extra: 'grace_start_wait 200; grace_final_wait 100; srs_log_level warn;' });
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/dir [^;]+;/, `dir ${html};`));
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  const downloads = [];
  for (let i = 0; i < READERS; i++) downloads.push(slowDownload(files));
  // every reader has its first bytes before the quit: each is a response in flight
  let started = 0;
  downloads.forEach((d) => d.started.then(() => started++));
  await h.waitFor(() => `${READERS} downloads under way (${started})`, () => started === READERS, 30000);
  process.kill(srs.pid, 'SIGQUIT');
  const results = await Promise.all(downloads.map((d) => d.done));
  const short = results.filter((r) => r.length !== SIZE || r.body < r.length);
  assert.deepEqual(short.slice(0, 5), [], `${short.length} of ${READERS} downloads cut short`);
  const exit = await srs.waitForExit(30000);
  assert.equal(exit.code, 0, `exit code after the drain: ${srs.output.slice(-800)}`);
  report(t, `SIGQUIT during ${READERS} slow 2 MiB downloads`, `${READERS - short.length} of ${READERS} complete, exit 0`);
});
