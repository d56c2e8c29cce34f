'use strict';
// The media part of the config: vhosts with SRS's names, defaults and checks; the resolver a session
// asks (with SRS's __defaultVhost__ fallback); SRS's security decision (srs_app_security.cpp).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { loadConfig } = require('../../dist/config/load.js');
const { defaultConfig } = require('../../dist/config/schema.js');
const {
  mediaSettingsFor, checkSecurity, resolveVhost, parseOriginAddress, addressMatches, defaultVhostConfig, DEFAULT_VHOST,
} = require('../../dist/config/vhost.js');

function load(text, env = {}) {
  return loadConfig({ file: 'conf/srs.conf', env, cwd: '/v', readFile: () => text });
}
function config(text, env) {
  return load(text, env).config;
}
function bad(text, line, col, re) {
  assert.throws(() => load(text), (e) => {
    assert.equal(e.code, 'SRS_ERR_CONFIG_VALUE', e.message);
    assert.deepEqual(e.location, { file: 'conf/srs.conf', line, col });
    assert.match(e.message, re);
    assert.equal(e.exitCode, 3);
    return true;
  });
}

test('defaults are SRS\'s (srs_app_config.cpp getters, srs_core_performance.hpp)', () => {
  const c = config('listen 1935;\nvhost __defaultVhost__ { }\n');
  assert.equal(c.chunkSize, 60000);
  const s = mediaSettingsFor(c, 'any.host');
  assert.deepEqual(s, {
    vhost: '__defaultVhost__',
    refusal: null,
    chunkSize: 60000,
    gopCache: true,
    gopCacheMaxFrames: 2500,
    queueLengthMs: 30000,
    mwLatencyMs: 350,
    mwMsgs: 8,
    timeJitter: 'full',
    firstPktTimeoutMs: 20000,
    normalTimeoutMs: 5000,
    inAckSize: 0,
    outAckSize: 2500000,
    tcpNodelay: false,
    security: { enabled: false, rules: [] },
    httpRemux: { enabled: false, mount: '[vhost]/[app]/[stream].flv' },
    cluster: {
      mode: 'local', origins: [], tokenTraverse: false, vhost: '[vhost]', debugSrsUpnode: true, protocol: 'rtmp',
      followClient: false, originCluster: false, coworkers: [],
    },
  });
  assert.deepEqual(c.vhostConfigs, [defaultVhostConfig('__defaultVhost__')]);
});

test('chunk_size: SRS\'s range 128..65536, at the top level, in rtmp { } and in a vhost; the vhost\'s wins', () => {
  assert.equal(config('listen 1935;\nchunk_size 128;\n').chunkSize, 128);
  assert.equal(config('listen 1935;\nchunk_size 65536;\n').chunkSize, 65536);
  assert.equal(config('rtmp { listen 1935; chunk_size 4096; }\n').chunkSize, 4096);
  assert.equal(config('chunk_size 1000;\nrtmp { listen 1935; chunk_size 4096; }\n').chunkSize, 1000);
  for (const v of ['127', '65537', '-1', '0', 'abc', '1e3']) {
    bad(`listen 1935;\nchunk_size ${v};\n`, 2, 1, new RegExp(`^conf/srs\\.conf:2:1: chunk_size: "${v}" should be in \\[128, 65536\\]$`));
    bad(`listen 1935;\nvhost v {\n    chunk_size ${v};\n}\n`, 3, 5,
      new RegExp(`vhost\\.chunk_size \\(vhost "v"\\): "${v}" should be in \\[128, 65536\\]$`));
  }
  bad('listen 1935;\nchunk_size;\n', 2, 1, /chunk_size: takes exactly one value, got 0/);
  const c = config('listen 1935;\nchunk_size 4096;\nvhost a { chunk_size 128; }\nvhost __defaultVhost__;\n');
  assert.equal(mediaSettingsFor(c, 'a').chunkSize, 128);
  assert.equal(mediaSettingsFor(c, 'b').chunkSize, 4096);
  // SRS_CHUNK_SIZE (full.conf: "Overwrite by env SRS_CHUNK_SIZE"), checked the same way
  assert.equal(config('listen 1935;\n', { SRS_CHUNK_SIZE: '8192' }).chunkSize, 8192);
  assert.throws(() => load('listen 1935;\n', { SRS_CHUNK_SIZE: '127' }), /SRS_CHUNK_SIZE \(chunk_size\): "127" should be in \[128, 65536\]/);
});

