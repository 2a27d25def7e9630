// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// The page on any screen: fullscreen (button, `f`, double-click on the picture); controls that
// hide when the picture should have the whole screen (kiosk mode `?kiosk=1`, and a phone on its
// side) and come back while the pointer moves or after a tap; the key help (`?`); and the
// header's height as `--top-h`, which the phone layouts place the picture under.

const SHOW_MS = 3000;

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

export class Screen {
  /** @param {{kiosk: boolean}} o */
  constructor(o) {
    this.kiosk = o.kiosk;
    this.body = document.body;
    this.phoneSideways = window.matchMedia('(orientation: landscape) and (max-height: 500px)');
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.hideTimer = null;
    this.helpEl = $('help');
    /** @type {HTMLElement | null} where focus was before the help opened */
    this.helpReturn = null;
    this.body.classList.toggle('kiosk', this.kiosk);
    this.updateAutohide();
    this.phoneSideways.addEventListener('change', () => this.updateAutohide());

    const fs = $('fs');
    fs.addEventListener('click', () => this.toggleFullscreen());
    document.addEventListener('fullscreenchange', () => this.renderFullscreen());
    this.renderFullscreen();
    const view = $('view');
    view.addEventListener('dblclick', () => this.toggleFullscreen());
    // Controls come back with the pointer (kiosk) or a tap (phone on its side).
    document.addEventListener('pointermove', (e) => { if (e.pointerType === 'mouse') this.showControls(); });
    view.addEventListener('click', () => {
      if (!this.autohide) return;
      if (this.body.classList.contains('show-controls')) this.hideControls(); else this.showControls();
    });
    document.addEventListener('focusin', () => { if (this.autohide) this.showControls(); });

    $('helpbtn').addEventListener('click', () => this.toggleHelp());
    $('helpclose').addEventListener('click', () => this.closeHelp());

    const top = $('top');
    const measure = () => document.documentElement.style.setProperty('--top-h', top.offsetHeight + 'px');
    measure();
    try { new ResizeObserver(measure).observe(top); } catch (e) { window.addEventListener('resize', measure); }
  }

  /** Whether the controls hide by themselves. */
  get autohide() { return this.kiosk || this.phoneSideways.matches; }

  updateAutohide() {
    this.body.classList.toggle('autohide', this.autohide);
    if (this.autohide) this.showControls();
  }

  showControls() {
    if (!this.autohide) return;
    this.body.classList.add('show-controls');
    if (this.hideTimer) clearTimeout(this.hideTimer);
    this.hideTimer = setTimeout(() => this.hideControls(), SHOW_MS);
  }

  hideControls() {
    if (this.hideTimer) { clearTimeout(this.hideTimer); this.hideTimer = null; }
    // Not while the keyboard is in the controls: they would vanish under the user.
    const active = document.activeElement;
    if (active && active !== document.body && (active.closest('#top') || active.closest('#bar'))) {
      this.hideTimer = setTimeout(() => this.hideControls(), SHOW_MS);
      return;
    }
    this.body.classList.remove('show-controls');
  }

  toggleFullscreen() {
    try {
      if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
      else document.documentElement.requestFullscreen({ navigationUI: 'hide' }).catch(() => {});
    } catch (e) { /* no fullscreen here */ }
  }

  renderFullscreen() {
    const on = !!document.fullscreenElement;
    const fs = $('fs');
    fs.textContent = on ? 'Exit fullscreen' : 'Fullscreen';
    fs.setAttribute('aria-pressed', on ? 'true' : 'false');
    this.body.classList.toggle('fullscreen', on);
  }

  get helpOpen() { return !this.helpEl.hidden; }

  toggleHelp() { if (this.helpOpen) this.closeHelp(); else this.openHelp(); }

  openHelp() {
    this.helpReturn = /** @type {HTMLElement | null} */ (document.activeElement);
    this.helpEl.hidden = false;
    $('helpclose').focus();
  }

  closeHelp() {
    if (!this.helpOpen) return;
    this.helpEl.hidden = true;
    if (this.helpReturn && this.helpReturn.focus) this.helpReturn.focus();
    this.helpReturn = null;
  }
}
