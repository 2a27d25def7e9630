// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// camwall's page: the live picture of the camera on screen, a button per camera, why the
// picture is what it is. The WebSocket brings frames and events (alarm, switch, camera);
// the API gives the camera list and the selection, and takes the user's choice. This module
// wires the model, the player and the views; `window.camwall` exposes what tests read.

import { Player } from './player.js';
import { createApi } from './api.js';
import { Model, errText, idOf, normCamera, normError, normSelection, normState, num } from './model.js';
import { CameraBar } from './views/cameras.js';
import { StatusView, UNAUTH_TEXT } from './views/status.js';
import { Attention } from './views/attention.js';

/** @typedef {import('./protocol.js').Message} Message */
/** @typedef {import('./model.js').Camera} Camera */
/** @typedef {import('./model.js').Selection} Selection */
/** @typedef {import('./views/status.js').LastFrame} LastFrame */

const BACKOFF_MIN = 250, BACKOFF_MAX = 2000;
const CAM_POLL_MS = 5000;         // safety-net refetch of /api/cameras
const WS_OPEN_TIMEOUT_MS = 5000;
const WS_SILENCE_MS = 10000;      // live camera on screen but no message at all -> reconnect
const TICK_MS = 250;

// ---------------------------------------------------------------- URL options
const params = new URLSearchParams(window.location.search);
const token = params.get('token') || null;
/** The wall this page follows (`?wall=ID`); without it, the first wall. */
const wall = params.get('wall') || null;
const wallQuery = wall ? '?wall=' + encodeURIComponent(wall) : '';
const selectionPath = wall ? '/api/walls/' + encodeURIComponent(wall) + '/selection' : '/api/selection';
/** The wall's id for the routes that need one; without `?wall=`, the first wall's, asked once. */
let wallId = wall;
// A desynchronized canvas is lower latency; ?desync=0 turns it off if a GPU or driver misbehaves.
const useDesync = params.get('desync') !== '0';

// ---------------------------------------------------------------- parts
const model = new Model();
/** @type {LastFrame | null} the last frame drawn */
let lastFrame = null;
/** @type {number | null} */
let firstPaintAt = null;
let framesReceived = 0;

const link = {
  connected: false,
  everConnected: false,
  disconnectedPerf: performance.now(),
  openedPerf: 0,
  unauthorised: false,
  token,
};

const player = new Player(/** @type {HTMLCanvasElement} */ (document.getElementById('view')), {
  desynchronized: useDesync,
  onDraw(f) {
    const drawnAt = Date.now();
    const prevCam = lastFrame ? lastFrame.camera : undefined;
    lastFrame = { camera: f.camera, seq: f.seq, ts: f.ts, drawnAt };
    if (firstPaintAt === null) firstPaintAt = drawnAt;
    if (prevCam !== f.camera) {
      // The picture says which camera is on screen: the buttons follow it at once; the switch
      // message that follows on the same socket says why.
      const sel = model.selection;
      if (f.camera && sel && sel.camera !== f.camera) {
        model.setSelection({ ...sel, camera: f.camera });
        try { bar.render(); } catch (e) { /* ignore */ }
      }
      status.renderHeader();
      status.updateHud();
    }
    if (status.overlayKind === 'stale') status.updateOverlay();
  },
});
const status = new StatusView(model, player, link, () => lastFrame);
const bar = new CameraBar(/** @type {HTMLElement} */ (document.getElementById('bar')), model, (id) => { select(id); });
const api = createApi(token, setUnauthorised);
const attention = new Attention(model, { ack: () => { acknowledge(); }, snooze: (cam) => { snooze(cam); } });

/** What tests and the curious read; the state itself lives in the model and the player. */
const hooks = {
  get framesDrawn() { return player.framesDrawn; },
  get framesDropped() { return player.framesDropped; },
  get framesReceived() { return framesReceived; },
  get decodeErrors() { return player.decodeErrors; },
  get decoder() { return player.decoder; },
  get drawnRect() { return player.drawnRect; },
  get lastFrame() { return lastFrame; },
  get firstPaintAt() { return firstPaintAt; },
  get connected() { return link.connected; },
  get selection() { return model.selection; },
  get cameras() { return model.cameras; },
  get overlay() { return status.overlayKind; },
  select,
};
// @ts-ignore: the page's one global, for tests
window.camwall = hooks;

function render() {
  try { bar.render(); } catch (e) { /* ignore */ }
  try { status.renderHeader(); } catch (e) { /* ignore */ }
  try { status.updateOverlay(); } catch (e) { /* ignore */ }
  try { attention.update(); } catch (e) { /* ignore */ }
}

