// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// The bar of camera buttons: one per camera, in the API's order, with its key (1-9), its state
// (and why it is down, in words), its alarm, and whether it is on screen or the user's choice
// waiting behind an alarm or a stand-in. Buttons are made once per camera list and updated in
// place, so a click is never lost to a redraw.

/** @typedef {import('../model.js').Model} Model */
/** @typedef {import('../model.js').Camera} Camera */

/** @param {Element} el @param {string} k @param {string} v */
function setAttr(el, k, v) { if (el.getAttribute(k) !== v) el.setAttribute(k, v); }
/** @param {Element} el @param {string} v */
export function setText(el, v) { if (el.textContent !== v) el.textContent = v; }
export { setAttr };

/** @typedef {HTMLButtonElement & {_parts: {key: HTMLElement, name: HTMLElement, st: HTMLElement}}} CameraButton */

export class CameraBar {
  /**
   * @param {HTMLElement} bar
   * @param {Model} model
   * @param {(id: string) => void} onSelect
   */
  constructor(bar, model, onSelect) {
    this.bar = bar;
    this.model = model;
    this.onSelect = onSelect;
    /** @type {Record<string, CameraButton>} */
    this.byId = Object.create(null);
    /** @type {string | null} the camera list the buttons were made for */
    this.key = null;
  }

  /** @param {Camera} c @returns {CameraButton} */
  makeButton(c) {
    const b = /** @type {CameraButton} */ (document.createElement('button'));
    b.type = 'button';
    b.className = 'cam';
    b.setAttribute('data-camera-id', c.id);
    /** @param {string} cls */
    const span = (cls) => { const s = document.createElement('span'); s.className = cls; return s; };
    const key = span('key'), dot = span('dot'), name = span('name'), st = span('st'), al = span('al');
    al.textContent = 'ALARM';
    b.append(key, dot, name, st, al);
    b._parts = { key, name, st };
    b.addEventListener('click', () => this.onSelect(/** @type {string} */ (b.getAttribute('data-camera-id'))));
    return b;
  }

  render() {
    const { model } = this;
    const cams = model.cameras;
    const key = cams.map((c) => c.id).join('\u0000');
    if (key !== this.key || !cams.length) {
      this.key = key;
      this.byId = Object.create(null);
      this.bar.textContent = '';
      if (!cams.length) {
        const empty = document.createElement('span');
        empty.className = 'empty';
        empty.textContent = model.camError ? ('cameras unavailable: ' + model.camError) : 'no cameras';
        this.bar.appendChild(empty);
        return;
      }
      for (const c of cams) {
        const b = this.makeButton(c);
        this.byId[c.id] = b;
        this.bar.appendChild(b);
      }
    }
    const sel = model.selection;
    cams.forEach((c, i) => {
      const b = this.byId[c.id];
      if (!b) return;
      const selected = sel ? (sel.camera === c.id) : c.selected;
      setAttr(b, 'data-state', c.state);
      setAttr(b, 'data-alarm', c.alarm ? 'true' : 'false');
      const snoozed = typeof c.snoozed_until === 'number' && c.snoozed_until > Date.now();
      setAttr(b, 'data-snoozed', snoozed ? 'true' : 'false');
      setAttr(b, 'data-selected', selected ? 'true' : 'false');
      setAttr(b, 'aria-pressed', selected ? 'true' : 'false');
      b.classList.toggle('pending', model.pendingSelect === c.id);
      // the user's choice while an alarm or a stand-in is on screen
      b.classList.toggle('userchoice', !!(sel && sel.user_choice === c.id && !selected));
      setText(b._parts.key, i < 9 ? String(i + 1) : '\u00b7');
      setText(b._parts.name, c.name);
      // Down: say why, in words; the tooltip has the camera's own message.
      setText(b._parts.st, c.state !== 'live' && c.error ? c.state + ': ' + c.error.words : c.state);
      let tip = c.name + ' (' + c.id + ') \u2014 ' + c.state + (c.alarm ? ', ALARM' : '');
      if (snoozed) tip += ', snoozed until ' + new Date(/** @type {number} */ (c.snoozed_until)).toLocaleTimeString();
      if (c.state !== 'live' && c.error) tip += ' (' + c.error.words + ': ' + c.error.message + ')';
      if (typeof c.width === 'number' && typeof c.height === 'number') tip += ', ' + c.width + '\u00d7' + c.height;
      if (typeof c.fps === 'number') tip += ', ' + c.fps + ' fps';
      if (typeof c.last_frame_age_ms === 'number') tip += ', last frame ' + c.last_frame_age_ms + ' ms ago';
      if (i < 9) tip += ' \u2014 key ' + (i + 1);
      setAttr(b, 'title', tip);
    });
  }
}
