'use strict';
// dist/srs.js starts with the V8 code cache the build writes beside it (src/code-cache.ts).
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const h = require('./helpers/harness');
const { requireWithCodeCache, writeCodeCache } = require('../dist/code-cache.js');

function moduleFile(dir, body) {
  const file = path.join(dir, 'm.js');
  fs.writeFileSync(file, body);
  return file;
}

test('a module loaded with its cache has its exports, its own require, __filename and __dirname', () => {
  const dir = h.tmpdir('srs-cc-');
  fs.writeFileSync(path.join(dir, 'dep.js'), 'module.exports = 41;');
  const file = moduleFile(dir, 'exports.answer = require("./dep") + 1; exports.where = [__filename, __dirname];');
  const { bytes } = writeCodeCache(file);
  assert.ok(bytes > 0 && fs.statSync(`${file}.cache`).size > bytes, 'the cache is written, with its stamp');
  const m = requireWithCodeCache(file);
  assert.equal(m.answer, 42);
  assert.deepEqual(m.where, [file, dir]);
});

test('a cache never runs code the file no longer has: an edit of the same length is seen', () => {
  const dir = h.tmpdir('srs-cc-');
  const file = moduleFile(dir, 'module.exports = "old";');
  writeCodeCache(file);
  // V8 itself checks only the source length: this edit keeps it
  fs.writeFileSync(file, 'module.exports = "new";');
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(file, later, later);
  assert.equal(requireWithCodeCache(file), 'new');
});

test('no cache, or a cache V8 refuses: the module loads as a plain require', () => {
  const dir = h.tmpdir('srs-cc-');
  const file = moduleFile(dir, 'module.exports = { plain: true };');
  assert.deepEqual(requireWithCodeCache(file), { plain: true });
  const other = moduleFile(h.tmpdir('srs-cc-'), 'module.exports = { plain: "x" };');
  writeCodeCache(other);
  // a stamp that matches, with data that is no V8 cache at all
  const cache = fs.readFileSync(`${other}.cache`);
  fs.writeFileSync(`${other}.cache`, Buffer.concat([cache.subarray(0, 16), Buffer.from('not a V8 code cache at all')]));
  assert.deepEqual(requireWithCodeCache(other), { plain: 'x' });
});

test('the build writes dist/srs.js.cache, and V8 accepts it in a fresh process', () => {
  const file = path.join(h.ROOT, 'dist', 'srs.js');
  assert.ok(fs.existsSync(`${file}.cache`), 'npm run build wrote dist/srs.js.cache');
  const probe = `
    const vm = require('node:vm'), fs = require('node:fs'), Module = require('node:module');
    const data = fs.readFileSync(${JSON.stringify(file)} + '.cache').subarray(16);
    const s = new vm.Script(Module.wrap(fs.readFileSync(${JSON.stringify(file)}, 'utf8')), { filename: ${JSON.stringify(file)}, cachedData: data });
    process.stdout.write(String(s.cachedDataRejected));`;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
  assert.equal(r.stdout, 'false', `V8 rejected the build's code cache: ${r.stderr}`);
  const v = spawnSync(h.SRS, ['-v'], { encoding: 'utf8' });
  assert.equal(v.status, 0, v.stderr);
});