/** @param {boolean} v */
function setUnauthorised(v) {
  if (link.unauthorised === v) return;
  link.unauthorised = v;
  if (v) status.showToast(token ? 'unauthorised: the token in the URL was rejected' : UNAUTH_TEXT);
  status.updateOverlay();
}

/** @param {Selection | null} sel */
function setSelection(sel) {
  if (!sel) return;
  model.setSelection(sel);
  render();
}

// ---------------------------------------------------------------- API
/** @type {Promise<void> | null} */
let camFetch = null;
let camRefetch = false;
/** @type {ReturnType<typeof setTimeout> | null} */
let camFetchTimer = null;

function fetchCameras() {
  if (camFetch) { camRefetch = true; return camFetch; }
  const startEvt = model.evtSeq, startSwitch = model.switchSeq;
  camFetch = api('GET', '/api/cameras' + wallQuery).then((r) => {
    if (!r.ok || !Array.isArray(r.data)) {
      model.camError = r.ok ? 'bad camera list' : (r.status === 401 ? 'unauthorised' : r.error);
      bar.render();
      return;
    }
    model.camError = null;
    /** @type {Camera[]} */
    const next = [];
    const seen = new Set();
    let serverSel = null;
    for (const raw of r.data) {
      const c = normCamera(raw);
      if (!c || seen.has(c.id)) continue;
      seen.add(c.id);
      if (c.selected && serverSel === null) serverSel = c.id;
      const old = model.camById[c.id];
      // a WebSocket update that came while this request was in flight is newer: keep it
      if (old && (model.camEvt[c.id] || 0) > startEvt) {
        c.state = old.state; c.alarm = old.alarm; c.error = old.error;
      }
      next.push(c);
    }
    model.setCameras(next);
    render();
    // safety net: the list disagrees with our selection and no switch came meanwhile
    const sel = model.selection;
    if (model.switchSeq === startSwitch && (!sel || (serverSel !== null && serverSel !== sel.camera))) {
      fetchSelection();
    }
  }).catch(() => {}).then(() => {
    camFetch = null;
    if (camRefetch) { camRefetch = false; fetchCameras(); }
  });
  return camFetch;
}

function scheduleCamFetch() {
  if (camFetchTimer) return;
  camFetchTimer = setTimeout(() => { camFetchTimer = null; fetchCameras(); }, 150);
}

/** @type {Promise<void> | null} */
let selFetch = null;
let selRefetch = false;
function fetchSelection() {
  if (selFetch) { selRefetch = true; return selFetch; }
  const startSwitch = model.switchSeq;
  selFetch = api('GET', selectionPath).then((r) => {
    if (!r.ok || !r.data || typeof r.data !== 'object') return;
    if (model.switchSeq !== startSwitch) return;       // a newer switch message already came
    setSelection(normSelection(r.data, model.selection));
  }).catch(() => {}).then(() => {
    selFetch = null;
    if (selRefetch) { selRefetch = false; fetchSelection(); }
  });
  return selFetch;
}

function refreshAll() { fetchCameras(); fetchSelection(); }

/**
 * PUT /api/selection. Resolves (never rejects) to the new selection, or `{error, status}`.
 * @param {unknown} id
 */
function select(id) {
  const camId = idOf(id);
  if (camId === null) return Promise.resolve({ error: 'no camera id', status: 0 });
  model.pendingSelect = camId;
  bar.render();
  const startSwitch = model.switchSeq;
  return api('PUT', selectionPath, { camera: camId }).then((r) => {
    if (model.pendingSelect === camId) model.pendingSelect = null;
    if (r.ok) {
      const sel = normSelection(r.data, model.selection);
      if (sel) {
        if (model.switchSeq === startSwitch) setSelection(sel);
        else if (model.selection && 'user_choice' in sel) { model.selection.user_choice = sel.user_choice; render(); }
      } else {
        render();
      }
      return r.data;
    }
    render();
    if (r.status === 401) status.showToast(UNAUTH_TEXT);
    else status.showToast('Cannot switch to ' + model.label(camId) + ': ' + r.error + (r.status ? ' (' + r.status + ')' : ''));
    return { error: r.error, status: r.status };
  }).catch((e) => {
    model.pendingSelect = null;
    return { error: errText(e), status: 0 };
  });
}

