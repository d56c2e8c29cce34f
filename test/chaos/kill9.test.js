'use strict';
// kill -9 in every phase of the lifecycle (starting, ready, reloading, draining, upgrading), then a
// clean start with the same config: it must take over the stale pid file, serve, and answer
// `srs -s reload` and `srs -s status` truthfully despite whatever records the dead process left.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../helpers/harness');
const { report } = require('./support');

const PHASES = {
  async starting(srs, ctx) {
    await h.waitFor('the pid file', () => fs.existsSync(ctx.pidFile), 10000, 1);
  },
  async ready(srs) {
    await srs.waitForLine(/ready, pid/);
  },
  async reloading(srs) {
    await srs.waitForLine(/ready, pid/);
    process.kill(srs.pid, 'SIGHUP');
    await srs.waitForLine(/reload requested/);
  },
  async draining(srs) {
    await srs.waitForLine(/ready, pid/);
    process.kill(srs.pid, 'SIGQUIT');
    await srs.waitForLine(/graceful quit|SIGQUIT/);
  },
  async upgrading(srs) {
    await srs.waitForLine(/ready, pid/);
    process.kill(srs.pid, 'SIGUSR2');
    await srs.waitForLine(/upgrade/);
  },
};

for (const [phase, reach] of Object.entries(PHASES)) {
  test(`kill -9 while ${phase}, then a clean start`, async (t) => {
    const dir = h.tmpdir(`srs-chaos-kill9-${phase}-`);
    t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
    const [rtmp, api] = await h.freePorts(2);
    const file = h.writeConfig(dir, { rtmp, api, extra: 'grace_start_wait 5000; grace_final_wait 100;' });
    const pidFile = path.join(dir, 'srs.pid');
    const srs = h.startSrs(['-c', file], { cwd: dir });
    t.after(() => srs.kill());
    await reach(srs, { pidFile });
    // an upgrade's new process dies too, as with `pkill -9 srs`
    const victims = [srs.pid, ...h.childPidsOf(srs.pid)];
    for (const pid of victims) h.killPid(pid, 'SIGKILL');
    await srs.waitForExit(5000);
    await h.waitFor(`every killed process gone (${victims})`, () => victims.every((p) => h.pidGone(p)), 10000);

    const status = h.runSrs(['-s', 'status', '-c', file], { cwd: dir });
    assert.notEqual(status.code, 0, `status after kill -9 must not say running: ${status.output}`);

    const again = h.startSrs(['-c', file], { cwd: dir });
    t.after(() => again.kill());
    await again.waitForLine(/ready, pid/, 15000);
    assert.equal((await h.request(api, '/api/v1/versions')).status, 200, 'the new server answers');
    assert.ok(await h.canConnect(rtmp), 'the new server accepts RTMP');
    const st = h.runSrs(['-s', 'status', '-c', file], { cwd: dir });
    assert.equal(st.code, 0, `status says running: ${st.output}`);
    const rl = h.runSrs(['-s', 'reload', '-c', file], { cwd: dir, timeoutMs: 20000 });
    assert.equal(rl.code, 0, `srs -s reload answers for the new process: ${rl.output}`);
    report(t, `kill -9 while ${phase}`, `status ${status.code} while dead; a clean start served; status 0 and reload 0 after`);
  });
}
