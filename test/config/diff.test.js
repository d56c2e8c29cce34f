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

function loaded(text) {
  const { loadConfig } = require('../../dist/config/load.js');
  return loadConfig({ file: 'conf/srs.conf', env: {}, cwd: '/v', readFile: () => text }).config;
}

test('chunk_size and every vhost setting are reloadable and apply to new sessions', () => {
  const a = loaded(`listen 1935;
vhost __defaultVhost__ { play { gop_cache on; } security { enabled on; allow play all; } }
vhost edge { cluster { mode remote; origin 127.0.0.1:19350; } }
vhost gone;
`);
  const b = loaded(`listen 1935;
chunk_size 4096;
vhost __defaultVhost__ { play { gop_cache off; queue_length 10; } security { enabled on; deny play 10.0.0.0/8; allow play all; }
  http_remux { enabled on; mount [vhost]/[app]/[stream].flv; } }
vhost edge { chunk_size 128; cluster { mode remote; origin 127.0.0.1:19351 127.0.0.1:19350; } }
vhost added;
`);
  const d = diffConfig(a, b);
  assert.deepEqual(d.map((c) => [c.path, c.vhost, c.reloadable, c.appliesTo]), [
    ['chunk_size', undefined, true, 'new-sessions'],
    ['vhost', undefined, true, 'new-sessions'],
    ['vhost.play.gop_cache', '__defaultVhost__', true, 'new-sessions'],
    ['vhost.play.queue_length', '__defaultVhost__', true, 'new-sessions'],
    ['vhost.security.rules', '__defaultVhost__', true, 'new-sessions'],
    ['vhost.http_remux.enabled', '__defaultVhost__', true, 'new-sessions'],
    ['vhost.chunk_size', 'edge', true, 'new-sessions'],
    ['vhost.cluster.origin', 'edge', true, 'new-sessions'],
  ]);
  assert.deepEqual(d[0], { path: 'chunk_size', reloadable: true, from: 60000, to: 4096, appliesTo: 'new-sessions' });
  assert.deepEqual(d[1].from, ['__defaultVhost__', 'edge', 'gone']);
  assert.deepEqual(d[1].to, ['__defaultVhost__', 'edge', 'added']);
  assert.deepEqual(d[7].to.map((o) => o.text), ['127.0.0.1:19351', '127.0.0.1:19350']);
  const { describeChange } = require('../../dist/config/diff.js');
  assert.deepEqual(d.slice(0, 3).map(describeChange), ['chunk_size (new sessions)', 'vhost (new sessions)', 'vhost.play.gop_cache of vhost __defaultVhost__ (new sessions)']);
  assert.equal(describeChange({ path: 'daemon', reloadable: false, from: true, to: false }), 'daemon');
  // the reload plan applies them all; nothing is listed as "cannot change"
  const { planReload } = require('../../dist/lifecycle/reload.js');
  const plan = planReload(a, b);
  assert.equal(plan.ignored.length, 0);
  assert.equal(plan.applied.length, d.length);
  assert.equal(plan.effective.vhostConfigs, b.vhostConfigs);
  assert.equal(plan.effective.chunkSize, 4096);
  // and the same config twice diffs to nothing
  assert.deepEqual(diffConfig(a, loaded(`listen 1935;
vhost __defaultVhost__ { play { gop_cache on; } security { enabled on; allow play all; } }
vhost edge { cluster { mode remote; origin 127.0.0.1:19350; } }
vhost gone;
`)), []);
});

test('every vhost field is diffed', () => {
  const { VHOST_FIELDS } = require('../../dist/config/diff.js');
  const { defaultVhostConfig } = require('../../dist/config/vhost.js');
  const paths = VHOST_FIELDS.map((f) => f.path);
  assert.equal(new Set(paths).size, paths.length);
  // every leaf of VhostConfig (but its name) is read by exactly one field
  const leaves = [];
  const walk = (o, p) => {
    for (const [k, v] of Object.entries(o)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, `${p}${k}.`);
      else leaves.push(`${p}${k}`);
    }
  };
  walk(defaultVhostConfig('v'), '');
  const seen = new Set();
  for (const leaf of leaves.filter((l) => l !== 'name')) {
    const v = defaultVhostConfig('v');
    const keys = leaf.split('.');
    const parent = keys.slice(0, -1).reduce((o, k) => o[k], v);
    const old = parent[keys.at(-1)];
    parent[keys.at(-1)] = typeof old === 'boolean' ? !old : typeof old === 'number' ? old + 1 : old === null ? 1
      : typeof old === 'string' ? `${old}x` : ['x'];
    const a = defaultConfig();
    const b = defaultConfig();
    a.vhostConfigs = [defaultVhostConfig('v')];
    b.vhostConfigs = [v];
    const d = diffConfig(a, b);
    assert.equal(d.length, 1, leaf);
    seen.add(d[0].path);
  }
  assert.deepEqual([...seen].sort(), [...paths].sort());
});
