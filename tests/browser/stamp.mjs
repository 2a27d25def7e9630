// SPDX-License-Identifier: MIT OR Apache-2.0
//
// Reads the fakecam capture-time stamp from RGBA pixels, the same way as
// `camwall::framestamp::read` (launcher/src/framestamp.rs): 54 equal cells across the bottom strip,
// `white, black` sync, 6 bits camera index, 42 bits Unix ms, 4 bits check (ones in the 48 data bits,
// mod 16), most significant bit first, white = 1. Each cell is judged by the mean luma of a small
// block at its centre.
//
// `rgba` may hold only the rows from `top` down to the bottom of the picture (`height` rows in
// all), so a caller can read back just the strip.
//
// `readStamp` is self-contained (no closures, no imports) so the tests can also run it inside the
// page, on the pixels the page drew on its canvas.

export function readStamp(rgba, width, height, top) {
  var CELLS = 54, SYNC = 2, CAMERA_BITS = 6, TIME_BITS = 42, CHECK_BITS = 4;
  top = top || 0;
  if (width < CELLS * 2 || height < 8 || top < 0 || rgba.length < width * (height - top) * 4) return null;
  var sh = Math.min(Math.max(Math.floor(height / 32), 4), Math.max(height, 1));
  var yc = height - Math.floor(sh / 2) - 1;
  if (yc - 2 < top) return null;
  var cells = [];
  for (var i = 0; i < CELLS; i++) {
    var x0 = Math.floor(i * width / CELLS), x1 = Math.floor((i + 1) * width / CELLS);
    var xc = Math.floor((x0 + x1) / 2);
    var r = Math.min(Math.floor((x1 - x0) / 4), 2);
    var sum = 0, n = 0;
    for (var y = Math.max(yc - r, 0); y <= Math.min(yc + r, height - 1); y++) {
      for (var x = Math.max(xc - r, 0); x <= Math.min(xc + r, width - 1); x++) {
        var p = ((y - top) * width + x) * 4;
        sum += (rgba[p] * 77 + rgba[p + 1] * 150 + rgba[p + 2] * 29) >> 8;
        n++;
      }
    }
    cells.push(Math.floor(sum / Math.max(n, 1)) >= 128);
  }
  if (!cells[0] || cells[1]) return null;
  function take(from, count) {
    var v = 0;
    for (var k = from; k < from + count; k++) v = v * 2 + (cells[k] ? 1 : 0);
    return v;
  }
  var ones = 0;
  for (var j = SYNC; j < SYNC + CAMERA_BITS + TIME_BITS; j++) if (cells[j]) ones++;
  if (ones % 16 !== take(SYNC + CAMERA_BITS + TIME_BITS, CHECK_BITS)) return null;
  return { camera: take(SYNC, CAMERA_BITS), unixMs: take(SYNC + CAMERA_BITS, TIME_BITS) };
}

// Paints a stamp into RGBA pixels like the fakecam does (for the reader's own tests).
export function paintStamp(rgba, width, height, camera, unixMs) {
  var CELLS = 54;
  var bits = [true, false];
  for (var i = 5; i >= 0; i--) bits.push(Math.floor(camera / 2 ** i) % 2 === 1);
  for (var k = 41; k >= 0; k--) bits.push(Math.floor(unixMs / 2 ** k) % 2 === 1);
  var ones = bits.slice(2).filter(Boolean).length % 16;
  for (var c = 3; c >= 0; c--) bits.push(Math.floor(ones / 2 ** c) % 2 === 1);
  var sh = Math.min(Math.max(Math.floor(height / 32), 4), height);
  for (var y = height - sh; y < height; y++) {
    for (var cell = 0; cell < CELLS; cell++) {
      var x0 = Math.floor(cell * width / CELLS), x1 = Math.floor((cell + 1) * width / CELLS);
      var v = bits[cell] ? 235 : 16;
      for (var x = x0; x < x1; x++) rgba.fill(v, (y * width + x) * 4, (y * width + x) * 4 + 3);
    }
  }
}
