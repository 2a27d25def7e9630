// SPDX-License-Identifier: MIT OR Apache-2.0
//
// The H.264 path in headless Chromium: the page decodes the wall's H.264 with WebCodecs and draws
// it; every picture is read back from the canvas and its fakecam stamp decoded. It shows the
// clicked camera, survives switches between cameras of different sizes, and falls back to JPEG
// where the browser has no WebCodecs. (Every other browser test runs on H.264 too: it is the
// default where the browser decodes it.)

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FAKECAM_ZONES, figure, launchBrowser, percentile, startCamwall, startFakecam, waitUntil } from './support.mjs';

const T = 20_000;

function drawOf(page, camera, since, what) {
  return waitUntil(what || `a drawn frame of camera index ${camera}`, T, () => page.evaluate(
    ([cam, t0]) => window.__draws.find((d) => d.t > t0 && d.camera === cam) || null, [camera, since]));
}
const perfNow = (page) => page.evaluate(() => performance.now());

describe('H.264 to the page', () => {
  let small; let large; let camwall; let browser;

  before(async () => {
    // Two servers of cameras of different sizes; the stamp's camera index tells them apart.
    small = await startFakecam(2, { width: 640, height: 360 });
    large = await startFakecam(3, { width: 1280, height: 720 });
    let config = '[server]\nlisten = "127.0.0.1:0"\n[selector]\nalarm_hold_ms = 500\n';
    for (const [id, url] of [['a1', small.urls.cam1], ['a2', small.urls.cam2], ['b3', large.urls.cam3]]) {
      config += `\n[[camera]]\nid = "${id}"\nurl = "${url}"\ncodec = "h264"\n[camera.motion]\nzones = "${FAKECAM_ZONES}"\n`;
    }
    camwall = await startCamwall(config);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await camwall?.stop();
    await small?.stop();
    await large?.stop();
  });

  test('the page decodes H.264 and shows the clicked camera, across cameras of different sizes', async () => {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${camwall.base}/`);
    await drawOf(page, 0, 0, 'a first H.264 picture of a1');
    assert.equal(await page.evaluate(() => window.camwall.video), 'h264');
    assert.equal(await page.evaluate(() => window.__sockets.length > 0), true);
    // Back and forth between a 640x360 and a 1280x720 camera: each switch starts on a keyframe
    // of the new size, and the decoder follows it.
    for (const [id, index, width] of [['b3', 2, 1280], ['a2', 1, 640], ['b3', 2, 1280], ['a1', 0, 640]]) {
      const t0 = await perfNow(page);
      await page.click(`.cam[data-camera-id=${id}]`);
      await drawOf(page, index, t0, `${id} after its click`);
      await waitUntil(`${id} drawn at ${width} wide`, T, () => page.evaluate(
        (w) => window.camwall.lastDraw && window.camwall.lastDraw.width === w, width));
    }
    const errorsSeen = await page.evaluate(() => window.camwall.decodeErrors);
    assert.equal(errorsSeen, 0, 'no decode error');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('camera-to-viewer latency in the decoded picture, H.264 beside JPEG (a figure, not a limit)', async () => {
    // The fakecam's capture stamp read back from each picture Chromium drew, against the time it
    // was drawn: the whole path, the browser's decode included.
    const lat = {};
    for (const v of ['h264', 'jpeg']) {
      const page = await browser.newPage();
      await page.goto(`${camwall.base}/?video=${v}`);
      await waitUntil('a stamped picture', T, () => page.evaluate(() => window.__draws.some((d) => d.camera !== null)));
      const t0 = await perfNow(page);
      await page.waitForTimeout(3000);
      const ms = await page.evaluate((since) => window.__draws
        .filter((d) => d.t > since && d.unixMs !== null).map((d) => d.at - d.unixMs), t0);
      assert.ok(ms.length > 30, `${v}: ${ms.length} stamped pictures in 3 s`);
      lat[v] = ms;
      figure(`camera-to-viewer in Chromium, ${v}, p50`, percentile(ms, 50), `ms (${ms.length} pictures)`);
      figure(`camera-to-viewer in Chromium, ${v}, p95`, percentile(ms, 95), 'ms');
      await page.close();
    }
    figure('camera-to-viewer in Chromium, H.264 minus JPEG, p50', percentile(lat.h264, 50) - percentile(lat.jpeg, 50), 'ms');
  });

  test('a peek (?camera=) comes in H.264 too', async () => {
    const page = await browser.newPage();
    await page.goto(`${camwall.base}/?camera=b3`);
    await drawOf(page, 2, 0, 'b3 watched alone');
    assert.equal(await page.evaluate(() => window.camwall.video), 'h264');
    assert.equal(await page.evaluate(() => window.camwall.peek), 'b3');
    await page.close();
  });

  test('without WebCodecs the page falls back to JPEG', async () => {
    const page = await browser.newPage();
    await page.addInitScript(() => { delete window.VideoDecoder; delete window.VideoFrame; });
    await page.goto(`${camwall.base}/`);
    await waitUntil('a stamped picture', T, () => page.evaluate(() => window.__draws.some((d) => d.camera !== null)));
    assert.equal(await page.evaluate(() => window.camwall.video), 'jpeg');
    const t0 = await perfNow(page);
    await page.click('.cam[data-camera-id=a2]');
    await drawOf(page, 1, t0, 'a2 over JPEG');
    await page.close();
  });

  test('?video=jpeg asks for JPEG where H.264 would work', async () => {
    const page = await browser.newPage();
    await page.goto(`${camwall.base}/?video=jpeg`);
    await waitUntil('a stamped picture', T, () => page.evaluate(() => window.__draws.some((d) => d.camera !== null)));
    assert.equal(await page.evaluate(() => window.camwall.video), 'jpeg');
    await page.close();
  });
});
