// SPDX-License-Identifier: MIT OR Apache-2.0

//! Structures that camwall's elements exchange in-band (events) and post on the bus (messages).
//!
//! The alarm is deliberately not motion-specific: any element that sends a [`Alarm`] event
//! (`kind` = `motion`, `smoke`, `person`, ...) drives `alarmselector`.
//!
//! ## `camwall-alarm`
//!
//! Posted as an element message by the detector and sent downstream as a custom serialized event,
//! so that it travels in order with the video frames:
//!
//! ```text
//! camwall-alarm, camera-id=(string)cam1, kind=(string)motion, active=(boolean)true,
//!     level=(double)0.042, running-time=(guint64)5000000000;
//! ```
//!
//! ## `camwall-selector-switched`
//!
//! Posted by `alarmselector` as an element message whenever the forwarded input changes:
//!
//! ```text
//! camwall-selector-switched, camera-id=(string)cam2, previous=(string)cam1,
//!     reason=(string)alarm, running-time=(guint64)5040000000;
//! ```

use gst::prelude::IsA;

/// Name of the alarm structure (message and event).
pub const ALARM_NAME: &str = "camwall-alarm";
/// Name of the selector's switch message.
pub const SWITCHED_NAME: &str = "camwall-selector-switched";

/// Why a structure could not be read as one of camwall's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StructureError {
    #[error("structure is named '{found}', expected '{expected}'")]
    WrongName {
        expected: &'static str,
        found: String,
    },
    #[error("field '{field}' is missing or has the wrong type")]
    Field { field: &'static str },
    #[error("field '{field}' has an unknown value '{value}'")]
    Value { field: &'static str, value: String },
}

fn check_name(s: &gst::StructureRef, expected: &'static str) -> Result<(), StructureError> {
    if s.name() == expected {
        Ok(())
    } else {
        Err(StructureError::WrongName {
            expected,
            found: s.name().to_string(),
        })
    }
}

fn field<'a, T: glib::value::FromValue<'a>>(
    s: &'a gst::StructureRef,
    field: &'static str,
) -> Result<T, StructureError> {
    s.get::<T>(field)
        .map_err(|_| StructureError::Field { field })
}

fn running_time_field(s: &gst::StructureRef) -> Result<Option<gst::ClockTime>, StructureError> {
    let ns: u64 = field(s, "running-time")?;
    Ok(gst::ClockTime::try_from(ns).ok())
}

fn running_time_ns(t: Option<gst::ClockTime>) -> u64 {
    t.map(gst::ClockTime::nseconds).unwrap_or(u64::MAX)
}

/// An alarm starting (`active = true`) or ending (`active = false`) on one camera.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    /// The camera the alarm belongs to.
    pub camera_id: String,
    /// What raised it: `motion` for `motionalarm`; other detectors use their own word.
    pub kind: String,
    /// `true` when the alarm starts, `false` when it ends.
    pub active: bool,
    /// The detector's measure at the time (for motion: the changed fraction of the watched area).
    pub level: f64,
    /// Running time of the frame that changed the alarm state (`None` when unknown).
    pub running_time: Option<gst::ClockTime>,
}

impl Alarm {
    /// The `camwall-alarm` structure.
    pub fn to_structure(&self) -> gst::Structure {
        gst::Structure::builder(ALARM_NAME)
            .field("camera-id", self.camera_id.as_str())
            .field("kind", self.kind.as_str())
            .field("active", self.active)
            .field("level", self.level)
            .field("running-time", running_time_ns(self.running_time))
            .build()
    }

    /// A custom downstream serialized event carrying the alarm in order with the video.
    pub fn to_event(&self) -> gst::Event {
        gst::event::CustomDownstream::new(self.to_structure())
    }

    /// An element message carrying the alarm, posted from `src`.
    pub fn to_message(&self, src: &impl IsA<gst::Object>) -> gst::Message {
        gst::message::Element::builder(self.to_structure())
            .src(src)
            .build()
    }

    /// Reads an alarm out of any event; `None` when the event is not a `camwall-alarm`.
    pub fn from_event(event: &gst::EventRef) -> Option<Result<Self, StructureError>> {
        match event.view() {
            gst::EventView::CustomDownstream(_) => {
                let s = event.structure()?;
                (s.name() == ALARM_NAME).then(|| Self::try_from(s))
            }
            _ => None,
        }
    }

    /// Reads an alarm out of a bus message; `None` when the message is not a `camwall-alarm`.
    pub fn from_message(msg: &gst::MessageRef) -> Option<Result<Self, StructureError>> {
        match msg.view() {
            gst::MessageView::Element(e) => {
                let s = e.structure()?;
                (s.name() == ALARM_NAME).then(|| Self::try_from(s))
            }
            _ => None,
        }
    }
}

impl TryFrom<&gst::StructureRef> for Alarm {
    type Error = StructureError;

    fn try_from(s: &gst::StructureRef) -> Result<Self, Self::Error> {
        check_name(s, ALARM_NAME)?;
        Ok(Alarm {
            camera_id: field::<String>(s, "camera-id")?,
            kind: field::<String>(s, "kind")?,
            active: field(s, "active")?,
            level: field(s, "level")?,
            running_time: running_time_field(s)?,
        })
    }
}

