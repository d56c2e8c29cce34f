'use strict';
// Config fuzzing: 10,000 generated configs (SRS's vocabulary, random values, structure that
// stresses the parser's limits: deep nesting, huge names, include fans, special files as
// includes, arguments on the next line, unbalanced quotes). The loader may only throw its own
// error type, never take over 1 s, and every syntax/value error carries file:line:col. Then a
// sample goes through SIGHUP on a running server, which must keep serving and keep its config.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const fc = require('fast-check');
const h = require('../helpers/harness');
const { report } = require('./support');
const { loadConfig } = require('../../dist/config/load.js');
const { SRS_VOCABULARY } = require('../../dist/config/vocabulary.js');

const dir = h.tmpdir('srs-chaos-config-');
test.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it

// files an include may name: a regular file, a fifo, a device, a directory, a missing file, itself
const fifo = path.join(dir, 'fifo');
execFileSync('mkfifo', [fifo]);
fs.writeFileSync(path.join(dir, 'ok.conf'), 'max_connections 100;\n');
fs.mkdirSync(path.join(dir, 'adir'));
const INCLUDES = ['ok.conf', fifo, '/dev/zero', '/dev/null', path.join(dir, 'adir'), 'missing.conf', 'fuzz.conf', '/proc/self/status'];

const names = [...new Set(Object.values(SRS_VOCABULARY).flat())];
const name = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...names) },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 12 }).map((s) => s.replace(/[\s;{}"'#]/g, 'x') || 'x') },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 70000 }).map((n) => 'y'.repeat(n)) },
);
const value = fc.oneof(
  fc.constantFrom('on', 'off', '0', '-1', '1935', '127.0.0.1:1935', '[::1]:1985', '65537', 'zero', '$HOME', '"quoted value"', "'single'", '"unterminated', '""', 'all'),
  fc.integer({ min: -100000, max: 100000 }).map(String),
  fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)),
);
const directive = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(name, fc.array(value, { maxLength: 3 })).map(([n, vs]) => `${n} ${vs.join(' ')};`),
    fc.tuple(name, fc.array(value, { maxLength: 2 })).map(([n, vs]) => `${n}\n    ${vs.join(' ')};`),
    fc.constantFrom(...INCLUDES).map((f) => `include ${f};`),
    fc.tuple(name, fc.array(tie('node'), { maxLength: 4 })).map(([n, kids]) => `${n} {\n${kids.join('\n')}\n}`),
  ),
})).node;
const special = fc.oneof(
  fc.integer({ min: 100, max: 12000 }).map((n) => `${'vhost v {\n'.repeat(n)}${'}\n'.repeat(n)}`),
  fc.integer({ min: 100, max: 12000 }).map((n) => `${'vhost v {\n'.repeat(n)}`),
  fc.integer({ min: 1000, max: 200000 }).map((n) => `listen 1935;\n${'max_connections 10;\n'.repeat(n / 20)}`),
  fc.constantFrom('{', '}', ';', '"', "'", '}}}}', '{{{{'),
);
const config = fc.oneof({ weight: 9, arbitrary: fc.array(directive, { maxLength: 12 }).map((ds) => ds.join('\n')) }, { weight: 1, arbitrary: special });

const LOCATED = new Set(['SRS_ERR_CONFIG_SYNTAX', 'SRS_ERR_CONFIG_UNKNOWN', 'SRS_ERR_CONFIG_VALUE']);

test('10,000 generated configs: only located SrsErrors, each in under 1 s', (t) => {
  const file = path.join(dir, 'fuzz.conf');
  let refused = 0;
  let accepted = 0;
  let slowest = 0;
  fc.assert(
    fc.property(config, (text) => {
      fs.writeFileSync(file, text);
      const t0 = performance.now();
      try {
        loadConfig({ file, env: {}, cwd: dir });
        accepted++;
      } catch (e) {
        refused++;
        assert.equal(e.name, 'SrsError', `not an SrsError: ${e.stack}\n--- config (first 300 chars):\n${text.slice(0, 300)}`);
        if (LOCATED.has(e.code)) assert.ok(e.location && e.location.line >= 1 && e.location.col >= 1, `${e.code} without a location: ${e.message.slice(0, 300)}`);
      }
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      assert.ok(ms < 1000, `a config took ${ms.toFixed(0)} ms (first 200 chars: ${text.slice(0, 200)})`);
    }),
    { numRuns: 10000 },
  );
  report(t, '10,000 configs', `${refused} refused with located SrsErrors, ${accepted} accepted, slowest ${slowest.toFixed(1)} ms`);
});

test('a sample of broken configs through SIGHUP: the server keeps serving and its config', async (t) => {
  const [rtmp, api] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, api, name: 'live.conf' });
  const good = fs.readFileSync(file, 'utf8');
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  const samples = fc.sample(config, { numRuns: 40, seed: 42 });
  let failed = 0;
  let slowest = 0;
  for (const text of samples) {
    const before = (srs.output.match(/reload (ok|failed)/g) ?? []).length;
    fs.writeFileSync(file, text);
    process.kill(srs.pid, 'SIGHUP');
    await h.waitFor(() => `an outcome for the reload of: ${text.slice(0, 120)}`, () => (srs.output.match(/reload (ok|failed)/g) ?? []).length > before, 10000, 5);
    const refused = /reload failed/.test(srs.output.split('\n').filter((l) => /reload (ok|failed)/.test(l)).pop());
    assert.equal(srs.child.exitCode, null, `the server is alive after the reload of: ${text.slice(0, 120)}`);
    if (refused) {
      // refused: the running config, its ports included, serves on at once
      failed++;
      const t0 = performance.now();
      const r = await h.request(api, '/healthz', { timeoutMs: 2000 });
      slowest = Math.max(slowest, performance.now() - t0);
      assert.equal(r.status, 200, 'the API answers right after a refused reload');
      assert.ok(await h.canConnect(rtmp), 'RTMP accepts right after a refused reload');
    }
    // (a generated config that is valid may move or drop the API: it is applied, as it should be)
    // back to a good config, so that the next broken one is judged against it
    fs.writeFileSync(file, good);
    const n = (srs.output.match(/reload (ok|failed)/g) ?? []).length;
    process.kill(srs.pid, 'SIGHUP');
    await h.waitFor('the good config reloads', () => (srs.output.match(/reload (ok|failed)/g) ?? []).length > n, 10000, 5);
    assert.equal((await h.request(api, '/healthz', { timeoutMs: 2000 })).status, 200, 'the good config serves again');
  }
  assert.ok(srs.child.exitCode === null, 'the server is still running');
  report(t, `${samples.length} generated configs by SIGHUP`, `${failed} refused (the API answered within ${slowest.toFixed(0)} ms after each), ${samples.length - failed} applied; the server alive throughout`);
});
