// Container detection (design.md 5): does srs run inside a container, and which sign says so?
//
// SRS only greps /proc/1/cgroup for "docker", which fails under cgroup v2 (the file is `0::/`)
// and under containerd/Kubernetes. We check in layers, first hit wins, and report the sign so
// the caller can log it. detectContainer is pure: every file and the environment come through
// the probe, so each sign is unit-tested over a fixture root. fsProbe is the thin real edge.

import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ContainerProbe {
  /** read a file under the filesystem root; return null when it does not exist or cannot be read */
  readFile(path: string): string | null;
  exists(path: string): boolean;
  env: Record<string, string | undefined>;
  pid: number;
}

export type ContainerSign =
  | 'in_docker'
  | 'pid1'
  | 'container_env'
  | 'systemd_container'
  | 'containerenv'
  | 'dockerenv'
  | 'kubernetes_env'
  | 'cgroup';

export interface ContainerVerdict {
  inContainer: boolean;
  sign: ContainerSign | null;
  /** one line for the log, naming the evidence */
  detail: string;
}

const CGROUP_FILES = ['/proc/1/cgroup', '/proc/self/cgroup'];

/** Runtimes whose name in a cgroup path component marks a container. */
const RUNTIMES = ['docker', 'kubepods', 'containerd', 'libpod', 'lxc'] as const;

/**
 * A path component names a runtime when it is the runtime's word alone or followed by a
 * separator: `docker`, `docker-<id>.scope`, `kubepods.slice`, `kubepods-besteffort-pod<uid>.slice`,
 * `libpod-<id>.scope`, `libpod_parent`, `lxc.payload.<name>`, and `cri-containerd-<id>.scope`.
 * We match whole components rather than substrings so that words which merely contain a runtime
 * name (`mydockerized`, `dockerhub-sync`, `lxcfs`) never fire.
 */
const RUNTIME_COMPONENT = new RegExp(`^(?:cri-)?(${RUNTIMES.join('|')})(?:[-._]|$)`);

/**
 * Which runtime a cgroup path component names, or null.
 *
 * Not signs, although they carry a runtime's name:
 * - `*.service` units: a service is a host daemon managed by systemd (`docker.service`,
 *   `containerd.service`, `docker-compose@app.service`). Runtimes using the systemd cgroup driver
 *   put containers in `.scope` units and pods in `.slice`s, never in `.service`s.
 * - `libpod-conmon-<id>.scope` and `lxc.monitor.<name>`: podman's and LXC's host-side monitors.
 */
function runtimeOf(component: string): string | null {
  if (component.endsWith('.service')) return null;
  if (component.startsWith('libpod-conmon-') || component.startsWith('lxc.monitor')) return null;
  const m = RUNTIME_COMPONENT.exec(component);
  return m ? m[1] : null;
}

/**
 * The first line of a /proc/<pid>/cgroup text whose path names a runtime. Lines are
 * `hierarchy-id:controllers:path` (v1: `12:pids:/docker/<id>`; v2: `0::/kubepods/...`).
 * The v2 root `0::/` has no components, so it never matches: a host shows it, and so does a
 * container with a private cgroup namespace; the other layers must decide those.
 */
function cgroupHit(text: string): { runtime: string; line: string } | null {
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) continue;
    const cgroupPath = line.slice(second + 1);
    for (const component of cgroupPath.split('/')) {
      const runtime = runtimeOf(component);
      if (runtime) return { runtime, line };
    }
  }
  return null;
}

/** Words for the "no container sign" detail: what the cgroup files showed instead. */
function describeHostCgroup(texts: Array<{ file: string; text: string | null }>): string {
  const read = texts.find((t) => t.text !== null && t.text.trim() !== '');
  if (!read || read.text === null) return `${CGROUP_FILES.join(' and ')} unreadable`;
  const lines = read.text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length === 1 && lines[0] === '0::/') return `cgroup v2 root '0::/' on a host`;
  if (lines.length === 1 && lines[0].startsWith('0::')) return `${read.file} shows cgroup v2 '${lines[0]}'`;
  return `${read.file} has ${lines.length} cgroup lines, none naming ${RUNTIMES.join(', ')}`;
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

/** Decide whether we run in a container, in design.md 5's order; the first sign found wins. */
export function detectContainer(probe: ContainerProbe, opts: { inDockerDirective: boolean }): ContainerVerdict {
  const yes = (sign: ContainerSign, detail: string): ContainerVerdict => ({ inContainer: true, sign, detail });

  if (opts.inDockerDirective) return yes('in_docker', 'config says in_docker on');

  if (probe.pid === 1) return yes('pid1', 'our pid is 1: we are the init of a pid namespace');

  const containerEnv = probe.env['container'];
  if (nonEmpty(containerEnv)) return yes('container_env', `environment variable container=${containerEnv}`);

  if (probe.exists('/run/systemd/container')) {
    const name = (probe.readFile('/run/systemd/container') ?? '').trim();
    return yes('systemd_container', name ? `/run/systemd/container says '${name}'` : '/run/systemd/container exists');
  }

  if (probe.exists('/run/.containerenv')) return yes('containerenv', '/run/.containerenv exists (podman)');

  if (probe.exists('/.dockerenv')) return yes('dockerenv', '/.dockerenv exists (docker)');

  const k8sHost = probe.env['KUBERNETES_SERVICE_HOST'];
  if (nonEmpty(k8sHost)) return yes('kubernetes_env', `environment variable KUBERNETES_SERVICE_HOST=${k8sHost}`);

  const texts = CGROUP_FILES.map((file) => ({ file, text: probe.readFile(file) }));
  for (const { file, text } of texts) {
    const hit = text === null ? null : cgroupHit(text);
    if (hit) return yes('cgroup', `${file} names ${hit.runtime} (${hit.line})`);
  }

  return { inContainer: false, sign: null, detail: `no container sign: ${describeHostCgroup(texts)}` };
}

/** The real probe over a filesystem root (default '/'), e.g. fsProbe('/tmp/fixture') reads /tmp/fixture/proc/1/cgroup. */
export function fsProbe(
  root = '/',
  env: Record<string, string | undefined> = process.env,
  pid: number = process.pid,
): ContainerProbe {
  const under = (p: string): string => path.join(root, p);
  return {
    readFile(p: string): string | null {
      try {
        return fs.readFileSync(under(p), 'utf8');
      } catch {
        return null; // missing, a directory, no permission: all mean "no evidence here"
      }
    },
    exists(p: string): boolean {
      return fs.existsSync(under(p));
    },
    env,
    pid,
  };
}
