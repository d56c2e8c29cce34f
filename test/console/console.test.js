'use strict';
// The operator's console in a real browser (Debian's chromium, playwright-core) on a real srs:
// the panels fill from the event stream, axe-core finds nothing, every control is reached by the
// keyboard, a broken config's reload shows its file:line, and a SIGQUIT is watched phase by phase
// until the page says the server is gone. A screenshot of each step goes to the artefacts dir.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../helpers/harness');
const c = require('./support');

let browser;
test.before(async () => {
  browser = await c.launchBrowser();
});
test.after(async () => {
  await browser?.close();
});

test('a live server: panels fill, axe-core clean, keyboard reaches every control, a bad reload shows file:line, SIGQUIT until gone', async (t) => {
  const dir = h.tmpdir('srs-console-');
  t.after(() => c.rmrf(dir));
  const [rtmp, api, files] = await h.freePorts(3);
  // start_wait long enough to be seen; final_wait too
  const file = c.writeConsoleConfig(dir, { rtmp, api, files, startWait: 3000, finalWait: 1500 });
  const srs = await c.startServer(dir, file, api);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  t.after(() => context.close());
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));

  await t.test('the panels fill', async () => {
    await page.goto(`http://127.0.0.1:${api}/console/`);
    await c.waitForPanels(page);
    await c.waitForState(page, 'live');
    const text = await page.evaluate(() => ({
      process: document.getElementById('process-list').textContent,
      config: document.getElementById('config-list').textContent,
      listeners: document.getElementById('listeners-body').textContent,
      clients: document.getElementById('clients-body').textContent,
      grace: document.getElementById('grace-phase').textContent,
      reloadVisible: !document.getElementById('reload').hidden,
    }));
    assert.match(text.process, new RegExp(`PID${srs.pid} `), 'the process panel names the server pid');
    assert.match(text.process, /Daemonno: /, 'the daemon decision and its reason');
    assert.match(text.process, /Container/, 'container signs');
    assert.ok(text.config.includes(file), `the config panel names ${file}: ${text.config}`);
    assert.match(text.listeners, /http_api/, 'the API listener is listed');
    assert.match(text.clients, /http \(http_api\)/, 'the page\u2019s own connection is a client');
    assert.match(text.grace, /^serving/);
    assert.equal(text.reloadVisible, true, 'raw_api allow_reload on: the Reload button is there');
    await c.screenshot(page, '01-panels');
  });

  await t.test('axe-core reports no violations', async () => {
    const violations = await c.axeViolations(page);
    assert.deepEqual(violations, [], `axe-core: ${violations.join('\n')}`);
  });

  await t.test('every control is reached by the keyboard', async () => {
    const seen = new Set();
    await page.evaluate(() => document.activeElement?.blur());
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);
      seen.add(id);
    }
    for (const id of ['reload', 'log-level', 'log-lines']) assert.ok(seen.has(id), `Tab reaches #${id} (reached: ${[...seen].join(', ')})`);
  });

  await t.test('a broken config: Reload shows the error with its file:line', async () => {
    const good = fs.readFileSync(file, 'utf8');
    const lines = good.split('\n');
    const vhostLine = lines.findIndex((l) => l.startsWith('vhost __defaultVhost__')) + 1;
    const broken = good.replace('vhost __defaultVhost__ { }', 'vhost __defaultVhost__ {\n    gop_cache maybe;\n}');
    assert.notEqual(broken, good, 'the test broke the config');
    fs.writeFileSync(file, broken);
    // the keyboard presses it: focus, Enter
    await page.focus('#reload');
    await page.keyboard.press('Enter');
    const box = page.locator('#reload-error');
    await box.waitFor({ state: 'visible', timeout: 15000 });
    const where = await box.getAttribute('data-location');
    assert.equal(where, `${file}:${vhostLine + 1}:5`, 'the error names the file, line and column of the bad directive');
    assert.match(await box.textContent(), /gop_cache.*"maybe" is not on or off/);
    // the next snapshot carries the failed reload in the config panel too
    await page.waitForFunction(() => /failed \(api\)/.test(document.getElementById('config-list').textContent), null, { timeout: 10000 });
    await c.screenshot(page, '02-reload-error');
    fs.writeFileSync(file, good);
  });

  await t.test('SIGQUIT: the page follows the quit until the server is gone', async () => {
    // every status the page shows, in order
    await page.evaluate(() => {
      const link = document.getElementById('link');
      window.__states = [link.dataset.state];
      new MutationObserver(() => {
        const s = link.dataset.state;
        if (window.__states[window.__states.length - 1] !== s) window.__states.push(s);
      }).observe(link, { attributes: true, attributeFilter: ['data-state'] });
    });
    process.kill(srs.pid, 'SIGQUIT');
    await c.waitForState(page, 'quitting', 10000);
    const grace = await page.evaluate(() => document.getElementById('grace-phase').textContent);
    assert.doesNotMatch(grace, /^serving/, `the grace panel shows the quit: ${grace}`);
    assert.match(await page.evaluate(() => document.getElementById('link').textContent), /server quitting/);
    await c.screenshot(page, '03-quitting');
    await c.waitForState(page, 'gone', 20000);
    assert.match(await page.evaluate(() => document.getElementById('link').textContent), /gone/);
    await c.screenshot(page, '04-gone');
    const states = await page.evaluate(() => window.__states);
    assert.deepEqual(states.filter((s, i) => states.indexOf(s) === i), ['live', 'quitting', 'gone'], `states seen: ${states.join(' -> ')}`);
    const exit = await srs.waitForExit(20000);
    assert.equal(exit.code, 0, 'the graceful quit exits 0');
    assert.match(c.readLog(dir), /graceful quit done \(drained\)/, 'the console\u2019s stream did not hold the drain to a deadline');
  });

  assert.deepEqual(pageErrors, [], 'no script error in the page');
});

