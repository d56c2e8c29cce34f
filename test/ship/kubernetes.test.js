'use strict';
// Every manifest in etc/kubernetes/, offline (no cluster here): each object is checked against
// the Kubernetes API schemas of kubernetes-models (its JSON-schema validators: types, required
// fields, enums) and, because those accept unknown fields, also type-checked against the same
// package's TypeScript interfaces, whose excess-property check catches a misspelt field as
// `kubectl apply --validate=strict` would. The srs configs in the ConfigMaps are loaded by srs's
// own `./objs/srs -t -c`. Then the objects must fit together: Services select their pods and
// target named ports, probes use /readyz and /healthz, preStop and the grace period cover the
// config's graceful quit, the HPA scales the edge Deployment, and the edges' origin is the origin
// StatefulSet's pod 0 behind its headless Service.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');
const ts = require('typescript');
const { ROOT, tmpdir, runSrs } = require('../helpers/harness');
const { loadConfig } = require(path.join(ROOT, 'dist', 'config', 'load'));

const DIR = path.join(ROOT, 'etc/kubernetes');
const files = fs.readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
/** [{ file, index, doc (YAML.Document), obj }] for every document of every manifest */
const objects = files.flatMap((file) => YAML.parseAllDocuments(fs.readFileSync(path.join(DIR, file), 'utf8'))
  .map((doc, index) => ({ file, index, doc, obj: doc.toJS() })));
const where = (o) => `${o.file} #${o.index} ${o.obj?.kind ?? '?'}/${o.obj?.metadata?.name ?? '?'}`;

/** The kubernetes-models module of a kind, e.g. apps/v1 Deployment -> kubernetes-models/apps/v1/Deployment. */
function modelPath(obj) {
  return `kubernetes-models/${obj.apiVersion}/${obj.kind}`;
}

/**
 * TypeScript diagnostics for objects typed as their kubernetes-models interface (I<Kind>): a
 * field the API does not have is an excess property of an object literal. Returns one line per
 * diagnostic, naming the object.
 */
