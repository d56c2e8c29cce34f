'use strict';
// The error catalogue (src/errors.ts): every code is used, documented and known; every template
// renders with the params its uses supply; the code reaches the terminal, the API body and the
// daemon's readiness pipe.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { CATALOGUE, ErrorCodes, ExitCode, SrsError, srsError, renderMessage, templateParams, isErrorCode, codedLine } = require('../dist/errors.js');
const { ApiErrors, apiErrorBody } = require('../dist/server/api-errors.js');
const { describeStartError } = require('../dist/lifecycle/controller.js');
const { interpretReadiness } = require('../dist/lifecycle/daemon.js');
const { render, DOC } = require('../scripts/gen-errors-doc.js');

const root = path.resolve(__dirname, '..');
const CODES = Object.keys(CATALOGUE);

/** Every TypeScript source under src/ but the catalogue itself: path -> text. */
function sources() {
  const out = new Map();
  (function walk(dir) {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.m?ts$/.test(e.name) && p !== path.join(root, 'src', 'errors.ts')) out.set(path.relative(root, p), fs.readFileSync(p, 'utf8'));
    }
  })(path.join(root, 'src'));
  return out;
}

test('every code of the catalogue is used somewhere in src/', () => {
  const all = [...sources().values()].join('\n');
  const unused = CODES.filter((c) => !new RegExp(`\\b${c}\\b`).test(all));
  assert.deepEqual(unused, [], `catalogue codes no source raises or logs: ${unused.join(', ')}`);
});

test('every SRS_ERR_* / SRS_WARN_* code used in src/ is in the catalogue', () => {
  const unknown = [];
  for (const [file, text] of sources()) {
    for (const m of text.matchAll(/\bSRS_(?:ERR|WARN)_[A-Z0-9_]*[A-Z0-9]\b/g)) {
      if (!CODES.includes(m[0])) unknown.push(`${file}: ${m[0]}`);
    }
  }
  assert.deepEqual(unknown, [], 'codes used in src/ but missing from src/errors.ts');
});

test('docs/errors.md is generated from the catalogue and lists every code', () => {
  const doc = fs.readFileSync(DOC, 'utf8');
  assert.equal(doc, render(CATALOGUE), 'docs/errors.md is stale: npm run build && node scripts/gen-errors-doc.js');
  for (const c of CODES) assert.match(doc, new RegExp(`^\\| \`${c}\` \\|`, 'm'), `${c} is not documented`);
});

test('entries are complete: exit code or HTTP status, template, when, what to do', () => {
  const exits = new Set(Object.values(ExitCode));
  for (const [code, e] of Object.entries(CATALOGUE)) {
    assert.match(code, e.kind === 'warning' ? /^SRS_WARN_[A-Z0-9_]+$/ : /^SRS_ERR_[A-Z0-9_]+$/, code);
    if (e.kind === 'process') assert.ok(exits.has(e.exit) && e.exit !== 0, `${code}: exit ${e.exit}`);
    if (e.kind === 'api') assert.ok(e.status >= 400 && e.status < 600, `${code}: status ${e.status}`);
    for (const k of ['template', 'doc', 'fix']) assert.ok(typeof e[k] === 'string' && e[k].trim().length > 0, `${code}: ${k}`);
    assert.ok(!e.doc.includes('\n') && !e.fix.includes('\n'), `${code}: one line`);
  }
  // the old table, kept for callers: the process codes and their exits
  assert.deepEqual(Object.keys(ErrorCodes), CODES.filter((c) => CATALOGUE[c].kind === 'process'));
  assert.equal(ErrorCodes.SRS_ERR_CONFIG_VALUE, 3);
  assert.equal(ErrorCodes.SRS_ERR_USAGE, 2);
  assert.equal(ErrorCodes.SRS_ERR_BIND, 1);
});

test('every template renders from its params; a missing param shows', () => {
  for (const [code, e] of Object.entries(CATALOGUE)) {
    const names = templateParams(e.template);
    const params = Object.fromEntries(names.map((n, i) => [n, `<${n}-${i}>`]));
    const text = renderMessage(code, params);
    assert.doesNotMatch(text, /\{[A-Za-z_][A-Za-z0-9_]*\}/, `${code}: "${text}" left a param unfilled`);
    for (const n of names) assert.ok(text.includes(params[n]), `${code}: ${n} not rendered`);
    if (names.length > 0) {
      const { [names[0]]: _dropped, ...rest } = params;
      assert.ok(renderMessage(code, rest).includes(`{${names[0]}}`), `${code}: a missing ${names[0]} is visible`);
    }
  }
  const e = srsError('SRS_ERR_CONFIG_VALUE', { directive: 'http_api.listen', reason: '"abc" is not a port (1-65535)' }, { file: 'conf/srs.conf', line: 12, col: 5 });
  assert.ok(e instanceof SrsError);
  assert.equal(e.code, 'SRS_ERR_CONFIG_VALUE');
  assert.equal(e.exitCode, 3);
  assert.equal(e.message, 'conf/srs.conf:12:5: http_api.listen: "abc" is not a port (1-65535)');
  assert.equal(renderMessage('SRS_WARN_CONFIG_CLAMPED', { directive: 'vhost.play.mw_msgs', value: 200, max: 128 }),
    'vhost.play.mw_msgs: 200 lowered to 128, the most SRS merges (SRS: "reset mw_msgs 200 to max 128")');
});

