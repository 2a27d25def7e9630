// SPDX-License-Identifier: MIT OR Apache-2.0

//! The `motionalarm` subclass.
//!
//! Locks: `settings` (property values) and `state` (detector, alarm policy) are never held
//! together, and neither is held while an event is pushed, a message posted or a property
//! notified.

use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;

use super::detector::{DetectorParams, LumaFrame, MotionDetector, PixelLayout};
use super::hysteresis::{AlarmChange, Hysteresis};
use super::zones::Zones;
use super::ALARM_KIND;
use crate::lock;
use crate::messages::Alarm;

mod properties;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "motionalarm",
        gst::DebugColorFlags::empty(),
        Some("camwall motion detector"),
    )
});

const DEFAULT_CAMERA_ID: &str = "";
const DEFAULT_THRESHOLD: u32 = 25;
const _: () = assert!(
    DEFAULT_THRESHOLD == super::detector::WEAK_FULL_UP_TO,
    "the weak-change cue is tuned at the default threshold"
);
const DEFAULT_MIN_AREA: f64 = 0.002;
const DEFAULT_MIN_FRAMES: u32 = 3;
const DEFAULT_HOLD_MS: u32 = 2000;
const DEFAULT_ANALYSIS_WIDTH: u32 = 160;
const DEFAULT_ENABLED: bool = true;
const DEFAULT_LEARN_IGNORE: bool = true;

/// Formats whose luma (or RGB) is read in place.
const FORMATS: &[gst_video::VideoFormat] = &[
    gst_video::VideoFormat::I420,
    gst_video::VideoFormat::Yv12,
    gst_video::VideoFormat::Nv12,
    gst_video::VideoFormat::Nv21,
    gst_video::VideoFormat::Y41b,
    gst_video::VideoFormat::Y42b,
    gst_video::VideoFormat::Y444,
    gst_video::VideoFormat::Gray8,
    gst_video::VideoFormat::Yuy2,
    gst_video::VideoFormat::Uyvy,
    gst_video::VideoFormat::Yvyu,
    gst_video::VideoFormat::Bgrx,
    gst_video::VideoFormat::Rgbx,
    gst_video::VideoFormat::Xrgb,
    gst_video::VideoFormat::Xbgr,
    gst_video::VideoFormat::Bgra,
    gst_video::VideoFormat::Rgba,
    gst_video::VideoFormat::Argb,
    gst_video::VideoFormat::Abgr,
    gst_video::VideoFormat::Rgb,
    gst_video::VideoFormat::Bgr,
    // What decoders of 10- and 12-bit streams (H.265 Main10, 4:2:2 10-bit H.264) and hardware
    // decoders output; luma is read from its 16-bit words where it lies, with no conversion.
    gst_video::VideoFormat::Nv16,
    gst_video::VideoFormat::Nv24,
    gst_video::VideoFormat::I42010le,
    gst_video::VideoFormat::I42012le,
    gst_video::VideoFormat::I42210le,
    gst_video::VideoFormat::I42212le,
    gst_video::VideoFormat::Y44410le,
    gst_video::VideoFormat::Y44412le,
    gst_video::VideoFormat::P01010le,
    gst_video::VideoFormat::P012Le,
    gst_video::VideoFormat::P016Le,
    gst_video::VideoFormat::Gray16Le,
];

/// Raw video in every format of [`FORMATS`], in that order.
static TEMPLATE_CAPS: LazyLock<gst::Caps> = LazyLock::new(|| {
    gst_video::VideoCapsBuilder::new()
        .format_list(FORMATS.iter().copied())
        .build()
});

