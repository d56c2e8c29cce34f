'use strict';
// SRS_* overrides (SRS 5+): the variable wins, is reported, and a bad value names the variable.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { loadConfig } = require('../../dist/config/load.js');
const { envVariableFor, configFileFromEnv } = require('../../dist/config/env.js');
const { DEFAULTS, FIELDS } = require('../../dist/config/schema.js');

const FILE = 'listen 1935;\ndaemon on;\nhttp_api { enabled off; listen 1985; }\n';
function load(env, text = FILE) {
  return loadConfig({ file: 'conf/srs.conf', env, cwd: '/v', readFile: () => text });
}

test('variable names: dotted path, upper-cased, dots to _', () => {
  assert.equal(envVariableFor('http_api.listen'), 'SRS_HTTP_API_LISTEN');
  assert.equal(envVariableFor('http_api.raw_api.allow_reload'), 'SRS_HTTP_API_RAW_API_ALLOW_RELOAD');
  assert.equal(envVariableFor('listen'), 'SRS_LISTEN');
  assert.equal(envVariableFor('daemon'), 'SRS_DAEMON');
  assert.equal(FIELDS.length, 34);
});

test('overrides win over the file and are reported', () => {
  const r = load({ SRS_DAEMON: 'off', SRS_HTTP_API_ENABLED: 'on', SRS_HTTP_API_LISTEN: '127.0.0.1:2000', SRS_LISTEN: '1940 [::]:1941', HOME: '/root' });
  assert.equal(r.config.daemon, false);
  assert.equal(r.config.httpApi.enabled, true);
  assert.equal(r.config.httpApi.listen.text, '127.0.0.1:2000');
  assert.deepEqual(r.config.listen.map((l) => l.text), ['1940', '[::]:1941']);
  assert.deepEqual(r.envOverrides, [
    { variable: 'SRS_LISTEN', path: 'listen', value: '1940 [::]:1941' },
    { variable: 'SRS_DAEMON', path: 'daemon', value: 'off' },
    { variable: 'SRS_HTTP_API_ENABLED', path: 'http_api.enabled', value: 'on' },
    { variable: 'SRS_HTTP_API_LISTEN', path: 'http_api.listen', value: '127.0.0.1:2000' },
  ]);
});

test('every field can be overridden', () => {
  const env = {
    SRS_LISTEN: '1', SRS_MAX_CONNECTIONS: '2', SRS_DAEMON: 'false', SRS_DISABLE_DAEMON_FOR_DOCKER: 'off', SRS_IN_DOCKER: 'true',
    SRS_PID: 'p', SRS_SRS_LOG_TANK: 'console', SRS_SRS_LOG_FILE: 'f', SRS_SRS_LOG_LEVEL: 'error', SRS_SRS_LOG_FORMAT: 'json',
    SRS_WORK_DIR: 'w', SRS_ASPROCESS: 'on', SRS_GRACE_START_WAIT: '3', SRS_GRACE_FINAL_WAIT: '4', SRS_GRACE_MAX_WAIT: '5',
    SRS_FORCE_GRACE_QUIT: 'on', SRS_INOTIFY_AUTO_RELOAD: 'on', SRS_AUTO_RELOAD_FOR_DOCKER: 'off',
    SRS_HTTP_API_ENABLED: 'on', SRS_HTTP_API_LISTEN: '6', SRS_HTTP_API_RAW_API_ENABLED: 'on',
    SRS_HTTP_API_RAW_API_ALLOW_RELOAD: 'on', SRS_HTTP_API_AUTH_ENABLED: 'on', SRS_HTTP_API_AUTH_USERNAME: 'u',
    SRS_HTTP_API_AUTH_PASSWORD: ' p ', SRS_HTTP_SERVER_ENABLED: 'on', SRS_HTTP_SERVER_LISTEN: '7', SRS_HTTP_SERVER_DIR: 'd',
  };
  const r = load(env);
  assert.equal(r.envOverrides.length, 28);
  const c = r.config;
  assert.deepEqual(
    [c.listen[0].port, c.maxConnections, c.daemon, c.disableDaemonForDocker, c.inDocker, c.pid, c.logTank, c.logFile, c.logLevel,
      c.logFormat, c.workDir, c.asprocess, c.graceStartWait, c.graceFinalWait, c.graceMaxWait, c.forceGraceQuit, c.inotifyAutoReload,
      c.autoReloadForDocker, c.httpApi.listen.port, c.httpApi.auth.password, c.httpServer.listen.port, c.httpServer.dir],
    [1, 2, false, false, true, 'p', 'console', 'f', 'error', 'json', 'w', true, 3, 4, 5, true, true, false, 6, ' p ', 7, 'd'],
  );
});

test('empty variables count as unset, as in SRS', () => {
  const r = load({ SRS_DAEMON: '', SRS_LISTEN: '' });
  assert.equal(r.config.daemon, true);
  assert.equal(r.envOverrides.length, 0);
});

test('invalid values are errors naming the variable', () => {
  const cases = [
    [{ SRS_HTTP_API_LISTEN: 'abc' }, /^SRS_HTTP_API_LISTEN \(http_api\.listen\): "abc" is not a port \(1-65535\)/],
    [{ SRS_DAEMON: 'maybe' }, /SRS_DAEMON \(daemon\): "maybe" is not on or off/],
    [{ SRS_SRS_LOG_LEVEL: 'debug' }, /SRS_SRS_LOG_LEVEL .*verbose, info, trace, warn, error/],
    [{ SRS_MAX_CONNECTIONS: '1k' }, /SRS_MAX_CONNECTIONS/],
  ];
  for (const [env, re] of cases) {
    assert.throws(() => load(env), (e) => e.code === 'SRS_ERR_CONFIG_VALUE' && re.test(e.message));
  }
});

