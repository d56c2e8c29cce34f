// For reload: which directives changed between two configs and whether each can change while
// running. Not reloadable (SRS and design.md): daemon, pid, log tank/file/format, work_dir,
// asprocess, and the container switches that decide how the process was started.

import { FIELDS, type SrsConfig } from './schema';

export interface ConfigChange {
  /** directive path, e.g. 'http_api.listen' */
  path: string;
  reloadable: boolean;
  from: unknown;
  to: unknown;
}

export const NOT_RELOADABLE: ReadonlySet<string> = new Set([
  'daemon',
  'pid',
  'srs_log_tank',
  'srs_log_file',
  'work_dir',
  'asprocess',
  'disable_daemon_for_docker',
  'in_docker',
  'srs_log_format',
]);

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Changes from a to b, in the order of the schema's directives; `vhost` compares the name list. */
export function diffConfig(a: SrsConfig, b: SrsConfig): ConfigChange[] {
  const out: ConfigChange[] = [];
  for (const f of FIELDS) {
    const from = f.get(a);
    const to = f.get(b);
    if (!same(from, to)) out.push({ path: f.path, reloadable: !NOT_RELOADABLE.has(f.path), from, to });
  }
  if (!same(a.vhosts, b.vhosts)) out.push({ path: 'vhost', reloadable: true, from: a.vhosts, to: b.vhosts });
  return out;
}
