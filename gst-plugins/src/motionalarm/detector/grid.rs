// SPDX-License-Identifier: MIT OR Apache-2.0

//! Where the detector's grid samples the frame, and how a row of samples is read (the hot
//! loop); the median helpers of the global fit.

use super::*;

/// Where the grid's samples are read from, for one frame geometry.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Grid {
    pub(super) src_width: usize,
    pub(super) src_height: usize,
    pub(super) stride: usize,
    pub(super) layout: PixelLayout,
    pub(super) requested_width: usize,
    pub(super) width: usize,
    pub(super) height: usize,
    /// Byte offset of each column's first sample inside a row.
    pub(super) col_offsets: Vec<usize>,
    /// Bytes from one column's first sample to the next when that distance is the same for
    /// every column and at least 4 (always, for widths that are a multiple of the grid's).
    pub(super) col_step: Option<usize>,
    /// Byte offset of each row's first sample.
    pub(super) row_offsets: Vec<usize>,
    /// Pixels averaged per cell, along a row: 4, or fewer when cells are narrower.
    pub(super) run: usize,
    pub(super) pixel_stride: usize,
    pub(super) needed_len: usize,
}

/// First pixel of a `box_len` box centred in each of `cells` equal parts of `len` pixels.
pub(super) fn sample_starts(len: usize, cells: usize, box_len: usize) -> Vec<usize> {
    (0..cells)
        .map(|i| {
            let centre = ((2 * i + 1) * len) / (2 * cells);
            centre.saturating_sub(box_len / 2).min(len - box_len)
        })
        .collect()
}

impl Grid {
    pub(super) fn new(frame: &LumaFrame, requested_width: usize) -> Result<Grid, FrameError> {
        let (w, h) = (frame.width, frame.height);
        if w == 0 || h == 0 {
            return Err(FrameError::Empty {
                width: w,
                height: h,
            });
        }
        let ps = frame.layout.pixel_stride().max(1);
        let row = (w - 1) * ps + frame.layout.last_byte() + 1;
        if frame.stride < row {
            return Err(FrameError::Stride {
                stride: frame.stride,
                row,
            });
        }
        let gw = requested_width.clamp(1, w);
        let gh = ((h * gw + w / 2) / w).clamp(1, h);
        let run = match w / gw {
            0 | 1 => 1,
            2 | 3 => 2,
            _ => 4,
        };
        let col_offsets: Vec<usize> = sample_starts(w, gw, run)
            .into_iter()
            .map(|x| x * ps)
            .collect();
        let col_step = match col_offsets.as_slice() {
            [first, second, ..] => {
                let step = second - first;
                let regular = col_offsets.windows(2).all(|pair| pair[1] - pair[0] == step);
                (regular && step >= 4).then_some(step)
            }
            _ => None,
        };
        let row_offsets: Vec<usize> = sample_starts(h, gh, 1)
            .into_iter()
            .map(|y| y * frame.stride)
            .collect();
        let needed_len = row_offsets.last().copied().unwrap_or(0)
            + col_offsets.last().copied().unwrap_or(0)
            + (run - 1) * ps
            + frame.layout.last_byte()
            + 1;
        Ok(Grid {
            src_width: w,
            src_height: h,
            stride: frame.stride,
            layout: frame.layout,
            requested_width,
            width: gw,
            height: gh,
            col_offsets,
            col_step,
            row_offsets,
            run,
            pixel_stride: ps,
            needed_len,
        })
    }

    pub(super) fn matches(&self, frame: &LumaFrame, requested_width: usize) -> bool {
        self.src_width == frame.width
            && self.src_height == frame.height
            && self.stride == frame.stride
            && self.layout == frame.layout
            && self.requested_width == requested_width
    }

    pub(super) fn cells(&self) -> usize {
        self.width * self.height
    }

