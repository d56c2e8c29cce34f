'use strict';
// vhost security in SRS's grammar, enforced at publish and play, from real source addresses on
// the loopback network (127.0.0.2 and 127.0.0.3 are loopback too).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('../helpers/harness');
const { rtmpPlayer, rtmpPublisher } = require('../helpers/rtmp-load');

test('security (SRS checks deny rules first): allow publish 127.0.0.1; deny play 127.0.0.3, allow play all', async (t) => {
  const dir = h.tmpdir('srs-security-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })); // srs may still write there until its own after-hook kills it
  const [rtmp, api] = await h.freePorts(2);
  const file = h.writeConfig(dir, { rtmp, api });
  fs.writeFileSync(
    file,
    fs.readFileSync(file, 'utf8').replace(
      /\nvhost __defaultVhost__ \{ \}\n/,
      '\nvhost __defaultVhost__ { security { enabled on; allow publish 127.0.0.1; deny play 127.0.0.3; allow play all; } }\n',
    ),
  );
  const srs = h.startSrs(['-c', file], { cwd: dir });
  t.after(() => srs.kill());
  await srs.waitForLine(/ready, pid/);

  const refusedPub = await rtmpPublisher({ port: rtmp, app: 'live', stream: 's', localAddress: '127.0.0.2' });
  t.after(() => refusedPub.stop());
  await refusedPub.closed.then(() => {}, () => {});
  assert.ok(!refusedPub.statuses.includes('NetStream.Publish.Start'), `a publisher from 127.0.0.2 must not start (got ${refusedPub.statuses})`);
  await srs.waitForLine(/security|denied/i);

  const pub = await rtmpPublisher({ port: rtmp, app: 'live', stream: 's', localAddress: '127.0.0.1' });
  t.after(() => pub.stop());
  await h.waitFor(() => `NetStream.Publish.Start for 127.0.0.1 (got ${pub.statuses})`, () => pub.statuses.includes('NetStream.Publish.Start'), 10000);

  const ok = await rtmpPlayer({ port: rtmp, app: 'live', stream: 's', localAddress: '127.0.0.2' });
  t.after(() => ok.socket.destroy());
  await h.waitFor('the player from 127.0.0.2 receives frames', () => ok.frames() > 0, 10000);

  const denied = await rtmpPlayer({ port: rtmp, app: 'live', stream: 's', localAddress: '127.0.0.3' });
  t.after(() => denied.socket.destroy());
  await denied.closed;
  assert.equal(denied.frames(), 0, 'the player from 127.0.0.3 received no frame');
  assert.ok(!denied.statuses.includes('NetStream.Play.Start'), `no Play.Start for a denied player (got ${denied.statuses})`);
});
