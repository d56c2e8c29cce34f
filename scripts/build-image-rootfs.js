#!/usr/bin/env node
'use strict';
// Build the Dockerfile's image as a directory tree, without a Docker engine:
//   node scripts/build-image-rootfs.js OUT [--base ROOTFS] [--dockerfile FILE]
// OUT/rootfs is the image's filesystem; OUT/image.json its config (user, workdir, cmd, env,
// exposed ports), as `docker inspect` would report them. test/ship/image.test.js runs it under
// systemd-nspawn with the command as PID 1.
//
// The base image node:20-bookworm-slim is emulated from what is here: a Debian bookworm rootfs
// (scripts/ci-systemd-setup.sh builds and caches it in /var/cache/srs-test-rootfs), the host's
// node binary at /usr/local/bin/node (the host runs node 20, the tag's major, checked), and the
// node user and group with uid/gid 1000 as the node image's own Dockerfile creates them. The
// runtime stage's directives are then followed one by one, so the script stays in step with the
// Dockerfile: a directive it does not know fails the build instead of being skipped.
//   COPY --from=<build stage> SRC DST   the build stage's `make install DESTDIR=D PREFIX=P` is run
//                                       here (DESTDIR in a staging dir), SRC taken from under it
//   COPY SRC DST                        from the repository (the build context)
//   WORKDIR, RUN (shell form, in a chroot), USER, EXPOSE, CMD (exec form), ENV, LABEL
//
// The base is hard-linked, not copied (245 MB; cp -al takes well under a second, cp -a 5 s),
// except /etc and /var/log, which useradd rewrites. A step that changes a linked file in place
// would change the cached base too: the build checks the base's ctimes afterwards and fails
// naming the files. Run the tree with a throwaway writable layer on top (systemd-nspawn
// --volatile=overlay, as docker's container layer) so that nothing writes through a link.
//
// Exit codes: 0 built, 1 a step failed, 2 usage, 3 the Dockerfile asks for what this cannot build.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const DEFAULT_BASE = process.env.SRS_TEST_ROOTFS || '/var/cache/srs-test-rootfs';

class BuildError extends Error {
  constructor(message, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Parse a Dockerfile into stages: [{ from, name, instructions: [{ line, op, args }] }].
 * Handles comments, line continuations and `FROM image AS name`; op is upper case; args is the
 * rest of the instruction, continuations joined with a space. Exec-form arguments stay as text
 * (execForm() parses them).
 */
function parseDockerfile(text) {
  const stages = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i];
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, ' ') + lines[++i].trim();
    }
    const m = /^\s*([A-Za-z]+)\s+(.*?)\s*$/.exec(line);
    if (!m) throw new BuildError(`Dockerfile:${start}: cannot parse '${line.trim()}'`, 3);
    const op = m[1].toUpperCase();
    const args = m[2];
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new BuildError(`Dockerfile:${start}: FROM wants 'image [AS name]', got '${args}'`, 3);
      stages.push({ from: f[1], name: f[2] ?? null, line: start, instructions: [] });
      continue;
    }
    if (stages.length === 0) throw new BuildError(`Dockerfile:${start}: ${op} before the first FROM`, 3);
    stages[stages.length - 1].instructions.push({ line: start, op, args });
  }
  if (stages.length === 0) throw new BuildError('Dockerfile: no FROM', 3);
  return stages;
}

/** An exec-form argument list (`["a", "b"]`), or null when the instruction uses the shell form. */
function execForm(args) {
  if (!args.startsWith('[')) return null;
  const v = JSON.parse(args);
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new BuildError(`not a list of strings: ${args}`, 3);
  return v;
}

/**
 * What `docker inspect` would show of the final stage's config: { user, workdir, cmd, env,
 * expose (numbers), from }. Pure: from the parsed Dockerfile alone.
 */