/**
 * The keys of the object literal that starts at text[start] ('{'), at its top level: strings,
 * template literals and nested brackets skipped.
 */
function literalKeys(text, start) {
  const keys = [];
  let depth = 0;
  let i = start;
  let expectKey = false;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'" || ch === '"') {
      for (i++; text[i] !== ch; i++) if (text[i] === '\\') i++;
      continue;
    }
    if (ch === '`') {
      // a template literal: skip it, ${...} included (one level of nesting is enough here)
      for (i++; text[i] !== '`'; i++) {
        if (text[i] === '\\') i++;
        else if (text[i] === '$' && text[i + 1] === '{') {
          let d = 0;
          for (i++; ; i++) {
            if (text[i] === '{') d++;
            else if (text[i] === '}' && --d === 0) break;
          }
        }
      }
      continue;
    }
    if (ch === '{' || ch === '(' || ch === '[') {
      depth++;
      if (depth === 1) expectKey = true;
      continue;
    }
    if (ch === '}' || ch === ')' || ch === ']') {
      depth--;
      if (depth === 0) break;
      continue;
    }
    if (depth === 1 && ch === ',') {
      expectKey = true;
      continue;
    }
    if (depth === 1 && expectKey && /[A-Za-z_]/.test(ch)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
      keys.push(m[0]);
      i += m[0].length - 1;
      expectKey = false;
    }
  }
  return keys;
}

test('each srsError / renderMessage call in src/ supplies every param of its template', () => {
  let calls = 0;
  const problems = [];
  for (const [file, text] of sources()) {
    for (const m of text.matchAll(/\b(?:srsError|renderMessage)\('([A-Z0-9_]+)',\s*\{/g)) {
      calls++;
      const code = m[1];
      const entry = CATALOGUE[code];
      if (!entry) {
        problems.push(`${file}: ${code} is not in the catalogue`);
        continue;
      }
      const keys = literalKeys(text, m.index + m[0].length - 1);
      const missing = templateParams(entry.template).filter((p) => !keys.includes(p));
      const extra = keys.filter((k) => !templateParams(entry.template).includes(k));
      if (missing.length || extra.length) problems.push(`${file}: ${code} missing {${missing.join(', ')}} extra {${extra.join(', ')}}`);
    }
  }
  assert.ok(calls >= 20, `found ${calls} calls: the scan is broken`);
  assert.deepEqual(problems, []);
});

test('free text only where the code is free-form: a code with a fixed shape is raised through its template', () => {
  const bypass = [];
  let found = 0;
  for (const [file, text] of sources()) {
    for (const m of text.matchAll(/new SrsError\(\s*'([A-Z0-9_]+)'/g)) {
      found++;
      if (CATALOGUE[m[1]].template !== '{detail}') bypass.push(`${file}: new SrsError('${m[1]}', ...): use srsError with its params`);
    }
  }
  assert.ok(found >= 10, `found ${found} free-text raises: the scan is broken`);
  assert.deepEqual(bypass, []);
});

test('the API answers with the catalogue\'s status and code', () => {
  for (const [code, e] of Object.entries(CATALOGUE)) {
    if (e.kind !== 'api') {
      assert.equal(ApiErrors[code], undefined, code);
      continue;
    }
    assert.deepEqual(ApiErrors[code], { status: e.status, text: e.template });
  }
  const body = apiErrorBody('vid-1', 'SRS_ERR_API_UNAUTHORIZED', 'GET', '/api/v1/clients');
  assert.equal(body.code, 401);
  assert.equal(body.error, 'SRS_ERR_API_UNAUTHORIZED');
  assert.equal(body.message, `GET /api/v1/clients: ${CATALOGUE.SRS_ERR_API_UNAUTHORIZED.template}`);
});

test('the terminal line and the readiness pipe carry the code', () => {
  const config = describeStartError(srsError('SRS_ERR_CONFIG_VALUE', { directive: 'listen', reason: 'bad' }, { file: 'a.conf', line: 2, col: 1 }));
  assert.deepEqual(config, { code: 3, error: 'SRS_ERR_CONFIG_VALUE', message: 'a.conf:2:1: listen: bad' });
  assert.equal(`srs: ${codedLine(config.error, config.message)}`, 'srs: SRS_ERR_CONFIG_VALUE a.conf:2:1: listen: bad');
  // an error that is not srs's own: a bug, named as such
  assert.deepEqual(describeStartError(new TypeError('x is undefined')), { code: 1, error: 'SRS_ERR_INTERNAL', message: 'x is undefined' });

  const piped = interpretReadiness('ERROR 1 SRS_ERR_BIND rtmp listen 0.0.0.0:1935: address already in use (EADDRINUSE)\n', 7, null);
  assert.deepEqual(piped, { exitCode: 1, code: 'SRS_ERR_BIND', pid: 7, message: 'rtmp listen 0.0.0.0:1935: address already in use (EADDRINUSE)' });
  // a record without a code (an older daemon during an upgrade) still reads
  const old = interpretReadiness('ERROR 3 conf/x.conf:1:1: bad\n', 7, null);
  assert.equal(old.exitCode, 3);
  assert.equal(old.code, 'SRS_ERR_DAEMON');
  assert.equal(old.message, 'conf/x.conf:1:1: bad');
  assert.equal(isErrorCode('SRS_ERR_BIND'), true);
  assert.equal(isErrorCode('SRS_WARN_WATCH'), false, 'a warning ends no process');
  assert.equal(isErrorCode('SRS_ERR_NOPE'), false);
});
