'use strict';
// sd_notify to a test datagram socket playing systemd: READY=1 with MAINPID, RELOADING=1 with
// MONOTONIC_USEC then READY=1, STOPPING=1; and daemon forced off by NOTIFY_SOCKET.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../helpers/harness');
const { datagramReceiver } = require('../helpers/datagram');

async function nextMessage(rx, what) {
  const m = await rx.recv(10000);
  if (m === null) throw new Error(`no sd_notify datagram within 10 s: expected ${what}`);
  return m;
}

for (const kind of ['path', 'abstract']) {
  test(`sd_notify over a ${kind} socket: ready, reloading, stopping`, async (t) => {
    const dir = h.tmpdir('srs-notify-');
    const sock = kind === 'path' ? path.join(dir, 'notify.sock') : `@srs-test-notify-${process.pid}-${Date.now()}`;
    const rx = await datagramReceiver(sock);
    t.after(() => rx.close());
    const [rtmp, api] = await h.freePorts(2);
    const file = h.writeConfig(dir, { rtmp, api, daemon: true, extra: 'disable_daemon_for_docker off;\nauto_reload_for_docker off;' });
    const srs = h.startSrs(['-c', file], { cwd: dir, env: { NOTIFY_SOCKET: sock } });
    t.after(() => srs.kill());

    const ready = await nextMessage(rx, 'READY=1');
    assert.match(ready, /^READY=1$/m);
    assert.match(ready, new RegExp(`^MAINPID=${srs.pid}$`, 'm'), 'MAINPID is the process systemd started: no daemon under Type=notify');
    assert.match(ready, /^STATUS=serving: rtmp /m);
    assert.equal(await h.canConnect(rtmp), true, 'listening when READY=1 was sent');
    assert.match(srs.output, /foreground: NOTIFY_SOCKET is set/);

    srs.kill('SIGHUP');
    const reloading = await nextMessage(rx, 'RELOADING=1');
    assert.match(reloading, /^RELOADING=1$/m);
    const usec = Number(/^MONOTONIC_USEC=(\d+)$/m.exec(reloading)?.[1]);
    assert.ok(usec > 0, 'MONOTONIC_USEC present');
    assert.match(await nextMessage(rx, 'READY=1 after the reload'), /^READY=1$/m);

    srs.kill('SIGQUIT');
    assert.match(await nextMessage(rx, 'STOPPING=1'), /^STOPPING=1$/m);
    srs.kill('SIGINT'); // second quit signal: do not wait for the grace periods
    const { code } = await srs.waitForExit(5000);
    assert.equal(code, 0);
    assert.equal(fs.existsSync(path.join(dir, 'srs.pid')), false);
  });
}
