'use strict';
// Random edits of a valid config never make the loader throw anything but SrsError, and every
// SrsError from the parser carries a location with line >= 1.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const fc = require('fast-check');
const { loadConfig } = require('../../dist/config/load.js');

const ROOT = path.resolve(__dirname, '../..');
const BASE = {
  conf: fs.readFileSync(path.join(ROOT, 'conf/srs.conf'), 'utf8'),
  yaml: fs.readFileSync(path.join(ROOT, 'conf/srs.yaml'), 'utf8'),
};
const LOCATED = new Set(['SRS_ERR_CONFIG_SYNTAX', 'SRS_ERR_CONFIG_UNKNOWN', 'SRS_ERR_CONFIG_VALUE']);

const edit = fc.oneof(
  fc.record({ op: fc.constant('insert'), at: fc.nat(), s: fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom(';', '{', '}', '"', "'", '#', '\n', ' ', '$X', 'include x;')) }),
  fc.record({ op: fc.constant('delete'), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('replace'), at: fc.nat(), s: fc.string({ minLength: 1, maxLength: 3 }) }),
  fc.record({ op: fc.constant('dupline'), at: fc.nat() }),
  fc.record({ op: fc.constant('dropline'), at: fc.nat() }),
);

function apply(text, e) {
  if (e.op === 'dupline' || e.op === 'dropline') {
    const lines = text.split('\n');
    const i = e.at % lines.length;
    if (e.op === 'dupline') lines.splice(i, 0, lines[i]);
    else lines.splice(i, 1);
    return lines.join('\n');
  }
  const i = e.at % (text.length + 1);
  if (e.op === 'insert') return text.slice(0, i) + e.s + text.slice(i);
  if (e.op === 'delete') return text.slice(0, i) + text.slice(i + e.n);
  return text.slice(0, i) + e.s + text.slice(i + e.s.length);
}

function check(kind) {
  const file = kind === 'yaml' ? 'conf/srs.yaml' : 'conf/srs.conf';
  fc.assert(
    fc.property(fc.array(edit, { minLength: 1, maxLength: 6 }), (edits) => {
      const text = edits.reduce(apply, BASE[kind]);
      const readFile = (abs) => {
        if (abs === path.join(ROOT, file)) return text;
        throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      };
      try {
        loadConfig({ file, env: { X: 'x' }, cwd: ROOT, readFile });
      } catch (e) {
        assert.equal(e.name, 'SrsError', `${e.stack}\n--- text:\n${text}`);
        if (LOCATED.has(e.code)) {
          assert.ok(e.location && e.location.line >= 1 && e.location.col >= 1, `${e.code} without location: ${e.message}`);
        }
      }
    }),
    { numRuns: 1500 },
  );
}

test('random edits of conf/srs.conf: only located SrsErrors', () => check('conf'));
test('random edits of conf/srs.yaml: only located SrsErrors', () => check('yaml'));

// issue 10, fault 2: any input at all, not only edits of a valid config. Random bytes and random
// nesting (deep blocks, brackets, includes): the loader throws only SrsError, exit code 3, always
// located (file:line:col), and returns or throws within a second of CPU.
function loadAny(text, file) {
  const readFile = (abs) => {
    if (abs === path.join(ROOT, file)) return text;
    // every include names a file that is not there: a located SRS_ERR_CONFIG_READ
    throw Object.assign(new Error('nope'), { code: 'ENOENT' });
  };
  const c0 = process.cpuUsage();
  let error = null;
  try {
    loadConfig({ file, env: { X: 'x' }, cwd: ROOT, readFile });
  } catch (e) {
    error = e;
  }
  const c = process.cpuUsage(c0);
  const ms = (c.user + c.system) / 1000;
  const shown = JSON.stringify(text.length > 300 ? `${text.slice(0, 300)}...(${text.length} chars)` : text);
  assert.ok(ms < 1000, `${ms} ms of CPU for ${shown}`);
  if (error) {
    assert.equal(error.name, 'SrsError', `${error.stack}\n--- text: ${shown}`);
    assert.equal(error.exitCode, 3, `${error.code}: ${error.message}`);
    assert.ok(error.location && error.location.line >= 1 && error.location.col >= 1, `${error.code} without location: ${error.message}`);
    assert.ok(error.message.startsWith(`${error.location.file}:${error.location.line}:${error.location.col}: `), error.message);
  }
}

const token = fc.constantFrom(
  'vhost', 'a', 'http_api', 'listen', '1935', 'include', 'x.conf', '$X', 'candidate', '{', '}', ';', '"', "'", '#', ' ', '\t', '\n', '\r', '\r\n',
  '[', ']', ':', '-', ',', '&a', '*a', '!!str', '? ', '|', '>', '%',
);
/** Deep nesting with or without its closing: blocks in the grammar, maps and lists in YAML. */
const nested = fc.record({
  open: fc.constantFrom('vhost {\n', 'a {', 'http_api {\n', '{a: ', '[', '- ', ' a:\n', '{'),
  close: fc.constantFrom('}\n', '}', ']', '', ';}'),
  depth: fc.integer({ min: 0, max: 10000 }),
  closed: fc.integer({ min: 0, max: 10000 }),
  middle: fc.array(token, { maxLength: 20 }).map((a) => a.join(' ')),
});
const nestedText = nested.map((n) => 'listen 1935;\n' + n.open.repeat(n.depth) + n.middle + n.close.repeat(Math.min(n.closed, n.depth + 3)));

for (const file of ['conf/any.conf', 'conf/any.yaml']) {
  test(`random bytes as ${file}: only located SrsErrors, each within a second`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.boolean(), (bytes, utf8) => {
        loadAny(Buffer.from(bytes).toString(utf8 ? 'utf8' : 'latin1'), file);
      }),
      { numRuns: 500 },
    );
  });
  test(`random tokens and nesting as ${file}: only located SrsErrors, each within a second`, () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(token, { maxLength: 400 }).map((a) => a.join('')), nestedText), (text) => loadAny(text, file)),
      { numRuns: 500 },
    );
  });
}
