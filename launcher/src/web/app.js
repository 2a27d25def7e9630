// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// camwall's page: the live picture of the camera on screen, a button per camera, why the
// picture is what it is; the overview grid, the event list, signing in; for admins, the cameras
// screen (`?screen=cameras` or `#cameras`). The wall's WebSocket
// brings frames and events (alarm, switch, camera); the grid's brings thumbnails and events;
// the API gives the camera list and the selection, and takes the user's choice. This module
// wires the model, the player and the views; `window.camwall` exposes what tests read.

import { Player } from './player.js';
import { createApi } from './api.js';
import { Model, errText, idOf, normCamera, normError, normSelection, normState, num } from './model.js';
import { CameraAdmin, CameraBar } from './views/cameras.js';
import { StatusView, UNAUTH_TEXT } from './views/status.js';
import { Attention } from './views/attention.js';
import { GridLink, TileSet } from './views/grid.js';
import { EventList, EVENT_TYPES } from './views/events.js';
import { Screen } from './views/screen.js';
import { Login } from './views/login.js';
import { WallLink } from './link.js';
import { installKeys } from './views/keys.js';
import { parseBinary } from './protocol.js';

/** @typedef {import('./protocol.js').Message} Message */
/** @typedef {import('./model.js').Camera} Camera */
/** @typedef {import('./model.js').Selection} Selection */
/** @typedef {import('./views/status.js').LastFrame} LastFrame */

const CAM_POLL_MS = 5000;         // safety-net refetch of /api/cameras
const WS_SILENCE_MS = 10000;      // live camera on screen but no message at all -> reconnect
const TICK_MS = 250;
const GONE_PAGE_MS = 15000;       // the live link down this long: a page says so
const LAYOUTS = ['wall', 'grid', 'spot'];
const LAYOUT_KEY = 'camwall.layout';

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
/**
 * The picture's path: `?video=h264` or `?video=jpeg`, else what camwall's configuration says
 * (`stream.default_video`); H.264 only where this browser's WebCodecs can decode it (else JPEG,
 * as binary messages).
 */
const videoAsked = params.get('video') ||
  (document.querySelector('meta[name=camwall-default-video]') || { getAttribute: () => 'h264' }).getAttribute('content');
let video = videoAsked === 'h264' && typeof window.VideoDecoder === 'function' ? 'h264' : 'jpeg';
/** `?screen=cameras` or `#cameras`: the admin's cameras screen, once the page knows its user is one. */
const CAMERAS_SCREEN = 'cameras';
const screenAsked = () => params.get('screen') === CAMERAS_SCREEN || window.location.hash === '#' + CAMERAS_SCREEN;
/** `?kiosk=1`: the picture fills the screen; the controls show while the pointer moves. */
const kiosk = params.get('kiosk') === '1';
/** @returns {string} the layout from `?layout=`, else the one last used here, else the wall */
function initialLayout() {
  const asked = params.get('layout');
  if (asked && LAYOUTS.includes(asked)) return asked;
  let stored = null;
  try { stored = window.localStorage.getItem(LAYOUT_KEY); } catch (e) { /* private mode */ }
  return stored && LAYOUTS.includes(stored) && !kiosk ? stored : 'wall';
}
let layout = initialLayout();
/** The picture layout to go back to from the grid. */
let pictureLayout = layout === 'grid' ? 'wall' : layout;
/** @type {string | null} a camera watched alone (`/ws?camera=`), instead of the wall */
let peekCam = params.get('camera') || null;
/** @type {import('./views/login.js').Me} what the signed-in user may do */
// Until `/api/me` answers, a click tries the wall (a viewer's is refused and peeks instead).
let me = { name: null, role: 'operator', signed_in: false };

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
  grid: false,
  gridUp: false,
};