test('http_api.auth on: the page runs on the browser\u2019s Basic credentials and says so; without them 401', async (t) => {
  const dir = h.tmpdir('srs-console-');
  t.after(() => c.rmrf(dir));
  const [rtmp, api] = await h.freePorts(2);
  const file = c.writeConsoleConfig(dir, { rtmp, api, auth: true });
  const srs = await c.startServer(dir, file, api);
  t.after(() => srs.kill());

  const bare = await h.request(api, '/console/');
  assert.equal(bare.status, 401, 'the page itself is the API\u2019s: 401 without credentials');
  assert.match(bare.headers['www-authenticate'] ?? '', /^Basic /);
  const events = await h.request(api, '/api/v1/events');
  assert.equal(events.status, 401, 'so is its event stream');

  const context = await browser.newContext({ httpCredentials: { username: 'admin', password: 'secret' } });
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${api}/console/`);
  await c.waitForPanels(page);
  await c.waitForState(page, 'live');
  const config = await page.evaluate(() => document.getElementById('config-list').textContent);
  assert.match(config, /Authon: this page uses your browser\u2019s Basic credentials/);
  await c.screenshot(page, '05-auth');
});

test('http_api off: the console on the file server says plainly that the API is off', async (t) => {
  const dir = h.tmpdir('srs-console-');
  t.after(() => c.rmrf(dir));
  const [rtmp, files] = await h.freePorts(2);
  const file = c.writeConsoleConfig(dir, { rtmp, api: null, files });
  const srs = await c.startServer(dir, file, files);
  t.after(() => srs.kill());
  const context = await browser.newContext();
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${files}/console/`);
  await c.waitForState(page, 'api-off');
  assert.match(await page.evaluate(() => document.getElementById('link').textContent), /the HTTP API is off on this server/);
  await c.screenshot(page, '06-api-off');
  const violations = await c.axeViolations(page);
  assert.deepEqual(violations, [], `axe-core on the empty page: ${violations.join('\n')}`);
});

