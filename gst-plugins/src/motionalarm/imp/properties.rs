// SPDX-License-Identifier: MIT OR Apache-2.0

//! `motionalarm`'s properties: their specs (what `gst-inspect-1.0` shows), and reading and
//! writing them.

use super::*;

impl MotionAlarm {
    pub(super) fn specs() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("camera-id")
                    .nick("Camera ID")
                    .blurb(
                        "Camera this element watches, copied into every camwall-alarm \
                         (empty: the element's name)",
                    )
                    .default_value(Some(DEFAULT_CAMERA_ID))
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("threshold")
                    .nick("Threshold")
                    .blurb(
                        "Luma change (0-255) a downscaled pixel must show, beyond the frame's \
                         global brightness change and 2.5 times the pixel's own noise, to \
                         count as changed (lowered to as little as 0.4 of it in a flat \
                         scene, where a person-sized patch that changes weakly but steadily \
                         also counts; above the default that cue fades, and at 255 it is off)",
                    )
                    .minimum(1)
                    .maximum(255)
                    .default_value(DEFAULT_THRESHOLD)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("min-area")
                    .nick("Minimum area")
                    .blurb(
                        "Fraction of the watched area that must change (isolated changed \
                         pixels do not count) for a frame to count as motion",
                    )
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_MIN_AREA)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("min-frames")
                    .nick("Minimum frames")
                    .blurb("Consecutive motion frames before an alarm starts")
                    .minimum(1)
                    .maximum(1000)
                    .default_value(DEFAULT_MIN_FRAMES)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("hold-ms")
                    .nick("Hold time")
                    .blurb(
                        "Running time in milliseconds without motion after which an alarm \
                         ends",
                    )
                    .minimum(0)
                    .maximum(3_600_000)
                    .default_value(DEFAULT_HOLD_MS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("analysis-width")
                    .nick("Analysis width")
                    .blurb(
                        "Width in pixels of the downscaled picture actually analysed (height \
                         follows the aspect ratio; never more than the frame's width). Larger \
                         sees smaller objects and costs more: about 0.08 ms per 1080p frame at \
                         160, 0.35 ms at 320",
                    )
                    .minimum(16)
                    .maximum(3840)
                    .default_value(DEFAULT_ANALYSIS_WIDTH)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("zones")
                    .nick("Zones")
                    .blurb(
                        "Areas to watch or ignore, ';'-separated, coordinates as fractions \
                         (0-1) of width and height: 'watch:x0,y0,x1,y1' or \
                         'ignore:poly(x y,x y,x y,...)'. With any watch zone only those are \
                         watched; ignore wins where zones overlap. Empty: the whole frame. \
                         Example: 'watch:0.1,0.1,0.9,0.9;ignore:0,0,1,0.1'. An invalid string \
                         is refused with a warning and the old zones kept",
                    )
                    .default_value(Some(""))
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("enabled")
                    .nick("Enabled")
                    .blurb("Analyse frames; when turned off, an ongoing alarm ends")
                    .default_value(DEFAULT_ENABLED)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("learn-ignore")
                    .nick("Learn what to ignore")
                    .blurb(
                        "Learn the patches that change by themselves on a fixed cadence, such \
                         as a burnt-in clock and date, and ignore them (see learned-mask)",
                    )
                    .default_value(DEFAULT_LEARN_IGNORE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("learned-mask")
                    .nick("Learned mask")
                    .blurb(
                        "Patches learnt to change by themselves and ignored, in the zones \
                         syntax ('ignore:x0,y0,x1,y1;...'; empty: none yet); notified when it \
                         changes, forgotten when the picture's size changes",
                    )
                    .default_value(Some(""))
                    .read_only()
                    .build(),
                glib::ParamSpecString::builder("debug-mask-file")
                    .nick("Debug mask file")
                    .blurb(
                        "Set to a path to have the next analysed frame write what the detector \
                         watches there, once, as a PGM image the size of the analysis grid: \
                         the learnt background in grey, zones' ignored areas dark, learnt \
                         patches white. Reads back the path of the last request",
                    )
                    .default_value(Some(""))
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("alarm")
                    .nick("Alarm")
                    .blurb("Whether an alarm is ongoing (notified on every change)")
                    .default_value(false)
                    .read_only()
                    .build(),
                glib::ParamSpecDouble::builder("level")
                    .nick("Level")
                    .blurb(
                        "Changed fraction of the watched area in the latest analysed frame \
                         (not notified; poll it)",
                    )
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(0.0)
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    pub(super) fn set(&self, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings();
        match pspec.name() {
            "camera-id" => {
                settings.camera_id = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                gst::info!(CAT, imp = self, "camera-id: '{}'", settings.camera_id);
            }
            "threshold" => {
                settings.threshold = value.get().unwrap_or(settings.threshold);
                gst::info!(CAT, imp = self, "threshold: {}", settings.threshold);
            }
            "min-area" => {
                let v: f64 = value.get().unwrap_or(settings.min_area);
                if v.is_finite() {
                    settings.min_area = v;
                    gst::info!(CAT, imp = self, "min-area: {v}");
                } else {
                    gst::warning!(CAT, imp = self, "refusing min-area {v}");
                    glib::g_warning!(
                        "motionalarm",
                        "refusing min-area {v}, keeping {}",
                        settings.min_area
                    );
                }
            }
            "min-frames" => {
                settings.min_frames = value.get().unwrap_or(settings.min_frames);
                gst::info!(CAT, imp = self, "min-frames: {}", settings.min_frames);
            }
            "hold-ms" => {
                settings.hold_ms = value.get().unwrap_or(settings.hold_ms);
                gst::info!(CAT, imp = self, "hold-ms: {}", settings.hold_ms);
            }
            "analysis-width" => {
                settings.analysis_width = value.get().unwrap_or(settings.analysis_width);
                gst::info!(
                    CAT,
                    imp = self,
                    "analysis-width: {}",
                    settings.analysis_width
                );
            }
            "zones" => {
                let text = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                match text.parse::<Zones>() {
                    Ok(zones) => {
                        gst::info!(CAT, imp = self, "zones: '{zones}'");
                        settings.zones = Arc::new(zones);
                        settings.zones_text = text;
                    }
                    Err(err) => {
                        gst::warning!(CAT, imp = self, "refusing zones '{text}': {err}");
                        glib::g_warning!(
                            "motionalarm",
                            "refusing zones '{text}': {err}; keeping '{}'",
                            settings.zones_text
                        );
                    }
                }
            }
            "enabled" => {
                settings.enabled = value.get().unwrap_or(settings.enabled);
                gst::info!(CAT, imp = self, "enabled: {}", settings.enabled);
            }
            "learn-ignore" => {
                settings.learn_ignore = value.get().unwrap_or(settings.learn_ignore);
                gst::info!(CAT, imp = self, "learn-ignore: {}", settings.learn_ignore);
            }
            "debug-mask-file" => {
                let path = value.get::<Option<String>>().ok().flatten();
                gst::info!(CAT, imp = self, "debug-mask-file: {path:?}");
                settings.debug_mask_path = path.clone().unwrap_or_default();
                settings.debug_mask_file = path.filter(|p| !p.is_empty());
            }
            other => gst::warning!(CAT, imp = self, "unknown property '{other}'"),
        }
    }

    pub(super) fn get(&self, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "camera-id" => self.settings().camera_id.to_value(),
            "threshold" => self.settings().threshold.to_value(),
            "min-area" => self.settings().min_area.to_value(),
            "min-frames" => self.settings().min_frames.to_value(),
            "hold-ms" => self.settings().hold_ms.to_value(),
            "analysis-width" => self.settings().analysis_width.to_value(),
            "zones" => self.settings().zones_text.to_value(),
            "enabled" => self.settings().enabled.to_value(),
            "learn-ignore" => self.settings().learn_ignore.to_value(),
            "debug-mask-file" => self.settings().debug_mask_path.to_value(),
            "learned-mask" => self.state().detector.learned_mask().to_value(),
            "alarm" => {
                let state = self.state();
                (state.policy.is_active() || state.end_pending).to_value()
            }
            "level" => self.state().level.to_value(),
            other => {
                gst::warning!(CAT, imp = self, "unknown property '{other}'");
                pspec.default_value().clone()
            }
        }
    }
}