const player = new Player(/** @type {HTMLCanvasElement} */ (document.getElementById('view')), {
  desynchronized: useDesync,
  onH264Error() {
    // This browser cannot decode it after all: JPEG from now on.
    if (video !== 'h264') return;
    video = 'jpeg';
    dropSocket();
  },
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
const status = new StatusView(model, player, link, () => lastFrame, () => peekCam);
const bar = new CameraBar(/** @type {HTMLElement} */ (document.getElementById('bar')), model, (id) => { pick(id); });
const api = createApi(token, setUnauthorised, () => {
  // The page came through an address camwall does not take as its own (a proxy, another name).
  if (!login.errorShown) {
    login.showError('This address is not one camwall accepts',
      'camwall refuses requests from pages at ' + window.location.origin + '. Open camwall at its own address, ' +
      'or ask its administrator to add this one to server.allowed_origins.');
  }
});
// An alarm on for this long (`?long_alarm=SECONDS`; 2 minutes) is pointed out: a hint to snooze
// the camera or to leave out what keeps moving with a zone.
const longAlarmS = Number(params.get('long_alarm'));
const longAlarmMs = (Number.isFinite(longAlarmS) && longAlarmS > 0 ? longAlarmS : 120) * 1000;
const attention = new Attention(model, { ack: () => { acknowledge(); }, snooze: (cam) => { snooze(cam); } }, longAlarmMs);
/** @param {string} id */
const el = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const gridTiles = new TileSet(el('grid'), model, (id) => { pick(id); });
const sideTiles = new TileSet(el('sidetiles'), model, (id) => { pick(id); });
const gridLink = new GridLink({
  token,
  onFrame(camera, b64, ts) { gridTiles.frame(camera, b64, ts); sideTiles.frame(camera, b64, ts); },
  onMessage(msg) { handleMessage(msg); },
  onState(up) { link.gridUp = up; render(); },
});
const events = new EventList(el('eventlist'), el('eventsempty'), model, { token, onShow: (id) => { pick(id); } });
const screen = new Screen({ kiosk });
const cameraAdmin = new CameraAdmin({
  api,
  onChanged() { fetchCameras(); },
  onOpenChange(open) {
    el('camerasbtn').setAttribute('aria-pressed', open ? 'true' : 'false');
    // The address says the screen is open, so a reload (or a bookmark) comes back to it.
    const url = new URL(window.location.href);
    url.searchParams.delete('screen');
    url.hash = open ? CAMERAS_SCREEN : '';
    const next = url.pathname + url.search + (open ? url.hash : '');
    if (next !== window.location.pathname + window.location.search + window.location.hash) {
      window.history.replaceState(window.history.state, '', next);
    }
    if (!open) el('camerasbtn').focus();
  },
});
const login = new Login({
  urlToken: token,
  onSignedIn(who) { me = who; signedIn(); },
  onRetry() { reconnectNow(); refreshAll(); fetchMe(); },
});

/** What tests and the curious read; the state itself lives in the model and the player. */
const hooks = {
  get framesDrawn() { return player.framesDrawn; },
  get framesDropped() { return player.framesDropped; },
  get framesReceived() { return framesReceived; },
  get decodeErrors() { return player.decodeErrors; },
  get decoder() { return player.decoder; },
  get drawnRect() { return player.drawnRect; },
  get lastDraw() { return player.lastDraw; },
  get lastFrame() { return lastFrame; },
  get firstPaintAt() { return firstPaintAt; },
  get connected() { return link.connected; },
  get selection() { return model.selection; },
  get cameras() { return model.cameras; },
  get overlay() { return status.overlayKind; },
  get layout() { return layout; },
  get video() { return video; },
  get peek() { return peekCam; },
  get me() { return me; },
  get tiles() { return gridTiles.tiles; },
  get sideTiles() { return sideTiles.tiles; },
  get gridFrames() { return gridLink.framesReceived; },
  get events() { return events.entries; },
  get cameraConfig() { return cameraAdmin.entries; },
  get camerasScreen() { return cameraAdmin.open; },
  select,
  setLayout,
};
// @ts-ignore: the page's one global, for tests
window.camwall = hooks;

function render() {
  try { bar.render(); } catch (e) { /* ignore */ }
  try { renderLayout(); } catch (e) { /* ignore */ }
  try { status.renderHeader(); } catch (e) { /* ignore */ }
  try { status.updateOverlay(); } catch (e) { /* ignore */ }
  try { attention.update(); } catch (e) { /* ignore */ }
}

/** @param {boolean} v */
function setUnauthorised(v) {
  if (link.unauthorised === v) return;
  link.unauthorised = v;
  status.updateOverlay();
  if (!v) return;
  // A page to sign in on (or to say the address's token was refused), never raw JSON.
  if (token) {
    login.showError('This address\u2019s token was refused',
      'The token in this page\u2019s address (?token=) is not one of camwall\u2019s. Ask for a new address, or sign in with your own token.',
      { signIn: true });
  } else if (!login.open) {
    login.show();
  }
}

/** Signed in: everything is asked for again with the session. */
function signedIn() {
  link.unauthorised = false;
  login.hide();
  login.hideError();
  renderMe();
  dropSocket();
  reconnectNow();
  gridLink.close();
  renderLayout();
  refreshAll();
  if (!el('events').hidden) loadEvents();
  if (screenAsked() || cameraAdmin.open) openCamerasScreen();
}

/** @type {boolean} whether `/api/me` has answered once: until then the role is a guess */
let meKnown = false;
function fetchMe() {
  return api('GET', '/api/me').then((r) => {
    if (r.ok && r.data && typeof r.data === 'object') {
      me = r.data;
      renderMe();
      render();
      if (!meKnown && screenAsked()) openCamerasScreen();
      meKnown = true;
    }
  });
}

function renderMe() {
  const out = el('logout');
  out.hidden = !me.signed_in;
  out.title = me.name ? 'signed in as ' + me.name + ' (' + me.role + ')' : '';
  document.body.setAttribute('data-role', me.role);
  el('camerasbtn').hidden = !isAdmin();
  if (!isAdmin()) cameraAdmin.hide();
}

/** Whether this user may add, change and remove cameras. */
function isAdmin() { return me.role === 'admin'; }

/** Opens the cameras screen for an admin; tells anyone else it is not theirs. */
function openCamerasScreen() {
  if (isAdmin()) { cameraAdmin.show(); return; }
  status.showToast('The cameras screen is for administrators');
}

/** Whether this user may choose what the wall shows. */
function mayOperate() { return me.role === 'operator' || me.role === 'admin'; }

// ---------------------------------------------------------------- layouts and peeks
/** @param {string} next  'wall', 'grid' or 'spot' */
function setLayout(next) {
  if (!LAYOUTS.includes(next) || next === layout) return;
  layout = next;
  if (next !== 'grid') pictureLayout = next;
  try { window.localStorage.setItem(LAYOUT_KEY, next); } catch (e) { /* ignore */ }
  render();
  player.scheduleResize();
}

/** Opens and closes the sockets the layout needs, and shows its parts. */
function renderLayout() {
  document.body.setAttribute('data-layout', layout);
  link.grid = layout === 'grid';
  for (const b of document.querySelectorAll('.layouts button')) {
    b.setAttribute('aria-pressed', b.getAttribute('data-layout') === layout ? 'true' : 'false');
  }
  const ids = model.cameras.map((c) => c.id);
  const alarmed = model.cameras.filter((c) => c.alarm).map((c) => c.id);
  el('grid').hidden = layout !== 'grid';
  el('side').hidden = layout !== 'spot';
  if (layout === 'grid') gridTiles.render(ids);
  if (layout === 'spot') {
    sideTiles.render(alarmed);
    el('sideempty').hidden = alarmed.length > 0;
  }
  // The grid has no wall picture: its socket is closed, so the wall encodes nothing for it.
  if (layout === 'grid') {
    wallLink.close();
    gridLink.want(null);
  } else {
    if (!wallLink.active) connect();
    gridLink.want(layout === 'spot' ? alarmed : []);
  }
}

/**
 * A camera picked in the grid, the bar, the alarms' column or the event list: on the wall for
 * an operator, watched alone for a viewer (who may not move the wall).
 * @param {string} id
 */
function pick(id) {
  if (layout === 'grid') setLayout(pictureLayout);
  if (mayOperate()) {
    if (peekCam) setPeek(null);
    return select(id).then((r) => {
      // Refused for the role: this user watches it alone instead.
      if (r && typeof r === 'object' && 'status' in r && r.status === 403) { fetchMe(); setPeek(id); }
      return r;
    });
  }
  setPeek(id);
  return Promise.resolve(null);
}

/** @param {string | null} id  a camera to watch alone, or null for the wall again */
function setPeek(id) {
  if (id === peekCam) return;
  peekCam = id;
  lastFrame = null;
  dropSocket();
  reconnectNow();
  render();
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
        c.state = old.state; c.alarm = old.alarm; c.alarm_since = old.alarm_since; c.error = old.error;
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
    else if (r.status !== 403) status.showToast('Cannot switch to ' + model.label(camId) + ': ' + r.error + (r.status ? ' (' + r.status + ')' : ''));
    return { error: r.error, status: r.status };
  }).catch((e) => {
    model.pendingSelect = null;
    return { error: errText(e), status: 0 };
  });
}

