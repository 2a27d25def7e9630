// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// Signing in and the pages for what went wrong. The sign-in form trades a token for a session
// cookie (`POST /api/login`; HttpOnly, so the page never holds the token afterwards and it
// stays out of the address bar and the history); `?token=` in the address keeps working for
// kiosks. A refused token, a page from elsewhere, a server that stopped answering: each is a
// page that says what happened and what to do, never an answer's raw JSON.

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * @typedef {object} Me  who the page is signed in as (`GET /api/me`)
 * @property {string | null} name
 * @property {'viewer' | 'operator' | 'admin'} role
 * @property {boolean} signed_in
 */

export class Login {
  /**
   * @param {{urlToken: string | null, onSignedIn: (me: Me) => void, onRetry: () => void}} o
   */
  constructor(o) {
    this.o = o;
    this.dialog = $('login');
    this.form = /** @type {HTMLFormElement} */ ($('loginform'));
    this.input = /** @type {HTMLInputElement} */ ($('token'));
    this.errorEl = $('loginerror');
    this.whyEl = $('loginwhy');
    this.errorPage = $('errorpage');
    this.busy = false;
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
    $('error-retry').addEventListener('click', () => { this.hideError(); this.o.onRetry(); });
    $('error-signin').addEventListener('click', () => { this.hideError(); this.show(); });
  }

  get open() { return !this.dialog.hidden; }

  /** @param {string} [why] */
  show(why) {
    this.whyEl.textContent = why || 'This camwall asks for a token. Your administrator gave you one.';
    this.dialog.hidden = false;
    this.hideError();
    this.input.focus();
  }

  hide() { this.dialog.hidden = true; }

  async submit() {
    if (this.busy) return;
    const token = this.input.value.trim();
    if (!token) { this.errorEl.textContent = 'Type your token first.'; this.input.focus(); return; }
    this.busy = true;
    this.errorEl.textContent = '';
    try {
      const res = await fetch('/api/login', {
        method: 'POST', credentials: 'same-origin', cache: 'no-store',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ token }),
      });
      let data = null;
      try { data = await res.json(); } catch (e) { /* no body */ }
      if (res.ok) {
        this.input.value = '';
        this.hide();
        this.o.onSignedIn(/** @type {Me} */ (data));
      } else if (res.status === 401) {
        this.errorEl.textContent = 'That token is not valid. Check it and try again.';
        this.input.select();
      } else {
        this.errorEl.textContent = 'Signing in failed: ' + ((data && data.reason) || 'HTTP ' + res.status);
      }
    } catch (e) {
      this.errorEl.textContent = 'camwall is not answering. Check the connection and try again.';
    } finally {
      this.busy = false;
    }
  }

  /** Signs out: the session ends, the form comes back. */
  async logout() {
    try { await fetch('/api/logout', { method: 'POST', credentials: 'same-origin', cache: 'no-store' }); } catch (e) { /* gone anyway */ }
    this.show('Signed out. Sign in again with your token.');
  }

  /**
   * A page for what went wrong, with the ways forward it offers.
   * @param {string} title @param {string} detail @param {{signIn?: boolean}} [o]
   */
  showError(title, detail, o = {}) {
    $('error-title').textContent = title;
    $('error-detail').textContent = detail;
    $('error-signin').hidden = !o.signIn;
    this.errorPage.hidden = false;
    $('error-retry').focus();
  }

  hideError() { this.errorPage.hidden = true; }

  get errorShown() { return !this.errorPage.hidden; }
}
