'use strict';
// The console's media panels in a real browser: ffmpeg publishes over RTMP, the stream appears,
// Play decodes real frames over HTTP-FLV (the video element's currentTime advances), and a kicked
// client leaves the clients panel. Needs the media side wired into the API's context
// (ConsoleContext.mediaView, DELETE /api/v1/clients/:id, HTTP-FLV on http_server).
// SRS_UPDATE_DOCS=1 also writes docs/console.png (the README's screenshot) from the playing step.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const h = require('../helpers/harness');
const c = require('./support');

function publish(rtmp, stream) {
  const args = ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine'];
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', '-f', 'flv', `rtmp://127.0.0.1:${rtmp}/live/${stream}`);
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  h.track(child.pid);
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return { child, get stderr() { return err; } };
}

test('a published stream: it appears, plays in the page, and a kicked client goes', async (t) => {
  const browser = await c.launchBrowser();
  t.after(() => browser.close());
  const dir = h.tmpdir('srs-console-stream-');
  t.after(() => c.rmrf(dir));
  const [rtmp, api, files] = await h.freePorts(3);
  // HTTP-FLV as SRS serves it: http_remux on the vhost, on the file server's port
  const file = c.writeConsoleConfig(dir, { rtmp, api, files, vhost: 'http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }' });
  const srs = await c.startServer(dir, file, api);
  t.after(() => srs.kill());
  const ffmpeg = publish(rtmp, 'test');
  t.after(() => h.killPid(ffmpeg.child.pid));

  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  t.after(() => context.close());
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${api}/console/`);
  await c.waitForPanels(page);
  const wired = await page.evaluate(() => !/not available/.test(document.getElementById('streams-note').textContent));
  assert.ok(wired, 'the streams panel says "not available": needs the media wiring (ConsoleContext.mediaView in the controller)');

  const row = page.locator('#streams-body tr[data-stream="/live/test"]');
  try {
    await row.waitFor({ timeout: 20000 });
  } catch {
    throw new Error(`the stream /live/test did not appear in the streams panel; ffmpeg: ${ffmpeg.stderr.slice(-800)}; srs log: ${c.readLog(dir).slice(-1500)}`);
  }
  // the codecs arrive with the first frames
  await page.waitForFunction(() => /H264/.test(document.querySelector('#streams-body tr[data-stream="/live/test"]')?.textContent ?? ''), null, { timeout: 15000 });
  await c.screenshot(page, '10-stream');

  await page.getByRole('button', { name: 'Play /live/test' }).click();
  // the browser decodes real frames from srs: currentTime passes 1.5 s
  try {
    await page.waitForFunction(() => document.getElementById('player').currentTime > 1.5, null, { timeout: 20000 });
  } catch {
    const st = await page.evaluate(() => `${document.getElementById('player-state').textContent}; currentTime ${document.getElementById('player').currentTime}`);
    throw new Error(`the video did not advance: ${st}`);
  }
  await page.waitForFunction(() => /flv-play/.test(document.getElementById('clients-body').textContent), null, { timeout: 10000 });
  const shot = await c.screenshot(page, '11-playing');
  if (process.env.SRS_UPDATE_DOCS === '1') fs.copyFileSync(shot, path.join(h.ROOT, 'docs', 'console.png'));
  const violations = await c.axeViolations(page);
  assert.deepEqual(violations, [], `axe-core with a stream playing: ${violations.join('\n')}`);

  // kick the player: its row leaves the clients panel, the publisher stays
  const player = await page.evaluate(() => [...document.querySelectorAll('#clients-body tr')].find((tr) => /flv-play/.test(tr.textContent))?.dataset.client);
  assert.ok(player, 'the page lists its own HTTP-FLV player as a client');
  await page.getByRole('button', { name: `Kick client ${player}` }).click();
  await page.waitForFunction((id) => !document.querySelector(`#clients-body tr[data-client="${id}"]`), player, { timeout: 10000 });
  assert.match(await page.evaluate(() => document.getElementById('clients-body').textContent), /fmle-publish/, 'the publisher is still there');
  await c.screenshot(page, '12-kicked');

  // kick the publisher: the stream goes (or shows no publisher), ffmpeg is disconnected
  const publisher = await page.evaluate(() => [...document.querySelectorAll('#clients-body tr')].find((tr) => /publish/.test(tr.textContent))?.dataset.client);
  await page.getByRole('button', { name: `Kick client ${publisher}` }).click();
  await page.waitForFunction(() => {
    const tr = document.querySelector('#streams-body tr[data-stream="/live/test"]');
    return !tr || /no publisher/.test(tr.textContent);
  }, null, { timeout: 10000 });
  await c.screenshot(page, '13-publisher-kicked');
});
