// The HTTP libraries, in one module: the build bundles it into dist/http-deps.js (one file to
// load instead of some 150), and http.ts loads it only after the sockets are bound.
import type { FastifyServerOptions } from 'fastify';

export { default as Fastify } from 'fastify';
export { default as fastifyStatic } from '@fastify/static';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
// The compilers' own overloaded types would add nothing here: fastify calls them, we only defer them.
type AnyFactory = (...args: unknown[]) => unknown;

function loadedOnFirstCall(load: () => AnyFactory): AnyFactory {
  let factory: AnyFactory | undefined;
  return (...args) => (factory ??= load())(...args);
}

/**
 * fastify's schema compilers (ajv, fast-json-stringify), loaded the first time a route declares a
 * schema instead of when an app is created. None of ours does: fastify's default builds an ajv
 * instance per app for nothing, and ajv is a third of the HTTP libraries' code and memory. The
 * build leaves both packages out of the bundle, so they come from node_modules if ever needed.
 * Mind, for a route that declares one: fastify treats these as custom compilers, and so does not
 * lower-case the keys of a `headers` schema for you (write them in lower case).
 */
export const lazySchemaCompilers = {
  buildValidator: loadedOnFirstCall(() => (require('@fastify/ajv-compiler') as () => AnyFactory)()),
  buildSerializer: loadedOnFirstCall(() => (require('@fastify/fast-json-stringify-compiler') as () => AnyFactory)()),
} as unknown as CompilersFactory;