// ---------------------------------------------------------------- WebSocket
/** @type {WebSocket | null} */
let ws = null;
let wsOpenedAt = 0, lastMsgPerf = 0, backoff = BACKOFF_MIN;
/** @type {ReturnType<typeof setTimeout> | null} */
let reconnectTimer = null;
/** @type {ReturnType<typeof setTimeout> | null} */
let openTimer = null;

function wsUrl() {
  const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = new URLSearchParams();
  if (token) q.set('token', token);
  if (wall) q.set('wall', wall);
  const query = q.toString();
  return proto + '//' + window.location.host + '/ws' + (query ? '?' + query : '');
}

/** @param {boolean} v */
function setConnected(v) {
  link.connected = v;
  if (!v) link.disconnectedPerf = performance.now();
  // without the link the camera states are only the last ones known
  document.body.classList.toggle('linkdown', !v && link.everConnected);
  render();
}

function connect() {
  if (reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; }
  if (ws) return;
  let sock;
  try { sock = new WebSocket(wsUrl()); } catch (e) { scheduleReconnect(); return; }
  ws = sock;
  if (openTimer) clearTimeout(openTimer);
  openTimer = setTimeout(() => {
    openTimer = null;
    if (ws === sock && !link.connected) dropSocket();
  }, WS_OPEN_TIMEOUT_MS);

  sock.onopen = () => {
    if (ws !== sock) return;
    if (openTimer) { clearTimeout(openTimer); openTimer = null; }
    link.everConnected = true;
    wsOpenedAt = Date.now();
    link.openedPerf = lastMsgPerf = performance.now();
    setConnected(true);
    refreshAll();
  };
  sock.onmessage = (ev) => {
    if (ws !== sock) return;
    lastMsgPerf = performance.now();
    const data = ev && ev.data;
    if (typeof data !== 'string') return;
    let msg;
    try { msg = JSON.parse(data); } catch (e) { return; }
    try { handleMessage(msg); } catch (e) { /* never throw on a bad message */ }
  };
  sock.onclose = () => {
    if (ws !== sock) return;
    ws = null;
    if (openTimer) { clearTimeout(openTimer); openTimer = null; }
    const wasUp = link.connected;
    if (wasUp && Date.now() - wsOpenedAt > 1000) backoff = BACKOFF_MIN;
    if (wasUp) setConnected(false);
    scheduleReconnect();
  };
  sock.onerror = () => {};  // close follows
}

/** Abandons the current socket without waiting for a close handshake. */
function dropSocket() {
  const sock = ws;
  if (!sock) return;
  ws = null;
  sock.onopen = sock.onmessage = sock.onclose = sock.onerror = null;
  try { sock.close(); } catch (e) { /* ignore */ }
  if (openTimer) { clearTimeout(openTimer); openTimer = null; }
  if (link.connected) setConnected(false);
  scheduleReconnect();
}

function scheduleReconnect() {
  if (reconnectTimer) return;
  const delay = Math.round(backoff * (0.9 + Math.random() * 0.2));
  backoff = Math.min(backoff * 2, BACKOFF_MAX);
  reconnectTimer = setTimeout(() => { reconnectTimer = null; connect(); }, delay);
  render();
}

function reconnectNow() {
  if (link.connected || ws) return;
  if (reconnectTimer) { clearTimeout(reconnectTimer); reconnectTimer = null; }
  connect();
}

/** @param {Partial<Message> & Record<string, unknown>} msg */
function handleMessage(msg) {
  if (!msg || typeof msg !== 'object') return;
  let cam, c;
  switch (msg.type) {
    case 'frame':
      if (typeof msg.jpeg !== 'string' || !msg.jpeg) return;
      framesReceived++;
      player.enqueue({ camera: idOf(msg.camera), seq: num(msg.seq), ts: num(msg.ts), b64: msg.jpeg });
      return;
    case 'alarm':
      cam = idOf(msg.camera);
      if (cam === null) return;
      c = model.camById[cam];
      if (!c) { scheduleCamFetch(); return; }
      c.alarm = msg.active === true;
      if (typeof msg.kind === 'string') c.alarm_kind = msg.kind;
      if (typeof msg.level === 'number') c.alarm_level = msg.level;
      model.camEvt[cam] = ++model.evtSeq;
      render();
      return;
    case 'camera': {
      cam = idOf(msg.camera);
      const st = normState(msg.state);
      if (cam === null || st === null) return;
      c = model.camById[cam];
      if (!c) { scheduleCamFetch(); return; }
      c.state = st;
      c.error = normError(msg.error);
      c.offline_since = num(msg.offline_since);
      model.camEvt[cam] = ++model.evtSeq;
      render();
      return;
    }
    case 'snooze':
      cam = idOf(msg.camera);
      c = cam === null ? undefined : model.camById[cam];
      if (!c) return;
      c.snoozed_until = typeof msg.until === 'number' ? msg.until : null;
      model.camEvt[/** @type {string} */ (cam)] = ++model.evtSeq;
      render();
      return;
        case 'switch': {
      model.switchSeq++;
      cam = idOf(msg.camera);
      const why = typeof msg.reason === 'string' ? msg.reason : '';
      const prev = model.selection;
      setSelection({
        camera: cam,
        reason: why === 'alarm' ? 'alarm' : 'user',
        // camwall says whose choice waits; a sender that does not is read as before
        user_choice: typeof msg.user_choice === 'string' ? idOf(msg.user_choice)
          : (why === 'user' ? cam : (prev ? prev.user_choice : null)),
        switch_reason: why,
        previous: idOf(msg.previous),
        ts: num(msg.ts),
      });
      if (cam !== null && !model.camById[cam]) scheduleCamFetch();
      return;
    }
    default:
      return;   // unknown type: ignored
  }
}

