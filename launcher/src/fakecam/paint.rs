// SPDX-License-Identifier: MIT OR Apache-2.0

//! What fakecam paints over each camera's test pattern: the moving object and the frame stamp.
//! Works on I420 planes; knows nothing of GStreamer.

use std::time::Duration;

use crate::framestamp::{self, Stamp};

/// Mutable I420 planes of one frame.
pub struct I420<'a> {
    pub width: usize,
    pub height: usize,
    pub y: &'a mut [u8],
    pub y_stride: usize,
    pub u: &'a mut [u8],
    pub u_stride: usize,
    pub v: &'a mut [u8],
    pub v_stride: usize,
}

/// How long the object takes to cross the frame and come back.
const CROSSING: Duration = Duration::from_secs(3);

/// Top-left corner and side of the moving object at `t`: a square a quarter of the frame high,
/// bouncing left and right across the middle of the picture.
pub fn object_rect(width: usize, height: usize, t: Duration) -> (usize, usize, usize) {
    let side = (height / 4).max(2) & !1;
    let travel = width.saturating_sub(side);
    let phase = (t.as_secs_f64() / CROSSING.as_secs_f64()).fract();
    let tri = if phase < 0.5 {
        phase * 2.0
    } else {
        2.0 - phase * 2.0
    };
    let x = ((travel as f64 * tri) as usize) & !1;
    let y = (height.saturating_sub(side) / 2) & !1;
    (x, y, side)
}

/// Paints a black-and-white checkered square: high contrast against any background.
pub fn paint_object(f: &mut I420<'_>, t: Duration) {
    let (x0, y0, side) = object_rect(f.width, f.height, t);
    let half = side / 2;
    for dy in 0..side.min(f.height - y0) {
        let row = (y0 + dy) * f.y_stride;
        for dx in 0..side.min(f.width - x0) {
            let white = (dx < half) == (dy < half);
            f.y[row + x0 + dx] = if white { 235 } else { 16 };
        }
    }
    neutral_chroma(f, x0, y0, side, side);
}

fn neutral_chroma(f: &mut I420<'_>, x0: usize, y0: usize, w: usize, h: usize) {
    let (cw, ch) = (f.width.div_ceil(2), f.height.div_ceil(2));
    let (cx0, cy0) = (x0 / 2, y0 / 2);
    let (cx1, cy1) = (
        ((x0 + w).div_ceil(2)).min(cw),
        ((y0 + h).div_ceil(2)).min(ch),
    );
    for cy in cy0..cy1 {
        f.u[cy * f.u_stride + cx0..cy * f.u_stride + cx1].fill(128);
        f.v[cy * f.v_stride + cx0..cy * f.v_stride + cx1].fill(128);
    }
}

/// Paints the machine-readable stamp strip along the bottom edge.
pub fn paint_stamp(f: &mut I420<'_>, stamp: Stamp) {
    framestamp::paint_luma(f.y, f.y_stride, f.width, f.height, stamp);
    let sh = framestamp::strip_height(f.height);
    let (w, h) = (f.width, f.height);
    neutral_chroma(f, 0, h - sh, w, sh);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: usize, h: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        (
            vec![80; w * h],
            vec![60; w.div_ceil(2) * h.div_ceil(2)],
            vec![200; w.div_ceil(2) * h.div_ceil(2)],
        )
    }

    #[test]
    fn object_moves_and_stays_inside() {
        let (w, h) = (640, 360);
        let a = object_rect(w, h, Duration::from_millis(0));
        let b = object_rect(w, h, Duration::from_millis(500));
        assert_ne!(a.0, b.0);
        for ms in (0..6000).step_by(40) {
            let (x, y, s) = object_rect(w, h, Duration::from_millis(ms));
            assert!(x + s <= w && y + s <= h);
        }
    }

    #[test]
    fn painting_changes_pixels_and_stamp_reads_back() {
        let (w, h) = (320, 180);
        let (mut y, mut u, mut v) = (frame(w, h).0, frame(w, h).1, frame(w, h).2);
        let mut f = I420 {
            width: w,
            height: h,
            y: &mut y,
            y_stride: w,
            u: &mut u,
            u_stride: w / 2,
            v: &mut v,
            v_stride: w / 2,
        };
        paint_object(&mut f, Duration::from_millis(700));
        let stamp = Stamp {
            camera: 1,
            unix_ms: 1_795_000_000_123,
        };
        paint_stamp(&mut f, stamp);
        assert!(y.contains(&235));
        assert_eq!(framestamp::read_luma(&y, w, w, h), Some(stamp));
        assert!(u.contains(&128) && u.contains(&60));
    }
}
