'use strict';
// node 20's `node --test DIR` runs every .js file under DIR, helpers included: pass it only *.test.js.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// `--chaos` runs the chaos suite (test/chaos/, `npm run test:chaos`): attacks on every lifecycle
// path, minutes long, so `npm test` leaves it out and .ci/run calls it on its own.
const chaos = process.argv.includes('--chaos');
const filter = process.argv.slice(2).filter((a) => a !== '--chaos');
const files = [];
(function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    const inChaos = path.relative(root, p).startsWith(path.join('test', 'chaos'));
    if (entry.isDirectory()) {
      if (!chaos && inChaos) continue;
      walk(p);
    } else if (entry.name.endsWith('.test.js') && chaos === inChaos && (filter.length === 0 || filter.some((f) => p.includes(f)))) {
      files.push(path.relative(root, p));
    }
  }
})(path.join(root, 'test'));
files.sort();
// A test that waits on something that never comes fails at this bound instead of hanging CI
// (the systemd test, which boots a container, sets its own longer timeout).
// The chaos suite runs one file at a time: each case loads the machine on purpose.
const concurrency = chaos ? 1 : 2;
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=240000', ...files], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
