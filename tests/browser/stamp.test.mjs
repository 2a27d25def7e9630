// SPDX-License-Identifier: MIT OR Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readStamp, paintStamp } from './stamp.mjs';

function image(width, height, grey) {
  const rgba = new Uint8ClampedArray(width * height * 4).fill(grey);
  return rgba;
}

test('a painted stamp reads back, also after a 2x upscale', () => {
  const [w, h] = [640, 360];
  const rgba = image(w, h, 100);
  paintStamp(rgba, w, h, 5, 1795000987654);
  assert.deepEqual(readStamp(rgba, w, h), { camera: 5, unixMs: 1795000987654 });
  const up = new Uint8ClampedArray(w * 2 * h * 2 * 4);
  for (let y = 0; y < h * 2; y++) {
    for (let x = 0; x < w * 2; x++) {
      const s = ((y >> 1) * w + (x >> 1)) * 4;
      up.set(rgba.subarray(s, s + 4), (y * w * 2 + x) * 4);
    }
  }
  assert.deepEqual(readStamp(up, w * 2, h * 2), { camera: 5, unixMs: 1795000987654 });
});

test('a flipped cell or no stamp reads nothing', () => {
  const [w, h] = [640, 360];
  const rgba = image(w, h, 100);
  paintStamp(rgba, w, h, 2, 1795000000000);
  // flip cell 20 (a time bit) across the whole strip
  const x0 = Math.floor(20 * w / 54), x1 = Math.floor(21 * w / 54);
  for (let y = h - 11; y < h; y++) {
    for (let x = x0; x < x1; x++) {
      const p = (y * w + x) * 4;
      const v = rgba[p] > 128 ? 16 : 235;
      rgba.fill(v, p, p + 3);
    }
  }
  assert.equal(readStamp(rgba, w, h), null);
  assert.equal(readStamp(image(w, h, 128), w, h), null);
  assert.equal(readStamp(image(20, 2, 0), 20, 2), null);
});

test('the strip alone reads back when the rows above it are left out', () => {
  const [w, h] = [1280, 720];
  const rgba = image(w, h, 60);
  paintStamp(rgba, w, h, 1, 1795000123456);
  const top = h - 45;
  const strip = rgba.subarray(top * w * 4);
  assert.deepEqual(readStamp(strip, w, h, top), { camera: 1, unixMs: 1795000123456 });
  assert.equal(readStamp(strip, w, h, h - 5), null, 'a band too thin to hold the read block');
});
