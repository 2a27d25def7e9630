// SPDX-License-Identifier: MIT OR Apache-2.0

//! Messages on the viewer WebSocket, shared by `mjpegwssink`, the launcher, the page and the tests.
//!
//! Every message is one text message holding one JSON object with a `type` field:
//!
//! ```json
//! {"type":"frame","camera":"cam1","seq":42,"ts":1763731200123,"jpeg":"/9j/4AAQ..."}
//! {"type":"alarm","camera":"cam2","kind":"motion","active":true,"level":0.04,"ts":1763731200456}
//! {"type":"switch","camera":"cam2","previous":"cam1","reason":"alarm","ts":1763731200460}
//! {"type":"camera","camera":"cam3","state":"offline","ts":1763731200500}
//! {"type":"ack","camera":"cam2","wall":"main","by":"alice","ts":1763731200600}
//! {"type":"snooze","camera":"cam2","until":1763733000000,"by":"alice","ts":1763731200700}
//! ```
//!
//! With `envelope=none`, `mjpegwssink` sends frames as a bare base64 string instead, as the original
//! design did, and no other messages.
//!
//! A viewer that asks for binary frames (`?binary=1`, and every H.264 viewer) gets each frame as
//! one binary message instead: see [`binary`]. Events stay JSON text.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, as used in every `ts` field.
pub fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One JPEG frame. `jpeg` is the base64 of the JPEG bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame<'a> {
    /// Camera id from the stream's latest `title` tag (set by `alarmselector`); `null` if none.
    #[serde(borrow)]
    pub camera: Option<Cow<'a, str>>,
    /// Sequence number of the frame in the sink, from 1; a gap means frames were skipped.
    pub seq: u64,
    /// Unix time in milliseconds when the sink received the frame.
    pub ts: u64,
    /// Width and height of the JPEG when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(borrow)]
    pub jpeg: Cow<'a, str>,
}

/// An alarm started or ended on a camera.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm<'a> {
    #[serde(borrow)]
    pub camera: Cow<'a, str>,
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    pub active: bool,
    pub level: f64,
    pub ts: u64,
    /// The camera is snoozed: the alarm is known and sent out, but takes no wall.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub snoozed: bool,
}

/// Someone acknowledged a camera's alarm on a wall: it stops holding that wall until the
/// camera's next alarm start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ack<'a> {
    #[serde(borrow)]
    pub camera: Cow<'a, str>,
    #[serde(borrow)]
    pub wall: Cow<'a, str>,
    /// Who acknowledged it (the user's name; `null` when the server has no users).
    #[serde(default, borrow)]
    pub by: Option<Cow<'a, str>>,
    pub ts: u64,
}

/// A camera was snoozed until `until` (unix ms), or woken (`until` null).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snooze<'a> {
    #[serde(borrow)]
    pub camera: Cow<'a, str>,
    #[serde(default)]
    pub until: Option<u64>,
    #[serde(default, borrow)]
    pub by: Option<Cow<'a, str>>,
    pub ts: u64,
}

/// Cameras were added, changed or removed while camwall runs (their lists are refetched).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cameras<'a> {
    #[serde(default, borrow)]
    pub added: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub changed: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub removed: Vec<Cow<'a, str>>,
    /// Walls whose camera lists changed.
    #[serde(default, borrow)]
    pub walls: Vec<Cow<'a, str>>,
    pub ts: u64,
}

/// The camera on screen changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Switch<'a> {
    #[serde(borrow)]
    pub camera: Cow<'a, str>,
    #[serde(borrow)]
    pub previous: Cow<'a, str>,
    /// `user`, `alarm`, `alarm-ended`, `stalled` or `pad-removed`.
    #[serde(borrow)]
    pub reason: Cow<'a, str>,
    pub ts: u64,
    /// The user's choice, which comes back when alarms end, when the sender knows it (camwall's
    /// launcher does; a sink on its own does not, and leaves it out).
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub user_choice: Option<Cow<'a, str>>,
    /// The wall that switched (camwall's launcher, which drives several; a sink on its own
    /// leaves it out).
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub wall: Option<Cow<'a, str>>,
    /// Who chose, for a switch to a user's choice (camwall's launcher, with users).
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub by: Option<Cow<'a, str>>,
}

