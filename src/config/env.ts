// SRS_* environment overrides (SRS 5+): every directive srs implements can be set from a variable
// made from its dotted path, upper-cased, dots to `_` (http_api.listen -> SRS_HTTP_API_LISTEN).
// The variable wins over the file and is reported so the caller can log it. As in SRS, an empty
// variable counts as unset.

import { srsError, renderMessage } from '../errors';
import { FIELDS, parseFieldValue, type ConfigWarning, type SrsConfig } from './schema';
import { suggest } from './suggest';
import { SRS_VOCABULARY } from './vocabulary';

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
 * The second spelling SRS reads when the first is unset (SrsConfig::get_log_tank_file,
 * get_log_level: SRS_SRS_LOG_TANK then SRS_LOG_TANK).
 */
const ALIASES: Readonly<Record<string, string>> = {
  srs_log_tank: 'SRS_LOG_TANK',
  srs_log_level: 'SRS_LOG_LEVEL',
};

/** Variables SRS reads that name no directive. */
const OTHER_VARIABLES: readonly string[] = ['SRS_CONFIG_FILE', 'SRS_ENV_ONLY'];

/**
 * -e (environment only) as SRS does it (SrsConfig::parse_options): daemon off unless SRS_DAEMON is
 * set, console logs unless SRS_SRS_LOG_TANK or SRS_LOG_TANK is set (set, even empty, as getenv).
 * Mutates c, the defaults the variables then apply to.
 */
export function envOnlyDefaults(c: SrsConfig, env: Record<string, string | undefined>): void {
  if (env.SRS_DAEMON === undefined) c.daemon = false;
  if (env.SRS_SRS_LOG_TANK === undefined && env.SRS_LOG_TANK === undefined) c.logTank = 'console';
}

/**
 * One warning (code 'env') per SRS_* variable that srs does not read but that is within two edits
 * of one it does (SRS_HTTP_API_LISTN -> SRS_HTTP_API_LISTEN): SRS and srs ignore unknown
 * variables, so a typo would otherwise change nothing without a word. Variables of SRS directives
 * srs does not implement, and variables far from any (srs's own internal ones), are not warned.
 */
export function mistypedVariables(env: Record<string, string | undefined>): ConfigWarning[] {
  const known = new Map<string, string>();
  for (const spec of FIELDS) known.set(envVariableFor(spec.path), spec.path);
  for (const [p, v] of Object.entries(ALIASES)) known.set(v, p);
  const srsKnows = new Set<string>(OTHER_VARIABLES);
  for (const [block, names] of Object.entries(SRS_VOCABULARY)) {
    for (const n of names) srsKnows.add(envVariableFor(block ? `${block}.${n}` : n));
  }
  const candidates = [...known.keys()];
  const out: ConfigWarning[] = [];
  for (const variable of Object.keys(env).sort()) {
    if (!variable.startsWith('SRS_') || known.has(variable) || srsKnows.has(variable)) continue;
    const s = suggest(variable, candidates);
    if (!s || s.distance > 2) continue;
    out.push({
      code: 'SRS_WARN_ENV_UNKNOWN',
      message: renderMessage('SRS_WARN_ENV_UNKNOWN', { variable, suggestion: s.best, directive: known.get(s.best) ?? '?' }),
    });
  }
  return out;
}

/**
 * Apply every SRS_* variable that names a directive of the schema to c (mutated). Invalid values
 * are SRS_ERR_CONFIG_VALUE naming the variable. `listen` takes several addresses separated by spaces.
 */
export function applyEnvOverrides(c: SrsConfig, env: Record<string, string | undefined>): EnvOverride[] {
  const applied: EnvOverride[] = [];
  for (const spec of FIELDS) {
    let variable = envVariableFor(spec.path);
    let raw = env[variable];
    const alias = ALIASES[spec.path];
    if ((raw === undefined || raw === '') && alias !== undefined) {
      variable = alias;
      raw = env[alias];
    }
    if (raw === undefined || raw === '') continue;
    const args = spec.kind.type === 'listens' ? raw.trim().split(/\s+/) : [spec.kind.type === 'string' ? raw : raw.trim()];
    const r = parseFieldValue(spec, args);
    if (!r.ok) throw srsError('SRS_ERR_CONFIG_VALUE', { directive: `${variable} (${spec.path})`, reason: r.error });
    spec.set(c, r.value);
    applied.push({ variable, path: spec.path, value: raw });
  }
  return applied;
}
