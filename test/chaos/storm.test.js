'use strict';
// A reload storm with clients churning: 200 SIGHUPs (alternating configs that add and drop a
// listen port and change reloadable directives) while HTTP and RTMP clients open, use and close
// connections without pause. No client may see an error, and the server must end with the fds it
// had before (no listener or connection leaked).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const h = require('../helpers/harness');
const { report, fdsOf } = require('./support');

function rtmpCycle(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let n = 0;
    sock.on('connect', () => sock.write(Buffer.alloc(1537, 3)));
    sock.on('data', (d) => {
      n += d.length;
      if (n >= 3073) {
        sock.end(Buffer.alloc(1536));
      }
    });
    sock.on('error', reject);
    sock.on('close', () => (n >= 3073 ? resolve() : reject(new Error(`rtmp closed after ${n} bytes`))));
  });
}

test('200 SIGHUPs under churning HTTP and RTMP clients: 0 client errors, no fd leaked', async (t) => {
  const dir = h.tmpdir('srs-chaos-storm-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, rtmp2, api, files] = await h.freePorts(4);
  const file = h.writeConfig(dir, { rtmp, api, http: files });
  const a = fs.readFileSync(file, 'utf8');
  const b = a.replace(`listen ${rtmp};`, `listen ${rtmp} ${rtmp2};`).replace('srs_log_level trace;', 'srs_log_level warn;').replace('max_connections 1000;', 'max_connections 900;');
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  // warm up every path once, so lazily opened things (the HTTP apps) count in the baseline
  await h.request(api, '/api/v1/versions');
  await h.request(files, '/index.html');
  await rtmpCycle(rtmp);
  const fdsBefore = fdsOf(srs.pid);

  let stop = false;
  const errors = [];
  const counts = { http: 0, files: 0, rtmp: 0 };
  const loop = async (kind, fn) => {
    while (!stop) {
      try {
        await fn();
        counts[kind]++;
      } catch (e) {
        errors.push(`${kind}: ${e.message}`);
      }
    }
  };
  const loops = [
    ...Array.from({ length: 4 }, () => loop('http', async () => assert.equal((await h.request(api, '/api/v1/versions')).status, 200))),
    ...Array.from({ length: 4 }, () => loop('files', async () => assert.equal((await h.request(files, '/index.html')).status, 200))),
    ...Array.from({ length: 4 }, () => loop('rtmp', () => rtmpCycle(rtmp))),
  ];
  const outcomes = () => (srs.output.match(/reload (ok|failed)/g) ?? []).length;
  const done = () => counts.http + counts.files + counts.rtmp;
  for (let i = 0; i < 200; i++) {
    fs.writeFileSync(file, i % 2 === 0 ? b : a);
    process.kill(srs.pid, 'SIGHUP');
    // the clients churn between two signals: each SIGHUP lands among requests and handshakes
    const at = done();
    await h.waitFor('clients to make progress between two SIGHUPs', () => done() >= at + 6, 10000, 1);
    // every tenth: wait for the outcome, so the storm also lands between reloads, not only on top
    if (i % 10 === 9) {
      const n = outcomes();
      await h.waitFor('a reload outcome during the storm', () => outcomes() > n || /reload ok/.test(srs.output.slice(-4000)), 10000, 2);
    }
  }
  // the last config (a) must be the one running: wait for its outcome
  fs.writeFileSync(file, a);
  const n = outcomes();
  process.kill(srs.pid, 'SIGHUP');
  await h.waitFor('the final reload', () => outcomes() > n, 10000, 5);
  stop = true;
  await Promise.all(loops);
  assert.deepEqual(errors.slice(0, 10), [], `${errors.length} client errors`);
  assert.equal(await h.canConnect(rtmp2), false, `the port the last config dropped (${rtmp2}) is closed`);
  // the clients are gone; the server closes its side as soon as it sees them go
  let fdsAfter;
  await h.waitFor(
    () => `the server back to ${fdsBefore.length} fds (has ${fdsAfter?.length}: ${JSON.stringify(fdsAfter)})`,
    () => {
      fdsAfter = fdsOf(srs.pid);
      return fdsAfter.length <= fdsBefore.length;
    },
    10000,
    50,
  );
  assert.equal(srs.child.exitCode, null, 'the server is still running');
  report(t, `200 SIGHUPs under ${counts.http} API requests, ${counts.files} file requests and ${counts.rtmp} RTMP handshakes`, `0 client errors, fds ${fdsBefore.length} before and ${fdsAfter.length} after`);
});
