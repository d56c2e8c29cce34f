#!/usr/bin/env node
'use strict';
// Runs the srs benchmarks: `node bench/run.js` (all) or `node bench/run.js startup reload` (some).
// Each benchmark gets its own temp dir and free ports; every process it starts is killed by pid
// afterwards, whether it passed or threw. Tables go to stdout, numbers to bench/results/latest.json.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const L = require('./lib');

const BENCHMARKS = {
  startup: () => require('./startup'),
  memory: () => require('./memory'),
  daemon: () => require('./daemon'),
  reload: () => require('./reload'),
  quit: () => require('./quit'),
  upgrade: () => require('./upgrade'),
  media: () => require('./media'),
  'stream-upgrade': () => require('./stream-upgrade'),
  edge: () => require('./edge'),
};

async function main() {
  const asked = process.argv.slice(2);
  for (const a of asked) {
    if (!BENCHMARKS[a]) {
      console.error(`unknown benchmark ${a}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
      process.exit(2);
    }
  }
  if (!fs.existsSync(path.join(L.ROOT, 'dist', 'main.js'))) {
    console.error('dist/main.js is missing: run `npm run build` first');
    process.exit(2);
  }
  const names = asked.length ? asked : Object.keys(BENCHMARKS);
  const report = {
    started_at: new Date().toISOString(),
    srs_root: L.ROOT,
    node: process.version,
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model,
    kernel: os.release(),
    node_extra_ca_certs: process.env.NODE_EXTRA_CA_CERTS ?? null,
    benchmarks: {},
  };
  console.log(`srs benchmarks: ${names.join(', ')}  (${L.SRS}, node ${process.version}, ${report.cpus} cpus, ${report.cpu_model})`);
  let failed = 0;
  const t0 = L.now();
  for (const name of names) {
    const dir = L.tmpdir(`srs-bench-${name}-`);
    const tb = L.now();
    try {
      report.benchmarks[name] = await BENCHMARKS[name]()({ dir });
      report.benchmarks[name].wall_s = L.round((L.now() - tb) / 1000, 1);
    } catch (e) {
      failed++;
      console.log(`\n== ${name}: FAILED: ${e.stack ?? e}`);
      report.benchmarks[name] = { error: String(e.stack ?? e) };
    } finally {
      L.killAllTracked();
      L.rmrf(dir);
    }
    console.log(`(${name}: ${L.round((L.now() - tb) / 1000, 1)} s)`);
  }
  report.wall_s = L.round((L.now() - t0) / 1000, 1);
  const out = path.join(__dirname, 'results');
  fs.mkdirSync(out, { recursive: true });
  // a partial run (some benchmarks) keeps the other benchmarks' last numbers
  const file = path.join(out, 'latest.json');
  if (asked.length) {
    try {
      const prev = JSON.parse(fs.readFileSync(file, 'utf8'));
      report.benchmarks = { ...prev.benchmarks, ...report.benchmarks };
    } catch {
      // no previous results
    }
  }
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  console.log(`\ntotal ${report.wall_s} s; results in ${path.relative(process.cwd(), file) || file}`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  L.killAllTracked();
  process.exit(1);
});
