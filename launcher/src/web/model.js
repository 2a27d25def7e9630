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
 * @property {number | null} [alarm_since]  unix ms; when its alarm started, while it has one
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

// ---------------------------------------------------------------- the cameras' configuration (admin)

/** The choices of a camera's settings, the default first (`[[camera]]` in the configuration). */
export const CAMERA_CHOICES = /** @type {Record<'codec' | 'decoder' | 'transport', string[]>} */ ({
  codec: ['auto', 'h264', 'h265', 'mjpeg'],
  decoder: ['auto', 'software', 'vaapi', 'nvdec'],
  transport: ['auto', 'tcp', 'udp'],
});

/** The `[camera.motion]` keys the cameras screen edits, with how each is read. */
export const MOTION_KEYS = /** @type {{key: 'threshold' | 'min_area' | 'min_frames' | 'hold_ms' | 'zones', kind: 'int' | 'float' | 'text'}[]} */ ([
  { key: 'threshold', kind: 'int' },
  { key: 'min_area', kind: 'float' },
  { key: 'min_frames', kind: 'int' },
  { key: 'hold_ms', kind: 'int' },
  { key: 'zones', kind: 'text' },
]);

/**
 * One camera as the configuration has it (`GET /api/cameras/config`): its URL's password masked,
 * `motion` with only the keys the file sets, `walls` the walls that list it by name.
 * @typedef {object} CameraEntry
 * @property {string} id
 * @property {string | null} name
 * @property {string} url
 * @property {string | null} detect_url   its sub-stream, motion is detected on (password masked)
 * @property {string} codec
 * @property {string} decoder
 * @property {string} transport
 * @property {number} priority
 * @property {boolean} enabled
 * @property {Record<string, unknown>} motion
 * @property {string[]} walls
 */

/** @param {unknown} v @param {string} dflt */
const strOr = (v, dflt) => (typeof v === 'string' && v ? v : dflt);

/** @param {unknown} e @returns {CameraEntry | null} */
export function normEntry(e) {
  if (!e || typeof e !== 'object') return null;
  const o = /** @type {Record<string, unknown>} */ (e);
  const id = idOf(o.id);
  if (id === null) return null;
  return {
    id,
    name: typeof o.name === 'string' && o.name ? o.name : null,
    url: typeof o.url === 'string' ? o.url : '',
    detect_url: typeof o.detect_url === 'string' && o.detect_url ? o.detect_url : null,
    codec: strOr(o.codec, 'auto'),
    decoder: strOr(o.decoder, 'auto'),
    transport: strOr(o.transport, 'auto'),
    priority: num(o.priority) ?? 0,
    enabled: o.enabled !== false,
    motion: o.motion && typeof o.motion === 'object' ? { .../** @type {Record<string, unknown>} */ (o.motion) } : {},
    walls: Array.isArray(o.walls) ? o.walls.filter((w) => typeof w === 'string') : [],
  };
}

/**
 * What the camera form holds: text as typed (numbers too, read when sent).
 * @typedef {object} CameraForm
 * @property {string} id
 * @property {string} name
 * @property {string} url
 * @property {string} detect_url
 * @property {string} codec
 * @property {string} decoder
 * @property {string} transport
 * @property {string} priority
 * @property {boolean} enabled
 * @property {boolean} motion_enabled
 * @property {boolean} motion_learn_ignore
 * @property {Record<string, string>} motion   MOTION_KEYS' values as typed
 */

/** @param {CameraEntry | null} e  the camera edited, or null for a new one @returns {CameraForm} */
export function formOf(e) {
  /** @type {Record<string, string>} */
  const motion = {};
  for (const { key } of MOTION_KEYS) {
    const v = e ? e.motion[key] : undefined;
    motion[key] = v === undefined || v === null ? '' : String(v);
  }
  return {
    id: e ? e.id : '',
    name: e && e.name !== null && e.name !== e.id ? e.name : '',
    url: e ? e.url : '',
    detect_url: e && e.detect_url ? e.detect_url : '',
    codec: e ? e.codec : 'auto',
    decoder: e ? e.decoder : 'auto',
    transport: e ? e.transport : 'auto',
    priority: e && e.priority !== 0 ? String(e.priority) : '',
    enabled: e ? e.enabled : true,
    motion_enabled: !e || e.motion.enabled !== false,
    motion_learn_ignore: !e || e.motion.learn_ignore !== false,
    motion,
  };
}

