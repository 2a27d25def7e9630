import { startFakecam, startCamwall, camwallConfig, launchBrowser, waitUntil } from './support.mjs';
const fc = await startFakecam(3);
const cw = await startCamwall(camwallConfig(fc));
const b = await launchBrowser();
try {
  const p = await b.newPage();
  p.on('console', m => console.log('console', m.type(), m.text()));
  await p.setViewportSize({ width: 390, height: 844 });
  await p.goto(cw.base + '/');
  await waitUntil('draw', 10000, () => p.evaluate(() => window.__draws.length > 3));
  await p.screenshot({ path: '/tmp/bsmoke/mobile.png' });
  await p.setViewportSize({ width: 1280, height: 720 });
  await fc.post('cam1', 'offline');
  await p.waitForTimeout(4000);
  await p.screenshot({ path: '/tmp/bsmoke/offline.png' });
  console.log(await p.evaluate(() => JSON.stringify({ov: window.camwall.overlay, cams: window.camwall.cameras.map(c => c.state)})));
  await fc.post('cam1', 'online');
  await p.click('.cam[data-camera-id=cam2]');
  await fc.post('cam2', 'freeze');
  await p.waitForTimeout(3000);
  await p.screenshot({ path: '/tmp/bsmoke/freeze.png' });
  console.log(await p.evaluate(() => JSON.stringify({ov: window.camwall.overlay, cams: window.camwall.cameras.map(c => c.state), sel: window.camwall.selection})));
  await fc.post('cam2', 'online');
} finally { await b.close(); await cw.stop(); await fc.stop(); }
