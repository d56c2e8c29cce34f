'use strict';
// The console's panels that need the controller's fields (src/server/console-context.ts): log tail
// with its level filter, config generation, listeners with their addresses, and the graceful quit
// phase by phase with its countdowns. Needs the controller wiring (see the console's docs).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const h = require('../helpers/harness');
const c = require('./support');

test('log tail, generation, listeners, and the quit phase by phase with countdowns', async (t) => {
  const browser = await c.launchBrowser();
  t.after(() => browser.close());
  const dir = h.tmpdir('srs-console-wiring-');
  t.after(() => c.rmrf(dir));
  const [rtmp, api] = await h.freePorts(2);
  const file = c.writeConsoleConfig(dir, { rtmp, api, startWait: 2500, finalWait: 1000 });
  const srs = await c.startServer(dir, file, api);
  t.after(() => srs.kill());
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${api}/console/`);
  await c.waitForPanels(page);

  const text = (id) => page.evaluate((i) => document.getElementById(i).textContent, id);
  assert.match(await text('config-list'), /Generation1Last/, 'generation 1 at start');
  assert.match(await text('listeners-body'), new RegExp(`http_api.*:${api}`), 'the API listener with its address');
  assert.match(await text('listeners-body'), new RegExp(`rtmp.*:${rtmp}`), 'the RTMP listener with its address');
  await page.waitForFunction(() => /\[Trace\].* ready, pid /.test(document.getElementById('log-lines').textContent), null, { timeout: 10000 });
  await page.selectOption('#log-level', 'Warn');
  assert.doesNotMatch(await text('log-lines'), /\[Trace\]/, 'Warn and above: no Trace line');
  await page.selectOption('#log-level', 'Trace');

  // a good reload: the generation moves on, the log says so
  fs.appendFileSync(file, '\n# touched\n');
  await page.click('#reload');
  await page.waitForFunction(() => /Generation2Last/.test(document.getElementById('config-list').textContent), null, { timeout: 10000 });
  await page.waitForFunction(() => /reload ok/.test(document.getElementById('log-lines').textContent), null, { timeout: 10000 });
  await c.screenshot(page, '20-wired');

  // a live publisher keeps the drain busy until it stops (a graceful quit lets a stream go on)
  const { rtmpPublisher } = require('../helpers/rtmp-load');
  const pub = await rtmpPublisher({ port: rtmp, app: 'live', stream: 'held' });
  const held = { destroy: () => pub.stop() };
  t.after(() => held.destroy());
  await page.waitForFunction(() => /live\/held/.test(document.body.textContent), null, { timeout: 10000 }).catch(() => {});
  await page.evaluate(() => {
    const el = document.getElementById('grace-phase');
    window.__phases = [el.dataset.phase];
    new MutationObserver(() => {
      const p = el.dataset.phase;
      if (window.__phases[window.__phases.length - 1] !== p) window.__phases.push(p);
    }).observe(el, { attributes: true, attributeFilter: ['data-phase'] });
  });
  process.kill(srs.pid, 'SIGQUIT');
  await page.waitForFunction(() => /listeners close in/.test(document.getElementById('grace-countdowns').textContent), null, { timeout: 10000 });
  assert.match(await text('grace-phase'), /start_wait.*SIGQUIT/);
  await c.screenshot(page, '21-start-wait');
  await page.waitForFunction(() => document.getElementById('grace-phase').dataset.phase === 'draining', null, { timeout: 10000 });
  assert.match(await text('grace-phase'), /1 connection left/, 'the live publisher');
  await c.screenshot(page, '22-draining');
  held.destroy();
  await c.waitForState(page, 'gone', 20000);
  await c.screenshot(page, '23-gone');
  const phases = await page.evaluate(() => window.__phases);
  assert.deepEqual(phases.slice(0, 3), ['idle', 'start_wait', 'draining'], `phases seen: ${phases.join(' -> ')}`);
  const exit = await srs.waitForExit(20000);
  assert.equal(exit.code, 0);
  assert.match(c.readLog(dir), /graceful quit done \(drained\)/);
});
