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
