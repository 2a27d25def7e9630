// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// The cameras, twice. The bar of camera buttons: one per camera, in the API's order, with its
// key (1-9), its state (and why it is down, in words), its alarm, and whether it is on screen or
// the user's choice waiting behind an alarm or a stand-in. Buttons are made once per camera list
// and updated in place, so a click is never lost to a redraw.
// The admin's cameras screen (`CameraAdmin`): every camera of the configuration, disabled ones
// too, with its state; a form to add or change one (its password never shown: the API masks it
// and keeps it while it stays `***`), a test of an address before it is saved, and removal after
// a confirmation. camwall's validation errors are shown at their field, the rest of the form
// kept as typed.

import {
  CAMERA_CHOICES, MASKED_CHANGED, MOTION_KEYS, cameraBody, formOf, maskedElsewhere, normCamera, normEntry, normTest,
  testText,
} from '../model.js';

/** @typedef {import('../model.js').Model} Model */
/** @typedef {import('../model.js').Camera} Camera */
/** @typedef {import('../model.js').CameraEntry} CameraEntry */
/** @typedef {import('../model.js').CameraForm} CameraForm */
/** @typedef {import('../model.js').FieldError} FieldError */
/** @typedef {import('../api.js').ApiAnswer} ApiAnswer */
/** @typedef {(method: string, path: string, body?: unknown, timeoutMs?: number) => Promise<ApiAnswer>} Api */

/** @param {Element} el @param {string} k @param {string} v */
function setAttr(el, k, v) { if (el.getAttribute(k) !== v) el.setAttribute(k, v); }
/** @param {Element} el @param {string} v */
export function setText(el, v) { if (el.textContent !== v) el.textContent = v; }
export { setAttr };

/** @typedef {HTMLButtonElement & {_parts: {key: HTMLElement, name: HTMLElement, st: HTMLElement}}} CameraButton */

export class CameraBar {
  /**
   * @param {HTMLElement} bar
   * @param {Model} model
   * @param {(id: string) => void} onSelect
   */
  constructor(bar, model, onSelect) {
    this.bar = bar;
    this.model = model;
    this.onSelect = onSelect;
    /** @type {Record<string, CameraButton>} */
    this.byId = Object.create(null);
    /** @type {string | null} the camera list the buttons were made for */
    this.key = null;
  }

  /** @param {Camera} c @returns {CameraButton} */
  makeButton(c) {
    const b = /** @type {CameraButton} */ (document.createElement('button'));
    b.type = 'button';
    b.className = 'cam';
    b.setAttribute('data-camera-id', c.id);
    /** @param {string} cls */
    const span = (cls) => { const s = document.createElement('span'); s.className = cls; return s; };
    const key = span('key'), dot = span('dot'), name = span('name'), st = span('st'), al = span('al');
    al.textContent = 'ALARM';
    b.append(key, dot, name, st, al);
    b._parts = { key, name, st };
    b.addEventListener('click', () => this.onSelect(/** @type {string} */ (b.getAttribute('data-camera-id'))));
    return b;
  }

