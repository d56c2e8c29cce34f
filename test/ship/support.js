'use strict';
// Helpers for the shipping tests (test/ship/*.test.js): `make install` into a temp prefix, run
// commands with deadlines, read the installed server's pid file. Not a test file itself.
const fs = require('node:fs');
const path = require('node:path');
const { ROOT, track, killPid, pidGone, childPidsOf: childrenOf, run: harnessRun } = require('../helpers/harness');

/** Run a command to completion, asynchronously, killed at the deadline (60 s unless told). */
function run(cmd, args, opts = {}) {
  return harnessRun(cmd, args, { timeoutMs: 60000, ...opts });
}

/** `make install` with PREFIX (and DESTDIR); throws with make's output when it fails. */
async function makeInstall({ prefix, destdir = '' }) {
  const r = await run('make', ['install', `PREFIX=${prefix}`, `DESTDIR=${destdir}`], { timeoutMs: 180000 });
  if (r.code !== 0) throw new Error(`make install failed (${r.code}):\n${r.output.slice(-4000)}`);
  return r;
}

/** The pid in a pid file, or null. */
function readPid(file) {
  try {
    const n = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** Every file (not directory) under dir, relative, sorted. */
function filesUnder(dir) {
  const out = [];
  (function walk(d) {
    let entries;
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  })(dir);
  return out.sort();
}

/** Kill a pid and wait (bounded) until it is gone or a zombie. */
async function killAndWait(pid, signal = 'SIGKILL', timeoutMs = 5000) {
  if (!pid) return;
  killPid(pid, signal);
  const deadline = Date.now() + timeoutMs;
  while (!pidGone(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

/** ppid, then its descendants, depth first (for cleanup of a supervisor tree). */
function descendants(pid) {
  const all = [];
  for (const kid of childrenOf(pid)) all.push(...descendants(kid), kid);
  return all;
}

module.exports = { run, makeInstall, readPid, filesUnder, killAndWait, childrenOf, descendants };
