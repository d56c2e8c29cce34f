'use strict';
// issue 10, fault 2, on a running server: a reload whose config includes /dev/zero or a FIFO,
// nests 8,000 blocks or names a 64 KiB directive is refused with file:line:col, and the server
// keeps answering its API throughout and still quits on SIGTERM (it used to stop answering,
// ignore SIGTERM and grow by 1 GB/s).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const h = require('../helpers/harness');

const count = (text, re) => (text.match(new RegExp(re.source, 'g')) || []).length;

test('SIGHUP with a hostile config: refused, located, and the server never stops serving', async (t) => {
  const dir = h.tmpdir('srs-reload-limits-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, api] = await h.freePorts(2);
  const file = path.join(dir, 'srs.conf');
  const base = `listen ${rtmp};\ndaemon off;\npid ${path.join(dir, 'srs.pid')};\nsrs_log_tank console;\nauto_reload_for_docker off;\nhttp_api { enabled on; listen ${api}; }\n`;
  fs.writeFileSync(file, `${base}vhost __defaultVhost__ { }\n`);
  assert.equal(spawnSync('mkfifo', [path.join(dir, 'fifo')]).status, 0, 'mkfifo');
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);

  const hostile = [
    [`${base}vhost v {\n    include /dev/zero;\n}\n`, /srs\.conf:8:5: cannot read included file \/dev\/zero: not a regular file/],
    [`${base}include fifo;\n`, /srs\.conf:7:1: cannot read included file .*fifo: not a regular file \(a FIFO\)/],
    [`${base}${'vhost {\n'.repeat(8000)}${'}\n'.repeat(8000)}`, /srs\.conf:71:1: block "vhost" nested deeper than the limit of 64/],
    [`${base}${'x'.repeat(64 * 1024)} on;\n`, /srs\.conf:7:1: directive name of 65536 characters/],
  ];
  for (const [i, [text, re]] of hostile.entries()) {
    fs.writeFileSync(file, text);
    srs.kill('SIGHUP');
    // the API answers while (and after) the reload is judged: a stalled server fails here
    const r = await h.request(api, '/api/v1/versions', { timeoutMs: 3000 });
    assert.equal(r.status, 200, `the API answers after hostile reload ${i}`);
    await h.waitFor(() => `reload ${i + 1} refused (output: ${srs.output.slice(-1500)})`, () => count(srs.output, /reload failed, keeping the running config/) === i + 1, 5000);
    assert.match(srs.output, re);
  }
  assert.doesNotMatch(srs.output, /Maximum call stack|\n\s+at /, 'no stack trace');
  const s = await h.request(api, '/api/v1/summaries', { timeoutMs: 3000 });
  assert.equal(s.json.data.reload.ok, false);
  assert.equal(await h.canConnect(rtmp), true, 'still serving media');

  srs.kill('SIGTERM');
  const { code, signal } = await srs.waitForExit(10000);
  assert.ok(code === 0 || signal === 'SIGTERM', `quit on SIGTERM: code ${code}, signal ${signal}`);
});
