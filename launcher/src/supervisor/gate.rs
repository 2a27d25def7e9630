// SPDX-License-Identifier: MIT OR Apache-2.0

//! A camera with a sub-stream (`detect_url`): its main stream stays connected but is decoded
//! only while something shows it. Three probes in the camera's bin do it:
//!
//! - the **gate** between the main stream's parser and decoder keeps every frame since the last
//!   keyframe and lets nothing through while nothing shows the camera; when something starts
//!   to, it hands the decoder those kept frames at once (a burst), then the live ones;
//! - after the main decoder, the pictures of a burst but its last are dropped: the first main
//!   picture shown is the newest one;
//! - after the sub-stream's `motionalarm`, its frames are dropped while main-stream pictures
//!   flow, so each camera sends one picture stream on: the sub-stream's (shown scaled by the
//!   page) until the main stream's first picture, then the main stream's. Its alarm events
//!   always go on.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gst::prelude::*;
use gstcamwall::lock;

/// The most the gate keeps of a group of pictures; a camera with longer ones starts its main
/// stream at its next keyframe instead (the sub-stream shows meanwhile).
const MAX_KEPT_FRAMES: usize = 300;
const MAX_KEPT_BYTES: usize = 24 << 20;

/// How long after the main stream's last picture the sub-stream's frames stay held back: a few
/// frame intervals of even a slow main stream.
const MAIN_LIVE_MS: u64 = 300;

/// What the gate keeps: the frames since the last keyframe, in decoding order.
#[derive(Default)]
struct Kept {
    frames: Vec<gst::Buffer>,
    bytes: usize,
    /// Whether `frames` starts at a keyframe (not before the first one, nor after an overflow).
    whole: bool,
}

impl Kept {
    fn keep(&mut self, buffer: &gst::BufferRef) {
        if !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT) {
            self.frames.clear();
            self.bytes = 0;
            self.whole = true;
        }
        if !self.whole {
            return;
        }
        if self.frames.len() >= MAX_KEPT_FRAMES || self.bytes + buffer.size() > MAX_KEPT_BYTES {
            *self = Kept::default();
            return;
        }
        self.bytes += buffer.size();
        self.frames.push(buffer.to_owned());
    }
}

/// One camera's gate and what its probes share.
pub(super) struct MainGate {
    kept: Mutex<Kept>,
    /// Whether the main stream is let through to its decoder now.
    open: AtomicBool,
    /// Pictures of a burst with a timestamp before this one (ns) are not shown; `u64::MAX` when
    /// there is no burst.
    shown_from: AtomicU64,
    /// When the last main-stream picture went on (ms since `epoch`, 0 never).
    main_at_ms: AtomicU64,
    epoch: Instant,
}

impl MainGate {
    pub(super) fn new() -> Arc<MainGate> {
        Arc::new(MainGate {
            kept: Mutex::default(),
            open: AtomicBool::new(false),
            shown_from: AtomicU64::new(u64::MAX),
            main_at_ms: AtomicU64::new(0),
            epoch: Instant::now(),
        })
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    /// Whether main-stream pictures are flowing now.
    pub(super) fn main_live(&self) -> bool {
        let at = self.main_at_ms.load(Ordering::Relaxed);
        at != 0 && self.now_ms().saturating_sub(at) <= MAIN_LIVE_MS
    }

    /// The gate on `pad` (the main stream's, between parser and decoder): `wanted` says
    /// whether something shows the camera now.
    pub(super) fn guard(
        self: &Arc<Self>,
        pad: &gst::Pad,
        wanted: impl Fn() -> bool + Send + Sync + 'static,
    ) {
        let gate = self.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let Some(buffer) = info.buffer() else {
                return gst::PadProbeReturn::Ok;
            };
            // `wanted` reads the application's state: never called under the kept frames' lock.
            lock(&gate.kept).keep(buffer);
            if !wanted() {
                gate.open.store(false, Ordering::Relaxed);
                return gst::PadProbeReturn::Drop;
            }
            if gate.open.load(Ordering::Relaxed) {
                return gst::PadProbeReturn::Ok;
            }
            // Only this streaming thread keeps frames: they are as left above.
            let burst: Vec<gst::Buffer> = {
                let kept = lock(&gate.kept);
                if !kept.whole {
                    // Nothing to decode from before the next keyframe.
                    return gst::PadProbeReturn::Drop;
                }
                // Opening: the decoder gets the frames since the last keyframe at once, then
                // this one; it shows only the newest.
                kept.frames[..kept.frames.len() - 1].to_vec()
            };
            gate.open.store(true, Ordering::Relaxed);
            let newest = burst.iter().filter_map(|b| b.pts()).max();
            let current = buffer.pts();
            let from = match (newest, current) {
                (Some(n), Some(c)) => n.max(c),
                (n, c) => n.or(c).unwrap_or(gst::ClockTime::ZERO),
            };
            gate.shown_from.store(from.nseconds(), Ordering::Relaxed);
            if let Some(decoder) = pad.peer() {
                for (i, mut frame) in burst.into_iter().enumerate() {
                    if i == 0 {
                        frame.make_mut().set_flags(gst::BufferFlags::DISCONT);
                    }
                    if decoder.chain(frame).is_err() {
                        break;
                    }
                }
            }
            gst::PadProbeReturn::Ok
        });
    }

    /// On `pad`, after the main decoder: drops a burst's pictures but its newest, notes when
    /// main pictures go on and their size.
    pub(super) fn after_decoder(
        self: &Arc<Self>,
        pad: &gst::Pad,
        size: impl Fn(u32, u32) + Send + Sync + 'static,
    ) {
        let gate = self.clone();
        pad.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
            move |_, info| {
                if let Some(ev) = info.event() {
                    if let gst::EventView::Caps(c) = ev.view() {
                        if let Ok(vi) = gst_video::VideoInfo::from_caps(c.caps()) {
                            size(vi.width(), vi.height());
                        }
                    }
                    return gst::PadProbeReturn::Ok;
                }
                let from = gate.shown_from.load(Ordering::Relaxed);
                let pts = info.buffer().and_then(|b| b.pts()).map(|t| t.nseconds());
                if from != u64::MAX {
                    if pts.is_some_and(|p| p < from) {
                        return gst::PadProbeReturn::Drop;
                    }
                    gate.shown_from.store(u64::MAX, Ordering::Relaxed);
                }
                gate.main_at_ms.store(gate.now_ms(), Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            },
        );
    }

    /// On `pad`, the sub-stream's way into the funnel (`merge`): its frames are held back while
    /// main-stream pictures flow. Its alarm events go on whichever stream flows: they are pushed
    /// out of the funnel directly (a serialized event on the funnel's idle pad would switch its
    /// caps to the sub-stream's and back).
    pub(super) fn after_detection(self: &Arc<Self>, pad: &gst::Pad, merge: &gst::Element) {
        let gate = self.clone();
        let Some(out) = merge.static_pad("src") else {
            return;
        };
        pad.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
            move |_, info| {
                if info.buffer().is_some() {
                    return if gate.main_live() {
                        gst::PadProbeReturn::Drop
                    } else {
                        gst::PadProbeReturn::Ok
                    };
                }
                let Some(ev) = info.event() else {
                    return gst::PadProbeReturn::Ok;
                };
                let alarm = matches!(ev.view(), gst::EventView::CustomDownstream(_));
                if alarm && gate.main_live() && out.current_caps().is_some() {
                    let _stream = out.stream_lock();
                    out.push_event(ev.to_owned());
                    return gst::PadProbeReturn::Drop;
                }
                gst::PadProbeReturn::Ok
            },
        );
    }
}
