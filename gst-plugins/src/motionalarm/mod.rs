// SPDX-License-Identifier: MIT OR Apache-2.0

//! `motionalarm`: watches one camera's decoded video for motion and raises and clears alarms.
//!
//! An in-place, passthrough `VideoFilter`: frames leave exactly as they came (never copied,
//! never made writable). Only the luma plane is read, downscaled to `analysis-width` by
//! sampling; for RGB input luma is computed at the sampled pixels only (several times the
//! cost per frame), so caps queries list the YUV and grey formats first: a source free to
//! choose, such as `videotestsrc`, picks one; a caps filter still decides.
//!
//! On every alarm start and end the element posts a `camwall-alarm` element message on the bus
//! and sends the same structure downstream as a custom serialized event, just before the frame
//! that caused it, so a selector further down sees alarms in order with the video (see
//! [`crate::messages::Alarm`]):
//!
//! ```text
//! camwall-alarm, camera-id=(string)cam1, kind=(string)motion, active=(boolean)true,
//!     level=(double)0.042, running-time=(guint64)5000000000;
//! ```
//!
//! ## Example
//!
//! ```text
//! gst-launch-1.0 -m videotestsrc pattern=ball is-live=true \
//!     ! video/x-raw,width=640,height=480,framerate=25/1 \
//!     ! motionalarm camera-id=cam1 hold-ms=1000 ! fakesink
//! ```
//!
//! The `zones` syntax is described in [`zones`]; the launcher validates configured zone strings
//! with [`parse_zones`].
//!
//! ## Learnt ignore mask
//!
//! Patches that change by themselves on a fixed cadence, such as a camera's burnt-in clock and
//! date, are learnt and ignored without a zone (`learn-ignore`, on by default; see
//! [`detector`]). The read-only `learned-mask` property gives them in the zones syntax and is
//! notified when they change; setting `debug-mask-file` to a path has the next frame write
//! what the detector watches there as a PGM image:
//!
//! ```text
//! gst-launch-1.0 filesrc location=camera.mp4 ! decodebin \
//!     ! motionalarm debug-mask-file=/tmp/mask.pgm ! fakesink
//! ```

use gst::glib;
use gst::prelude::*;

pub mod detector;
mod hysteresis;
mod imp;
pub mod zones;

pub use detector::{Analysis, DetectorParams, LumaFrame, MotionDetector, PixelLayout};
pub use zones::{parse_zones, Zone, ZoneAction, ZoneError, ZoneShape, Zones};

/// The `kind` field of the alarms this element raises.
pub const ALARM_KIND: &str = "motion";

glib::wrapper! {
    /// The `motionalarm` element.
    pub struct MotionAlarm(ObjectSubclass<imp::MotionAlarm>)
        @extends gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Registers `motionalarm` with `plugin`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "motionalarm",
        gst::Rank::NONE,
        MotionAlarm::static_type(),
    )
}
