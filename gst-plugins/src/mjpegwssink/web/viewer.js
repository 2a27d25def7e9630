// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// mjpegwssink's own viewer page: the shared player on the whole window, a status line, and a
// WebSocket that reconnects when it closes. The socket's path comes from the page's
// `camwall-ws` meta tag; the page's query (a `?token=`) is passed on. Binary frames (a sink fed
// H.264, or `?binary=1`) are read too: H.264 decoded with WebCodecs where the browser has it.

import { Player } from './player.js';
import { parseBinary } from './protocol.js';

/** @typedef {import('./protocol.js').Message} Message */

const canvas = /** @type {HTMLCanvasElement} */ (document.getElementById('view'));
const status = /** @type {HTMLElement} */ (document.getElementById('status'));
const meta = /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="camwall-ws"]'));
const wsPath = meta ? meta.content : '/ws';
let camera = /** @type {string | null} */ (null);
const player = new Player(canvas, {
  onH264Error(error) { status.textContent = 'this browser cannot decode H.264: ' + error; },
});

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(proto + '//' + location.host + wsPath + location.search);
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => { player.resetH264(); status.textContent = 'live'; };
  ws.onmessage = (ev) => {
    if (ev.data instanceof ArrayBuffer) {
      const f = parseBinary(ev.data);
      if (!f) return;
      if (f.kind === 'h264') player.enqueueH264({ camera: f.camera, seq: f.seq, ts: f.ts, keyframe: f.keyframe, data: f.data });
      else player.enqueue({ camera: f.camera, seq: f.seq, ts: f.ts, jpeg: f.data });
      if (f.camera !== camera) { camera = f.camera; status.textContent = camera || 'live'; }
      return;
    }
    const text = String(ev.data);
    if (text.charAt(0) !== '{') { // envelope=none: the base64 JPEG alone
      player.enqueue({ camera: null, seq: null, ts: null, b64: text });
      return;
    }
    /** @type {Message} */
    let msg;
    try { msg = JSON.parse(text); } catch (e) { return; }
    if (msg.type === 'frame') {
      player.enqueue({ camera: msg.camera, seq: msg.seq, ts: msg.ts, b64: msg.jpeg });
      if (msg.camera !== camera) { camera = msg.camera; status.textContent = camera || 'live'; }
    } else if (msg.type === 'alarm') {
      status.className = msg.active ? 'alarm' : '';
      status.textContent = (msg.active ? 'ALARM ' : '') + msg.camera;
    } else if (msg.type === 'camera') {
      status.textContent = msg.camera + ': ' + msg.state;
    }
  };
  ws.onclose = () => { status.textContent = 'reconnecting'; setTimeout(connect, 1000); };
}
setInterval(() => player.tick(), 250);
connect();
