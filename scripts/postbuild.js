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
const dist = path.join(root, 'dist');

/**
 * Packages the HTTP bundle leaves out, because srs never runs them, though the libraries require
 * them: fastify's schema compilers (srs passes lazy ones, see http-deps.ts), fastify's pino (srs
 * runs fastify with logger: false), and @fastify/static's glob (only for wildcard: false), which
 * gets a shim that requires it on first call. They stay in node_modules, so if a later change
 * does run them, they load from there. The build fails if one would not resolve to the very file
 * its importer would have loaded.
 */
function leftOut(external, shims) {
  return {
    name: 'left-out',
    setup(build) {
      const check = (name, importer) => {
        const wanted = require.resolve(name, { paths: [path.dirname(importer)] });
        const got = require.resolve(name, { paths: [dist] });
        if (wanted !== got) throw new Error(`${name}: ${importer} wants ${wanted}, dist/ would load ${got}`);
      };
      const names = new RegExp(`^(${[...external, ...Object.keys(shims)].map((n) => n.replace(/[/.]/g, '\\$&')).join('|')})$`);
      build.onResolve({ filter: names }, (args) => {
        if (args.namespace === 'left-out-shim') return { path: args.path, external: true };
        check(args.path, args.importer);
        if (shims[args.path]) return { path: args.path, namespace: 'left-out-shim' };
        return { path: args.path, external: true };
      });
      build.onLoad({ filter: /.*/, namespace: 'left-out-shim' }, (args) => ({ contents: shims[args.path], loader: 'js' }));
    },
  };
}
// ---- the operator's console (src/console/, served at /console/ by src/server/console.ts) -------
// One browser module, objs/nginx/html/console/console.js (mpegts.js bundled in: no CDN, these
// servers run in closed networks), with index.html and console.css beside it. The same place as
// SRS's own console in its tree, so the file server (http_server.dir's default) serves it too.
// Type-checked first for the browser (src/console/tsconfig.json: DOM, no node); the root tsc only
// compiles its DOM-free .ts files, for the unit tests.
async function buildConsole() {
  const src = path.join(root, 'src', 'console');
  const outDir = path.join(html, 'console');
  const { execFileSync } = require('node:child_process');
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(src, 'tsconfig.json')], { stdio: 'inherit' });
  } catch {
    throw new Error('src/console: type errors (above)');
  }
  fs.mkdirSync(outDir, { recursive: true });
  for (const f of ['index.html', 'console.css']) fs.copyFileSync(path.join(src, f), path.join(outDir, f));
  // mpegts.js (Apache-2.0) and what it bundles (its own LICENSE.txt, named by its notice)
  const mpegts = path.dirname(require.resolve('mpegts.js/package.json'));
  fs.writeFileSync(
    path.join(outDir, 'mpegts.js.LICENSE.txt'),
    fs.readFileSync(path.join(mpegts, 'LICENSE'), 'utf8') + '\n' + fs.readFileSync(path.join(mpegts, 'dist', 'mpegts.js.LICENSE.txt'), 'utf8'),
  );
  await esbuild.build({
    entryPoints: [path.join(src, 'main.mts')],
    outfile: path.join(outDir, 'console.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    // the bundled libraries' notices point to their licence texts, shipped beside (below)
    legalComments: 'eof',
    logLevel: 'warning',
  });
}
// ---- end of the console ------------------------------------------------------------------------

if (esbuild) {
  const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', legalComments: 'none', sourcemap: true, logLevel: 'warning' };
  // The HTTP libraries are bundled apart, into a file http.ts loads only once the sockets are bound.
  const httpDepsApart = {
    name: 'http-deps-apart',
    setup(build) {
      build.onResolve({ filter: /^\.\/http-deps$/ }, () => ({ path: './http-deps.js', external: true }));
    },
  };
  const deps = esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'src', 'server', 'http-deps.ts')],
    outfile: path.join(root, 'dist', 'http-deps.js'),
    // third-party code only: smaller source is less to parse and less heap (V8 keeps the source)
    minifyWhitespace: true,
    minifySyntax: true,
    plugins: [leftOut(['@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler', 'pino'], { glob: "module.exports = { glob: (...args) => require('glob').glob(...args) };" })],
  });
  const start = esbuild.build({ ...common, entryPoints: [path.join(root, 'src', 'main.ts')], outfile: out, external: ['prom-client', 'yaml'], plugins: [httpDepsApart] });
  // esbuild has printed the errors (logLevel warning)
  Promise.all([deps, start, buildConsole()])
    .then(() => {
      // srs.js only: a cache for http-deps.js made ready no faster and cost 2 MB (V8 materializes
      // what a cache holds, used or not; loaded lazily, most of fastify is never compiled)
      require(path.join(dist, 'code-cache.js')).writeCodeCache(out);
    })
    .catch((e) => {
      if (!e.errors) console.error(e);
      process.exit(1);
    });
} else {
  // a production install without devDependencies: the per-module build serves as the entry
  fs.writeFileSync(out, "'use strict';\nmodule.exports = require('./main.js');\n");
}
