'use strict';
// issue 10, fault 2: no config can freeze or kill srs. Only regular files are read, with a size
// cap; depth, directives, includes, name and argument lengths and "did you mean" work are bounded.
// Each hostile config is refused by `objs/srs -t -c` with exit 3 and file:line:col, and its extra
// CPU time over a valid config's -t is under a second (the node start-up is not the config's doing;
// CPU, not wall time, so that a busy machine does not fail the test).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { tmpdir, runSrs } = require('../helpers/harness');
const { loadConfig, readRegularFile } = require('../../dist/config/load.js');
const { LIMITS } = require('../../dist/config/grammar.js');
const { suggest, editDistance, MAX_SUGGEST_LENGTH } = require('../../dist/config/suggest.js');
const { SRS_VOCABULARY } = require('../../dist/config/vocabulary.js');

function workdir(t) {
  const dir = tmpdir('srs-limits-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  return dir;
}

/** CPU ms used by this process's waited-for children (cutime + cstime of /proc/self/stat). */
function childrenCpuMs() {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): cutime and cstime are fields 16 and 17
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
}

/** `srs -t` and the CPU ms it took (clock ticks of 10 ms). */
function timedSrs(args, dir) {
  const before = childrenCpuMs();
  const r = runSrs(args, { cwd: dir, timeoutMs: 20000 });
  return { r, cpuMs: childrenCpuMs() - before };
}

/** CPU time of `srs -t` on a valid config: the cost of starting node, which a refusal also pays. */
let baselineMs = null;
function baseline(dir) {
  if (baselineMs === null) {
    fs.writeFileSync(path.join(dir, 'ok.conf'), 'listen 1935;\n');
    const { r, cpuMs } = timedSrs(['-t', '-c', 'ok.conf'], dir);
    baselineMs = cpuMs;
    assert.equal(r.code, 0, r.output);
  }
  return baselineMs;
}

/** `srs -t -c file` in dir: exit 3, one line naming where and what, quickly. */
function refused(dir, file, where, re) {
  const base = baseline(dir);
  const { r, cpuMs: ms } = timedSrs(['-t', '-c', file], dir);
  assert.equal(r.signal, null, `srs -t -c ${file} did not finish in 20 s (killed): ${r.output}`);
  assert.equal(r.code, 3, `${file}: ${r.output}`);
  assert.match(r.stderr, new RegExp(`^srs: SRS_ERR_CONFIG_[A-Z]+ ${where.replace(/\./g, '\\.')}: `), r.stderr.slice(0, 300));
  assert.match(r.stderr, re);
  assert.doesNotMatch(r.output, /\n\s+at |Maximum call stack/, 'no stack trace');
  assert.ok(ms - base < 1000, `${file}: refused after ${ms.toFixed(0)} ms of CPU, a valid config's -t takes ${base.toFixed(0)} ms`);
  return r;
}

test('include of anything but a regular file is refused at the include, without reading it', async (t) => {
  const dir = workdir(t);
  fs.mkdirSync(path.join(dir, 'adir'));
  assert.equal(spawnSync('mkfifo', [path.join(dir, 'fifo')]).status, 0, 'mkfifo');
  const server = net.createServer();
  await new Promise((resolve) => server.listen(path.join(dir, 'sock'), resolve));
  t.after(() => server.close());
  const cases = [
    ['/dev/zero', /\/dev\/zero: not a regular file \(a character device\)/],
    ['/dev/urandom', /not a regular file \(a character device\)/],
    ['fifo', /fifo: not a regular file \(a FIFO\)/],
    ['adir', /adir: not a regular file \(a directory\)/],
    ['sock', /sock: not a regular file/],
  ];
  for (const [inc, re] of cases) {
    fs.writeFileSync(path.join(dir, 'main.conf'), `listen 1935;\nvhost a {\n    include ${inc};\n}\n`);
    // runSrs is synchronous: the socket's server cannot accept meanwhile, as a FIFO has no writer
    refused(dir, 'main.conf', 'main.conf:3:5', re);
  }
  // the main file too (no include to point at: the path and the reason)
  const r = runSrs(['-t', '-c', 'fifo'], { cwd: dir, timeoutMs: 20000 });
  assert.equal(r.code, 3, r.output);
  assert.match(r.stderr, /cannot read config file .*fifo: not a regular file \(a FIFO\)/);
});

test('a file over the size cap is refused from its fstat size, before any read', (t) => {
  const dir = workdir(t);
  const big = path.join(dir, 'big.conf');
  // sparse: 5 MiB of size, no 5 MiB of data
  const fd = fs.openSync(big, 'w');
  fs.ftruncateSync(fd, LIMITS.maxFileBytes + 1);
  fs.closeSync(fd);
  fs.writeFileSync(path.join(dir, 'main.conf'), 'listen 1935;\n\n  include big.conf;\n');
  refused(dir, 'main.conf', 'main.conf:3:3', /big\.conf: 4194305 bytes, over the limit of 4194304 bytes per file/);
  assert.throws(() => readRegularFile(big), /over the limit/);
  // a file that is regular and small reads whole, however the kernel reports its size
  assert.equal(readRegularFile('/proc/self/comm').length > 0, true);
});