// ---------------------------------------------------------------- WebSocket
function wsUrl() {
  const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = new URLSearchParams();
  if (token) q.set('token', token);
  if (peekCam) q.set('camera', peekCam);
  else if (wall) q.set('wall', wall);
  if (video === 'h264') q.set('video', 'h264'); else q.set('binary', '1');
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

const wallLink = new WallLink({
  url: wsUrl,
  // The grid shows no wall picture: the wall's socket stays closed, and encodes nothing for it.
  wanted: () => layout !== 'grid',
  onOpen() {
    player.resetH264();
    link.everConnected = true;
    link.openedPerf = performance.now();
    setConnected(true);
    refreshAll();
  },
  onText(data) {
    let msg;
    try { msg = JSON.parse(data); } catch (e) { return; }
    try { handleMessage(msg); } catch (e) { /* never throw on a bad message */ }
  },
  onBinary(data) {
    const f = parseBinary(data);
    if (!f) return;
    framesReceived++;
    if (f.kind === 'h264') player.enqueueH264({ camera: f.camera, seq: f.seq, ts: f.ts, keyframe: f.keyframe, data: f.data });
    else player.enqueue({ camera: f.camera, seq: f.seq, ts: f.ts, jpeg: f.data });
  },
  onDown() { setConnected(false); },
  onRetry() { render(); },
});
const connect = () => wallLink.connect();
const dropSocket = () => wallLink.drop();
const reconnectNow = () => wallLink.reconnectNow();

/** @param {Partial<Message> & Record<string, unknown>} msg */
function handleMessage(msg) {
  if (!msg || typeof msg !== 'object') return;
  if (msg.type !== 'frame' && events.add(msg)) events.render();
  // Cameras added, changed or removed (by this page or another admin's): the lists follow.
  if (/** @type {string} */ (msg.type) === 'cameras') {
    scheduleCamFetch();
    cameraAdmin.refreshSoon();
    return;
  }
  if (msg.type === 'camera') cameraAdmin.refreshSoon();
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
      if (msg.active === true && !c.alarm) c.alarm_since = Date.now();
      if (msg.active !== true) c.alarm_since = null;
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
    if (link.connected && performance.now() - wallLink.lastMsgPerf > WS_SILENCE_MS) {
      const sel = model.selection, cam = sel && sel.camera !== null ? model.camById[sel.camera] : null;
      if (cam && cam.state === 'live') dropSocket();
    }
    status.updateOverlay();
    status.updateHud();
    status.updateClock();
    // The server gone for a while: a page that says so (it goes when the link is back).
    const down = layout !== 'grid' && !link.connected && link.everConnected &&
      performance.now() - link.disconnectedPerf > GONE_PAGE_MS;
    if (down && !login.errorShown && !login.open) {
      login.showError('camwall is not answering',
        'The live link has been down for a while. The page keeps retrying by itself; check the network, or whether camwall is running.');
      goneShown = true;
    } else if (!down && goneShown) {
      goneShown = false;
      login.hideError();
    }
  } catch (e) { /* ignore */ }
}
let goneShown = false;