    /// Fills `out` with the mean luma of each cell's run of pixels.
    #[inline(always)]
    pub(super) fn sample(&self, data: &[u8], out: &mut [f32]) {
        let (run, ps) = (self.run, self.pixel_stride);
        let span = self.col_offsets.last().copied().unwrap_or(0) + run * ps + 4;
        // Each sampled row is a new stream the hardware prefetcher has not seen; asking for
        // the next one while this one is read hides most of the memory latency.
        let next_rows = self.row_offsets.iter().skip(1).map(Some).chain([None]);
        let rows = out
            .chunks_exact_mut(self.width)
            .zip(&self.row_offsets)
            .zip(next_rows)
            .map(|((out_row, ro), next)| {
                if let Some(&next) = next {
                    prefetch(data, next, span);
                }
                (out_row, ro)
            });
        match self.layout {
            PixelLayout::Luma { offset, .. } if run == 4 && ps == 1 && self.col_step.is_some() => {
                // The usual case (planar YUV, GRAY8 at a width that is a multiple of the
                // grid's): evenly spaced runs of four adjacent bytes.
                let step = self.col_step.unwrap_or(4);
                let first = self.col_offsets[0];
                let len = step * (self.width - 1) + 4;
                for (out_row, &ro) in rows {
                    let start = ro + offset + first;
                    let row = &data[start..start + len];
                    match step {
                        8 => sample_regular_row(row, 8, out_row),
                        12 => sample_regular_row(row, 12, out_row),
                        4 => sample_regular_row(row, 4, out_row),
                        6 => sample_regular_row(row, 6, out_row),
                        _ => sample_regular_row(row, step, out_row),
                    }
                }
            }
            PixelLayout::Luma { offset, .. } if run == 4 && ps == 1 => {
                // Unevenly spaced runs of four adjacent bytes.
                for (out_row, &ro) in rows {
                    let row = &data[ro + offset..];
                    for (o, &co) in out_row.iter_mut().zip(&self.col_offsets) {
                        *o = mean4(&row[co..]);
                    }
                }
            }
            PixelLayout::Luma { offset, .. } => {
                let scale = 1.0 / run as f32;
                for (out_row, &ro) in rows {
                    let row = &data[ro + offset..];
                    for (o, &co) in out_row.iter_mut().zip(&self.col_offsets) {
                        // A plain loop: an iterator sum here is left as a call per cell.
                        let mut sum = 0u32;
                        for k in 0..run {
                            sum += u32::from(row[co + k * ps]);
                        }
                        *o = sum as f32 * scale;
                    }
                }
            }
            PixelLayout::Luma16 { offset, shift, .. } => {
                // Summed as words; the scale takes the bits below the top 8 away (a power of
                // two: exact in floating point).
                let scale = 1.0 / (run << shift) as f32;
                for (out_row, &ro) in rows {
                    let row = &data[ro + offset..];
                    for (o, &co) in out_row.iter_mut().zip(&self.col_offsets) {
                        let mut sum = 0u32;
                        for k in 0..run {
                            let p = co + k * ps;
                            sum += u32::from(u16::from_le_bytes([row[p], row[p + 1]]));
                        }
                        *o = sum as f32 * scale;
                    }
                }
            }
            PixelLayout::Rgb { r, g, b, .. } => {
                // BT.601 luma in 8-bit fixed point (weights sum to 256).
                let scale = 1.0 / (256 * run) as f32;
                for (out_row, &ro) in rows {
                    let row = &data[ro..];
                    for (o, &co) in out_row.iter_mut().zip(&self.col_offsets) {
                        let mut sum = 0u32;
                        for k in 0..run {
                            let p = co + k * ps;
                            sum += 77 * u32::from(row[p + r])
                                + 150 * u32::from(row[p + g])
                                + 29 * u32::from(row[p + b]);
                        }
                        *o = sum as f32 * scale;
                    }
                }
            }
        }
    }
}

/// Mean of the four bytes at the start of `bytes`, read as one word and summed two at a time
/// inside it.
#[inline(always)]
pub(super) fn mean4(bytes: &[u8]) -> f32 {
    let four = u32::from_le_bytes(*bytes.first_chunk().expect("four bytes"));
    let pairs = (four & 0x00ff_00ff) + ((four >> 8) & 0x00ff_00ff);
    let sum = (pairs & 0xffff) + (pairs >> 16);
    sum as f32 * 0.25
}

/// Means of runs of four bytes `step` (at least 4) bytes apart, starting at `row[0]`; `row`
/// ends with the last run. Always inlined, so a constant `step` makes a loop of its own with
/// no bounds checks.
#[inline(always)]
pub(super) fn sample_regular_row(row: &[u8], step: usize, out: &mut [f32]) {
    let (last, body) = out.split_last_mut().expect("a grid row has cells");
    for (o, cell) in body.iter_mut().zip(row.chunks_exact(step)) {
        *o = mean4(cell);
    }
    *last = mean4(&row[row.len() - 4..]);
}

/// Calls `f` with the index of every non-zero byte of `flags`, in order, looking at eight
/// bytes at a time: the changed or pulsing cells of a grid are few, and mostly in a few rows.
#[inline(always)]
pub(super) fn for_each_set(flags: &[u8], mut f: impl FnMut(usize)) {
    let mut words = flags.chunks_exact(8);
    let mut base = 0;
    for word in &mut words {
        let mut bits = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        while bits != 0 {
            let at = bits.trailing_zeros() as usize / 8;
            f(base + at);
            bits &= !(0xff << (at * 8));
        }
        base += 8;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        if b != 0 {
            f(base + i);
        }
    }
}

/// Hints the CPU to start loading `data[start..start + len]` into the cache.
#[inline(always)]
pub(super) fn prefetch(data: &[u8], start: usize, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let end = start.saturating_add(len).min(data.len());
        let mut at = start;
        while at < end {
            // SAFETY: `at < data.len()`, so the pointer is inside `data`; a prefetch never
            // faults nor changes memory anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(data.as_ptr().add(at).cast()) };
            at += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, start, len);
}

/// `value` put into `0.0..=max` and truncated to an integer, for `max` up to 65535.
/// Unlike `as`, which must saturate and keeps a loop from running in vector registers, this
/// is one instruction after the bounds; unlike `clamp`, `max` and `min` turn NaN into a bound.
#[inline(always)]
pub(super) fn bounded_index(value: f32, max: f32) -> u32 {
    debug_assert!((0.0..=65535.0).contains(&max));
    let value = value.max(0.0).min(max);
    // SAFETY: `value` is within 0.0..=65535.0, so it is finite and its truncation fits an
    // `i32`.
    let index: i32 = unsafe { value.to_int_unchecked() };
    index as u32
}

/// Median of a histogram of differences (bin `i` holds difference `i - 255`).
#[inline(always)]
pub(super) fn histogram_median(hist: &[u32], count: u32) -> f32 {
    let half = count.div_ceil(2);
    let mut seen = 0;
    for (i, &n) in hist.iter().enumerate() {
        seen += n;
        if seen >= half {
            return i as f32 - 255.0;
        }
    }
    0.0
}
