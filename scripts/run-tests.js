'use strict';
// node 20's `node --test DIR` runs every .js file under DIR, helpers included: pass it only *.test.js.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const filter = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p);
    else if (entry.name.endsWith('.test.js') && (filter.length === 0 || filter.some((f) => p.includes(f)))) files.push(path.relative(root, p));
  }
})(path.join(root, 'test'));
files.sort();
// A test that waits on something that never comes fails at this bound instead of hanging CI
// (the systemd test, which boots a container, sets its own longer timeout).
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=240000', ...files], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
