'use strict';
// Closing the listeners resets nobody: wrk (-t2 -c32) runs across a graceful quit's listener
// close. Connections the kernel completed but srs had not accepted yet would be reset by the
// close (wrk: `read` errors); srs accepts them first and answers them with `Connection: close`.
// Once the port is closed wrk's reconnects are refused: wrk connects non-blocking and counts a
// refused connect under `write`, which is the cost of a closed port, not a reset: not asserted.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('../helpers/harness');
const s = require('../stream/support');

function parseWrk(text) {
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = se ? { connect: +se[1], read: +se[2], write: +se[3], timeout: +se[4] } : { connect: 0, read: 0, write: 0, timeout: 0 };
  const req = /(\d+) requests in/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return { requests: req ? Number(req[1]) : NaN, errors, non2xx: non2xx ? Number(non2xx[1]) : 0 };
}

test('wrk -t2 -c32 through SIGQUIT: 0 connect and 0 read errors at the listener close', { skip: !s.exists('wrk') && 'wrk is not installed' }, async (t) => {
  const dir = h.tmpdir('srs-acceptq-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, api] = await h.freePorts(2);
  const conf = h.writeConfig(dir, { rtmp, api, extra: 'grace_start_wait 1000; grace_final_wait 0; grace_max_wait 10000;' });
  const srs = h.startSrs(['-c', conf], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  const url = `http://127.0.0.1:${api}/api/v1/versions`;
  // 3 s: the listeners close at SIGQUIT + 1 s, with wrk's 32 connections busy on both sides of it
  const wrk = s.child('wrk', ['-t2', '-c32', '-d3s', url]);
  t.after(() => wrk.kill());
  await h.waitFor(() => `srs to log wrk's requests (srs: ${srs.output.slice(-500)})`, () => (srs.output.match(/\/api\/v1\/versions/g) ?? []).length >= 200, 5000);
  srs.kill('SIGQUIT');
  await srs.waitForLine(/listeners closed, draining/, 5000);
  const exit = await wrk.waitExit(15000, 'wrk');
  assert.equal(exit.code, 0, `wrk exited ${exit.code}: ${wrk.output}`);
  const r = parseWrk(wrk.output);
  const e = r.errors;
  t.diagnostic(`wrk: ${r.requests} requests, socket errors connect ${e.connect} read ${e.read} write ${e.write} timeout ${e.timeout}, non-2xx ${r.non2xx}`);
  assert.ok(r.requests > 0, `wrk made requests: ${wrk.output}`);
  assert.equal(e.connect, 0, `connect errors: ${wrk.output}`);
  assert.equal(e.read, 0, `read errors (connections reset at the listener close): ${wrk.output}`);
  assert.equal(e.timeout, 0, `timeouts: ${wrk.output}`);
  assert.equal(r.non2xx, 0, `non-2xx answers: ${wrk.output}`);
  const done = await srs.waitForExit(15000);
  assert.equal(done.code, 0, srs.output.slice(-1500));
});

/** RTMP clients connecting as fast as they can, each sending C0C1: what each connection ended with. */
function rtmpStorm(port, loops) {
  const net = require('node:net');
  const results = { handshakes: 0, closedEarly: 0, refused: 0, reset: 0, other: [] };
  let running = true;
  const one = () =>
    new Promise((resolve) => {
      const sock = net.connect({ port, host: '127.0.0.1' });
      let n = 0;
      let settled = false;
      const end = (what) => {
        if (settled) return;
        settled = true;
        sock.destroy();
        if (what === 'ok') results.handshakes++;
        else if (what === 'ECONNREFUSED') results.refused++;
        else if (what === 'ECONNRESET' || what === 'EPIPE') results.reset++;
        else if (what === 'closed') results.closedEarly++;
        else results.other.push(what);
        resolve();
      };
      sock.on('connect', () => sock.write(Buffer.alloc(1537, 3)));
      sock.on('data', (d) => {
        n += d.length;
        if (n >= 3073) end('ok');
      });
      sock.on('error', (e) => end(e.code ?? e.message));
      sock.on('close', () => end('closed'));
    });
  const done = Promise.all(
    Array.from({ length: loops }, async () => {
      while (running) await one();
    }),
  );
  return { results, stop: () => ((running = false), done) };
}

test('RTMP connects through SIGQUIT: none is reset at the listener close (handshaken, closed cleanly, or refused once the port is closed)', async (t) => {
  const dir = h.tmpdir('srs-acceptq-rtmp-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, api] = await h.freePorts(2);
  const conf = h.writeConfig(dir, { rtmp, api, extra: 'grace_start_wait 500; grace_final_wait 0; grace_max_wait 10000;' });
  const srs = h.startSrs(['-c', conf], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  const storm = rtmpStorm(rtmp, 16);
  t.after(() => storm.stop());
  await h.waitFor('handshakes flowing', () => storm.results.handshakes > 200, 10000);
  srs.kill('SIGQUIT');
  await srs.waitForLine(/listeners closed, draining/, 5000);
  await h.waitFor('connects refused once the port is closed', () => storm.results.refused > 50, 10000);
  const r = storm.results;
  await storm.stop();
  t.diagnostic(`rtmp storm: ${JSON.stringify({ ...r, other: [...new Set(r.other)] })}`);
  assert.equal(r.reset, 0, `connections reset: ${JSON.stringify(r)}`);
  assert.deepEqual(r.other, []);
  await srs.waitForExit(15000);
});
