'use strict';
// Values: defaults, on/off, ports, levels, arg counts, duplicates, cross checks.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { loadConfig } = require('../../dist/config/load.js');
const { DEFAULTS, parseListenAddress } = require('../../dist/config/schema.js');

function load(text, file = 'conf/srs.conf') {
  return loadConfig({ file, env: {}, cwd: '/v', readFile: () => text });
}
function bad(text, line, col, re, code = 'SRS_ERR_CONFIG_VALUE') {
  assert.throws(() => load(text), (e) => {
    assert.equal(e.code, code);
    assert.deepEqual(e.location, { file: 'conf/srs.conf', line, col });
    assert.match(e.message, re);
    return true;
  });
}

test('defaults are SRS\'s', () => {
  const c = load('listen 1935;\n').config;
  assert.deepEqual(c, DEFAULTS);
  assert.equal(c.daemon, true);
  assert.equal(c.logTank, 'file');
  assert.equal(c.pid, './objs/srs.pid');
  assert.equal(c.graceStartWait, 2300);
  assert.equal(c.graceFinalWait, 3200);
  assert.equal(c.httpApi.listen.port, 1985);
  assert.equal(c.httpServer.listen.port, 8080);
  assert.equal(c.httpServer.dir, './objs/nginx/html');
  assert.equal(c.chunkSize, 60000);
  assert.deepEqual(c.vhostConfigs, []);
});

test('every field from the file', () => {
  const c = load(`listen 1935 127.0.0.1:19350 [::1]:1936;
max_connections 5; daemon off; disable_daemon_for_docker off; in_docker on; pid a.pid;
srs_log_tank console; srs_log_file a.log; srs_log_level warn; srs_log_format json; work_dir /tmp;
asprocess on; grace_start_wait 0; grace_final_wait 1; grace_max_wait 2; force_grace_quit on;
inotify_auto_reload on; auto_reload_for_docker off;
http_api { enabled on; listen 0.0.0.0:1986; raw_api { enabled on; allow_reload on; }
  auth { enabled on; username u; password 'p w'; } }
http_server { enabled on; listen 8081; dir html; }
chunk_size 4096;
vhost a { } vhost b { play { gop_cache off; } }
`).config;
  assert.deepEqual(c.listen.map((l) => l.text), ['1935', '127.0.0.1:19350', '[::1]:1936']);
  assert.deepEqual(c.listen[2], { host: '::1', port: 1936, text: '[::1]:1936' });
  assert.equal(c.maxConnections, 5);
  assert.equal(c.daemon, false);
  assert.equal(c.inDocker, true);
  assert.equal(c.logLevel, 'warn');
  assert.equal(c.logFormat, 'json');
  assert.equal(c.asprocess, true);
  assert.equal(c.graceMaxWait, 2);
  assert.deepEqual(c.httpApi, {
    enabled: true,
    listen: { host: '0.0.0.0', port: 1986, text: '0.0.0.0:1986' },
    crossdomain: true,
    rawApi: { enabled: true, allowReload: true },
    auth: { enabled: true, username: 'u', password: 'p w' },
  });
  assert.deepEqual(c.httpServer, { enabled: true, listen: { host: null, port: 8081, text: '8081' }, dir: 'html' });
  assert.deepEqual(c.vhosts, ['a', 'b']);
  assert.equal(c.chunkSize, 4096);
  assert.deepEqual(c.vhostConfigs.map((v) => [v.name, v.play.gopCache]), [['a', true], ['b', false]]);
});

test('listen addresses', () => {
  assert.equal(parseListenAddress('0'), null);
  assert.equal(parseListenAddress('65536'), null);
  assert.equal(parseListenAddress('abc'), null);
  assert.equal(parseListenAddress('1.2.3:80'), null);
  assert.equal(parseListenAddress('::1:80'), null);
  assert.equal(parseListenAddress('[::1]:80').text, '[::1]:80');
  assert.equal(parseListenAddress('65535').port, 65535);
});

