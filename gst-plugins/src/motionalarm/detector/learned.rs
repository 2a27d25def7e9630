// SPDX-License-Identifier: MIT OR Apache-2.0

//! Learning the patches of the picture that change by themselves on a fixed cadence, such as a
//! camera's burnt-in clock, so that they are ignored without a hand-drawn zone.
//!
//! The detector marks a cell as *pulsing* when it differs from the previous frame by more than
//! the threshold. A clock's cells pulse once per tick and are still in between; anything that
//! moves makes a cell pulse on consecutive frames, and noise or rain make it pulse at random.
//! A cell whose pulses come at the same interval (within a frame, at least [`MIN_PERIOD`]
//! frames) [`REGULAR_PULSES`] + 1 times in a row is *ticking*; ticking cells are learnt only in a
//! group of at least [`MIN_GROUP`] that tick in the same frame, each with at least
//! [`MIN_CLUSTER_NEIGHBOURS`] others within [`SYNC_REACH`] cells (a clock's digits are a
//! compact patch; the texture cells a starved stream's keyframes redraw every second are
//! scattered, and cells that chance makes look regular never tick together). Once a group is learnt,
//! a cell right next to the learnt ones (within [`SYNC_REACH`] cells) that pulses, after a
//! still spell, in the very frame the learnt cells tick, [`SYNC_PULSES`] times, is learnt too:
//! the tens of seconds, the minutes and the date, which change less often, join the seconds.
//! What is learnt stays learnt for as long as the picture keeps its size.

/// Shortest interval between ticks, frames (a third of a second at 25 fps).
pub const MIN_PERIOD: u32 = 8;
/// Intervals that must repeat the first one for a cell to be ticking.
pub const REGULAR_PULSES: u8 = 2;
/// Fewest ticking cells, ticking in the same frame, that are learnt.
pub const MIN_GROUP: usize = 4;
/// Ticking cells each ticking cell of a learnt group has within [`SYNC_REACH`] cells.
pub const MIN_CLUSTER_NEIGHBOURS: usize = 2;
/// How far (cells, in x and y) from a learnt cell a cell may join it by ticking with it.
pub const SYNC_REACH: usize = 2;
/// Ticks in step with the learnt cells that make a nearby cell join them.
pub const SYNC_PULSES: u8 = 2;
/// Above this fraction of the grid pulsing at once, the frame tells nothing about cadence
/// (a lighting change, a shake, a keyframe of a starved stream redrawing the texture).
const MAX_PULSING_FRACTION: f64 = 0.02;

/// Per-cell cadence state and the learnt cells.
#[derive(Debug, Default, Clone)]
pub(super) struct TickLearner {
    width: usize,
    height: usize,
    /// Frame of each cell's last pulse (0: never).
    last_pulse: Vec<u32>,
    /// Interval the cell's pulses keep, frames (0: none yet).
    period: Vec<u32>,
    /// Pulses in a row at that interval.
    regular: Vec<u8>,
    /// Ticks in step with learnt cells.
    in_step: Vec<u8>,
    /// 1 where a cell is learnt.
    pub(super) learnt: Vec<u8>,
    /// Learnt cells, counted.
    pub(super) count: usize,
    /// Reused lists of this frame's ticking cells and of its cells that pulsed after a still
    /// spell.
    ticking: Vec<usize>,
    calm: Vec<usize>,
}

impl TickLearner {
    /// Forgets everything, for a grid of `width` x `height` cells.
    pub(super) fn resize(&mut self, width: usize, height: usize) {
        let n = width * height;
        *self = TickLearner {
            width,
            height,
            last_pulse: vec![0; n],
            period: vec![0; n],
            regular: vec![0; n],
            in_step: vec![0; n],
            learnt: vec![0; n],
            count: 0,
            ticking: Vec::new(),
            calm: Vec::new(),
        };
    }

