// SPDX-License-Identifier: MIT OR Apache-2.0

//! The motion detector's maths, with no GStreamer in sight.
//!
//! Each frame is reduced to a small grey grid (`analysis-width` cells wide, height by aspect
//! ratio), read straight out of the luma plane (or, for RGB, luma computed at the sampled pixels
//! only): each cell is the mean of a run of up to 4 neighbouring pixels on one row at its
//! centre, so only one pixel row per grid row is ever read. Nothing is converted or copied.
//!
//! Per cell the detector keeps a running-average background and a running estimate of how much
//! that cell wobbles on its own (sensor noise, compression flicker, leaves, screens). A cell has
//! changed when it differs from the background by more than `threshold` plus 2.5 times its own
//! wobble, after taking out the *global* change of the frame: a robust gain-and-offset fit
//! (medians of the difference in the dark and in the bright half of the picture), so lights
//! switched on or off, auto exposure and dusk do not count as motion. When most of the watched
//! area changes anyway, the detector treats it as a lighting change and re-learns the background
//! instead of reporting motion (Frigate's "lightning" rule). Isolated changed cells are dropped
//! (despeckle): a changed cell counts only if at least 3 of its 8 neighbours changed too.
//! After a reset, the first [`WARMUP_FRAMES`] frames only learn the scene, and a picture with
//! nothing in it (black: a camera starting) is not learnt at all.
//!
//! In a flat scene (night, fog) `threshold` shrinks with the background's spread, as objects stand
//! out less there; once a scene has been flat for some seconds (not while a cloud's shadow passes)
//! something nearly the background's grey is still seen by a weak-change cue: a box of 4x12 cells
//! (a slice of a person coming into view) whose mean change exceeds 0.4 times the threshold plus
//! its cells' noise, with the same sign on two frames running, marks its cells that changed that
//! way by more than their own noise (sensor noise neither adds up over a box nor stays; a frame
//! where a quarter of the boxes fire is a flicker, not counted; a box that changes the way it
//! stepped when the whole picture last jumped is a starved stream's keyframe redrawing a patch that
//! then holds still, not counted either). A frame whose changed cells mostly hold values that their
//! neighbourhood's background already holds is the picture shifted by less than a cell (camera
//! shake), not motion. Patches that change by themselves on a fixed cadence (a burnt-in clock) are
//! learnt and left out of the watched area (`learned`).
//!
//! The result is the *level*: the counted fraction of the watched cells.

use super::zones::Zones;
use std::sync::Arc;

mod grid;
mod learned;
use grid::*;
pub use learned::mask_as_zones;
use learned::TickLearner;

/// Learning rate of the background where nothing moves.
const BACKGROUND_RATE: f32 = 0.05;
/// Learning rate under changed cells, so a parked car becomes background after a few seconds
/// while a passer-by does not smear into it.
const BACKGROUND_RATE_MOVING: f32 = 0.01;
/// Step of the per-cell noise tracker (it follows the median residual by fixed steps, so a
/// passing object barely moves it while a flickering screen or leaves raise it for good).
const NOISE_STEP: f32 = 0.25;
/// The tracker's step while warming up, to learn a new scene's noise quickly.
const NOISE_STEP_WARMUP: f32 = 1.0;
/// Upper bound of the noise estimate.
const NOISE_MAX: f32 = 64.0;
/// How many times its own noise a cell must exceed on top of `threshold`.
const NOISE_GAIN: f32 = 2.5;
/// Frames after a reset that only learn the background and its noise (the first one seeds it).
pub const WARMUP_FRAMES: u32 = 10;
/// Fraction of the watched area changing at once that is taken for a lighting change.
pub const LIGHTING_FRACTION: f64 = 0.5;
/// Changed neighbours (of 8) a changed cell needs to count.
const DESPECKLE_NEIGHBOURS: u8 = 3;
/// The global fit's medians look at every n-th cell: plenty for two medians, and cheap.
const FIT_STEP: usize = 3;
/// Fewest sampled cells per half for a gain fit; below that only an offset is fitted.
const FIT_MIN_CELLS: u32 = 16;
/// Histogram bin of the global fit's samples that fall on unwatched cells.
const FIT_DISCARD: u16 = 1022;
/// Mean absolute deviation of a daylight scene's background from its mean, levels: in a
/// flatter (darker, foggier) scene `threshold` shrinks in proportion, as objects there stand
/// out less, down to [`MIN_THRESHOLD_SCALE`] of it.
const SCENE_SPREAD: f32 = 24.0;
/// See [`SCENE_SPREAD`].
const MIN_THRESHOLD_SCALE: f32 = 0.4;
/// A scene is flat (night, fog: the weak-change cue listens) when its spread is below
/// [`SCENE_SPREAD`] both now and on average over the last seconds: this is the weight of each
/// frame in that average (a time constant of 250 frames, 10 s at 25 fps). Night falls, and the
/// infrared switch turns a picture grey, for good; a cloud's shadow drifting over a contrasty
/// scene flattens it for a second or two (measured: 30 levels down to 23 for about a second),
/// and its soft moving edge is just the weak, sustained change the cue listens for.
const SETTLED_SPREAD_RATE: f32 = 1.0 / 250.0;
/// A picture whose cells deviate less than this from their mean (levels) shows nothing to
/// watch (black, a covered lens, a camera starting): the detector waits for a real one.
const FLAT_SPREAD: f32 = 3.0;
// A frame counts as the camera shaking when a shift of the picture by less than a cell
// explains half of its changed cells (measured: 0.6-0.9 of them while a camera shakes by a few
// pixels, under 0.05 while a person crosses): `shift_explains_half`.
/// Fewest changed cells, as a fraction of the watched ones, for a frame to be taken for a
/// shake (measured: 3-12 % while a camera shakes by a few pixels).
const SHAKE_MIN_FRACTION: f64 = 0.02;
/// Slack of that explanation, as a fraction of the threshold.
const SHIFT_MARGIN: f32 = 0.5;
/// The weak-change cue's box, cells: a slice of a person just come into view (at the default
/// grid a person is about 13 cells wide and 36 high).
const WEAK_BOX: (usize, usize) = (4, 12);
const _: () = assert!(
    WEAK_BOX.0 == 4,
    "weak_changes sums a box's 4 columns by hand"
);
/// The weak-change cue: a box's mean change must exceed this fraction of the (flat scene's)
/// threshold, plus its cells' mean noise times [`WEAK_NOISE_GAIN`].
const WEAK_LEVEL: f32 = 0.4;
/// See [`WEAK_LEVEL`].
const WEAK_NOISE_GAIN: f32 = 1.0;
/// The highest threshold (the element's default) at which the weak-change cue keeps its full
/// sensitivity. Above it the cue's level grows with the square of the threshold, so a site that
/// raises the threshold to hear only strong changes does not hear weak ones either: from about
/// 2.5 times this the cue asks for more than the threshold itself, and at 255 it never fires.
pub(crate) const WEAK_FULL_UP_TO: u32 = 25;
/// Fraction of the boxes firing at once above which the weak changes are taken for the whole
/// picture flickering (a keyframe, a lamp), not for something moving.
const WEAK_MAX_FRACTION: f64 = 0.25;
/// A flat picture *jumps* when its watched cells' mean change from the previous frame is more
/// than this many times the previous frame's: a starved stream's keyframe, which redraws
/// patches of the picture that the frames before had left as they were (measured at 120 kbit/s
/// at night: 0.03-0.4 levels between keyframes, 2.3-2.8 at one; a stream that codes its noise
/// changes 2-3 levels a frame and 5.5-6 at a keyframe).
const JUMP_RATIO: f32 = 4.0;
/// Least mean change from the previous frame, levels, of a jump.
const JUMP_MIN: f32 = 1.0;
/// A box whose cells' mean step at a jump, in the direction it now changes, exceeds this
/// fraction of its weak-change limit changes by that step: the keyframe's redrawing, held
/// still since, not something moving into it.
const JUMP_STEP: f32 = 0.5;
/// Frames after a jump during which its steps are held against the boxes: by then the
/// background has taken nine tenths of them (at [`BACKGROUND_RATE`]).
const JUMP_FRAMES: u32 = 45;

