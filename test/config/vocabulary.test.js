'use strict';
// Unknown vs unsupported directives, per block (the vocabulary generated from SRS's full.conf).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { loadConfig } = require('../../dist/config/load.js');
const { SRS_VOCABULARY, FREE_FORM_BLOCKS } = require('../../dist/config/vocabulary.js');

function load(text, file = 'conf/x.conf') {
  return loadConfig({ file, env: {}, cwd: '/v', readFile: () => text });
}
function unknown(text, line, col, re) {
  assert.throws(() => load(text), (e) => {
    assert.equal(e.code, 'SRS_ERR_CONFIG_UNKNOWN');
    assert.deepEqual(e.location, { file: 'conf/x.conf', line, col });
    assert.match(e.message, re);
    return true;
  });
}

test('a typo is an error naming the nearest valid name of that block', () => {
  assert.throws(() => load('listen 1935;\nmax_connections 10;\nlistne 1935;\n'), (e) => {
    assert.equal(e.message, 'conf/x.conf:3:1: unknown directive "listne" in the top level; did you mean "listen"?');
    assert.equal(e.exitCode, 3);
    return true;
  });
  unknown('listen 1935;\nhttp_api {\n    enabeld on;\n}\n', 3, 5, /"enabeld" in block "http_api"; did you mean "enabled"/);
  unknown('listen 1935;\nvhost v {\n  hls {\n    hls_fragmnt 10;\n  }\n}\n', 4, 5, /did you mean "hls_fragment"/);
});

test('the vocabulary is per block: a name valid elsewhere is unknown here', () => {
  // hls_fragment belongs in vhost { hls { } }, not in vhost { }
  unknown('listen 1935;\nvhost v {\n  hls_fragment 10;\n}\n', 3, 3, /"hls_fragment" in block "vhost"/);
  // dir belongs in http_server, not in http_api
  unknown('listen 1935;\nhttp_api {\n  dir ./x;\n}\n', 3, 3, /"dir" in block "http_api"/);
  // mount belongs in vhost.http_remux, not at the top level
  unknown('listen 1935;\nmount x;\n', 2, 1, /in the top level/);
  // gop_cache is in vhost.play (and a legacy name directly in vhost), never in vhost.dvr
  unknown('listen 1935;\nvhost v {\n  dvr {\n    gop_cache on;\n  }\n}\n', 4, 5, /"gop_cache" in block "vhost.dvr"/);
  assert.ok(SRS_VOCABULARY['vhost.play'].includes('time_jitter'));
  assert.ok(SRS_VOCABULARY['vhost.dvr'].includes('time_jitter'));
  assert.ok(!SRS_VOCABULARY['vhost.dvr'].includes('gop_cache'));
  assert.ok(!SRS_VOCABULARY[''].includes('hls_fragment'));
});

