// srs's entry point: flags, config, the daemon decision, then the lifecycle controller.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs, USAGE, type Command } from './cli';
import { loadConfig, warningsToShow, type LoadOptions, type LoadedConfig } from './config/load';
import { SrsError, ExitCode, srsError, errnoCode, codedLine } from './errors';
import { SignalRouter } from './lifecycle/signals';
import { detectContainer, fsProbe } from './lifecycle/container';
import { decideDaemon, startDaemon, ReadinessReporter } from './lifecycle/daemon';
import { LifecycleController, describeStartError } from './lifecycle/controller';
import { SystemdNotifier } from './lifecycle/notify';
import { SrsLog } from './server/log';
import { native } from './native';
import { runSignalCommand } from './lifecycle/control-client';
import { inheritedFromEnv, clearUpgradeEnv } from './lifecycle/upgrade';

export const VERSION: string = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

function fail(e: unknown): never {
  const { code, error, message } = describeStartError(e);
  process.stderr.write(`srs: ${codedLine(error, message)}\n`);
  process.exit(code);
}

function loadOptionsFor(cmd: { file: string | null; envOnly: boolean }, cwd: string): LoadOptions {
  return { file: cmd.file, envOnly: cmd.envOnly, env: process.env, cwd };
}

/** An override's value as logs may show it: a secret (http_api.auth.password) never is. */
function shownValue(o: { path: string; value: string }): string {
  return /password/.test(o.path) ? '(hidden)' : o.value;
}

function printWarnings(loaded: LoadedConfig): void {
  for (const w of loaded.warnings) process.stderr.write(`srs: ${codedLine(w.code, `${w.location ? `${w.location.file}:${w.location.line}:${w.location.col}: ` : ''}${w.message}`)}\n`);
  for (const o of loaded.envOverrides) process.stderr.write(`srs: ${o.variable} overrides ${o.path} = ${shownValue(o)}\n`);
}

