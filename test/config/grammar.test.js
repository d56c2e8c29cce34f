'use strict';
// The SRS grammar (design.md 2): what SRS accepts, and every bad input with its code and
// file:line:col. Pure: text in, tree or SrsError out.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { parseText, expandCandidate } = require('../../dist/config/grammar.js');
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

test('a name alone on its line is refused, its arguments or "{" on the next (SRS 6.0.135+, #4042)', () => {
  fails('listen\n    1935;\n', 'SRS_ERR_CONFIG_SYNTAX', 1, 7, /^conf\/t\.conf:1:7: unexpected end of line to parse token listen/);
  fails('http_api\n{\n enabled on;\n}\n', 'SRS_ERR_CONFIG_SYNTAX', 1, 9, /unexpected end of line to parse token http_api/);
  fails('vhost a {\n  hls\n  { enabled on; }\n}\n', 'SRS_ERR_CONFIG_SYNTAX', 2, 6, /token hls/);
  fails('dir0 \n { dir1 arg1; }', 'SRS_ERR_CONFIG_SYNTAX', 1, 6, /token dir0/);
  // SRS ends a line at CR as well as LF
  fails('listen\r1935;\n', 'SRS_ERR_CONFIG_SYNTAX', 1, 7, /token listen/);
  // what SRS's utest accepts: one directive per line, two on a line, CRLF endings
  assert.deepEqual(parseText('dir0 arg0;dir1\targ1;\r\nhttp_api {\r\n}\r\n', F).map((d) => d.name), ['dir0', 'dir1', 'http_api']);
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
  fails('dir "abc;\n', 'SRS_ERR_CONFIG_SYNTAX', 1, 10, /unexpected end of line to parse token dir/);
  fails('"abc\n', 'SRS_ERR_CONFIG_SYNTAX', 1, 1, /unterminated/);
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

test('$VAR only where SRS expands it: candidate; every other value stays as written', () => {
  const env = { CANDIDATE: '10.0.0.1', HOME: '/root', PORT: '1935', A: 'b' };
  const t = parseText(
    'rtc_server {\n  candidate $CANDIDATE;\n}\nstream_caster {\n sip { candidate $candidate; }\n}\n' +
      'password "pa$HOME";\nx "${PORT}" $PORT;\n$A 1;\nrtc_server { candidate $NOPE; }\n',
    F,
    env,
  );
  assert.deepEqual(t[0].children[0].args, ['10.0.0.1']);
  // srs_getenv upper-cases the name (and turns dots into _)
  assert.deepEqual(t[1].children[0].children[0].args, ['10.0.0.1']);
  assert.deepEqual(t[2].args, ['pa$HOME']);
  assert.deepEqual(t[3].args, ['${PORT}', '$PORT']);
  assert.equal(t[4].name, '$A');
  // "If configed as ENV, but no ENV set, use default value": SRS's default candidate, *
  assert.deepEqual(t[5].children[0].args, ['*']);
  assert.equal(expandCandidate('192.168.1.2', env), '192.168.1.2');
  assert.equal(expandCandidate('$EMPTY', { EMPTY: '' }), '*');
});
