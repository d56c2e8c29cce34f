'use strict';
// The SRS grammar (design.md 2): what SRS accepts, and every bad input with its code and
// file:line:col. Pure: text in, tree or SrsError out.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { parseText, expandVars } = require('../../dist/config/grammar.js');
const { loadConfig } = require('../../dist/config/load.js');

const F = 'conf/t.conf';

function fails(text, code, line, col, re) {
  assert.throws(
    () => parseText(text, F),
    (e) => {
      assert.equal(e.name, 'SrsError');
      assert.equal(e.code, code);
      assert.deepEqual(e.location, { file: F, line, col });
      if (re) assert.match(e.message, re);
      assert.ok(e.message.startsWith(`${F}:${line}:${col}: `), e.message);
      return true;
    },
  );
}

test('directives, blocks, args and locations', () => {
  const t = parseText('listen 1935 19350;\nhttp_api {\n    enabled on;\n}\n', F);
  assert.deepEqual(t, [
    { name: 'listen', args: ['1935', '19350'], children: null, loc: { file: F, line: 1, col: 1 } },
    {
      name: 'http_api',
      args: [],
      children: [{ name: 'enabled', args: ['on'], children: null, loc: { file: F, line: 3, col: 5 } }],
      loc: { file: F, line: 2, col: 1 },
    },
  ]);
});

test('comments, quotes, several directives on a line, CRLF', () => {
  const t = parseText('# head\nvhost "a b" { enabled on; # c\n  dir \'x;y\'; }\r\nmax_connections 9;#tail', F);
  assert.equal(t.length, 2);
  assert.deepEqual(t[0].args, ['a b']);
  assert.deepEqual(t[0].children.map((d) => [d.name, d.args]), [['enabled', ['on']], ['dir', ['x;y']]]);
  assert.deepEqual(t[1].args, ['9']);
});

test('# inside a word and } inside a word are part of it, as in SRS', () => {
  const t = parseText('a x#y;\n', F);
  assert.deepEqual(t[0].args, ['x#y']);
});

test('a lone name may be followed by "{" on the next line (SRS reads the word before the newline)', () => {
  const t = parseText('http_api\n{\n enabled on;\n}\n', F);
  assert.equal(t[0].name, 'http_api');
  assert.equal(t[0].children.length, 1);
});

test('argument or ";" on the next line: SRS\'s "unexpected end of line", with a hint', () => {
  fails('listen 1935\n;\n', 'SRS_ERR_CONFIG_SYNTAX', 1, 12, /unexpected end of line to parse token listen.*";" missing/);
  fails('http_api {\n  enabled on\n  listen 1985;\n}\n', 'SRS_ERR_CONFIG_SYNTAX', 2, 13, /token enabled/);
  fails('vhost x\n{\n}\n', 'SRS_ERR_CONFIG_SYNTAX', 1, 8, /token vhost/);
  fails('listen 1935 # comment\n;', 'SRS_ERR_CONFIG_SYNTAX', 1, 22, /end of line/);
});

test('unbalanced braces', () => {
  fails('http_api {\n  enabled on;\n', 'SRS_ERR_CONFIG_SYNTAX', 1, 1, /"http_api".*not closed/);
  fails('listen 1935;\n}\n', 'SRS_ERR_CONFIG_SYNTAX', 2, 1, /unexpected "}"/);
  fails('a {\n b { c 1; }\n', 'SRS_ERR_CONFIG_SYNTAX', 1, 1, /not closed/);
  fails('a { b 1 }\n', 'SRS_ERR_CONFIG_SYNTAX', 1, 9, /unexpected "}".*missing/);
});

test('unterminated quotes', () => {
  fails('dir "abc;\n', 'SRS_ERR_CONFIG_SYNTAX', 1, 5, /unterminated/);
  fails("dir 'abc", 'SRS_ERR_CONFIG_SYNTAX', 1, 5, /unterminated/);
  fails('dir "a"b;\n', 'SRS_ERR_CONFIG_SYNTAX', 1, 8, /after a quoted string/);
});

test('stray ";" and "{", end of file inside a directive, include misuse', () => {
  fails('listen 1935;;\n', 'SRS_ERR_CONFIG_SYNTAX', 1, 13, /unexpected ";"/);
  fails('{ }\n', 'SRS_ERR_CONFIG_SYNTAX', 1, 1, /unexpected "{"/);
  fails('listen 1935', 'SRS_ERR_CONFIG_SYNTAX', 1, 1, /end of file/);
  fails('include;\n', 'SRS_ERR_CONFIG_SYNTAX', 1, 1, /include requires/);
  fails('include a.conf { }\n', 'SRS_ERR_CONFIG_SYNTAX', 1, 1, /not a block/);
});

test('empty file: a clear error from the loader', () => {
  for (const text of ['', '\n\n', '# only a comment\n']) {
    assert.equal(parseText(text, F).length, 0);
    assert.throws(
      () => loadConfig({ file: F, env: {}, cwd: '/v', readFile: () => text }),
      (e) => e.code === 'SRS_ERR_CONFIG_SYNTAX' && /empty/.test(e.message) && e.location.line === 1,
    );
  }
});

test('$NAME and ${NAME} expand when set, stay as written otherwise; names never expand', () => {
  assert.equal(expandVars('$A-${B}-$C', { A: '1', B: '2' }), '1-2-$C');
  // "{" ends a bare word in SRS's grammar, so ${NAME} has to be quoted there.
  const t = parseText('candidate $CANDIDATE;\nx "${PORT}" $NOPE;\n$A 1;\n', F, { CANDIDATE: '10.0.0.1', PORT: '1935', A: 'b' });
  assert.deepEqual(t[0].args, ['10.0.0.1']);
  assert.deepEqual(t[1].args, ['1935', '$NOPE']);
  assert.equal(t[2].name, '$A');
});