test('vhost NAME; with no block is a vhost with every default, as SRS accepts it', () => {
  const c = config('listen 1935;\nvhost a;\nvhost __defaultVhost__;\n');
  assert.deepEqual(c.vhosts, ['a', '__defaultVhost__']);
  assert.deepEqual(c.vhostConfigs, [defaultVhostConfig('a'), defaultVhostConfig('__defaultVhost__')]);
  bad('listen 1935;\nvhost;\n', 2, 1, /vhost: must be "vhost NAME \{ \.\.\. \}" or "vhost NAME;", got 0 names/);
  bad('listen 1935;\nvhost a b { }\n', 2, 1, /got 2 names/);
});

test('the resolver: the named vhost, else __defaultVhost__; disabled or unknown refuses (SrsRtmpConn::check_vhost)', () => {
  const c = config(`listen 1935;
vhost __defaultVhost__ { play { gop_cache off; } }
vhost a { play { queue_length 10; } }
vhost off { enabled off; }
`);
  assert.equal(mediaSettingsFor(c, 'a').vhost, 'a');
  assert.equal(mediaSettingsFor(c, 'a').queueLengthMs, 10000);
  assert.equal(mediaSettingsFor(c, 'a').gopCache, true); // a vhost does not inherit from __defaultVhost__
  const other = mediaSettingsFor(c, '192.168.1.2');
  assert.equal(other.vhost, DEFAULT_VHOST);
  assert.equal(other.gopCache, false);
  // a disabled vhost is not skipped for the default one
  assert.deepEqual([mediaSettingsFor(c, 'off').vhost, mediaSettingsFor(c, 'off').refusal], [null, 'vhost off disabled']);
  const noDefault = config('listen 1935;\nchunk_size 4096;\nvhost a;\n');
  const s = mediaSettingsFor(noDefault, 'b');
  assert.deepEqual([s.vhost, s.refusal, s.chunkSize], [null, 'no vhost b', 4096]);
  const disabledDefault = config('listen 1935;\nvhost __defaultVhost__ { enabled off; }\n');
  assert.equal(resolveVhost(disabledDefault, 'x').reason, 'vhost __defaultVhost__ disabled');
  assert.equal(resolveVhost(defaultConfig(), 'x').reason, 'no vhost x');
  // the caller's copy cannot change the config
  const t = mediaSettingsFor(c, 'a');
  t.security.rules.push({ kind: 'deny', action: 'play', address: 'all' });
  assert.deepEqual(mediaSettingsFor(c, 'a').security.rules, []);
});

test('play { }: gop_cache, gop_cache_max_frames, queue_length (s), mw_latency, mw_msgs (at most 128), time_jitter', () => {
  const s = mediaSettingsFor(config(`listen 1935;
vhost v { play { gop_cache off; gop_cache_max_frames 100; queue_length 10; mw_latency 100; mw_msgs 4; time_jitter zero; } }
`), 'v');
  assert.deepEqual([s.gopCache, s.gopCacheMaxFrames, s.queueLengthMs, s.mwLatencyMs, s.mwMsgs], [false, 100, 10000, 100, 4]);
  // min_latency on makes mw_msgs default to 0 (SRS_PERF_MW_MIN_MSGS_REALTIME); an explicit one wins
  assert.equal(mediaSettingsFor(config('listen 1935;\nvhost v { min_latency on; }\n'), 'v').mwMsgs, 0);
  assert.equal(mediaSettingsFor(config('listen 1935;\nvhost v { min_latency on; play { mw_msgs 3; } }\n'), 'v').mwMsgs, 3);
  const r = load('listen 1935;\nvhost v {\n  play { mw_msgs 500; }\n}\n');
  assert.equal(mediaSettingsFor(r.config, 'v').mwMsgs, 128);
  assert.deepEqual(r.warnings.map((w) => [w.code, w.location.line, w.location.col]), [['SRS_WARN_CONFIG_CLAMPED', 3, 10]]);
  assert.match(r.warnings[0].message, /reset mw_msgs 500 to max 128/);
  bad('listen 1935;\nvhost v {\n  play {\n    gop_cache yes;\n  }\n}\n', 4, 5, /vhost\.play\.gop_cache \(vhost "v"\): "yes" is not on or off/);
  bad('listen 1935;\nvhost v { play { queue_length -1; } }\n', 2, 18, /vhost\.play\.queue_length \(vhost "v"\): "-1" is not an integer >= 0 \(s\)/);
  bad('listen 1935;\nvhost v { play { mw_latency x; } }\n', 2, 18, /"x" is not an integer >= 0 \(ms\)/);
  bad('listen 1935;\nvhost v { play { time_jitter on; } }\n', 2, 18, /vhost\.play\.time_jitter \(vhost "v"\): "on" is not one of full, zero, off/);
  bad('listen 1935;\nvhost v { play on; }\n', 2, 11, /vhost\.play \(vhost "v"\): must be a block "play \{ \.\.\. \}"/);
  bad('listen 1935;\nvhost v { play { gop_cache { } } }\n', 2, 18, /takes values, not a block/);
});

