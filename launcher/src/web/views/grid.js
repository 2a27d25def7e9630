// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// The overview: a tile per camera with its live thumbnail, name, state (and why it is down),
// alarm and snooze. Thumbnails come on one WebSocket (`/ws/grid`, with `?cameras=` for some
// only), which carries every camera's events too; camwall encodes a camera's thumbnail only
// while such a socket asks for it. Each tile draws the newest thumbnail it has and drops the
// ones that came while it was decoding.

import { base64ToBytes } from '../base64.js';
import { setAttr, setText } from './cameras.js';

/** @typedef {import('../model.js').Model} Model */
/** @typedef {import('../model.js').Camera} Camera */

const BACKOFF_MIN = 250, BACKOFF_MAX = 4000;

/**
 * One camera's tile: a button with the thumbnail's canvas (at the thumbnail's own size; the
 * stylesheet fits it into the tile), the name, the state and the badges.
 */
export class Tile {
  /** @param {string} id @param {(id: string) => void} onPick */
  constructor(id, onPick) {
    this.id = id;
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'tile';
    b.setAttribute('data-camera-id', id);
    const canvas = document.createElement('canvas');
    canvas.width = 16; canvas.height = 9;
    canvas.setAttribute('aria-hidden', 'true');
    const cap = document.createElement('span'); cap.className = 'cap';
    const name = document.createElement('span'); name.className = 'name';
    const st = document.createElement('span'); st.className = 'st';
    const al = document.createElement('span'); al.className = 'al'; al.textContent = 'ALARM';
    const onwall = document.createElement('span'); onwall.className = 'onwall'; onwall.textContent = 'on wall';
    cap.append(name, st);
    b.append(canvas, al, onwall, cap);
    b.addEventListener('click', () => onPick(id));
    this.el = b;
    this.canvas = canvas;
    this.parts = { name, st };
    /** @type {string | null} a thumbnail waiting while another decodes */
    this.pending = null;
    this.decoding = false;
    this.drawn = 0;
    /** @type {number | null} unix ms of the thumbnail drawn */
    this.ts = null;
  }

  /** @param {string} b64 @param {number | null} ts */
  show(b64, ts) {
    this.pending = b64;
    this.pendingTs = ts;
    if (!this.decoding) this.decodeNext();
  }

  decodeNext() {
    const b64 = this.pending;
    if (b64 === null) return;
    const ts = this.pendingTs === undefined ? null : this.pendingTs;
    this.pending = null;
    this.decoding = true;
    let blob;
    try { blob = new Blob([base64ToBytes(b64)], { type: 'image/jpeg' }); } catch (e) { this.decoding = false; return; }
    createImageBitmap(blob).then((bmp) => {
      const c = this.canvas;
      if (c.width !== bmp.width || c.height !== bmp.height) { c.width = bmp.width; c.height = bmp.height; }
      const ctx = c.getContext('2d');
      if (ctx) ctx.drawImage(bmp, 0, 0);
      bmp.close();
      this.drawn++;
      this.ts = ts;
      this.el.classList.add('has-picture');
    }).catch(() => { /* a broken thumbnail: the next one comes soon */ }).then(() => {
      this.decoding = false;
      if (this.pending !== null) this.decodeNext();
    });
  }

  /** @param {Camera} c @param {{onWall: boolean, index: number}} o */
  render(c, o) {
    const b = this.el;
    setAttr(b, 'data-state', c.state);
    setAttr(b, 'data-alarm', c.alarm ? 'true' : 'false');
    const snoozed = typeof c.snoozed_until === 'number' && c.snoozed_until > Date.now();
    setAttr(b, 'data-snoozed', snoozed ? 'true' : 'false');
    setAttr(b, 'data-onwall', o.onWall ? 'true' : 'false');
    setText(this.parts.name, (o.index < 9 ? (o.index + 1) + ' \u00b7 ' : '') + c.name);
    let st = c.state;
    if (c.state !== 'live' && c.error) st += ': ' + c.error.words;
    if (snoozed) st += ' \u00b7 snoozed';
    setText(this.parts.st, st);
    // Its name for assistive technology is its visible text (name, state, the badges shown).
    let label = c.name + ', ' + st + (c.alarm ? ', alarm' : '') + (o.onWall ? ', on the wall' : '');
    if (c.state !== 'live' && c.error && c.error.message) label += ' (' + c.error.message + ')';
    setAttr(b, 'title', label);
  }
}

