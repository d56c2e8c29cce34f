'use strict';
// The connection registry's slots: max_connections for media and files, the API's own apart.
const test = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter } = require('node:events');
const { ConnectionRegistry, poolOf, API_MAX_CONNECTIONS } = require('../../dist/server/registry.js');

function fakeSocket() {
  const s = new EventEmitter();
  s.remoteAddress = '127.0.0.1';
  s.remotePort = 1;
  s.destroy = () => s.emit('close');
  return s;
}

test('a full max_connections leaves the API its own slots; the API full leaves media theirs', () => {
  const r = new ConnectionRegistry(3, Date.now, 2);
  const media = [1, 2, 3].map(() => r.admit(fakeSocket(), 'rtmp', 'media'));
  assert.ok(media.every((m) => m.admitted));
  assert.deepEqual(r.admit(fakeSocket(), 'rtmp', 'media'), { admitted: false, reason: 'max_connections' });
  assert.deepEqual(r.admit(fakeSocket(), 'http_server', 'http'), { admitted: false, reason: 'max_connections' });
  const api1 = r.admit(fakeSocket(), 'http_api', 'http');
  const api2 = r.admit(fakeSocket(), 'http_api', 'http');
  assert.ok(api1.admitted && api2.admitted, 'probes get in while media is full');
  assert.deepEqual(r.admit(fakeSocket(), 'http_api', 'http'), { admitted: false, reason: 'api_connections' });
  assert.deepEqual(r.slots(), { main: 3, api: 2 });
  assert.equal(r.size, 5);
  api1.connection.socket.destroy();
  assert.ok(r.admit(fakeSocket(), 'http_api', 'http').admitted, 'a closed API connection frees its slot');
  media[0].connection.socket.destroy();
  assert.ok(r.admit(fakeSocket(), 'rtmp', 'media').admitted, 'a closed media connection frees its slot');
  assert.deepEqual(r.totals().http_api, { accepted: 3, refused: 1 });
});

test('a port shared by the API and the files takes a main slot while there is one, then an API slot', () => {
  const r = new ConnectionRegistry(1, Date.now, 1);
  const a = r.admit(fakeSocket(), 'http_api+http_server', 'http');
  const b = r.admit(fakeSocket(), 'http_api+http_server', 'http');
  assert.equal(a.connection.slot, 'main');
  assert.equal(b.connection.slot, 'api');
  assert.deepEqual(r.admit(fakeSocket(), 'http_api+http_server', 'http'), { admitted: false, reason: 'max_connections' });
  b.connection.socket.destroy();
  assert.deepEqual(r.slots(), { main: 1, api: 0 });
});

test('pools by listener role; the default API cap', () => {
  assert.equal(poolOf('http_api'), 'api');
  assert.equal(poolOf('exporter'), 'api');
  assert.equal(poolOf('http_api+http_server'), 'shared');
  assert.equal(poolOf('rtmp'), 'main');
  assert.equal(poolOf('http_server'), 'main');
  assert.equal(new ConnectionRegistry(5).maxApiConnections, API_MAX_CONNECTIONS);
});
