// SPDX-License-Identifier: MIT OR Apache-2.0
//
// The page a guard runs a shift on, in headless Chromium at the four sizes of a control room and a
// phone: the wall shows the clicked camera, the grid's tiles show their own cameras, an alarm
// reaches the title, the alarms' column and the event list (with its picture); every layout at
// every size is screenshotted into tests/artifacts/ and checked by axe-core (no serious or
// critical violation). Pictures are proven by the fakecam stamp read back from the canvases.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  artifacts, axeViolations, camwallConfig, launchBrowser, startCamwall, startFakecam, tileStamps, waitUntil,
} from './support.mjs';

const T = 20_000;
const CAMS = ['cam1', 'cam2', 'cam3', 'cam4'];
const index = (id) => CAMS.indexOf(id);
const SIZES = [
  { name: '1920x1080', width: 1920, height: 1080 },
  { name: '1366x768', width: 1366, height: 768 },
  { name: 'phone-portrait', width: 390, height: 844, phone: true },
  { name: 'phone-landscape', width: 844, height: 390, phone: true, sideways: true },
];

fs.mkdirSync(artifacts, { recursive: true });
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, `operator-${name}.png`) });

function drawOf(page, camera, since, what) {
  return waitUntil(what || `a drawn frame of camera index ${camera}`, T, () => page.evaluate(
    ([cam, t0]) => window.__draws.find((d) => d.t > t0 && d.camera === cam) || null, [camera, since]));
}
const anyDraw = (page) => waitUntil('the wall paints a stamped frame', T,
  () => page.evaluate(() => window.__draws.some((d) => d.camera !== null)));
const perfNow = (page) => page.evaluate(() => performance.now());

async function assertAccessible(page, what) {
  const found = await axeViolations(page);
  assert.deepEqual(found, [], `axe-core on ${what}`);
}

