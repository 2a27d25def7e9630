// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// The page's keys (the help dialog, `?`, lists them): 1-9 and the arrows pick a camera, `g` the
// grid, `a` acknowledges, `e` the event list, `f` fullscreen, `i` the figures, Esc closes. Keys
// typed into a field, or with a modifier, are the browser's.

/**
 * @typedef {object} KeyActions
 * @property {() => boolean} blocked      a dialog that takes every key is open
 * @property {() => boolean} helpOpen
 * @property {() => void} escape
 * @property {() => void} help
 * @property {() => void} hud
 * @property {() => void} ack
 * @property {() => void} grid
 * @property {() => void} events
 * @property {() => void} fullscreen
 * @property {(index: number) => boolean} nth   picks the camera at `index`; false if none
 * @property {(step: number) => void} step      the camera `step` places after the one shown
 * @property {() => boolean} arrowsAreFocus     arrows move the focus instead (the grid's tiles)
 */

const STEPS = /** @type {Record<string, number>} */ ({ ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 });

/** @param {KeyActions} a */
export function installKeys(a) {
  document.addEventListener('keydown', (e) => {
    try {
      if (e.ctrlKey || e.metaKey || e.altKey || a.blocked()) return;
      const target = /** @type {HTMLElement | null} */ (e.target);
      const tag = target && target.tagName;
      if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT') return;
      const k = e.key;
      if (k === 'Escape') { a.escape(); return; }
      if (k === '?') { a.help(); return; }
      if (a.helpOpen() || e.repeat) return;
      switch (k.length === 1 ? k.toLowerCase() : k) {
        case 'i': a.hud(); return;
        case 'a': a.ack(); return;
        case 'g': a.grid(); return;
        case 'e': a.events(); return;
        case 'f': a.fullscreen(); return;
        default: break;
      }
      if (k.length === 1 && k >= '1' && k <= '9') {
        if (a.nth(k.charCodeAt(0) - 49)) e.preventDefault();
        return;
      }
      const step = STEPS[k];
      if (step && !(tag === 'BUTTON' && a.arrowsAreFocus())) {
        e.preventDefault();
        a.step(step);
      }
    } catch (err) { /* ignore */ }
  });
}
