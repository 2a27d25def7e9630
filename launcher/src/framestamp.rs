// SPDX-License-Identifier: MIT OR Apache-2.0

//! A machine-readable stamp burnt into each fakecam frame: the camera's index and the Unix time in
//! milliseconds when the frame was painted, as a row of large black and white cells along the
//! bottom edge. The cells are big enough to survive H.264 and JPEG compression and any scaling, so a
//! client that decodes the JPEG it received can read back the true camera-to-viewer latency without
//! guessing clocks (both ends run on the same machine).
//!
//! Layout, left to right, [`CELLS`] cells of equal width spanning the frame:
//! `white, black` (sync), 6 bits camera index, 42 bits Unix ms, 4 bits check (number of ones in
//! the 48 data bits, mod 16). Most significant bit first. White = 1.

/// Number of cells in the strip.
pub const CELLS: usize = 54;
const SYNC: usize = 2;
const CAMERA_BITS: usize = 6;
const TIME_BITS: usize = 42;
const CHECK_BITS: usize = 4;
const DATA_BITS: usize = CAMERA_BITS + TIME_BITS;

/// Luma written for a one and a zero (video range).
pub const LUMA_ONE: u8 = 235;
pub const LUMA_ZERO: u8 = 16;

/// What a stamp carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Index of the camera (0-based, < 64).
    pub camera: u8,
    /// Unix time in milliseconds when the frame was painted (< 2^42, year 2109).
    pub unix_ms: u64,
}

/// Height in rows of the strip for a frame `height` rows tall.
pub fn strip_height(height: usize) -> usize {
    (height / 32).clamp(4, height.max(1))
}

/// The fraction of the frame height the strip takes, for ignore zones in motion detection.
pub const STRIP_FRACTION: f64 = 1.0 / 32.0;

fn push_bits(bits: &mut Vec<bool>, value: u64, n: usize) {
    for i in (0..n).rev() {
        bits.push((value >> i) & 1 == 1);
    }
}

fn take_bits(bits: &[bool]) -> u64 {
    bits.iter().fold(0, |acc, &b| (acc << 1) | u64::from(b))
}

/// The cell values for a stamp.
pub fn encode(stamp: Stamp) -> [bool; CELLS] {
    let mut bits = Vec::with_capacity(CELLS);
    bits.extend([true, false]);
    push_bits(&mut bits, u64::from(stamp.camera & 0x3f), CAMERA_BITS);
    push_bits(&mut bits, stamp.unix_ms & ((1 << TIME_BITS) - 1), TIME_BITS);
    let ones = bits[SYNC..].iter().filter(|&&b| b).count() as u64;
    push_bits(&mut bits, ones % 16, CHECK_BITS);
    let mut out = [false; CELLS];
    out.copy_from_slice(&bits);
    out
}

/// Reads cell values back; `None` when the sync or the check does not match.
pub fn decode(cells: &[bool]) -> Option<Stamp> {
    if cells.len() != CELLS || cells[0..SYNC] != [true, false] {
        return None;
    }
    let data = &cells[SYNC..SYNC + DATA_BITS];
    let check = take_bits(&cells[SYNC + DATA_BITS..]);
    let ones = data.iter().filter(|&&b| b).count() as u64;
    if ones % 16 != check {
        return None;
    }
    Some(Stamp {
        camera: take_bits(&data[..CAMERA_BITS]) as u8,
        unix_ms: take_bits(&data[CAMERA_BITS..]),
    })
}

/// Horizontal extent `[x0, x1)` of cell `i` in a frame `width` pixels wide.
fn cell_span(i: usize, width: usize) -> (usize, usize) {
    (i * width / CELLS, (i + 1) * width / CELLS)
}

/// Paints the stamp into a luma plane (one byte per pixel, `stride` bytes per row).
pub fn paint_luma(plane: &mut [u8], stride: usize, width: usize, height: usize, stamp: Stamp) {
    let cells = encode(stamp);
    let sh = strip_height(height);
    for row in height.saturating_sub(sh)..height {
        let Some(line) = plane.get_mut(row * stride..row * stride + width) else {
            return;
        };
        for (i, &one) in cells.iter().enumerate() {
            let (x0, x1) = cell_span(i, width);
            line[x0..x1].fill(if one { LUMA_ONE } else { LUMA_ZERO });
        }
    }
}

