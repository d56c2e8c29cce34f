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

test("an HTTP connection's drain: an idle keep-alive socket closes, one in flight finishes its response first", async (t) => {
  const { httpRoleHandler, httpServerSpecs } = require('../../dist/server/listeners.js');
  const dir = h.tmpdir('srs-drain-');
  t.after(() => require('node:fs').rmSync(dir, { recursive: true, force: true }));
  const BIG = 16 * 1024 * 1024;
  require('node:fs').writeFileSync(require('node:path').join(dir, 'big.bin'), Buffer.alloc(BIG, 1));
  require('node:fs').writeFileSync(require('node:path').join(dir, 'small.txt'), 'small\n');
  const [port] = await h.freePorts(1);
  const registry = new ConnectionRegistry(100);
  const api = { cwd: dir, registry, log: () => silent, auth: () => ({ enabled: false, username: '', password: '' }) };
  const services = new ServiceSet();
  services.register(new ListenerService({ name: 'http_server', roles: ['http_server'], registry, drains: services.drains, listeners: httpServerSpecs, handlers: { http_server: httpRoleHandler(api, registry) }, active: () => [] }));
  const set = new ListenerSet({ registry, metrics: new Metrics(registry, Date.now()), log: () => silent, services });
  t.after(() => set.closeAll());
  await set.apply({ httpServer: { enabled: true, listen: { host: '127.0.0.1', port }, dir } });

  const http = require('node:http');
  // a keep-alive client, idle after its first response
  const idleSocket = net.connect({ port, host: '127.0.0.1' });
  idleSocket.on('error', () => {});
  t.after(() => idleSocket.destroy());
  await new Promise((r) => idleSocket.once('connect', r));
  const answered = new Promise((r) => idleSocket.once('data', (d) => r(d.toString())));
  idleSocket.write('GET /small.txt HTTP/1.1\r\nHost: srs\r\n\r\n');
  assert.match(await answered, /^HTTP\/1.1 200[\s\S]*keep-alive/i);
  let idleClosed = false;
  idleSocket.once('close', () => (idleClosed = true));

  const download = await new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/big.bin', agent: false }, (res) => {
      res.pause();
      resolve(res);
    }).on('error', reject);
  });
  let downloadClosed = false;
  download.socket.once('close', () => (downloadClosed = true));
  await h.waitFor('both connections registered', () => registry.size === 2);

  services.drain('test');
  await h.waitFor('the drain to close the idle keep-alive socket', () => idleClosed, 3000);
  await h.waitFor('the idle socket to leave the registry, the one in flight to stay', () => registry.size === 1);
  assert.equal(download.socket.destroyed, false, 'the response in flight is not cut');
  let bytes = 0;
  download.on('data', (c) => (bytes += c.length));
  const ended = new Promise((r) => download.once('end', r));
  download.resume();
  await ended;
  assert.equal(bytes, BIG, 'the response in flight finished');
  await h.waitFor('the drained socket to close once its response is sent', () => downloadClosed, 3000);
  await h.waitFor('the drained socket to leave the registry', () => registry.size === 0);
});
