// SPDX-License-Identifier: MIT OR Apache-2.0
//
// The admin's cameras screen in headless Chromium, against a real camwall and fakecam: a camera
// is added (its password never shown again), appears in the list, on a second admin's page and
// on the wall's camera bar, and its picture reaches the wall; its name is changed; a bad address
// is refused at the address field with camwall's sentence while the rest of the form keeps what
// was typed; an address is tested (what the camera sends, or why it fails, within 5 s); the
// camera is removed after a confirmation. Each state is screenshotted into
// tests/artifacts/cameras-*.png and checked by axe-core at 1920x1080, 1366x768 and a phone.
// Operators and viewers get no cameras screen, and camwall refuses them the API behind it.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  artifacts, assertAccessible, camwallConfig, FAKECAM_ZONES, launchBrowser, startCamwall, startFakecam, waitUntil,
} from './support.mjs';

const T = 20_000;
const ADMIN = 'admin-t0ken-cameras';
const OPERATOR = 'operator-t0ken-cameras';
const VIEWER = 'viewer-t0ken-cameras';
// The camera added: fakecam's third camera (stamp index 2), with a password camwall must keep.
const NEW_ID = 'yard';
const SECRET = 's3cret-pw';

fs.mkdirSync(artifacts, { recursive: true });
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, `cameras-${name}.png`) });

/** A page of camwall's with `token`, its errors collected. */
async function openPage(browser, base, token, { width = 1366, height = 768, query = '', hash = '' } = {}) {
  const page = await browser.newPage();
  await page.setViewportSize({ width, height });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto(`${base}/?token=${token}${query}${hash}`);
  await waitUntil('the page knows who it is', T, () => page.evaluate(() => window.camwall.me.role));
  return page;
}

const row = (id) => `#camlist .camrow[data-camera-id="${id}"]`;

