// SPDX-License-Identifier: MIT OR Apache-2.0
// @ts-check
//
// The event list: alarms, acknowledges, snoozes and camera outages, newest first, each with the
// picture camwall kept of it (`/api/events/picture.jpg`) and its time; loaded from the history
// (`/api/events/history?type=...`) and kept live from the sockets' events. A click shows that
// camera.

/** @typedef {import('../model.js').Model} Model */

const KEEP = 200;
export const EVENT_TYPES = 'alarm,ack,snooze,camera';

/**
 * One entry. @typedef {object} Entry
 * @property {string} key
 * @property {string} type
 * @property {string} camera
 * @property {number} ts
 * @property {string} text
 * @property {boolean} pictured   whether camwall keeps a picture of it
 */

/**
 * What an event says, in words; null for events the list does not show (an alarm's end, a
 * camera coming back, a wall's switch).
 * @param {any} m @param {Model} model @returns {Entry | null}
 */
export function entryOf(m, model) {
  if (!m || typeof m !== 'object' || typeof m.camera !== 'string' || typeof m.ts !== 'number') return null;
  const name = model.label(m.camera);
  const by = typeof m.by === 'string' && m.by ? ' by ' + m.by : '';
  let text, pictured = true;
  switch (m.type) {
    case 'alarm':
      if (m.active !== true) return null;
      text = 'Alarm on ' + name + (m.snoozed ? ' (snoozed)' : '');
      break;
    case 'ack':
      text = 'Alarm on ' + name + ' acknowledged' + by;
      break;
    case 'snooze':
      if (typeof m.until === 'number') {
        text = name + ' snoozed until ' + new Date(m.until).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) + by;
      } else {
        text = name + ' woken' + by;
        pictured = false;
      }
      break;
    case 'camera':
      if (m.state !== 'offline') return null;
      text = name + ' went offline';
      if (m.error && typeof m.error.kind === 'string') text += ': ' + m.error.kind.replace(/_/g, ' ');
      break;
    default:
      return null;
  }
  return { key: m.type + '|' + m.camera + '|' + m.ts, type: m.type, camera: m.camera, ts: m.ts, text, pictured };
}

/** @param {number} ts */
function timeText(ts) {
  const d = new Date(ts);
  const today = new Date().toDateString() === d.toDateString();
  const t = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return today ? t : d.toLocaleDateString([], { month: 'short', day: 'numeric' }) + ' ' + t;
}

export class EventList {
  /**
   * @param {HTMLElement} list
   * @param {HTMLElement} empty
   * @param {Model} model
   * @param {{token: string | null, onShow: (camera: string) => void}} o
   */
  constructor(list, empty, model, o) {
    this.list = list;
    this.empty = empty;
    this.model = model;
    this.o = o;
    /** @type {Entry[]} newest first */
    this.entries = [];
    /** @type {Set<string>} */
    this.keys = new Set();
    this.dirty = true;
    /** @type {Map<string, HTMLLIElement>} the entries' elements, made once each */
    this.els = new Map();
  }

  /** @param {any[]} history  oldest first, as the API gives it */
  load(history) {
    for (const m of history) this.add(m, false);
    this.dirty = true;
  }

  /** @param {any} m @param {boolean} [live] */
  add(m, live = true) {
    const e = entryOf(m, this.model);
    if (!e || this.keys.has(e.key)) return false;
    this.keys.add(e.key);
    // Kept newest first whatever order they come in (history and live events may cross).
    let i = 0;
    while (i < this.entries.length && this.entries[i].ts > e.ts) i++;
    this.entries.splice(i, 0, e);
    while (this.entries.length > KEEP) {
      const gone = this.entries.pop();
      if (gone) this.keys.delete(gone.key);
    }
    this.dirty = true;
    return live;
  }

  /** @param {Entry} e */
  pictureUrl(e) {
    const q = new URLSearchParams({ camera: e.camera, ts: String(e.ts) });
    if (this.o.token) q.set('token', this.o.token);
    return '/api/events/picture.jpg?' + q.toString();
  }

  render() {
    if (!this.dirty) return;
    this.dirty = false;
    const items = this.entries.map((e) => {
      const made = this.els.get(e.key);
      if (made) return made;
      const li = document.createElement('li');
      li.setAttribute('data-type', e.type);
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'event';
      b.setAttribute('data-camera-id', e.camera);
      b.title = 'show ' + this.model.label(e.camera);
      if (e.pictured) {
        const img = document.createElement('img');
        img.alt = '';
        img.loading = 'lazy';
        img.decoding = 'async';
        img.width = 96; img.height = 54;
        img.src = this.pictureUrl(e);
        // No picture kept (none yet, or long ago): the entry stays, without one.
        img.addEventListener('error', () => { img.replaceWith(placeholder()); }, { once: true });
        b.appendChild(img);
      } else {
        b.appendChild(placeholder());
      }
      const text = document.createElement('span'); text.className = 'what'; text.textContent = e.text;
      const time = document.createElement('time');
      time.dateTime = new Date(e.ts).toISOString();
      time.textContent = timeText(e.ts);
      b.append(text, time);
      b.addEventListener('click', () => this.o.onShow(e.camera));
      li.appendChild(b);
      this.els.set(e.key, li);
      return li;
    });
    for (const k of this.els.keys()) if (!this.keys.has(k)) this.els.delete(k);
    this.list.replaceChildren(...items);
    this.empty.hidden = items.length > 0;
  }
}

function placeholder() {
  const s = document.createElement('span');
  s.className = 'nopic';
  s.setAttribute('aria-hidden', 'true');
  return s;
}
