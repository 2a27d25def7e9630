// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// The player shared by camwall's page and mjpegwssink's own viewer: it decodes JPEG frames in a
// Web Worker (on the main thread if the worker fails), keeps at most one frame waiting while one
// decodes (a newer frame replaces it: frames are dropped, never queued), and draws each decoded
// picture at once, letterboxed on its canvas. The last picture is kept (one, closed when the
// next is drawn) so a resize can repaint it. H.264 access units go to the worker's WebCodecs
// decoder in order (none may be dropped), and each picture it puts out is drawn at once.

import { base64ToBytes } from './base64.js';

/** Time a decode may take before it is abandoned (and the worker distrusted). */
const DECODE_TIMEOUT_MS = 3000;

/**
 * A frame to show.
 * @typedef {object} Frame
 * @property {string | null} camera
 * @property {number | null} seq
 * @property {number | null} ts     unix ms when the server received it
 * @property {string} [b64]        the JPEG, base64
 * @property {ArrayBuffer} [jpeg]  or its bytes (binary messages)
 */

/**
 * An H.264 access unit to decode.
 * @typedef {object} H264Frame
 * @property {string | null} camera
 * @property {number | null} seq
 * @property {number | null} ts
 * @property {boolean} keyframe
 * @property {ArrayBuffer} data     Annex B
 */

/**
 * A decoded picture.
 * @typedef {object} Picture
 * @property {CanvasImageSource} src
 * @property {number} width
 * @property {number} height
 * @property {() => void} close
 */

/**
 * What the last draw was.
 * @typedef {object} DrawInfo
 * @property {number} width
 * @property {number} height
 * @property {number} decodeMs
 * @property {number | null} latency   ms from the server receiving the frame to the draw
 */

/** @typedef {{id: number, f: Frame, t0: number, via: 'worker' | 'main'}} Decode */

const now = () => performance.now();

/** @param {ImageBitmap} bmp @returns {Picture} */
function wrapBitmap(bmp) {
  return { src: bmp, width: bmp.width, height: bmp.height,
    close: () => { try { bmp.close(); } catch (e) { /* ignore */ } } };
}

/** @param {Frame} f @returns {Promise<Picture>} */
function decodeMain(f) {
  const bytes = f.jpeg ? new Uint8Array(f.jpeg) : base64ToBytes(f.b64 || '');
  return createImageBitmap(new Blob([bytes], { type: 'image/jpeg' })).then(wrapBitmap);
}

/** @param {VideoFrame} vf @returns {Picture} */
function wrapVideoFrame(vf) {
  return { src: vf, width: vf.displayWidth, height: vf.displayHeight,
    close: () => { try { vf.close(); } catch (e) { /* ignore */ } } };
}

export class Player {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {object} [opts]
   * @param {boolean} [opts.desynchronized]  a low-latency canvas (off with ?desync=0)
   * @param {(f: Frame, info: DrawInfo) => void} [opts.onDraw]  after each picture is drawn
   * @param {(error: string) => void} [opts.onH264Error]  H.264 cannot be decoded here (any more)
   */
  constructor(canvas, opts = {}) {
    this.canvas = canvas;
    this.onDraw = opts.onDraw || (() => {});
    this.onH264Error = opts.onH264Error || (() => {});
    /** @type {Map<number, number>} H.264 frames sent to the decoder: seq -> performance.now() */
    this.h264Sent = new Map();
    /** @type {CanvasRenderingContext2D | null} */
    this.ctx = null;
    try {
      this.ctx = canvas.getContext('2d', { alpha: false, desynchronized: opts.desynchronized !== false });
    } catch (e) { this.ctx = null; }
    if (!this.ctx) { try { this.ctx = canvas.getContext('2d'); } catch (e) { this.ctx = null; } }
    /** @type {Picture | null} */
    this.held = null;
    this.lastRectKey = '';
    /** @type {{x: number, y: number, width: number, height: number} | null} where the picture is */
    this.drawnRect = null;
    /** @type {Worker | null} */
    this.worker = null;
    /** @type {'worker' | 'main'} */
    this.decoder = 'main';
    /** @type {Decode | null} */
    this.inFlight = null;
    /** @type {Frame | null} the newest frame waiting while one decode is in flight */
    this.pending = null;
    this.decodeSeq = 0;
    this.framesDrawn = 0;
    this.framesDropped = 0;
    this.decodeErrors = 0;
    /** @type {number[]} performance.now() of the draws within the last second */
    this.drawTimes = [];
    this.lastDrawPerf = 0;
    /** @type {DrawInfo | null} */
    this.lastDraw = null;
    this.resizeQueued = false;
    this.resize();
    this.watchDpr();
    window.addEventListener('resize', () => this.scheduleResize());
    this.startWorker();
  }