#[derive(Debug, Clone)]
struct Settings {
    camera_id: String,
    threshold: u32,
    min_area: f64,
    min_frames: u32,
    hold_ms: u32,
    analysis_width: u32,
    zones: Arc<Zones>,
    zones_text: String,
    enabled: bool,
    learn_ignore: bool,
    /// Where the next analysed frame's debug image goes, once.
    debug_mask_file: Option<String>,
    /// The last path asked for, as the property reads.
    debug_mask_path: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            camera_id: DEFAULT_CAMERA_ID.to_string(),
            threshold: DEFAULT_THRESHOLD,
            min_area: DEFAULT_MIN_AREA,
            min_frames: DEFAULT_MIN_FRAMES,
            hold_ms: DEFAULT_HOLD_MS,
            analysis_width: DEFAULT_ANALYSIS_WIDTH,
            zones: Arc::new(Zones::default()),
            zones_text: String::new(),
            enabled: DEFAULT_ENABLED,
            learn_ignore: DEFAULT_LEARN_IGNORE,
            debug_mask_file: None,
            debug_mask_path: String::new(),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    detector: MotionDetector,
    policy: Hysteresis,
    /// How to read luma out of the negotiated format.
    layout: Option<PixelLayout>,
    level: f64,
    /// An alarm was cut short by a flush; its end goes out with the next frame.
    end_pending: bool,
    /// A frame could not be analysed; warned once per format.
    warned: bool,
    /// The detector's count of learnt-patch changes last notified.
    learned_seen: u64,
}

/// An alarm change ready to announce once the locks are released.
struct Announcement {
    active: bool,
    level: f64,
    running_time: Option<u64>,
}

#[derive(Default)]
pub struct MotionAlarm {
    settings: Mutex<Settings>,
    state: Mutex<State>,
}

impl MotionAlarm {
    fn settings(&self) -> MutexGuard<'_, Settings> {
        lock(&self.settings)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn camera_id(&self) -> String {
        let id = self.settings().camera_id.clone();
        if id.is_empty() {
            self.obj().name().to_string()
        } else {
            id
        }
    }

    /// Posts the alarm on the bus, sends it downstream and notifies `alarm`. No lock held.
    fn announce(&self, a: Announcement) {
        let alarm = Alarm {
            camera_id: self.camera_id(),
            kind: ALARM_KIND.to_string(),
            active: a.active,
            level: a.level,
            running_time: a.running_time.map(gst::ClockTime::from_nseconds),
        };
        gst::info!(
            CAT,
            imp = self,
            "alarm {} (level {:.4}, running time {:?})",
            if a.active { "started" } else { "ended" },
            a.level,
            alarm.running_time
        );
        let obj = self.obj();
        if obj.post_message(alarm.to_message(&*obj)).is_err() {
            gst::debug!(CAT, imp = self, "no bus to post the alarm on");
        }
        if !obj.src_pad().push_event(alarm.to_event()) {
            gst::debug!(CAT, imp = self, "downstream did not take the alarm event");
        }
        obj.notify("alarm");
    }

    /// Ends an active (or flush-interrupted) alarm, e.g. at EOS or when disabled.
    fn end_alarm(state: &mut State, running_time: Option<u64>) -> Option<Announcement> {
        let was_active = state.policy.end() | std::mem::take(&mut state.end_pending);
        was_active.then(|| Announcement {
            active: false,
            level: state.level,
            running_time: running_time.or(state.policy.last_time()),
        })
    }

    fn running_time(&self, pts: Option<gst::ClockTime>) -> Option<u64> {
        let segment = self.obj().segment();
        segment
            .downcast_ref::<gst::ClockTime>()
            .and_then(|s| s.to_running_time(pts?))
            .map(gst::ClockTime::nseconds)
    }
}

#[glib::object_subclass]
impl ObjectSubclass for MotionAlarm {
    // Element names default to the type name without "Gst": motionalarm0, motionalarm1, ...
    const NAME: &'static str = "GstMotionAlarm";
    type Type = super::MotionAlarm;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for MotionAlarm {
    fn constructed(&self) {
        self.parent_constructed();
        // Frames must reach the viewer untouched: a late frame is the sink's to drop, not a
        // detector's (VideoFilter turns QoS on by default).
        self.obj().set_qos(false);
    }

    fn properties() -> &'static [glib::ParamSpec] {
        Self::specs()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        self.set(value, pspec)
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        self.get(pspec)
    }
}

impl GstObjectImpl for MotionAlarm {}

