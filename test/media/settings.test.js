'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { parseText } = require('../../dist/config/grammar');
const { mediaSettings } = require('../../dist/media/settings');

const vhost = (text) => parseText(text, 'test.conf').find((d) => d.name === 'vhost');

test('SRS defaults for a vhost with no block or no play block', () => {
  const d = { gopCache: true, queueLengthMs: 30_000, queueMaxBytes: 16 * 1024 * 1024, mwLatencyMs: 350, mwMsgs: 8 };
  assert.deepStrictEqual(mediaSettings(null), d);
  assert.deepStrictEqual(mediaSettings(vhost('vhost __defaultVhost__;')), d);
  assert.deepStrictEqual(mediaSettings(vhost('vhost v { play { } }')), d);
});

test('play { } directives, the older vhost-level gop_cache, and SRS caps', () => {
  const s = mediaSettings(vhost('vhost v { play { gop_cache off; queue_length 10; mw_latency 100; mw_msgs 500; } }'), 1024);
  assert.deepStrictEqual(s, { gopCache: false, queueLengthMs: 10_000, queueMaxBytes: 1024, mwLatencyMs: 100, mwMsgs: 128 });
  assert.strictEqual(mediaSettings(vhost('vhost v { gop_cache off; }')).gopCache, false);
  assert.strictEqual(mediaSettings(vhost('vhost v { gop_cache off; play { gop_cache on; } }')).gopCache, true, 'play { } wins');
  assert.strictEqual(mediaSettings(vhost('vhost v { play { gop_cache whatever; } }')).gopCache, true, 'SRS_CONF_PREFER_TRUE');
});
