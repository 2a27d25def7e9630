// SPDX-License-Identifier: MIT OR Apache-2.0
//
// The browser's share of camwall-bench: camwall's page in headless Chromium, on a running camwall
// whose cameras are fakecam cameras (their stamp is read back from every picture the page draws).
// For each picture path (H.264 decoded by WebCodecs, JPEG) it measures: first picture (navigation
// -> the first stamped picture drawn, with the moments its WebSocket was made, opened and brought
// its first message), camera-to-viewer (the stamp's capture time -> the moment
// the picture was drawn, on the one clock), and switch (a click on a camera's button -> the first
// picture of that camera drawn). Prints one JSON object on stdout.
//
//   node bench-latency.mjs http://127.0.0.1:PORT SECONDS SWITCHES

import { launchBrowser, waitUntil } from './support.mjs';

const [base, secondsArg, switchesArg] = process.argv.slice(2);
if (!base) {
  console.error('usage: node bench-latency.mjs BASE_URL [SECONDS] [SWITCHES]');
  process.exit(2);
}
const seconds = Number(secondsArg || 5);
const switches = Number(switchesArg || 10);
const T = 20_000;

const browser = await launchBrowser();
const out = {};
try {
  const cameras = await (await fetch(`${base}/api/cameras`)).json();
  const ids = cameras.map((c) => c.id);
  // A browser's first page pays for its start (caches, processes): one of each, unmeasured.
  for (const video of ['h264', 'jpeg']) {
    const page = await browser.newPage();
    await page.goto(`${base}/?video=${video}`);
    await waitUntil('a stamped picture', T, () => page.evaluate(() => window.__draws.some((d) => d.camera !== null)));
    await page.close();
  }
  for (const video of ['h264', 'jpeg']) {
    const page = await browser.newPage();
    await page.goto(`${base}/?video=${video}`);
    const first = await waitUntil('a stamped picture', T, () => page.evaluate(() => {
      const d = window.__draws.find((x) => x.camera !== null);
      // performance.now() counts from the navigation's start.
      return d ? d.t : null;
    }));
    const shown = await page.evaluate(() => window.camwall.video);
    // The first socket's way there: created, open, first message (ms from the navigation).
    const socket = await page.evaluate(() => window.__sockets.find((s) => new URL(s.url, location.href).pathname === '/ws') || null);
    const t0 = await page.evaluate(() => performance.now());
    await page.waitForTimeout(seconds * 1000);
    const latency = await page.evaluate((since) => window.__draws
      .filter((d) => d.t > since && d.unixMs !== null).map((d) => d.at - d.unixMs), t0);
    const switch_ms = [];
    for (let i = 0; i < switches && ids.length > 1; i++) {
      const id = ids[(i + 1) % ids.length];
      const index = cameras.findIndex((c) => c.id === id);
      const before = await page.evaluate(() => performance.now());
      await page.click(`.cam[data-camera-id=${id}]`);
      const drawn = await waitUntil(`${id} drawn`, T, () => page.evaluate(([cam, since]) => {
        const click = window.__clicks.filter((c) => c.t > since).pop();
        const d = click && window.__draws.find((x) => x.t > click.t && x.camera === cam);
        return d ? d.t - click.t : null;
      }, [index, before]));
      switch_ms.push(drawn);
      await page.waitForTimeout(300);
    }
    out[video] = { path: shown, first_picture_ms: first, socket, latency_ms: latency, switch_ms };
    await page.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
