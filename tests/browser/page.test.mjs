// SPDX-License-Identifier: MIT OR Apache-2.0
//
// camwall's page in real headless Chromium, against `camwall run` serving `camwall fakecam`
// cameras over real RTSP. Every picture the page draws is read back from its canvas pixels and
// its fakecam stamp decoded (camera index, capture time): see support.mjs.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  artifacts, camwallConfig, figure, launchBrowser, percentile, freePort, startCamwall, startFakecam, startSinkViewer,
  waitUntil,
} from './support.mjs';

const T = 20_000; // how long any one thing may take to happen before a test gives up
const CAMS = ['cam1', 'cam2', 'cam3'];
const index = (id) => CAMS.indexOf(id);

fs.mkdirSync(artifacts, { recursive: true });

async function screenshot(page, name) {
  const file = path.join(artifacts, `browser-${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

// Resolves with the first draw after `since` (page performance time) whose stamp shows `camera`.
function drawOf(page, camera, since, what = `a drawn frame of camera index ${camera}`) {
  return waitUntil(what, T, () => page.evaluate(([cam, t0]) => {
    return window.__draws.find((d) => d.t > t0 && d.camera === cam) || null;
  }, [camera, since]));
}

const perfNow = (page) => page.evaluate(() => performance.now());

async function openPage(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(url);
  page.errors = errors;
  return page;
}

describe('the page in headless Chromium', () => {
  let fakecam; let camwall; let browser;

  before(async () => {
    fakecam = await startFakecam(CAMS.length);
    // This one stands a live camera in for a dead choice (`on_offline = "next-live"`); the
    // default, a dead camera staying itself, has its own test below.
    camwall = await startCamwall(camwallConfig(fakecam, { alarmHoldMs: 500, onOffline: 'next-live' }));
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await camwall?.stop();
    await fakecam?.stop();
  });

  test('paints live frames on its canvas, stamped by the camera on screen', async () => {
    const page = await openPage(browser, `${camwall.base}/`);
    // A few frames with stamps that move forward in time: the picture is live.
    const draws = await waitUntil('five stamped frames drawn', T, () => page.evaluate(() => {
      const ok = window.__draws.filter((d) => d.camera !== null);
      return ok.length >= 5 ? ok : null;
    }));
    const first = draws[0];
    const last = draws[draws.length - 1];
    assert.equal(first.camera, index('cam1'), 'the first camera is on screen at start');
    assert.ok(last.unixMs > first.unixMs, `capture times move on: ${first.unixMs} -> ${last.unixMs}`);

    const hooks = await page.evaluate(() => ({
      drawn: window.camwall.framesDrawn,
      connected: window.camwall.connected,
      lastFrame: window.camwall.lastFrame,
      firstPaintAt: window.camwall.firstPaintAt,
      navigationStart: performance.timeOrigin,
      overlay: document.querySelector('#overlay').dataset.kind,
      selected: document.querySelector('.cam[data-selected=true]')?.dataset.cameraId,
      states: [...document.querySelectorAll('.cam')].map((b) => b.dataset.state),
    }));
    assert.ok(hooks.drawn >= 5);
    assert.equal(hooks.connected, true);
    assert.equal(hooks.lastFrame.camera, 'cam1');
    assert.equal(hooks.overlay, '', 'no overlay over a live picture');
    assert.equal(hooks.selected, 'cam1');
    assert.deepEqual(hooks.states, ['live', 'live', 'live']);
    assert.deepEqual(page.errors, []);

    const shot = await screenshot(page, 'live');
    assert.ok(fs.statSync(shot).size > 10_000, 'a screenshot with a picture in it');
    await page.close();
    figure('first paint after navigation, first page of a fresh browser',
      hooks.firstPaintAt - hooks.navigationStart, 'ms');

    // More navigations, for a steadier first-paint figure and where its time goes.
    const runs = [];
    for (let i = 0; i < 7; i++) {
      const p = await openPage(browser, `${camwall.base}/`);
      await waitUntil('a stamped frame drawn', T, () => p.evaluate(
        () => window.__draws.some((d) => d.camera !== null)));
      runs.push(await p.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const ws = window.__sockets[0];
        return {
          firstPaint: window.camwall.firstPaintAt - performance.timeOrigin,
          html: nav.responseEnd,
          script: nav.domInteractive,
          wsCreated: ws.created,
          wsOpen: ws.open,
          firstMessage: ws.firstMessage,
          firstDraw: window.__draws[0].t,
        };
      }));
      assert.deepEqual(p.errors, []);
      await p.close();
    }
    const p50 = (k) => percentile(runs.map((r) => r[k]), 50);
    figure('first paint after navigation p50', p50('firstPaint'), `ms (${runs.length} navigations)`);
    figure('first paint after navigation max', Math.max(...runs.map((r) => r.firstPaint)), 'ms');
    figure('first paint breakdown p50 (navigation start -> page received / DOM ready / WebSocket made / open / first message / first draw)',
      ['html', 'script', 'wsCreated', 'wsOpen', 'firstMessage', 'firstDraw'].map((k) => p50(k).toFixed(0)).join(' / '), 'ms');
  });

  test('clicking a camera button paints that camera', async () => {
    const page = await openPage(browser, `${camwall.base}/`);
    await drawOf(page, index('cam1'), 0);
    const switches = [];
    const order = ['cam2', 'cam3', 'cam1'];
    for (let i = 0; i < 21; i++) {
      const id = order[i % order.length];
      const before = await perfNow(page);
      await page.click(`.cam[data-camera-id=${id}]`);
      const click = await waitUntil('the click recorded', T, () => page.evaluate(
        (t0) => window.__clicks.find((c) => c.t > t0) || null, before));
      assert.equal(click.camera, id);
      const draw = await drawOf(page, index(id), click.t, `a frame of ${id} after clicking it`);
      switches.push(draw.t - click.t);
      const state = await page.evaluate(() => ({
        selected: [...document.querySelectorAll('.cam[data-selected=true]')].map((b) => b.dataset.cameraId),
        reason: document.querySelector('#reason').dataset.reason,
      }));
      assert.deepEqual(state.selected, [id]);
      assert.equal(state.reason, 'user');
      if (i === 0) await screenshot(page, 'clicked-cam2');
    }
    // After the switch only the chosen camera is painted.
    const t0 = await perfNow(page);
    await drawOf(page, index('cam1'), t0);
    await page.waitForTimeout(300);
    const others = await page.evaluate(
      (t) => window.__draws.filter((d) => d.t > t && d.camera !== 0).length, t0);
    assert.equal(others, 0, 'only cam1 is drawn once it is chosen');

    // An unknown camera is refused with a message; the picture goes on.
    const refused = await page.evaluate(() => window.camwall.select('no-such-camera'));
    assert.equal(refused.status, 404);
    await page.waitForSelector('#toast:not([hidden])', { timeout: T });
    assert.match(await page.textContent('#toast'), /no-such-camera/);
    await drawOf(page, index('cam1'), await perfNow(page), 'cam1 still painted after a refused switch');
    assert.deepEqual(page.errors, []);

    figure('click-to-paint switch p50', percentile(switches, 50), `ms (${switches.length} clicks)`);
    figure('click-to-paint switch p95', percentile(switches, 95), `ms (${switches.length} clicks)`);
    figure('click-to-paint switch max', Math.max(...switches), 'ms');
    await page.close();
  });

  test('a motion burst on another camera takes the screen over, shows why, and gives it back', async () => {
    const page = await openPage(browser, `${camwall.base}/`);
    await drawOf(page, index('cam1'), 0);
    await page.click('.cam[data-camera-id=cam1]');
    await waitUntil('cam1 chosen', T, () => page.evaluate(
      () => window.camwall.selection?.camera === 'cam1' && window.camwall.selection?.reason === 'user'));

    const burst = await perfNow(page);
    await fakecam.post('cam3', 'motion/on');
    try {
      await page.waitForSelector('#reason[data-reason=alarm]', { timeout: T });
      await page.waitForSelector('.cam[data-camera-id=cam3][data-alarm=true][data-selected=true]', { timeout: T });
      await drawOf(page, index('cam3'), burst, 'a frame of the alarmed cam3');
      const why = await page.evaluate(() => ({
        reason: document.querySelector('#reason').textContent,
        resume: document.querySelector('#resume').hidden ? null : document.querySelector('#resume').textContent,
        alarmClass: document.body.classList.contains('alarm'),
        selection: window.camwall.selection,
      }));
      assert.equal(why.selection.camera, 'cam3');
      assert.equal(why.selection.reason, 'alarm');
      assert.equal(why.selection.user_choice, 'cam1');
      assert.match(why.reason, /alarm/i);
      assert.match(why.resume ?? '', /cam1/, 'the page says the choice comes back');
      assert.ok(why.alarmClass);
      await screenshot(page, 'alarm');
    } finally {
      await fakecam.post('cam3', 'motion/off');
    }

    const calm = await perfNow(page);
    await page.waitForSelector('#reason[data-reason=user]', { timeout: T });
    await page.waitForSelector('.cam[data-camera-id=cam1][data-selected=true]', { timeout: T });
    await page.waitForSelector('.cam[data-camera-id=cam3][data-alarm=false]', { timeout: T });
    await drawOf(page, index('cam1'), calm, 'a frame of cam1 once the alarm is over');
    assert.equal(await page.evaluate(() => document.body.classList.contains('alarm')), false);
    assert.deepEqual(page.errors, []);
    await screenshot(page, 'alarm-over');
    await page.close();
  });

  test('an alarm reaches the tab title and icon, and one click acknowledges it without moving anything', async () => {
    const page = await openPage(browser, `${camwall.base}/`);
    await drawOf(page, index('cam1'), 0);
    await page.click('.cam[data-camera-id=cam1]');
    await waitUntil('cam1 chosen', T, () => page.evaluate(
      () => window.camwall.selection?.camera === 'cam1' && window.camwall.selection?.reason === 'user'));
    const quietTitle = await page.title();
    assert.equal(await page.locator('#ack').isVisible(), false, 'no acknowledge button without an alarm');
    const boxOf = (sel) => page.evaluate((s) => {
      const r = document.querySelector(s).getBoundingClientRect();
      return [Math.round(r.x), Math.round(r.y), Math.round(r.width)];
    }, sel);
    const before = { conn: await boxOf('#conn'), ack: await boxOf('#ack'), bar: await boxOf('.cam[data-camera-id=cam2]') };

    const burst = await perfNow(page);
    await fakecam.post('cam2', 'motion/on');
    try {
      await page.waitForSelector('#reason[data-reason=alarm]', { timeout: T });
      await drawOf(page, index('cam2'), burst, 'a frame of the alarmed cam2');
      await waitUntil('the title says so', T, async () => /ALARM cam2/.test(await page.title()));
      assert.match(await page.getAttribute('link[rel=icon]', 'href'), /^data:image\/svg\+xml/);
      await page.waitForSelector('#ack', { state: 'visible', timeout: T });
      // Nothing under the guard's finger moved when the alarm started.
      assert.deepEqual(await boxOf('#ack'), before.ack, 'the acknowledge button was already in its place');
      assert.deepEqual(await boxOf('.cam[data-camera-id=cam2]'), before.bar, 'the camera buttons did not move');
      await screenshot(page, 'alarm-acknowledge');
      const clicked = await perfNow(page);
      await page.click('#ack');
      await waitUntil('back to the choice', T, () => page.evaluate(
        () => window.camwall.selection?.camera === 'cam1' && window.camwall.selection?.reason === 'user'));
      await drawOf(page, index('cam1'), clicked, 'cam1 again right after the acknowledge, the alarm still running');
      const cams = await (await fetch(`${camwall.base}/api/cameras`)).json();
      assert.equal(cams.find((c) => c.id === 'cam2').alarm, true, 'the alarm itself still runs');
      await waitUntil('the title is quiet again', T, async () => (await page.title()) === quietTitle);
      assert.equal(await page.locator('#ack').isVisible(), false);
    } finally {
      await fakecam.post('cam2', 'motion/off');
    }
    // The sound toggle is off until turned on, and remembered.
    assert.equal(await page.getAttribute('#sound', 'aria-pressed'), 'false');
    await page.click('#sound');
    assert.equal(await page.getAttribute('#sound', 'aria-pressed'), 'true');
    assert.equal(await page.evaluate(() => localStorage.getItem('camwall.sound')), 'on');
    await page.click('#sound');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test('a frozen camera on screen is stood in for, the page says so, and it comes back', async () => {
    const page = await openPage(browser, `${camwall.base}/`);
    await drawOf(page, index('cam1'), 0);
    await page.click('.cam[data-camera-id=cam2]');
    await drawOf(page, index('cam2'), 0);

    const frozen = await perfNow(page);
    await fakecam.post('cam2', 'freeze');
    try {
      const standIn = await waitUntil('another camera drawn while cam2 is frozen', T, () => page.evaluate(
        (t0) => window.__draws.find((d) => d.t > t0 && d.camera !== null && d.camera !== 1) || null, frozen));
      assert.notEqual(standIn.camera, index('cam2'));
      await page.waitForSelector('#resume:not([hidden])', { timeout: T });
      const why = await page.evaluate(() => ({
        reason: document.querySelector('#reason').textContent,
        dataReason: document.querySelector('#reason').dataset.reason,
        resume: document.querySelector('#resume').textContent,
      }));
      assert.equal(why.dataReason, 'user');
      assert.equal(why.reason, 'stand-in', 'the page does not call a stand-in the user\'s choice');
      assert.match(why.resume, /cam2/);
      assert.equal(await page.locator('.cam[data-camera-id=cam2].userchoice').count(), 1,
        'the button of the choice is marked');
      await screenshot(page, 'stand-in');
    } finally {
      await fakecam.post('cam2', 'online');
    }
    const back = await perfNow(page);
    await drawOf(page, index('cam2'), back, 'cam2 again once it sends pictures');
    await page.waitForSelector('#resume[hidden]', { state: 'attached', timeout: T });
    assert.equal(await page.textContent('#reason'), 'your choice');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test('by default a frozen camera on screen stays itself, marked down with the reason, until it comes back', async () => {
    const own = await startCamwall(camwallConfig(fakecam));
    try {
      const page = await openPage(browser, `${own.base}/`);
      await drawOf(page, index('cam1'), 0);
      await page.waitForSelector('.cam[data-camera-id=cam2][data-state=live]', { timeout: T });
      await page.click('.cam[data-camera-id=cam2]');
      await drawOf(page, index('cam2'), 0);
      const frozen = await perfNow(page);
      await fakecam.post('cam2', 'freeze');
      try {
        // Marked down (the stall timeout, then the camera's health) ...
        await page.waitForSelector('.cam[data-camera-id=cam2][data-state=offline]', { timeout: T });
        await page.waitForSelector('#overlay[data-kind=offline]', { timeout: T });
        assert.match(await page.textContent('#overlay-detail'), /cam2 is offline.*NOT live/);
        // ... and no other camera ever took its place.
        const others = await page.evaluate(
          (t0) => window.__draws.filter((d) => d.t > t0 && d.camera !== null && d.camera !== 1).length, frozen);
        assert.equal(others, 0, 'no stand-in was drawn');
        const sel = await (await fetch(`${own.base}/api/selection`)).json();
        assert.equal(sel.camera, 'cam2');
        await screenshot(page, 'dead-camera-stays');
      } finally {
        await fakecam.post('cam2', 'online');
      }
      await drawOf(page, index('cam2'), await perfNow(page), 'cam2 again once it sends pictures');
      assert.deepEqual(page.errors, []);
      await page.close();
    } finally {
      await own.stop();
    }
  });

  test('a camera that is down says why, in words, on its button and over the picture', async () => {
    // Two more cameras: one on a path the server does not have (404), one on a port where
    // nothing listens.
    const closed = await freePort();
    let text = camwallConfig(fakecam);
    text += `\n[[camera]]\nid = "nopath"\nurl = "${fakecam.urls.cam1}-gone"\n`;
    text += `\n[[camera]]\nid = "noport"\nurl = "rtsp://127.0.0.1:${closed}/cam"\n`;
    const server = await startCamwall(text);
    try {
      const page = await openPage(browser, `${server.base}/`);
      const said = (id) => page.locator(`.cam[data-camera-id=${id}] .st`).textContent();
      await waitUntil('the 404 camera says so', T, async () => /no such stream path/.test(await said('nopath')));
      await waitUntil('the refused camera says so', T, async () => /camera not answering/.test(await said('noport')));
      await waitUntil('a working camera beside them is live', T, async () => /^live$/.test(await said('cam1')));
      const tip = await page.getAttribute('.cam[data-camera-id=nopath]', 'title');
      assert.match(tip, /no such stream path: /, 'the tooltip carries the camera\'s own message');
      // Chosen while down: another camera stands in, and the page says why the choice has
      // no picture.
      await page.click('.cam[data-camera-id=noport]');
      await page.waitForSelector('#resume:not([hidden])', { timeout: T });
      assert.match(await page.textContent('#resume'), /noport has no picture \(camera not answering\)/);
      await screenshot(page, 'camera-errors');
      assert.deepEqual(page.errors, []);
      await page.close();
    } finally {
      await server.stop();
    }
  });

  test('the page runs as ES modules under a strict Content-Security-Policy, with no violation', async () => {
    const page = await browser.newPage();
    const refused = [];
    page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text()); });
    const res = await page.goto(`${camwall.base}/`);
    const csp = res.headers()['content-security-policy'] || '';
    assert.match(csp, /default-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    await waitUntil('a stamped frame drawn', T, () => page.evaluate(
      () => window.__draws.some((d) => d.camera !== null)));
    const scripts = await page.evaluate(() => [...document.scripts].map((s) => ({ type: s.type, src: s.src, inline: !s.src })));
    assert.ok(scripts.length >= 1 && scripts.every((s) => s.type === 'module' && !s.inline), JSON.stringify(scripts));
    // The decoder runs in its worker (a file of the same origin, not a blob).
    assert.equal(await page.evaluate(() => window.camwall.decoder), 'worker');
    for (const file of ['/app.js', '/player.js', '/decoder.worker.js', '/style.css']) {
      const r = await fetch(`${camwall.base}${file}`);
      assert.equal(r.status, 200, file);
      assert.match(r.headers.get('content-type'), file.endsWith('.css') ? /text\/css/ : /javascript/, file);
    }
    assert.deepEqual(refused, []);
    await page.close();
  });

  test("mjpegwssink's own viewer page draws the stream with the same player", async () => {
    const sink = await startSinkViewer();
    try {
      const page = await browser.newPage();
      const refused = [];
      page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text()); });
      const errors = [];
      page.on('pageerror', (err) => errors.push(err.message));
      const res = await page.goto(`${sink.base}/`);
      assert.match(res.headers()['content-security-policy'] || '', /default-src 'self'/);
      await waitUntil('ten pictures drawn', T, () => page.evaluate(() => window.__draws.length >= 10));
      await page.waitForFunction(() => document.querySelector('#status').textContent === 'live', null, { timeout: T });
      await screenshot(page, 'sink-viewer');
      assert.deepEqual([errors, refused], [[], []]);
      await page.close();
    } finally {
      await sink.stop();
    }
  });

  test('in a narrow window everything stays on screen', async () => {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${camwall.base}/`);
    await waitUntil('a stamped frame drawn', T, () => page.evaluate(
      () => window.__draws.some((d) => d.camera !== null)));
    await page.keyboard.press('i'); // the HUD is off until asked for
    await page.waitForTimeout(300); // the HUD refreshes four times a second
    const overflow = await page.evaluate(() => [...document.querySelectorAll('#top > *, #bar > *')]
      .filter((el) => !el.hidden)
      .map((el) => ({ id: el.id || el.dataset.cameraId, r: el.getBoundingClientRect() }))
      .filter(({ r }) => r.left < 0 || r.right > window.innerWidth + 0.5)
      .map(({ id, r }) => `${id}: ${Math.round(r.left)}..${Math.round(r.right)}`));
    assert.deepEqual(overflow, [], `elements past the window's edge (width ${390})`);
    const scrollWidth = await page.evaluate(() => document.querySelector('#hud').scrollWidth
      - document.querySelector('#hud').clientWidth);
    assert.ok(scrollWidth <= 1, `the HUD's text fits inside it (overflows by ${scrollWidth} px)`);
    await screenshot(page, 'narrow');
    await page.close();
  });

  test('with a token: ?token= works, the API refuses without it, and the page signs in with an HttpOnly cookie', async () => {
    const token = 'br0wser-t0ken';
    const guarded = await startCamwall(camwallConfig(fakecam, { token }));
    try {
      const page = await openPage(browser, `${guarded.base}/?token=${token}`);
      await drawOf(page, index('cam1'), 0, 'a stamped frame with ?token=');
      await page.waitForSelector('.cam[data-camera-id=cam2][data-state=live]', { timeout: T });
      await page.click('.cam[data-camera-id=cam2]');
      await drawOf(page, index('cam2'), 0, 'cam2 after clicking it with ?token=');
      assert.deepEqual(page.errors, []);
      await page.close();

      for (const p of ['/api/cameras', '/api/selection', '/snapshot.jpg', '/ws/grid', '/api/me']) {
        const res = await fetch(`${guarded.base}${p}`);
        assert.equal(res.status, 401, `${p} without the token`);
        const wrong = await fetch(`${guarded.base}${p}`, { headers: { Authorization: 'Bearer nope' } });
        assert.equal(wrong.status, 401, `${p} with a wrong token`);
      }
      const ok = await fetch(`${guarded.base}/api/cameras`, { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200);
      assert.equal((await ok.json()).length, CAMS.length);

      // Without the token the page (which holds no data) opens on its sign-in form, never on
      // raw JSON; a wrong token is refused at the form; the right one signs in with a cookie
      // the page's script cannot read, and the address stays without a token.
      const bare = await openPage(browser, `${guarded.base}/`);
      await bare.waitForSelector('#login:not([hidden])', { timeout: T });
      assert.doesNotMatch(await bare.textContent('body'), /"error"/);
      await screenshot(bare, 'sign-in');
      await bare.fill('#token', 'wrong-token');
      await bare.click('#loginform button[type=submit]');
      await waitUntil('the wrong token is refused', T, async () => /not valid/.test(await bare.textContent('#loginerror')));
      await bare.fill('#token', token);
      await bare.click('#loginform button[type=submit]');
      await bare.waitForSelector('#login', { state: 'hidden', timeout: T });
      await waitUntil('a stamped frame once signed in', T, () => bare.evaluate(
        () => window.__draws.some((d) => d.camera !== null)));
      const cookies = await browser.cookies(guarded.base);
      const session = cookies.find((c) => c.name === 'camwall_session');
      assert.ok(session, 'a session cookie');
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Strict');
      assert.equal(await bare.evaluate(() => document.cookie.includes('camwall_session')), false);
      assert.doesNotMatch(bare.url(), /token/);
      assert.equal((await bare.evaluate(() => window.camwall.me)).role, 'admin');
      // A reload stays signed in; signing out brings the form back and ends the session.
      await bare.reload();
      await waitUntil('signed in after a reload', T, () => bare.evaluate(() => window.camwall.framesDrawn > 0));
      assert.equal(await bare.isVisible('#login'), false);
      await bare.click('#logout');
      await bare.waitForSelector('#login:not([hidden])', { timeout: T });
      const after = await fetch(`${guarded.base}/api/me`, { headers: { Cookie: `camwall_session=${session.value}` } });
      assert.equal(after.status, 401, 'the session ended with the sign-out');
      assert.deepEqual(bare.errors, []);
      await bare.close();
      // A refused token in the address is a page that says so, with a way to sign in.
      const wrong = await openPage(browser, `${guarded.base}/?token=wrong`);
      await wrong.waitForSelector('#errorpage:not([hidden])', { timeout: T });
      assert.match(await wrong.textContent('#error-title'), /refused/);
      await screenshot(wrong, 'token-refused');
      await wrong.click('#error-signin');
      await wrong.waitForSelector('#login:not([hidden])', { timeout: T });
      await wrong.close();
      // A sign-in from another site is refused.
      const foreign = await fetch(`${guarded.base}/api/login`, {
        method: 'POST', headers: { Origin: 'https://evil.example', 'Content-Type': 'application/json' },
        body: JSON.stringify({ token }),
      });
      assert.equal(foreign.status, 403);
    } finally {
      await guarded.stop();
    }
  });

  test('a page on ?wall= follows that wall: its cameras, its picture, its clicks, and no other wall moves', async () => {
    const text = camwallConfig(fakecam)
      + '\n[[wall]]\nid = "control"\n[[wall]]\nid = "lobby"\nname = "Lobby TV"\ncameras = ["cam2", "cam3"]\n';
    const walled = await startCamwall(text);
    try {
      const page = await openPage(browser, `${walled.base}/?wall=lobby`);
      await drawOf(page, index('cam2'), 0, "the lobby's first camera");
      const buttons = await page.evaluate(
        () => [...document.querySelectorAll('.cam')].map((b) => b.dataset.cameraId));
      assert.deepEqual(buttons, ['cam2', 'cam3']);
      await page.waitForSelector('.cam[data-camera-id=cam3][data-state=live]', { timeout: T });
      await page.click('.cam[data-camera-id=cam3]');
      await drawOf(page, index('cam3'), 0, 'cam3 on the lobby after clicking it');
      await screenshot(page, 'wall-lobby');
      const lobby = await (await fetch(`${walled.base}/api/walls/lobby/selection`)).json();
      assert.equal(lobby.camera, 'cam3');
      // The first wall has not moved.
      const first = await (await fetch(`${walled.base}/api/selection`)).json();
      assert.equal(first.camera, 'cam1');
      assert.deepEqual(page.errors, []);
      await page.close();
    } finally {
      await walled.stop();
    }
  });

  test('the page survives the server restarting: it reconnects and paints again', async () => {
    let server = await startCamwall(camwallConfig(fakecam));
    try {
      const page = await openPage(browser, `${server.base}/`);
      await drawOf(page, index('cam1'), 0);
      assert.equal(await page.evaluate(() => window.camwall.video), 'h264', 'the default picture path here');
      await page.click('.cam[data-camera-id=cam2]');
      await drawOf(page, index('cam2'), 0);

      await server.stop('SIGKILL');
      await waitUntil('the page to notice', T, () => page.evaluate(() => !window.camwall.connected));
      await page.waitForSelector('#overlay[data-kind=reconnecting]', { timeout: T });
      await page.waitForSelector('#conn[data-state=down]', { timeout: T });
      assert.equal(await page.evaluate(() => document.body.classList.contains('linkdown')), true,
        'the camera bar is shown as last known');
      await screenshot(page, 'reconnecting');
      const down = await perfNow(page);

      // Same port; a fresh server starts on its first camera again.
      server = await startCamwall(camwallConfig(fakecam, { listen: server.addr }));
      await waitUntil('the page to reconnect', T, () => page.evaluate(() => window.camwall.connected));
      await drawOf(page, index('cam1'), down, 'a frame after the restart');
      assert.equal(await page.evaluate(() => window.camwall.video), 'h264', 'still H.264 after the restart');
      await page.waitForSelector('#overlay[data-kind=""]', { state: 'attached', timeout: T });
      await page.waitForSelector('#conn[data-state=up]', { timeout: T });
      assert.equal(await page.evaluate(() => document.body.classList.contains('linkdown')), false);
      await page.click('.cam[data-camera-id=cam3]');
      await drawOf(page, index('cam3'), down, 'a click works after the restart');
      assert.deepEqual(page.errors, []);
      await screenshot(page, 'reconnected');
      await page.close();
    } finally {
      await server.stop();
    }
  });
});