/**
 * A number typed in a field: null when the field is empty, NaN when it is not such a number.
 * @param {string} text @param {'int' | 'float'} kind @returns {number | null}
 */
export function readNumber(text, kind) {
  const t = text.trim();
  if (!t) return null;
  const re = kind === 'int' ? /^[+-]?\d+$/ : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
  return re.test(t) ? Number(t) : NaN;
}

/** @typedef {{field: string, message: string}} FieldError */

/** Why an address whose password is still masked for another user is not sent. */
export const MASKED_CHANGED = 'camwall keeps the stored password (***) for the same user only; ' +
  'for another user, type the password in place of ***';

/** The `user` of `scheme://user:password@host/...`, or null. @param {string} url */
function userOf(url) {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@]*)@/i.exec(url);
  return m ? m[1].split(':')[0] : null;
}

/**
 * Whether `url`'s password is still `***` where camwall has no stored password to keep for it:
 * a new camera, or a user other than the stored one's (camwall keeps the stored password for
 * the same user, whatever host or path changed).
 * @param {string} url @param {CameraEntry | null} orig
 * @param {'url' | 'detect_url'} [key]  which of the camera's addresses `url` is
 */
export function maskedElsewhere(url, orig, key = 'url') {
  if (!url.includes(':***@')) return false;
  const stored = orig ? orig[key] : null;
  return !stored || !stored.includes(':***@') || userOf(url) !== userOf(stored);
}

/**
 * The request body for the form: every setting for a new camera (defaults left out, so the file
 * says only what was chosen); for an edit, only what changed (`null`: back to the default). The
 * URL is sent as typed: with its password still `***`, camwall keeps the stored one. Numbers
 * that cannot be read are told at their field, and nothing is sent.
 * @param {CameraForm} f
 * @param {CameraEntry | null} orig  the camera edited, or null for a new one
 * @returns {{body: Record<string, unknown>, errors: FieldError[]}}
 */
