'use strict';
// sdNotify against a unix datagram socket playing systemd's notify socket (test/helpers/datagram.js).
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { native } = require('../../dist/native.js');
const { datagramReceiver } = require('../helpers/datagram');

const n = native();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-native-notify-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('sdNotify: a datagram to a path socket', async (t) => {
  const sock = path.join(dir, 'notify.sock');
  const rx = await datagramReceiver(sock);
  t.after(() => rx.close());
  n.sdNotify(sock, 'READY=1\nSTATUS=listening');
  assert.equal(await rx.recv(5000), 'READY=1\nSTATUS=listening');
  n.sdNotify(sock, 'RELOADING=1\nMONOTONIC_USEC=1');
  assert.equal(await rx.recv(5000), 'RELOADING=1\nMONOTONIC_USEC=1');
  assert.equal(await rx.recv(50), null, 'no third datagram');
});

test('sdNotify: a datagram to an abstract @ socket', async (t) => {
  const name = `@srs-native-test-${process.pid}-${Date.now()}`;
  const rx = await datagramReceiver(name);
  t.after(() => rx.close());
  n.sdNotify(name, 'READY=1');
  assert.equal(await rx.recv(5000), 'READY=1');
  // the abstract name is not a file
  assert.equal(fs.existsSync(name), false);
});

test('sdNotify: from another process, as a daemon under systemd would', async (t) => {
  const name = `@srs-native-test-child-${process.pid}-${Date.now()}`;
  const rx = await datagramReceiver(name);
  t.after(() => rx.close());
  const script = `require(${JSON.stringify(path.join(__dirname, '../../dist/native.js'))}).native().sdNotify(process.env.NOTIFY_SOCKET, 'READY=1\\nMAINPID=' + process.pid)`;
  const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, NOTIFY_SOCKET: name }, stdio: 'inherit' });
  const code = new Promise((resolve) => child.on('exit', resolve));
  assert.equal(await rx.recv(10000), `READY=1\nMAINPID=${child.pid}`);
  assert.equal(await code, 0);
});

test('sdNotify: errors name the call and the socket', () => {
  const missing = path.join(dir, 'missing.sock');
  assert.throws(() => n.sdNotify(missing, 'READY=1'), (e) => e.message === `sendto(${missing}): ENOENT` && e.code === 'ENOENT' && e.syscall === 'sendto');
  const abs = `@srs-native-test-nobody-${process.pid}`;
  assert.throws(() => n.sdNotify(abs, 'READY=1'), (e) => e.message === `sendto(${abs}): ECONNREFUSED` && e.code === 'ECONNREFUSED');
  const long = '/' + 'x'.repeat(200);
  assert.throws(() => n.sdNotify(long, 'READY=1'), (e) => e.code === 'ENAMETOOLONG');
  assert.throws(() => n.sdNotify('', 'READY=1'), (e) => e.code === 'ENAMETOOLONG');
});
