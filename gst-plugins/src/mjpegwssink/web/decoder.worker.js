// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// Decodes JPEG frames off the main thread: `{id, b64, meta}` in, `{type: 'frame', id, meta,
// bitmap}` (the ImageBitmap transferred) or `{type: 'error', id, meta, fatal, error}` out. It
// says `{type: 'hello', createImageBitmap}` first, so the page knows whether it can decode at all.
// A module worker: it shares the base64 decoder with the player.

import { base64ToBytes } from './base64.js';

/**
 * The parts of the worker's global scope used here (the DOM library types `self` as a window).
 * @type {{
 *   postMessage: (message: unknown, transfer?: Transferable[]) => void,
 *   onmessage: ((e: MessageEvent) => void) | null,
 *   createImageBitmap?: (blob: Blob) => Promise<ImageBitmap>,
 * }}
 */
const scope = /** @type {any} */ (self);
const hasCIB = typeof scope.createImageBitmap === 'function';

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

scope.onmessage = (e) => {
  const d = (e && e.data) || {};
  const { id, meta } = d;
  if (!hasCIB) { fail(id, meta, 'createImageBitmap unavailable in worker', true); return; }
  let blob;
  try { blob = new Blob([base64ToBytes(String(d.b64 || ''))], { type: 'image/jpeg' }); } catch (err) { fail(id, meta, err, false); return; }
  /** @type {NonNullable<typeof scope.createImageBitmap>} */ (scope.createImageBitmap)(blob).then((bitmap) => {
    try { scope.postMessage({ type: 'frame', id, meta, bitmap }, [bitmap]); } catch (err) {
      try { bitmap.close(); } catch (e2) { /* ignore */ }
      fail(id, meta, err, true);
    }
  }, (err) => fail(id, meta, err, false));
};
scope.postMessage({ type: 'hello', createImageBitmap: hasCIB });
