'use strict';
// The chaos suite's one convention: every case says what it tried and what held, in the test
// output (a diagnostic) and on stdout, so a CI log reads as a report.
function report(t, tried, held) {
  const line = `chaos: ${t.name}: tried ${tried}; held: ${held}`;
  t.diagnostic(line);

}

/** Open fds of a process, by what they point at. */
function fdsOf(pid) {
  const fs = require('node:fs');
  const out = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.push(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** VmRSS of a process, in MB. */
function rssMB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

module.exports = { report, fdsOf, rssMB };
