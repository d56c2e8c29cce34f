// Command line -> what to do (design.md 1). Pure: argv in, a command or a usage error out.
import { SrsError } from './errors';

export type SignalVerb = 'reload' | 'reopen' | 'quit' | 'stop' | 'upgrade' | 'status' | 'pid';
export const SIGNAL_VERBS: readonly SignalVerb[] = ['reload', 'reopen', 'quit', 'stop', 'upgrade', 'status', 'pid'];

export type Command =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'test'; file: string | null; envOnly: boolean }
  | { kind: 'run'; file: string | null; envOnly: boolean }
  | { kind: 'signal'; verb: SignalVerb; file: string | null; envOnly: boolean; timeoutMs: number };

export const DEFAULT_CONFIG = 'conf/srs.conf';

export const USAGE = `Usage: srs [-h] [-v|-V] [-t] [-e] [-c FILE] [-s SIGNAL]
  -c FILE    config file (SRS grammar, or YAML when it ends in .yaml/.yml); default ${DEFAULT_CONFIG},
             or $SRS_CONFIG_FILE when set
  -t         test the config and exit: 0 when valid
  -e         no config file: every directive from SRS_* environment variables (as does a set
             $SRS_ENV_ONLY); runs in the foreground with console logs unless SRS_DAEMON or
             SRS_SRS_LOG_TANK say otherwise
  -s SIGNAL  tell the running srs (found through the config's pid file), and wait for the outcome:
             reload   re-read the config; exit 0 once it is live, 3 when it was refused
             reopen   reopen the log file (after logrotate)
             quit     graceful quit; exit 0 once the process is gone
             stop     fast quit; exit 0 once the process is gone
             upgrade  zero-downtime upgrade (SIGUSR2)
             status   exit 0 when running, 1 dead with a pid file, 3 not running (LSB)
             pid      print the pid file's path and the running pid
  --timeout SECONDS
             with -s: how long to wait for the outcome (default 60)
  -v, -V     print the version and exit
  -h         this help
Exit codes: 0 ok, 1 runtime failure, 2 bad command line, 3 invalid config.`;

function usageError(message: string): SrsError {
  return new SrsError('SRS_ERR_USAGE', `${message}\n${USAGE}`);
}

export function parseArgs(argv: readonly string[], env: Record<string, string | undefined>): Command {
  let file: string | null = null;
  let test = false;
  let envOnly = false;
  let signal: SignalVerb | null = null;
  let timeoutMs = 60_000;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    switch (arg) {
      case '-h':
      case '--help':
      case '-?':
        return { kind: 'help' };
      case '-v':
      case '-V':
      case '--version':
        return { kind: 'version' };
      case '-t':
        test = true;
        break;
      case '-e':
        envOnly = true;
        break;
      case '-c': {
        const v = argv[++i];
        if (v === undefined || v === '') throw usageError('-c needs a file');
        file = v;
        break;
      }
      case '-s': {
        const v = argv[++i];
        if (v === undefined || !(SIGNAL_VERBS as readonly string[]).includes(v)) {
          throw usageError(`-s needs one of ${SIGNAL_VERBS.join(', ')}${v ? `, not "${v}"` : ''}`);
        }
        signal = v as SignalVerb;
        break;
      }
      case '--timeout': {
        const v = Number(argv[++i]);
        if (!Number.isFinite(v) || v <= 0) throw usageError('--timeout needs a number of seconds');
        timeoutMs = v * 1000;
        break;
      }
      default:
        if (arg.startsWith('-c') && arg.length > 2) {
          file = arg.slice(2);
          break;
        }
        throw usageError(`unknown option "${arg}"`);
    }
  }
  if (envOnly && file !== null) throw usageError('-e and -c exclude each other');
  // SRS (SrsConfig::parse_options): SRS_ENV_ONLY, set to anything, is -e; -c is then not read
  if (env.SRS_ENV_ONLY !== undefined) {
    envOnly = true;
    file = null;
  }
  if (file === null && !envOnly) file = env.SRS_CONFIG_FILE || DEFAULT_CONFIG;
  if (signal !== null && test) throw usageError('-s and -t exclude each other');
  if (signal !== null) return { kind: 'signal', verb: signal, file, envOnly, timeoutMs };
  if (test) return { kind: 'test', file, envOnly };
  return { kind: 'run', file, envOnly };
}