describe('the operator page at every size', () => {
  let fakecam; let camwall; let browser; let phone;

  before(async () => {
    fakecam = await startFakecam(CAMS.length);
    camwall = await startCamwall(camwallConfig(fakecam, { alarmHoldMs: 500 }));
    browser = await launchBrowser({ bypassCSP: true });
    phone = await launchBrowser({ bypassCSP: true, hasTouch: true });
  });

  after(async () => {
    await browser?.close();
    await phone?.close();
    await camwall?.stop();
    await fakecam?.stop();
  });

  for (const size of SIZES) {
    test(`${size.name}: the wall shows the clicked camera, the grid its own cameras, an alarm the title and the events`, async () => {
      const page = await (size.phone ? phone : browser).newPage();
      await page.setViewportSize({ width: size.width, height: size.height });
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${camwall.base}/?layout=wall`);
      await anyDraw(page);
      await page.waitForSelector('.cam[data-camera-id=cam2][data-state=live]', { state: 'attached', timeout: T });

      // The wall: a click (a tap on a phone, once the controls are shown) puts cam2 on it.
      if (size.sideways) {
        // A phone on its side: the picture alone; the controls come with a tap, then go.
        await page.waitForTimeout(3500);
        assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('#bar')).opacity), '0',
          'the camera bar has gone from the picture');
        await page.tap('#view', { position: { x: 200, y: 150 } });
        await waitUntil('the controls are back', T, () => page.evaluate(
          () => getComputedStyle(document.querySelector('#bar')).opacity === '1'));
      }
      const clicked = await perfNow(page);
      if (size.phone) await page.tap('.cam[data-camera-id=cam2]'); else await page.click('.cam[data-camera-id=cam2]');
      await drawOf(page, index('cam2'), clicked, 'cam2 on the wall after its click');
      if (size.name === 'phone-portrait') {
        // Upright: the picture large under the header, the cameras below it, nothing on top.
        const [view, bar] = await page.evaluate(() => ['#view', '#bar'].map((s) => {
          const r = document.querySelector(s).getBoundingClientRect(); return { top: r.top, bottom: r.bottom, width: r.width };
        }));
        assert.ok(view.width >= size.width - 1, 'the picture is as wide as the phone');
        assert.ok(bar.top >= view.bottom - 1, `the cameras are below the picture (${bar.top} < ${view.bottom})`);
      }
      await page.waitForTimeout(size.sideways ? 3500 : 0);
      await shot(page, `wall-${size.name}`);
      await assertAccessible(page, `the wall at ${size.name}`);

      // The grid: each tile shows its own camera (its stamp read from the tile's pixels).
      await page.keyboard.press('g');
      await page.waitForSelector('#grid:not([hidden])', { timeout: T });
      const stamps = await waitUntil('every tile shows its own camera', T, async () => {
        const s = await tileStamps(page, '#grid .tile');
        return CAMS.every((id) => s[id] === index(id)) ? s : null;
      });
      assert.deepEqual(stamps, Object.fromEntries(CAMS.map((id) => [id, index(id)])));
      const onWall = await page.getAttribute('.tile[data-camera-id=cam2]', 'data-onwall');
      assert.equal(onWall, 'true', 'the tile of the camera on the wall says so');
      await shot(page, `grid-${size.name}`);
      await assertAccessible(page, `the grid at ${size.name}`);
      // A tile's click puts its camera on the wall and the wall back on screen.
      const picked = await perfNow(page);
      if (size.phone) await page.tap('.tile[data-camera-id=cam4]'); else await page.click('.tile[data-camera-id=cam4]');
      await drawOf(page, index('cam4'), picked, 'cam4 on the wall after its tile was clicked');
      assert.equal(await page.evaluate(() => window.camwall.layout), 'wall');

      // Spot + alarms, and the event list: an alarm on cam3 takes the wall, its tile comes
      // beside it, the title says so, and the event list has it with its picture.
      await page.evaluate(() => window.camwall.setLayout('spot'));
      await page.keyboard.press('e');
      const burst = await perfNow(page);
      await fakecam.post('cam3', 'motion/on');
      try {
        await drawOf(page, index('cam3'), burst, 'the alarmed cam3 on the wall');
        await waitUntil('the title says so', T, async () => /ALARM cam3/.test(await page.title()));
        await waitUntil('the alarm has its tile beside the wall, showing cam3', T, async () =>
          (await tileStamps(page, '#sidetiles .tile'))['cam3'] === index('cam3'));
        const entry = page.locator('#eventlist li[data-type=alarm] .event[data-camera-id=cam3]').first();
        await entry.waitFor({ timeout: T });
        assert.match(await entry.innerText(), /Alarm on cam3/);
        await waitUntil('its picture is there', T, () => entry.locator('img').evaluate(
          (img) => img.complete && img.naturalWidth > 0).catch(() => false));
        if (size.sideways) {
          // A tap toggles the controls, and an earlier one (the tile's) may have left them shown,
          // their 3 s running out: shown afresh and faded in before the screenshot and axe-core.
          const shown = () => page.evaluate(() => document.body.classList.contains('show-controls'));
          if (await shown()) await page.tap('#view', { position: { x: 100, y: 100 } });
          await page.tap('#view', { position: { x: 100, y: 100 } });
          await waitUntil('the controls are shown', T, async () => (await shown()) && page.evaluate(
            () => getComputedStyle(document.querySelector('#top')).opacity === '1'));
        }
        await shot(page, `spot-events-${size.name}`);
        await assertAccessible(page, `spot + alarms with the events at ${size.name}`);
        // One click acknowledges; the choice (cam4) comes back.
        const acked = await perfNow(page);
        await page.click('#ack');
        await drawOf(page, index('cam4'), acked, 'cam4 back after the acknowledge');
        await page.locator('#eventlist li[data-type=ack] .event[data-camera-id=cam3]').first().waitFor({ timeout: T });
      } finally {
        await fakecam.post('cam3', 'motion/off');
        // The alarm ends (an acknowledged alarm stays so until the camera's next one starts).
        await waitUntil('the alarm of cam3 ends', T, async () =>
          !(await (await fetch(`${camwall.base}/api/cameras`)).json()).find((c) => c.id === 'cam3').alarm);
      }
      await page.keyboard.press('e');
      await page.evaluate(() => window.camwall.setLayout('wall'));
      // The help lists the keys.
      await page.keyboard.press('?');
      await page.waitForSelector('#help:not([hidden])', { timeout: T });
      await shot(page, `help-${size.name}`);
      await assertAccessible(page, `the key help at ${size.name}`);
      await page.keyboard.press('Escape');
      assert.deepEqual(errors, []);
      await page.close();
    });
  }

  test('kiosk mode: the picture fills the screen, the controls show only while the pointer moves', async () => {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 1366, height: 768 });
    await page.goto(`${camwall.base}/?kiosk=1`);
    await anyDraw(page);
    const opacity = () => page.evaluate(() => getComputedStyle(document.querySelector('#top')).opacity);
    await waitUntil('the controls go', T, async () => (await opacity()) === '0');
    const view = await page.evaluate(() => { const r = document.querySelector('#view').getBoundingClientRect(); return [r.width, r.height]; });
    assert.deepEqual(view, [1366, 768], 'the picture has the whole screen');
    await shot(page, 'kiosk');
    await page.mouse.move(400, 300);
    await page.mouse.move(420, 320);
    await waitUntil('the controls come with the pointer', T, async () => (await opacity()) === '1');
    await page.close();
  });

  test('the developer figures are off until i; the picture says its time', async () => {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 1366, height: 768 });
    await page.goto(`${camwall.base}/`);
    await anyDraw(page);
    assert.equal(await page.locator('#hud').isVisible(), false, 'no HUD by default');
    const clock = await waitUntil('the clock shows the picture time', T, async () => {
      const t = await page.textContent('#clock');
      return /\d{1,2}:\d{2}:\d{2}/.test(t || '') ? t : null;
    });
    assert.doesNotMatch(clock, /old/, 'a live picture is not called late');
    await page.keyboard.press('i');
    await page.waitForSelector('#hud:not([hidden])', { timeout: T });
    assert.match(await page.textContent('#hud'), /fps/);
    await page.close();
  });
});
