// SPDX-License-Identifier: MIT OR Apache-2.0

//! `alarmselector`: forwards one camera out of many; the user chooses, an alarm overrides.
//!
//! Every camera's raw video enters on a request pad `sink_%u` ([`AlarmSelectorSinkPad`], with
//! its own `camera-id` and `priority`). Exactly one input leaves on `src`:
//!
//! - `selected-pad` is the user's choice;
//! - a `camwall-alarm` event (see [`crate::messages::Alarm`]) arriving on a pad puts that camera
//!   on screen (when `alarm-override` is on), `alarm-policy` decides between several alarms, and
//!   `alarm-hold-ms` after the alarm ends the user's choice returns;
//! - an input without frames for `stall-timeout-ms` (or at EOS) is passed over until it recovers;
//! - the action signal `acknowledge(pad)` takes an alarm off the screen at once (the user's choice
//!   comes back; `NULL` means the alarm on screen) until that input's next alarm start, and an
//!   input's `snoozed` property keeps its alarms off the screen while set (both switches say
//!   `acknowledged`). From gst-launch: `sel.sink_2::snoozed=true`.
//!
//! Every input's newest frame is kept (one frame, no queue) and pushed the moment the selection
//! changes, so a switch does not wait for the camera's next frame. Inputs that are not shown
//! are never blocked.
//!
//! Only the shown input negotiates buffers (allocation queries) with downstream. Hidden inputs
//! are told whether downstream reads `GstVideoMeta`, as it answered for the shown input, and
//! nothing else. A decoder then treats its frames the same whether shown or hidden (with
//! `input-selector`, which refuses hidden inputs, `avdec_h264` copies each hidden frame into a
//! plainly laid-out buffer instead), and what it sends stays readable when its input is shown
//! next.
//!
//! Downstream sees one continuous stream: one stream-start, a time segment owned by the
//! selector whose timestamps are the pipeline running time of the input frames (kept strictly
//! increasing across switches), the caps of the new input at a switch when they differ, and a
//! `title` tag carrying the camera id at every switch. The alarm events of the shown input are
//! forwarded downstream. Each change of the shown input posts a `camwall-selector-switched`
//! element message ([`crate::messages::SelectorSwitched`]) and notifies `active-pad`.
//!
//! ## Example
//!
//! ```text
//! gst-launch-1.0 -m alarmselector name=sel alarm-hold-ms=2000 \
//!       sink_0::camera-id=yard sink_1::camera-id=gate sink_1::priority=5 ! \
//!     videoconvert ! autovideosink \
//!   videotestsrc is-live=true pattern=ball ! videoconvert ! motionalarm ! sel.sink_0 \
//!   videotestsrc is-live=true pattern=smpte ! videoconvert ! motionalarm ! sel.sink_1
//! ```
//!
//! `gate` is shown (highest priority, no user choice); the moving ball raises motion alarms
//! that put `yard` on screen until 2 s after they end. Pad properties are set through
//! [`gst::ChildProxy`] (`sink_1::priority=5`). From Rust:
//!
//! ```
//! use gst::prelude::*;
//! use gstcamwall::alarmselector::{AlarmPolicy, AlarmSelectorSinkPad};
//!
//! gst::init().unwrap();
//! gstcamwall::plugin_register_static().unwrap();
//! let sel = gst::ElementFactory::make("alarmselector")
//!     .property("alarm-policy", AlarmPolicy::Priority)
//!     .build()
//!     .unwrap();
//! let yard = sel
//!     .request_pad_simple("sink_%u")
//!     .and_downcast::<AlarmSelectorSinkPad>()
//!     .unwrap();
//! yard.set_property("camera-id", "yard");
//! sel.set_property("selected-pad", &yard);
//! assert_eq!(sel.property::<Option<gst::Pad>>("active-pad").as_ref(), Some(yard.upcast_ref()));
//! ```

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::ObjectSubclassIsExt;

mod imp;
pub mod selection;

glib::wrapper! {
    /// The `alarmselector` element.
    pub struct AlarmSelector(ObjectSubclass<imp::AlarmSelector>)
        @extends gst::Element, gst::Object, @implements gst::ChildProxy;
}

glib::wrapper! {
    /// A `sink_%u` pad of `alarmselector`: one camera, with `camera-id`, `priority` and the
    /// read-only `alarm` and `stalled` flags.
    pub struct AlarmSelectorSinkPad(ObjectSubclass<imp::AlarmSelectorSinkPad>)
        @extends gst::Pad, gst::Object;
}

impl AlarmSelectorSinkPad {
    /// The camera id: the `camera-id` property, else the one learned from alarm events, else the
    /// pad name.
    pub fn camera_label(&self) -> String {
        self.imp().camera_label(self)
    }
}

/// Which alarm takes the screen when several cameras are alarmed at once. Also read from
/// configuration files by its nick (`latest`, `priority`, `first`).
#[derive(
    Debug,
    Eq,
    PartialEq,
    Ord,
    PartialOrd,
    Hash,
    Clone,
    Copy,
    Default,
    glib::Enum,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[repr(i32)]
#[enum_type(name = "GstAlarmSelectorPolicy")]
pub enum AlarmPolicy {
    /// The most recent alarm start wins.
    #[default]
    #[enum_value(name = "Latest: the most recent alarm wins", nick = "latest")]
    Latest = 0,
    /// The highest pad priority wins; ties go to the most recent alarm.
    #[enum_value(
        name = "Priority: the highest pad priority wins (ties: latest)",
        nick = "priority"
    )]
    Priority = 1,
    /// The oldest running alarm keeps the screen until it ends.
    #[enum_value(
        name = "First: the oldest running alarm keeps the screen",
        nick = "first"
    )]
    First = 2,
}

impl AlarmPolicy {
    /// The nick of the `alarm-policy` property value.
    pub fn nick(self) -> &'static str {
        match self {
            AlarmPolicy::Latest => "latest",
            AlarmPolicy::Priority => "priority",
            AlarmPolicy::First => "first",
        }
    }
}

impl From<AlarmPolicy> for selection::Policy {
    fn from(p: AlarmPolicy) -> Self {
        match p {
            AlarmPolicy::Latest => selection::Policy::Latest,
            AlarmPolicy::Priority => selection::Policy::Priority,
            AlarmPolicy::First => selection::Policy::First,
        }
    }
}

/// Registers `alarmselector` with `plugin`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    AlarmPolicy::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    AlarmSelectorSinkPad::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(
        Some(plugin),
        "alarmselector",
        gst::Rank::NONE,
        AlarmSelector::static_type(),
    )
}
