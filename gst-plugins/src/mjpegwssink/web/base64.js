// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// Base64 to bytes, for the player and its decoder worker: the browser's own decoder where there
// is one (Uint8Array.fromBase64), else atob.

/** @param {string} b64 @returns {Uint8Array<ArrayBuffer>} */
export function base64ToBytes(b64) {
  const U8 = /** @type {typeof Uint8Array & {fromBase64?: (s: string) => Uint8Array<ArrayBuffer>}} */ (Uint8Array);
  if (typeof U8.fromBase64 === 'function') {
    try { return U8.fromBase64(b64); } catch (e) { /* fall through */ }
  }
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
