'use strict';
// dist/http-deps.js leaves fastify's schema compilers, pino and glob out of the bundle (srs never
// runs them; see scripts/postbuild.js). These tests prove that what is left out still works when
// a route does need it: it loads from node_modules, through the lazy factories.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');

const deps = require('../../dist/http-deps.js');

test('the bundle does not carry ajv, fast-json-stringify, pino or glob, and says where each comes from', () => {
  const src = fs.readFileSync(path.join(__dirname, '..', '..', 'dist', 'http-deps.js'), 'utf8');
  for (const name of ['@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler', 'pino', 'glob']) {
    assert.match(src, new RegExp(`require\\("${name.replace('/', '\\/')}"\\)`), `${name} is required from node_modules`);
  }
  assert.doesNotMatch(src, /ajv\/dist\/runtime/, 'ajv is not bundled');
});

test('a route with a schema validates and serializes through the lazily loaded compilers', async (t) => {
  const app = deps.Fastify({ logger: false, schemaController: { compilersFactory: deps.lazySchemaCompilers } });
  t.after(() => app.close());
  app.get(
    '/n',
    {
      schema: {
        querystring: { type: 'object', properties: { n: { type: 'integer', minimum: 1 } }, required: ['n'] },
        response: { 200: { type: 'object', properties: { twice: { type: 'integer' } } } },
      },
    },
    async (req) => ({ twice: req.query.n * 2, dropped: 'by the serializer' }),
  );
  const ok = await app.inject({ method: 'GET', url: '/n?n=21' });
  assert.equal(ok.statusCode, 200);
  assert.deepEqual(ok.json(), { twice: 42 }, 'fast-json-stringify drops what the schema does not name');
  const bad = await app.inject({ method: 'GET', url: '/n?n=0' });
  assert.equal(bad.statusCode, 400, 'ajv refuses n=0');
  assert.match(bad.json().message, /querystring\/n must be >= 1/);
});

test('@fastify/static with wildcard: false lists the root through the glob shim', async (t) => {
  const app = deps.Fastify({ logger: false, schemaController: { compilersFactory: deps.lazySchemaCompilers } });
  t.after(() => app.close());
  await app.register(deps.fastifyStatic, { root: path.join(__dirname, '..', '..', 'html'), prefix: '/', wildcard: false });
  const r = await app.inject({ method: 'GET', url: '/crossdomain.xml' });
  assert.equal(r.statusCode, 200);
  assert.match(r.body, /cross-domain-policy/);
});
