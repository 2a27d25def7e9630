// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// Everything that says what the picture is: the header (which camera, why, the user's choice
// waiting, the live link), the overlay that covers a picture that is not live, the figures of
// the HUD (key `i`), and the toast for a failed action.

import { setAttr, setText } from './cameras.js';

/** @typedef {import('../model.js').Model} Model */
/** @typedef {import('../player.js').Player} Player */

/** A picture with no new frame for this long, while connected, is stale. */
const STALE_MS = 2000;
export const UNAUTH_TEXT = 'unauthorised: add ?token=... to the page URL';

/**
 * The live link as the app sees it.
 * @typedef {object} Link
 * @property {boolean} connected
 * @property {boolean} everConnected
 * @property {number} disconnectedPerf  performance.now() when it went down
 * @property {number} openedPerf        performance.now() when it opened
 * @property {boolean} unauthorised
 * @property {string | null} token
 * @property {boolean} grid             the grid layout: the grid's socket is the live link
 * @property {boolean} gridUp
 */

/** The last drawn frame. @typedef {{camera: string | null, seq: number | null, ts: number | null, drawnAt: number}} LastFrame */

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

export class StatusView {
  /**
   * @param {Model} model
   * @param {Player} player
   * @param {Link} link
   * @param {() => LastFrame | null} lastFrame
   * @param {() => string | null} peek  the camera watched alone instead of the wall, if any
   */
  constructor(model, player, link, lastFrame, peek) {
    this.model = model;
    this.player = player;
    this.link = link;
    this.lastFrame = lastFrame;
    this.peek = peek;
    this.clockEl = $('clock'); this.peekEl = $('peek');
    this.overlayEl = $('overlay'); this.overlayTitle = $('overlay-title'); this.overlayDetail = $('overlay-detail');
    this.onscreenEl = $('onscreen'); this.reasonEl = $('reason'); this.switchingEl = $('switching');
    this.resumeEl = $('resume'); this.connEl = $('conn'); this.connText = $('conn-text');
    this.hudEl = $('hud'); this.toastEl = $('toast');
    /** @type {string} what the overlay shows: '', 'reconnecting', 'unauthorised', 'offline', 'stale' */
    this.overlayKind = 'reconnecting';
    // The figures are for whoever looks after camwall: off until `i`.
    this.hudVisible = false;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.toastTimer = null;
  }

  renderHeader() {
    const { model, link } = this;
    const sel = model.selection;
    const lf = this.lastFrame();
    const shown = lf ? lf.camera : null;
    let text;
    if (lf) text = model.label(shown);
    else if (sel && sel.camera !== null) text = model.label(sel.camera) + ' (waiting for picture)';
    else text = 'no camera';
    setText(this.onscreenEl, text);

    const peek = this.peek();
    if (peek !== null) {
      setAttr(this.reasonEl, 'data-reason', 'peek');
      setText(this.reasonEl, 'watching alone');
      setText(this.peekEl, model.label(peek) + ' alone: the wall goes on without you \u2014 Esc returns to it');
      this.peekEl.hidden = false;
      this.switchingEl.hidden = true;
      this.resumeEl.hidden = true;
      document.body.classList.remove('alarm');
      this.renderConn();
      return;
    }
    this.peekEl.hidden = true;
    const isAlarm = !!(sel && sel.reason === 'alarm');
    // The user's choice has no picture (stalled, offline) and the selector shows another camera.
    const standIn = !!(sel && !isAlarm && sel.camera !== null && sel.user_choice !== null &&
      sel.user_choice !== undefined && sel.user_choice !== sel.camera);
    setAttr(this.reasonEl, 'data-reason', isAlarm ? 'alarm' : 'user');
    setText(this.reasonEl, sel ? (isAlarm ? 'ALARM' : (standIn ? 'stand-in' : 'your choice')) : '\u2014');
    document.body.classList.toggle('alarm', isAlarm);

    if (sel && sel.camera !== null && lf && sel.camera !== shown) {
      setText(this.switchingEl, '\u2192 switching to ' + model.label(sel.camera) + '\u2026');
      this.switchingEl.hidden = false;
    } else {
      this.switchingEl.hidden = true;
    }
    if (sel && isAlarm && sel.user_choice !== null && sel.user_choice !== undefined && sel.user_choice !== sel.camera) {
      setText(this.resumeEl, 'your choice ' + model.label(sel.user_choice) + ' returns after the alarm');
      this.resumeEl.hidden = false;
    } else if (sel && standIn) {
      const choice = sel.user_choice !== null ? model.camById[sel.user_choice] : undefined;
      const why = choice && choice.state !== 'live' && choice.error ? ' (' + choice.error.words + ')' : '';
      setText(this.resumeEl, 'your choice ' + model.label(sel.user_choice) + ' has no picture' + why + '; it returns when it has');
      this.resumeEl.hidden = false;
    } else {
      this.resumeEl.hidden = true;
    }

    this.renderConn();
  }

  renderConn() {
    const { link } = this;
    if (link.grid ? link.gridUp : link.connected) { setAttr(this.connEl, 'data-state', 'up'); setText(this.connText, 'live link'); }
    else if (link.everConnected) { setAttr(this.connEl, 'data-state', 'down'); setText(this.connText, 'reconnecting\u2026'); }
    else { setAttr(this.connEl, 'data-state', 'connecting'); setText(this.connText, 'connecting\u2026'); }
  }