// ---------------------------------------------------------------- input
installKeys({
  // The cameras screen has its own keys (Esc closes it); the wall's are not for it.
  blocked: () => login.open || cameraAdmin.open,
  helpOpen: () => screen.helpOpen,
  escape() {
    if (screen.helpOpen) screen.closeHelp();
    else if (!el('events').hidden) toggleEvents();
    else if (peekCam) setPeek(null);
  },
  help: () => screen.toggleHelp(),
  hud: () => status.toggleHud(),
  ack: () => { acknowledge(); },
  grid: () => setLayout(layout === 'grid' ? pictureLayout : 'grid'),
  events: () => toggleEvents(),
  fullscreen: () => screen.toggleFullscreen(),
  nth(i) {
    const c = model.cameras[i];
    if (c) pick(c.id);
    return !!c;
  },
  step(step) {
    const n = model.cameras.length;
    if (!n) return;
    const now = peekCam || (model.selection ? model.selection.camera : null);
    const at = model.cameras.findIndex((c) => c.id === now);
    pick(model.cameras[((at < 0 ? 0 : at + step) % n + n) % n].id);
  },
  arrowsAreFocus: () => layout === 'grid',
});
window.addEventListener('online', () => reconnectNow());
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) { reconnectNow(); fetchCameras(); }
});

// ---------------------------------------------------------------- the event list
let eventsLoaded = false;
function loadEvents() {
  return api('GET', '/api/events/history?limit=200&type=' + EVENT_TYPES).then((r) => {
    if (r.ok && Array.isArray(r.data)) { events.load(r.data); eventsLoaded = true; events.render(); }
  });
}

function toggleEvents() {
  const panel = el('events');
  panel.hidden = !panel.hidden;
  el('eventsbtn').setAttribute('aria-pressed', panel.hidden ? 'false' : 'true');
  document.body.classList.toggle('with-events', !panel.hidden);
  player.scheduleResize();
  if (!panel.hidden) { if (!eventsLoaded) loadEvents(); else events.render(); }
}

for (const b of document.querySelectorAll('.layouts button')) {
  b.addEventListener('click', () => setLayout(b.getAttribute('data-layout') || 'wall'));
}
el('eventsbtn').addEventListener('click', () => toggleEvents());
el('camerasbtn').addEventListener('click', () => { if (cameraAdmin.open) cameraAdmin.hide(); else openCamerasScreen(); });
window.addEventListener('hashchange', () => {
  if (window.location.hash === '#' + CAMERAS_SCREEN) openCamerasScreen();
  else cameraAdmin.hide();
});
el('logout').addEventListener('click', () => { me = { ...me, signed_in: false }; renderMe(); login.logout(); });

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
refreshAll();
fetchMe();
setInterval(tick, TICK_MS);
setInterval(() => { if (!camFetch && !document.hidden) fetchCameras(); }, CAM_POLL_MS);