/** A set of tiles in one container, made once per camera list and updated in place. */
export class TileSet {
  /**
   * @param {HTMLElement} container
   * @param {Model} model
   * @param {(id: string) => void} onPick
   */
  constructor(container, model, onPick) {
    this.container = container;
    this.model = model;
    this.onPick = onPick;
    /** @type {Record<string, Tile>} */
    this.tiles = Object.create(null);
    this.key = '';
  }

  /** @param {string[]} ids  the cameras to show, in order */
  render(ids) {
    const key = ids.join('\u0000');
    if (key !== this.key) {
      this.key = key;
      /** @type {Record<string, Tile>} */
      const next = Object.create(null);
      for (const id of ids) next[id] = this.tiles[id] || new Tile(id, this.onPick);
      this.tiles = next;
      this.container.replaceChildren(...ids.map((id) => next[id].el));
    }
    const sel = this.model.selection;
    for (const id of ids) {
      const c = this.model.camById[id];
      if (c) this.tiles[id].render(c, { onWall: !!(sel && sel.camera === id), index: this.model.cameras.indexOf(c) });
    }
  }

  /** @param {string} id @param {string} b64 @param {number | null} ts */
  frame(id, b64, ts) {
    const t = this.tiles[id];
    if (t) t.show(b64, ts);
  }
}

/**
 * The `/ws/grid` socket: reconnects with backoff while wanted, asks for `cameras` (all when
 * null), and hands frames and events to its owner.
 */
export class GridLink {
  /**
   * @param {{token: string | null, onFrame: (camera: string, b64: string, ts: number | null) => void,
   *          onMessage: (msg: any) => void, onState: (up: boolean) => void}} o
   */
  constructor(o) {
    this.o = o;
    /** @type {WebSocket | null} */
    this.ws = null;
    /** @type {string[] | null} */
    this.cameras = null;
    this.wanted = false;
    this.up = false;
    this.backoff = BACKOFF_MIN;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
    this.framesReceived = 0;
  }

  /** Opens (or keeps) the socket for `cameras` (null: every camera; empty: none wanted). */
  /** @param {string[] | null} cameras */
  want(cameras) {
    const same = this.wanted && JSON.stringify(cameras) === JSON.stringify(this.cameras);
    if (same) return;
    this.cameras = cameras;
    this.wanted = !(cameras && cameras.length === 0);
    this.close();
    if (this.wanted) this.open();
  }

  stop() { this.wanted = false; this.close(); }

  url() {
    const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams();
    if (this.o.token) q.set('token', this.o.token);
    if (this.cameras) q.set('cameras', this.cameras.join(','));
    const query = q.toString();
    return proto + '//' + window.location.host + '/ws/grid' + (query ? '?' + query : '');
  }

  open() {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.ws || !this.wanted) return;
    let sock;
    try { sock = new WebSocket(this.url()); } catch (e) { this.retry(); return; }
    this.ws = sock;
    const opened = Date.now();
    sock.onopen = () => { if (this.ws === sock) { this.up = true; this.o.onState(true); } };
    sock.onmessage = (ev) => {
      if (this.ws !== sock || typeof ev.data !== 'string') return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (!msg || typeof msg !== 'object') return;
      if (msg.type === 'frame') {
        if (typeof msg.camera === 'string' && typeof msg.jpeg === 'string' && msg.jpeg) {
          this.framesReceived++;
          this.o.onFrame(msg.camera, msg.jpeg, typeof msg.ts === 'number' ? msg.ts : null);
        }
        return;
      }
      try { this.o.onMessage(msg); } catch (e) { /* never throw on a bad message */ }
    };
    sock.onclose = () => {
      if (this.ws !== sock) return;
      this.ws = null;
      if (this.up) { this.up = false; this.o.onState(false); }
      if (Date.now() - opened > 2000) this.backoff = BACKOFF_MIN;
      this.retry();
    };
    sock.onerror = () => {};
  }

  retry() {
    if (!this.wanted || this.timer) return;
    const delay = Math.round(this.backoff * (0.9 + Math.random() * 0.2));
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX);
    this.timer = setTimeout(() => { this.timer = null; this.open(); }, delay);
  }

  close() {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    const sock = this.ws;
    this.ws = null;
    if (this.up) { this.up = false; this.o.onState(false); }
    if (!sock) return;
    sock.onopen = sock.onmessage = sock.onclose = sock.onerror = null;
    try { sock.close(); } catch (e) { /* ignore */ }
  }
}