impl ElementImpl for MotionAlarm {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Motion alarm",
                "Filter/Analyzer/Video",
                "Detects motion in passing video, ignoring sensor noise, compression flicker \
                 and lighting changes, and raises and clears camwall-alarm messages and \
                 downstream events; frames pass through untouched",
                "camwall developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = &*TEMPLATE_CAPS;
            [gst::PadDirection::Src, gst::PadDirection::Sink]
                .into_iter()
                .map(|dir| {
                    let name = if dir == gst::PadDirection::Src {
                        "src"
                    } else {
                        "sink"
                    };
                    gst::PadTemplate::new(name, dir, gst::PadPresence::Always, caps)
                        .expect("static pad template")
                })
                .collect()
        });
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for MotionAlarm {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = true;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = true;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        gst::info!(CAT, imp = self, "starting");
        *self.state() = State::default();
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        let was_alarm = {
            let mut state = self.state();
            let was = state.policy.is_active() || state.end_pending;
            *state = State::default();
            was
        };
        gst::info!(CAT, imp = self, "stopped");
        if was_alarm {
            self.obj().notify("alarm");
        }
        Ok(())
    }

    /// Answers caps queries with the formats in this element's order of preference (luma
    /// planes first, where analysis reads one byte per pixel), not the asker's: left to
    /// itself, `videotestsrc ! motionalarm` would pick an RGB format and pay for computing luma.
    /// Upstream can still pick any format it prefers with a caps filter.
    fn query(&self, direction: gst::PadDirection, query: &mut gst::QueryRef) -> bool {
        if !BaseTransformImplExt::parent_query(self, direction, query) {
            return false;
        }
        if let gst::QueryViewMut::Caps(q) = query.view_mut() {
            if let Some(result) = q.result_owned() {
                let preferred =
                    TEMPLATE_CAPS.intersect_with_mode(&result, gst::CapsIntersectMode::First);
                q.set_result(&preferred);
            }
        }
        true
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::FlushStop(_) => {
                let mut state = self.state();
                gst::debug!(CAT, imp = self, "flushed: relearning the background");
                state.detector.reset();
                if state.policy.end() {
                    state.end_pending = true;
                }
            }
            gst::EventView::StreamStart(_) => {
                let mut state = self.state();
                state.detector.reset();
                state.policy.restart_count();
            }
            gst::EventView::Eos(_) => {
                let ended = Self::end_alarm(&mut self.state(), None);
                if let Some(a) = ended {
                    self.announce(a);
                }
            }
            _ => (),
        }
        self.parent_sink_event(event)
    }
}

impl VideoFilterImpl for MotionAlarm {
    fn set_info(
        &self,
        incaps: &gst::Caps,
        in_info: &gst_video::VideoInfo,
        _outcaps: &gst::Caps,
        _out_info: &gst_video::VideoInfo,
    ) -> Result<(), gst::LoggableError> {
        let finfo = in_info.format_info();
        let pixel_stride = usize::try_from(finfo.pixel_stride()[0]).unwrap_or(0);
        let poffset = finfo.poffset();
        let planes = finfo.plane();
        let layout = if finfo.is_rgb() {
            if finfo.n_components() < 3 || planes[..3].iter().any(|&p| p != 0) {
                return Err(gst::loggable_error!(CAT, "unsupported RGB layout {incaps}"));
            }
            PixelLayout::Rgb {
                pixel_stride,
                r: poffset[0] as usize,
                g: poffset[1] as usize,
                b: poffset[2] as usize,
            }
        } else {
            if planes[0] != 0 {
                return Err(gst::loggable_error!(CAT, "luma not in plane 0: {incaps}"));
            }
            let depth = finfo.depth()[0];
            if depth <= 8 {
                PixelLayout::Luma {
                    pixel_stride,
                    offset: poffset[0] as usize,
                }
            } else if finfo.is_le() && pixel_stride >= 2 && depth <= 16 {
                // A word per luma sample: its top 8 bits, wherever the format puts them.
                PixelLayout::Luma16 {
                    pixel_stride,
                    offset: poffset[0] as usize,
                    shift: finfo.shift()[0] + depth - 8,
                }
            } else {
                return Err(gst::loggable_error!(
                    CAT,
                    "unsupported luma layout {incaps}"
                ));
            }
        };
        if pixel_stride == 0 {
            return Err(gst::loggable_error!(CAT, "no pixel stride for {incaps}"));
        }
        gst::debug!(CAT, imp = self, "analysing {incaps} as {layout:?}");
        let mut state = self.state();
        state.layout = Some(layout);
        state.warned = false;
        // The detector sees the new geometry on the next frame and starts a new background;
        // an ongoing alarm carries on (its hold is counted in running time).
        state.detector.reset();
        state.policy.restart_count();
        Ok(())
    }

