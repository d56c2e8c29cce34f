'use strict';
// Reload diff: which directives changed, and whether each may change while running.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { diffConfig, NOT_RELOADABLE } = require('../../dist/config/diff.js');
const { DEFAULTS, FIELDS, defaultConfig } = require('../../dist/config/schema.js');

test('no change, no entries', () => {
  assert.deepEqual(diffConfig(DEFAULTS, defaultConfig()), []);
});

test('changes carry path, reloadable, from and to', () => {
  const b = defaultConfig();
  b.httpApi.listen = { host: null, port: 1986, text: '1986' };
  b.logLevel = 'warn';
  b.daemon = false;
  b.listen = [...b.listen, { host: '::1', port: 1936, text: '[::1]:1936' }];
  b.vhosts = ['a'];
  assert.deepEqual(diffConfig(DEFAULTS, b), [
    { path: 'listen', reloadable: true, from: DEFAULTS.listen, to: b.listen },
    { path: 'daemon', reloadable: false, from: true, to: false },
    { path: 'srs_log_level', reloadable: true, from: 'trace', to: 'warn' },
    { path: 'http_api.listen', reloadable: true, from: DEFAULTS.httpApi.listen, to: b.httpApi.listen },
    { path: 'vhost', reloadable: true, from: [], to: ['a'], appliesTo: 'new-sessions' },
  ]);
});

test('exactly the design\'s list is not reloadable', () => {
  assert.deepEqual([...NOT_RELOADABLE].sort(), [
    'asprocess', 'daemon', 'disable_daemon_for_docker', 'in_docker', 'pid', 'srs_log_file', 'srs_log_format', 'srs_log_tank', 'work_dir',
  ]);
  for (const p of NOT_RELOADABLE) assert.ok(FIELDS.some((f) => f.path === p), p);
});

test('every field is diffed', () => {
  for (const f of FIELDS) {
    const b = defaultConfig();
    const v = f.get(b);
    const changed = typeof v === 'boolean' ? !v : typeof v === 'number' ? v + 1 : typeof v === 'string' ? `${v}x`
      : Array.isArray(v) ? [] : { ...v, port: v.port + 1 };
    f.set(b, changed);
    const d = diffConfig(DEFAULTS, b);
    assert.equal(d.length, 1, f.path);
    assert.equal(d[0].path, f.path);
    assert.equal(d[0].reloadable, !NOT_RELOADABLE.has(f.path));
  }
});