async function run(cmd: Extract<Command, { kind: 'run' }>): Promise<void> {
  const startedAt = Date.now();
  // Handlers first: a signal during start-up is queued and acted on once we are up (SRS dies of a
  // SIGHUP that arrives before its handlers exist).
  const router = new SignalRouter().install();
  const readiness = new ReadinessReporter(process.env);
  const failStart = (e: unknown): never => {
    readiness.failed(e);
    return fail(e);
  };

  const inherited = inheritedFromEnv(process.env);
  clearUpgradeEnv(process.env);
  const launchCwd = process.cwd();
  let cwd = process.cwd();
  const loadOptions = loadOptionsFor(cmd, cwd);
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig(loadOptions);
  } catch (e) {
    return failStart(e);
  }
  const config = loaded.config;
  if (config.workDir && config.workDir !== './') {
    try {
      process.chdir(path.resolve(cwd, config.workDir));
      cwd = process.cwd();
    } catch (e) {
      return failStart(srsError('SRS_ERR_CONFIG_VALUE', { directive: `work_dir ${config.workDir}`, reason: `cannot chdir (${errnoCode(e) ?? String(e)})` }));
    }
  }

  const container = detectContainer(fsProbe('/', process.env, process.pid), { inDockerDirective: config.inDocker });
  const decision = decideDaemon({ config, container, env: process.env, pid: process.pid, upgradedFrom: inherited.parentPid });
  const logFile = path.resolve(cwd, config.logFile);

  if (decision.daemon && !readiness.isDaemon) {
    // The starter: hand over to a fresh process and report what it says.
    router.uninstall();
    printWarnings(loaded);
    let result;
    try {
      result = await startDaemon({
        argv: process.argv.slice(1),
        env: process.env,
        // where we were started, not work_dir: the daemon re-runs our argv, whose -c is relative
        // to it, and chdirs to work_dir itself
        cwd: launchCwd,
        stdout: config.logTank === 'file' ? logFile : null,
      });
    } catch (e) {
      return fail(e);
    }
    if (result.exitCode === ExitCode.OK) process.stdout.write(`srs: ${result.message}\n`);
    else process.stderr.write(`srs: ${codedLine(result.code ?? 'SRS_ERR_DAEMON', result.message)}\n`);
    process.exit(result.exitCode);
  }

  if (decision.ignoredInContainer && !readiness.isDaemon) {
    // SRS stays in the foreground silently, and a user who asked for a daemon waits at a quiet terminal
    const where = config.logTank === 'file' ? logFile : 'the console';
    process.stderr.write(`srs: daemon on ignored: running in a container (${container.sign ?? '?'}); staying in the foreground, logs go to ${where}\n`);
  }

  let log: SrsLog;
  try {
    log = new SrsLog({
      tank: config.logTank,
      file: logFile,
      level: config.logLevel,
      format: config.logFormat,
      // the log's reopen points fds 1 and 2 (a daemon's, or a shell's `> srs.log`) at the new file
      dup2: (from, to) => native().dup2(from, to),
    });
  } catch (e) {
    return failStart(srsError('SRS_ERR_LOG_FILE', { path: config.logFile, reason: errnoCode(e) ?? String(e) }));
  }
  // Written once the sockets are bound, or when the start fails: the first line loads the local
  // time zone (ICU, ~5 ms), and the bind should not wait for it.
  const logStarting = (): void => {
    const logger = log.logger;
    logger.info(
      // pid is in every line already (the logger's base)
      { version: VERSION, ppid: process.ppid, config: loaded.source, cwd, node: process.version, daemon: decision.daemon, container: container.sign },
      `srs ${VERSION} starting, pid ${process.pid}, config ${loaded.source}, ${decision.daemon ? 'daemon' : 'foreground'}: ${decision.reason}`,
    );
    const warned = warningsToShow(loaded.warnings);
    for (const w of warned.shown) logger.warn({ code: w.code, at: w.location ? `${w.location.file}:${w.location.line}` : undefined }, w.message);
    if (warned.more > 0) logger.warn({ more: warned.more }, `${warned.more} more config warnings (srs -t lists them all)`);
    for (const o of loaded.envOverrides) logger.info({ variable: o.variable, directive: o.path, value: shownValue(o) }, `${o.variable} overrides ${o.path}`);
  };

  process.on('uncaughtException', (e) => {
    log.logger.fatal({ code: 'SRS_ERR_INTERNAL', err: e }, 'uncaught exception, exit');
    readiness.failed(e);
    log.flush();
    process.exit(ExitCode.FAILURE);
  });

  const controller = new LifecycleController({
    version: VERSION,
    loaded,
    loadOptions,
    cwd,
    decision,
    container,
    log,
    readiness,
    notifier: new SystemdNotifier(process.env),
    startedAt,
    launchCwd,
    inherited,
    exit: (code) => log.flushThen(() => process.exit(code)),
  });
  try {
    await controller.start(logStarting);
  } catch (e) {
    const { error, message } = describeStartError(e);
    // the stack of an unexpected error goes to the log, for us; the terminal gets one line
    log.logger.error({ code: error, err: e instanceof SrsError ? undefined : e }, `start failed: ${message}`);
    controller.releaseAfterFailedStart();
    return log.flushThen(() => failStart(e));
  }
  router.attach((intent, signal) => controller.handle(intent, signal));
}

export async function main(argv: readonly string[]): Promise<void> {
  let cmd: Command;
  try {
    cmd = parseArgs(argv, process.env);
  } catch (e) {
    return fail(e);
  }
  switch (cmd.kind) {
    case 'help':
      process.stdout.write(`srs ${VERSION}\n${USAGE}\n`);
      return;
    case 'version':
      process.stdout.write(`${VERSION}\n`);
      return;
    case 'test': {
      try {
        const loaded = loadConfig(loadOptionsFor(cmd, process.cwd()));
        printWarnings(loaded);
        process.stdout.write(`srs: the configuration ${loaded.source} is ok\n`);
      } catch (e) {
        fail(e);
      }
      return;
    }
    case 'signal':
      return process.exit(await runSignalCommand(cmd, process.cwd()));
    case 'run':
      return run(cmd);
  }
}
