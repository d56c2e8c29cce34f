'use strict';
// issue 10, fault 8: `srs -e` as SRS runs it (SrsConfig::parse_options): in the foreground with
// console logs unless SRS_DAEMON or SRS_SRS_LOG_TANK say otherwise (this machine is a container,
// where the log used to go to ./objs/srs.log and nothing to the terminal); SRS_ENV_ONLY is -e; a
// mistyped variable is warned about once, at start.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../helpers/harness');
const { parseArgs } = require('../../dist/cli.js');

async function envFor(dir) {
  const [rtmp, api] = await h.freePorts(2);
  return { rtmp, api, env: { SRS_LISTEN: String(rtmp), SRS_PID: path.join(dir, 'e.pid'), SRS_HTTP_API_ENABLED: 'on', SRS_HTTP_API_LISTEN: String(api) } };
}

test('srs -e: foreground, logs on the terminal, no objs/srs.log; a typo warned once', async (t) => {
  const dir = h.tmpdir('srs-env-only-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const { api, env } = await envFor(dir);
  const srs = h.startSrs(['-e'], { cwd: dir, env: { ...env, SRS_HTTP_API_LISTN: '1999' } });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  // the process we started is the server (no fork to the background), and says why
  assert.match(srs.output, new RegExp(`ready, pid ${srs.pid}\\b`));
  assert.match(srs.output, /foreground: daemon off/);
  assert.equal((await h.request(api, '/api/v1/versions', { timeoutMs: 3000 })).json.code, 0);
  await srs.waitForLine(/GET \/api\/v1\/versions 200/);
  assert.equal(fs.existsSync(path.join(dir, 'objs', 'srs.log')), false, 'no log file in -e');
  const typo = /SRS_HTTP_API_LISTN is not a variable srs reads, ignored; did you mean SRS_HTTP_API_LISTEN \(http_api\.listen\)\?/g;
  assert.equal((srs.out.stdout.match(typo) || []).length, 1, `once in the log: ${srs.output.slice(0, 2000)}`);
  srs.kill('SIGTERM');
  await srs.waitForExit(10000);
});

test('srs -e with SRS_SRS_LOG_TANK=file: the log goes to the file, the process stays in the foreground', async (t) => {
  const dir = h.tmpdir('srs-env-only-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const { api, env } = await envFor(dir);
  const log = path.join(dir, 'srs.log');
  const srs = h.startSrs(['-e'], { cwd: dir, env: { ...env, SRS_SRS_LOG_TANK: 'file', SRS_SRS_LOG_FILE: log } });
  t.after(() => srs.kill());
  await h.waitFor('the log file to say ready', () => fs.existsSync(log) && /ready, pid/.test(fs.readFileSync(log, 'utf8')));
  assert.match(fs.readFileSync(log, 'utf8'), new RegExp(`ready, pid ${srs.pid}\\b`));
  assert.equal((await h.request(api, '/api/v1/versions', { timeoutMs: 3000 })).json.code, 0);
  srs.kill('SIGTERM');
  await srs.waitForExit(10000);
});

test('SRS_ENV_ONLY, set to anything, is -e (and -c is then not read), as in SRS', () => {
  assert.deepEqual(parseArgs([], { SRS_ENV_ONLY: '' }), { kind: 'run', file: null, envOnly: true });
  assert.deepEqual(parseArgs(['-t', '-c', 'x.conf'], { SRS_ENV_ONLY: 'on', SRS_CONFIG_FILE: 'y.conf' }), { kind: 'test', file: null, envOnly: true });
  assert.deepEqual(parseArgs([], {}), { kind: 'run', file: 'conf/srs.conf', envOnly: false });
  assert.throws(() => parseArgs(['-e', '-c', 'x.conf'], {}), /exclude each other/);
});