/// A camera's connection state changed (`connecting`, `live`, `offline`), or why it is down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CameraState<'a> {
    #[serde(borrow)]
    pub camera: Cow<'a, str>,
    #[serde(borrow)]
    pub state: Cow<'a, str>,
    pub ts: u64,
    /// Since when the camera has had no pictures (unix ms); `null` while live.
    #[serde(default)]
    pub offline_since: Option<u64>,
    /// Why the camera is down; `null` while live.
    #[serde(default, borrow)]
    pub error: Option<CameraError<'a>>,
}

/// Why a camera is down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CameraError<'a> {
    /// `auth`, `not_found`, `refused`, `unreachable`, `timeout`, `unsupported`, `stalled` or
    /// `protocol`.
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    /// What went wrong, in the pipeline's words (passwords masked).
    #[serde(borrow)]
    pub message: Cow<'a, str>,
    /// When this failure was first seen in the current outage (unix ms).
    pub since: u64,
}

/// Any message on the viewer WebSocket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Message<'a> {
    #[serde(borrow)]
    Frame(Frame<'a>),
    #[serde(borrow)]
    Alarm(Alarm<'a>),
    #[serde(borrow)]
    Switch(Switch<'a>),
    #[serde(borrow)]
    Camera(CameraState<'a>),
    #[serde(borrow)]
    Ack(Ack<'a>),
    #[serde(borrow)]
    Snooze(Snooze<'a>),
    #[serde(borrow)]
    Cameras(Cameras<'a>),
}

fn owned(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

impl<'a> Message<'a> {
    /// The same message, owning its text (to keep it past the data it was made from).
    pub fn into_owned(self) -> Message<'static> {
        match self {
            Message::Frame(f) => Message::Frame(Frame {
                camera: f.camera.map(owned),
                seq: f.seq,
                ts: f.ts,
                width: f.width,
                height: f.height,
                jpeg: owned(f.jpeg),
            }),
            Message::Alarm(a) => Message::Alarm(Alarm {
                camera: owned(a.camera),
                kind: owned(a.kind),
                active: a.active,
                level: a.level,
                ts: a.ts,
                snoozed: a.snoozed,
            }),
            Message::Switch(s) => Message::Switch(Switch {
                camera: owned(s.camera),
                previous: owned(s.previous),
                reason: owned(s.reason),
                ts: s.ts,
                user_choice: s.user_choice.map(owned),
                wall: s.wall.map(owned),
                by: s.by.map(owned),
            }),
            Message::Camera(c) => Message::Camera(CameraState {
                camera: owned(c.camera),
                state: owned(c.state),
                ts: c.ts,
                offline_since: c.offline_since,
                error: c.error.map(|e| CameraError {
                    kind: owned(e.kind),
                    message: owned(e.message),
                    since: e.since,
                }),
            }),
            Message::Ack(a) => Message::Ack(Ack {
                camera: owned(a.camera),
                wall: owned(a.wall),
                by: a.by.map(owned),
                ts: a.ts,
            }),
            Message::Snooze(z) => Message::Snooze(Snooze {
                camera: owned(z.camera),
                until: z.until,
                by: z.by.map(owned),
                ts: z.ts,
            }),
            Message::Cameras(c) => {
                let all = |v: Vec<Cow<'_, str>>| v.into_iter().map(owned).collect();
                Message::Cameras(Cameras {
                    added: all(c.added),
                    changed: all(c.changed),
                    removed: all(c.removed),
                    walls: all(c.walls),
                    ts: c.ts,
                })
            }
        }
    }

    /// The message's `type`: `frame`, `alarm`, `switch`, `camera`, `ack`, `snooze` or
    /// `cameras`.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Frame(_) => "frame",
            Message::Alarm(_) => "alarm",
            Message::Switch(_) => "switch",
            Message::Camera(_) => "camera",
            Message::Ack(_) => "ack",
            Message::Snooze(_) => "snooze",
            Message::Cameras(_) => "cameras",
        }
    }

    /// Serialises to the JSON text sent on the socket.
    pub fn to_json(&self) -> String {
        // Serialising these plain structs cannot fail.
        serde_json::to_string(self).expect("protocol messages always serialise")
    }

    /// Parses one text message.
    pub fn from_json(text: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl<'a> From<&'a crate::messages::Alarm> for Alarm<'a> {
    fn from(a: &'a crate::messages::Alarm) -> Self {
        Alarm {
            camera: Cow::Borrowed(&a.camera_id),
            kind: Cow::Borrowed(&a.kind),
            active: a.active,
            level: a.level,
            ts: unix_ms_now(),
            snoozed: false,
        }
    }
}

impl<'a> From<&'a crate::messages::SelectorSwitched> for Switch<'a> {
    fn from(s: &'a crate::messages::SelectorSwitched) -> Self {
        Switch {
            camera: Cow::Borrowed(&s.camera_id),
            previous: Cow::Borrowed(&s.previous),
            reason: Cow::Borrowed(s.reason.as_str()),
            ts: unix_ms_now(),
            user_choice: None,
            wall: None,
            by: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_layout_is_the_documented_one() {
        let m = Message::Frame(Frame {
            camera: Some("cam1".into()),
            seq: 7,
            ts: 1000,
            width: None,
            height: None,
            jpeg: "AAAA".into(),
        });
        assert_eq!(
            m.to_json(),
            r#"{"type":"frame","camera":"cam1","seq":7,"ts":1000,"jpeg":"AAAA"}"#
        );
        let text = m.to_json();
        assert_eq!(Message::from_json(&text).unwrap(), m);
    }

    #[test]
    fn frame_without_camera_is_null() {
        let m = Message::Frame(Frame {
            camera: None,
            seq: 1,
            ts: 2,
            width: Some(640),
            height: Some(360),
            jpeg: "".into(),
        });
        assert_eq!(
            m.to_json(),
            r#"{"type":"frame","camera":null,"seq":1,"ts":2,"width":640,"height":360,"jpeg":""}"#
        );
    }

    #[test]
    fn every_kind_round_trips() {
        let msgs = [
            Message::Alarm(Alarm {
                camera: "c".into(),
                kind: "motion".into(),
                active: true,
                level: 0.5,
                ts: 3,
                snoozed: true,
            }),
            Message::Ack(Ack {
                camera: "c".into(),
                wall: "main".into(),
                by: Some("alice".into()),
                ts: 6,
            }),
            Message::Snooze(Snooze {
                camera: "c".into(),
                until: Some(1_800_000),
                by: None,
                ts: 7,
            }),
            Message::Switch(Switch {
                camera: "b".into(),
                previous: "a".into(),
                reason: "user".into(),
                ts: 4,
                user_choice: None,
                wall: None,
                by: None,
            }),
            Message::Switch(Switch {
                camera: "c".into(),
                previous: "b".into(),
                reason: "alarm".into(),
                ts: 5,
                user_choice: Some("b".into()),
                wall: Some("lobby".into()),
                by: Some("alice".into()),
            }),
            Message::Camera(CameraState {
                camera: "c".into(),
                state: "offline".into(),
                ts: 5,
                offline_since: Some(3),
                error: Some(CameraError {
                    kind: "refused".into(),
                    message: "nothing listens".into(),
                    since: 4,
                }),
            }),
            Message::Camera(CameraState {
                camera: "c".into(),
                state: "live".into(),
                ts: 6,
                offline_since: None,
                error: None,
            }),
        ];
        for m in msgs {
            let text = m.to_json();
            assert_eq!(Message::from_json(&text).unwrap(), m, "{text}");
            let kind = m.kind();
            assert!(text.contains(&format!("\"type\":\"{kind}\"")), "{text}");
            assert_eq!(m.clone().into_owned(), m);
        }
        assert!(Message::from_json(r#"{"type":"nonsense"}"#).is_err());
        assert!(Message::from_json("not json").is_err());
    }
}

/// Binary frame messages: a fixed header, the camera id, then the frame's bytes as the sink
/// received them (a JPEG, or an H.264 access unit in Annex B byte-stream form). Integers are
/// big-endian.
///
/// | bytes | field |
/// |---|---|
/// | 0 | magic `0xCA` |
/// | 1 | kind: `1` JPEG, `2` H.264 |
/// | 2 | flags: bit 0 keyframe (a decoder can start here; every JPEG) |
/// | 3 | length of the camera id in bytes (0: none) |
/// | 4..12 | `seq` (u64) |
/// | 12..20 | `ts`, unix ms when the sink received the frame (u64) |
/// | 20..22 | width (u16, 0 unknown) |
/// | 22..24 | height (u16, 0 unknown) |
/// | 24..24+n | camera id, UTF-8 |
/// | 24+n.. | the frame's bytes |
pub mod binary {
    /// Bytes before the camera id.
    pub const HEADER_LEN: usize = 24;
    pub const MAGIC: u8 = 0xCA;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        Jpeg = 1,
        H264 = 2,
    }

    /// A binary frame message's header.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Header<'a> {
        pub kind: Kind,
        pub keyframe: bool,
        pub seq: u64,
        pub ts: u64,
        pub width: u32,
        pub height: u32,
        pub camera: &'a str,
    }

    /// Appends the header of `h` (camera id included) to `out`. A camera id longer than 255
    /// bytes is cut at a character boundary.
    pub fn write_header(out: &mut Vec<u8>, h: &Header<'_>) {
        let mut camera = h.camera;
        while camera.len() > 255 {
            let mut end = 255;
            while !camera.is_char_boundary(end) {
                end -= 1;
            }
            camera = &camera[..end];
        }
        out.push(MAGIC);
        out.push(h.kind as u8);
        out.push(u8::from(h.keyframe));
        out.push(camera.len() as u8);
        out.extend_from_slice(&h.seq.to_be_bytes());
        out.extend_from_slice(&h.ts.to_be_bytes());
        out.extend_from_slice(&(h.width.min(u32::from(u16::MAX)) as u16).to_be_bytes());
        out.extend_from_slice(&(h.height.min(u32::from(u16::MAX)) as u16).to_be_bytes());
        out.extend_from_slice(camera.as_bytes());
    }

    /// Reads a binary frame message: its header and the frame's bytes.
    pub fn parse(msg: &[u8]) -> Option<(Header<'_>, &[u8])> {
        if msg.len() < HEADER_LEN || msg[0] != MAGIC {
            return None;
        }
        let kind = match msg[1] {
            1 => Kind::Jpeg,
            2 => Kind::H264,
            _ => return None,
        };
        let n = usize::from(msg[3]);
        let camera = std::str::from_utf8(msg.get(HEADER_LEN..HEADER_LEN + n)?).ok()?;
        let u64_at = |i: usize| u64::from_be_bytes(msg[i..i + 8].try_into().unwrap_or([0; 8]));
        let u16_at = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]);
        Some((
            Header {
                kind,
                keyframe: msg[2] & 1 == 1,
                seq: u64_at(4),
                ts: u64_at(12),
                width: u32::from(u16_at(20)),
                height: u32::from(u16_at(22)),
                camera,
            },
            &msg[HEADER_LEN + n..],
        ))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_header_round_trips_and_garbage_is_refused() {
            let h = Header {
                kind: Kind::H264,
                keyframe: true,
                seq: 7,
                ts: 1_763_731_200_123,
                width: 1280,
                height: 720,
                camera: "cam2",
            };
            let mut msg = Vec::new();
            write_header(&mut msg, &h);
            msg.extend_from_slice(b"\0\0\0\x01\x67");
            assert_eq!(msg.len(), HEADER_LEN + 4 + 5);
            let (back, data) = parse(&msg).unwrap();
            assert_eq!(back, h);
            assert_eq!(data, b"\0\0\0\x01\x67");
            assert!(parse(&msg[..10]).is_none());
            assert!(parse(b"{\"type\":\"frame\"....................").is_none());
            let long = "é".repeat(200);
            let mut out = Vec::new();
            write_header(&mut out, &Header { camera: &long, ..h });
            let (back, _) = parse(&out).unwrap();
            assert!(back.camera.len() <= 255 && long.starts_with(back.camera));
        }
    }
}
