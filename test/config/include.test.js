'use strict';
// include FILE...; at any level: paths relative to cwd, spliced in place with their own locations,
// nested, cycles and missing files.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { loadConfig } = require('../../dist/config/load.js');

const CWD = '/srv/srs';
function loader(files) {
  const read = [];
  const readFile = (abs) => {
    read.push(abs);
    const rel = path.relative(CWD, abs);
    if (!(rel in files)) throw Object.assign(new Error(`ENOENT: ${abs}`), { code: 'ENOENT' });
    return files[rel];
  };
  return { read, load: (main = 'conf/main.conf', env = {}) => loadConfig({ file: main, env, cwd: CWD, readFile }) };
}

test('top-level and nested includes, relative to the working directory, spliced in place', () => {
  const { load } = loader({
    'conf/main.conf': 'include conf/base.conf;\nhttp_api {\n    include ./conf/api.conf conf/api2.conf;\n}\nvhost z { }\n',
    'conf/base.conf': 'listen 1936;\ninclude conf/vhosts/a.conf;\n',
    'conf/vhosts/a.conf': 'vhost a {\n}\n',
    'conf/api.conf': 'enabled on;\n',
    'conf/api2.conf': '\n\nlisten 1990;\n',
  });
  const r = load();
  assert.equal(r.config.listen[0].port, 1936);
  assert.equal(r.config.httpApi.enabled, true);
  assert.equal(r.config.httpApi.listen.port, 1990);
  assert.deepEqual(r.config.vhosts, ['a', 'z']);
  assert.deepEqual(r.files, ['conf/main.conf', 'conf/base.conf', 'conf/vhosts/a.conf', 'conf/api.conf', 'conf/api2.conf'].map((f) => path.join(CWD, f)));
});

test('errors in an included file carry that file\'s location; the vocabulary is the include site\'s block', () => {
  const { load } = loader({
    'conf/main.conf': 'listen 1935;\nhttp_api {\n  include conf/api.conf;\n}\n',
    'conf/api.conf': '# api\nenabled on;\n  lisen 1985;\n',
  });
  assert.throws(() => load(), (e) => {
    assert.equal(e.code, 'SRS_ERR_CONFIG_UNKNOWN');
    assert.deepEqual(e.location, { file: 'conf/api.conf', line: 3, col: 3 });
    assert.match(e.message, /in block "http_api"; did you mean "listen"/);
    return true;
  });
});

test('a missing include is SRS_ERR_CONFIG_READ at the include line', () => {
  const { load } = loader({ 'conf/main.conf': 'listen 1935;\n\ninclude conf/nope.conf;\n' });
  assert.throws(() => load(), (e) => {
    assert.equal(e.code, 'SRS_ERR_CONFIG_READ');
    assert.deepEqual(e.location, { file: 'conf/main.conf', line: 3, col: 1 });
    assert.match(e.message, /\/srv\/srs\/conf\/nope\.conf: ENOENT/);
    return true;
  });
});

test('include cycles are an error (SRS would recurse until it crashes)', () => {
  const { load } = loader({
    'conf/main.conf': 'listen 1935;\ninclude conf/a.conf;\n',
    'conf/a.conf': 'include conf/b.conf;\n',
    'conf/b.conf': '\ninclude ./conf/main.conf;\n',
  });
  assert.throws(() => load(), (e) => {
    assert.equal(e.code, 'SRS_ERR_CONFIG_SYNTAX');
    assert.deepEqual(e.location, { file: 'conf/b.conf', line: 2, col: 1 });
    assert.match(e.message, /include cycle: conf\/main\.conf -> conf\/a\.conf -> conf\/b\.conf -> conf\/main\.conf/);
    return true;
  });
  const self = loader({ 'conf/main.conf': 'listen 1935;\ninclude conf/main.conf;\n' });
  assert.throws(() => self.load(), /include cycle/);
});

test('the same file included twice (not a cycle) is fine', () => {
  const { load } = loader({
    'conf/main.conf': 'listen 1935;\nvhost a { include conf/v.conf; }\nvhost b { include conf/v.conf; }\n',
    'conf/v.conf': 'enabled on;\n',
  });
  const r = load();
  assert.deepEqual(r.config.vhosts, ['a', 'b']);
  assert.equal(r.files.length, 2);
});

test('YAML may include SRS-grammar files and the reverse', () => {
  const { load } = loader({
    'conf/main.yaml': 'listen: 1935\ninclude: conf/api.conf\n',
    'conf/api.conf': 'http_api { enabled on; }\n',
  });
  assert.equal(load('conf/main.yaml').config.httpApi.enabled, true);
});

test('the watcher\'s baseline hash covers every file and changes when an included file does', () => {
  const files = { 'conf/main.conf': 'listen 1935;\ninclude conf/i.conf;\n', 'conf/i.conf': 'daemon off;\n' };
  const h1 = loader(files).load().filesHash;
  assert.equal(loader(files).load().filesHash, h1);
  files['conf/i.conf'] = 'daemon  off;\n';
  assert.notEqual(loader(files).load().filesHash, h1);
  assert.match(h1, /^[0-9a-f]{64}$/);
});
