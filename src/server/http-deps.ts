// The HTTP libraries, in one module: the build bundles it into dist/http-deps.js (one file to
// load instead of some 150), and http.ts loads it only after the sockets are bound.
export { default as Fastify } from 'fastify';
export { default as fastifyStatic } from '@fastify/static';