impl From<&Alarm> for gst::Structure {
    fn from(a: &Alarm) -> Self {
        a.to_structure()
    }
}

pub use crate::alarmselector::selection::SwitchReason;

impl std::str::FromStr for SwitchReason {
    type Err = StructureError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SwitchReason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| StructureError::Value {
                field: "reason",
                value: s.to_string(),
            })
    }
}

/// `alarmselector` changed the forwarded input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorSwitched {
    /// Camera now forwarded (empty when nothing is).
    pub camera_id: String,
    /// Camera forwarded before (empty when none was).
    pub previous: String,
    pub reason: SwitchReason,
    pub running_time: Option<gst::ClockTime>,
}

impl SelectorSwitched {
    pub fn to_structure(&self) -> gst::Structure {
        gst::Structure::builder(SWITCHED_NAME)
            .field("camera-id", self.camera_id.as_str())
            .field("previous", self.previous.as_str())
            .field("reason", self.reason.as_str())
            .field("running-time", running_time_ns(self.running_time))
            .build()
    }

    pub fn to_message(&self, src: &impl IsA<gst::Object>) -> gst::Message {
        gst::message::Element::builder(self.to_structure())
            .src(src)
            .build()
    }

    /// Reads a switch out of a bus message; `None` when it is not a `camwall-selector-switched`.
    pub fn from_message(msg: &gst::MessageRef) -> Option<Result<Self, StructureError>> {
        match msg.view() {
            gst::MessageView::Element(e) => {
                let s = e.structure()?;
                (s.name() == SWITCHED_NAME).then(|| Self::try_from(s))
            }
            _ => None,
        }
    }
}

impl TryFrom<&gst::StructureRef> for SelectorSwitched {
    type Error = StructureError;

    fn try_from(s: &gst::StructureRef) -> Result<Self, Self::Error> {
        check_name(s, SWITCHED_NAME)?;
        Ok(SelectorSwitched {
            camera_id: field::<String>(s, "camera-id")?,
            previous: field::<String>(s, "previous")?,
            reason: field::<&str>(s, "reason")?.parse()?,
            running_time: running_time_field(s)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() {
        gst::init().unwrap();
    }

    #[test]
    fn alarm_round_trips_through_structure_event_and_message() {
        init();
        let alarm = Alarm {
            camera_id: "cam1".into(),
            kind: "motion".into(),
            active: true,
            level: 0.125,
            running_time: Some(gst::ClockTime::from_mseconds(1500)),
        };
        let s = alarm.to_structure();
        assert_eq!(s.name(), ALARM_NAME);
        assert_eq!(s.get::<u64>("running-time").unwrap(), 1_500_000_000);
        assert_eq!(Alarm::try_from(s.as_ref()).unwrap(), alarm);

        let ev = alarm.to_event();
        assert!(ev.is_serialized());
        assert_eq!(Alarm::from_event(&ev).unwrap().unwrap(), alarm);

        let bin = gst::Bin::new();
        let msg = alarm.to_message(&bin);
        assert_eq!(Alarm::from_message(&msg).unwrap().unwrap(), alarm);
    }

    #[test]
    fn unknown_running_time_is_none() {
        init();
        let alarm = Alarm {
            camera_id: "c".into(),
            kind: "smoke".into(),
            active: false,
            level: 0.0,
            running_time: None,
        };
        let back = Alarm::try_from(alarm.to_structure().as_ref()).unwrap();
        assert_eq!(back.running_time, None);
    }

    #[test]
    fn malformed_alarm_is_an_error_not_a_panic() {
        init();
        let s = gst::Structure::builder(ALARM_NAME)
            .field("camera-id", 5i32)
            .build();
        assert_eq!(
            Alarm::try_from(s.as_ref()),
            Err(StructureError::Field { field: "camera-id" })
        );
        let other = gst::Structure::new_empty("something-else");
        assert!(matches!(
            Alarm::try_from(other.as_ref()),
            Err(StructureError::WrongName { .. })
        ));
        let ev = gst::event::CustomDownstream::new(other);
        assert!(Alarm::from_event(&ev).is_none());
    }

    #[test]
    fn switch_round_trips_and_rejects_unknown_reason() {
        init();
        for reason in SwitchReason::ALL {
            let sw = SelectorSwitched {
                camera_id: "cam2".into(),
                previous: "cam1".into(),
                reason,
                running_time: Some(gst::ClockTime::from_seconds(3)),
            };
            assert_eq!(
                SelectorSwitched::try_from(sw.to_structure().as_ref()).unwrap(),
                sw
            );
        }
        let bad = gst::Structure::builder(SWITCHED_NAME)
            .field("camera-id", "a")
            .field("previous", "b")
            .field("reason", "boredom")
            .field("running-time", 0u64)
            .build();
        assert!(matches!(
            SelectorSwitched::try_from(bad.as_ref()),
            Err(StructureError::Value { .. })
        ));
    }
}