  render() {
    const { model } = this;
    const cams = model.cameras;
    const key = cams.map((c) => c.id).join('\u0000');
    if (key !== this.key || !cams.length) {
      this.key = key;
      this.byId = Object.create(null);
      this.bar.textContent = '';
      if (!cams.length) {
        const empty = document.createElement('span');
        empty.className = 'empty';
        empty.textContent = model.camError ? ('cameras unavailable: ' + model.camError) : 'no cameras';
        this.bar.appendChild(empty);
        return;
      }
      for (const c of cams) {
        const b = this.makeButton(c);
        this.byId[c.id] = b;
        this.bar.appendChild(b);
      }
    }
    const sel = model.selection;
    cams.forEach((c, i) => {
      const b = this.byId[c.id];
      if (!b) return;
      const selected = sel ? (sel.camera === c.id) : c.selected;
      setAttr(b, 'data-state', c.state);
      setAttr(b, 'data-alarm', c.alarm ? 'true' : 'false');
      const snoozed = typeof c.snoozed_until === 'number' && c.snoozed_until > Date.now();
      setAttr(b, 'data-snoozed', snoozed ? 'true' : 'false');
      setAttr(b, 'data-selected', selected ? 'true' : 'false');
      setAttr(b, 'aria-pressed', selected ? 'true' : 'false');
      b.classList.toggle('pending', model.pendingSelect === c.id);
      // the user's choice while an alarm or a stand-in is on screen
      b.classList.toggle('userchoice', !!(sel && sel.user_choice === c.id && !selected));
      setText(b._parts.key, i < 9 ? String(i + 1) : '\u00b7');
      setText(b._parts.name, c.name);
      // Down: say why, in words; the tooltip has the camera's own message.
      setText(b._parts.st, c.state !== 'live' && c.error ? c.state + ': ' + c.error.words : c.state);
      let tip = c.name + ' (' + c.id + ') \u2014 ' + c.state + (c.alarm ? ', ALARM' : '');
      if (snoozed) tip += ', snoozed until ' + new Date(/** @type {number} */ (c.snoozed_until)).toLocaleTimeString();
      if (c.state !== 'live' && c.error) tip += ' (' + c.error.words + ': ' + c.error.message + ')';
      if (typeof c.width === 'number' && typeof c.height === 'number') tip += ', ' + c.width + '\u00d7' + c.height;
      if (typeof c.fps === 'number') tip += ', ' + c.fps + ' fps';
      if (typeof c.last_frame_age_ms === 'number') tip += ', last frame ' + c.last_frame_age_ms + ' ms ago';
      if (i < 9) tip += ' \u2014 key ' + (i + 1);
      setAttr(b, 'title', tip);
    });
  }
}

// ---------------------------------------------------------------- the admin's cameras screen

/** camwall answers a test within 5 s; the rest is for the network. */
const TEST_TIMEOUT_MS = 9000;
/** The list is asked for again this often while the screen is open (events also refresh it). */
const ADMIN_POLL_MS = 5000;
/** Events come in bursts (a camera added goes connecting, then live): one refresh for a burst. */
const REFRESH_DEBOUNCE_MS = 200;

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * @param {string} tag @param {string} [cls] @param {string} [text]
 * @returns {HTMLElement}
 */
