// What a reload does with a new config, as a pure function: the running config stays for every
// directive that cannot change in a running process (design.md 2), and the caller is told what it
// applies and what it keeps, so it can log and report both.
import type { SrsConfig } from '../config/schema';
import { diffConfig, type ConfigChange } from '../config/diff';

export interface ReloadPlan {
  /** the config to run with: the new one, with non-reloadable directives at their running value */
  effective: SrsConfig;
  applied: ConfigChange[];
  ignored: ConfigChange[];
}

/** Directive path -> the SrsConfig field it lives in, for the ones a running process keeps. */
const KEPT_FIELDS: Readonly<Record<string, keyof SrsConfig>> = {
  daemon: 'daemon',
  pid: 'pid',
  srs_log_tank: 'logTank',
  srs_log_file: 'logFile',
  srs_log_format: 'logFormat',
  work_dir: 'workDir',
  asprocess: 'asprocess',
  disable_daemon_for_docker: 'disableDaemonForDocker',
  in_docker: 'inDocker',
};

export function planReload(running: SrsConfig, next: SrsConfig): ReloadPlan {
  const changes = diffConfig(running, next);
  const effective: SrsConfig = { ...next };
  const applied: ConfigChange[] = [];
  const ignored: ConfigChange[] = [];
  for (const change of changes) {
    if (change.reloadable) {
      applied.push(change);
      continue;
    }
    ignored.push(change);
    const field = KEPT_FIELDS[change.path];
    if (field) (effective as unknown as Record<string, unknown>)[field] = running[field];
  }
  return { effective, applied, ignored };
}

/** The file `-s reload` and init.d read to learn a reload's outcome: next to the pid file. */
export function reloadStatusPath(pidFile: string): string {
  return `${pidFile}.reload`;
}