test('the older vhost-level spellings are honoured and win over play { }, the last one first (srs_config_transform_vhost)', () => {
  const c = config(`listen 1935;
vhost v {
  play { gop_cache on; queue_length 10; mw_latency 100; }
  gop_cache off;
  queue_length 20;
  queue_length 25;
  gop_cache_max_frames 7;
}
vhost w { mw_latency 1; publish_1stpkt_timeout 3000; publish_normal_timeout 4000; publish { normal_timeout 9; } }
`);
  const v = mediaSettingsFor(c, 'v');
  assert.deepEqual([v.gopCache, v.queueLengthMs, v.mwLatencyMs, v.gopCacheMaxFrames], [false, 25000, 100, 7]);
  const w = mediaSettingsFor(c, 'w');
  assert.deepEqual([w.mwLatencyMs, w.firstPktTimeoutMs, w.normalTimeoutMs], [1, 3000, 4000]);
  bad('listen 1935;\nvhost v {\n gop_cache maybe;\n}\n', 3, 2, /vhost\.gop_cache \(vhost "v"\): "maybe" is not on or off/);
});

test('publish { firstpkt_timeout; normal_timeout; } in ms', () => {
  const s = mediaSettingsFor(config('listen 1935;\nvhost v { publish { firstpkt_timeout 1000; normal_timeout 700; mr off; } }\n'), 'v');
  assert.deepEqual([s.firstPktTimeoutMs, s.normalTimeoutMs], [1000, 700]);
  bad('listen 1935;\nvhost v { publish { normal_timeout 0; } }\n', 2, 21, /vhost\.publish\.normal_timeout \(vhost "v"\): "0" is not an integer >= 1 \(ms\)/);
});

test('duplicates in a vhost: the first wins, with a warning', () => {
  const r = load('listen 1935;\nvhost v {\n  play { gop_cache off; gop_cache on; }\n  play { queue_length 1; }\n}\n');
  const s = mediaSettingsFor(r.config, 'v');
  assert.deepEqual([s.gopCache, s.queueLengthMs], [false, 30000]);
  assert.deepEqual(r.warnings.map((w) => [w.code, w.location.line]), [['SRS_WARN_CONFIG_DUPLICATE', 4], ['SRS_WARN_CONFIG_DUPLICATE', 3]]);
});