test('an override is checked with the rest: SRS_ASPROCESS=on with daemon on is refused', () => {
  assert.throws(() => load({ SRS_ASPROCESS: 'on' }), /daemon: conflicts with asprocess/);
  assert.equal(load({ SRS_ASPROCESS: 'on', SRS_DAEMON: 'off' }).config.asprocess, true);
});

test('SRS_LISTEN satisfies "listen is required"', () => {
  assert.equal(load({ SRS_LISTEN: '1950' }, 'daemon off;\n').config.listen[0].port, 1950);
});

test('-e: no file, defaults + environment; listen defaults to 1935', () => {
  const r = loadConfig({ file: null, envOnly: true, env: {}, cwd: '/v', readFile: () => assert.fail('no file is read in -e mode') });
  // SRS (SrsConfig::parse_options): -e runs in the foreground with console logs...
  // and SRS adds __defaultVhost__ for -e, or every client would be refused "no vhost"
  assert.deepEqual(r.config, { ...DEFAULTS, daemon: false, logTank: 'console', vhosts: ['__defaultVhost__'], vhostConfigs: r.config.vhostConfigs });
  assert.deepEqual(r.config.vhostConfigs.map((v) => v.name), ['__defaultVhost__']);
  assert.deepEqual(r.envOverrides, []);
  assert.equal(r.config.listen[0].port, 1935);
  assert.equal(r.source, '(environment)');
  assert.deepEqual(r.files, []);
  const r2 = loadConfig({ file: 'conf/srs.conf', envOnly: true, env: { SRS_LISTEN: '1999', SRS_DAEMON: 'off' }, cwd: '/v' });
  assert.equal(r2.config.listen[0].port, 1999);
  assert.equal(r2.config.daemon, false);
  assert.equal(r2.envOverrides.length, 2);
  assert.throws(() => loadConfig({ file: null, envOnly: true, env: { SRS_LISTEN: 'x' }, cwd: '/v' }), /SRS_LISTEN/);
});

test('-e: SRS_DAEMON, SRS_SRS_LOG_TANK or SRS_LOG_TANK still decide, as in SRS', () => {
  const cfg = (env) => loadConfig({ file: null, envOnly: true, env, cwd: '/v' }).config;
  assert.equal(cfg({ SRS_DAEMON: 'on' }).daemon, true);
  assert.equal(cfg({ SRS_DAEMON: 'on' }).logTank, 'console');
  assert.equal(cfg({ SRS_SRS_LOG_TANK: 'file' }).logTank, 'file');
  assert.equal(cfg({ SRS_SRS_LOG_TANK: 'file' }).daemon, false);
  // SRS reads SRS_LOG_TANK when SRS_SRS_LOG_TANK is unset (get_log_tank_file), and SRS_LOG_LEVEL
  assert.equal(cfg({ SRS_LOG_TANK: 'file' }).logTank, 'file');
  assert.equal(cfg({ SRS_LOG_TANK: 'file', SRS_SRS_LOG_TANK: 'console' }).logTank, 'console');
  assert.equal(cfg({ SRS_LOG_LEVEL: 'warn' }).logLevel, 'warn');
  // with a file, -e's defaults do not apply
  assert.equal(load({}).config.daemon, true);
});

test('a mistyped SRS_* variable warns with the nearest directive\'s variable', () => {
  const env = { SRS_HTTP_API_LISTN: '1990', SRS_DEAMON: 'off', SRS_LISTEN: '1935', HOME: '/root' };
  for (const r of [load(env), loadConfig({ file: null, envOnly: true, env, cwd: '/v' })]) {
    assert.deepEqual(r.warnings.map((w) => [w.code, w.message]), [
      ['SRS_WARN_ENV_UNKNOWN', 'SRS_DEAMON is not a variable srs reads, ignored; did you mean SRS_DAEMON (daemon)?'],
      ['SRS_WARN_ENV_UNKNOWN', 'SRS_HTTP_API_LISTN is not a variable srs reads, ignored; did you mean SRS_HTTP_API_LISTEN (http_api.listen)?'],
    ]);
  }
  // not warned: SRS's own variables for directives srs does not implement, aliases, variables far
  // from any directive's (srs's internal ones), and names longer than any
  const quiet = load({
    SRS_RTC_SERVER_ENABLED: 'on', SRS_CONFIG_FILE: 'x', SRS_LOG_TANK: 'file', SRS_DAEMON_READY_FD: '3',
    SRS_UPGRADE_PARENT: '1', ['SRS_' + 'X'.repeat(70000)]: '1',
  });
  assert.deepEqual(quiet.warnings, []);
});

test('SRS_CONFIG_FILE replaces -c', () => {
  assert.equal(configFileFromEnv({ SRS_CONFIG_FILE: 'conf/docker.conf' }), 'conf/docker.conf');
  assert.equal(configFileFromEnv({ SRS_CONFIG_FILE: '' }), null);
  assert.equal(configFileFromEnv({}), null);
});