export function cameraBody(f, orig) {
  /** @type {FieldError[]} */
  const errors = [];
  /** @type {Record<string, unknown>} */
  const body = {};
  const before = formOf(orig);
  const url = f.url.trim(), name = f.name.trim();
  if (!orig) {
    const id = f.id.trim();
    if (!id) errors.push({ field: 'id', message: 'give the camera an id: letters, digits, - and _' });
    body.id = id;
  }
  if (!url) errors.push({ field: 'url', message: 'the camera\u2019s address is needed: rtsp://...' });
  else if (maskedElsewhere(url, orig)) errors.push({ field: 'url', message: MASKED_CHANGED });
  if (!orig || url !== before.url) body.url = url;
  const detect = f.detect_url.trim();
  if (detect && maskedElsewhere(detect, orig, 'detect_url')) errors.push({ field: 'detect_url', message: MASKED_CHANGED });
  if (detect !== before.detect_url) body.detect_url = detect || null;
  if (name !== before.name) body.name = name || null;
  for (const k of /** @type {const} */ (['codec', 'decoder', 'transport'])) {
    if (f[k] !== before[k]) body[k] = f[k] === 'auto' ? null : f[k];
  }
  const priority = readNumber(f.priority, 'int');
  if (Number.isNaN(priority)) errors.push({ field: 'priority', message: 'must be a whole number' });
  else if ((priority ?? 0) !== (readNumber(before.priority, 'int') ?? 0)) body.priority = priority;
  if (f.enabled !== before.enabled) body.enabled = f.enabled;

  // The motion table goes whole when any of it changed: the keys the form does not show are
  // sent back as they were, a key emptied is null.
  /** @type {Record<string, unknown>} */
  const motion = {};
  let motionChanged = f.motion_enabled !== before.motion_enabled ||
    f.motion_learn_ignore !== before.motion_learn_ignore;
  if (orig) {
    for (const [k, v] of Object.entries(orig.motion)) motion[k] = v;
  }
  if (f.motion_enabled === false) motion.enabled = false;
  else if ('enabled' in motion) motion.enabled = true;
  if (f.motion_learn_ignore === false) motion.learn_ignore = false;
  else if ('learn_ignore' in motion) motion.learn_ignore = null;
  for (const { key, kind } of MOTION_KEYS) {
    const typed = (f.motion[key] || '').trim();
    if (typed !== (before.motion[key] || '').trim()) motionChanged = true;
    let v;
    if (kind === 'text') {
      v = typed || null;
    } else {
      v = readNumber(typed, kind);
      if (Number.isNaN(v)) {
        errors.push({ field: 'motion.' + key, message: kind === 'int' ? 'must be a whole number' : 'must be a number' });
        continue;
      }
    }
    if (v !== null) motion[key] = v;
    else if (key in motion) motion[key] = null;
  }
  if (motionChanged) {
    if (!orig) {
      for (const k of Object.keys(motion)) if (motion[k] === null) delete motion[k];
    }
    if (orig || Object.keys(motion).length) body.motion = motion;
  }
  if (!orig) {
    // A new camera: the defaults go unsaid.
    for (const k of Object.keys(body)) if (body[k] === null) delete body[k];
    if (body.enabled === true) delete body.enabled;
  }
  return { body, errors };
}

/**
 * What `POST /api/cameras/test` found.
 * @typedef {object} CameraTest
 * @property {boolean} ok
 * @property {string | null} codec
 * @property {number | null} width
 * @property {number | null} height
 * @property {number | null} fps
 * @property {string | null} format
 * @property {string[]} other_streams
 * @property {string | null} failure
 * @property {string | null} reason
 * @property {number | null} elapsed_ms
 */

/** @param {unknown} t @returns {CameraTest | null} */
export function normTest(t) {
  if (!t || typeof t !== 'object') return null;
  const o = /** @type {Record<string, unknown>} */ (t);
  const str = (/** @type {unknown} */ v) => (typeof v === 'string' && v ? v : null);
  return {
    ok: o.ok === true,
    codec: str(o.codec),
    width: num(o.width),
    height: num(o.height),
    fps: num(o.fps),
    format: str(o.format),
    other_streams: Array.isArray(o.other_streams) ? o.other_streams.filter((s) => typeof s === 'string') : [],
    failure: str(o.failure),
    reason: str(o.reason),
    elapsed_ms: num(o.elapsed_ms),
  };
}

/**
 * A test's result in one line: `h264 1920×1080, 25 fps (I420), also audio:mpeg4-generic`, or
 * the failure in a guard's words with the camera's own reason.
 * @param {CameraTest} t @returns {string}
 */
export function testText(t) {
  const took = t.elapsed_ms !== null ? ' \u2014 ' + (t.elapsed_ms / 1000).toFixed(1) + ' s' : '';
  if (!t.ok) {
    const words = t.failure ? (FAILURE_WORDS[t.failure] || t.failure.replace(/_/g, ' ')) : 'no picture';
    return 'Failed: ' + words + (t.failure ? ' (' + t.failure + ')' : '') + (t.reason ? ': ' + t.reason : '') + took;
  }
  let s = t.codec || 'video';
  if (t.width !== null && t.height !== null) s += ' ' + t.width + '\u00d7' + t.height;
  if (t.fps !== null) s += ', ' + (Math.round(t.fps * 10) / 10) + ' fps';
  if (t.format) s += ' (' + t.format + ')';
  if (t.other_streams.length) s += ', also ' + t.other_streams.join(', ');
  return s + took;
}
