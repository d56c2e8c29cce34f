'use strict';
// Acceptance: the configs srs ships (conf/) load cleanly, and SRS's own 102 configs load exactly as
// SRS 7's -t judges them: 98 accepted (unsupported directives only warn), 4 refused.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { loadConfig } = require('../../dist/config/load.js');

const ROOT = path.resolve(__dirname, '../..');
// SRS's conf/ directory, carried by the repository (test/fixtures/srs-conf/README.md says from where)
const SRS_CONF = path.resolve(__dirname, '../fixtures/srs-conf');

test('every file in conf/ loads with no error and no warning', () => {
  const files = fs.readdirSync(path.join(ROOT, 'conf')).filter((f) => /\.(conf|ya?ml)$/.test(f));
  assert.ok(files.length >= 4, `${files}`);
  for (const f of files) {
    const r = loadConfig({ file: `conf/${f}`, env: {}, cwd: ROOT });
    assert.deepEqual(r.warnings, [], f);
  }
});

test('conf/ files say what the brief and SRS say', () => {
  const load = (f) => loadConfig({ file: `conf/${f}`, env: {}, cwd: ROOT }).config;
  const srs = load('srs.conf');
  assert.equal(srs.daemon, true);
  assert.equal(srs.logTank, 'file');
  assert.equal(srs.logFile, './objs/srs.log');
  assert.equal(srs.pid, './objs/srs.pid');
  assert.deepEqual([srs.listen[0].port, srs.maxConnections, srs.httpApi.enabled, srs.httpApi.listen.port], [1935, 1000, true, 1985]);
  assert.deepEqual([srs.httpServer.enabled, srs.httpServer.listen.port, srs.httpServer.dir], [true, 8080, './objs/nginx/html']);
  assert.deepEqual(srs.vhosts, ['__defaultVhost__']);
  const con = load('console.conf');
  assert.deepEqual({ ...con, daemon: true, logTank: 'file' }, srs);
  const dock = load('docker.conf');
  assert.deepEqual([dock.daemon, dock.logTank, dock.forceGraceQuit, dock.inotifyAutoReload, dock.autoReloadForDocker], [false, 'console', true, true, true]);
});

const REFUSED = {
  'full.conf': 'SRS_ERR_CONFIG_REFUSED',
  'include.vhost.conf': 'SRS_ERR_CONFIG_VALUE',
  'hls.edge.conf': 'SRS_ERR_CONFIG_UNKNOWN',
  'nginx.proxy.conf': 'SRS_ERR_CONFIG_UNKNOWN',
};

test('SRS\'s 102 shipped configs: 98 load, 4 are refused with a clear reason', (t) => {
  assert.ok(fs.existsSync(SRS_CONF), `SRS's configs are missing: ${SRS_CONF}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-conf-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  fs.cpSync(SRS_CONF, path.join(tmp, 'conf'), { recursive: true });
  const names = fs.readdirSync(path.join(tmp, 'conf')).filter((f) => f.endsWith('.conf')).sort();
  assert.equal(names.length, 102);
  let accepted = 0;
  let withWarnings = 0;
  for (const f of names) {
    const load = () => loadConfig({ file: `conf/${f}`, env: {}, cwd: tmp });
    if (f in REFUSED) {
      assert.throws(load, (e) => {
        assert.equal(e.code, REFUSED[f], `${f}: ${e.message}`);
        assert.equal(e.location.file, `conf/${f}`);
        return true;
      }, f);
      continue;
    }
    const r = load();
    for (const w of r.warnings) assert.ok(w.code === 'SRS_WARN_CONFIG_UNSUPPORTED' || w.code === 'SRS_WARN_CONFIG_DUPLICATE', `${f}: ${w.message}`);
    if (r.warnings.some((w) => w.code === 'SRS_WARN_CONFIG_UNSUPPORTED')) withWarnings++;
    accepted++;
  }
  assert.equal(accepted, 98);
  t.diagnostic(`${withWarnings} of 98 have unsupported-directive warnings`);
});

test('the reasons for the 4', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-conf-'));
  try {
    fs.cpSync(SRS_CONF, path.join(tmp, 'conf'), { recursive: true });
    const msg = (f) => {
      try {
        loadConfig({ file: `conf/${f}`, env: {}, cwd: tmp });
      } catch (e) {
        return e.message;
      }
      return 'loaded';
    };
    assert.match(msg('full.conf'), /^conf\/full\.conf:1:1: full\.conf is SRS's reference .*not a runnable config/);
    assert.match(msg('include.vhost.conf'), /listen: required/);
    assert.match(msg('hls.edge.conf'), /^conf\/hls\.edge\.conf:4:1: unknown directive "worker_processes"/);
    assert.match(msg('nginx.proxy.conf'), /^conf\/nginx\.proxy\.conf:4:1: unknown directive "worker_processes"/);
    // include.conf pulls in include.vhost.conf relative to the working directory
    const r = loadConfig({ file: 'conf/include.conf', env: {}, cwd: tmp });
    assert.deepEqual(r.config.vhosts, ['include.srs.com']);
    assert.equal(r.files.length, 2);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('the vocabulary is up to date with full.conf', (t) => {
  const { spawnSync } = require('node:child_process');
  assert.ok(fs.existsSync(path.join(SRS_CONF, 'full.conf')), `SRS's full.conf is missing: ${SRS_CONF}`);
  const out = path.join(os.tmpdir(), `srs-vocab-${process.pid}.ts`);
  t.after(() => fs.rmSync(out, { force: true }));
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/gen-vocabulary.js'), SRS_CONF, out], { encoding: 'utf8' });
  // the script's own failure in one line: its stack trace is not this test's subject
  assert.equal(r.status, 0, `scripts/gen-vocabulary.js failed: ${(r.stderr || '').split('\n').find((l) => l.trim()) ?? ''}`);
  assert.equal(fs.readFileSync(out, 'utf8'), fs.readFileSync(path.join(ROOT, 'src/config/vocabulary.ts'), 'utf8'));
});
