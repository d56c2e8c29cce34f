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

/** The masks of pid's inotify watches on inode `inoHex`, from /proc/<pid>/fdinfo. */
function inotifyMasks(pid, inoHex) {
  const out = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
    let text;
    try {
      text = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed meanwhile
    }
    for (const m of text.matchAll(/^inotify wd:\w+ ino:(\w+) sdev:\w+ mask:(\w+)/gm)) if (m[1] === inoHex) out.push(parseInt(m[2], 16));
  }
  return out;
}

/**
 * A config in dir/conf/srs.conf, srs started in dir, and one in-place edit applied first: the watch
 * is settled and live before a test replaces things under it (a change within the watch's first
 * debounce would be caught by its start-up comparison, and prove nothing).
 */
async function startInConfDir(t) {
  const dir = h.tmpdir('srs-watch-');
  const conf = path.join(dir, 'conf');
  fs.mkdirSync(conf);
  const ports = await h.freePorts(5);
  const api = ports.pop();
  const file = path.join(conf, 'srs.conf');
  fs.writeFileSync(file, body(dir, ports[0], api));
  const srs = await startWatching(t, file, dir);
  fs.writeFileSync(file, body(dir, ports[1], api));
  await expectMovedAgain(srs, ports[1], 1);
  return { dir, conf, file, srs, ports: ports.slice(1), api };
}

async function expectMovedAgain(srs, port, count) {
  await h.waitFor(() => `the listener to move to ${port} by inotify (output: ${srs.output.slice(-600)})`, () => h.canConnect(port), 5000);
  await h.waitFor(() => `reload ok #${count} (output: ${srs.output.slice(-600)})`, () => (srs.output.match(/reload ok: applied listen.*trigger=inotify/g) ?? []).length >= count, 5000);
}

test('the config directory deleted and created again: a later edit is applied', async (t) => {
  const { dir, conf, file, srs, ports, api } = await startInConfDir(t);
  fs.rmSync(conf, { recursive: true });
  await srs.waitForLine(/reload failed/);
  fs.mkdirSync(conf);
  fs.writeFileSync(file, body(dir, ports[1], api));
  await expectMovedAgain(srs, ports[1], 2);
  // and the watch lives on: an in-place edit after that
  fs.writeFileSync(file, body(dir, ports[2], api));
  await expectMovedAgain(srs, ports[2], 3);
});

test('the config directory deleted, a SIGHUP meanwhile, then created again: a later edit is applied', async (t) => {
  const { dir, conf, file, srs, ports, api } = await startInConfDir(t);
  fs.rmSync(conf, { recursive: true });
  await srs.waitForLine(/reload failed/);
  srs.kill('SIGHUP');
  await h.waitFor('the SIGHUP reload to fail too', () => (srs.output.match(/reload failed/g) ?? []).length >= 2);
  fs.mkdirSync(conf);
  fs.writeFileSync(file, body(dir, ports[1], api));
  await expectMovedAgain(srs, ports[1], 2);
});

test('a new directory renamed over the config directory: a later edit is applied', async (t) => {
  const { dir, conf, file, srs, ports, api } = await startInConfDir(t);
  const next = path.join(dir, 'conf.new');
  fs.mkdirSync(next);
  fs.writeFileSync(path.join(next, 'srs.conf'), body(dir, ports[1], api));
  fs.renameSync(conf, path.join(dir, 'conf.old'));
  fs.renameSync(next, conf);
  await expectMovedAgain(srs, ports[1], 2);
  fs.writeFileSync(file, body(dir, ports[2], api));
  await expectMovedAgain(srs, ports[2], 3);
});

test('a single file bind-mounted over the config (unshare -m), written in place on the host side', async (t) => {
  const dir = h.tmpdir('srs-watch-');
  const conf = path.join(dir, 'conf');
  fs.mkdirSync(conf);
  const [a, b, c, api] = await h.freePorts(4);
  const host = path.join(dir, 'host.conf');
  const file = path.join(conf, 'srs.conf');
  fs.writeFileSync(host, body(dir, a, api));
  fs.writeFileSync(file, '# the mount point, never read\n');
  // srs runs in its own mount namespace, where host.conf is bind-mounted on conf/srs.conf
  const srs = h.startSrs(['-c', file], {
    cwd: dir,
    command: 'unshare',
    prefix: ['-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" "$1" && shift && exec "$@"', host, file],
  });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  assert.equal(await h.canConnect(a), true, 'srs read host.conf through the bind mount');
  // the watch on the file's own inode, as the kernel lists it: its directory (the mount point's)
  // never hears of a write through host.conf
  const ino = fs.statSync(host).ino.toString(16);
  await h.waitFor(() => `an inotify watch with IN_MODIFY on host.conf's inode ${ino} in /proc/${srs.pid}/fdinfo`, () => inotifyMasks(srs.pid, ino).some((m) => m & 0x2));
  // in place, twice: the same inode truncated and rewritten (a bind mount cannot follow a rename)
  fs.writeFileSync(host, body(dir, b, api));
  await expectMovedAgain(srs, b, 1);
  fs.writeFileSync(host, body(dir, c, api));
  await expectMovedAgain(srs, c, 2);
});

test('the config directory is a mount that goes away (IN_UNMOUNT): the file under it is read, and a later edit is applied', async (t) => {
  const dir = h.tmpdir('srs-watch-');
  const conf = path.join(dir, 'conf');
  fs.mkdirSync(conf);
  const [a, b, c, api] = await h.freePorts(4);
  const file = path.join(conf, 'srs.conf');
  const seed = path.join(dir, 'seed.conf');
  fs.writeFileSync(seed, body(dir, a, api));
  // under the mount, hidden while it is there
  fs.writeFileSync(file, body(dir, b, api));
  const srs = h.startSrs(['-c', file], {
    cwd: dir,
    command: 'unshare',
    prefix: ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs "$0" && cp "$1" "$0/srs.conf" && shift && exec "$@"', conf, seed],
  });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);
  assert.equal(await h.canConnect(a), true, 'srs read the config on the tmpfs');
  const um = await h.run('nsenter', ['-t', String(srs.pid), '-m', 'umount', conf]);
  assert.equal(um.code, 0, um.stderr);
  await expectMovedAgain(srs, b, 1);
  fs.writeFileSync(file, body(dir, c, api));
  await expectMovedAgain(srs, c, 2);
});