    fn transform_frame_ip_passthrough(
        &self,
        frame: &gst_video::VideoFrameRef<&gst::BufferRef>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let (params, min_area, min_frames, hold_ns, enabled, debug_file) = {
            let mut s = self.settings();
            (
                DetectorParams {
                    threshold: s.threshold,
                    analysis_width: s.analysis_width as usize,
                    zones: s.zones.clone(),
                    learn_ignore: s.learn_ignore,
                },
                s.min_area,
                s.min_frames,
                u64::from(s.hold_ms) * 1_000_000,
                s.enabled,
                s.debug_mask_file.take(),
            )
        };
        let mut learned_changed = false;
        let mut debug_image = None;
        let running_time = self.running_time(frame.buffer().pts());

        let mut announcements = Vec::with_capacity(2);
        {
            let mut state = self.state();
            if state.end_pending {
                state.end_pending = false;
                announcements.push(Announcement {
                    active: false,
                    level: 0.0,
                    running_time: running_time.or(state.policy.last_time()),
                });
            }
            if !enabled {
                state.detector.reset();
                state.level = 0.0;
                announcements.extend(Self::end_alarm(&mut state, running_time));
            } else {
                let Some(layout) = state.layout else {
                    return Err(gst::FlowError::NotNegotiated);
                };
                let stride = usize::try_from(frame.plane_stride()[0]).unwrap_or(0);
                let data = frame.plane_data(0).unwrap_or(&[]);
                let luma = LumaFrame {
                    data,
                    width: frame.width() as usize,
                    height: frame.height() as usize,
                    stride,
                    layout,
                };
                match state.detector.analyse(&luma, &params) {
                    Ok(analysis) => {
                        state.level = analysis.level;
                        let changes = state.detector.learned_changes();
                        if changes != state.learned_seen {
                            state.learned_seen = changes;
                            learned_changed = true;
                        }
                        if analysis.whole_picture {
                            gst::debug!(CAT, imp = self, "the whole picture moved: not motion");
                            state.policy.restart_count();
                        }
                        if analysis.warming_up || analysis.lighting_change {
                            gst::debug!(
                                CAT,
                                imp = self,
                                "background (re)learnt (lighting change: {})",
                                analysis.lighting_change
                            );
                            state.policy.restart_count();
                        }
                        let motion = analysis.level > 0.0 && analysis.level >= min_area;
                        gst::trace!(
                            CAT,
                            imp = self,
                            "level {:.4} motion {motion} at {running_time:?}",
                            analysis.level
                        );
                        let change = state
                            .policy
                            .update(motion, running_time, min_frames, hold_ns);
                        if let Some(change) = change {
                            announcements.push(Announcement {
                                active: change == AlarmChange::Started,
                                level: analysis.level,
                                running_time: running_time.or(state.policy.last_time()),
                            });
                        }
                    }
                    Err(err) => {
                        if !std::mem::replace(&mut state.warned, true) {
                            gst::warning!(CAT, imp = self, "cannot analyse frame: {err}");
                        }
                    }
                }
                if debug_file.is_some() {
                    debug_image = state.detector.debug_image();
                }
            }
        }
        if let (Some(path), Some(image)) = (debug_file, debug_image) {
            match std::fs::write(&path, image) {
                Ok(()) => gst::info!(CAT, imp = self, "debug mask written to {path}"),
                Err(err) => gst::warning!(CAT, imp = self, "cannot write {path}: {err}"),
            }
        }
        if learned_changed {
            gst::info!(
                CAT,
                imp = self,
                "learned to ignore: '{}'",
                self.state().detector.learned_mask()
            );
            self.obj().notify("learned-mask");
        }
        for a in announcements {
            self.announce(a);
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
