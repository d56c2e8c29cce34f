'use strict';
// The canonical path the auth check falls back on, and the error catalogue's mapping: pure logic.
const test = require('node:test');
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { canonicalPath, isProtectedPath } = require('../../dist/server/route-path.js');
const { classifyError, ApiErrors, clientErrorResponse } = require('../../dist/server/api-errors.js');

test('canonicalPath undoes every spelling trick', () => {
  const cases = {
    '/api/v1/clients': '/api/v1/clients',
    '/%61pi/v1/clients': '/api/v1/clients',
    '/%2561pi/v1/clients': '/api/v1/clients',
    '/%252561pi': '/api',
    '/api%2Fv1%2fclients': '/api/v1/clients',
    '//api///v1/clients/': '/api/v1/clients',
    '/./api/./v1/.': '/api/v1',
    '/x/y/../../api/v1/../v1/clients': '/api/v1/clients',
    '/../../api': '/api',
    '/x/%2e%2e/api': '/api',
    '/API/V1/Clients': '/api/v1/clients',
    '/api;jsessionid=1/v1;x/clients': '/api/v1/clients',
    '/api\\v1\\clients': '/api/v1/clients',
    '/metrics%20': '/metrics',
    '/metrics?x=/api': '/metrics',
    '/index.html#/api': '/index.html',
    '/': '/',
    '': '/',
  };
  for (const [input, want] of Object.entries(cases)) assert.equal(canonicalPath(input), want, input);
  for (const bad of ['/%%', '/%zz', '/a%00b', `/${'%25'.repeat(20)}61pi`]) assert.equal(canonicalPath(bad), null, bad);
});

test('isProtectedPath: the API and /metrics in any spelling, undecodable too; files and look-alikes not', () => {
  for (const p of ['/api', '/api/', '/%61pi/v1/x', '/API', '/metrics', '/Metrics/', '/x/../metrics', '/%%', '/api%2fv1']) assert.equal(isProtectedPath(p), true, p);
  for (const p of ['/', '/index.html', '/apis', '/api.html', '/metricsx', '/players/api']) assert.equal(isProtectedPath(p), false, p);
});

test('property: any percent-encoding of any character of a protected path is still protected', () => {
  const enc = (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  fc.assert(
    fc.property(
      fc.constantFrom('/api/v1/clients', '/api/v1/raw', '/metrics', '/api'),
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.nat(3),
      fc.boolean(),
      fc.constantFrom('', '/', '//', '/.', ';x'),
      (p, positions, rounds, upper, suffix) => {
        const chars = [...p];
        for (const i of positions) {
          const j = 1 + (i % (chars.length - 1));
          let s = enc(p[j]);
          for (let r = 0; r < rounds; r++) s = s.replace('%', '%25');
          chars[j] = s;
        }
        let target = chars.join('') + suffix;
        if (upper) target = target.toUpperCase();
        return isProtectedPath(target);
      },
    ),
    { numRuns: 2000 },
  );
});

test('fastify errors map to the catalogue; nothing unknown leaks its code', () => {
  assert.equal(classifyError({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }), 'SRS_ERR_API_BODY_TOO_LARGE');
  assert.equal(classifyError({ code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 }), 'SRS_ERR_API_BAD_JSON');
  assert.equal(classifyError({ code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }), 'SRS_ERR_API_MEDIA_TYPE');
  assert.equal(classifyError({ code: 'FST_ERR_BAD_URL', statusCode: 400 }), 'SRS_ERR_API_BAD_URL');
  assert.equal(classifyError({ code: 'FST_ERR_SOMETHING_NEW', statusCode: 422 }), 'SRS_ERR_API_BAD_REQUEST');
  assert.equal(classifyError({ code: 'FST_ERR_SOMETHING_NEW' }), 'SRS_ERR_API_INTERNAL');
  assert.equal(classifyError(new TypeError('x')), 'SRS_ERR_API_INTERNAL');
  for (const [code, { status, text }] of Object.entries(ApiErrors)) {
    assert.match(code, /^SRS_ERR_API_[A-Z_]+$/);
    assert.ok(status >= 400 && status < 600 && text.length > 0, code);
  }
  const t = clientErrorResponse('vid-x', 'ERR_HTTP_REQUEST_TIMEOUT');
  assert.equal(t.code, 'SRS_ERR_API_TIMEOUT');
  assert.match(t.bytes, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  const body = t.bytes.slice(t.bytes.indexOf('\r\n\r\n') + 4);
  assert.equal(Buffer.byteLength(body), Number(/Content-Length: (\d+)/.exec(t.bytes)[1]));
  assert.equal(JSON.parse(body).code, 408);
});