function make(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** @param {string} id */
const camPath = (id) => '/api/cameras/' + encodeURIComponent(id);

/**
 * The test body for an address: with the camera's id when the password is still masked, so
 * camwall tests it with the stored one.
 * @param {string} url @param {string | null} camera
 */
function testBody(url, camera) {
  return camera && url.includes('***') ? { url, camera } : { url };
}

/** Why a test gave no result, from its answer. @param {ApiAnswer} r */
function testFailureText(r) {
  if (r.status === 429) return 'Four tests are running already; try again in a moment.';
  if (r.status === 0) return r.error === 'timeout' ? 'No answer within ' + TEST_TIMEOUT_MS / 1000 + ' s.' : 'camwall is not answering: ' + r.error;
  return (r.error || 'HTTP ' + r.status) + (r.status === 400 ? '' : ' (' + r.status + ')');
}

/**
 * A running test's line: a spinner and what is happening.
 * @param {HTMLElement} out
 */
function showTesting(out) {
  out.textContent = '';
  out.setAttribute('data-kind', 'busy');
  out.append(make('span', 'spinner'), make('span', '', 'Testing\u2026 (at most 5 s)'));
  /** @type {HTMLElement} */ (out.firstChild).setAttribute('aria-hidden', 'true');
}

/**
 * Every element of `root` that the Tab key reaches.
 * @param {HTMLElement} root @returns {HTMLElement[]}
 */
function tabbable(root) {
  const sel = 'button, input, select, textarea, summary, a[href], [tabindex]:not([tabindex="-1"])';
  return /** @type {HTMLElement[]} */ ([...root.querySelectorAll(sel)]).filter(
    (e) => !(/** @type {HTMLButtonElement} */ (e).disabled) && e.offsetParent !== null);
}

/**
 * Keeps Tab inside a modal dialog.
 * @param {HTMLElement} dialog @param {KeyboardEvent} e
 */
function trapTab(dialog, e) {
  const items = tabbable(dialog);
  if (!items.length) return;
  const first = items[0], last = items[items.length - 1];
  if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
  else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
}

/**
 * @typedef {HTMLLIElement & {_parts: {dot: HTMLElement, name: HTMLElement, id: HTMLElement, st: HTMLElement,
 *   url: HTMLElement, cfg: HTMLElement, test: HTMLButtonElement, edit: HTMLButtonElement,
 *   remove: HTMLButtonElement, out: HTMLElement}}} CameraRow
 */

export class CameraAdmin {
  /**
   * @param {{api: Api, onChanged: () => void, onOpenChange: (open: boolean) => void}} o
   *   `onChanged` after this page added, changed or removed a camera; `onOpenChange` when the
   *   screen opens or closes
   */
  constructor(o) {
    this.o = o;
    this.section = byId('admin');
    this.list = byId('camlist');
    this.statusEl = byId('camstatus');
    this.summaryEl = byId('admin-summary');
    this.dialog = byId('camdialog');
    this.form = /** @type {HTMLFormElement} */ (byId('camform'));
    this.formTitle = byId('camform-title');
    this.formError = byId('camform-error');
    this.saveBtn = /** @type {HTMLButtonElement} */ (byId('cf-save'));
    this.testBtn = /** @type {HTMLButtonElement} */ (byId('cf-test'));
    this.testOut = byId('cf-testout');
    this.motionPart = /** @type {HTMLDetailsElement} */ (byId('cf-motion'));
    this.confirm = byId('camconfirm');
    this.confirmError = byId('camconfirm-error');
    /** @type {CameraEntry[]} the configuration's cameras, in file order */
    this.entries = [];
    /** @type {Record<string, Camera>} the running cameras' states */
    this.live = Object.create(null);
    /** @type {string | null} why the list could not be had */
    this.loadError = null;
    this.loaded = false;
    /** @type {Map<string, CameraRow>} */
    this.rows = new Map();
    /** @type {CameraEntry | null | undefined} the camera in the form: null adding, undefined no form */
    this.editing = undefined;
    /** @type {CameraEntry | null} the camera asked about for removal */
    this.removing = null;
    this.saving = false;
    /** bumps with every form test, so an old answer never overwrites a newer one */
    this.testSeq = 0;
    /** whether the line above the form only points at the fields marked */
    this.errorOnlyPoints = false;
    /** @type {HTMLElement | null} where the focus goes back when a dialog closes */
    this.returnFocus = null;
    /** @type {Promise<void> | null} */
    this.loading = null;
    this.reloadAfter = false;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.refreshTimer = null;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.pollTimer = null;

    for (const k of /** @type {const} */ (['codec', 'decoder', 'transport'])) {
      const sel = /** @type {HTMLSelectElement} */ (byId('cf-' + k));
      for (const v of CAMERA_CHOICES[k]) {
        const opt = document.createElement('option');
        opt.value = v;
        opt.textContent = v;
        sel.appendChild(opt);
      }
    }
    byId('camadd').addEventListener('click', () => this.openForm(null));
    byId('camclose').addEventListener('click', () => this.hide());
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
    byId('cf-cancel').addEventListener('click', () => this.closeForm());
    this.testBtn.addEventListener('click', () => { this.testForm(); });
    // A field typed into again: its old error goes.
    this.form.addEventListener('input', (e) => {
      const field = /** @type {HTMLElement} */ (e.target).closest('.field');
      if (field) this.setFieldError(/** @type {string} */ (field.getAttribute('data-field')), '');
      // The line that only pointed at the marked fields goes with the last of them.
      if (this.errorOnlyPoints && !this.form.querySelector('.field.invalid')) {
        this.formError.textContent = '';
        this.errorOnlyPoints = false;
      }
    });
    byId('camconfirm-yes').addEventListener('click', () => { this.remove(); });
    byId('camconfirm-no').addEventListener('click', () => this.closeConfirm());
    document.addEventListener('keydown', (e) => this.onKey(e));
  }

  get open() { return !this.section.hidden; }
  get formOpen() { return !this.dialog.hidden; }
  get confirmOpen() { return !this.confirm.hidden; }

  show() {
    if (this.open) return;
    this.section.hidden = false;
    document.body.classList.add('admin-open');
    this.o.onOpenChange(true);
    this.render();
    this.refresh();
    this.pollTimer = setInterval(() => { if (!document.hidden) this.refresh(); }, ADMIN_POLL_MS);
    byId('admin-title').setAttribute('tabindex', '-1');
    byId('admin-title').focus();
  }

  hide() {
    if (!this.open) return;
    this.closeConfirm();
    this.closeForm();
    this.section.hidden = true;
    document.body.classList.remove('admin-open');
    if (this.pollTimer) { clearInterval(this.pollTimer); this.pollTimer = null; }
    this.o.onOpenChange(false);
  }

  /** @param {KeyboardEvent} e */
  onKey(e) {
    if (!this.open) return;
    const modal = this.confirmOpen ? this.confirm : this.formOpen ? this.dialog : null;
    if (e.key === 'Escape') {
      e.preventDefault();
      if (this.confirmOpen) this.closeConfirm();
      else if (this.formOpen) this.closeForm();
      else this.hide();
    } else if (e.key === 'Tab' && modal) {
      trapTab(modal, e);
    }
  }

  // ------------------------------------------------------------ the list

  /** Asks for the list again soon (a `cameras` or `camera` event); bursts make one request. */
  refreshSoon() {
    if (!this.open || this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => { this.refreshTimer = null; this.refresh(); }, REFRESH_DEBOUNCE_MS);
  }

  /** The configuration's cameras and the running ones' states, asked for together. */
  refresh() {
    if (this.loading) { this.reloadAfter = true; return this.loading; }
    const api = this.o.api;
    this.loading = Promise.all([api('GET', '/api/cameras/config'), api('GET', '/api/cameras')]).then(([conf, live]) => {
      if (conf.ok && Array.isArray(conf.data)) {
        /** @type {CameraEntry[]} */
        const entries = [];
        const seen = new Set();
        for (const raw of conf.data) {
          const e = normEntry(raw);
          if (e && !seen.has(e.id)) { seen.add(e.id); entries.push(e); }
        }
        this.entries = entries;
        this.loadError = null;
        this.loaded = true;
      } else {
        this.loadError = conf.status === 403 ? 'only an administrator may see the cameras\u2019 settings' : (conf.error || 'no list');
      }
      if (live.ok && Array.isArray(live.data)) {
        this.live = Object.create(null);
        for (const raw of live.data) {
          const c = normCamera(raw);
          if (c) this.live[c.id] = c;
        }
      }
      this.render();
    }).catch(() => {}).then(() => {
      this.loading = null;
      if (this.reloadAfter) { this.reloadAfter = false; this.refresh(); }
    });
    return this.loading;
  }

  /** @param {CameraEntry} e @returns {{state: string, text: string, tip: string}} */
  stateOf(e) {
    if (!e.enabled) return { state: 'disabled', text: 'disabled', tip: 'camwall does not connect to it' };
    const c = this.live[e.id];
    if (!c) return { state: 'connecting', text: 'starting', tip: '' };
    if (c.state === 'live') {
      let text = 'live';
      if (typeof c.width === 'number' && typeof c.height === 'number') text += ' \u00b7 ' + c.width + '\u00d7' + c.height;
      // A camera just started has no rate yet.
      if (typeof c.fps === 'number' && c.fps > 0) text += ' \u00b7 ' + (Math.round(c.fps * 10) / 10) + ' fps';
      const dec = /** @type {Record<string, unknown>} */ (c).decoder;
      return { state: 'live', text, tip: typeof dec === 'string' ? 'decoded by ' + dec : '' };
    }
    if (c.error) return { state: c.state, text: c.state + ': ' + c.error.words, tip: c.error.message };
    return { state: c.state, text: c.state, tip: '' };
  }

  /** @param {CameraEntry} e @returns {CameraRow} */
  makeRow(e) {
    const li = /** @type {CameraRow} */ (document.createElement('li'));
    li.className = 'camrow';
    li.setAttribute('data-camera-id', e.id);
    const who = make('div', 'who');
    const dot = make('span', 'dot');
    dot.setAttribute('aria-hidden', 'true');
    const name = make('span', 'name'), id = make('code', 'id');
    who.append(dot, name, id);
    const st = make('div', 'st'), url = make('code', 'url'), cfg = make('div', 'cfg');
    const acts = make('div', 'acts');
    const edit = /** @type {HTMLButtonElement} */ (make('button', 'edit', 'Edit'));
    const test = /** @type {HTMLButtonElement} */ (make('button', 'test', 'Test'));
    const remove = /** @type {HTMLButtonElement} */ (make('button', 'remove', 'Remove'));
    for (const b of [edit, test, remove]) b.type = 'button';
    acts.append(edit, test, remove);
    const out = make('p', 'testout');
    out.setAttribute('role', 'status');
    li.append(who, st, url, cfg, acts, out);
    li._parts = { dot, name, id, st, url, cfg, test, edit, remove, out };
    const entry = () => this.entries.find((x) => x.id === e.id) || null;
    edit.addEventListener('click', () => { const x = entry(); if (x) this.openForm(x); });
    test.addEventListener('click', () => { const x = entry(); if (x) this.testRow(x, li); });
    remove.addEventListener('click', () => { const x = entry(); if (x) this.askRemove(x); });
    return li;
  }

  render() {
    if (!this.open) return;
    const rows = this.entries.map((e) => {
      const li = this.rows.get(e.id) || this.makeRow(e);
      this.rows.set(e.id, li);
      const p = li._parts;
      const { state, text, tip } = this.stateOf(e);
      setAttr(li, 'data-state', state);
      setText(p.name, e.name || e.id);
      setText(p.id, e.id);
      p.id.hidden = (e.name || e.id) === e.id;
      setText(p.st, text);
      setAttr(p.st, 'title', tip);
      setText(p.url, e.url);
      const cfg = ['codec ' + e.codec, 'decoder ' + e.decoder, 'transport ' + e.transport, 'priority ' + e.priority];
      if (e.detect_url) cfg.push('motion on sub-stream ' + e.detect_url);
      if (e.motion.enabled === false) cfg.push('no motion alarms');
      if (e.walls.length) cfg.push('walls: ' + e.walls.join(', '));
      setText(p.cfg, cfg.join(' \u00b7 '));
      const label = e.name || e.id;
      setAttr(p.edit, 'aria-label', 'Edit ' + label);
      setAttr(p.test, 'aria-label', 'Test ' + label);
      setAttr(p.remove, 'aria-label', 'Remove ' + label);
      return li;
    });
    for (const id of [...this.rows.keys()]) if (!this.entries.some((e) => e.id === id)) this.rows.delete(id);
    // Rows are moved only when the order changed: a moved row would lose the keyboard's focus.
    const now = [...this.list.children];
    if (now.length !== rows.length || now.some((el, i) => el !== rows[i])) this.list.replaceChildren(...rows);
    const n = this.entries.length, off = this.entries.filter((e) => !e.enabled).length;
    let summary;
    if (this.loadError) summary = 'The list could not be had: ' + this.loadError;
    else if (!this.loaded) summary = 'Loading\u2026';
    else if (!n) summary = 'No camera yet: add the first one.';
    else summary = n + (n === 1 ? ' camera' : ' cameras') + (off ? ', ' + off + ' disabled' : '') + ', in the configuration file\u2019s order.';
    setText(this.summaryEl, summary);
  }

  /** @param {string} text */
  say(text) { this.statusEl.textContent = text; }

  /**
   * Tests a saved camera's address (with its stored password).
   * @param {CameraEntry} e @param {CameraRow} li
   */
  async testRow(e, li) {
    const { out, test } = li._parts;
    test.disabled = true;
    showTesting(out);
    const r = await this.o.api('POST', '/api/cameras/test', testBody(e.url, e.id), TEST_TIMEOUT_MS);
    test.disabled = false;
    const t = r.ok ? normTest(r.data) : null;
    out.setAttribute('data-kind', t ? (t.ok ? 'ok' : 'failed') : 'failed');
    out.textContent = (e.name || e.id) + ': ' + (t ? testText(t) : testFailureText(r));
  }

  // ------------------------------------------------------------ the form

  /** @param {string} field  a camera's key, as camwall names it (`url`, `motion.min_area`) */
  fieldEl(field) { return /** @type {HTMLElement | null} */ (this.form.querySelector('.field[data-field="' + CSS.escape(field) + '"]')); }

  /** @param {string} field @param {string} message  empty: no error */
  setFieldError(field, message) {
    const f = this.fieldEl(field);
    if (!f) return false;
    const err = f.querySelector('.err');
    const input = f.querySelector('input, select');
    if (err) err.textContent = message;
    if (input) {
      if (message) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
    }
    f.classList.toggle('invalid', !!message);
    return true;
  }

  clearErrors() {
    for (const f of this.form.querySelectorAll('.field')) this.setFieldError(/** @type {string} */ (f.getAttribute('data-field')), '');
    this.formError.textContent = '';
    this.errorOnlyPoints = false;
  }

  /** @param {string} name @returns {HTMLInputElement} */
  input(name) { return /** @type {HTMLInputElement} */ (this.form.elements.namedItem(name)); }

  /** @returns {CameraForm} */
  readForm() {
    /** @type {Record<string, string>} */
    const motion = {};
    for (const { key } of MOTION_KEYS) motion[key] = this.input('motion.' + key).value;
    return {
      id: this.input('id').value,
      name: this.input('name').value,
      url: this.input('url').value,
      detect_url: this.input('detect_url').value,
      codec: this.input('codec').value,
      decoder: this.input('decoder').value,
      transport: this.input('transport').value,
      priority: this.input('priority').value,
      enabled: this.input('enabled').checked,
      motion_enabled: this.input('motion.enabled').checked,
      motion_learn_ignore: this.input('motion.learn_ignore').checked,
      motion,
    };
  }

  /** @param {CameraForm} f */
  writeForm(f) {
    for (const k of /** @type {const} */ (['id', 'name', 'url', 'detect_url', 'codec', 'decoder', 'transport', 'priority'])) this.input(k).value = f[k];
    this.input('enabled').checked = f.enabled;
    this.input('motion.enabled').checked = f.motion_enabled;
    this.input('motion.learn_ignore').checked = f.motion_learn_ignore;
    for (const { key } of MOTION_KEYS) this.input('motion.' + key).value = f.motion[key] || '';
  }

  /** @param {CameraEntry | null} e  the camera to change, or null to add one */
  openForm(e) {
    this.returnFocus = /** @type {HTMLElement | null} */ (document.activeElement);
    this.editing = e;
    this.clearErrors();
    this.testSeq++;
    this.testOut.textContent = '';
    this.testOut.removeAttribute('data-kind');
    this.testBtn.disabled = false;
    this.writeForm(formOf(e));
    byId('cf-url-hint').textContent = e && e.url.includes(':***@')
      ? 'The password shows as ***. Left so, camwall keeps the stored one, even with a new host or path; ' +
        'for another user, type the password in place of ***.'
      : 'rtsp://user:password@host/path, as the camera\u2019s manual gives it. Once saved, the password shows only as ***.';
    const idField = /** @type {HTMLElement} */ (this.fieldEl('id'));
    idField.hidden = !!e;
    this.formTitle.textContent = e ? 'Edit ' + (e.name || e.id) + ' (' + e.id + ')' : 'Add a camera';
    this.saveBtn.textContent = e ? 'Save' : 'Add camera';
    this.motionPart.open = !!e && Object.keys(e.motion).length > 0;
    this.dialog.hidden = false;
    this.input(e ? 'name' : 'id').focus();
  }

  closeForm() {
    if (!this.formOpen) return;
    this.dialog.hidden = true;
    this.editing = undefined;
    this.testSeq++;
    // What was typed (a new password among it) does not stay in the page.
    this.writeForm(formOf(null));
    const back = this.returnFocus;
    this.returnFocus = null;
    if (back && back.isConnected && back.focus) back.focus();
  }

  /**
   * Shows camwall's refusal: each validation error at its field, with camwall's sentence; what
   * has no field (or one the form lacks) above the form.
   * @param {ApiAnswer} r
   */
  showErrors(r) {
    /** @type {string[]} */
    const general = [];
    let marked = 0;
    /** @type {string | null} */
    let first = null;
    /** @param {string} field @param {string} message */
    const at = (field, message) => {
      const f = this.fieldEl(field);
      if (f && !f.hidden) {
        this.setFieldError(field, message);
        marked++;
        if (first === null) first = field;
      } else {
        general.push(message);
      }
    };
    const d = r.data && typeof r.data === 'object' ? /** @type {Record<string, unknown>} */ (r.data) : {};
    if (r.status === 400 && Array.isArray(d.errors) && d.errors.length) {
      for (const raw of d.errors) {
        const e = /** @type {Record<string, unknown>} */ (raw && typeof raw === 'object' ? raw : {});
        const message = typeof e.message === 'string' && e.message ? e.message : (r.error || 'refused');
        if (typeof e.field === 'string' && e.field) at(e.field, message);
        else general.push((typeof e.key === 'string' && e.key ? e.key + ': ' : '') + message);
      }
    } else if (r.status === 409) {
      at('id', r.error || 'this id is taken by another camera');
    } else if (r.status === 404) {
      general.push('This camera is no longer in the configuration: someone removed it meanwhile.');
      this.refresh();
    } else if (r.status === 403) {
      general.push('Only an administrator may change cameras.');
    } else if (r.status === 0) {
      general.push('camwall is not answering (' + r.error + '): nothing was saved.');
    } else {
      general.push((r.error || 'refused') + (r.status ? ' (' + r.status + ')' : ''));
    }
    let text = general.join(' ');
    this.errorOnlyPoints = !!marked && !general.length;
    if (this.errorOnlyPoints) text = 'Not saved: ' + (marked === 1 ? 'see the field marked below.' : 'see the ' + marked + ' fields marked below.');
    else if (marked) text = 'Not saved. ' + text;
    this.formError.textContent = text;
    if (first !== null) {
      const f = /** @type {HTMLElement} */ (this.fieldEl(first));
      if (this.motionPart.contains(f)) this.motionPart.open = true;
      const input = /** @type {HTMLElement | null} */ (f.querySelector('input, select'));
      if (input) input.focus();
    }
    // A motion field in error is never left folded away.
    if ([...this.motionPart.querySelectorAll('.field.invalid')].length) this.motionPart.open = true;
  }

  async submit() {
    if (this.saving || this.editing === undefined) return;
    const orig = this.editing;
    this.clearErrors();
    const { body, errors } = cameraBody(this.readForm(), orig);
    if (errors.length) {
      this.showErrors({ ok: false, status: 400, data: { errors }, error: null });
      return;
    }
    if (orig && !Object.keys(body).length) {
      this.closeForm();
      this.say('Nothing changed on ' + (orig.name || orig.id) + '.');
      return;
    }
    this.saving = true;
    this.saveBtn.disabled = true;
    const label = this.saveBtn.textContent;
    this.saveBtn.textContent = 'Saving\u2026';
    const r = orig ? await this.o.api('PUT', camPath(orig.id), body) : await this.o.api('POST', '/api/cameras', body);
    this.saving = false;
    this.saveBtn.disabled = false;
    this.saveBtn.textContent = label;
    if (this.editing !== orig) return;   // the form was closed meanwhile
    if (!r.ok) { this.showErrors(r); return; }
    const saved = normEntry(r.data);
    if (saved) {
      const i = this.entries.findIndex((x) => x.id === saved.id);
      if (i >= 0) this.entries[i] = saved; else this.entries.push(saved);
    }
    this.closeForm();
    const name = saved ? (saved.name || saved.id) : String(body.id || (orig && orig.id));
    this.say(orig ? name + ' saved.' : name + ' added.');
    this.render();
    this.refresh();
    this.o.onChanged();
  }

  /** Tests the address typed (a masked password: the stored one, when editing). */
  async testForm() {
    const url = this.input('url').value.trim();
    if (!url) { this.setFieldError('url', 'type the camera\u2019s address first: rtsp://...'); this.input('url').focus(); return; }
    if (maskedElsewhere(url, this.editing || null)) { this.setFieldError('url', MASKED_CHANGED); this.input('url').focus(); return; }
    this.setFieldError('url', '');
    const seq = ++this.testSeq;
    this.testBtn.disabled = true;
    showTesting(this.testOut);
    const r = await this.o.api('POST', '/api/cameras/test', testBody(url, this.editing ? this.editing.id : null), TEST_TIMEOUT_MS);
    if (seq !== this.testSeq) return;
    this.testBtn.disabled = false;
    const t = r.ok ? normTest(r.data) : null;
    if (!t) {
      this.testOut.setAttribute('data-kind', 'failed');
      this.testOut.textContent = 'Not tested: ' + testFailureText(r);
      if (r.status === 400) this.setFieldError('url', r.error || 'not a camera\u2019s address');
      return;
    }
    let text = testText(t);
    // The codec chosen cannot decode what the camera sends: said now, not after saving.
    const codec = this.input('codec').value;
    if (t.ok && t.codec && codec !== 'auto' && (codec === 'mjpeg' ? 'jpeg' : codec) !== t.codec) {
      text += '. The camera sends ' + t.codec + ', but Codec is set to ' + codec + '.';
    }
    this.testOut.setAttribute('data-kind', t.ok ? 'ok' : 'failed');
    this.testOut.textContent = text;
  }

  // ------------------------------------------------------------ removal

  /** @param {CameraEntry} e */
  askRemove(e) {
    this.returnFocus = /** @type {HTMLElement | null} */ (document.activeElement);
    this.removing = e;
    const label = e.name || e.id;
    byId('camconfirm-title').textContent = 'Remove ' + label + '?';
    const walls = e.walls.length ? ' It goes from the walls that list it (' + e.walls.join(', ') + ').' : '';
    byId('camconfirm-detail').textContent = label + (label !== e.id ? ' (' + e.id + ')' : '') + ' at ' + e.url +
      ' goes from the configuration file; ' +
      'the other cameras and the walls go on.' + walls + ' camwall keeps the previous file beside it.';
    this.confirmError.textContent = '';
    const yes = /** @type {HTMLButtonElement} */ (byId('camconfirm-yes'));
    yes.disabled = false;
    yes.textContent = 'Remove ' + label;
    this.confirm.hidden = false;
    byId('camconfirm-no').focus();
  }

  closeConfirm() {
    if (!this.confirmOpen) return;
    this.confirm.hidden = true;
    this.removing = null;
    const back = this.returnFocus;
    this.returnFocus = null;
    if (back && back.isConnected && back.focus) back.focus();
    else byId('camadd').focus();
  }

  async remove() {
    const e = this.removing;
    if (!e) return;
    const yes = /** @type {HTMLButtonElement} */ (byId('camconfirm-yes'));
    yes.disabled = true;
    const r = await this.o.api('DELETE', camPath(e.id));
    yes.disabled = false;
    if (this.removing !== e) return;
    if (!r.ok && r.status !== 404) {
      this.confirmError.textContent = 'Not removed: ' + (r.error || 'HTTP ' + r.status) + (r.status ? ' (' + r.status + ')' : '');
      return;
    }
    this.entries = this.entries.filter((x) => x.id !== e.id);
    this.closeConfirm();
    this.say((e.name || e.id) + (r.ok ? ' removed.' : ' was already gone.'));
    this.render();
    byId('camadd').focus();
    this.refresh();
    this.o.onChanged();
  }
}