test('bad values name the directive path and point at it', () => {
  bad('listen 1935;\nhttp_api {\n    enabled on;\n    listen abc;\n}\n', 4, 5, /^conf\/srs\.conf:4:5: http_api\.listen: "abc" is not a port \(1-65535\)/);
  bad('listen 1935 70000;\n', 1, 1, /listen: "70000" is not a port/);
  bad('listen 1935;\ndaemon yes;\n', 2, 1, /daemon: "yes" is not on or off/);
  bad('listen 1935;\nmax_connections 0;\n', 2, 1, /max_connections: "0" is not an integer >= 1/);
  bad('listen 1935;\ngrace_start_wait -1;\n', 2, 1, /grace_start_wait: "-1" is not an integer >= 0 \(ms\)/);
  // SRS's range for the RTMP chunk size (srs_kernel_consts.hpp), at the top level and in a vhost
  bad('listen 1935;\nchunk_size 127;\n', 2, 1, /chunk_size: "127" should be in \[128, 65536\]/);
  bad('listen 1935;\nchunk_size 65537;\n', 2, 1, /chunk_size: "65537" should be in \[128, 65536\]/);
  bad('listen 1935;\nchunk_size -1;\n', 2, 1, /chunk_size: "-1" should be in \[128, 65536\]/);
  bad('listen 1935;\nvhost v {\n  chunk_size 127;\n}\n', 3, 3, /vhost\.chunk_size \(vhost "v"\): "127" should be in \[128, 65536\]/);
  bad('listen 1935;\nsrs_log_tank syslog;\n', 2, 1, /srs_log_tank: "syslog" is not one of console, file/);
});

test('an unknown log level is an error listing the valid ones (SRS turns logging off)', () => {
  bad('listen 1935;\nsrs_log_level debug;\n', 2, 1, /srs_log_level: "debug" is not one of verbose, info, trace, warn, error/);
});

test('wrong argument counts and shapes', () => {
  bad('listen 1935;\ndaemon;\n', 2, 1, /daemon: takes exactly one value, got 0/);
  bad('listen 1935;\npid a b;\n', 2, 1, /pid: takes exactly one value, got 2/);
  bad('listen;\n', 1, 1, /listen: requires at least one/);
  bad('listen 1935;\ndaemon on { }\n', 2, 1, /daemon: takes values, not a block/);
  bad('listen 1935;\nhttp_api on;\n', 2, 1, /http_api: must be a block/);
  bad('listen 1935;\nvhost { }\n', 2, 1, /vhost: must be "vhost NAME/);
});

test('duplicates: the first wins, as SRS\'s get(), with a warning on each ignored copy', () => {
  const r = load('listen 1935;\nlisten 1936;\nhttp_api { listen 1; }\nhttp_api { listen 2; }\nvhost a { }\nvhost a { }\n');
  assert.deepEqual(r.config.listen.map((l) => l.port), [1935]);
  assert.equal(r.config.httpApi.listen.port, 1);
  assert.deepEqual(r.config.vhosts, ['a']);
  assert.deepEqual(r.warnings.map((w) => [w.code, w.location.line]), [['SRS_WARN_CONFIG_DUPLICATE', 2], ['SRS_WARN_CONFIG_DUPLICATE', 4], ['SRS_WARN_CONFIG_DUPLICATE', 6]]);
});

test('listen is required in a file; daemon with asprocess is refused', () => {
  bad('max_connections 10;\n', 1, 1, /listen: required/);
  bad('listen 1935;\ndaemon on;\nasprocess on;\n', 1, 1, /daemon: conflicts with asprocess/);
  assert.equal(load('rtmp { listen 1940; }\n').config.listen[0].port, 1940);
});

test('full.conf is refused by name; is_full on too', () => {
  assert.throws(() => load('listen 1935;\n', 'conf/full.conf'), (e) => e.code === 'SRS_ERR_CONFIG_REFUSED' && /reference/.test(e.message));
  assert.throws(() => load('listen 1935;\nis_full on;\n'), (e) => e.code === 'SRS_ERR_CONFIG_REFUSED' && e.location.line === 2);
});

test('an unreadable file is SRS_ERR_CONFIG_READ naming the path and errno', () => {
  for (const code of ['ENOENT', 'EACCES']) {
    assert.throws(
      () => loadConfig({ file: 'conf/srs.conf', env: {}, cwd: '/v', readFile: () => { throw Object.assign(new Error('x'), { code }); } }),
      (e) => e.code === 'SRS_ERR_CONFIG_READ' && e.message.includes('/v/conf/srs.conf') && e.message.includes(code) && e.exitCode === 3,
    );
  }
});