test('security { }: rules kept in order, actions and addresses checked', () => {
  const c = config(`listen 1935;
vhost v {
  security {
    enabled on;
    allow play all;
    deny publish 10.0.0.0/8;
    allow publish 127.0.0.1;
    allow play ::1;
    deny play fd00::/8;
  }
}
`);
  assert.deepEqual(mediaSettingsFor(c, 'v').security, {
    enabled: true,
    rules: [
      { kind: 'allow', action: 'play', address: 'all' },
      { kind: 'deny', action: 'publish', address: '10.0.0.0/8' },
      { kind: 'allow', action: 'publish', address: '127.0.0.1' },
      { kind: 'allow', action: 'play', address: '::1' },
      { kind: 'deny', action: 'play', address: 'fd00::/8' },
    ],
  });
  const at = (rule) => `listen 1935;\nvhost v {\n  security {\n    ${rule};\n  }\n}\n`;
  bad(at('allow view all'), 4, 5, /vhost\.security\.allow \(vhost "v"\): "view" is not publish or play/);
  bad(at('deny publish everyone'), 4, 5, /vhost\.security\.deny \(vhost "v"\): "everyone" is not all, an IPv4\/IPv6 address or a CIDR/);
  bad(at('deny publish 10.0.0.0/33'), 4, 5, /"10\.0\.0\.0\/33" is not all/);
  bad(at('deny publish 300.1.1.1'), 4, 5, /"300\.1\.1\.1" is not all/);
  bad(at('allow publish'), 4, 5, /must be "allow publish\|play all\|IP\|CIDR", got 1 value$/);
  bad(at('allow publish 1.1.1.1 2.2.2.2'), 4, 5, /got 3 values/);
  bad(at('enabled maybe'), 4, 5, /vhost\.security\.enabled \(vhost "v"\): "maybe" is not on or off/);
});

test('an allow rule that a deny rule always beats is warned about (SRS checks deny first)', () => {
  const r = load(`listen 1935;
vhost v {
  security {
    enabled on;
    allow publish 127.0.0.1;
    deny publish all;
    allow play 10.1.2.3;
    deny play 10.0.0.0/8;
    allow play 192.168.0.0/16;
    deny play 192.168.1.0/24;
    allow publish ::1;
  }
}
`);
  assert.deepEqual(r.warnings.map((w) => [w.code, w.location.line]), [['SRS_WARN_CONFIG_SHADOWED', 5], ['SRS_WARN_CONFIG_SHADOWED', 7], ['SRS_WARN_CONFIG_SHADOWED', 11]]);
  assert.match(r.warnings[0].message,
    /"allow publish 127\.0\.0\.1" never admits anyone: SRS checks deny rules first, whatever their order, and "deny publish all" \(conf\/srs\.conf:6\)/);
  // the example, as SRS decides it: 127.0.0.1 is refused too
  const sec = mediaSettingsFor(r.config, 'v').security;
  assert.deepEqual(checkSecurity(sec, 'publish', '127.0.0.1'), { allowed: false, reason: 'deny by rule<all>', code: 'SecurityDeny' });
});