/// How one pixel's luma is found in the bytes of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelLayout {
    /// A luma byte per pixel, `pixel_stride` bytes apart, at byte `offset` of each pixel
    /// (1 and 0 for planar and semi-planar YUV and GRAY8, 2 and 0/1 for YUY2/UYVY).
    Luma { pixel_stride: usize, offset: usize },
    /// A little-endian 16-bit luma word per pixel (10-, 12- and 16-bit formats: I420_10LE,
    /// P010_10LE, GRAY16_LE...), `pixel_stride` bytes apart, at byte `offset`; its top 8 bits
    /// are the luma the detector works with: the word shifted right by `shift` (2 for 10-bit
    /// values in the low bits, 8 for values in the high bits).
    Luma16 {
        pixel_stride: usize,
        offset: usize,
        shift: u32,
    },
    /// Packed RGB: byte offsets of red, green and blue inside a pixel.
    Rgb {
        pixel_stride: usize,
        r: usize,
        g: usize,
        b: usize,
    },
}

impl PixelLayout {
    fn pixel_stride(self) -> usize {
        match self {
            PixelLayout::Luma { pixel_stride, .. }
            | PixelLayout::Luma16 { pixel_stride, .. }
            | PixelLayout::Rgb { pixel_stride, .. } => pixel_stride,
        }
    }

    fn last_byte(self) -> usize {
        match self {
            PixelLayout::Luma { offset, .. } => offset,
            PixelLayout::Luma16 { offset, .. } => offset + 1,
            PixelLayout::Rgb { r, g, b, .. } => r.max(g).max(b),
        }
    }
}

/// A borrowed view of one frame's luma: the first plane's bytes and how to read them.
#[derive(Debug, Clone, Copy)]
pub struct LumaFrame<'a> {
    pub data: &'a [u8],
    pub width: usize,
    pub height: usize,
    /// Bytes from one row to the next.
    pub stride: usize,
    pub layout: PixelLayout,
}

/// The detector's settings that shape the analysis.
#[derive(Debug, Clone)]
pub struct DetectorParams {
    /// Luma change (0-255) a cell must exceed, on top of its own noise.
    pub threshold: u32,
    /// Width of the analysed grid; clamped to the frame's width.
    pub analysis_width: usize,
    /// Watched and ignored areas.
    pub zones: Arc<Zones>,
    /// Learn the patches that change by themselves on a fixed cadence (a burnt-in clock) and
    /// ignore them.
    pub learn_ignore: bool,
}

impl Default for DetectorParams {
    fn default() -> Self {
        DetectorParams {
            threshold: 25,
            analysis_width: 160,
            zones: Arc::new(Zones::default()),
            learn_ignore: true,
        }
    }
}

/// What the detector made of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Analysis {
    /// Fraction of the watched cells that changed (after despeckle), `0.0..=1.0`.
    pub level: f64,
    /// Watched cells in the grid (0 when the zones leave nothing to watch).
    pub watched_cells: usize,
    /// One of the first [`WARMUP_FRAMES`] frames after a reset: they only learn the background
    /// and its noise, and report no motion.
    pub warming_up: bool,
    /// Most of the area changed at once: taken as lighting, the background was re-learnt.
    pub lighting_change: bool,
    /// Changes spread over the whole picture at once (the camera shook, the picture
    /// jumped): not counted as motion.
    pub whole_picture: bool,
}

/// Why a frame could not be analysed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame has no pixels ({width}x{height})")]
    Empty { width: usize, height: usize },
    #[error("frame data is {available} bytes, its layout needs {needed}")]
    TooSmall { needed: usize, available: usize },
    #[error("row stride {stride} is smaller than a row ({row} bytes)")]
    Stride { stride: usize, row: usize },
}

/// Luma motion detector over a background model; one per video stream.
#[derive(Debug, Default)]
pub struct MotionDetector {
    grid: Option<Grid>,
    zones: Option<Arc<Zones>>,
    /// 1 where the grid is watched: the zones, less the learnt patches.
    mask: Vec<u8>,
    /// 1 where the zones watch the grid.
    zone_mask: Vec<u8>,
    /// The previous frame's grid, for the pulses of the tick learner.
    previous: Vec<f32>,
    /// Cells that changed from the previous frame.
    pulses: Vec<u8>,
    learner: TickLearner,
    /// Frames analysed since the geometry changed (the tick learner's clock).
    frame_count: u32,
    /// Times the learnt patches changed.
    learnt_changes: u64,
    /// Mean absolute deviation of the background from its mean over watched cells.
    spread: f32,
    /// `spread` averaged over the last seconds ([`SETTLED_SPREAD_RATE`]).
    settled_spread: f32,
    watched: usize,
    current: Vec<f32>,
    background: Vec<f32>,
    noise: Vec<f32>,
    /// This frame's change of each watched cell after the global change (0 where unwatched).
    residual: Vec<f32>,
    /// Per position of the weak-change box (its top left cell), the sign of its mean change
    /// when it last fired, 0 when it did not (the weak-change cue).
    weak_signs: Vec<i8>,
    /// The boxes that fired with the same sign on this frame and the one before.
    weak_held: Vec<i8>,
    /// Per box, the sign of its step at the last jump of the picture, 0 when it did not step.
    weak_stepped: Vec<i8>,
    /// Mean change of the watched cells from the previous frame, levels (infinite when not
    /// measured: the picture was not flat).
    stir: f32,
    /// Frames since the last jump, up to [`JUMP_FRAMES`].
    since_jump: u32,
    /// Sums of `WEAK_BOX.1` cells down each column: the changes, the noise, then the steps.
    weak_columns: Vec<f32>,
    /// Changed cells, with a one-cell border of zeros for the neighbour count.
    changed: Vec<u8>,
    column_sums: Vec<u8>,
    /// The global fit's histogram bin for each cell.
    fit_keys: Vec<u16>,
    /// Frames learnt since the last reset; 0 = no background yet.
    learnt: u32,
    /// Background level splitting the global fit into a dark and a bright half.
    fit_split: f32,
}

