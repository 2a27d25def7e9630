// SPDX-License-Identifier: MIT OR Apache-2.0
//
// An alarm that goes on and on (a tree in the wind, a flag, a screen in view) is pointed out on the
// page, with what to do about it: snooze the camera or leave out what keeps moving with a zone.
// The page's threshold (2 minutes) is shortened with `?long_alarm=SECONDS`. A page opened in
// the middle of the alarm knows since when it has been on (`alarm_since` of /api/cameras); a
// snoozed camera and an alarm that ended are no longer pointed out. Screenshot:
// tests/artifacts/long-alarm-1366x768.png.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  artifacts, axeViolations, camwallConfig, launchBrowser, startCamwall, startFakecam, waitUntil,
} from './support.mjs';

const T = 20_000;
const LONG_S = 3;

fs.mkdirSync(artifacts, { recursive: true });

describe('a long alarm', () => {
  let fakecam; let camwall; let browser;

  before(async () => {
    fakecam = await startFakecam(2);
    camwall = await startCamwall(camwallConfig(fakecam, { alarmHoldMs: 500 }));
    browser = await launchBrowser({ bypassCSP: true });
  });

  after(async () => {
    await fakecam?.post('cam2', 'motion/off').catch(() => {});
    await browser?.close();
    await camwall?.stop();
    await fakecam?.stop();
  });

  const cameras = async () => (await fetch(`${camwall.base}/api/cameras`)).json();
  const hint = (page) => page.evaluate(() => {
    const el = document.getElementById('longalarm');
    return el && !el.hidden ? { text: el.textContent, camera: el.getAttribute('data-camera-id') } : null;
  });

  async function openPage(query) {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 1366, height: 768 });
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e.message));
    await page.goto(`${camwall.base}/?layout=wall${query}`);
    await page.waitForSelector('.cam[data-camera-id=cam2][data-state=live]', { state: 'attached', timeout: T });
    return page;
  }

  test('is pointed out with a hint to snooze the camera or add a zone, until it ends', async () => {
    const page = await openPage(`&long_alarm=${LONG_S}`);
    const patient = await openPage('');
    await fakecam.post('cam2', 'motion/on');
    try {
      await waitUntil('the alarm takes the wall', T, async () => /ALARM cam2/.test(await page.title()));
      const shown = await waitUntil(`the hint, ${LONG_S} s into the alarm`, T, () => hint(page));
      assert.equal(shown.camera, 'cam2');
      assert.match(shown.text, /^cam2 has been in alarm for \d+ s: .*snooze it, or add an ignore zone/);
      const since = (await cameras()).find((c) => c.id === 'cam2').alarm_since;
      assert.equal(typeof since, 'number', '/api/cameras says since when the alarm is on');
      assert.ok(Date.now() - since >= LONG_S * 1000, 'the hint came once the alarm was that old');
      assert.equal((await cameras()).find((c) => c.id === 'cam1').alarm_since, null);
      // The default threshold is two minutes: a page without the parameter says nothing yet.
      assert.equal(await hint(patient), null, 'no hint before two minutes');

      await page.waitForTimeout(1200); // the seconds tick on in the hint
      await page.screenshot({ path: path.join(artifacts, 'long-alarm-1366x768.png') });
      assert.deepEqual(await axeViolations(page), [], 'axe-core on the page with the hint');

      // A page opened in the middle of the alarm knows how long it has been on.
      const late = await openPage(`&long_alarm=${LONG_S}`);
      const lateHint = await waitUntil('the hint on a page opened during the alarm', T, () => hint(late));
      assert.equal(lateHint.camera, 'cam2');
      assert.deepEqual(late.errors, []);
      await late.close();

      // Snoozed, the camera has been seen to: no hint.
      const snoozed = await fetch(`${camwall.base}/api/cameras/cam2/snooze`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ minutes: 5 }),
      });
      assert.equal(snoozed.status, 200);
      await waitUntil('no hint for a snoozed camera', T, async () => (await hint(page)) === null);
      assert.equal((await fetch(`${camwall.base}/api/cameras/cam2/snooze`, { method: 'DELETE' })).status, 200);
      await waitUntil('the hint again once the snooze ends', T, () => hint(page));
    } finally {
      await fakecam.post('cam2', 'motion/off');
    }
    await waitUntil('no hint once the alarm ended', T, async () => (await hint(page)) === null);
    assert.equal((await cameras()).find((c) => c.id === 'cam2').alarm_since, null);
    assert.deepEqual(page.errors, []);
    assert.deepEqual(patient.errors, []);
    await page.close();
    await patient.close();
  });
});