test('CORS as SRS sends it (crossdomain on by default): on answers, on 401s and on preflights', async (t) => {
  const dir = h.tmpdir('srs-console-');
  t.after(() => c.rmrf(dir));
  const [rtmp, api] = await h.freePorts(2);
  const file = c.writeConsoleConfig(dir, { rtmp, api, auth: true });
  const srs = await c.startServer(dir, file, api);
  t.after(() => srs.kill());
  const origin = { origin: 'http://dashboard.example' };
  const creds = { authorization: `Basic ${Buffer.from('admin:secret').toString('base64')}` };
  const ok = await h.request(api, '/api/v1/versions', { headers: { ...origin, ...creds } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['access-control-allow-origin'], '*');
  const denied = await h.request(api, '/api/v1/versions', { headers: origin });
  assert.equal(denied.status, 401);
  assert.equal(denied.headers['access-control-allow-origin'], '*', 'a dashboard can read why it was refused');
  const preflight = await h.request(api, '/api/v1/clients/abc', { method: 'OPTIONS', headers: { ...origin, 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' } });
  assert.equal(preflight.status, 200, 'a preflight carries no credentials and is answered');
  assert.match(preflight.headers['access-control-allow-methods'], /DELETE/);
  assert.match(preflight.headers['access-control-allow-headers'], /Authorization/);
  const same = await h.request(api, '/api/v1/versions', { headers: creds });
  assert.equal(same.headers['access-control-allow-origin'], undefined, 'no Origin, no CORS headers (as SRS)');
  assert.ok(path.isAbsolute(file));
});

test('SIGUSR2 upgrade: the page follows the handover to the new process', async (t) => {
  const dir = h.tmpdir('srs-console-upgrade-');
  t.after(() => c.rmrf(dir));
  const [rtmp, api] = await h.freePorts(2);
  const file = c.writeConsoleConfig(dir, { rtmp, api, finalWait: 200, extra: 'disable_daemon_for_docker off;' });
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('daemon off;', 'daemon on;'));
  const pidFile = path.join(dir, 'srs.pid');
  const r = await h.runSrsAsync(['-c', file], { cwd: dir });
  assert.equal(r.code, 0, r.output);
  const readPid = () => Number(fs.readFileSync(pidFile, 'utf8').trim());
  const old = h.track(readPid());
  let next = null;
  t.after(() => [old, next].forEach((p) => p && h.killPid(p)));
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${api}/console/`);
  await c.waitForPanels(page);
  await c.waitForState(page, 'live');
  assert.match(await page.evaluate(() => document.getElementById('process-list').textContent), new RegExp(`PID${old} `));
  await page.evaluate(() => {
    const link = document.getElementById('link');
    window.__states = [link.dataset.state];
    new MutationObserver(() => {
      const st = link.dataset.state;
      if (window.__states[window.__states.length - 1] !== st) window.__states.push(st);
    }).observe(link, { attributes: true, attributeFilter: ['data-state'] });
  });
  process.kill(old, 'SIGUSR2');
  next = await h.waitFor(`a new pid in ${pidFile} after SIGUSR2`, () => {
    try {
      const p = readPid();
      return p && p !== old ? h.track(p) : null;
    } catch {
      return null;
    }
  }, 20000);
  await page.waitForFunction((pid) => new RegExp(`PID${pid} `).test(document.getElementById('process-list').textContent), next, { timeout: 20000 });
  await c.waitForState(page, 'live');
  const proc = await page.evaluate(() => document.getElementById('process-list').textContent);
  assert.match(proc, new RegExp(`Upgrade generation2 \\(took over from pid ${old}\\)`), proc);
  assert.match(proc, /Inherited.*http_api/, 'the inherited listeners are named');
  const states = await page.evaluate(() => window.__states);
  assert.deepEqual(states, ['live', 'quitting', 'live'], `states seen: ${states.join(' -> ')}`);
  await c.screenshot(page, '07-upgraded');
  await h.waitFor(`the old process ${old} to exit after the handover`, () => h.pidGone(old), 20000);
});
