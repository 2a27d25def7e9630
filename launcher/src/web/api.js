// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// The page's client of the launcher's JSON API: the token (from `?token=`) on every request, a
// timeout, and one answer shape whatever happens, so no caller has to catch.

import { errText } from './model.js';

const API_TIMEOUT_MS = 5000;

/**
 * @typedef {object} ApiAnswer
 * @property {boolean} ok
 * @property {number} status       0 when no answer came
 * @property {any} data            the JSON body, or null
 * @property {string | null} error the server's `reason` (or `error` code), `HTTP <status>`, or why nothing came
 */

/**
 * @param {string | null} token
 * @param {(unauthorised: boolean) => void} onAuth  told after each answer whether it was a 401
 * @param {() => void} [onForeign]  told when camwall refuses this page's origin (403 `forbidden-origin`)
 * @returns {(method: string, path: string, body?: unknown, timeoutMs?: number) => Promise<ApiAnswer>}
 *   `timeoutMs` for a request that takes long by design (a camera test: up to 5 s on the server)
 */
export function createApi(token, onAuth, onForeign = () => {}) {
  return async function api(method, path, body, timeoutMs = API_TIMEOUT_MS) {
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    /** @type {RequestInit} */
    const init = { method, headers, cache: 'no-store', credentials: 'same-origin' };
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
    const ac = new AbortController();
    init.signal = ac.signal;
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    try {
      const res = await fetch(path, init);
      const text = await res.text();
      let data = null;
      try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
      if (res.status === 401) onAuth(true);
      else if (res.ok) onAuth(false);
      else if (res.status === 403 && data && data.error === 'forbidden-origin') onForeign();
      let error = null;
      if (!res.ok) error = errorText(data, res.status);
      return { ok: res.ok, status: res.status, data, error };
    } catch (e) {
      const name = e && /** @type {Error} */ (e).name;
      return { ok: false, status: 0, data: null, error: name === 'AbortError' ? 'timeout' : errText(e) };
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * The sentence of an error answer (`{"error": code, "reason": sentence}`, see
 * `gstcamwall::http::ApiError`), else its code, else the status.
 * @param {unknown} data
 * @param {number} status
 * @returns {string}
 */
export function errorText(data, status) {
  const d = /** @type {{error?: unknown, reason?: unknown} | null} */ (data);
  if (d && typeof d.reason === 'string' && d.reason) return d.reason;
  if (d && typeof d.error === 'string' && d.error) return d.error;
  return 'HTTP ' + status;
}