// SRS's own table (srs_utest_app.cpp AppSecurity.CheckSecurity), as [rules, action, ip, allowed].
const R = (kind, action, address) => ({ kind, action, address });
const TABLE = [
  // deny if no rules, or none of them is allow/deny
  [[], 'play', '1.2.3.4', false, 'not allowed by any of 0/0 rules'],
  // deny by rule
  [[R('deny', 'play', 'all')], 'play', '', false, 'deny by rule<all>'],
  [[R('deny', 'play', '12.13.14.15')], 'play', '12.13.14.15', false, 'deny by rule<12.13.14.15>'],
  [[R('deny', 'play', '11.12.13.14'), R('deny', 'play', '12.13.14.15')], 'play', '12.13.14.15', false],
  [[R('deny', 'publish', '12.13.14.15')], 'publish', '12.13.14.15', false],
  [[R('deny', 'publish', 'all')], 'publish', '11.12.13.14', false],
  // allowed if not denied
  [[R('deny', 'play', 'all')], 'publish', '12.13.14.15', true, 'not denied by any of 1 rules'],
  [[R('deny', 'play', '12.13.14.15')], 'publish', '12.13.14.15', true],
  [[R('deny', 'play', '12.13.14.15')], 'play', '11.12.13.14', true],
  [[R('deny', 'publish', '12.13.14.15')], 'play', '12.13.14.15', true],
  [[R('deny', 'publish', '12.13.14.15')], 'publish', '11.12.13.14', true],
  // allowed by rule
  [[R('allow', 'play', '12.13.14.15')], 'play', '12.13.14.15', true, 'allow by rule<12.13.14.15>'],
  [[R('allow', 'play', 'all')], 'play', '12.13.14.15', true, 'allow by rule<all>'],
  [[R('allow', 'publish', 'all')], 'publish', '12.13.14.15', true],
  [[R('allow', 'publish', '12.13.14.15')], 'publish', '12.13.14.15', true],
  // denied if not allowed: any allow rule, of either action, makes the default deny
  [[R('allow', 'play', '11.12.13.14')], 'publish', '12.13.14.15', false, 'not allowed by any of 1/0 rules'],
  [[R('allow', 'play', '11.12.13.14')], 'play', '12.13.14.15', false],
  [[R('allow', 'publish', '12.13.14.15')], 'play', '12.13.14.15', false],
  [[R('allow', 'publish', '11.12.13.14')], 'publish', '12.13.14.15', false],
  // deny wins over allow whatever the order
  [[R('allow', 'play', 'all'), R('deny', 'play', '1.2.3.4')], 'play', '1.2.3.4', false, 'deny by rule<1.2.3.4>'],
  [[R('allow', 'play', 'all'), R('deny', 'play', '1.2.3.4')], 'play', '1.2.3.5', true],
  [[R('deny', 'publish', 'all'), R('allow', 'play', 'all')], 'play', '1.2.3.4', true],
  [[R('deny', 'publish', 'all'), R('allow', 'play', 'all')], 'publish', '127.0.0.1', false],
  [[R('allow', 'publish', '127.0.0.1'), R('deny', 'play', 'all')], 'publish', '10.0.0.1', false, 'not allowed by any of 1/1 rules'],
  // "only this host may publish, everyone may play", in SRS's semantics: allow rules alone
  [[R('allow', 'publish', '127.0.0.1'), R('allow', 'play', 'all')], 'publish', '127.0.0.1', true],
  [[R('allow', 'publish', '127.0.0.1'), R('allow', 'play', 'all')], 'publish', '10.0.0.1', false, 'not allowed by any of 2/0 rules'],
  [[R('allow', 'publish', '127.0.0.1'), R('allow', 'play', 'all')], 'play', '10.0.0.1', true],
  // CIDR, IPv4 as in SRS; IPv6 and IPv4-mapped addresses (what a dual-stack socket reports) here too
  [[R('deny', 'publish', '10.0.0.0/8')], 'publish', '10.200.3.4', false],
  [[R('deny', 'publish', '10.0.0.0/8')], 'publish', '11.0.0.1', true],
  [[R('allow', 'play', '192.168.1.0/24')], 'play', '192.168.1.77', true],
  [[R('allow', 'play', '192.168.1.0/24')], 'play', '192.168.2.1', false],
  [[R('allow', 'play', '127.0.0.1')], 'play', '::ffff:127.0.0.1', true],
  [[R('allow', 'play', '10.0.0.0/8')], 'play', '::ffff:10.9.9.9', true],
  [[R('allow', 'play', '::1')], 'play', '0:0:0:0:0:0:0:1', true],
  [[R('allow', 'play', 'fd00::/8')], 'play', 'fd12:3456::1', true],
  [[R('allow', 'play', 'fd00::/8')], 'play', 'fe80::1', false],
  [[R('allow', 'play', '::ffff:10.0.0.0/104')], 'play', '10.1.1.1', true],
  [[R('allow', 'play', '1.2.3.4')], 'play', '::1', false],
];

test('the security decision table (SRS\'s utest cases and more)', () => {
  for (const [rules, action, ip, allowed, reason] of TABLE) {
    const d = checkSecurity({ enabled: true, rules }, action, ip);
    const what = `${JSON.stringify(rules)} ${action} ${ip}`;
    assert.equal(d.allowed, allowed, what);
    if (reason) assert.equal(d.reason, reason, what);
    if (!allowed) assert.equal(d.code, d.reason.startsWith('deny by') ? 'SecurityDeny' : 'SecurityAllow', what);
    else assert.equal(d.code, undefined, what);
  }
  // disabled: everyone, whatever the rules
  assert.deepEqual(checkSecurity({ enabled: false, rules: [R('deny', 'play', 'all')] }, 'play', '1.1.1.1'), { allowed: true, reason: 'security disabled' });
});

test('a CIDR matches exactly the addresses that share its prefix (property)', () => {
  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
  fc.assert(fc.property(ipv4, ipv4, fc.integer({ min: 0, max: 32 }), (a, b, prefix) => {
    const num = (x) => ((x[0] << 24) >>> 0) + (x[1] << 16) + (x[2] << 8) + x[3];
    const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
    const expected = ((num(a) & mask) >>> 0) === ((num(b) & mask) >>> 0);
    return addressMatches(`${a.join('.')}/${prefix}`, b.join('.')) === expected;
  }), { numRuns: 500 });
});