test('nesting, directives, includes, names and arguments: each limit refused where it is hit', (t) => {
  const dir = workdir(t);
  const w = (f, text) => fs.writeFileSync(path.join(dir, f), text);

  // 8,000 nested blocks: a located refusal at the 65th, not "Maximum call stack size exceeded"
  w('deep.conf', 'listen 1935;\n' + 'vhost {\n'.repeat(8000) + '}\n'.repeat(8000));
  refused(dir, 'deep.conf', 'deep.conf:66:1', /block "vhost" nested deeper than the limit of 64 levels/);

  // depth counts across includes: 40 levels here (in vfilter, whose contents SRS does not check),
  // 40 more in the included file
  const outer = 'vhost v {\ntranscode t {\nengine e {\nvfilter {\n' + 'a {\n'.repeat(36);
  w('outer.conf', 'listen 1935;\n' + outer + 'include inner.conf;\n' + '}\n'.repeat(40));
  w('inner.conf', 'b {\n'.repeat(40) + '}\n'.repeat(40));
  refused(dir, 'outer.conf', 'inner.conf:25:1', /nested deeper than the limit of 64/);

  // includes that fan out: each file includes the next twice, 2^12 reads
  for (let i = 0; i <= 12; i++) w(`f${i}.conf`, i === 12 ? 'max_connections 10;\n' : `include f${i + 1}.conf f${i + 1}.conf;\n`);
  w('fan.conf', 'listen 1935;\ninclude f0.conf;\n');
  refused(dir, 'fan.conf', 'f11.conf:1:1', /include f12\.conf: more than 256 included files/);

  // a chain of includes deeper than the limit
  for (let i = 0; i < 30; i++) w(`c${i}.conf`, `include c${i + 1}.conf;\n`);
  w('c30.conf', 'max_connections 10;\n');
  w('chain.conf', 'listen 1935;\ninclude c0.conf;\n');
  refused(dir, 'chain.conf', 'c15.conf:1:1', /includes nested deeper than the limit of 16/);

  // directives: 100,001 in one file
  w('many.conf', 'listen 1935;\n' + 'max_connections 10;\n'.repeat(LIMITS.maxDirectives));
  refused(dir, 'many.conf', `many.conf:${LIMITS.maxDirectives + 1}:1`, /more than 100000 directives/);

  // a 64 KiB directive name (was 16 s of "did you mean"), and a 1 MiB argument
  w('name.conf', 'listen 1935;\n' + 'x'.repeat(64 * 1024) + ' on;\n');
  refused(dir, 'name.conf', 'name.conf:2:1', /directive name of 65536 characters: over the limit of 128/);
  w('arg.conf', 'listen 1935;\npid ' + 'p'.repeat(1024 * 1024) + ';\n');
  refused(dir, 'arg.conf', 'arg.conf:2:5', /argument of 1048576 characters: over the limit of 16384/);
  // a name under the grammar's limit but past the suggestion limit: refused, no suggestion
  w('long.conf', 'listen 1935;\n' + 'y'.repeat(120) + ' on;\n');
  const r = refused(dir, 'long.conf', 'long.conf:2:1', /unknown directive/);
  t.diagnostic(r.stderr.trim().slice(0, 200));
});

test('YAML: the same limits, and deep flow or block nesting is refused before the yaml library recurses', (t) => {
  const dir = workdir(t);
  fs.writeFileSync(path.join(dir, 'flow.yaml'), 'listen: 1935\nvhost: ' + '{a: '.repeat(8000) + '1' + '}'.repeat(8000) + '\n');
  refused(dir, 'flow.yaml', 'flow.yaml:2:264', /YAML: nested deeper than the limit of 64 levels/);
  fs.writeFileSync(path.join(dir, 'block.yaml'), Array.from({ length: 1500 }, (_, i) => `${' '.repeat(i)}a:`).join('\n') + ' 1\n');
  refused(dir, 'block.yaml', 'block.yaml:65:65', /nested deeper than the limit of 64/);
});

test('"did you mean": bounded work, same answers', () => {
  const names = SRS_VOCABULARY[''];
  assert.deepEqual(suggest('listne', names), { best: 'listen', distance: 1, close: true });
  assert.equal(suggest('x'.repeat(MAX_SUGGEST_LENGTH + 1), names), null);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('ab', 'ba'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  const c0 = process.cpuUsage();
  for (let i = 0; i < 100; i++) suggest('z'.repeat(MAX_SUGGEST_LENGTH), names);
  const c = process.cpuUsage(c0);
  const ms = (c.user + c.system) / 1000;
  assert.ok(ms < 1000, `100 suggestions for a ${MAX_SUGGEST_LENGTH}-character name took ${ms} ms`);
});

test('in process: every refusal above is an SrsError, located, in well under a second', () => {
  const texts = {
    'deep.conf': 'vhost {\n'.repeat(8000),
    'name.conf': 'x'.repeat(64 * 1024) + ';\n',
    'many.conf': 'a;\n'.repeat(LIMITS.maxDirectives + 1),
  };
  for (const [file, text] of Object.entries(texts)) {
    // CPU time, not wall time: a busy machine must not fail this
    const c0 = process.cpuUsage();
    assert.throws(() => loadConfig({ file, env: {}, cwd: '/v', readFile: () => text }), (e) => e.name === 'SrsError' && e.exitCode === 3 && e.location.line >= 1);
    const c = process.cpuUsage(c0);
    const ms = (c.user + c.system) / 1000;
    assert.ok(ms < 1000, `${file}: ${ms} ms`);
  }
});