    /// Takes frame `frame`'s pulses (1 per pulsing cell, `count` of them); `true` when cells
    /// were learnt.
    pub(super) fn observe(&mut self, frame: u32, pulses: &[u8], count: usize) -> bool {
        if count == 0
            || pulses.len() != self.learnt.len()
            || count as f64 > MAX_PULSING_FRACTION * pulses.len() as f64
        {
            return false;
        }
        self.ticking.clear();
        self.calm.clear();
        let mut learnt_ticked = false;
        super::grid::for_each_set(pulses, |i| {
            let since = frame.wrapping_sub(self.last_pulse[i]);
            let first = self.last_pulse[i] == 0;
            self.last_pulse[i] = frame;
            if first || since >= MIN_PERIOD {
                self.calm.push(i);
            }
            if first || since < MIN_PERIOD {
                // Continuous change (something moving, noise): no cadence.
                self.period[i] = 0;
                self.regular[i] = 0;
                return;
            }
            if self.period[i] != 0 && since.abs_diff(self.period[i]) <= 1 {
                self.regular[i] = self.regular[i].saturating_add(1);
            } else {
                self.period[i] = since;
                self.regular[i] = 0;
            }
            if self.learnt[i] != 0 {
                learnt_ticked = true;
            } else if self.regular[i] >= REGULAR_PULSES {
                self.ticking.push(i);
            }
        });
        let mut changed = false;
        if self.ticking.len() >= MIN_GROUP {
            let w = self.width;
            let near = |a: usize, b: usize| {
                (a % w).abs_diff(b % w) <= SYNC_REACH && (a / w).abs_diff(b / w) <= SYNC_REACH
            };
            let clustered: Vec<usize> = self
                .ticking
                .iter()
                .copied()
                .filter(|&a| {
                    self.ticking
                        .iter()
                        .filter(|&&b| b != a && near(a, b))
                        .count()
                        >= MIN_CLUSTER_NEIGHBOURS
                })
                .collect();
            if clustered.len() >= MIN_GROUP {
                for i in clustered {
                    self.learnt[i] = 1;
                    self.count += 1;
                }
                changed = true;
            }
        }
        if learnt_ticked {
            // Cells that pulsed now after a still spell, next to learnt cells, tick with them.
            for k in 0..self.calm.len() {
                let i = self.calm[k];
                if self.learnt[i] != 0 || !self.near_learnt(i) {
                    continue;
                }
                self.in_step[i] = self.in_step[i].saturating_add(1);
                if self.in_step[i] >= SYNC_PULSES {
                    self.learnt[i] = 1;
                    self.count += 1;
                    changed = true;
                }
            }
        }
        changed
    }

    fn near_learnt(&self, i: usize) -> bool {
        let (x, y) = (i % self.width, i / self.width);
        let ys = y.saturating_sub(SYNC_REACH)..(y + SYNC_REACH + 1).min(self.height);
        let xs = x.saturating_sub(SYNC_REACH)..(x + SYNC_REACH + 1).min(self.width);
        ys.into_iter().any(|yy| {
            self.learnt[yy * self.width + xs.start..yy * self.width + xs.end]
                .iter()
                .any(|&l| l != 0)
        })
    }

    /// The learnt cells grown by one cell on every side (a digit's strokes reach a little past
    /// the cells seen to change): 1 where the picture is to be ignored.
    pub(super) fn ignored(&self) -> Vec<u8> {
        let (w, h) = (self.width, self.height);
        let mut out = vec![0u8; w * h];
        for (i, _) in self.learnt.iter().enumerate().filter(|(_, &l)| l != 0) {
            let (x, y) = (i % w, i / w);
            for yy in y.saturating_sub(1)..(y + 2).min(h) {
                out[yy * w + x.saturating_sub(1)..yy * w + (x + 2).min(w)].fill(1);
            }
        }
        out
    }
}