// ---------------------------------------------------------------- alarm actions
/** The id of the wall this page follows (the first wall's when the URL names none). */
async function ownWall() {
  if (wallId) return wallId;
  const r = await api('GET', '/api/walls');
  const first = r.ok && Array.isArray(r.data) && r.data[0] ? r.data[0].id : null;
  if (typeof first === 'string') wallId = first;
  return wallId;
}

/** Acknowledges the alarm that holds the wall (key `a`): the user's choice comes back. */
async function acknowledge() {
  const sel = model.selection;
  if (!sel || sel.reason !== 'alarm' || sel.camera === null) return;
  const id = await ownWall();
  if (!id) { status.showToast('Cannot acknowledge: the wall is not known'); return; }
  const r = await api('POST', '/api/walls/' + encodeURIComponent(id) + '/ack', { camera: sel.camera });
  if (!r.ok) status.showToast('Cannot acknowledge: ' + r.error + (r.status ? ' (' + r.status + ')' : ''));
}

/** @param {string} cam  snoozed for 30 minutes: its alarms take no wall meanwhile */
async function snooze(cam) {
  const r = await api('POST', '/api/cameras/' + encodeURIComponent(cam) + '/snooze', { minutes: 30 });
  if (!r.ok) status.showToast('Cannot snooze ' + model.label(cam) + ': ' + r.error + (r.status ? ' (' + r.status + ')' : ''));
  else status.showToast(model.label(cam) + ' snoozed for 30 minutes');
}

// ---------------------------------------------------------------- periodic work
function tick() {
  try {
    player.tick();
    // half-open socket: a live camera is on screen but nothing at all arrives
    if (link.connected && ws && performance.now() - lastMsgPerf > WS_SILENCE_MS) {
      const sel = model.selection, cam = sel && sel.camera !== null ? model.camById[sel.camera] : null;
      if (cam && cam.state === 'live') dropSocket();
    }
    status.updateOverlay();
    status.updateHud();
  } catch (e) { /* ignore */ }
}

// ---------------------------------------------------------------- input
document.addEventListener('keydown', (e) => {
  try {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const target = /** @type {HTMLElement | null} */ (e.target);
    const tag = target && target.tagName;
    if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') return;
    const k = e.key;
    if (k === 'i' || k === 'I') { status.toggleHud(); return; }
    if ((k === 'a' || k === 'A') && !e.repeat) { acknowledge(); return; }
    if (k && k.length === 1 && k >= '1' && k <= '9') {
      if (e.repeat) return;
      const c = model.cameras[k.charCodeAt(0) - 49];
      if (c) { e.preventDefault(); select(c.id); }
    }
  } catch (err) { /* ignore */ }
});
window.addEventListener('online', () => reconnectNow());
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) { reconnectNow(); fetchCameras(); }
});

// ---------------------------------------------------------------- start
if (wall) {
  // Which wall this screen follows, in the header and the tab.
  const brand = document.querySelector('.brand');
  if (brand) brand.textContent = 'camwall · ' + wall;
  document.title = 'camwall · ' + wall;
}
// The picture first: its socket is opened before anything else asks the server for anything.
connect();
render();
status.updateHud();
refreshAll();
setInterval(tick, TICK_MS);
setInterval(() => { if (!camFetch && !document.hidden) fetchCameras(); }, CAM_POLL_MS);
