// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// Decodes frames off the main thread.
//
// JPEG: `{id, b64, meta}` (base64) or `{id, jpeg, meta}` (the bytes) in, `{type: 'frame', id,
// meta, bitmap}` (the ImageBitmap transferred) or `{type: 'error', id, meta, fatal, error}` out.
//
// H.264: `{type: 'h264', data, keyframe, meta}` in (Annex B access units, in order, from a
// keyframe on); each decoded picture comes out as `{type: 'frame', id: -1, meta, bitmap}` with
// the VideoFrame transferred (the page draws and closes it); `{type: 'h264-error', error}` when
// the decoder fails. WebCodecs' `VideoDecoder` with `optimizeForLatency`; it is configured from
// the SPS of the first keyframe, and again when a keyframe's SPS differs (a camera of another
// size after a switch).
//
// It says `{type: 'hello', createImageBitmap, videoDecoder}` first, so the page knows what it
// can decode. A module worker: it shares the base64 decoder with the player.

import { base64ToBytes } from './base64.js';

/**
 * The parts of the worker's global scope used here (the DOM library types `self` as a window).
 * @type {{
 *   postMessage: (message: unknown, transfer?: Transferable[]) => void,
 *   onmessage: ((e: MessageEvent) => void) | null,
 *   createImageBitmap?: (blob: Blob) => Promise<ImageBitmap>,
 *   VideoDecoder?: typeof VideoDecoder,
 * }}
 */
const scope = /** @type {any} */ (self);
const hasCIB = typeof scope.createImageBitmap === 'function';
const hasVD = typeof scope.VideoDecoder === 'function';

/**
 * @param {unknown} id
 * @param {unknown} meta
 * @param {unknown} err
 * @param {boolean} fatal
 */
function fail(id, meta, err, fatal) {
  try {
    scope.postMessage({ type: 'error', id, meta, fatal,
      error: String((err && /** @type {Error} */ (err).message) || err) });
  } catch (e) { /* nothing more to do */ }
}

// ---------------------------------------------------------------- H.264
/** @type {VideoDecoder | null} */
let decoder = null;
let configured = '';
/** @type {unknown[]} the frames' meta, in decode order (outputs come in the same order) */
const metas = [];
let chunkTs = 0;

/**
 * The SPS of an Annex B access unit (its bytes after the NAL header), or null.
 * @param {Uint8Array} d
 */
function findSps(d) {
  for (let i = 0; i + 4 < d.length; i++) {
    if (d[i] === 0 && d[i + 1] === 0 && d[i + 2] === 1 && (d[i + 3] & 0x1f) === 7) {
      let end = i + 4;
      while (end + 2 < d.length && !(d[end] === 0 && d[end + 1] === 0 && (d[end + 2] === 1 || d[end + 2] === 0))) end++;
      return d.subarray(i + 4, Math.max(end, i + 7));
    }
  }
  return null;
}

/** @param {number} n */
const hex = (n) => n.toString(16).padStart(2, '0');

/** @param {string} error */
function h264Failed(error) {
  resetH264();
  scope.postMessage({ type: 'h264-error', error });
}

/** Forgets the stream (the page starts another): the next frame decoded is a keyframe. */
function resetH264() {
  try { if (decoder && decoder.state !== 'closed') decoder.close(); } catch (e) { /* ignore */ }
  decoder = null;
  configured = '';
  metas.length = 0;
}

/** @param {{data: ArrayBuffer, keyframe: boolean, meta: unknown}} d */
function decodeH264(d) {
  if (!hasVD) { h264Failed('VideoDecoder unavailable in worker'); return; }
  const bytes = new Uint8Array(d.data);
  if (d.keyframe) {
    const sps = findSps(bytes);
    const codec = sps && sps.length >= 3 ? 'avc1.' + hex(sps[0]) + hex(sps[1]) + hex(sps[2]) : 'avc1.42E01F';
    const key = sps ? Array.from(sps).join(',') : codec;
    if (!decoder || decoder.state === 'closed' || key !== configured) {
      try {
        if (!decoder || decoder.state === 'closed') {
          const VD = /** @type {typeof VideoDecoder} */ (scope.VideoDecoder);
          decoder = new VD({
            output(frame) {
              const meta = metas.shift();
              try { scope.postMessage({ type: 'frame', id: -1, meta, bitmap: frame }, [/** @type {any} */ (frame)]); } catch (e) { frame.close(); }
            },
            error(e) { h264Failed(String(e && e.message || e)); },
          });
        } else {
          decoder.reset();
          metas.length = 0;
        }
        decoder.configure({ codec, optimizeForLatency: true, hardwareAcceleration: 'no-preference' });
        configured = key;
      } catch (e) { h264Failed(String(e && /** @type {Error} */ (e).message || e)); return; }
    }
  }
  if (!decoder || decoder.state !== 'configured') return;   // waiting for a keyframe
  try {
    metas.push(d.meta);
    decoder.decode(new EncodedVideoChunk({ type: d.keyframe ? 'key' : 'delta', timestamp: (chunkTs += 40000), data: bytes }));
  } catch (e) { metas.pop(); h264Failed(String(e && /** @type {Error} */ (e).message || e)); }
}

// ---------------------------------------------------------------- JPEG and dispatch
scope.onmessage = (e) => {
  const d = (e && e.data) || {};
  if (d.type === 'h264') { decodeH264(d); return; }
  if (d.type === 'h264-reset') { resetH264(); return; }
  const { id, meta } = d;
  if (!hasCIB) { fail(id, meta, 'createImageBitmap unavailable in worker', true); return; }
  let blob;
  try {
    blob = new Blob([d.jpeg ? new Uint8Array(d.jpeg) : base64ToBytes(String(d.b64 || ''))], { type: 'image/jpeg' });
  } catch (err) { fail(id, meta, err, false); return; }
  /** @type {NonNullable<typeof scope.createImageBitmap>} */ (scope.createImageBitmap)(blob).then((bitmap) => {
    try { scope.postMessage({ type: 'frame', id, meta, bitmap }, [bitmap]); } catch (err) {
      try { bitmap.close(); } catch (e2) { /* ignore */ }
      fail(id, meta, err, true);
    }
  }, (err) => fail(id, meta, err, false));
};
scope.postMessage({ type: 'hello', createImageBitmap: hasCIB, videoDecoder: hasVD });