impl MotionDetector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the background: the next frame seeds a new one.
    pub fn reset(&mut self) {
        self.learnt = 0;
    }

    /// Size of the analysed grid for the last frame, if any.
    pub fn grid_size(&self) -> Option<(usize, usize)> {
        self.grid.as_ref().map(|g| (g.width, g.height))
    }

    fn configure(&mut self, frame: &LumaFrame, params: &DetectorParams) -> Result<(), FrameError> {
        let geometry_changed = !self
            .grid
            .as_ref()
            .is_some_and(|g| g.matches(frame, params.analysis_width));
        if geometry_changed {
            let grid = Grid::new(frame, params.analysis_width)?;
            let n = grid.cells();
            self.current = vec![0.0; n];
            self.background = vec![0.0; n];
            self.noise = vec![0.0; n];
            self.residual = vec![0.0; n];
            self.weak_signs = vec![0; n];
            self.weak_held = vec![0; n];
            self.weak_stepped = vec![0; n];
            self.stir = f32::INFINITY;
            self.since_jump = JUMP_FRAMES;
            self.weak_columns = vec![0.0; 3 * grid.width];
            self.changed = vec![0; (grid.width + 2) * (grid.height + 2)];
            self.column_sums = vec![0; grid.width + 2];
            self.fit_keys = vec![0; n];
            self.previous = vec![0.0; n];
            self.pulses = vec![0; n];
            self.learner.resize(grid.width, grid.height);
            self.frame_count = 0;
            if self.learnt_changes > 0 {
                self.learnt_changes += 1;
            }
            self.grid = Some(grid);
            self.learnt = 0;
        }
        let zones_changed = !self
            .zones
            .as_ref()
            .is_some_and(|z| Arc::ptr_eq(z, &params.zones) || **z == *params.zones);
        if geometry_changed || zones_changed {
            if let Some(grid) = &self.grid {
                self.zone_mask = params.zones.mask(grid.width, grid.height);
            }
            self.zones = Some(params.zones.clone());
            self.update_mask();
        }
        Ok(())
    }

    /// The watched cells: the zones' less the learnt patches'.
    fn update_mask(&mut self) {
        self.mask.clone_from(&self.zone_mask);
        if self.learner.count > 0 {
            for (m, i) in self.mask.iter_mut().zip(self.learner.ignored()) {
                *m &= 1 - i;
            }
        }
        self.watched = self.mask.iter().map(|&m| usize::from(m)).sum();
    }

    /// The patches learnt to change by themselves (a burnt-in clock), in the `zones` syntax
    /// (`ignore:x0,y0,x1,y1;...`, fractions of the picture, grown by a cell); empty when none.
    pub fn learned_mask(&self) -> String {
        let Some(grid) = &self.grid else {
            return String::new();
        };
        if self.learner.count == 0 {
            return String::new();
        }
        mask_as_zones(&self.learner.ignored(), grid.width)
    }

    /// Counts the changes of the learnt patches (new ones learnt, forgotten with a new picture
    /// size): a caller compares it with the last value it saw.
    pub fn learned_changes(&self) -> u64 {
        self.learnt_changes
    }

    /// A picture of what the detector watches, as a binary PGM (P5) the size of the grid: the
    /// background in grey, ignored cells (zones) darkened to a quarter, learnt patches white.
    pub fn debug_image(&self) -> Option<Vec<u8>> {
        let grid = self.grid.as_ref()?;
        let mut out = format!("P5\n{} {}\n255\n", grid.width, grid.height).into_bytes();
        let learnt = self.learner.ignored();
        for ((&bg, &zone), &l) in self.background.iter().zip(&self.zone_mask).zip(&learnt) {
            let v = bg.clamp(0.0, 255.0) as u8;
            out.push(if l != 0 {
                255
            } else if zone == 0 {
                v / 4
            } else {
                v.min(254)
            });
        }
        Some(out)
    }

    /// Analyses one frame and learns from it.
    ///
    /// On x86-64 CPUs with AVX2 (nearly all of them since 2015) the same code runs compiled for
    /// AVX2, twice as wide; the results are bit for bit the same (no fused multiply-adds, the
    /// same order of operations).
    pub fn analyse(
        &mut self,
        frame: &LumaFrame,
        params: &DetectorParams,
    ) -> Result<Analysis, FrameError> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, the only feature `analyse_avx2` is compiled for.
            return unsafe { self.analyse_avx2(frame, params) };
        }
        self.analyse_portable(frame, params)
    }

    /// [`Self::analyse`] compiled for AVX2: every helper it calls is inlined into it.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn analyse_avx2(
        &mut self,
        frame: &LumaFrame,
        params: &DetectorParams,
    ) -> Result<Analysis, FrameError> {
        self.analyse_portable(frame, params)
    }

    /// [`Self::analyse`] for the baseline CPU of the target.
    #[inline(always)]
    fn analyse_portable(
        &mut self,
        frame: &LumaFrame,
        params: &DetectorParams,
    ) -> Result<Analysis, FrameError> {
        self.configure(frame, params)?;
        let Some(grid) = self.grid.as_ref() else {
            return Ok(Analysis::default());
        };
        if frame.data.len() < grid.needed_len {
            return Err(FrameError::TooSmall {
                needed: grid.needed_len,
                available: frame.data.len(),
            });
        }
        grid.sample(frame.data, &mut self.current);
        let (gw, gh) = (grid.width, grid.height);

        self.frame_count = self.frame_count.wrapping_add(1).max(1);
        if self.learnt == 0 {
            self.background.copy_from_slice(&self.current);
            self.noise.fill(0.0);
            self.weak_signs.fill(0);
            self.stir = f32::INFINITY;
            let n = self.current.len().max(1) as f32;
            self.fit_split = self.current.iter().sum::<f32>() / n;
            let split = self.fit_split;
            self.spread = self.current.iter().map(|&c| (c - split).abs()).sum::<f32>() / n;
            // A flat picture has nothing to learn: the next frame seeds again.
            self.learnt = u32::from(self.spread >= FLAT_SPREAD);
            std::mem::swap(&mut self.current, &mut self.previous);
            return Ok(Analysis {
                watched_cells: self.watched,
                warming_up: true,
                ..Analysis::default()
            });
        }
        if self.watched == 0 {
            self.learn(BACKGROUND_RATE);
            std::mem::swap(&mut self.current, &mut self.previous);
            return Ok(Analysis::default());
        }

        let (offset, gain) = self.global_change();
        let contrast = (self.spread / SCENE_SPREAD).clamp(MIN_THRESHOLD_SCALE, 1.0);
        let threshold = params.threshold as f32 * contrast;
        // Pulses (changes from the previous frame) take the full threshold: a clock's digits
        // are drawn at full contrast whatever the scene.
        let pulse_threshold = params.threshold as f32;
        let warming_up = self.learnt < WARMUP_FRAMES;
        // While warming up the scene is what it shows now.
        self.settled_spread = if warming_up {
            self.spread
        } else {
            self.settled_spread + SETTLED_SPREAD_RATE * (self.spread - self.settled_spread)
        };
        if self.learnt == 1 {
            // The first comparison sets each cell's noise outright; the tracker refines it.
            for ((noise, &cur), &bg) in self
                .noise
                .iter_mut()
                .zip(&self.current)
                .zip(&self.background)
            {
                *noise = (cur - bg - (offset + gain * bg)).abs().min(NOISE_MAX);
            }
        }
        if warming_up {
            self.learnt += 1;
        }
        let noise_step = if warming_up {
            NOISE_STEP_WARMUP
        } else {
            NOISE_STEP
        };
        let padded = gw + 2;

        // While warming up the background is the plain mean of the warm-up frames.
        let warmup_rate = 1.0 / self.learnt as f32;

        // Residual after the global change, compared with threshold plus the cell's own noise;
        // the same pass learns the background: fast where nothing changed, slow under changed
        // cells. (A lighting change below replaces the whole background anyway.)
        let mut raw_changed = 0usize;
        let mut pulsing = 0usize;
        for y in 0..gh {
            let cells = y * gw..(y + 1) * gw;
            let out = &mut self.changed[(y + 1) * padded + 1..(y + 1) * padded + 1 + gw];
            let current = &self.current[cells.clone()];
            let background = &mut self.background[cells.clone()];
            let noise = &mut self.noise[cells.clone()];
            let signed_out = &mut self.residual[cells.clone()];
            let previous = &self.previous[cells.clone()];
            let pulses = &mut self.pulses[cells.clone()];
            let mask = &self.mask[cells];
            // Flags are summed per row in 32 bits, which vectorises better than a usize sum.
            let (mut row_changed, mut row_pulsing) = (0u32, 0u32);
            for i in 0..gw {
                let (cur, bg, old_noise) = (current[i], background[i], noise[i]);
                let pulse = u8::from((cur - previous[i]).abs() > pulse_threshold);
                pulses[i] = pulse;
                row_pulsing += u32::from(pulse);
                let signed = cur - bg - (offset + gain * bg);
                signed_out[i] = signed * f32::from(mask[i]);
                let residual = signed.abs();
                let hit = residual > threshold + NOISE_GAIN * old_noise;
                let step = if residual > old_noise {
                    noise_step
                } else {
                    -noise_step
                };
                noise[i] = (old_noise + step).clamp(0.0, NOISE_MAX);
                let changed = u8::from(hit) & mask[i];
                out[i] = changed;
                row_changed += u32::from(changed);
                let rate = if warming_up {
                    warmup_rate
                } else {
                    BACKGROUND_RATE
                        - (BACKGROUND_RATE - BACKGROUND_RATE_MOVING) * f32::from(changed)
                };
                background[i] = bg + rate * (cur - bg);
            }
            raw_changed += row_changed as usize;
            pulsing += row_pulsing as usize;
        }
        std::mem::swap(&mut self.current, &mut self.previous);

        if warming_up {
            return Ok(Analysis {
                watched_cells: self.watched,
                warming_up: true,
                ..Analysis::default()
            });
        }
        // The weak-change cue works in a flat scene only (flat now and over the last seconds);
        // it follows the picture's jumps on every frame there, whatever else the frame turns
        // out to be.
        let flat = contrast < 1.0 && self.settled_spread < SCENE_SPREAD;
        let weak_threshold =
            threshold * (params.threshold as f32 / WEAK_FULL_UP_TO as f32).max(1.0);
        let jumped = if flat {
            self.picture_jumped()
        } else {
            self.stir = f32::INFINITY;
            false
        };
        if params.learn_ignore
            && self
                .learner
                .observe(self.frame_count, &self.pulses, pulsing)
        {
            self.learnt_changes += 1;
            self.update_mask();
            if self.watched == 0 {
                return Ok(Analysis::default());
            }
        }
        if raw_changed as f64 > LIGHTING_FRACTION * self.watched as f64 {
            // (This frame's grid is in `previous` now.)
            self.background.copy_from_slice(&self.previous);
            self.changed.fill(0);
            self.weak_signs.fill(0);
            return Ok(Analysis {
                watched_cells: self.watched,
                lighting_change: true,
                ..Analysis::default()
            });
        }

        // Nearly every frame of a quiet camera: nothing to despeckle (a cell counts only
        // with its changed neighbours, so fewer changed cells than that count none).
        let mut counted = if raw_changed <= usize::from(DESPECKLE_NEIGHBOURS) {
            0
        } else {
            self.despeckle(gw, gh)
        };
        // A shake moves edges all over the picture; a small patch that changes (a clock's
        // digit, something small over texture) is never taken for one.
        let shaken = counted > 0
            && raw_changed as f64 >= SHAKE_MIN_FRACTION * self.watched as f64
            && self.shift_explains_half(
                gw,
                gh,
                (offset, gain, threshold * SHIFT_MARGIN),
                raw_changed,
            );
        if shaken {
            if jumped {
                // A starved stream's keyframe redraws texture, which can look like a shake:
                // its steps are taken all the same.
                self.weak_changes(gw, gh, weak_threshold, true);
            }
            self.weak_signs.fill(0);
            return Ok(Analysis {
                watched_cells: self.watched,
                whole_picture: true,
                ..Analysis::default()
            });
        }
        if flat {
            if self.weak_changes(gw, gh, weak_threshold, jumped) > 0 {
                counted = self.despeckle(gw, gh);
            }
        } else {
            self.weak_signs.fill(0);
        }
        Ok(Analysis {
            level: counted as f64 / self.watched as f64,
            watched_cells: self.watched,
            ..Analysis::default()
        })
    }

    /// Whether at least half of the changed cells have a new value between the darkest and
    /// the brightest background of their 3x3 neighbourhood (after the global change, give or
    /// take `margin`): what the picture moved by less than a cell looks like. Something dark or
    /// bright coming into view lies outside. Reads this frame's grid from `previous` (after
    /// the swap). Stops as soon as the answer is known, and as `bg + offset + gain * bg` grows
    /// with `bg` (the fit's gain is above -1), only the neighbourhood's darkest and brightest
    /// background are put through it.
    fn shift_explains_half(
        &self,
        gw: usize,
        gh: usize,
        (offset, gain, margin): (f32, f32, f32),
        raw_changed: usize,
    ) -> bool {
        let padded = gw + 2;
        let (mut explained, mut seen) = (0usize, 0usize);
        for y in 0..gh {
            let flags = &self.changed[(y + 1) * padded + 1..(y + 1) * padded + 1 + gw];
            let rows = y.saturating_sub(1)..(y + 2).min(gh);
            let mut decided = None;
            for_each_set(flags, |x| {
                if decided.is_some() {
                    return;
                }
                let columns = x.saturating_sub(1)..(x + 2).min(gw);
                let (mut lo, mut hi) = (f32::MAX, f32::MIN);
                for yy in rows.clone() {
                    for &bg in &self.background[yy * gw + columns.start..yy * gw + columns.end] {
                        lo = lo.min(bg);
                        hi = hi.max(bg);
                    }
                }
                let (lo, hi) = (lo + offset + gain * lo, hi + offset + gain * hi);
                let cur = self.previous[y * gw + x];
                explained += usize::from(cur >= lo - margin && cur <= hi + margin);
                seen += 1;
                if 2 * explained >= raw_changed {
                    decided = Some(true);
                } else if 2 * (explained + raw_changed - seen) < raw_changed {
                    decided = Some(false);
                }
            });
            if let Some(answer) = decided {
                return answer;
            }
        }
        2 * explained >= raw_changed
    }

    /// Robust fit of `current - background ≈ offset + gain * background` over watched cells:
    /// the median difference in the darker and in the brighter half of the background.
    /// The halves are split at the mean background of the previous frame (it moves slowly),
    /// so one pass does: it finds every cell's histogram bin and the halves' sizes and mean
    /// levels eight cells at a time in vector registers, then every `FIT_STEP`-th cell's bin
    /// goes into the histograms (as the grid is not a multiple of `FIT_STEP` wide, those
    /// cells fall on every row).
    #[inline(always)]
    fn global_change(&mut self) -> (f32, f32) {
        let split = self.fit_split;
        let n = self
            .current
            .len()
            .min(self.background.len())
            .min(self.mask.len())
            .min(self.fit_keys.len());
        let (current, background, mask) =
            (&self.current[..n], &self.background[..n], &self.mask[..n]);
        let keys = &mut self.fit_keys[..n];

        // First each cell's histogram bin, dark half in `0..511`, bright half in `511..1022`
        // and `FIT_DISCARD` for unwatched cells, with no branches and no memory written but
        // `keys`; the counts and sums are kept as totals and bright parts.
        let (mut count_all, mut count_bright, mut sum_all, mut sum_bright) =
            (0u32, 0u32, 0u32, 0u32);
        let mut deviation = 0u32;
        let split_level = bounded_index(split, 255.0) as i32;
        for (((key, &c), &b), &m) in keys.iter_mut().zip(current).zip(background).zip(mask) {
            let watched = u32::from(m != 0);
            let bright = u32::from(b >= split) & watched;
            // Rounded to the nearest bin: the conversion truncates a value made positive.
            let bin = bounded_index(c - b + 255.5, 510.0);
            // Whole levels are plenty for a mean (the background stays within 0..=255).
            let level = bounded_index(b, 255.0);
            count_all += watched;
            count_bright += bright;
            deviation += (level as i32 - split_level).unsigned_abs() * watched;
            sum_all += level * watched;
            sum_bright += level * bright;
            *key = if watched != 0 {
                (bright * 511 + bin) as u16
            } else {
                FIT_DISCARD
            };
        }
        let count = [count_all - count_bright, count_bright];
        let bg_sum = [sum_all - sum_bright, sum_bright];
        if count_all == 0 {
            return (0.0, 0.0);
        }
        self.spread = deviation as f32 / count_all as f32;

        // Then the histograms of the sampled cells. Neighbouring samples mostly fall into the
        // same few bins; four histograms filled in turn keep each increment from waiting on
        // the one before. A histogram has 1024 bins so a masked key needs no bounds check.
        let mut lanes = [[0u32; 1024]; 4];
        let mut runs = keys.chunks_exact(4 * FIT_STEP);
        for run in &mut runs {
            for (lane, &key) in lanes.iter_mut().zip(run.iter().step_by(FIT_STEP)) {
                lane[usize::from(key) & 1023] += 1;
            }
        }
        let rest = runs.remainder().iter().step_by(FIT_STEP);
        for (lane, &key) in lanes.iter_mut().zip(rest) {
            lane[usize::from(key) & 1023] += 1;
        }
        let [mut merged, second, third, fourth] = lanes;
        for (((sum, &b), &c), &d) in merged.iter_mut().zip(&second).zip(&third).zip(&fourth) {
            *sum += b + c + d;
        }
        let (dark, bright) = merged.split_at(511);
        let hist = [dark, &bright[..511]];
        let sampled = [dark.iter().sum::<u32>(), bright[..511].iter().sum::<u32>()];
        self.fit_split = (bg_sum[0] + bg_sum[1]) as f32 / (count[0] + count[1]) as f32;
        let mean_bg = |h: usize| bg_sum[h] as f32 / count[h].max(1) as f32 + 0.5;
        if sampled[0] >= FIT_MIN_CELLS
            && sampled[1] >= FIT_MIN_CELLS
            && mean_bg(1) - mean_bg(0) >= 16.0
        {
            let (lo, hi) = (
                histogram_median(hist[0], sampled[0]),
                histogram_median(hist[1], sampled[1]),
            );
            let gain = ((hi - lo) / (mean_bg(1) - mean_bg(0))).clamp(-0.95, 3.0);
            (lo - gain * mean_bg(0), gain)
        } else if sampled[0] + sampled[1] == 0 {
            // A watched area so small that no sampled cell falls on it.
            (0.0, 0.0)
        } else {
            let mut all = [0u32; 511];
            all.copy_from_slice(hist[0]);
            for (a, b) in all.iter_mut().zip(hist[1]) {
                *a += b;
            }
            (histogram_median(&all, sampled[0] + sampled[1]), 0.0)
        }
    }

    /// Whether the watched picture jumped on this frame (a starved stream's keyframe): its mean
    /// change from the previous frame is [`JUMP_RATIO`] times the previous frame's, and at least
    /// [`JUMP_MIN`]. Counts the frames since the last jump. Reads this frame's grid from
    /// `previous` and the previous frame's from `current` (after the swap); eight running sums,
    /// so it vectorises and gives the same result on every build.
    #[inline(always)]
    fn picture_jumped(&mut self) -> bool {
        let mut lanes = [0.0f32; 8];
        let n = self
            .previous
            .len()
            .min(self.current.len())
            .min(self.mask.len());
        let (now, before, mask) = (&self.previous[..n], &self.current[..n], &self.mask[..n]);
        let mut chunks = now
            .chunks_exact(8)
            .zip(before.chunks_exact(8).zip(mask.chunks_exact(8)));
        for (now, (before, mask)) in &mut chunks {
            for (((lane, &a), &b), &m) in lanes.iter_mut().zip(now).zip(before).zip(mask) {
                *lane += (a - b).abs() * f32::from(m);
            }
        }
        let rest = n - n % 8;
        for (((lane, &a), &b), &m) in lanes
            .iter_mut()
            .zip(&now[rest..])
            .zip(&before[rest..])
            .zip(&mask[rest..])
        {
            *lane += (a - b).abs() * f32::from(m);
        }
        let stir = lanes.iter().sum::<f32>() / self.watched.max(1) as f32;
        let jumped = stir >= JUMP_MIN && stir > JUMP_RATIO * self.stir;
        self.stir = stir;
        if jumped {
            self.since_jump = 0;
        } else if self.since_jump < JUMP_FRAMES {
            self.since_jump += 1;
            if self.since_jump == JUMP_FRAMES {
                self.weak_stepped.fill(0);
            }
        }
        jumped
    }

    /// The weak-change cue of a flat scene: a box of cells whose mean change (after the global
    /// change) exceeds a fraction of the threshold plus their mean noise, with the same sign as on
    /// the previous frame, is something moving that is nearly the background's grey: each of its
    /// watched cells that changed by more than its own noise that way is marked changed. Sensor
    /// noise does not add up over a box, nor stays; a picture that changes weakly in many boxes
    /// at once (a keyframe, a lamp) is not counted. Nor is a box that changes the way it stepped
    /// at the last jump of the picture (`jumped`: this frame is one), within [`JUMP_FRAMES`]:
    /// a starved stream's keyframe redraws patches that then hold still, while something moving
    /// steps into new boxes on every frame. Returns the cells it marked.
    #[inline(always)]
    fn weak_changes(&mut self, gw: usize, gh: usize, threshold: f32, jumped: bool) -> usize {
        let (bw, bh) = WEAK_BOX;
        if gw < bw || gh < bh {
            return 0;
        }
        let level = WEAK_LEVEL * threshold * (bw * bh) as f32;
        let boxes_x = gw - bw + 1;
        let boxes = boxes_x * (gh - bh + 1);
        // Sums of `bh` cells down each column, moved down a row at a time; the steps (this
        // frame's grid, in `previous`, less the previous frame's, in `current`) only on a jump.
        let (sums, rest) = self.weak_columns.split_at_mut(gw);
        let (noises, steps) = rest.split_at_mut(gw);
        sums.fill(0.0);
        noises.fill(0.0);
        steps.fill(0.0);
        let add_steps = |steps: &mut [f32], row: std::ops::Range<usize>, sign: f32| {
            for ((s, &now), &before) in steps
                .iter_mut()
                .zip(&self.previous[row.clone()])
                .zip(&self.current[row])
            {
                *s += sign * (now - before);
            }
        };
        for y in 0..bh - 1 {
            let row = y * gw..(y + 1) * gw;
            for (s, &r) in sums.iter_mut().zip(&self.residual[row.clone()]) {
                *s += r;
            }
            for (s, &n) in noises.iter_mut().zip(&self.noise[row.clone()]) {
                *s += n;
            }
            if jumped {
                add_steps(steps, row, 1.0);
            }
        }
        let (mut firing, mut sustained) = (0u32, 0u32);
        for y in 0..=gh - bh {
            let add = (y + bh - 1) * gw..(y + bh) * gw;
            for (s, &r) in sums.iter_mut().zip(&self.residual[add.clone()]) {
                *s += r;
            }
            for (s, &n) in noises.iter_mut().zip(&self.noise[add.clone()]) {
                *s += n;
            }
            if jumped {
                add_steps(steps, add, 1.0);
            }
            let signs = &mut self.weak_signs[y * gw..y * gw + boxes_x];
            let held = &mut self.weak_held[y * gw..y * gw + boxes_x];
            let stepped = &mut self.weak_stepped[y * gw..y * gw + boxes_x];
            let (mut row_firing, mut row_sustained) = (0u32, 0u32);
            for (x, ((sign, held), stepped)) in signs
                .iter_mut()
                .zip(held.iter_mut())
                .zip(stepped.iter_mut())
                .enumerate()
            {
                // Written out for `WEAK_BOX.0 == 4`, so it vectorises.
                let s = sums[x] + sums[x + 1] + sums[x + 2] + sums[x + 3];
                let n = noises[x] + noises[x + 1] + noises[x + 2] + noises[x + 3];
                let step = steps[x] + steps[x + 1] + steps[x + 2] + steps[x + 3];
                let limit = level + WEAK_NOISE_GAIN * n;
                let now = i8::from(s > limit) - i8::from(s < -limit);
                row_firing += u32::from(now != 0);
                // A jump sets every box's mark; other frames (their steps not summed) keep it.
                let step_limit = JUMP_STEP * limit;
                let new_step = i8::from(step > step_limit) - i8::from(step < -step_limit);
                *stepped = if jumped { new_step } else { *stepped };
                let kept = now & -i8::from(now == *sign) & -i8::from(now != *stepped);
                row_sustained += u32::from(kept != 0);
                *held = kept;
                *sign = now;
            }
            firing += row_firing;
            sustained += row_sustained;
            let sub = y * gw..(y + 1) * gw;
            for (s, &r) in sums.iter_mut().zip(&self.residual[sub.clone()]) {
                *s -= r;
            }
            for (s, &n) in noises.iter_mut().zip(&self.noise[sub.clone()]) {
                *s -= n;
            }
            if jumped {
                add_steps(steps, sub, -1.0);
            }
        }
        if sustained == 0 || f64::from(firing) > WEAK_MAX_FRACTION * boxes as f64 {
            return 0;
        }
        let padded = gw + 2;
        let mut marked = 0;
        for y0 in 0..=gh - bh {
            for x0 in 0..boxes_x {
                let sign = f32::from(self.weak_held[y0 * gw + x0]);
                if sign == 0.0 {
                    continue;
                }
                for y in y0..y0 + bh {
                    for x in x0..x0 + bw {
                        let i = y * gw + x;
                        let out = &mut self.changed[(y + 1) * padded + 1 + x];
                        if *out == 0 && sign * self.residual[i] > self.noise[i] && self.mask[i] != 0
                        {
                            *out = 1;
                            marked += 1;
                        }
                    }
                }
            }
        }
        marked
    }

    /// Counts changed cells with at least `DESPECKLE_NEIGHBOURS` changed neighbours.
    #[inline(always)]
    fn despeckle(&mut self, gw: usize, gh: usize) -> usize {
        let padded = gw + 2;
        let mut counted = 0usize;
        for y in 1..=gh {
            let (above, rest) = self.changed[(y - 1) * padded..].split_at(padded);
            let (row, rest) = rest.split_at(padded);
            let below = &rest[..padded];
            for (((s, &a), &r), &b) in self.column_sums.iter_mut().zip(above).zip(row).zip(below) {
                *s = a + r + b;
            }
            let sums = &self.column_sums;
            let mut row_counted = 0u32;
            for (((&l, &c), &r), &me) in sums
                .iter()
                .zip(&sums[1..])
                .zip(&sums[2..])
                .zip(&row[1..=gw])
            {
                // The 3x3 sum includes the cell itself.
                let neighbours = l + c + r - me;
                row_counted += u32::from(me & u8::from(neighbours >= DESPECKLE_NEIGHBOURS));
            }
            counted += row_counted as usize;
        }
        counted
    }

    #[inline(always)]
    fn learn(&mut self, rate: f32) {
        for (bg, &cur) in self.background.iter_mut().zip(&self.current) {
            *bg += rate * (cur - *bg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::motionalarm::zones::parse_zones;

    /// A deterministic textured grey scene with noise and a moving square.
    struct Scene {
        width: usize,
        height: usize,
        seed: u64,
    }

    impl Scene {
        fn new(width: usize, height: usize, seed: u64) -> Self {
            Scene {
                width,
                height,
                seed,
            }
        }

        fn rand(&mut self) -> u32 {
            self.seed ^= self.seed << 13;
            self.seed ^= self.seed >> 7;
            self.seed ^= self.seed << 17;
            (self.seed >> 32) as u32
        }

        fn frame(&mut self, brightness: i32, square: Option<(usize, usize, usize)>) -> Vec<u8> {
            let mut out = vec![0u8; self.width * self.height];
            for y in 0..self.height {
                for x in 0..self.width {
                    let base = 60 + ((x * 7 + y * 3) % 90) as i32;
                    let noise = (self.rand() % 9) as i32 - 4;
                    let mut v = base + brightness + noise;
                    if let Some((sx, sy, size)) = square {
                        if (sx..sx + size).contains(&x) && (sy..sy + size).contains(&y) {
                            v = 230;
                        }
                    }
                    out[y * self.width + x] = v.clamp(0, 255) as u8;
                }
            }
            out
        }
    }

    /// Default settings watching `zones`.
    fn zoned(zones: &str) -> DetectorParams {
        DetectorParams {
            zones: Arc::new(parse_zones(zones).unwrap()),
            ..DetectorParams::default()
        }
    }

    fn view(data: &[u8], w: usize, h: usize) -> LumaFrame<'_> {
        LumaFrame {
            data,
            width: w,
            height: h,
            stride: w,
            layout: PixelLayout::Luma {
                pixel_stride: 1,
                offset: 0,
            },
        }
    }

    #[test]
    fn grid_keeps_aspect_ratio_and_stays_inside_the_frame() {
        let data = vec![0u8; 1920 * 1080];
        let mut d = MotionDetector::new();
        d.analyse(&view(&data, 1920, 1080), &DetectorParams::default())
            .unwrap();
        assert_eq!(d.grid_size(), Some((160, 90)));

        // A frame narrower than analysis-width is analysed at its own size.
        let small = vec![0u8; 100 * 50];
        d.analyse(&view(&small, 100, 50), &DetectorParams::default())
            .unwrap();
        assert_eq!(d.grid_size(), Some((100, 50)));
    }

    #[test]
    fn short_or_inconsistent_frames_are_errors() {
        let mut d = MotionDetector::new();
        let p = DetectorParams::default();
        let data = vec![0u8; 64 * 48 - 1];
        assert!(matches!(
            d.analyse(&view(&data, 64, 48), &p),
            Err(FrameError::TooSmall { .. })
        ));
        assert!(matches!(
            d.analyse(&view(&data, 0, 48), &p),
            Err(FrameError::Empty { .. })
        ));
        let mut bad_stride = view(&data, 64, 40);
        bad_stride.stride = 32;
        assert!(matches!(
            d.analyse(&bad_stride, &p),
            Err(FrameError::Stride { .. })
        ));
    }

    #[test]
    fn static_noisy_scene_stays_quiet_and_moving_square_is_seen() {
        let (w, h) = (320, 240);
        let mut scene = Scene::new(w, h, 7);
        let mut d = MotionDetector::new();
        let p = DetectorParams::default();
        for _ in 0..30 {
            let f = scene.frame(0, None);
            let a = d.analyse(&view(&f, w, h), &p).unwrap();
            assert_eq!(a.level, 0.0);
        }
        for i in 0..10 {
            let f = scene.frame(0, Some((20 + i * 12, 100, 40)));
            let a = d.analyse(&view(&f, w, h), &p).unwrap();
            assert!(a.level > 0.01, "frame {i}: level {}", a.level);
        }
    }

    /// A dark, flat, noisy picture (night), and a person-sized block entering from the right
    /// that is only 8 levels brighter than the background: well below any one cell's threshold,
    /// seen by the weak-change cue within a few frames; the noise alone is never motion.
    #[test]
    fn faint_person_at_night_is_seen_and_noise_is_not() {
        let (w, h) = (640, 360);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut frame = |person: Option<usize>| -> Vec<u8> {
            let mut out = vec![0u8; w * h];
            for y in 0..h {
                for x in 0..w {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let noise = ((seed >> 32) % 17) as i32 - 8;
                    let mut v = 40 + ((x / 4 * 7 + y / 4 * 3) % 20) as i32;
                    if person.is_some_and(|left| x >= left && (h / 3..h * 11 / 15).contains(&y)) {
                        v += 8;
                    }
                    out[y * w + x] = (v + noise).clamp(0, 255) as u8;
                }
            }
            out
        };
        let mut d = MotionDetector::new();
        let p = DetectorParams::default();
        for i in 0..60 {
            let a = d.analyse(&view(&frame(None), w, h), &p).unwrap();
            assert_eq!(a.level, 0.0, "frame {i}");
        }
        let mut seen = None;
        for i in 0..8 {
            let a = d
                .analyse(&view(&frame(Some(w - 4 - 4 * i)), w, h), &p)
                .unwrap();
            if a.level >= 0.002 {
                seen.get_or_insert(i);
            }
        }
        assert!(seen.is_some_and(|i| i <= 5), "first seen on frame {seen:?}");
    }

    /// A still night scene at a starved bitrate: the picture holds still between keyframes (its
    /// noise and all) and each keyframe (every 25th frame) redraws it with new noise and three
    /// patches a few boxes big 7 levels brighter or darker, which then hold. The weak-change cue
    /// takes none of it for motion (never 3 frames running at the element's default
    /// `min-area`); a faint person walking in, coming into view on a keyframe, is still seen
    /// within a few frames.
    #[test]
    fn starved_keyframes_at_night_are_not_motion_but_a_faint_person_is() {
        let (w, h) = (640, 360);
        let frame = |f: usize, person: Option<usize>| -> Vec<u8> {
            let mut seed = 0x2545_f491_4f6c_dd1du64 ^ (((f / 25) as u64 + 1) << 20);
            let mut rand = move || {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 32) as usize
            };
            let patches: Vec<(usize, usize, i32)> = (0..3)
                .map(|_| {
                    let (x, y) = (rand() % (w - 64), rand() % (h - 96));
                    (x, y, if rand() % 2 == 0 { 7 } else { -7 })
                })
                .collect();
            let mut out = vec![0u8; w * h];
            for y in 0..h {
                for x in 0..w {
                    let noise = (rand() % 17) as i32 - 8;
                    let mut v = 40 + ((x / 4 * 7 + y / 4 * 3) % 20) as i32;
                    for &(px, py, step) in &patches {
                        if (px..px + 64).contains(&x) && (py..py + 96).contains(&y) {
                            v += step;
                        }
                    }
                    if person.is_some_and(|left| x >= left && (h / 3..h * 11 / 15).contains(&y)) {
                        v -= 8;
                    }
                    out[y * w + x] = (v + noise).clamp(0, 255) as u8;
                }
            }
            out
        };
        let mut d = MotionDetector::new();
        let p = DetectorParams::default();
        let mut running = 0;
        for f in 0..300 {
            let a = d.analyse(&view(&frame(f, None), w, h), &p).unwrap();
            running = if a.level >= 0.002 { running + 1 } else { 0 };
            assert!(running < 3, "frame {f}: level {}", a.level);
        }
        assert_eq!(300 % 25, 0, "the person comes into view on a keyframe");
        let mut seen = None;
        for i in 0..8 {
            let a = d
                .analyse(&view(&frame(300 + i, Some(w - 4 - 4 * i)), w, h), &p)
                .unwrap();
            if a.level >= 0.002 {
                seen.get_or_insert(i);
            }
        }
        assert!(seen.is_some_and(|i| i <= 5), "first seen on frame {seen:?}");
    }

    /// A contrasty daylight scene that a broad, soft cloud shadow, darkening by up to 45 % at
    /// its middle, crosses at a walker's speed: the shadow flattens the picture below the
    /// daylight spread for about 5 s, and the weak-change cue of flat scenes, which its soft
    /// moving edge sets off (3 frames running without the scene's settled spread), stays off as
    /// the scene has not been flat for long. Nothing is motion.
    #[test]
    fn a_passing_cloud_shadow_is_not_motion() {
        let (w, h) = (640, 360);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let (cw, ch) = (h as f32 * 1.5, h as f32);
        let (sx, sy) = (cw / 3.0, ch / 2.0);
        let speed = w as f32 / 7.0 / 25.0;
        let mut frame = |f: usize| -> Vec<u8> {
            // The shadow's middle, from a shadow's width left of the picture.
            let cx = -cw / 2.0 + speed * f as f32;
            let mut out = vec![0u8; w * h];
            for y in 0..h {
                let gy = (y as f32 - ch / 2.0).powi(2) / (2.0 * sy * sy);
                for x in 0..w {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let noise = ((seed >> 32) % 9) as f32 - 4.0;
                    let v = 60.0 + ((x / 4 * 7 + y / 4 * 3) % 104) as f32;
                    let shade = 0.45 * (-(x as f32 - cx).powi(2) / (2.0 * sx * sx) - gy).exp();
                    out[y * w + x] = (v * (1.0 - shade) + noise).clamp(0.0, 255.0) as u8;
                }
            }
            out
        };
        let mut d = MotionDetector::new();
        let p = DetectorParams::default();
        let mut running = 0;
        let frames = ((w as f32 + cw) / speed) as usize;
        for f in 0..frames {
            let a = d.analyse(&view(&frame(f), w, h), &p).unwrap();
            running = if a.level >= 0.002 { running + 1 } else { 0 };
            assert!(running < 3, "frame {f}: level {}", a.level);
        }
    }

    #[test]
    fn brightness_step_is_compensated_and_huge_change_recalibrates() {
        let (w, h) = (160, 120);
        let mut scene = Scene::new(w, h, 3);
        let mut d = MotionDetector::new();
        let p = DetectorParams::default();
        for _ in 0..10 {
            d.analyse(&view(&scene.frame(0, None), w, h), &p).unwrap();
        }
        for _ in 0..10 {
            let a = d.analyse(&view(&scene.frame(40, None), w, h), &p).unwrap();
            assert_eq!(a.level, 0.0);
        }
        // Most of the picture changes at once (an infrared switch, a lamp on the wall):
        // re-learnt as lighting, not reported as motion.
        let other: Vec<u8> = (0..w * h).map(|_| (scene.rand() % 256) as u8).collect();
        let a = d.analyse(&view(&other, w, h), &p).unwrap();
        assert!(a.lighting_change);
        assert_eq!(a.level, 0.0);
        let a = d.analyse(&view(&other, w, h), &p).unwrap();
        assert!(!a.lighting_change);
        assert_eq!(a.level, 0.0);
    }

    #[test]
    fn ignored_zone_hides_motion() {
        let (w, h) = (160, 120);
        let mut scene = Scene::new(w, h, 5);
        let mut d = MotionDetector::new();
        let p = zoned("ignore:0,0,0.5,1");
        for i in 0..20 {
            let sq = (i > 5).then_some((5 + i, 40, 30));
            let a = d.analyse(&view(&scene.frame(0, sq), w, h), &p).unwrap();
            assert_eq!(a.level, 0.0);
            assert_eq!(a.watched_cells, w * h / 2);
        }
    }

    #[test]
    fn a_watched_cell_the_global_fit_does_not_sample_stays_quiet() {
        // A 160x90 grid, every third cell sampled by the fit: the one watched cell (column 1
        // of row 0) is not one of them, so the fit has no sample and must change nothing.
        let (w, h) = (160, 90);
        let mut scene = Scene::new(w, h, 11);
        let mut d = MotionDetector::new();
        let p = zoned("watch:0.00625,0,0.0125,0.011");
        let still = scene.frame(0, None);
        for _ in 0..(WARMUP_FRAMES as usize + 10) {
            let a = d.analyse(&view(&still, w, h), &p).unwrap();
            assert_eq!(a.watched_cells, 1);
            assert_eq!(a.level, 0.0);
            assert!(!a.lighting_change);
        }
    }

    /// How the regression scene's luma is laid out in memory.
    #[derive(Debug, Clone, Copy)]
    enum TestLayout {
        /// One byte per pixel, rows `pad` bytes longer than the picture.
        Planar { pad: usize },
        /// YUY2: luma in every other byte.
        Yuy2,
        /// BGRx with a tint, so the RGB weights matter.
        Bgrx,
        /// 16-bit little-endian words: 10-bit values in the low bits (I420_10LE) when `shift`
        /// is 2, in the high bits (P010_10LE) when it is 8.
        Deep { shift: u32 },
    }

    fn fold(hash: &mut u64, word: u64) {
        for byte in word.to_le_bytes() {
            *hash = (*hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Runs a fixed 56-frame scene through one detector: warm-up on a noisy textured scene,
    /// a moving square and a few isolated specks, a brightness-and-gain step, a lighting
    /// change to a random picture, a zone change, zones that leave nothing to watch, and a
    /// reset. Returns a checksum of every frame's analysis and of the background, noise and
    /// fit split after every frame, and how many frames had motion, warmed up and were
    /// lighting changes. `portable` runs the baseline code instead of what the CPU picks.
    fn regression_run(
        w: usize,
        h: usize,
        layout: TestLayout,
        analysis_width: usize,
        portable: bool,
    ) -> (u64, [usize; 3]) {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ (w * 31 + h) as u64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 32) as u32
        };
        let random_picture: Vec<u8> = (0..w * h).map(|_| (rand() % 256) as u8).collect();
        let cell = (w / analysis_width).max(1);
        let zoned = DetectorParams {
            threshold: 18,
            analysis_width,
            zones: Arc::new(
                parse_zones(
                    "watch:0.05,0.05,0.95,0.95;ignore:0.5,0,1,0.3;\
                     watch:poly(0.1 0.9, 0.5 0.5, 0.9 0.9)",
                )
                .unwrap(),
            ),
            ..DetectorParams::default()
        };
        let blind = DetectorParams {
            threshold: 25,
            analysis_width,
            zones: Arc::new(parse_zones("ignore:0,0,1,1").unwrap()),
            ..DetectorParams::default()
        };
        let plain = DetectorParams {
            analysis_width,
            ..DetectorParams::default()
        };
        let mut d = MotionDetector::new();
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        let mut counts = [0usize; 3];
        for f in 0..56usize {
            let (offset, gain) = match f {
                24..32 => (25.0, 1.15),
                _ => (0.0, 1.0),
            };
            let square = matches!(f, 12..24 | 36..56).then(|| {
                let side = h / 5;
                ((f * w / 40) % (w - side), h / 3, side)
            });
            let luma: Vec<u8> = (0..w * h)
                .map(|i| {
                    let (x, y) = (i % w, i / w);
                    let noise = (rand() % 13) as i32 - 6;
                    if let Some((sx, sy, side)) = square {
                        if (sx..sx + side).contains(&x) && (sy..sy + side).contains(&y) {
                            return (225 + noise).clamp(0, 255) as u8;
                        }
                    }
                    let speck = (14..20).contains(&f)
                        && (x / cell) % 37 == 5
                        && (y * 90 / h) % 23 == 7
                        && x % cell < cell.div_ceil(2);
                    let v = if speck {
                        250
                    } else if (32..40).contains(&f) {
                        i32::from(random_picture[i - x % 4])
                    } else {
                        let base = 40 + ((x * 160 / w) * 7 + (y * 90 / h) * 3) % 150;
                        (base as f32 * gain + offset) as i32
                    };
                    (v + noise).clamp(0, 255) as u8
                })
                .collect();
            let (data, stride, pixel_layout) = match layout {
                TestLayout::Planar { pad } => {
                    let stride = w + pad;
                    let mut data = vec![0x55u8; stride * h];
                    for (row, src) in data.chunks_exact_mut(stride).zip(luma.chunks_exact(w)) {
                        row[..w].copy_from_slice(src);
                    }
                    let layout = PixelLayout::Luma {
                        pixel_stride: 1,
                        offset: 0,
                    };
                    (data, stride, layout)
                }
                TestLayout::Yuy2 => {
                    let data = luma
                        .iter()
                        .enumerate()
                        .flat_map(|(i, &v)| [v, (i % 256) as u8])
                        .collect();
                    let layout = PixelLayout::Luma {
                        pixel_stride: 2,
                        offset: 0,
                    };
                    (data, w * 2, layout)
                }
                TestLayout::Deep { shift } => {
                    // The 8-bit value in the word's top 8 of 10 bits, the bits below it zero:
                    // the detector must see exactly the 8-bit picture.
                    let data = luma
                        .iter()
                        .flat_map(|&v| (u16::from(v) << shift).to_le_bytes())
                        .collect();
                    let layout = PixelLayout::Luma16 {
                        pixel_stride: 2,
                        offset: 0,
                        shift,
                    };
                    (data, w * 2, layout)
                }
                TestLayout::Bgrx => {
                    let data = luma
                        .iter()
                        .flat_map(|&v| [v / 2, v, v.saturating_add(20), 0])
                        .collect();
                    let layout = PixelLayout::Rgb {
                        pixel_stride: 4,
                        r: 2,
                        g: 1,
                        b: 0,
                    };
                    (data, w * 4, layout)
                }
            };
            if f == 48 {
                d.reset();
            }
            let params = match f {
                40..44 | 46..56 => &zoned,
                44..46 => &blind,
                _ => &plain,
            };
            let frame = LumaFrame {
                data: &data,
                width: w,
                height: h,
                stride,
                layout: pixel_layout,
            };
            let a = if portable {
                d.analyse_portable(&frame, params)
            } else {
                d.analyse(&frame, params)
            }
            .unwrap();
            fold(&mut hash, a.level.to_bits());
            fold(&mut hash, a.watched_cells as u64);
            fold(&mut hash, u64::from(a.warming_up));
            fold(&mut hash, u64::from(a.lighting_change));
            for v in d.background.iter().chain(&d.noise) {
                fold(&mut hash, u64::from(v.to_bits()));
            }
            fold(&mut hash, u64::from(d.fit_split.to_bits()));
            counts[0] += usize::from(a.level > 0.0);
            counts[1] += usize::from(a.warming_up);
            counts[2] += usize::from(a.lighting_change);
        }
        (hash, counts)
    }

    /// The detector's results, bit for bit, on every sampling path and on both the baseline and
    /// the CPU-specific (AVX2) build of the code: the checksums were recorded from a reference
    /// run, so any change to the arithmetic shows here.
    #[test]
    fn results_are_bit_exact_on_a_fixed_scene() {
        let cases = [
            (
                1280,
                720,
                TestLayout::Planar { pad: 0 },
                160,
                0x352a_b1e0_723c_e051,
                21,
            ),
            (
                1920,
                1080,
                TestLayout::Planar { pad: 0 },
                160,
                0x5c0e_c5d5_5027_ba2c,
                21,
            ),
            (
                960,
                540,
                TestLayout::Planar { pad: 64 },
                80,
                0xc2af_0de4_1942_88c8,
                21,
            ),
            (
                1000,
                562,
                TestLayout::Planar { pad: 8 },
                160,
                0x45e5_bbc3_9181_58fa,
                21,
            ),
            (
                330,
                200,
                TestLayout::Planar { pad: 0 },
                160,
                0x700c_263f_62de_6326,
                21,
            ),
            (
                100,
                60,
                TestLayout::Planar { pad: 3 },
                160,
                0x1407_7929_5f7d_f5af,
                21,
            ),
            (320, 180, TestLayout::Yuy2, 160, 0xe5f6_14c0_8eec_a00e, 21),
            (640, 360, TestLayout::Bgrx, 160, 0x366f_3bf8_0c17_8a9d, 21),
        ];
        for ((w, h, layout, analysis_width, expected, motion), portable) in cases
            .into_iter()
            .flat_map(|case| [(case, false), (case, true)])
        {
            let (hash, counts) = regression_run(w, h, layout, analysis_width, portable);
            let what =
                format!("{w}x{h} {layout:?} analysis-width {analysis_width} portable {portable}");
            assert_eq!(hash, expected, "{what}");
            // Motion, warm-up and lighting frames all occur, so every branch is covered.
            assert_eq!(counts, [motion, 18, 2], "{what}");
        }
    }

    /// 10-bit luma, in the low bits (I420_10LE) or the high bits (P010_10LE) of its word, is
    /// analysed as its top 8 bits: the same results, bit for bit, as the 8-bit picture.
    #[test]
    fn deep_luma_is_analysed_as_its_eight_bit_picture() {
        let (eight, counts) = regression_run(320, 180, TestLayout::Planar { pad: 0 }, 160, false);
        for shift in [2, 8] {
            for portable in [false, true] {
                let deep = regression_run(320, 180, TestLayout::Deep { shift }, 160, portable);
                assert_eq!(deep, (eight, counts), "shift {shift} portable {portable}");
            }
        }
    }

    #[test]
    fn rgb_and_luma_layouts_agree() {
        let (w, h) = (64, 32);
        let grey: Vec<u8> = (0..w * h).map(|i| (i % 251) as u8).collect();
        let rgba: Vec<u8> = grey.iter().flat_map(|&v| [v, v, v, 255]).collect();
        let mut a = Grid::new(&view(&grey, w, h), 16).unwrap();
        let rgb_frame = LumaFrame {
            data: &rgba,
            width: w,
            height: h,
            stride: w * 4,
            layout: PixelLayout::Rgb {
                pixel_stride: 4,
                r: 0,
                g: 1,
                b: 2,
            },
        };
        let b = Grid::new(&rgb_frame, 16).unwrap();
        let (mut la, mut lb) = (vec![0.0; a.cells()], vec![0.0; b.cells()]);
        a.sample(&grey, &mut la);
        b.sample(&rgba, &mut lb);
        for (x, y) in la.iter().zip(&lb) {
            assert!((x - y).abs() < 1.0, "{x} vs {y}");
        }
        a.requested_width = 0;
        assert!(!a.matches(&view(&grey, w, h), 16));
    }
}