function imageConfig(stages) {
  const final = stages[stages.length - 1];
  const config = { from: final.from, user: 'root', workdir: '/', cmd: null, env: {}, expose: [], labels: {} };
  for (const ins of final.instructions) {
    if (ins.op === 'USER') config.user = ins.args;
    else if (ins.op === 'WORKDIR') config.workdir = path.posix.resolve(config.workdir, ins.args);
    else if (ins.op === 'CMD') config.cmd = execForm(ins.args) ?? ['/bin/sh', '-c', ins.args];
    else if (ins.op === 'EXPOSE') config.expose.push(...ins.args.split(/\s+/).map((p) => Number.parseInt(p, 10)));
    else if (ins.op === 'ENV') {
      const m = /^(\S+?)(?:=|\s+)(.*)$/.exec(ins.args);
      if (m) config.env[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
    } else if (ins.op === 'LABEL') {
      const m = /^(\S+?)=(.*)$/.exec(ins.args);
      if (m) config.labels[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
    }
  }
  return config;
}

const KNOWN = new Set(['COPY', 'WORKDIR', 'RUN', 'ENV', 'USER', 'EXPOSE', 'CMD', 'LABEL']);

/** Refuse, before building anything, a final stage this script cannot follow (exit code 3). */
function checkFollowable(stages) {
  const final = stages[stages.length - 1];
  for (const ins of final.instructions) {
    if (!KNOWN.has(ins.op)) {
      throw new BuildError(`Dockerfile:${ins.line}: scripts/build-image-rootfs.js does not know ${ins.op}; teach it, so image and Dockerfile stay in step`, 3);
    }
  }
  const m = /^node:(\d+)-(\w+)(?:-slim)?$/.exec(final.from);
  if (!m) throw new BuildError(`Dockerfile:${final.line}: FROM ${final.from}: only node:<major>-<debian>[-slim] bases can be emulated here`, 3);
  const hostMajor = process.versions.node.split('.')[0];
  if (hostMajor !== m[1]) throw new BuildError(`Dockerfile:${final.line}: FROM ${final.from} wants node ${m[1]}; this host's node is ${process.versions.node}`, 3);
  return { codename: m[2] };
}

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw new BuildError(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new BuildError(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${(r.stdout + r.stderr).slice(-4000)}`);
  return r.stdout;
}

/** `make install DESTDIR=D PREFIX=P` in a stage's RUN lines: { destdir, prefix }, or null. */
function makeInstallOf(stage) {
  for (const ins of stage.instructions) {
    if (ins.op !== 'RUN') continue;
    const m = /make install DESTDIR=(\S+) PREFIX=(\S+)/.exec(ins.args);
    if (m) return { destdir: m[1], prefix: m[2] };
  }
  return null;
}

/** The base image: Debian rootfs + node + the node user (node:<major>-bookworm-slim). */
function buildBase(from, codename, base, rootfs, log) {
  if (!fs.existsSync(path.join(base, '.srs-rootfs-complete'))) {
    throw new BuildError(`no base rootfs at ${base}: run scripts/ci-systemd-setup.sh ${base}`, 1);
  }
  const osRelease = fs.readFileSync(path.join(base, 'etc/os-release'), 'utf8');
  const baseCodename = /^VERSION_CODENAME=(\S+)/m.exec(osRelease)?.[1];
  if (baseCodename !== codename) throw new BuildError(`FROM ${from} wants Debian ${codename}; ${base} is ${baseCodename}`, 3);

  log(`base: ${base} (Debian ${baseCodename}) + node ${process.versions.node} from ${process.execPath}`);
  fs.mkdirSync(rootfs, { recursive: true });
  // hard links for everything but /etc (see the header); a copy when they cannot be linked
  const entries = fs.readdirSync(base).filter((e) => e !== 'etc' && e !== '.srs-rootfs-complete');
  const linked = spawnSync('cp', ['-al', ...entries.map((e) => path.join(base, e)), rootfs], { encoding: 'utf8' });
  if (linked.status !== 0) sh('cp', ['-a', ...entries.map((e) => path.join(base, e)), rootfs]);
  // from here on, a base file whose inode changes was changed through a link (the kernel's
  // coarse clock never stamps ahead of Date.now(), so the links just made are older)
  const linkedSince = Date.now();
  sh('cp', ['-a', path.join(base, 'etc'), rootfs]);
  // useradd rewrites /var/log/lastlog and faillog in place: real copies, too
  fs.rmSync(path.join(rootfs, 'var/log'), { recursive: true, force: true });
  sh('cp', ['-a', path.join(base, 'var/log'), path.join(rootfs, 'var/log')]);

  // node:*-slim: /usr/local/bin/node, and the node user and group (uid and gid 1000, bash, a home)
  const node = path.join(rootfs, 'usr/local/bin/node');
  fs.mkdirSync(path.dirname(node), { recursive: true });
  fs.copyFileSync(fs.realpathSync(process.execPath), node, fs.constants.COPYFILE_FICLONE);
  fs.chmodSync(node, 0o755);
  chroot(rootfs, 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node');
  return linkedSince;
}

function chroot(rootfs, command, env = {}) {
  sh('chroot', [rootfs, '/bin/sh', '-c', command], {
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', ...env },
  });
}

/** Files under dir (not /etc: copied, not linked) whose inode changed after `sinceMs`. */
function changedSince(dir, sinceMs) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (d === dir && e.name === 'etc') continue;
      if (p === path.join(dir, 'var/log')) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && fs.lstatSync(p).ctimeMs > sinceMs) out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

/** Inside the rootfs; refuses paths that would leave it. */
function inside(rootfs, p) {
  const full = path.join(rootfs, path.posix.resolve('/', p));
  if (!full.startsWith(rootfs + path.sep) && full !== rootfs) throw new BuildError(`${p} leaves the image root`, 3);
  return full;
}

/**
 * Build the image described by `dockerfile` into out/rootfs and out/image.json.
 * Throws BuildError (exitCode 1 or 3) with the step that failed.
 */
function buildImage({ out, base = DEFAULT_BASE, dockerfile = path.join(ROOT, 'Dockerfile'), log = () => {} }) {
  const stages = parseDockerfile(fs.readFileSync(dockerfile, 'utf8'));
  const final = stages[stages.length - 1];
  const { codename } = checkFollowable(stages);
  const rootfs = path.join(path.resolve(out), 'rootfs');
  fs.rmSync(rootfs, { recursive: true, force: true });
  // hard links share their inode (and ctime) with the cached base: a step that changed one in
  // place (chown, chmod, a write) changed the cache; find it rather than leave it unnoticed
  const linkedSince = buildBase(final.from, codename, base, rootfs, log);

  let workdir = '/';
  const env = {};
  for (const ins of final.instructions) {
    const where = `Dockerfile:${ins.line}: ${ins.op} ${ins.args}`;
    log(where);
    switch (ins.op) {
      case 'COPY': {
        const words = ins.args.split(/\s+/);
        const from = words[0].startsWith('--from=') ? words.shift().slice('--from='.length) : null;
        if (words.length !== 2 || words.some((w) => w.startsWith('--'))) throw new BuildError(`${where}: only 'COPY [--from=stage] SRC DST' is supported`, 3);
        const [src, dst] = words;
        let source;
        let stage = null;
        if (from !== null) {
          const built = stages.find((s) => s.name === from);
          const install = built && makeInstallOf(built);
          if (!install) throw new BuildError(`${where}: stage ${from} has no 'make install DESTDIR=... PREFIX=...' to reproduce`, 3);
          const rel = path.posix.relative(install.destdir, src);
          if (rel.startsWith('..')) throw new BuildError(`${where}: ${src} is not under the stage's DESTDIR ${install.destdir}`, 3);
          stage = fs.mkdtempSync(path.join(path.resolve(out), 'stage-'));
          // the build stage's step, on this tree (built already: make install builds what is stale)
          sh('make', ['install', `DESTDIR=${stage}`, `PREFIX=${install.prefix}`], { cwd: ROOT });
          source = path.join(stage, rel);
        } else {
          source = path.join(ROOT, src);
        }
        const target = inside(rootfs, path.posix.resolve(workdir, dst));
        fs.mkdirSync(path.dirname(target), { recursive: true });
        sh('cp', ['-a', '-T', source, target]);
        if (stage) fs.rmSync(stage, { recursive: true, force: true });
        break;
      }
      case 'WORKDIR':
        workdir = path.posix.resolve(workdir, ins.args);
        fs.mkdirSync(inside(rootfs, workdir), { recursive: true });
        break;
      case 'RUN':
        if (execForm(ins.args)) throw new BuildError(`${where}: only the shell form of RUN is supported`, 3);
        chroot(rootfs, `cd ${workdir} && ${ins.args}`, env);
        break;
      case 'ENV': {
        const m = /^(\S+?)(?:=|\s+)(.*)$/.exec(ins.args);
        if (m) env[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
        break;
      }
      case 'USER':
      case 'EXPOSE':
      case 'CMD':
      case 'LABEL':
        break; // config only: imageConfig() records them
      default:
        throw new BuildError(`${where}: not followable`, 3); // checkFollowable() refused it already
    }
  }
  const touched = changedSince(base, linkedSince);
  if (touched.length) {
    throw new BuildError(`a step changed ${touched.length} file(s) of the base ${base} through their hard links (${touched.slice(0, 5).join(', ')}): rebuild the base (rm -rf ${base}; scripts/ci-systemd-setup.sh)`);
  }
  const config = imageConfig(stages);
  if (!config.cmd) throw new BuildError('Dockerfile: the final stage has no CMD', 3);
  fs.writeFileSync(path.join(path.resolve(out), 'image.json'), `${JSON.stringify({ ...config, rootfs }, null, 2)}\n`);
  return { rootfs, config };
}

function main(argv) {
  const args = [...argv];
  const opt = (name) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const [, v] = args.splice(i, 2);
    return v;
  };
  const base = opt('--base');
  const dockerfile = opt('--dockerfile');
  if (args.length !== 1 || args[0].startsWith('-')) {
    process.stderr.write('usage: node scripts/build-image-rootfs.js OUT [--base ROOTFS] [--dockerfile FILE]\n');
    return 2;
  }
  try {
    const { rootfs } = buildImage({ out: args[0], base, dockerfile, log: (l) => process.stdout.write(`${l}\n`) });
    process.stdout.write(`image built: ${rootfs} (config: ${path.join(path.resolve(args[0]), 'image.json')})\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof BuildError)) throw e;
    process.stderr.write(`build-image-rootfs: ${e.message}\n`);
    return e.exitCode;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

module.exports = { parseDockerfile, imageConfig, checkFollowable, buildImage, BuildError };
