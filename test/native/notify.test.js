'use strict';
// sdNotify against a DatagramReceiver playing systemd's notify socket.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { native } = require('../../dist/native.js');

const n = native();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-native-notify-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('sdNotify: a datagram to a path socket', () => {
  const sock = path.join(dir, 'notify.sock');
  const rx = new n.DatagramReceiver(sock);
  try {
    n.sdNotify(sock, 'READY=1\nSTATUS=listening');
    assert.equal(rx.recv(5000), 'READY=1\nSTATUS=listening');
    n.sdNotify(sock, 'RELOADING=1\nMONOTONIC_USEC=1');
    assert.equal(rx.recv(5000), 'RELOADING=1\nMONOTONIC_USEC=1');
    assert.equal(rx.recv(0), null, 'no third datagram');
  } finally {
    rx.close();
  }
});

test('sdNotify: a datagram to an abstract @ socket', () => {
  const name = `@srs-native-test-${process.pid}-${Date.now()}`;
  const rx = new n.DatagramReceiver(name);
  try {
    n.sdNotify(name, 'READY=1');
    assert.equal(rx.recv(5000), 'READY=1');
    // the abstract name is not a file
    assert.equal(fs.existsSync(name), false);
    assert.throws(() => new n.DatagramReceiver(name), (e) => e.code === 'EADDRINUSE' && e.message === `bind(${name}): EADDRINUSE`);
  } finally {
    rx.close();
  }
});

test('sdNotify: from another process, as a daemon under systemd would', async () => {
  const name = `@srs-native-test-child-${process.pid}-${Date.now()}`;
  const rx = new n.DatagramReceiver(name);
  try {
    const script = `require(${JSON.stringify(path.join(__dirname, '../../dist/native.js'))}).native().sdNotify(process.env.NOTIFY_SOCKET, 'READY=1\\nMAINPID=' + process.pid)`;
    const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, NOTIFY_SOCKET: name }, stdio: 'inherit' });
    const msg = rx.recv(10000);
    assert.equal(msg, `READY=1\nMAINPID=${child.pid}`);
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 0);
  } finally {
    rx.close();
  }
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

test('DatagramReceiver: recv times out with null; recv after close is EBADF', () => {
  const sock = path.join(dir, 'quiet.sock');
  const rx = new n.DatagramReceiver(sock);
  assert.equal(rx.recv(1), null);
  rx.close();
  rx.close();
  assert.throws(() => rx.recv(1), (e) => e.code === 'EBADF' && e.message === `recv(${sock}): EBADF`);
});
