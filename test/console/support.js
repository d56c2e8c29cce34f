'use strict';
// The console's browser tests: Debian's chromium driven by playwright-core, a real srs with the
// config each test needs, and an artefacts dir for the screenshots of every step (printed once).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('../helpers/harness');

const CHROMIUM = process.env.SRS_TEST_CHROMIUM || '/usr/bin/chromium';
const CONSOLE_HTML = path.join(h.ROOT, 'objs', 'nginx', 'html');

let artefactsDir = null;
/** One dir per test process for the screenshots; kept after the run (they are the artefacts). */
function artefacts() {
  if (!artefactsDir) {
    artefactsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'srs-console-artefacts-'));
    console.log(`# console screenshots: ${artefactsDir}`);
  }
  return artefactsDir;
}

async function screenshot(page, name) {
  const file = path.join(artefacts(), `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Chromium, or a clear failure naming what is missing (.ci/run installs it). */
async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium (.ci/run does)`);
  const { chromium } = require('playwright-core');
  // root in a container: chromium's sandbox needs user namespaces it does not get here
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'] });
}

/**
 * A config for the console's tests, in SRS's grammar: the API (optionally with auth and the raw
 * API's reload), the file server on objs/nginx/html (where the build puts the console), grace waits.
 * No config watch (this machine is a container): a test's own edit, read half-written by the
 * watcher, would reload before the test presses Reload.
 */
function writeConsoleConfig(dir, { rtmp, api, files = null, auth = false, allowReload = true, startWait = 0, finalWait = 0, extra = '', vhost = '' }) {
  const text = `listen ${rtmp};
max_connections 100;
daemon off;
pid ${path.join(dir, 'srs.pid')};
srs_log_tank file;
srs_log_file ${path.join(dir, 'srs.log')};
srs_log_level trace;
grace_start_wait ${startWait};
grace_final_wait ${finalWait};
auto_reload_for_docker off;
${extra}
${
  api
    ? `http_api {
    enabled on;
    listen ${api};
    raw_api { enabled on; allow_reload ${allowReload ? 'on' : 'off'}; }
    ${auth ? 'auth { enabled on; username admin; password secret; }' : ''}
}`
    : 'http_api { enabled off; }'
}
${files ? `http_server { enabled on; listen ${files}; dir ${CONSOLE_HTML}; }` : ''}
vhost __defaultVhost__ ${vhost ? `{ ${vhost} }` : '{ }'}
`;
  const file = path.join(dir, 'srs.conf');
  fs.writeFileSync(file, text);
  h.trackPidFile(path.join(dir, 'srs.pid'));
  return file;
}

/** Start srs on that config and wait until the port the test opens answers. */
async function startServer(dir, file, port) {
  const srs = h.startSrs(['-c', file], { cwd: dir });
  await h.waitFor(() => `srs listening on ${port} (output: ${srs.output.slice(-1500)}, log: ${readLog(dir).slice(-1500)})`, () => h.canConnect(port), 15000, 50);
  return srs;
}

function readLog(dir) {
  try {
    return fs.readFileSync(path.join(dir, 'srs.log'), 'utf8');
  } catch {
    return '';
  }
}

/** The page's status line's state (data-state) once it equals `want`, or a failure naming what it was. */
async function waitForState(page, want, timeoutMs = 15000) {
  try {
    await page.waitForFunction((w) => document.getElementById('link')?.dataset.state === w, want, { timeout: timeoutMs });
  } catch {
    const now = await page.evaluate(() => `${document.getElementById('link')?.dataset.state}: ${document.getElementById('link')?.textContent}`);
    throw new Error(`the console's status did not become "${want}" within ${timeoutMs} ms; it says ${now}`);
  }
}

/** Wait for the page to have drawn a snapshot (body[data-filled]). */
async function waitForPanels(page, timeoutMs = 15000) {
  try {
    await page.waitForFunction(() => document.body.dataset.filled === 'yes', null, { timeout: timeoutMs });
  } catch {
    const link = await page.evaluate(() => document.getElementById('link')?.textContent);
    throw new Error(`the console's panels were not filled within ${timeoutMs} ms; status: ${link}`);
  }
}

/** axe-core's violations on the page as it is, one line each. */
async function axeViolations(page) {
  const source = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.addScriptTag({ content: source });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  return result;
}

function rmrf(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}

module.exports = { artefacts, screenshot, launchBrowser, writeConsoleConfig, startServer, readLog, waitForState, waitForPanels, axeViolations, rmrf, CONSOLE_HTML };