function typeCheck(list) {
  const name = path.join(ROOT, 'test', 'ship', '__k8s_manifests__.ts');
  const lines = [];
  const owners = [];
  list.forEach((o, i) => {
    lines.push(`import type { I${o.obj.kind} as T${i} } from ${JSON.stringify(modelPath(o.obj))};`);
  });
  list.forEach((o, i) => {
    const start = lines.length;
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(o.obj, null, 1)};`);
    owners.push({ from: start, to: lines.length + JSON.stringify(o.obj, null, 1).split('\n').length, o });
  });
  const source = lines.join('\n');
  const options = { strict: true, noEmit: true, skipLibCheck: true, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, target: ts.ScriptTarget.ES2020, types: [] };
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  const exists = host.fileExists.bind(host);
  const getSource = host.getSourceFile.bind(host);
  host.readFile = (f) => (path.resolve(f) === name ? source : read(f));
  host.fileExists = (f) => path.resolve(f) === name || exists(f);
  host.getSourceFile = (f, lang, ...rest) => (path.resolve(f) === name ? ts.createSourceFile(f, source, lang) : getSource(f, lang, ...rest));
  const program = ts.createProgram([name], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    const owner = owners.find((w) => line >= w.from && line < w.to);
    return `${owner ? where(owner.o) : '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

const byKind = (kind, file) => objects.filter((o) => o.obj.kind === kind && (!file || o.file === file)).map((o) => o.obj);
const workloads = objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.obj.kind));

/** The ConfigMap key a workload's `-c` names, through its config volume. */
function workloadConfig(o) {
  const pod = o.obj.spec.template.spec;
  const [c] = pod.containers;
  const conf = path.posix.resolve(c.workingDir, c.command[c.command.indexOf('-c') + 1]);
  const mount = c.volumeMounts.find((m) => conf.startsWith(`${m.mountPath}/`));
  assert.ok(mount, `${where(o)}: the config ${conf} is on a mounted volume`);
  assert.equal(mount.subPath, undefined, `${where(o)}: a subPath mount never sees ConfigMap updates`);
  const volume = pod.volumes.find((v) => v.name === mount.name);
  const cm = byKind('ConfigMap', o.file).find((m) => m.metadata.name === volume.configMap?.name);
  assert.ok(cm, `${where(o)}: ConfigMap ${volume.configMap?.name} is in ${o.file}`);
  const key = path.posix.relative(mount.mountPath, conf);
  assert.ok(cm.data[key], `${where(o)}: ConfigMap ${cm.metadata.name} has the key ${key}`);
  return { container: c, pod, text: cm.data[key], cm };
}

function loadText(text) {
  const dir = tmpdir('srs-k8s-');
  try {
    const file = path.join(dir, 'srs.conf');
    fs.writeFileSync(file, text);
    return loadConfig({ file, envOnly: false, env: {}, cwd: dir }).config;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('etc/kubernetes: the origin, the edges and the single server, every document parses', () => {
  assert.deepEqual(files, ['srs-edge.yaml', 'srs-origin.yaml', 'srs.yaml']);
  for (const o of objects) assert.deepEqual(o.doc.errors, [], where(o));
  assert.deepEqual(byKind('StatefulSet', 'srs-origin.yaml').map((s) => s.metadata.name), ['srs-origin']);
  assert.deepEqual(byKind('Deployment', 'srs-edge.yaml').map((s) => s.metadata.name), ['srs-edge']);
  assert.equal(byKind('HorizontalPodAutoscaler', 'srs-edge.yaml').length, 1);
});

test('every object validates against its Kubernetes API schema (kubernetes-models)', () => {
  for (const o of objects) {
    const mod = require(modelPath(o.obj));
    const Model = mod[o.obj.kind];
    assert.ok(Model, `${where(o)}: kubernetes-models knows ${o.obj.apiVersion} ${o.obj.kind}`);
    assert.doesNotThrow(() => new Model(o.obj).validate(), where(o));
  }
  // the check can fail: a port given as text where the schema wants an integer
  const edge = structuredClone(byKind('Deployment', 'srs-edge.yaml')[0]);
  edge.spec.template.spec.containers[0].ports[0].containerPort = '1935';
  const { Deployment } = require('kubernetes-models/apps/v1/Deployment');
  assert.throws(() => new Deployment(edge).validate(), /containerPort must be integer/);
});

test('no object has a field the Kubernetes API does not know (typed with the same schemas)', { timeout: 120000 }, () => {
  assert.deepEqual(typeCheck(objects), []);
  // the check can fail: a misspelt field, as a hand-edited manifest may have
  const edge = objects.find((o) => o.obj.kind === 'Deployment' && o.file === 'srs-edge.yaml');
  const typo = structuredClone(edge.obj);
  typo.spec.template.spec.containers[0].readinesProbe = typo.spec.template.spec.containers[0].readinessProbe;
  const errors = typeCheck([{ ...edge, obj: typo }]);
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0], /readinesProbe/);
});

test('every srs config in a ConfigMap passes `srs -t`; a typo would fail it', () => {
  const dir = tmpdir('srs-k8s-');
  try {
    const configs = byKind('ConfigMap').flatMap((cm) => Object.entries(cm.data).filter(([k]) => k.endsWith('.conf')).map(([k, v]) => [`${cm.metadata.name}/${k}`, v]));
    assert.equal(configs.length, 3, configs.map(([n]) => n).join(', '));
    for (const [name, text] of configs) {
      const file = path.join(dir, name.replace('/', '_'));
      fs.writeFileSync(file, text);
      const r = runSrs(['-t', '-c', file], { cwd: ROOT });
      assert.equal(r.code, 0, `${name}: ${r.output}`);
      fs.writeFileSync(file, text.replace(/^(\s*)listen(\s+\d+;)/m, '$1lisen$2'));
      const bad = runSrs(['-t', '-c', file], { cwd: ROOT });
      assert.equal(bad.code, 3, `${name} with a typo: ${bad.output}`);
      assert.match(bad.output, /lisen/);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('workloads: probes, ports, preStop and grace period agree with their config', () => {
  assert.equal(workloads.length, 3);
  for (const o of workloads) {
    const { container: c, pod, text } = workloadConfig(o);
    const config = loadText(text);
    const ports = Object.fromEntries(c.ports.map((p) => [p.name, p.containerPort]));
    assert.deepEqual(ports, { rtmp: config.listen[0].port, api: config.httpApi.listen.port, http: config.httpServer.listen.port }, where(o));
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'api' }, where(o));
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'api' }, where(o));
    assert.deepEqual(o.obj.spec.selector.matchLabels, o.obj.spec.template.metadata.labels, `${where(o)}: selects its own pods`);

    // a stop is graceful whatever sends it: SIGTERM is graceful with force_grace_quit on
    assert.equal(config.forceGraceQuit, true, `${where(o)}: force_grace_quit on`);
    assert.ok(config.graceMaxWait > 0, `${where(o)}: the drain is bounded (grace_max_wait), so the grace period can be`);
    const hook = c.lifecycle.preStop.exec.command.join(' ');
    const confArg = c.command[c.command.indexOf('-c') + 1];
    assert.match(hook, new RegExp(`cd ${c.workingDir} && exec \\./objs/srs -s quit -c ${confArg} --timeout (\\d+)`), where(o));
    const hookTimeout = Number(/--timeout (\d+)/.exec(hook)[1]);
    const graceSeconds = (config.graceStartWait + config.graceMaxWait + config.graceFinalWait) / 1000;
    assert.ok(pod.terminationGracePeriodSeconds > graceSeconds, `${where(o)}: ${pod.terminationGracePeriodSeconds} s > ${graceSeconds} s`);
    assert.ok(hookTimeout > graceSeconds && hookTimeout <= pod.terminationGracePeriodSeconds, `${where(o)}: ${graceSeconds} < --timeout ${hookTimeout} <= ${pod.terminationGracePeriodSeconds}`);
    // lifecycle.stopSignal (alpha, Kubernetes 1.33) is only valid with spec.os.name
    if (c.lifecycle.stopSignal !== undefined) {
      assert.equal(c.lifecycle.stopSignal, 'SIGQUIT', where(o));
      assert.equal(pod.os?.name, 'linux', `${where(o)}: stopSignal needs spec.os.name`);
    }
  }
});

test('Services select their pods and target named container ports', () => {
  for (const svc of objects.filter((o) => o.obj.kind === 'Service')) {
    const targets = workloads.filter((w) => w.file === svc.file && Object.entries(svc.obj.spec.selector).every(([k, v]) => w.obj.spec.template.metadata.labels[k] === v));
    assert.equal(targets.length, 1, `${where(svc)} selects one workload of ${svc.file}`);
    const c = targets[0].obj.spec.template.spec.containers[0];
    for (const p of svc.obj.spec.ports) {
      const target = c.ports.find((cp) => cp.name === p.targetPort);
      assert.ok(target, `${where(svc)}: targetPort ${p.targetPort} is a container port`);
      assert.equal(p.port, target.containerPort, `${where(svc)}: ${p.name}`);
    }
  }
});

test('the edge: HPA scales its Deployment by CPU requests; its origin is the StatefulSet\'s pod 0', () => {
  const [hpa] = byKind('HorizontalPodAutoscaler', 'srs-edge.yaml');
  const edgeObj = workloads.find((w) => w.file === 'srs-edge.yaml');
  const edge = edgeObj.obj;
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: edge.apiVersion, kind: edge.kind, name: edge.metadata.name });
  assert.equal(edge.spec.replicas, undefined, 'the HPA owns the replica count');
  assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas > hpa.spec.minReplicas);
  for (const m of hpa.spec.metrics.filter((x) => x.type === 'Resource')) {
    assert.ok(edge.spec.template.spec.containers[0].resources.requests[m.resource.name], `a ${m.resource.name} request for Utilization`);
  }

  const [origin] = byKind('StatefulSet', 'srs-origin.yaml');
  const headless = byKind('Service', 'srs-origin.yaml').find((s) => s.metadata.name === origin.spec.serviceName);
  assert.ok(headless, `the StatefulSet's serviceName ${origin.spec.serviceName} is a Service`);
  assert.equal(headless.spec.clusterIP, 'None', 'headless: pods get stable DNS names');
  const rtmpPort = headless.spec.ports.find((p) => p.name === 'rtmp').port;

  const edgeConfig = loadText(workloadConfig(edgeObj).text);
  const originConfig = loadText(workloadConfig(workloads.find((w) => w.file === 'srs-origin.yaml')).text);
  const cluster = edgeConfig.vhostConfigs[edgeConfig.vhosts.indexOf('__defaultVhost__')].cluster;
  assert.equal(cluster.mode, 'remote');
  assert.deepEqual(cluster.origins.map((a) => a.text), [`${origin.metadata.name}-0.${origin.spec.serviceName}:${rtmpPort}`]);
  assert.equal(originConfig.vhostConfigs[originConfig.vhosts.indexOf('__defaultVhost__')].cluster.mode, 'local', 'the origin is not an edge');
});