  /** Draws the held picture, letterboxed; black when there is none. */
  paint() {
    const ctx = this.ctx;
    if (!ctx) return;
    const cw = this.canvas.width, ch = this.canvas.height, held = this.held;
    if (!held || !held.width || !held.height) {
      ctx.fillStyle = '#000'; ctx.fillRect(0, 0, cw, ch); this.lastRectKey = ''; this.drawnRect = null; return;
    }
    const s = Math.min(cw / held.width, ch / held.height);
    const dw = Math.max(1, Math.round(held.width * s)), dh = Math.max(1, Math.round(held.height * s));
    const dx = Math.floor((cw - dw) / 2), dy = Math.floor((ch - dh) / 2);
    const key = dx + ',' + dy + ',' + dw + ',' + dh;
    if (key !== this.lastRectKey) { ctx.fillStyle = '#000'; ctx.fillRect(0, 0, cw, ch); this.lastRectKey = key; }
    ctx.drawImage(held.src, dx, dy, dw, dh);
    this.drawnRect = { x: dx, y: dy, width: dw, height: dh };
  }

  /** Fits the canvas's pixels to its size on screen (up to 2 device pixels a CSS pixel). */
  resize() {
    try {
      const canvas = this.canvas;
      const dpr = Math.min(Math.max(window.devicePixelRatio || 1, 1), 2);
      const cssW = canvas.clientWidth || window.innerWidth || 1, cssH = canvas.clientHeight || window.innerHeight || 1;
      const w = Math.max(1, Math.round(cssW * dpr)), h = Math.max(1, Math.round(cssH * dpr));
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w; canvas.height = h; this.lastRectKey = '';
        this.paint();
      }
    } catch (e) { /* ignore */ }
  }

  scheduleResize() {
    if (this.resizeQueued) return;
    this.resizeQueued = true;
    const run = () => { if (!this.resizeQueued) return; this.resizeQueued = false; this.resize(); };
    window.requestAnimationFrame(run);
    setTimeout(run, 100); // rAF does not run in hidden tabs
  }

  watchDpr() {
    try {
      const mq = window.matchMedia('(resolution: ' + (window.devicePixelRatio || 1) + 'dppx)');
      mq.addEventListener('change', () => { this.scheduleResize(); this.watchDpr(); }, { once: true });
    } catch (e) { /* ignore */ }
  }

  startWorker() {
    try {
      const worker = new Worker(new URL('./decoder.worker.js', import.meta.url), { type: 'module' });
      worker.onmessage = (e) => this.onWorkerMessage(e);
      worker.onerror = (e) => { try { e.preventDefault(); } catch (x) { /* ignore */ } this.disableWorker(); };
      worker.onmessageerror = () => this.disableWorker();
      this.worker = worker;
      this.decoder = 'worker';
    } catch (e) {
      this.disableWorker();
    }
  }

  /** Stops trusting the worker: decodes go to the main thread from now on. */
  disableWorker() {
    if (this.worker) { try { this.worker.terminate(); } catch (e) { /* ignore */ } this.worker = null; }
    this.decoder = 'main';
    if (this.inFlight && this.inFlight.via === 'worker') {
      // decode it again on the main thread (unless a newer frame is already waiting)
      const f = this.inFlight.f;
      this.inFlight = null;
      if (this.pending) this.framesDropped++; else this.pending = f;
      this.pump();
    }
  }

  /** @param {MessageEvent} e */
  onWorkerMessage(e) {
    try {
      const d = e && e.data;
      if (!d || typeof d !== 'object') return;
      if (d.type === 'hello') { if (!d.createImageBitmap) this.disableWorker(); return; }
      if (d.type === 'h264-error') { this.decodeErrors++; this.onH264Error(String(d.error)); return; }
      if (d.type === 'frame' && d.id === -1) {
        // An H.264 picture: drawn at once, whatever else is being decoded.
        const meta = d.meta || {};
        const f = { camera: meta.camera ?? null, seq: meta.seq ?? null, ts: meta.ts ?? null };
        const t0 = f.seq !== null ? this.h264Sent.get(f.seq) : undefined;
        if (f.seq !== null) this.h264Sent.delete(f.seq);
        if (d.bitmap) this.draw(wrapVideoFrame(d.bitmap), f, t0 !== undefined ? now() - t0 : 0);
        return;
      }
      if (d.type === 'frame') {
        if (d.bitmap) this.finish(d.id, wrapBitmap(d.bitmap)); else this.fail(d.id);
        return;
      }
      if (d.type === 'error') { if (d.fatal) this.disableWorker(); else this.fail(d.id); }
    } catch (err) { /* never throw */ }
  }

  /**
   * Decodes an H.264 access unit (all of them, in order, from a keyframe on) in the worker;
   * its picture is drawn as soon as it is out.
   * @param {H264Frame} f
   */
  enqueueH264(f) {
    if (!this.worker) { this.onH264Error('no worker to decode H.264 in'); return; }
    if (f.seq !== null) {
      this.h264Sent.set(f.seq, now());
      if (this.h264Sent.size > 200) this.h264Sent.delete(/** @type {number} */ (this.h264Sent.keys().next().value));
    }
    try {
      this.worker.postMessage({ type: 'h264', data: f.data, keyframe: f.keyframe,
        meta: { camera: f.camera, seq: f.seq, ts: f.ts } }, [f.data]);
    } catch (e) { this.onH264Error(String(e)); }
  }

  /** A new H.264 stream starts (another socket): the decoder waits for its keyframe. */
  resetH264() {
    this.h264Sent.clear();
    if (this.worker) { try { this.worker.postMessage({ type: 'h264-reset' }); } catch (e) { /* ignore */ } }
  }

  /** Shows `f` as soon as it can: now, or after the decode under way (replacing a waiting one). @param {Frame} f */
  enqueue(f) {
    if (this.inFlight) {
      if (this.pending) this.framesDropped++;   // the older waiting frame gives way to the newest
      this.pending = f;
      return;
    }
    this.start(f);
  }

  pump() {
    if (!this.inFlight && this.pending) { const p = this.pending; this.pending = null; this.start(p); }
  }

  /** @param {Frame} f */
  start(f) {
    const id = ++this.decodeSeq;
    if (this.worker) {
      this.inFlight = { id, f, t0: now(), via: 'worker' };
      try {
        const meta = { camera: f.camera, seq: f.seq, ts: f.ts };
        // The bytes are copied, not moved: the main thread may need them if the worker fails.
        if (f.jpeg) this.worker.postMessage({ id, jpeg: f.jpeg.slice(0), meta });
        else this.worker.postMessage({ id, b64: f.b64, meta });
        return;
      } catch (e) {
        this.inFlight = null;
        this.disableWorker();
      }
    }
    this.inFlight = { id, f, t0: now(), via: 'main' };
    decodeMain(f).then((img) => this.finish(id, img), () => this.fail(id)).catch(() => {});
  }

  /** @param {number} id @param {Picture} img */
  finish(id, img) {
    if (!this.inFlight || this.inFlight.id !== id) { img.close(); return; }   // abandoned decode
    const f = this.inFlight.f, decodeMs = now() - this.inFlight.t0;
    this.inFlight = null;
    try { this.draw(img, f, decodeMs); } catch (e) { this.decodeErrors++; }
    this.pump();
  }

  /** @param {number} id */
  fail(id) {
    if (!this.inFlight || this.inFlight.id !== id) return;
    this.inFlight = null;
    this.decodeErrors++;
    this.pump();
  }

  /** @param {Picture} img @param {Frame} f @param {number} decodeMs */
  draw(img, f, decodeMs) {
    const prev = this.held;
    this.held = img;
    if (prev && prev !== img) prev.close();     // at most one picture held
    this.paint();                               // drawn at once: the lowest latency
    const drawnAt = Date.now();
    this.framesDrawn++;
    this.lastDrawPerf = now();
    this.drawTimes.push(this.lastDrawPerf);
    this.lastDraw = { width: img.width, height: img.height, decodeMs,
      latency: f.ts !== null ? drawnAt - f.ts : null };
    this.onDraw(f, this.lastDraw);
  }

  /** Draws per second, over the last second. */
  fps() {
    const t = now();
    while (this.drawTimes.length && t - this.drawTimes[0] > 1000) this.drawTimes.shift();
    return this.drawTimes.length;
  }

  /** Abandons a decode that hangs (and stops trusting the worker if it was the worker's). */
  tick() {
    if (this.inFlight && now() - this.inFlight.t0 > DECODE_TIMEOUT_MS) {
      if (this.inFlight.via === 'worker') this.disableWorker();
      else { this.inFlight = null; this.decodeErrors++; this.pump(); }
    }
  }
}