/// Rectangles covering the cells set in `cells` (`width` wide), in the `zones` syntax with
/// coordinates as fractions of the picture: `ignore:x0,y0,x1,y1;...`. Runs of cells on a row
/// are merged with the identical runs of the rows below.
pub fn mask_as_zones(cells: &[u8], width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    let height = cells.len() / width;
    // (x0, x1, y0, y1) of rectangles still open at the row above.
    let mut open: Vec<(usize, usize, usize, usize)> = Vec::new();
    let mut done = Vec::new();
    for y in 0..=height {
        let mut runs = Vec::new();
        if y < height {
            let row = &cells[y * width..(y + 1) * width];
            let mut x = 0;
            while x < width {
                if row[x] != 0 {
                    let start = x;
                    while x < width && row[x] != 0 {
                        x += 1;
                    }
                    runs.push((start, x));
                } else {
                    x += 1;
                }
            }
        }
        let mut next = Vec::new();
        for (x0, x1) in runs {
            match open.iter().position(|r| r.0 == x0 && r.1 == x1) {
                Some(k) => {
                    let mut r = open.swap_remove(k);
                    r.3 = y + 1;
                    next.push(r);
                }
                None => next.push((x0, x1, y, y + 1)),
            }
        }
        done.append(&mut open);
        open = next;
    }
    done.sort_by_key(|r| (r.2, r.0));
    let f = |v: usize, n: usize| {
        let s = format!("{:.4}", v as f64 / n as f64);
        let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
        if s.is_empty() {
            "0".to_string()
        } else {
            s
        }
    };
    done.iter()
        .map(|&(x0, x1, y0, y1)| {
            format!(
                "ignore:{},{},{},{}",
                f(x0, width),
                f(y0, height),
                f(x1, width),
                f(y1, height)
            )
        })
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 40x20 grid; `ticking` cells pulse every 25 frames, `mover` cells pulse on consecutive
    /// frames as something crosses, `random` cells at pseudo-random frames.
    fn run(
        frames: u32,
        ticking: &[usize],
        mut extra: impl FnMut(u32) -> Vec<usize>,
    ) -> TickLearner {
        let mut l = TickLearner::default();
        l.resize(40, 20);
        for f in 1..=frames {
            let mut pulses = vec![0u8; 800];
            if f % 25 == 0 {
                for &i in ticking {
                    pulses[i] = 1;
                }
            }
            for i in extra(f) {
                pulses[i] = 1;
            }
            let n = pulses.iter().filter(|&&p| p != 0).count();
            l.observe(f, &pulses, n);
        }
        l
    }

    #[test]
    fn a_group_ticking_every_second_is_learnt_after_four_ticks() {
        let digits = [21, 22, 23, 41, 42, 43];
        let l = run(99, &digits, |_| vec![]);
        assert_eq!(l.count, 0, "three ticks are not yet a cadence");
        let l = run(100, &digits, |_| vec![]);
        assert_eq!(l.count, digits.len());
        let ignored = l.ignored();
        assert_eq!(ignored[0], 1, "grown by a cell");
        assert_eq!(ignored[199], 0);
    }

    #[test]
    fn too_few_ticking_cells_or_moving_ones_are_not_learnt() {
        let l = run(500, &[21, 22, 23], |_| vec![]);
        assert_eq!(l.count, 0, "three cells are no clock");
        // Something crossing the cells every frame for a while, then a tick.
        let l = run(500, &[121, 122, 123, 124], |f| {
            if f % 25 == 24 || f % 25 == 1 {
                vec![121, 122, 123, 124]
            } else {
                vec![]
            }
        });
        assert_eq!(l.count, 0);
    }

    #[test]
    fn scattered_cells_ticking_together_are_not_learnt() {
        // A starved stream's keyframes redraw texture cells here and there every second.
        let scattered = [0, 7, 14, 63, 70, 77, 126, 133, 140, 189, 196];
        let l = run(1000, &scattered, |_| vec![]);
        assert_eq!(l.count, 0);
    }

    #[test]
    fn random_pulses_are_never_learnt() {
        let mut seed = 12345u64;
        let l = run(5000, &[], move |_| {
            let mut out = Vec::new();
            for i in 0..200 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                if seed.is_multiple_of(12) && i % 3 == 0 {
                    out.push(i);
                }
            }
            out
        });
        assert_eq!(l.count, 0);
    }

    #[test]
    fn cells_ticking_in_step_next_to_the_learnt_ones_join_them() {
        // The tens digit (cell 25) changes every 10 ticks, with the seconds (21-24).
        let seconds = [21, 22, 23, 24];
        let l = run(25 * 25, &seconds, |f| {
            if f % 250 == 0 {
                vec![25, 140]
            } else {
                vec![]
            }
        });
        assert_eq!(l.learnt[25], 1, "the tens digit joins");
        assert_eq!(l.learnt[140], 0, "a far cell does not");
    }

    #[test]
    fn masks_read_as_zones() {
        let mut cells = vec![0u8; 8 * 4];
        for y in 0..2 {
            for x in 0..4 {
                cells[y * 8 + x] = 1;
            }
        }
        cells[3 * 8 + 7] = 1;
        assert_eq!(
            mask_as_zones(&cells, 8),
            "ignore:0,0,0.5,0.5;ignore:0.875,0.75,1,1"
        );
        assert_eq!(mask_as_zones(&[0; 16], 4), "");
        let parsed = crate::motionalarm::parse_zones(&mask_as_zones(&cells, 8)).unwrap();
        assert_eq!(
            parsed.mask(8, 4),
            cells.iter().map(|&c| 1 - c).collect::<Vec<_>>()
        );
    }
}
