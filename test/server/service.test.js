'use strict';
// The service contract: a new protocol is served by registering a service and its role handler,
// and every service's listeners are applied together, all or nothing.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const pino = require('pino');
const { ServiceSet, ListenerService, mergeSpecs } = require('../../dist/server/service.js');
const { ListenerSet } = require('../../dist/server/listeners.js');
const { ConnectionRegistry } = require('../../dist/server/registry.js');
const { Metrics } = require('../../dist/server/metrics.js');
const h = require('../helpers/harness');

const silent = pino({ level: 'silent' });

function echoService(registry, services, port) {
  return new ListenerService({
    name: 'echo',
    roles: ['echo'],
    registry,
    drains: services.drains,
    listeners: (cfg) => (cfg.echo ? [{ key: `echo@127.0.0.1:${cfg.echo}`, role: 'echo', address: { host: '127.0.0.1', port: cfg.echo }, api: false, files: null }] : []),
    handlers: {
      echo: {
        kind: 'media',
        accept(socket, connection, ctx) {
          ctx.drains.set(connection, (reason) => socket.end(`bye: ${reason}\n`));
          socket.on('data', (d) => socket.write(d));
          socket.resume();
        },
      },
    },
    active: () => [`echo 127.0.0.1:${port}`],
  });
}

function exchange(port, text) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => s.write(text));
    s.once('data', (d) => resolve({ socket: s, reply: d.toString() }));
    s.on('error', reject);
  });
}

test('a service registered with its role handler serves its listener; drain asks its connections through their hooks', async (t) => {
  const [port, taken] = await h.freePorts(2);
  const registry = new ConnectionRegistry(100);
  const services = new ServiceSet();
  services.register(echoService(registry, services, port));
  const set = new ListenerSet({ registry, metrics: new Metrics(registry, Date.now()), log: () => silent, services });
  t.after(() => set.closeAll());
  await set.apply({ echo: port });
  const { socket, reply } = await exchange(port, 'hello');
  t.after(() => socket.destroy());
  assert.equal(reply, 'hello');
  const snap = services.snapshot();
  assert.deepEqual(snap, [{ name: 'echo', listeners: [`echo 127.0.0.1:${port}`], connections: 1 }]);
  const ended = new Promise((r) => {
    let text = '';
    socket.on('data', (d) => (text += d));
    socket.on('end', () => r(text));
  });
  services.drain('test');
  assert.equal(await ended, 'bye: test\n');
  socket.destroy();

  // all or nothing: a port held by someone else fails the apply and leaves the running set
  const blocker = net.createServer().listen(taken, '127.0.0.1');
  t.after(() => blocker.close());
  await new Promise((r) => blocker.once('listening', r));
  await assert.rejects(set.apply({ echo: taken }), /address already in use/);
  const still = await exchange(port, 'still');
  still.socket.destroy();
  assert.equal(still.reply, 'still');
});

test('specs on one endpoint: one family merges (http_api+http_server), two protocols are refused', () => {
  const a = { host: null, port: 8080 };
  const merged = mergeSpecs([
    { key: 'http_api@0.0.0.0:8080', role: 'http_api', address: a, api: true, files: null, shares: 'http' },
    { key: 'http_server@0.0.0.0:8080:./html', role: 'http_server', address: a, api: false, files: './html', shares: 'http' },
  ]);
  assert.deepEqual(merged.map((s) => [s.key, s.role, s.api, s.files]), [['http_api+http_server@0.0.0.0:8080:./html', 'http_api+http_server', true, './html']]);
  assert.throws(
    () => mergeSpecs([{ key: 'rtmp@0.0.0.0:8080', role: 'rtmp', address: a, api: false, files: null }, merged[0]]),
    (e) => e.code === 'SRS_ERR_BIND' && /rtmp listens there too/.test(e.message),
  );
});
