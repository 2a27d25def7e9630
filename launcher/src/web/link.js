// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// The wall's live link: the `/ws` WebSocket that brings the picture and the events. It opens
// (with a deadline), reconnects with backoff while it is wanted, and can be dropped at once (a
// half-open socket, a peek, the grid). What it carries goes to its owner.

const BACKOFF_MIN = 250, BACKOFF_MAX = 2000;
const OPEN_TIMEOUT_MS = 5000;

export class WallLink {
  /**
   * @param {{url: () => string, wanted: () => boolean, onOpen: () => void, onText: (data: string) => void,
   *          onBinary: (data: ArrayBuffer) => void, onDown: () => void, onRetry: () => void}} o
   *   `onDown` when an open link closes; `onRetry` when a reconnection is scheduled
   */
  constructor(o) {
    this.o = o;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.isUp = false;
    this.openedAt = 0;
    this.lastMsgPerf = 0;
    this.backoff = BACKOFF_MIN;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.retryTimer = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.openTimer = null;
  }

  /** Whether a socket is open or being opened, or a reconnection is scheduled. */
  get active() { return !!(this.ws || this.retryTimer); }

  connect() {
    this.clearRetry();
    if (this.ws || !this.o.wanted()) return;
    let sock;
    try { sock = new WebSocket(this.o.url()); } catch (e) { this.scheduleRetry(); return; }
    sock.binaryType = 'arraybuffer';
    this.ws = sock;
    if (this.openTimer) clearTimeout(this.openTimer);
    this.openTimer = setTimeout(() => {
      this.openTimer = null;
      if (this.ws === sock && !this.isUp) this.drop();
    }, OPEN_TIMEOUT_MS);
    sock.onopen = () => {
      if (this.ws !== sock) return;
      this.clearOpenTimer();
      this.isUp = true;
      this.openedAt = Date.now();
      this.lastMsgPerf = performance.now();
      this.o.onOpen();
    };
    sock.onmessage = (ev) => {
      if (this.ws !== sock) return;
      this.lastMsgPerf = performance.now();
      if (typeof ev.data === 'string') this.o.onText(ev.data);
      else if (ev.data instanceof ArrayBuffer) this.o.onBinary(ev.data);
    };
    sock.onclose = () => {
      if (this.ws !== sock) return;
      this.ws = null;
      this.clearOpenTimer();
      const wasUp = this.isUp;
      this.isUp = false;
      if (wasUp && Date.now() - this.openedAt > 1000) this.backoff = BACKOFF_MIN;
      if (wasUp) this.o.onDown();
      this.scheduleRetry();
    };
    sock.onerror = () => {};  // close follows
  }

  /** Abandons the socket without waiting for a close handshake; reconnects if still wanted. */
  drop() {
    this.close();
    this.scheduleRetry();
  }

  /** Closes the socket and forgets any reconnection. */
  close() {
    this.clearRetry();
    this.clearOpenTimer();
    const sock = this.ws;
    this.ws = null;
    if (sock) {
      sock.onopen = sock.onmessage = sock.onclose = sock.onerror = null;
      try { sock.close(); } catch (e) { /* ignore */ }
    }
    if (this.isUp) { this.isUp = false; this.o.onDown(); }
  }

  scheduleRetry() {
    if (this.retryTimer || !this.o.wanted()) return;
    const delay = Math.round(this.backoff * (0.9 + Math.random() * 0.2));
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX);
    this.retryTimer = setTimeout(() => { this.retryTimer = null; this.connect(); }, delay);
    this.o.onRetry();
  }

  /** Connects at once if the link is down (the network came back, the tab became visible). */
  reconnectNow() {
    if (this.isUp || this.ws) return;
    this.connect();
  }

  clearRetry() { if (this.retryTimer) { clearTimeout(this.retryTimer); this.retryTimer = null; } }
  clearOpenTimer() { if (this.openTimer) { clearTimeout(this.openTimer); this.openTimer = null; } }
}