describe('the cameras screen', () => {
  let fakecam; let camwall; let browser; let phone;
  const api = (method, p, body, token = ADMIN) => fetch(`${camwall.base}${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

  before(async () => {
    fakecam = await startFakecam(3);
    // camwall starts with cam1 and cam2; cam3 is the one the admin adds.
    const { cam3, ...firstTwo } = fakecam.urls;
    let text = camwallConfig({ urls: firstTwo });
    text += `\n[[user]]\nname = "ada"\ntoken = "${ADMIN}"\nrole = "admin"\n`;
    text += `\n[[user]]\nname = "otto"\ntoken = "${OPERATOR}"\nrole = "operator"\n`;
    text += `\n[[user]]\nname = "vic"\ntoken = "${VIEWER}"\nrole = "viewer"\n`;
    camwall = await startCamwall(text);
    browser = await launchBrowser({ bypassCSP: true });
    phone = await launchBrowser({ bypassCSP: true, hasTouch: true });
  });

  after(async () => {
    await browser?.close();
    await phone?.close();
    await camwall?.stop();
    await fakecam?.stop();
  });

  test('an admin adds, tests, edits and removes a camera while the wall runs', async () => {
    const withPassword = fakecam.urls.cam3.replace('rtsp://', `rtsp://keeper:${SECRET}@`);
    const masked = fakecam.urls.cam3.replace('rtsp://', 'rtsp://keeper:***@');

    // A second admin watches the list from another page: it follows without a reload.
    const other = await openPage(browser, camwall.base, ADMIN, { hash: '#cameras' });
    await other.waitForSelector('#admin:not([hidden])', { timeout: T });

    const page = await openPage(browser, camwall.base, ADMIN, { width: 1920, height: 1080 });
    await waitUntil('the wall paints', T, () => page.evaluate(() => window.__draws.some((d) => d.camera !== null)));
    // Reached from the header, by keyboard.
    await page.waitForSelector('#camerasbtn:not([hidden])', { timeout: T });
    await page.focus('#camerasbtn');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#admin:not([hidden])', { timeout: T });
    assert.match(page.url(), /#cameras$/, 'the address says the cameras screen is open');
    await page.waitForSelector(`${row('cam2')}[data-state=live]`, { timeout: T });
    assert.deepEqual(await page.$$eval('#camlist .camrow', (rows) => rows.map((r) => r.dataset.cameraId)),
      ['cam1', 'cam2'], 'every camera of the file, in its order');
    await shot(page, 'list-1920x1080');
    await assertAccessible(page, 'the cameras screen at 1920x1080');

    // Add: the form with the motion settings unfolded.
    await page.click('#camadd');
    await page.waitForSelector('#camdialog:not([hidden])', { timeout: T });
    assert.equal(await page.evaluate(() => document.activeElement.id), 'cf-id', 'the form starts at the id');
    await page.fill('#cf-id', NEW_ID);
    await page.fill('#cf-name', 'Yard');
    await page.fill('#cf-url', withPassword);
    await page.selectOption('#cf-codec', 'h264');
    await page.click('#cf-motion summary');
    await page.fill('#cf-motion-zones', FAKECAM_ZONES);
    await shot(page, 'add-form');
    await assertAccessible(page, 'the add form');
    await page.click('#cf-save');
    await page.waitForSelector('#camdialog', { state: 'hidden', timeout: T });
    await page.waitForSelector(`${row(NEW_ID)}[data-state=live]`, { timeout: T });
    assert.match(await page.textContent('#camstatus'), /Yard added/);
    // The password is never shown again, anywhere.
    assert.equal(await page.textContent(`${row(NEW_ID)} .url`), masked);
    assert.ok(!(await page.content()).includes(SECRET), 'the password is not in the page');
    assert.equal(await page.evaluate((secret) => [...document.querySelectorAll('input')].some(
      (i) => i.value.includes(secret)), SECRET), false, 'nor in a field of the closed form');
    // The wall's camera bar has it, and a second admin's list too.
    await page.waitForSelector(`#bar .cam[data-camera-id=${NEW_ID}]`, { state: 'attached', timeout: T });
    await other.waitForSelector(row(NEW_ID), { timeout: T });
    await shot(page, 'added');

    // Test the stored address from the list: what the camera sends.
    await page.click(`${row(NEW_ID)} button.test`);
    await waitUntil('the list row says what the camera sends', T, async () =>
      /h264 640[x\u00d7]360/.test(await page.textContent(`${row(NEW_ID)} .testout`)));

    // Edit its name; the address stays masked and the camera keeps its password.
    await page.click(`${row(NEW_ID)} button.edit`);
    await page.waitForSelector('#camdialog:not([hidden])', { timeout: T });
    assert.equal(await page.isVisible('#cf-id'), false, 'the id cannot change');
    assert.equal(await page.inputValue('#cf-url'), masked, 'the address field shows the password masked');
    assert.equal(await page.inputValue('#cf-motion-zones'), FAKECAM_ZONES);
    await page.fill('#cf-name', 'Back yard');
    await page.click('#cf-save');
    await page.waitForSelector('#camdialog', { state: 'hidden', timeout: T });
    await waitUntil('the list says the new name', T, async () =>
      (await page.textContent(`${row(NEW_ID)} .name`)) === 'Back yard');
    await waitUntil('the bar says the new name', T, async () =>
      (await page.textContent(`#bar .cam[data-camera-id=${NEW_ID}] .name`)) === 'Back yard');
    await waitUntil('the second admin sees the new name', T, async () =>
      (await other.textContent(`${row(NEW_ID)} .name`)) === 'Back yard');
    await page.waitForSelector(`${row(NEW_ID)}[data-state=live]`, { timeout: T });
    await shot(page, 'edited');

    // A bad address: refused at the address field with camwall's sentence; the form keeps the rest.
    await page.click(`${row(NEW_ID)} button.edit`);
    await page.waitForSelector('#camdialog:not([hidden])', { timeout: T });
    await page.fill('#cf-name', 'Yard, typed again');
    await page.fill('#cf-url', 'http://192.0.2.7/not-a-camera');
    await page.click('#cf-save');
    await page.waitForSelector('.field[data-field=url].invalid', { timeout: T });
    const urlError = await page.textContent('#cf-url-err');
    assert.match(urlError, /rtsp:\/\//, 'camwall\'s sentence at the address field');
    assert.equal(await page.getAttribute('#cf-url', 'aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'cf-url', 'the focus is on the field to fix');
    assert.equal(await page.inputValue('#cf-name'), 'Yard, typed again', 'the name typed is kept');
    assert.equal(await page.inputValue('#cf-url'), 'http://192.0.2.7/not-a-camera', 'the address typed is kept');
    assert.equal(await page.isVisible('#camdialog'), true, 'the form stays open');
    await shot(page, 'url-error');
    await assertAccessible(page, 'the form with an error at its field');
    assert.match(await page.textContent('#camform-error'), /see the field marked/);

    // Test: a server that takes the connection and says nothing: a spinner meanwhile, and the
    // failure within 5 s (and some); a port nobody listens on: refused, with camwall's reason.
    const sockets = new Set();
    const silent = net.createServer((sock) => { sockets.add(sock); sock.on('error', () => {}); }).listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      await page.fill('#cf-url', `rtsp://127.0.0.1:${silent.address().port}/says-nothing`);
      const t0 = Date.now();
      await page.click('#cf-test');
      await page.waitForSelector('#cf-testout[data-kind=busy] .spinner', { timeout: 2000 });
      assert.equal(await page.isDisabled('#cf-test'), true, 'one test at a time from the form');
      await shot(page, 'test-running');
      await page.waitForSelector('#cf-testout[data-kind=failed]', { timeout: 9000 });
      const took = Date.now() - t0;
      assert.ok(took < 7000, `the failure came within 5 s and some (${took} ms)`);
      assert.match(await page.textContent('#cf-testout'), /^Failed: .+ \(\w+\)/, 'the failure and its kind');
    } finally {
      for (const sock of sockets) sock.destroy();
      silent.close();
    }
    await page.fill('#cf-url', 'rtsp://127.0.0.1:9/nothing-here');
    await page.click('#cf-test');
    await page.waitForSelector('#cf-testout[data-kind=failed]:has-text("refused")', { timeout: 9000 });
    assert.match(await page.textContent('#cf-testout'), /Failed: .*\(refused\)/);
    await shot(page, 'test-failed');
    await page.fill('#cf-url', masked);
    await page.click('#cf-test');
    await page.waitForSelector('#cf-testout[data-kind=ok]', { timeout: 8000 });
    assert.match(await page.textContent('#cf-testout'), /^h264 640[x\u00d7]360/);
    await shot(page, 'test-ok');
    await assertAccessible(page, 'the form with a test\'s result');
    // Cancelled: nothing of it was saved.
    await page.keyboard.press('Escape');
    await page.waitForSelector('#camdialog', { state: 'hidden', timeout: T });
    assert.equal(await page.textContent(`${row(NEW_ID)} .name`), 'Back yard');

    // The new camera on the wall: its picture is drawn (fakecam's third camera, stamp index 2).
    await page.keyboard.press('Escape');
    await page.waitForSelector('#admin', { state: 'hidden', timeout: T });
    assert.doesNotMatch(page.url(), /#cameras/);
    const clicked = await page.evaluate(() => performance.now());
    await page.click(`#bar .cam[data-camera-id=${NEW_ID}]`);
    await waitUntil('the new camera on the wall', T, () => page.evaluate(
      (t) => window.__draws.some((d) => d.t > t && d.camera === 2), clicked));
    await shot(page, 'on-the-wall');

    // Remove, after a confirmation that can be declined.
    await page.click('#camerasbtn');
    await page.waitForSelector('#admin:not([hidden])', { timeout: T });
    await page.click(`${row(NEW_ID)} button.remove`);
    await page.waitForSelector('#camconfirm:not([hidden])', { timeout: T });
    assert.equal(await page.evaluate(() => document.activeElement.id), 'camconfirm-no', 'keeping it is the default');
    await shot(page, 'remove-confirm');
    await assertAccessible(page, 'the removal\'s confirmation');
    await page.click('#camconfirm-no');
    assert.equal(await page.locator(row(NEW_ID)).count(), 1, 'declined: the camera stays');
    await page.click(`${row(NEW_ID)} button.remove`);
    await page.click('#camconfirm-yes');
    await page.waitForSelector(row(NEW_ID), { state: 'detached', timeout: T });
    await page.waitForSelector(`#bar .cam[data-camera-id=${NEW_ID}]`, { state: 'detached', timeout: T });
    await other.waitForSelector(row(NEW_ID), { state: 'detached', timeout: T });
    const config = await (await api('GET', '/api/cameras/config')).json();
    assert.deepEqual(config.map((c) => c.id), ['cam1', 'cam2']);
    await shot(page, 'removed');

    assert.deepEqual(page.errors, []);
    assert.deepEqual(other.errors, []);
    await page.close();
    await other.close();
  });

  test('the screen at 1366x768 and on a phone: reached by its address, every camera, the form', async () => {
    // A disabled camera is listed too.
    const added = await api('POST', '/api/cameras', { id: 'spare', name: 'Spare', url: fakecam.urls.cam3, enabled: false });
    assert.equal(added.status, 201, await added.clone().text());
    try {
      for (const size of [
        { name: '1366x768', width: 1366, height: 768, ctx: browser, query: '&screen=cameras' },
        { name: 'phone', width: 390, height: 844, ctx: phone, hash: '#cameras' },
      ]) {
        const page = await openPage(size.ctx, camwall.base, ADMIN, size);
        await page.waitForSelector('#admin:not([hidden])', { timeout: T });
        await page.waitForSelector(`${row('spare')}[data-state=disabled]`, { timeout: T });
        await page.waitForSelector(`${row('cam1')}[data-state=live]`, { timeout: T });
        assert.deepEqual(await page.$$eval('#camlist .camrow', (rows) => rows.map((r) => r.dataset.cameraId)),
          ['cam1', 'cam2', 'spare']);
        const overflow = await page.evaluate(() => document.querySelector('#admin').scrollWidth - document.querySelector('#admin').clientWidth);
        assert.ok(overflow <= 0, `nothing runs off the side (${overflow} px)`);
        await shot(page, `list-${size.name}`);
        await assertAccessible(page, `the cameras screen at ${size.name}`);
        if (size.ctx === phone) await page.tap(`${row('spare')} button.edit`); else await page.click(`${row('spare')} button.edit`);
        await page.waitForSelector('#camdialog:not([hidden])', { timeout: T });
        assert.equal(await page.isChecked('#cf-enabled'), false);
        await shot(page, `edit-form-${size.name}`);
        await assertAccessible(page, `the edit form at ${size.name}`);
        await page.click('#cf-cancel');
        assert.deepEqual(page.errors, []);
        await page.close();
      }
    } finally {
      await api('DELETE', '/api/cameras/spare');
    }
  });

  test('the form sends a new camera\'s choices and an edit\'s changes only', async () => {
    const page = await openPage(browser, camwall.base, ADMIN);
    const out = await page.evaluate(async () => {
      const m = await import('/model.js');
      const entry = m.normEntry({
        id: 'door', name: 'Front door', url: 'rtsp://u:***@192.0.2.10/s1', codec: 'h264', decoder: 'auto',
        transport: 'tcp', priority: 2, enabled: true, motion: { threshold: 30, analysis_width: 200, zones: 'ignore:0,0,1,0.1' }, walls: ['lobby'],
      });
      const fresh = { ...m.formOf(null), id: ' gate ', url: 'rtsp://192.0.2.11/s1' };
      const edited = m.formOf(entry);
      edited.name = '';
      edited.transport = 'auto';
      edited.motion_enabled = false;
      edited.motion.threshold = '';
      const bad = { ...m.formOf(entry), priority: 'high', motion: { ...m.formOf(entry).motion, min_area: '1/2' } };
      return {
        fresh: m.cameraBody(fresh, null),
        unchanged: m.cameraBody(m.formOf(entry), entry),
        edited: m.cameraBody(edited, entry),
        bad: m.cameraBody(bad, entry).errors.map((e) => e.field),
        moved: m.cameraBody({ ...m.formOf(entry), url: 'rtsp://u:***@192.0.2.99/s1' }, entry),
        otherUser: m.cameraBody({ ...m.formOf(entry), url: 'rtsp://v:***@192.0.2.10/s1' }, entry).errors.map((e) => e.field),
        freshMasked: m.cameraBody({ ...fresh, url: 'rtsp://u:***@192.0.2.11/s1' }, null).errors.map((e) => e.field),
        unlearnt: m.cameraBody({ ...m.formOf(entry), motion_learn_ignore: false }, entry).body,
        sub: m.cameraBody({ ...m.formOf(entry), detect_url: ' rtsp://u:***@192.0.2.10/s2 ' }, entry).errors.map((e) => e.field),
        subAdded: m.cameraBody({ ...m.formOf(entry), detect_url: 'rtsp://u:p@192.0.2.10/s2' }, entry).body,
        subKept: m.cameraBody(m.formOf({ ...entry, detect_url: 'rtsp://u:***@192.0.2.10/s2' }), { ...entry, detect_url: 'rtsp://u:***@192.0.2.10/s2' }).body,
        subRemoved: m.cameraBody({ ...m.formOf(entry), detect_url: '' }, { ...entry, detect_url: 'rtsp://u:***@192.0.2.10/s2' }).body,
      };
    });
    assert.deepEqual(out.fresh, { body: { id: 'gate', url: 'rtsp://192.0.2.11/s1' }, errors: [] }, 'defaults unsaid');
    assert.deepEqual(out.unchanged.body, {}, 'nothing changed, nothing sent (the masked password included)');
    assert.deepEqual(out.edited.body, {
      name: null, transport: null,
      motion: { threshold: null, analysis_width: 200, zones: 'ignore:0,0,1,0.1', enabled: false },
    }, 'emptied: back to the default; the motion keys the form does not show kept');
    assert.deepEqual(out.unlearnt, {
      motion: { threshold: 30, analysis_width: 200, zones: 'ignore:0,0,1,0.1', learn_ignore: false },
    }, 'learning what ticks turned off: learn_ignore = false');
    assert.deepEqual(out.bad, ['priority', 'motion.min_area']);
    assert.deepEqual(out.moved, { body: { url: 'rtsp://u:***@192.0.2.99/s1' }, errors: [] },
      'a new host with the password still ***: sent, camwall keeps the stored password');
    assert.deepEqual(out.otherUser, ['url'], 'another user with the password still *** is not sent');
    assert.deepEqual(out.freshMasked, ['url'], 'a new camera has no stored password to keep');
    assert.deepEqual(out.sub, ['detect_url'], 'a sub-stream with no stored password to keep is not sent masked');
    assert.deepEqual(out.subAdded, { detect_url: 'rtsp://u:p@192.0.2.10/s2' }, 'a sub-stream added');
    assert.deepEqual(out.subKept, {}, 'a stored sub-stream left as it is is not sent');
    assert.deepEqual(out.subRemoved, { detect_url: null }, 'emptied: the camera has no sub-stream');
    await page.close();
  });

  test('operators and viewers get no cameras screen, and camwall refuses them its API', async () => {
    for (const [role, token] of [['operator', OPERATOR], ['viewer', VIEWER]]) {
      const page = await openPage(browser, camwall.base, token, { query: '&screen=cameras' });
      assert.equal(await page.evaluate(() => window.camwall.me.role), role);
      await page.waitForSelector('#toast:not([hidden])', { timeout: T });
      assert.match(await page.textContent('#toast'), /administrators/);
      assert.equal(await page.isVisible('#camerasbtn'), false, `no Cameras button for the ${role}`);
      assert.equal(await page.isVisible('#admin'), false, `no cameras screen for the ${role}`);
      await page.evaluate(() => { window.location.hash = '#cameras'; });
      await page.waitForTimeout(300);
      assert.equal(await page.isVisible('#admin'), false, `#cameras opens nothing for the ${role}`);
      assert.deepEqual(page.errors, []);
      await page.close();
      const post = await api('POST', '/api/cameras', { id: 'sneaky', url: fakecam.urls.cam3 }, token);
      assert.equal(post.status, 403, `POST /api/cameras as ${role}`);
      const config = await api('GET', '/api/cameras/config', undefined, token);
      assert.equal(config.status, 403, `GET /api/cameras/config as ${role}`);
    }
  });
});