/// Reads a stamp from any image, given a function that returns the luma (0..=255) at `(x, y)`.
/// Each cell is judged by the mean of a small block at its centre.
pub fn read(width: usize, height: usize, luma_at: impl Fn(usize, usize) -> u8) -> Option<Stamp> {
    if width < CELLS * 2 || height < 8 {
        return None;
    }
    let sh = strip_height(height);
    let yc = height - sh / 2 - 1;
    let mut cells = [false; CELLS];
    for (i, cell) in cells.iter_mut().enumerate() {
        let (x0, x1) = cell_span(i, width);
        let xc = (x0 + x1) / 2;
        let r = ((x1 - x0) / 4).clamp(0, 2);
        let (mut sum, mut n) = (0u32, 0u32);
        for y in yc.saturating_sub(r)..=(yc + r).min(height - 1) {
            for x in xc.saturating_sub(r)..=(xc + r).min(width - 1) {
                sum += u32::from(luma_at(x, y));
                n += 1;
            }
        }
        *cell = sum / n.max(1) >= 128;
    }
    decode(&cells)
}

/// Reads a stamp from a packed RGB or RGBA image (`channels` bytes per pixel).
pub fn read_rgb(pixels: &[u8], width: usize, height: usize, channels: usize) -> Option<Stamp> {
    if channels < 3 || pixels.len() < width * height * channels {
        return None;
    }
    read(width, height, |x, y| {
        let p = &pixels[(y * width + x) * channels..];
        ((u32::from(p[0]) * 77 + u32::from(p[1]) * 150 + u32::from(p[2]) * 29) >> 8) as u8
    })
}

/// Reads a stamp from a luma plane.
pub fn read_luma(plane: &[u8], stride: usize, width: usize, height: usize) -> Option<Stamp> {
    if plane.len() < stride * (height - 1) + width {
        return None;
    }
    read(width, height, |x, y| plane[y * stride + x])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for stamp in [
            Stamp {
                camera: 0,
                unix_ms: 0,
            },
            Stamp {
                camera: 63,
                unix_ms: (1 << 42) - 1,
            },
            Stamp {
                camera: 3,
                unix_ms: 1_795_000_123_456,
            },
        ] {
            assert_eq!(decode(&encode(stamp)), Some(stamp));
        }
    }

    #[test]
    fn a_flipped_cell_is_caught() {
        let mut cells = encode(Stamp {
            camera: 2,
            unix_ms: 1_795_000_000_000,
        });
        cells[20] = !cells[20];
        assert_eq!(decode(&cells), None);
        let mut cells = encode(Stamp {
            camera: 2,
            unix_ms: 1,
        });
        cells[0] = false;
        assert_eq!(decode(&cells), None);
    }

    #[test]
    fn painted_plane_reads_back_even_when_noisy_and_scaled() {
        let (w, h) = (640, 360);
        let mut plane = vec![100u8; w * h];
        let stamp = Stamp {
            camera: 5,
            unix_ms: 1_795_000_987_654,
        };
        paint_luma(&mut plane, w, w, h, stamp);
        assert_eq!(read_luma(&plane, w, w, h), Some(stamp));

        // Compression-like noise of +-40 keeps the reading.
        let noisy: Vec<u8> = plane
            .iter()
            .enumerate()
            .map(|(i, &v)| (i32::from(v) + ((i * 7919) % 81) as i32 - 40).clamp(0, 255) as u8)
            .collect();
        assert_eq!(read_luma(&noisy, w, w, h), Some(stamp));

        // Nearest-neighbour downscale to half size, as an RGB image.
        let (w2, h2) = (w / 2, h / 2);
        let mut rgb = vec![0u8; w2 * h2 * 3];
        for y in 0..h2 {
            for x in 0..w2 {
                let v = plane[(y * 2) * w + x * 2];
                rgb[(y * w2 + x) * 3..][..3].fill(v);
            }
        }
        assert_eq!(read_rgb(&rgb, w2, h2, 3), Some(stamp));
    }

    #[test]
    fn an_unstamped_image_reads_nothing() {
        let plane = vec![128u8; 320 * 240];
        assert_eq!(read_luma(&plane, 320, 320, 240), None);
        assert_eq!(read_luma(&plane, 320, 20, 2), None);
        assert_eq!(read_rgb(&[0u8; 10], 320, 240, 3), None);
    }
}
