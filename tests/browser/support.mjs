// SPDX-License-Identifier: MIT OR Apache-2.0
//
// What the browser tests start: `camwall fakecam`, `camwall run` and headless Chromium (Debian's
// `chromium`, driven by playwright-core), all on 127.0.0.1, and stopped again even when a test fails.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { readStamp } from './stamp.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const artifacts = path.join(repoRoot, 'tests', 'artifacts');

// The motion zones of `camwall::demo::fakecam_zones()`: the stamp strip never raises an alarm.
export const FAKECAM_ZONES = 'ignore:0,0.9609,1,1';

export function camwallBin() {
  const candidates = [
    process.env.CAMWALL_BIN,
    process.env.CARGO_TARGET_DIR && path.join(process.env.CARGO_TARGET_DIR, 'release', 'camwall'),
    path.join(repoRoot, 'target', 'release', 'camwall'),
  ].filter(Boolean);
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error(`no camwall binary (tried ${candidates.join(', ')}); run cargo build --release -p camwall`);
  }
  return found;
}

// Fails when axe-core finds a serious or critical violation in the page as it is now.
export async function assertAccessible(page, what) {
  assert.deepEqual(await axeViolations(page), [], `axe-core on ${what}`);
}

const children = new Set();
function killChildren() {
  for (const child of children) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killChildren();
    process.exit(1);
  });
}

