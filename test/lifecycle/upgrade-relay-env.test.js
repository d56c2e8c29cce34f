'use strict';
// The upgrade handover's relay address (SRS_UPGRADE_RELAY): read by the new process, cleared so
// its own children are not told.
const test = require('node:test');
const assert = require('node:assert/strict');
const { inheritedFromEnv, clearUpgradeEnv, RELAY_ENV } = require('../../dist/lifecycle/upgrade.js');

test('the relay address is read as host:port, anything else is no relay', () => {
  assert.equal(inheritedFromEnv({ [RELAY_ENV]: '127.0.0.1:40123' }).relay, '127.0.0.1:40123');
  assert.equal(inheritedFromEnv({ [RELAY_ENV]: '[::1]:40123' }).relay, '[::1]:40123');
  assert.equal(inheritedFromEnv({}).relay, null);
  for (const bad of ['', '127.0.0.1', 'a b:1', '127.0.0.1:x', '127.0.0.1:1;rm']) assert.equal(inheritedFromEnv({ [RELAY_ENV]: bad }).relay, null, JSON.stringify(bad));
});

test('clearUpgradeEnv removes the relay address with the rest of the handover', () => {
  const env = { [RELAY_ENV]: '127.0.0.1:1', SRS_UPGRADE_PARENT: '12', KEEP: 'x' };
  clearUpgradeEnv(env);
  assert.deepEqual(env, { KEEP: 'x' });
});