test('http_remux { enabled; mount; }: HTTP-FLV mounts; others parse, warn and stay off', () => {
  const c = config('listen 1935;\nvhost v { http_remux { enabled on; mount [vhost]/[app]/[stream].flv; } }\n');
  assert.deepEqual(mediaSettingsFor(c, 'v').httpRemux, { enabled: true, mount: '[vhost]/[app]/[stream].flv' });
  const r = load('listen 1935;\nvhost v {\n  http_remux {\n    enabled on;\n    mount [vhost]/[app]/[stream].ts;\n  }\n}\n');
  assert.deepEqual(mediaSettingsFor(r.config, 'v').httpRemux, { enabled: false, mount: '[vhost]/[app]/[stream].ts' });
  assert.deepEqual(r.warnings.map((w) => [w.code, w.location.line]), [['SRS_WARN_CONFIG_UNSUPPORTED', 5]]);
  assert.match(r.warnings[0].message, /not an HTTP-FLV mount/);
  bad('listen 1935;\nvhost v { http_remux { enabled yes; } }\n', 2, 24, /vhost\.http_remux\.enabled \(vhost "v"\): "yes" is not on or off/);
  bad('listen 1935;\nvhost v { http_remux { mount; } }\n', 2, 24, /vhost\.http_remux\.mount \(vhost "v"\): takes exactly one value, got 0/);
});

test('cluster { mode; origin ...; } and the edge knobs; origins in order, port 1935 by default', () => {
  const c = config(`listen 1935;
vhost edge {
  cluster {
    mode remote;
    origin 127.0.0.1:19350 localhost [::1]:19351 [::1] origin.example.com:1936;
    token_traverse on;
    vhost origin.vhost;
    debug_srs_upnode off;
    protocol flv;
    follow_client on;
  }
}
vhost legacy { mode remote; origin 10.0.0.1:1935 10.0.0.2; token_traverse on; }
`);
  const e = mediaSettingsFor(c, 'edge').cluster;
  assert.equal(e.mode, 'remote');
  assert.deepEqual(e.origins.map((o) => o.text), ['127.0.0.1:19350', 'localhost:1935', '[::1]:19351', '[::1]:1935', 'origin.example.com:1936']);
  assert.deepEqual(e.origins[2], { host: '::1', port: 19351, text: '[::1]:19351' });
  assert.deepEqual([e.tokenTraverse, e.vhost, e.debugSrsUpnode, e.protocol, e.followClient], [true, 'origin.vhost', false, 'flv', true]);
  const l = mediaSettingsFor(c, 'legacy').cluster;
  assert.deepEqual([l.mode, l.origins.map((o) => o.text), l.tokenTraverse], ['remote', ['10.0.0.1:1935', '10.0.0.2:1935'], true]);
  const at = (inner) => `listen 1935;\nvhost v {\n  cluster {\n    ${inner}\n  }\n}\n`;
  bad(at('mode edge;'), 4, 5, /vhost\.cluster\.mode \(vhost "v"\): "edge" is not one of local, remote/);
  bad(at('mode remote; origin 127.0.0.1:0;'), 4, 18, /vhost\.cluster\.origin \(vhost "v"\): "127\.0\.0\.1:0" is not HOST\[:PORT\]/);
  bad(at('mode remote; origin a:b;'), 4, 18, /"a:b" is not HOST\[:PORT\]/);
  bad(at('mode remote; origin;'), 4, 18, /requires at least one "HOST\[:PORT\]"/);
  bad(at('mode remote;'), 4, 5, /vhost\.cluster\.origin \(vhost "v"\): mode remote \(an edge\) needs "origin HOST\[:PORT\] \.\.\.;"/);
  bad(at('protocol srt;'), 4, 5, /"srt" is not one of rtmp, flv, flvs/);
  assert.equal(parseOriginAddress('[::1]:70000'), null);
  assert.equal(parseOriginAddress('[zz]:1935'), null);
  assert.equal(parseOriginAddress('bad host'), null);
});

