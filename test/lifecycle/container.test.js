'use strict';
// Container detection (design.md 5): each sign alone, cgroup v1/v2 lines, hosts that are not
// containers, precedence, and unreadable files. Fixtures are roots in a per-test temp dir.
const { test, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { detectContainer, fsProbe } = require('../../dist/lifecycle/container.js');

const HOST_PID = 4242;
const ID = 'a'.repeat(64);
let root;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-container-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** Write a file under the fixture root, e.g. put('/proc/1/cgroup', '0::/\n'). */
function put(p, text = '') {
  const full = path.join(root, p);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, text);
}

function detect({ env = {}, pid = HOST_PID, inDocker = false } = {}) {
  return detectContainer(fsProbe(root, env, pid), { inDockerDirective: inDocker });
}

function assertSign(verdict, sign, detailPattern) {
  assert.equal(verdict.inContainer, true, verdict.detail);
  assert.equal(verdict.sign, sign, verdict.detail);
  assert.equal(typeof verdict.detail, 'string');
  assert.match(verdict.detail, detailPattern);
}

function assertHost(verdict, detailPattern) {
  assert.equal(verdict.inContainer, false, verdict.detail);
  assert.equal(verdict.sign, null);
  assert.match(verdict.detail, /^no container sign: /);
  if (detailPattern) assert.match(verdict.detail, detailPattern);
}

// ---- each sign alone --------------------------------------------------------------------------

test('empty root, host pid, empty env: not a container', () => {
  assertHost(detect(), /unreadable/);
});

test('in_docker on fires on its own', () => {
  assertSign(detect({ inDocker: true }), 'in_docker', /in_docker on/);
});

test('pid 1 fires on its own', () => {
  assertSign(detect({ pid: 1 }), 'pid1', /pid is 1/);
});

test('container environment variable fires (podman, systemd-nspawn)', () => {
  assertSign(detect({ env: { container: 'podman' } }), 'container_env', /container=podman/);
  assertSign(detect({ env: { container: 'systemd-nspawn' } }), 'container_env', /container=systemd-nspawn/);
});

test('an empty container variable is not a sign', () => {
  assertHost(detect({ env: { container: '' } }));
});

test('/run/systemd/container fires and names its content', () => {
  put('/run/systemd/container', 'systemd-nspawn\n');
  assertSign(detect(), 'systemd_container', /\/run\/systemd\/container says 'systemd-nspawn'/);
});

test('/run/systemd/container empty still fires', () => {
  put('/run/systemd/container', '');
  assertSign(detect(), 'systemd_container', /\/run\/systemd\/container exists/);
});

test('/run/.containerenv fires (podman)', () => {
  put('/run/.containerenv', 'engine="podman-4.9.3"\n');
  assertSign(detect(), 'containerenv', /\/run\/\.containerenv/);
});

test('/.dockerenv fires', () => {
  put('/.dockerenv');
  assertSign(detect(), 'dockerenv', /\/\.dockerenv/);
});

