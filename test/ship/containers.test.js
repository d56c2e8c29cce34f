'use strict';
// Dockerfile and etc/kubernetes/srs.yaml (no docker engine or cluster here: the image is not
// built). The manifests parse, agree with the shipped configs and the image (ports, paths, probe
// routes), and the grace arithmetic holds; the ConfigMap's config runs and answers the probes.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');
const { ROOT, tmpdir, freePorts, request, startSrs, killPid } = require('../helpers/harness');
const { loadConfig } = require(path.join(ROOT, 'dist', 'config', 'load'));

const manifest = fs.readFileSync(path.join(ROOT, 'etc/kubernetes/srs.yaml'), 'utf8');
const docs = YAML.parseAllDocuments(manifest);
const byKind = Object.fromEntries(docs.map((d) => d.toJS()).map((o) => [o.kind, o]));
const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

function load(file, cwd = ROOT) {
  return loadConfig({ file, envOnly: false, env: {}, cwd }).config;
}

/** The ConfigMap's srs.conf, written to a temp dir and loaded by srs's own loader. */
function configMapConfig(dir) {
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(file, byKind.ConfigMap.data['srs.conf']);
  return { file, config: load(file, dir) };
}

test('the manifest parses: a ConfigMap, a Deployment and a Service, no YAML errors', { timeout: 180000 }, () => {
  for (const d of docs) assert.deepEqual(d.errors, []);
  assert.deepEqual(Object.keys(byKind).sort(), ['ConfigMap', 'Deployment', 'Service']);
});

test('the ConfigMap config is valid and agrees with conf/docker.conf', { timeout: 180000 }, () => {
  const dir = tmpdir();
  try {
    const { config: cm } = configMapConfig(dir);
    const docker = load('conf/docker.conf');
    assert.deepEqual(cm.listen.map((l) => l.port), docker.listen.map((l) => l.port));
    assert.equal(cm.httpApi.listen.port, docker.httpApi.listen.port);
    assert.equal(cm.httpServer.listen.port, docker.httpServer.listen.port);
    for (const c of [cm, docker]) {
      assert.equal(c.daemon, false);
      assert.equal(c.logTank, 'console');
      assert.equal(c.forceGraceQuit, true);
      assert.equal(c.inotifyAutoReload, true);
      assert.equal(c.autoReloadForDocker, true);
    }
    assert.equal(cm.graceStartWait, docker.graceStartWait);
    assert.equal(cm.graceFinalWait, docker.graceFinalWait);
    assert.ok(cm.graceMaxWait > 0, 'the drain is bounded, so the grace period can be');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('Deployment: ports, probes, preStop, config mount and grace period agree with the config and the image', { timeout: 180000 }, () => {
  const dir = tmpdir();
  try {
    const { config } = configMapConfig(dir);
    const pod = byKind.Deployment.spec.template.spec;
    const [c] = pod.containers;
    const ports = Object.fromEntries(c.ports.map((p) => [p.name, p.containerPort]));
    assert.deepEqual(ports, { rtmp: config.listen[0].port, api: config.httpApi.listen.port, http: config.httpServer.listen.port });
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'api' });
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'api' });

    // The command's config is the ConfigMap's key under its mount, relative to workingDir.
    assert.deepEqual(c.command.slice(0, 2), ['./objs/srs', '-c']);
    const mount = c.volumeMounts.find((m) => m.name === 'config');
    assert.equal(path.resolve(c.workingDir, c.command[2]), path.join(mount.mountPath, 'srs.conf'));
    assert.equal(mount.subPath, undefined, 'a subPath mount never sees ConfigMap updates');
    assert.equal(pod.volumes.find((v) => v.name === 'config').configMap.name, byKind.ConfigMap.metadata.name);

    // preStop: SIGQUIT through `srs -s quit`, which waits for the exit (a bare kill would let the
    // kubelet's SIGTERM arrive mid-drain and turn it into a fast quit).
    const hook = c.lifecycle.preStop.exec.command.join(' ');
    assert.match(hook, new RegExp(`cd ${c.workingDir} && exec \\./objs/srs -s quit -c ${c.command[2]} --timeout (\\d+)`));
    const hookTimeout = Number(/--timeout (\d+)/.exec(hook)[1]);

    const graceSeconds = (config.graceStartWait + config.graceMaxWait + config.graceFinalWait) / 1000;
    assert.ok(pod.terminationGracePeriodSeconds > graceSeconds, `${pod.terminationGracePeriodSeconds} s > ${graceSeconds} s`);
    assert.ok(hookTimeout > graceSeconds && hookTimeout <= pod.terminationGracePeriodSeconds);

    // The image: same root, same ports, the docker config exists.
    assert.match(dockerfile, new RegExp(`^WORKDIR ${c.workingDir}$`, 'm'));
    const exposed = /^EXPOSE (.+)$/m.exec(dockerfile)[1].split(/\s+/).map(Number).sort();
    assert.deepEqual(exposed, Object.values(ports).sort());
    assert.match(dockerfile, /^CMD \["\.\/objs\/srs", "-c", "conf\/docker\.conf"\]$/m);
    assert.match(dockerfile, /^FROM node:20-bookworm-slim$/m);
    assert.match(dockerfile, /make install DESTDIR=\/out PREFIX=\/usr\/local\/srs/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('Service: targets the container ports by name, selects the pods', { timeout: 180000 }, () => {
  const svc = byKind.Service;
  const c = byKind.Deployment.spec.template.spec.containers[0];
  assert.deepEqual(svc.spec.selector, byKind.Deployment.spec.template.metadata.labels);
  for (const p of svc.spec.ports) {
    const target = c.ports.find((cp) => cp.name === p.targetPort);
    assert.ok(target, `targetPort ${p.targetPort} is a container port`);
    assert.equal(p.port, target.containerPort);
  }
});

test('the ConfigMap config runs and answers the probe paths (ports moved by SRS_* overrides)', { timeout: 180000 }, async () => {
  const dir = tmpdir();
  const [rtmp, api, http] = await freePorts(3);
  const { file } = configMapConfig(dir);
  const srs = startSrs(['-c', file], {
    cwd: dir,
    env: { SRS_LISTEN: String(rtmp), SRS_HTTP_API_LISTEN: String(api), SRS_HTTP_SERVER_LISTEN: String(http), SRS_PID: path.join(dir, 'srs.pid') },
  });
  try {
    await srs.waitForLine(/ready, pid/);
    const c = byKind.Deployment.spec.template.spec.containers[0];
    assert.equal((await request(api, c.readinessProbe.httpGet.path)).status, 200);
    assert.equal((await request(api, c.livenessProbe.httpGet.path)).status, 200);
    srs.kill('SIGQUIT');
    await srs.waitForLine(/start gracefully quit/);
    assert.equal((await request(api, c.readinessProbe.httpGet.path)).status, 503, 'not ready once the graceful quit starts');
    assert.equal((await request(api, c.livenessProbe.httpGet.path)).status, 200, 'still alive while it drains');
    const { code } = await srs.waitForExit(15000);
    assert.equal(code, 0);
  } finally {
    killPid(srs.pid);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