test('far from everything: no "did you mean", but still the nearest name', () => {
  unknown('worker_processes 3;\nlisten 1935;\n', 1, 1, /SRS knows no such directive there \(nearest: "/);
});

test('known to SRS but unsupported by srs: one warning with its location, then ignored', () => {
  const r = load('listen 1935;\nff_log_dir ./objs;\nrtc_server {\n  enabled on;\n  candidate $CANDIDATE;\n}\nvhost v {\n  hls { enabled on; }\n}\n');
  assert.deepEqual(
    r.warnings.map((w) => [w.code, w.location.line, w.location.col]),
    [['SRS_WARN_CONFIG_UNSUPPORTED', 2, 1], ['SRS_WARN_CONFIG_UNSUPPORTED', 3, 1], ['SRS_WARN_CONFIG_UNSUPPORTED', 8, 3]],
  );
  assert.match(r.warnings[0].message, /"ff_log_dir" is an SRS directive srs does not implement/);
  assert.match(r.warnings[2].message, /"vhost\.hls" is an SRS directive srs does not implement/);
  assert.deepEqual(r.config.vhosts, ['v']);
});

test('an unknown name inside an unsupported block is still an error', () => {
  unknown('listen 1935;\nrtc_server {\n  enabeld on;\n}\n', 3, 3, /did you mean "enabled"/);
});

test('free-form blocks (ffmpeg parameters) accept any name', () => {
  assert.ok(FREE_FORM_BLOCKS.includes('vhost.transcode.engine.vparams'));
  const r = load('listen 1935;\nvhost v {\n transcode {\n  engine e {\n   vparams {\n    g 30;\n    x264opts keyint=1;\n   }\n   perfile { re; }\n  }\n }\n}\n');
  assert.equal(r.warnings.length, 1);
});

test('srs\'s own directives: srs_log_format and grace_max_wait', () => {
  const r = load('listen 1935;\nsrs_log_format json;\ngrace_max_wait 30000;\n');
  assert.equal(r.warnings.length, 0);
  assert.equal(r.config.logFormat, 'json');
  assert.equal(r.config.graceMaxWait, 30000);
});

test('legacy names SRS rewrites on load are known (compatible.conf)', () => {
  const r = load('listen 1935;\nhttp_stream {\n enabled on;\n listen 8081;\n}\nvhost v {\n  gop_cache off;\n  refer_play a.com;\n}\n');
  assert.equal(r.config.httpServer.enabled, true);
  assert.equal(r.config.httpServer.listen.port, 8081);
  // gop_cache (now vhost.play.gop_cache) is implemented; refer_play is not
  assert.deepEqual(r.warnings.map((w) => [w.code, w.location.line]), [['SRS_WARN_CONFIG_UNSUPPORTED', 8]]);
  assert.match(r.warnings[0].message, /"vhost\.refer_play"/);
  assert.equal(r.config.vhostConfigs[0].play.gopCache, false);
});

test('the media directives srs implements are not warned about; the parsed-only ones and their neighbours are', () => {
  const r = load(`listen 1935;
chunk_size 4096;
vhost v {
  enabled on; chunk_size 128;
  play { gop_cache off; gop_cache_max_frames 10; queue_length 10; mw_latency 100; mw_msgs 4; }
  gop_cache on; queue_length 5; mw_latency 1; gop_cache_max_frames 3;
  publish { firstpkt_timeout 1; normal_timeout 2; }
  publish_1stpkt_timeout 3; publish_normal_timeout 4;
  security { enabled on; allow play all; deny publish 10.0.0.0/8; }
  http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }
  cluster { mode remote; origin 127.0.0.1:19350; }
}
vhost w { mode remote; origin 127.0.0.1; }
`);
  assert.deepEqual(r.warnings, []);
  const p = load('listen 1935;\nvhost v {\n  play { time_jitter zero; atc on; }\n  cluster { token_traverse on; }\n  min_latency on;\n}\n');
  assert.deepEqual(
    p.warnings.map((w) => [w.code, w.location.line, w.message.match(/"([^"]+)" is an SRS directive/)[1]]),
    // time_jitter is implemented (media/jitter.ts): only its neighbour atc is warned about
    [['SRS_WARN_CONFIG_UNSUPPORTED', 3, 'vhost.play.atc'], ['SRS_WARN_CONFIG_UNSUPPORTED', 4, 'vhost.cluster.token_traverse'],
      ['SRS_WARN_CONFIG_UNSUPPORTED', 5, 'vhost.min_latency']],
  );
  // parsed (and validated) all the same
  assert.equal(p.config.vhostConfigs[0].play.timeJitter, 'zero');
  assert.equal(p.config.vhostConfigs[0].cluster.tokenTraverse, true);
});

test('the implemented vhost paths are all in SRS\'s vocabulary', () => {
  const { VHOST_IMPLEMENTED, VHOST_PARSED_ONLY } = require('../../dist/config/vhost.js');
  for (const p of [...VHOST_IMPLEMENTED, ...VHOST_PARSED_ONLY]) {
    const i = p.lastIndexOf('.');
    const block = i < 0 ? '' : p.slice(0, i);
    assert.ok(SRS_VOCABULARY[block] && SRS_VOCABULARY[block].includes(p.slice(i + 1)), p);
  }
});