test('KUBERNETES_SERVICE_HOST fires', () => {
  assertSign(detect({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' } }), 'kubernetes_env', /KUBERNETES_SERVICE_HOST=10\.96\.0\.1/);
});

test('an empty KUBERNETES_SERVICE_HOST is not a sign', () => {
  assertHost(detect({ env: { KUBERNETES_SERVICE_HOST: '' } }));
});

// ---- cgroup lines -----------------------------------------------------------------------------

const CGROUP_SIGNS = [
  ['v1 docker (cgroupfs driver)', `12:pids:/docker/${ID}`, 'docker'],
  ['v1 docker (systemd driver)', `11:memory:/system.slice/docker-${ID}.scope`, 'docker'],
  ['v1 name=systemd docker', `1:name=systemd:/docker/${ID}`, 'docker'],
  ['v1 kubepods (cgroupfs driver)', '12:pids:/kubepods/besteffort/pod0c4f6d3e-1b2a-4c5d-9e8f-0123456789ab/' + ID, 'kubepods'],
  ['v1 kubepods.slice (systemd driver)', `10:cpu,cpuacct:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-${ID}.scope`, 'kubepods'],
  ['v1 containerd (cri-containerd scope)', `4:devices:/system.slice/cri-containerd-${ID}.scope`, 'containerd'],
  ['v1 containerd namespace', `5:cpuset:/containerd/${ID}`, 'containerd'],
  ['v1 libpod (systemd driver)', `3:memory:/machine.slice/libpod-${ID}.scope`, 'libpod'],
  ['v1 libpod_parent (cgroupfs driver)', `3:memory:/libpod_parent/libpod-${ID}`, 'libpod'],
  ['v1 lxc', '2:cpu:/lxc/web01', 'lxc'],
  ['v1 lxc.payload (LXC 4+)', '2:cpu:/lxc.payload.web01', 'lxc'],
  ['v2 docker scope', `0::/system.slice/docker-${ID}.scope`, 'docker'],
  ['v2 rootless docker scope', `0::/user.slice/user-1000.slice/user@1000.service/user.slice/docker-${ID}.scope`, 'docker'],
  ['v2 kubepods', `0::/kubepods/besteffort/pod0c4f6d3e/${ID}`, 'kubepods'],
  ['v2 kubepods.slice', `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0c4f.slice/cri-containerd-${ID}.scope`, 'kubepods'],
];

for (const [name, line, runtime] of CGROUP_SIGNS) {
  test(`cgroup ${name} in /proc/1/cgroup fires`, () => {
    put('/proc/1/cgroup', `${line}\n`);
    const v = detect();
    assertSign(v, 'cgroup', new RegExp(`^/proc/1/cgroup names ${runtime} \\(`));
    assert.ok(v.detail.includes(`(${line})`), v.detail);
  });
}

test('a full cgroup v1 file with docker on a later line fires and quotes that line', () => {
  put(
    '/proc/1/cgroup',
    [
      '13:misc:/',
      '12:rdma:/',
      `11:pids:/docker/${ID}`,
      `1:name=systemd:/docker/${ID}`,
      '0::/',
      '',
    ].join('\n'),
  );
  assertSign(detect(), 'cgroup', new RegExp(`names docker \\(11:pids:/docker/${ID}\\)`));
});

test('/proc/self/cgroup is read when /proc/1/cgroup shows nothing', () => {
  put('/proc/1/cgroup', '0::/\n');
  put('/proc/self/cgroup', `0::/system.slice/docker-${ID}.scope\n`);
  assertSign(detect(), 'cgroup', /^\/proc\/self\/cgroup names docker/);
});

test('/proc/self/cgroup alone (no /proc/1/cgroup) fires', () => {
  put('/proc/self/cgroup', '0::/kubepods/burstable/pod1/x\n');
  assertSign(detect(), 'cgroup', /^\/proc\/self\/cgroup names kubepods/);
});

// ---- hosts that are not containers ------------------------------------------------------------

test("cgroup v2 root '0::/' alone is not a container", () => {
  put('/proc/1/cgroup', '0::/\n');
  assertHost(detect(), /cgroup v2 root '0::\/' on a host/);
});

test("cgroup v2 '0::/init.scope' (host systemd) is not a container", () => {
  put('/proc/1/cgroup', '0::/init.scope\n');
  assertHost(detect(), /0::\/init\.scope/);
});

test('cgroup v2 user session is not a container', () => {
  put('/proc/1/cgroup', '0::/init.scope\n');
  put('/proc/self/cgroup', '0::/user.slice/user-1000.slice/session-2.scope\n');
  assertHost(detect());
});

test('cgroup v1 host (all controllers at / or init.scope) is not a container', () => {
  put('/proc/1/cgroup', ['12:pids:/init.scope', '11:memory:/init.scope', '1:name=systemd:/init.scope', '0::/init.scope', ''].join('\n'));
  assertHost(detect(), /4 cgroup lines, none naming docker/);
});

test('host daemons and look-alike words are not container signs', () => {
  const hostLines = [
    '0::/system.slice/docker.service', // the docker daemon itself, on the host
    '0::/system.slice/containerd.service',
    '0::/system.slice/docker-compose@app.service', // a host unit running compose
    '0::/system.slice/mydockerized.service',
    '0::/system.slice/mydockerized.scope', // a word containing "docker" is not "docker"
    '0::/user.slice/dockerhub-sync.scope',
    '0::/system.slice/lxcfs.service',
    '0::/lxcfs',
    '0::/machine.slice/libpod-conmon-' + ID + '.scope', // podman's host-side monitor
    '0::/lxc.monitor.web01', // LXC's host-side monitor
    '0::/user.slice/user-1000.slice/user@1000.service/app.slice/kubepodsish.scope',
  ];
  for (const line of hostLines) {
    put('/proc/1/cgroup', `${line}\n`);
    assertHost(detect(), undefined);
  }
});

test('malformed cgroup lines are ignored, not errors', () => {
  put('/proc/1/cgroup', 'garbage\n\n::\n12:pids\n0::/\n');
  assertHost(detect());
});

// ---- precedence -------------------------------------------------------------------------------

test('precedence: each layer beats every layer after it', () => {
  put('/proc/1/cgroup', `12:pids:/docker/${ID}\n`);
  put('/.dockerenv');
  put('/run/.containerenv');
  put('/run/systemd/container', 'podman\n');
  const env = { container: 'podman', KUBERNETES_SERVICE_HOST: '10.96.0.1' };

  assertSign(detect({ env, pid: 1, inDocker: true }), 'in_docker', /in_docker/);
  assertSign(detect({ env, pid: 1 }), 'pid1', /pid is 1/);
  assertSign(detect({ env }), 'container_env', /container=podman/);
  assertSign(detect({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' } }), 'systemd_container', /systemd/);
  fs.rmSync(path.join(root, 'run/systemd/container'));
  assertSign(detect({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' } }), 'containerenv', /containerenv/);
  fs.rmSync(path.join(root, 'run/.containerenv'));
  assertSign(detect({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' } }), 'dockerenv', /dockerenv/);
  fs.rmSync(path.join(root, '.dockerenv'));
  assertSign(detect({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' } }), 'kubernetes_env', /KUBERNETES/);
  assertSign(detect(), 'cgroup', /docker/);
});

test("precedence: /.dockerenv wins over a cgroup v2 root '0::/' (SRS's bug)", () => {
  put('/proc/1/cgroup', '0::/\n');
  put('/.dockerenv');
  assertSign(detect(), 'dockerenv', /\/\.dockerenv/);
});

test('precedence: /proc/1/cgroup is consulted before /proc/self/cgroup', () => {
  put('/proc/1/cgroup', '0::/kubepods/besteffort/pod1/x\n');
  put('/proc/self/cgroup', `0::/system.slice/docker-${ID}.scope\n`);
  assertSign(detect(), 'cgroup', /^\/proc\/1\/cgroup names kubepods/);
});

// ---- unreadable or missing files --------------------------------------------------------------

test('unreadable files (directories, dangling symlinks) are not errors', () => {
  fs.mkdirSync(path.join(root, 'proc/1/cgroup'), { recursive: true }); // EISDIR on read
  fs.mkdirSync(path.join(root, 'proc/self'), { recursive: true });
  fs.symlinkSync(path.join(root, 'nowhere'), path.join(root, 'proc/self/cgroup')); // ENOENT on read
  const v = detect();
  assertHost(v, /unreadable/);
});

test('/run/systemd/container present but unreadable still fires', () => {
  fs.mkdirSync(path.join(root, 'run/systemd/container'), { recursive: true });
  assertSign(detect(), 'systemd_container', /exists/);
});

test('a probe that finds nothing anywhere is a host', () => {
  const probe = { readFile: () => null, exists: () => false, env: {}, pid: HOST_PID };
  assertHost(detectContainer(probe, { inDockerDirective: false }), /unreadable/);
});

test('fsProbe reads under its root and defaults env and pid to the process', () => {
  put('/proc/1/cgroup', '0::/\n');
  const p = fsProbe(root);
  assert.equal(p.readFile('/proc/1/cgroup'), '0::/\n');
  assert.equal(p.readFile('/proc/2/cgroup'), null);
  assert.equal(p.exists('/proc/1/cgroup'), true);
  assert.equal(p.exists('/.dockerenv'), false);
  assert.equal(p.env, process.env);
  assert.equal(p.pid, process.pid);
});

test("fsProbe('/') returns a verdict object (the real machine; no claim about it)", () => {
  const v = detectContainer(fsProbe('/'), { inDockerDirective: false });
  assert.equal(typeof v.inContainer, 'boolean');
  assert.equal(typeof v.detail, 'string');
  assert.ok(v.sign === null || typeof v.sign === 'string');
});
