// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// What gets a guard's attention when an alarm takes the wall over, and the one-click answers to
// it: the tab's title and icon change, a sound plays (silent until the guard turns it on once,
// as browsers require), a desktop notification shows when allowed, and the screen is kept awake.
// Acknowledge (key `a`) and snooze are one click each. An alarm that goes on and on (a tree in
// the wind, a screen in view) is pointed out, with what to do about it.

/** @typedef {import('../model.js').Model} Model */
/** @typedef {import('../model.js').Selection} Selection */

/** The tab icon while an alarm holds the wall: a red disc. */
const ALARM_ICON = 'data:image/svg+xml,' + encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#ff3b30"/></svg>');
const QUIET_ICON = 'data:,';
const SOUND_KEY = 'camwall.sound';

/** @param {number} ms  a duration, as a guard reads it */
export function duration(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 120) return s + ' s';
  const min = Math.floor(s / 60);
  if (min < 120) return min + ' min';
  return Math.floor(min / 60) + ' h ' + (min % 60) + ' min';
}

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

export class Attention {
  /**
   * @param {Model} model
   * @param {{ack: () => void, snooze: (camera: string) => void}} actions
   * @param {number} longAlarmMs  an alarm on for this long is pointed out
   */
  constructor(model, actions, longAlarmMs) {
    this.model = model;
    this.longAlarmMs = longAlarmMs;
    this.longEl = $('longalarm');
    this.baseTitle = document.title;
    /** The camera whose alarm holds the wall, as last shown. @type {string | null} */
    this.alarmCam = null;
    this.ackEl = /** @type {HTMLButtonElement} */ ($('ack'));
    this.snoozeEl = /** @type {HTMLButtonElement} */ ($('snooze'));
    this.soundEl = /** @type {HTMLButtonElement} */ ($('sound'));
    this.icon = /** @type {HTMLLinkElement | null} */ (document.querySelector('link[rel=icon]'));
    let stored = null;
    try { stored = window.localStorage.getItem(SOUND_KEY); } catch (e) { /* private mode */ }
    this.soundOn = stored === 'on';
    /** @type {AudioContext | null} */
    this.audio = null;
    /** @type {WakeLockSentinel | null} */
    this.wakeLock = null;
    this.ackEl.addEventListener('click', () => actions.ack());
    this.snoozeEl.addEventListener('click', () => { if (this.alarmCam) actions.snooze(this.alarmCam); });
    this.soundEl.addEventListener('click', () => this.toggleSound());
    this.renderSound();
    this.keepAwake();
    document.addEventListener('visibilitychange', () => { if (!document.hidden) this.keepAwake(); });
    // Time passes without any message: the long alarms are looked at every second.
    setInterval(() => this.renderLongAlarm(), 1000);
  }

  /**
   * Points out the camera whose alarm has been on longest, once that is `longAlarmMs` (snoozed
   * cameras left out: someone has seen to them).
   */
  renderLongAlarm() {
    const now = Date.now();
    const long = this.model.cameras
      .filter((c) => c.alarm && typeof c.alarm_since === 'number' && now - c.alarm_since >= this.longAlarmMs &&
        !(typeof c.snoozed_until === 'number' && c.snoozed_until > now))
      .sort((a, b) => Number(a.alarm_since) - Number(b.alarm_since));
    document.body.toggleAttribute('data-long-alarm', long.length > 0);
    if (!long.length) {
      this.longEl.hidden = true;
      this.longEl.removeAttribute('data-camera-id');
      return;
    }
    const c = long[0];
    const others = long.length > 1 ? ' (and ' + (long.length - 1) + ' more)' : '';
    const text = c.name + ' has been in alarm for ' + duration(now - Number(c.alarm_since)) + others +
      ': if nothing is happening there, snooze it, or add an ignore zone for what keeps moving';
    if (this.longEl.textContent !== text) this.longEl.textContent = text;
    this.longEl.setAttribute('data-camera-id', c.id);
    this.longEl.hidden = false;
  }

  /** Says whether an alarm holds the wall now; acts on a change. */
  update() {
    this.renderLongAlarm();
    const sel = this.model.selection;
    const cam = sel && sel.reason === 'alarm' ? sel.camera : null;
    if (cam === this.alarmCam) return;
    const started = cam !== null && cam !== this.alarmCam;
    this.alarmCam = cam;
    // The buttons' place is kept (the stylesheet shows them while `body.alarm`): nothing moves.
    if (cam === null) {
      document.title = this.baseTitle;
      if (this.icon) this.icon.href = QUIET_ICON;
      return;
    }
    const name = this.model.label(cam);
    document.title = '\u26a0 ALARM ' + name + ' \u2014 ' + this.baseTitle;
    if (this.icon) this.icon.href = ALARM_ICON;
    this.ackEl.title = 'acknowledge the alarm of ' + name + ' (a)';
    this.snoozeEl.title = 'keep the alarms of ' + name + ' off the wall for 30 minutes';
    if (started) {
      this.beep();
      this.notify(name);
    }
  }

  toggleSound() {
    this.soundOn = !this.soundOn;
    try { window.localStorage.setItem(SOUND_KEY, this.soundOn ? 'on' : 'off'); } catch (e) { /* ignore */ }
    // Turned on by a click: the one moment browsers let a page start its audio (and ask for
    // notifications).
    if (this.soundOn) {
      this.beep();
      try {
        if ('Notification' in window && Notification.permission === 'default') Notification.requestPermission().catch(() => {});
      } catch (e) { /* ignore */ }
    }
    this.renderSound();
  }

  renderSound() {
    this.soundEl.setAttribute('aria-pressed', this.soundOn ? 'true' : 'false');
    this.soundEl.textContent = this.soundOn ? 'sound: on' : 'sound: off';
    this.soundEl.title = this.soundOn ? 'an alarm plays a sound; click to silence' : 'click to hear a sound on each alarm';
  }

  /** Two short tones, made on the spot (no file to load). */
  beep() {
    if (!this.soundOn) return;
    try {
      if (!this.audio) this.audio = new AudioContext();
      const ctx = this.audio;
      for (const [at, hz] of [[0, 880], [0.22, 660]]) {
        const osc = ctx.createOscillator(), gain = ctx.createGain();
        osc.frequency.value = hz;
        gain.gain.setValueAtTime(0.25, ctx.currentTime + at);
        gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + at + 0.18);
        osc.connect(gain).connect(ctx.destination);
        osc.start(ctx.currentTime + at);
        osc.stop(ctx.currentTime + at + 0.2);
      }
    } catch (e) { /* no audio here */ }
  }

  /** @param {string} name */
  notify(name) {
    try {
      if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return;
      new Notification('camwall: alarm on ' + name, { body: 'It has taken the wall over.', tag: 'camwall-alarm' });
    } catch (e) { /* ignore */ }
  }

  /** Asks for a screen wake lock while the page is visible (released by the browser when hidden). */
  keepAwake() {
    try {
      const wl = /** @type {Navigator & {wakeLock?: WakeLock}} */ (navigator).wakeLock;
      if (!wl || document.hidden || (this.wakeLock && !this.wakeLock.released)) return;
      wl.request('screen').then((s) => { this.wakeLock = s; }).catch(() => {});
    } catch (e) { /* ignore */ }
  }
}
