'use strict';
// inotify_auto_reload on the real process: every way editors and Kubernetes replace a file.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../helpers/harness');

function body(dir, rtmp, api) {
  return `listen ${rtmp};
daemon off;
pid ${path.join(dir, 'srs.pid')};
srs_log_tank console;
inotify_auto_reload on;
http_api { enabled on; listen ${api}; }
`;
}

async function startWatching(t, file, dir) {
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  assert.match(srs.output, /watching the config for changes \(inotify_auto_reload on\)/);
  return srs;
}

async function expectMoved(srs, port) {
  await h.waitFor(`the listener to move to ${port} by inotify (output: ${srs.output.slice(-600)})`, () => h.canConnect(port), 5000);
  // the port can accept before the log line has crossed the pipe to us
  await srs.waitForLine(/reload ok: applied listen/);
  assert.match(srs.output, /reload ok: applied listen.*trigger=inotify/);
}

test('in-place write', async (t) => {
  const dir = h.tmpdir('srs-watch-');
  const [a, b, api] = await h.freePorts(3);
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(file, body(dir, a, api));
  const srs = await startWatching(t, file, dir);
  fs.writeFileSync(file, body(dir, b, api));
  await expectMoved(srs, b);
});

test('write a temp file, then rename it over the config', async (t) => {
  const dir = h.tmpdir('srs-watch-');
  const [a, b, api] = await h.freePorts(3);
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(file, body(dir, a, api));
  const srs = await startWatching(t, file, dir);
  fs.writeFileSync(`${file}.tmp`, body(dir, b, api));
  fs.renameSync(`${file}.tmp`, file);
  await expectMoved(srs, b);
  // the watch survives the rename: a second change is seen too
  const [c] = await h.freePorts(1);
  fs.writeFileSync(`${file}.tmp`, body(dir, c, api));
  fs.renameSync(`${file}.tmp`, file);
  await h.waitFor('a second rename to be seen', () => h.canConnect(c), 5000);
});

test('vim-style save: original renamed to a backup, new file written, backup removed', async (t) => {
  const dir = h.tmpdir('srs-watch-');
  const [a, b, api] = await h.freePorts(3);
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(file, body(dir, a, api));
  const srs = await startWatching(t, file, dir);
  fs.renameSync(file, `${file}~`);
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, body(dir, b, api));
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.unlinkSync(`${file}~`);
  await expectMoved(srs, b);
});

test('Kubernetes ConfigMap update: the ..data symlink swap', async (t) => {
  const dir = h.tmpdir('srs-cm-');
  const [a, b, api] = await h.freePorts(3);
  // kubelet's layout: srs.conf -> ..data/srs.conf, ..data -> ..<timestamp>
  const v1 = path.join(dir, '..2026_11_23_10_00_00.000000001');
  fs.mkdirSync(v1);
  fs.writeFileSync(path.join(v1, 'srs.conf'), body(dir, a, api));
  fs.symlinkSync(path.basename(v1), path.join(dir, '..data'));
  fs.symlinkSync('..data/srs.conf', path.join(dir, 'srs.conf'));
  const srs = await startWatching(t, path.join(dir, 'srs.conf'), dir);

  const v2 = path.join(dir, '..2026_11_23_10_05_00.000000002');
  fs.mkdirSync(v2);
  fs.writeFileSync(path.join(v2, 'srs.conf'), body(dir, b, api));
  fs.symlinkSync(path.basename(v2), path.join(dir, '..data_tmp'));
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  fs.rmSync(v1, { recursive: true });
  await expectMoved(srs, b);
});

test('a change in an included file', async (t) => {
  const dir = h.tmpdir('srs-watch-');
  const sub = path.join(dir, 'conf.d');
  fs.mkdirSync(sub);
  const [a, b, api] = await h.freePorts(3);
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(file, `daemon off;\npid ${path.join(dir, 'srs.pid')};\nsrs_log_tank console;\ninotify_auto_reload on;\ninclude conf.d/listen.conf;\nhttp_api { enabled on; listen ${api}; }\n`);
  fs.writeFileSync(path.join(sub, 'listen.conf'), `listen ${a};\n`);
  const srs = await startWatching(t, file, dir);
  fs.writeFileSync(path.join(sub, 'listen.conf'), `listen ${b};\n`);
  await expectMoved(srs, b);
});