const ANSI = /\x1b\[[0-9;]*m/g;

// A child process whose output is kept (for error messages) and scanned line by line.
class Child {
  constructor(name, args, { command = camwallBin(), env = process.env } = {}) {
    this.name = name;
    this.output = '';
    this.proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    children.add(this.proc);
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        children.delete(this.proc);
        resolve({ code, signal });
      });
      this.proc.on('error', (err) => {
        children.delete(this.proc);
        this.output += `spawn error: ${err.message}\n`;
        resolve({ code: null, signal: null, error: err });
      });
    });
    this.waiters = [];
    const onData = (chunk) => {
      this.output += chunk.toString().replace(ANSI, '');
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
      this.waiters = this.waiters.filter((w) => !w());
    };
    this.proc.stdout.on('data', onData);
    this.proc.stderr.on('data', onData);
  }

  // Resolves with the first match of `re` in the output; rejects after `ms` or when the process exits.
  waitFor(re, ms) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this.output.match(re);
        if (m) { clearTimeout(timer); resolve(m); return true; }
        return false;
      };
      const timer = setTimeout(() => {
        reject(new Error(`${this.name}: no ${re} within ${ms} ms; output:\n${this.output.slice(-4000)}`));
      }, ms);
      this.exited.then(({ code, signal }) => {
        if (!check()) {
          clearTimeout(timer);
          reject(new Error(`${this.name} exited (${code ?? signal}) before ${re}; output:\n${this.output.slice(-4000)}`));
        }
      });
      if (!check()) this.waiters.push(check);
    });
  }

  // SIGTERM, then SIGKILL if it has not gone within 5 s; `signal` SIGKILL kills at once.
  async stop(signal = 'SIGTERM') {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

// `camwall fakecam` with `cameras` cameras (640x360 unless told) on free ports.
export async function startFakecam(cameras = 3, { width = 640, height = 360 } = {}) {
  const child = new Child('fakecam', [
    'fakecam', '--port', '0', '--control-port', '0',
    '--width', String(width), '--height', String(height), '--cameras', String(cameras),
  ]);
  try {
    const control = (await child.waitFor(/^control\s+(http:\/\/\S+)\/cameras$/m, 30_000))[1];
    const urls = {};
    for (const m of child.output.matchAll(/^(cam\d+)\s+(rtsp:\/\/\S+)$/gm)) urls[m[1]] = m[2];
    return {
      child,
      control,
      urls,
      async post(camera, action) {
        const res = await fetch(`${control}/cameras/${camera}/${action}`, { method: 'POST' });
        if (!res.ok) throw new Error(`fakecam ${camera}/${action}: HTTP ${res.status}`);
        return res.json();
      },
      stop: () => child.stop(),
    };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

// The TOML for `camwall run` on fakecam's cameras; `listen` may use port 0.
export function camwallConfig(fakecam, { listen = '127.0.0.1:0', token = null, alarmHoldMs = 500, onOffline = null } = {}) {
  let text = `[server]\nlisten = "${listen}"\n`;
  if (token) text += `token = "${token}"\n`;
  text += `\n[selector]\nalarm_hold_ms = ${alarmHoldMs}\n`;
  if (onOffline) text += `on_offline = "${onOffline}"\n`;
  for (const [id, url] of Object.entries(fakecam.urls)) {
    text += `\n[[camera]]\nid = "${id}"\nname = "${id}"\nurl = "${url}"\ncodec = "h264"\n`;
    text += `[camera.motion]\nzones = "${FAKECAM_ZONES}"\n`;
  }
  return text;
}

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'camwall-browser-'));
process.on('exit', () => fs.rmSync(tmpRoot, { recursive: true, force: true }));

// `camwall run --config <temp file>`; resolves once it serves, with its address (`127.0.0.1:port`).
export async function startCamwall(configText) {
  const file = fs.mkdtempSync(path.join(tmpRoot, 'cfg-')) + '/camwall.toml';
  fs.writeFileSync(file, configText);
  const child = new Child('camwall', ['run', '--config', file]);
  try {
    const addr = (await child.waitFor(/camwall serving on http:\/\/(\S+?)\//, 30_000))[1];
    return { child, addr, base: `http://${addr}`, stop: (signal) => child.stop(signal) };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

// A free port on 127.0.0.1 (bound and let go).
export function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// mjpegwssink on its own in a gst-launch-1.0 pipeline (the plugin from the camwall binary's
// directory), serving its viewer page; resolves once the page answers, with its address.
export async function startSinkViewer() {
  const port = await freePort();
  const pluginDir = path.dirname(camwallBin());
  const child = new Child('gst-launch', [
    '-q', 'videotestsrc', 'is-live=true', 'pattern=ball', '!',
    'video/x-raw,width=320,height=240,framerate=15/1', '!', 'jpegenc', '!',
    'mjpegwssink', 'address=127.0.0.1', `port=${port}`,
  ], { command: 'gst-launch-1.0', env: { ...process.env, GST_PLUGIN_PATH: pluginDir } });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitUntil('the sink to serve its viewer', 30_000, async () => (await fetch(`${base}/`)).ok);
    return { child, base, stop: () => child.stop() };
  } catch (err) {
    await child.stop();
    throw new Error(`${err.message}\n${child.output}`);
  }
}

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// Headless Chromium with a fresh profile; every page gets the stamp recorder below.
// `bypassCSP` lets a test inject a checker (axe-core) into the page despite its policy.
// `hasTouch` makes it a touch screen (a phone's).
export async function launchBrowser({ bypassCSP = false, hasTouch = false } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(tmpRoot, 'chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
    ],
    viewport: { width: 1280, height: 720 },
    bypassCSP,
    hasTouch,
  });
  await context.addInitScript({ content: `(${recordDraws.toString()})(${readStamp.toString()});` });
  return context;
}

// Runs in the page before its own script: after every picture drawn on the page's canvas
// (#view), reads the stamp back from the canvas pixels of the drawn picture and records it with
// the time of the draw, in `window.__draws` (bounded). Clicks are recorded in `window.__clicks`,
// the page's WebSockets (created, open, first message) in `window.__sockets`.
function recordDraws(readStamp) {
  var draws = window.__draws = [];
  var clicks = window.__clicks = [];
  var drawImage = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function () {
    var result = drawImage.apply(this, arguments);
    try {
      if (this.canvas && this.canvas.id === 'view' && arguments.length === 5) {
        var t = performance.now();
        var dx = arguments[1], dy = arguments[2], dw = arguments[3], dh = arguments[4];
        // only the bottom strip is read; the reader sees it as an image `band` rows tall
        var band = Math.min(dh, Math.max(Math.ceil(dh / 16), 8));
        var px = this.getImageData(dx, dy + dh - band, dw, band).data;
        var stamp = readStamp(px, dw, dh, dh - band);
        draws.push({ t: t, at: Date.now(), camera: stamp ? stamp.camera : null, unixMs: stamp ? stamp.unixMs : null });
        if (draws.length > 5000) draws.splice(0, 1000);
      }
    } catch (e) { /* a reading failure is recorded as no stamp */ }
    return result;
  };
  // When the page's WebSocket opened and brought its first message, for the first-paint breakdown.
  var NativeWebSocket = window.WebSocket;
  var sockets = window.__sockets = [];
  window.WebSocket = function (url, protocols) {
    var ws = protocols === undefined ? new NativeWebSocket(url) : new NativeWebSocket(url, protocols);
    var rec = { url: String(url), created: performance.now(), open: null, firstMessage: null };
    sockets.push(rec);
    ws.addEventListener('open', function () { rec.open = performance.now(); });
    ws.addEventListener('message', function () { if (rec.firstMessage === null) rec.firstMessage = performance.now(); });
    return ws;
  };
  window.WebSocket.prototype = NativeWebSocket.prototype;
  ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'].forEach(function (k) { window.WebSocket[k] = NativeWebSocket[k]; });
  document.addEventListener('click', function (e) {
    var b = e.target && e.target.closest ? e.target.closest('.cam') : null;
    clicks.push({ t: performance.now(), camera: b ? b.getAttribute('data-camera-id') : null });
  }, true);
}

// Polls `fn` (async, returns truthy when done) every 50 ms; rejects with `what` after `ms`.
export async function waitUntil(what, ms, fn) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

// Records a figure: printed in the test output and collected in tests/artifacts/browser-figures.json.
const figures = {};
export function figure(name, value, unit) {
  // Each test file runs in its own process: the figures already written by the others stay.
  if (!Object.keys(figures).length) {
    try {
      Object.assign(figures, JSON.parse(fs.readFileSync(path.join(artifacts, 'browser-figures.json'), 'utf8')).figures);
    } catch { /* none yet */ }
  }
  figures[name] = { value, unit };
  const load = os.loadavg()[0].toFixed(2);
  console.log(`figure: ${name} = ${typeof value === 'number' ? value.toFixed(1) : value} ${unit} (load average ${load})`);
  fs.mkdirSync(artifacts, { recursive: true });
  fs.writeFileSync(path.join(artifacts, 'browser-figures.json'), JSON.stringify({
    load_average: os.loadavg().map((v) => Number(v.toFixed(2))), cpus: os.cpus().length, figures,
  }, null, 2) + '\n');
}

// The serious and critical accessibility violations axe-core finds in the page as it is now
// (the context must bypass the page's CSP to inject it), as `id: target` lines.
const AXE = path.join(here, 'node_modules', 'axe-core', 'axe.min.js');
export async function axeViolations(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
  return found;
}

// The fakecam stamps on the canvas of every tile in `selector`, as `{camera id: stamp camera index}`.
export function tileStamps(page, selector) {
  const body = function (sel, readStamp) {
    const out = {};
    for (const tile of document.querySelectorAll(sel)) {
      const c = tile.querySelector('canvas');
      if (!c || c.width < 108) continue;
      const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const s = readStamp(px, c.width, c.height, 0);
      out[tile.getAttribute('data-camera-id')] = s ? s.camera : null;
    }
    return out;
  };
  // One expression with the reader's source in it: no eval in the page, whatever its CSP.
  return page.evaluate(`(${body.toString()})(${JSON.stringify(selector)}, ${readStamp.toString()})`);
}
