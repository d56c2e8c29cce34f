'use strict';
// After tsc: lay out objs/ as SRS users know it, and bundle the start-up path.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

// objs/nginx/html is http_server.dir's default, as in SRS's tree.
const html = path.join(root, 'objs', 'nginx', 'html');
fs.mkdirSync(html, { recursive: true });
fs.cpSync(path.join(root, 'html'), html, { recursive: true });

// dist/srs.js: everything a start needs before its sockets are bound, in one file (module
// resolution and loading are most of a Node start). The heavy libraries that are only needed
// after the bind (fastify, @fastify/static, prom-client) or only for YAML stay outside and are
// loaded when first used. tsc's per-module output (dist/**) stays for the unit tests.
let esbuild;
try {
  esbuild = require('esbuild');
} catch {
  esbuild = null;
}
const out = path.join(root, 'dist', 'srs.js');
if (esbuild) {
  const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', legalComments: 'none', sourcemap: true, logLevel: 'warning' };
  // The HTTP libraries are bundled apart, into a file loaded only once the sockets are bound.
  const httpDeps = {
    name: 'http-deps-apart',
    setup(build) {
      build.onResolve({ filter: /^\.\/http-deps$/ }, () => ({ path: './http-deps.js', external: true }));
    },
  };
  esbuild.buildSync({ ...common, entryPoints: [path.join(root, 'src', 'server', 'http-deps.ts')], outfile: path.join(root, 'dist', 'http-deps.js') });
  esbuild
    .build({ ...common, entryPoints: [path.join(root, 'src', 'main.ts')], outfile: out, external: ['prom-client', 'yaml'], plugins: [httpDeps] })
    .catch(() => process.exit(1));
} else {
  // a production install without devDependencies: the per-module build serves as the entry
  fs.writeFileSync(out, "'use strict';\nmodule.exports = require('./main.js');\n");
}
