// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// What the page knows: the cameras and the selection, as the API and the WebSocket tell them,
// normalised so that nothing malformed reaches the views. The shapes mirror the launcher's API
// (`GET /api/cameras`, `GET /api/selection`) and `gstcamwall::protocol`.

/** @typedef {import('./protocol.js').CameraError} WireCameraError */

/**
 * Why a camera is down, with the words a guard reads.
 * @typedef {object} CameraFailure
 * @property {string} kind
 * @property {string} words
 * @property {string} message
 * @property {number | null} since
 */

/**
 * One camera, as `GET /api/cameras` gives it (other fields kept as they come).
 * @typedef {object} Camera
 * @property {string} id
 * @property {string} name
 * @property {'connecting' | 'live' | 'offline'} state
 * @property {boolean} alarm
 * @property {boolean} selected
 * @property {CameraFailure | null} error
 * @property {number | null} [offline_since]
 * @property {number | null} [width]
 * @property {number | null} [height]
 * @property {number | null} [fps]
 * @property {number | null} [last_frame_age_ms]
 * @property {string} [alarm_kind]
 * @property {number} [alarm_level]
 * @property {number | null} [snoozed_until]  unix ms; its alarms take no wall until then
 */

/**
 * What is on screen and why (`GET /api/selection`, and `switch` messages).
 * @typedef {object} Selection
 * @property {string | null} camera
 * @property {'user' | 'alarm'} reason
 * @property {string | null} user_choice
 * @property {string} [switch_reason]
 * @property {string | null} [previous]
 * @property {number | null} [ts]
 */

/** @param {unknown} v @returns {string | null} */
export function idOf(v) {
  if (typeof v === 'string') return v.length ? v : null;
  if (typeof v === 'number' && isFinite(v)) return String(v);
  return null;
}

/** @param {unknown} v @returns {number | null} */
export function num(v) { return (typeof v === 'number' && isFinite(v)) ? v : null; }

/** @param {unknown} e */
export function errText(e) {
  try { return String((e && /** @type {Error} */ (e).message) || e); } catch (x) { return 'error'; }
}

const STATES = { connecting: 1, live: 1, offline: 1 };

/** @param {unknown} s @returns {Camera['state'] | null} */
export function normState(s) {
  return (typeof s === 'string' && Object.prototype.hasOwnProperty.call(STATES, s))
    ? /** @type {Camera['state']} */ (s) : null;
}

/** Why a camera is down, in a guard's words (the API's `error.kind`). */
export const FAILURE_WORDS = /** @type {Record<string, string>} */ ({
  auth: 'wrong password',
  not_found: 'no such stream path',
  refused: 'camera not answering',
  unreachable: 'camera unreachable',
  timeout: 'camera too slow to answer',
  unsupported: 'stream not supported',
  stalled: 'stream stopped',
  protocol: 'camera answered wrongly',
});

/** @param {unknown} e @returns {CameraFailure | null} */
export function normError(e) {
  if (!e || typeof e !== 'object') return null;
  const o = /** @type {Partial<WireCameraError>} */ (e);
  if (typeof o.kind !== 'string') return null;
  return {
    kind: o.kind,
    words: FAILURE_WORDS[o.kind] || o.kind.replace(/_/g, ' '),
    message: typeof o.message === 'string' ? o.message : '',
    since: num(o.since),
  };
}

/** @param {unknown} c @returns {Camera | null} */
export function normCamera(c) {
  if (!c || typeof c !== 'object') return null;
  const o = /** @type {Record<string, unknown>} */ (c);
  const id = idOf(o.id);
  if (id === null) return null;
  return /** @type {Camera} */ ({
    ...o,
    id,
    name: (typeof o.name === 'string' && o.name.trim()) ? o.name : id,
    state: normState(o.state) || 'connecting',
    alarm: o.alarm === true,
    selected: o.selected === true,
    error: normError(o.error),
  });
}

/** @param {unknown} o @param {Selection | null} prev @returns {Selection | null} */
export function normSelection(o, prev) {
  if (!o || typeof o !== 'object') return null;
  const s = /** @type {Record<string, unknown>} */ (o);
  return /** @type {Selection} */ ({
    ...s,
    camera: idOf(s.camera),
    reason: s.reason === 'alarm' ? 'alarm' : 'user',
    user_choice: ('user_choice' in s) ? idOf(s.user_choice) : (prev ? prev.user_choice : null),
  });
}

/** The cameras and the selection, with the counters that order what the server says. */
export class Model {
  constructor() {
    /** @type {Camera[]} */
    this.cameras = [];
    /** @type {Record<string, Camera>} */
    this.camById = Object.create(null);
    /** @type {Record<string, number>} camera id -> `evtSeq` of its last WebSocket update */
    this.camEvt = Object.create(null);
    this.evtSeq = 0;        // bumps on every alarm and camera message
    this.switchSeq = 0;     // bumps on every switch message
    /** @type {string | null} the last `/api/cameras` failure, shown when the list is empty */
    this.camError = null;
    /** @type {string | null} a selection the server has not answered yet */
    this.pendingSelect = null;
    /** @type {Selection | null} */
    this.selection = null;
  }

  /** @param {string | null | undefined} id */
  label(id) {
    if (id === null || id === undefined) return '?';
    const c = this.camById[id];
    return c ? c.name : String(id);
  }

  markSelected() {
    const sel = this.selection;
    if (!sel) return;
    for (const c of this.cameras) c.selected = (c.id === sel.camera);
  }

  /** @param {Camera[]} list */
  setCameras(list) {
    this.cameras = list;
    this.camById = Object.create(null);
    for (const c of list) this.camById[c.id] = c;
    this.markSelected();
  }

  /** @param {Selection} sel */
  setSelection(sel) {
    this.selection = sel;
    this.markSelected();
  }
}