test('vhost-level values are checked at their directive, with the vhost named', () => {
  bad('listen 1935;\nvhost v {\n  enabled maybe;\n}\n', 3, 3, /^conf\/srs\.conf:3:3: vhost\.enabled \(vhost "v"\): "maybe" is not on or off$/);
  bad('listen 1935;\nvhost v { out_ack_size -1; }\n', 2, 11, /vhost\.out_ack_size \(vhost "v"\): "-1" should be in \[0, 4294967295\] \(bytes\)/);
  bad('listen 1935;\nvhost v { tcp_nodelay 1; }\n', 2, 11, /vhost\.tcp_nodelay \(vhost "v"\): "1" is not on or off/);
});

test('SRS_VHOST_* variables override every vhost, as SRS\'s getters read them first', () => {
  const { applyVhostEnvOverrides, VHOST_ENV_VARIABLES } = require('../../dist/config/vhost.js');
  const c = config('listen 1935;\nvhost a { play { gop_cache on; mw_msgs 2; } }\nvhost __defaultVhost__;\n');
  const applied = applyVhostEnvOverrides(c, {
    SRS_VHOST_PLAY_GOP_CACHE: 'off', SRS_VHOST_PLAY_QUEUE_LENGTH: ' 5 ', SRS_VHOST_CHUNK_SIZE: '4096', SRS_VHOST_MIN_LATENCY: 'on',
    SRS_VHOST_HTTP_REMUX_ENABLED: 'on', SRS_VHOST_HTTP_REMUX_MOUNT: '[vhost]/[app]/[stream].flv', SRS_VHOST_PLAY_MW_LATENCY: '',
    HOME: '/root',
  });
  assert.deepEqual(applied.map((o) => o.variable), [
    'SRS_VHOST_CHUNK_SIZE', 'SRS_VHOST_MIN_LATENCY', 'SRS_VHOST_PLAY_GOP_CACHE', 'SRS_VHOST_PLAY_QUEUE_LENGTH',
    'SRS_VHOST_HTTP_REMUX_ENABLED', 'SRS_VHOST_HTTP_REMUX_MOUNT',
  ]);
  assert.deepEqual(applied[3], { variable: 'SRS_VHOST_PLAY_QUEUE_LENGTH', path: 'vhost.play.queue_length', value: ' 5 ' });
  for (const name of ['a', 'other']) {
    const s = mediaSettingsFor(c, name);
    assert.deepEqual([s.gopCache, s.queueLengthMs, s.chunkSize, s.httpRemux.enabled, s.mwLatencyMs], [false, 5000, 4096, true, 350], name);
  }
  // min_latency from the environment lowers the default mw_msgs, not an explicit one
  assert.deepEqual([mediaSettingsFor(c, 'a').mwMsgs, mediaSettingsFor(c, 'other').mwMsgs], [2, 0]);
  assert.equal(c.chunkSize, 4096);
  for (const [variable, value, re] of [
    ['SRS_VHOST_CHUNK_SIZE', '127', /SRS_VHOST_CHUNK_SIZE \(vhost\.chunk_size\): "127" should be in \[128, 65536\]/],
    ['SRS_VHOST_PLAY_GOP_CACHE', 'yes', /SRS_VHOST_PLAY_GOP_CACHE \(vhost\.play\.gop_cache\): "yes" is not on or off/],
    ['SRS_VHOST_PLAY_TIME_JITTER', 'on', /"on" is not one of full, zero, off/],
    ['SRS_VHOST_PLAY_MW_MSGS', '129', /"129" should be in \[0, 128\]/],
  ]) {
    // checked even with no vhost to apply it to
    assert.throws(() => applyVhostEnvOverrides(defaultConfig(), { [variable]: value }), (e) => e.code === 'SRS_ERR_CONFIG_VALUE' && re.test(e.message), variable);
  }
  assert.ok(VHOST_ENV_VARIABLES.every((v) => v.startsWith('SRS_VHOST_')));
});

test('srs -e: the environment-only config has __defaultVhost__, as SRS adds it', () => {
  const { envOnlyConfig } = require('../../dist/config/schema.js');
  const c = envOnlyConfig();
  assert.deepEqual(c.vhosts, ['__defaultVhost__']);
  assert.equal(mediaSettingsFor(c, 'any').vhost, '__defaultVhost__');
  assert.deepEqual(defaultConfig().vhosts, []); // a file without a vhost has none, as in SRS
});
