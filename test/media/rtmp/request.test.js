'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { discoverRequest, resolveVhost, DEFAULT_VHOST } = require('../../../dist/media/rtmp/request');
const { RtmpError } = require('../../../dist/media/rtmp/error');

const pick = (r) => ({ host: r.host, port: r.port, vhost: r.vhost, app: r.app, stream: r.stream, param: r.param });

test('tcUrl and name split as SRS srs_discovery_tc_url does', () => {
  assert.deepStrictEqual(pick(discoverRequest('rtmp://127.0.0.1:1935/live', 'livestream')), { host: '127.0.0.1', port: 1935, vhost: '127.0.0.1', app: 'live', stream: 'livestream', param: '' });
  assert.deepStrictEqual(pick(discoverRequest('rtmp://example.com/live', 'livestream?token=1')), { host: 'example.com', port: 1935, vhost: 'example.com', app: 'live', stream: 'livestream', param: '?token=1' });
  assert.deepStrictEqual(pick(discoverRequest('rtmp://127.0.0.1/live?vhost=v.ossrs.net', 'livestream')), { host: '127.0.0.1', port: 1935, vhost: 'v.ossrs.net', app: 'live', stream: 'livestream', param: '?vhost=v.ossrs.net' });
  assert.deepStrictEqual(pick(discoverRequest('rtmp://127.0.0.1/live...vhost...v.ossrs.net', 'livestream')).vhost, 'v.ossrs.net');
  assert.deepStrictEqual(pick(discoverRequest('rtmp://127.0.0.1/live', 'livestream?domain=d.net&k=v')).vhost, 'd.net');
  assert.deepStrictEqual(pick(discoverRequest('rtmp://127.0.0.1:19350/a/b/_definst_', 's')), { host: '127.0.0.1', port: 19350, vhost: '127.0.0.1', app: 'a/b', stream: 's', param: '' });
  assert.strictEqual(discoverRequest('rtmp://127.0.0.1/live?vhost=__defaultVhost__', 's').param, '');
  assert.strictEqual(discoverRequest('rtmp://127.0.0.1', 's').app, '__defaultApp__');
  assert.throws(() => discoverRequest('not a url', 's'), RtmpError);
  assert.deepStrictEqual(pick(discoverRequest('rtmp://127.0.0.1/live/', 's')), { host: '127.0.0.1', port: 1935, vhost: '127.0.0.1', app: 'live', stream: 's', param: '' });
  assert.strictEqual(discoverRequest('rtmp://127.0.0.1/live', 'a%zz').stream, 'a%zz');
  assert.strictEqual(discoverRequest('rtmp://[::1]:1936/live', 's').host, '::1');
});

test('vhost resolution: configured names, else __defaultVhost__', () => {
  assert.strictEqual(resolveVhost('v.ossrs.net', ['__defaultVhost__', 'v.ossrs.net']), 'v.ossrs.net');
  assert.strictEqual(resolveVhost('127.0.0.1', ['__defaultVhost__', 'v.ossrs.net']), DEFAULT_VHOST);
  assert.strictEqual(resolveVhost('unknown.net', ['v.ossrs.net']), DEFAULT_VHOST);
});
