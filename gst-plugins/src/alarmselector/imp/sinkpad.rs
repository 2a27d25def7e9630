// SPDX-License-Identifier: MIT OR Apache-2.0

//! The `sink_%u` pad of `alarmselector`: one camera, its properties and its newest frame.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use super::{lock, CAT};
use crate::alarmselector::selection::InputId;

pub(super) const PROP_CAMERA_ID: &str = "camera-id";
const PROP_PRIORITY: &str = "priority";
pub(super) const PROP_ALARM: &str = "alarm";
pub(super) const PROP_STALLED: &str = "stalled";
pub(super) const PROP_SNOOZED: &str = "snoozed";

const DEFAULT_PRIORITY: i32 = 0;
const MIN_PRIORITY: i32 = -1_000_000;
const MAX_PRIORITY: i32 = 1_000_000;

#[derive(Debug, Clone)]
pub(super) struct PadSettings {
    pub(super) camera_id: Option<String>,
    pub(super) priority: i32,
    pub(super) snoozed: bool,
}

impl Default for PadSettings {
    fn default() -> Self {
        PadSettings {
            camera_id: None,
            priority: DEFAULT_PRIORITY,
            snoozed: false,
        }
    }
}

/// The newest frame of an input, ready to go out.
#[derive(Debug, Clone)]
pub(super) struct Frame {
    pub(super) buffer: gst::Buffer,
    pub(super) caps: Option<gst::Caps>,
    pub(super) running_time: Option<gst::ClockTime>,
    /// Per-pad sequence number, so that a frame is never pushed twice.
    pub(super) seq: u64,
}

#[derive(Debug, Default)]
pub(super) struct PadState {
    pub(super) caps: Option<gst::Caps>,
    pub(super) segment: Option<gst::FormattedSegment<gst::ClockTime>>,
    pub(super) newest: Option<Frame>,
    pub(super) next_seq: u64,
    pub(super) pushed_seq: u64,
    /// Mirrors of the selection, for the read-only properties.
    pub(super) alarm: bool,
    pub(super) stalled: bool,
}

#[derive(Debug, Default)]
pub struct AlarmSelectorSinkPad {
    pub(super) serial: AtomicU32,
    pub(super) settings: Mutex<PadSettings>,
    pub(super) state: Mutex<PadState>,
}

impl AlarmSelectorSinkPad {
    pub(super) fn id(&self) -> InputId {
        self.serial.load(Ordering::Relaxed)
    }

    pub(in crate::alarmselector) fn camera_label(
        &self,
        pad: &crate::alarmselector::AlarmSelectorSinkPad,
    ) -> String {
        lock(&self.settings)
            .camera_id
            .clone()
            .unwrap_or_else(|| pad.name().to_string())
    }

    fn selector(&self) -> Option<crate::alarmselector::AlarmSelector> {
        self.obj()
            .parent()
            .and_downcast::<crate::alarmselector::AlarmSelector>()
    }
}

#[glib::object_subclass]
impl ObjectSubclass for AlarmSelectorSinkPad {
    const NAME: &'static str = "GstAlarmSelectorSinkPad";
    type Type = crate::alarmselector::AlarmSelectorSinkPad;
    type ParentType = gst::Pad;
}

impl ObjectImpl for AlarmSelectorSinkPad {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder(PROP_CAMERA_ID)
                    .nick("Camera id")
                    .blurb(
                        "Camera shown on this input, used in the title tag and switch messages. \
                         When unset, taken from the first camwall-alarm event; else the pad name",
                    )
                    .mutable_playing()
                    .build(),
                glib::ParamSpecInt::builder(PROP_PRIORITY)
                    .nick("Priority")
                    .blurb(
                        "Higher wins when several alarms are active under alarm-policy=priority, \
                         and when choosing a replacement for a stalled input",
                    )
                    .minimum(MIN_PRIORITY)
                    .maximum(MAX_PRIORITY)
                    .default_value(DEFAULT_PRIORITY)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder(PROP_SNOOZED)
                    .nick("Snoozed")
                    .blurb(
                        "While true, this input's alarms take no screen (they are still known \
                         and its alarm property still says so); an alarm of it on screen gives \
                         the screen back at once",
                    )
                    .default_value(false)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder(PROP_ALARM)
                    .nick("Alarm")
                    .blurb("Whether an alarm is running on this input (read-only)")
                    .default_value(false)
                    .read_only()
                    .build(),
                glib::ParamSpecBoolean::builder(PROP_STALLED)
                    .nick("Stalled")
                    .blurb(
                        "Whether this input delivered no frame for stall-timeout-ms or is at \
                         EOS (read-only)",
                    )
                    .default_value(false)
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        match pspec.name() {
            PROP_CAMERA_ID => {
                let id = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .filter(|s| !s.is_empty());
                gst::info!(CAT, obj = self.obj(), "camera-id {:?}", id);
                lock(&self.settings).camera_id = id;
            }
            PROP_PRIORITY => {
                let Ok(priority) = value.get::<i32>() else {
                    return;
                };
                lock(&self.settings).priority = priority;
                gst::info!(CAT, obj = self.obj(), "priority {}", priority);
                if let Some(sel) = self.selector() {
                    let id = self.id();
                    sel.imp()
                        .update(|state, _| state.selection.set_priority(id, priority));
                }
            }
            PROP_SNOOZED => {
                let Ok(snoozed) = value.get::<bool>() else {
                    return;
                };
                lock(&self.settings).snoozed = snoozed;
                gst::info!(CAT, obj = self.obj(), "snoozed {}", snoozed);
                if let Some(sel) = self.selector() {
                    let id = self.id();
                    sel.imp()
                        .update(|state, _| state.selection.set_snoozed(id, snoozed));
                }
            }
            other => {
                gst::warning!(CAT, obj = self.obj(), "property {} is read-only", other);
            }
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            PROP_CAMERA_ID => lock(&self.settings).camera_id.to_value(),
            PROP_PRIORITY => lock(&self.settings).priority.to_value(),
            PROP_SNOOZED => lock(&self.settings).snoozed.to_value(),
            PROP_ALARM => lock(&self.state).alarm.to_value(),
            PROP_STALLED => lock(&self.state).stalled.to_value(),
            // GObject only asks for the properties listed above.
            _ => pspec.default_value().clone(),
        }
    }
}

impl GstObjectImpl for AlarmSelectorSinkPad {}
impl PadImpl for AlarmSelectorSinkPad {}
