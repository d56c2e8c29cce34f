'use strict';
// An upgrade that keeps every stream visible: after SIGUSR2 the new process owns the listeners; a
// player arriving there for a stream still published to the old process is served through a pull
// from the old one (its private relay listener), until the publisher reconnects, which lands on
// the new process; then the new publish is served and the old process exits.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../helpers/harness');
const m = require('./support');
const { rtmpPlayer } = require('../helpers/rtmp-load');

const dir = h.tmpdir('srs-upgrade-relay-');

test.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it

test('SIGUSR2 with a live stream: new players on the new process receive it from the old one; the publisher restarts on the new process, every player ends up there, the old process exits', async (t) => {
  const source = await m.makeSource(dir);
  const [rtmp, api] = await h.freePorts(2);
  const pidFile = path.join(dir, 'srs.pid');
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(
    file,
    `listen ${rtmp};\ndaemon off;\npid ${pidFile};\nsrs_log_tank console;\nsrs_log_level trace;\ngrace_final_wait 100;\ngrace_max_wait 60000;\n` +
      `http_api { enabled on; listen ${api}; }\nvhost __defaultVhost__ { }\n`,
  );
  h.trackPidFile(pidFile);
  const srv = h.startSrs(['-c', file], { cwd: dir });
  const pids = new Set([srv.pid]);
  t.after(() => {
    try {
      pids.add(Number(fs.readFileSync(pidFile, 'utf8').trim()));
    } catch {
      // no pid file
    }
    for (const p of pids) if (p > 0) h.killPid(p);
  });
  await srv.waitForLine(/ready, pid/, 20000);
  const url = `rtmp://127.0.0.1:${rtmp}/live/relay`;
  const streamOn = async () => {
    const r = await h.request(api, '/api/v1/streams');
    return { pid: Number(r.json?.pid), stream: (r.json?.streams ?? []).find((s) => s.name === 'relay') ?? null };
  };

  let pub = m.publish(source, url);
  t.after(() => pub.kill());
  await h.waitFor(() => `the stream live on the first process (ffmpeg: ${pub.output.slice(-400)})`, async () => (await streamOn()).stream?.publish?.active, 20000, 100);

  const player = async (group, i) => {
    const p = await rtmpPlayer({ port: rtmp, app: 'live', stream: 'relay' });
    t.after(() => p.socket.destroy());
    return { group, i, p, total: 0 };
  };
  const oldPlayers = [];
  for (let i = 0; i < 5; i++) oldPlayers.push(await player('old', i));
  await h.waitFor(() => `5 players on the old process received 25 frames (got ${oldPlayers.map((x) => x.p.frames())})`, () => oldPlayers.every((x) => x.p.frames() >= 25), 20000, 50);

  // the upgrade: a new pid takes the pid file and the listeners
  const old = srv.pid;
  process.kill(old, 'SIGUSR2');
  const next = await h.waitFor(`a new pid in ${pidFile} after SIGUSR2`, () => {
    try {
      const p = Number(fs.readFileSync(pidFile, 'utf8').trim());
      return p && p !== old ? p : null;
    } catch {
      return null;
    }
  }, 30000, 20);
  h.track(next);
  pids.add(next);
  await srv.waitForLine(/upgrade relay: the new process may pull live streams from 127\.0\.0\.1:\d+/, 5000);
  await h.waitFor('the API answered by the new process', async () => (await streamOn()).pid === next, 20000, 50);

  // new players land on the new process; the publisher is still on the old one
  const newPlayers = [];
  for (let i = 0; i < 5; i++) newPlayers.push(await player('new', i));
  const oldAt = oldPlayers.map((x) => x.p.frames());
  await h.waitFor(
    () => `5 new players received 50 frames through the relay (got ${newPlayers.map((x) => x.p.frames())}; log: ${srv.output.slice(-1500)})`,
    () => newPlayers.every((x) => x.p.frames() >= 50),
    30000,
    50,
  );
  assert.ok(!h.pidGone(old), 'the old process still runs: it holds the publisher');
  assert.ok(oldPlayers.every((x, i) => x.p.frames() > oldAt[i] + 25 && !x.p.socket.destroyed), `the old players kept playing on the old process (${oldPlayers.map((x) => x.p.frames())})`);
  assert.match(srv.output, new RegExp(`\\[${next}\\]\\[[^\\]]*\\] upgrade relay publishing from 127\\.0\\.0\\.1:\\d+ stream=__defaultVhost__/live/relay`), 'the new process pulls the stream from the old one');

  // the publisher restarts: its reconnect lands on the new process. Old players the old process
  // closes when their stream ends reconnect, as a player does, and land on the new one too.
  const reconnected = [];
  for (const x of oldPlayers) {
    x.p.closed.then(async () => {
      reconnected.push(await player('old-reconnected', x.i));
    });
  }
  pub.kill();
  await pub.waitExit(10000, 'the first ffmpeg publisher');
  pub = m.publish(source, url);
  await h.waitFor(
    async () => `the stream published to the new process (${JSON.stringify(await streamOn())}; ffmpeg: ${pub.output.slice(-400)})`,
    async () => {
      const s = await streamOn();
      return s.pid === next && s.stream?.publish?.active && !/^edge-/.test(s.stream.publish.cid ?? '');
    },
    20000,
    100,
  );
  await srv.waitForLine(new RegExp(`\\[${next}\\]\\[[^\\]]*\\] upgrade relay: a local publisher took the stream`), 10000);

  // the old process exits once its publisher is gone and its players drained
  await h.waitFor(() => `the old process ${old} exits (log: ${srv.output.slice(-1500)})`, () => h.pidGone(old), 30000, 50);
  await h.waitFor(() => `the 5 old players reconnected (got ${reconnected.length})`, () => reconnected.length === 5, 20000, 50);

  // now only the new process runs: every player receiving from here on receives from it
  const everyone = [...newPlayers, ...reconnected];
  const at = everyone.map((x) => x.p.frames());
  await h.waitFor(
    () => `all 10 players received 50 frames from the new process (got ${everyone.map((x, k) => x.p.frames() - at[k])})`,
    () => everyone.every((x, k) => x.p.frames() - at[k] >= 50),
    30000,
    50,
  );
  for (const x of newPlayers) {
    assert.ok(!x.p.socket.destroyed, `new player ${x.i} stayed connected through the publisher's move`);
    const s = x.p.statuses;
    assert.ok(s.lastIndexOf('NetStream.Play.PublishNotify') > s.lastIndexOf('NetStream.Play.UnpublishNotify'), `new player ${x.i} was told the stream resumed (${s.join(',')})`);
  }
  assert.ok(!h.pidGone(next), 'the new process runs');
});
