// SRS_* environment overrides (SRS 5+): every directive srs implements can be set from a variable
// made from its dotted path, upper-cased, dots to `_` (http_api.listen -> SRS_HTTP_API_LISTEN).
// The variable wins over the file and is reported so the caller can log it. As in SRS, an empty
// variable counts as unset.

import { SrsError } from '../errors';
import { FIELDS, parseFieldValue, type SrsConfig } from './schema';

export interface EnvOverride {
  variable: string;
  /** directive path, e.g. 'http_api.listen' */
  path: string;
  value: string;
}

/** `http_api.raw_api.allow_reload` -> `SRS_HTTP_API_RAW_API_ALLOW_RELOAD`. */
export function envVariableFor(directivePath: string): string {
  return `SRS_${directivePath.toUpperCase().replace(/\./g, '_')}`;
}

/** SRS_CONFIG_FILE replaces -c: the file to load when the command line names none, else null. */
export function configFileFromEnv(env: Record<string, string | undefined>): string | null {
  const v = env.SRS_CONFIG_FILE;
  return v === undefined || v === '' ? null : v;
}

/**
 * Apply every SRS_* variable that names a directive of the schema to c (mutated). Invalid values
 * are SRS_ERR_CONFIG_VALUE naming the variable. `listen` takes several addresses separated by spaces.
 */
export function applyEnvOverrides(c: SrsConfig, env: Record<string, string | undefined>): EnvOverride[] {
  const applied: EnvOverride[] = [];
  for (const spec of FIELDS) {
    const variable = envVariableFor(spec.path);
    const raw = env[variable];
    if (raw === undefined || raw === '') continue;
    const args = spec.kind.type === 'listens' ? raw.trim().split(/\s+/) : [spec.kind.type === 'string' ? raw : raw.trim()];
    const r = parseFieldValue(spec, args);
    if (!r.ok) throw new SrsError('SRS_ERR_CONFIG_VALUE', `${variable} (${spec.path}): ${r.error}`);
    spec.set(c, r.value);
    applied.push({ variable, path: spec.path, value: raw });
  }
  return applied;
}
