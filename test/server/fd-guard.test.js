'use strict';
// File descriptors as a limit (issue 10, fault 6): the guard's arithmetic on a fake /proc, then the
// real server under `prlimit --nofile=64` with 500 connection attempts, every one accounted for.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { FdGuard, parseOpenFilesLimit, maxConnectionsFitCheck } = require('../../dist/server/fd-guard.js');
const h = require('../helpers/harness');

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            64                   1048576              files
Max locked memory         8388608              8388608              bytes
`;

test('the soft open-files limit from /proc/self/limits', () => {
  assert.equal(parseOpenFilesLimit(LIMITS), 64);
  assert.equal(parseOpenFilesLimit(LIMITS.replace('64  ', 'unlimited')), null);
  assert.equal(parseOpenFilesLimit('garbage'), null);
});

test("max_connections that cannot fit the fd limit: SRS's wording, with what would fit", () => {
  assert.equal(maxConnectionsFitCheck(1000, 3, 20000), null);
  assert.equal(maxConnectionsFitCheck(1000, 3, null), null);
  const w = maxConnectionsFitCheck(1000, 3, 64);
  assert.match(w, /^invalid max_connections=1000, required=1111, system limit to 64, total=1011\(max_connections=1000, nb_consumed_fds=11\)\. you can change max_connections from 1000 to 52, or you can login as root and set the limit: ulimit -HSn 1111$/);
});

test('the guard keeps a headroom, counts every refusal, and reports the first at once then one line a second', () => {
  let now = 0;
  let conns = 0;
  const reports = [];
  const later = [];
  const g = new FdGuard({
    source: { limit: () => 64, open: () => 20 + conns },
    now: () => now,
    connections: () => conns,
    later: (fn, ms) => later.push({ fn, at: now + ms }),
    report: (r) => reports.push(r),
    headroom: 16,
  });
  // 20 fds that are not connections: room for 64 - 16 - 20 = 28 connections
  let admitted = 0;
  for (let i = 0; i < 100; i++) {
    if (g.refuse('rtmp')) continue;
    admitted++;
    conns++;
  }
  assert.equal(admitted, 28);
  assert.equal(g.total, 72);
  assert.equal(reports.length, 1, 'one line at once, the rest counted');
  assert.equal(reports[0].first, true);
  now = 1000;
  later.shift().fn();
  assert.deepEqual(reports.slice(1).map((r) => [r.first, r.count]), [[false, 71]]);
  // a connection leaves: one more fits
  conns--;
  assert.equal(g.refuse('rtmp'), false);
  // the accept itself failing (EMFILE reached node) is counted too
  g.acceptFailed('rtmp', 'EMFILE');
  assert.equal(g.total, 73);
});

/** Open n connections at once; each ends admitted (the RTMP handshake answers) or refused (closed with no byte). */
async function attempts(port, n) {
  const socks = [];
  const outcomes = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise((resolve) => {
        const s = net.connect({ port, host: '127.0.0.1' });
        socks.push(s);
        let settled = false;
        const settle = (v) => {
          if (!settled) resolve((settled = v));
        };
        s.on('connect', () => s.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536)])));
        s.on('data', () => settle('admitted'));
        s.on('close', () => settle('refused'));
        s.on('error', () => {});
      }),
    ),
  );
  return { socks, admitted: outcomes.filter((o) => o === 'admitted').length, refused: outcomes.filter((o) => o === 'refused').length };
}

function counter(text, name, labels) {
  const re = new RegExp(`^${name}\\{${labels}\\} (\\d+)$`, 'm');
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

async function serve(t, { prefix }) {
  const dir = h.tmpdir('srs-fd-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, api] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, api, maxConnections: 1000, extra: 'auto_reload_for_docker off;' });
  const srs = prefix ? h.startSrs(['-c', file], { cwd: dir, command: 'prlimit', prefix }) : h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  return { srs, rtmp, api };
}

async function exhaust(t, s) {
  const { socks, admitted, refused } = await attempts(s.rtmp, 500);
  t.after(() => socks.forEach((x) => x.destroy()));
  assert.equal(admitted + refused, 500);
  assert.ok(admitted > 0 && admitted < 64, `some admitted, within the limit (${admitted})`);
  await s.srs.waitForLine(/connection refused: out of file descriptors \(\d+ of 64 in use/);
  await s.srs.waitForLine(/connection refused: \d+ more in the last second \(out of file descriptors\)/, 5000);
  assert.ok(!/listener error/.test(s.srs.output), 'no accept error left uncounted');
  socks.forEach((x) => x.destroy());
  // the fds come back: the API answers again, and every attempt is counted exactly once
  const metrics = await h.waitFor('the API back once the clients left', async () => {
    try {
      const r = await h.request(s.api, '/metrics', { timeoutMs: 2000 });
      return r.status === 200 ? r.text : null;
    } catch {
      // refused while the fds come back: try again
      return null;
    }
  });
  const accepted = counter(metrics, 'srs_connections_accepted_total', 'listener="rtmp"');
  const fdRefused = counter(metrics, 'srs_connections_refused_total', 'listener="rtmp",reason="fd_limit"');
  assert.equal(accepted, admitted, 'accepted = handshakes answered');
  assert.equal(fdRefused, refused, 'every connection closed unanswered is counted as fd_limit: none dropped silently');
  assert.equal(accepted + fdRefused, 500);
}

test('started under prlimit --nofile=64: the start warns, and 500 attempts are each admitted or counted', async (t) => {
  const s = await serve(t, { prefix: ['--nofile=64'] });
  assert.match(s.srs.output, /invalid max_connections=1000, required=\d+, system limit to 64/);
  await exhaust(t, s);
});

test('prlimit --nofile=64 on the running server: the guard reads the new limit', async (t) => {
  const s = await serve(t, { prefix: null });
  assert.doesNotMatch(s.srs.output, /invalid max_connections/);
  const r = spawnSync('prlimit', ['--pid', String(s.srs.pid), '--nofile=64']);
  assert.equal(r.status, 0, String(r.stderr));
  await exhaust(t, s);
});
