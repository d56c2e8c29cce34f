'use strict';
// The catalogue's codes reach the user on the real process: the terminal line of a refused
// `-s reload` and of a start that fails, the log's `code` field, the API body's `error`.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../helpers/harness');

function configText(dir, { rtmp, api, extra = '' }) {
  return `listen ${rtmp};
daemon off;
pid ${path.join(dir, 'srs.pid')};
srs_log_tank console;
srs_log_format json;
auto_reload_for_docker off;
${extra}
http_api { enabled on; listen ${api}; raw_api { enabled on; allow_reload on; } }
vhost __defaultVhost__ { }
`;
}

/** The JSON log lines of a process's output that carry `code`. */
function coded(output) {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .filter((o) => o.code !== undefined);
}

test('a refused reload: SRS_ERR_RELOAD_FAILED on the terminal, in the log and in the API body', async (t) => {
  const dir = h.tmpdir('srs-codes-');
  const [rtmp, api] = await h.freePorts(2);
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(file, configText(dir, { rtmp, api, extra: 'ff_log_dir ./ff;' }));
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  // the start-up warning for the unsupported directive carries its code in the log
  assert.ok(coded(srs.output).some((o) => o.code === 'SRS_WARN_CONFIG_UNSUPPORTED'), `no SRS_WARN_CONFIG_UNSUPPORTED in ${srs.output}`);

  fs.writeFileSync(file, configText(dir, { rtmp, api, extra: 'max_connections zero;' }));
  const r = await h.runSrsAsync(['-s', 'reload', '-c', file], { cwd: dir });
  assert.equal(r.code, 3, r.output);
  assert.match(r.stderr, new RegExp(`^srs: SRS_ERR_RELOAD_FAILED reload refused, pid ${srs.pid} keeps its running config: .*max_connections`, 'm'));

  const viaApi = await h.request(api, '/api/v1/raw?rpc=reload');
  assert.equal(viaApi.status, 409, viaApi.text);
  assert.equal(viaApi.json.error, 'SRS_ERR_RELOAD_FAILED');
  assert.equal(viaApi.json.data.ok, false);
  await h.waitFor(
    () => `a log line with code SRS_ERR_RELOAD_FAILED (output: ${srs.output.slice(-2000)})`,
    () => coded(srs.output).some((o) => o.code === 'SRS_ERR_RELOAD_FAILED' && /max_connections/.test(o.msg)),
  );

  const missing = await h.request(api, '/api/v1/nope');
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error, 'SRS_ERR_API_NO_ROUTE');
});

test('a start that fails: the code on the terminal and in the log', async (t) => {
  const dir = h.tmpdir('srs-codes-');
  const [api] = await h.freePorts(1);
  const blocker = require('node:net').createServer();
  await new Promise((resolve) => blocker.listen(0, '0.0.0.0', resolve));
  t.after(() => blocker.close());
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(file, configText(dir, { rtmp: blocker.address().port, api }));
  const r = await h.runSrsAsync(['-c', file], { cwd: dir });
  assert.equal(r.code, 1, r.output);
  assert.match(r.stderr, new RegExp(`^srs: SRS_ERR_BIND rtmp listen 0\\.0\\.0\\.0:${blocker.address().port}: address already in use`, 'm'));
  assert.ok(coded(r.stdout).some((o) => o.code === 'SRS_ERR_BIND' && o.level !== undefined), `no log line with code SRS_ERR_BIND: ${r.stdout}`);
});