  updateOverlay() {
    const { model, link, player } = this;
    let kind = '', title = '', detail = '';
    const t = performance.now();
    const sel = model.selection;
    const lf = this.lastFrame();
    if (link.unauthorised) {
      kind = 'unauthorised'; title = 'Unauthorised';
      detail = link.token ? 'unauthorised: the token in ?token=... was rejected' : UNAUTH_TEXT;
    } else if (!link.connected) {
      kind = 'reconnecting';
      title = link.everConnected ? 'Reconnecting\u2026' : 'Connecting\u2026';
      detail = link.everConnected
        ? 'live link lost ' + ((t - link.disconnectedPerf) / 1000).toFixed(1) + ' s ago \u2014 the picture is NOT live'
        : 'opening the live link';
    } else {
      const peek = this.peek();
      const camId = peek !== null ? peek : (sel && sel.camera !== null) ? sel.camera : (lf ? lf.camera : null);
      const cam = camId !== null ? model.camById[camId] : null;
      // A camera retried after a failure (connecting, with the failure still known) is as down
      // as when it was offline: the overlay does not flicker with every retry.
      if (cam && (cam.state === 'offline' || (cam.state === 'connecting' && cam.error))) {
        kind = 'offline'; title = 'Camera offline';
        detail = cam.name + ' is offline' + (cam.error ? ': ' + cam.error.words : '') +
          ' \u2014 the picture is NOT live';
      } else {
        const lastDraw = player.lastDrawPerf;
        const base = Math.max(lastDraw, link.openedPerf);
        if (t - base > STALE_MS) {
          kind = 'stale'; title = lastDraw ? 'Stale picture' : 'No picture';
          if (camId === null) detail = model.cameras.length ? 'no camera on screen' : 'no cameras configured';
          else if (!lastDraw) detail = 'waiting for the first frame of ' + model.label(camId);
          else detail = 'no new frame for ' + ((t - lastDraw) / 1000).toFixed(1) + ' s \u2014 the picture is NOT live';
        }
      }
    }
    this.overlayKind = kind;
    setAttr(this.overlayEl, 'data-kind', kind);
    setText(this.overlayTitle, title);
    setText(this.overlayDetail, detail);
  }

  /**
   * The picture's time as a clock shows it (when it reached camwall: the stream carries no
   * capture time camwall reads), and how late it is, in words, once that is noticeable.
   */
  updateClock() {
    const lf = this.lastFrame();
    if (!lf || lf.ts === null) { setText(this.clockEl, ''); this.clockEl.removeAttribute('data-late'); return; }
    const d = new Date(lf.ts);
    let text = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    const age = Date.now() - lf.ts;
    const late = age >= 2000;
    if (late) text += ' \u00b7 ' + ageWords(age) + ' old';
    setText(this.clockEl, text);
    setAttr(this.clockEl, 'datetime', d.toISOString());
    if (late) setAttr(this.clockEl, 'data-late', 'true'); else this.clockEl.removeAttribute('data-late');
  }

  toggleHud() {
    this.hudVisible = !this.hudVisible;
    this.hudEl.hidden = !this.hudVisible;
    if (this.hudVisible) this.updateHud();
  }

  updateHud() {
    if (!this.hudVisible) return;
    const { player } = this;
    const lf = this.lastFrame();
    const age = (lf && lf.ts !== null) ? Date.now() - lf.ts : null;
    const cls = age === null ? '' : (age < 250 ? 'good' : (age < 1000 ? 'warn' : 'bad'));
    const line1 = 'age ' + (age === null ? '\u2014' : age + ' ms') + ' \u00b7 ' + player.fps() +
      ' fps \u00b7 dropped ' + player.framesDropped;
    let line2 = lf ? ((lf.camera === null ? '?' : lf.camera) + ' #' + (lf.seq === null ? '?' : lf.seq)) : 'no frame yet';
    const d = player.lastDraw;
    if (d) {
      line2 += ' \u00b7 ' + d.width + '\u00d7' + d.height;
      if (d.latency !== null) line2 += ' \u00b7 at draw ' + d.latency + ' ms';
      line2 += ' \u00b7 dec ' + Math.round(d.decodeMs) + ' ms';
    }
    line2 += ' \u00b7 ' + player.decoder;
    if (player.decodeErrors) line2 += ' \u00b7 errors ' + player.decodeErrors;
    // built with DOM nodes: no innerHTML with data
    this.hudEl.textContent = '';
    const s1 = document.createElement('span');
    if (cls) s1.className = cls;
    s1.textContent = line1;
    this.hudEl.append(s1, document.createTextNode('\n' + line2));
  }

  /** @param {string} text */
  showToast(text) {
    this.toastEl.textContent = text;
    this.toastEl.hidden = false;
    if (this.toastTimer) clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { this.toastEl.hidden = true; this.toastTimer = null; }, 3500);
  }
}

/** @param {number} ms  an age, in the words a guard reads: "5 s", "3 min", "2 h" */
export function ageWords(ms) {
  const s = Math.round(ms / 1000);
  if (s < 90) return s + ' s';
  const m = Math.round(s / 60);
  if (m < 90) return m + ' min';
  return Math.round(m / 60) + ' h';
}
