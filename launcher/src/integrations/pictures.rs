// SPDX-License-Identifier: MIT OR Apache-2.0

//! A small picture of the camera at each event a guard's event list shows: an alarm starting,
//! an acknowledge, a snooze, a camera going offline (its last frame). Made from the camera's
//! newest decoded frame when the event is published, scaled down and kept in memory (the newest
//! [`KEEP`]); served by `GET /api/events/picture.jpg?camera=ID&ts=MS`, where `ts` is the
//! event's own. Alarms older than that are looked up in the alarm snapshots' folder when one is
//! configured (`<ts>-<camera>.jpg`, the same key).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use gstcamwall::lock;
use gstcamwall::protocol::Message;
use tokio::sync::broadcast;
use tracing::debug;

use super::snapshots::{encode_jpeg_scaled, SnapshotStore};
use crate::events::{each_event, Event};
use crate::state::AppState;

/// Pictures kept in memory: about 10 KB each.
pub const KEEP: usize = 256;
/// Their width at most.
pub const WIDTH: u32 = 320;

/// The event pictures, newest last.
#[derive(Debug, Default)]
pub struct EventPictures {
    pictures: Mutex<VecDeque<(String, u64, Bytes)>>,
    snapshots: Option<SnapshotStore>,
}

impl EventPictures {
    pub fn new(snapshots: Option<SnapshotStore>) -> EventPictures {
        EventPictures {
            pictures: Mutex::default(),
            snapshots,
        }
    }

    fn keep(&self, camera: String, ts: u64, jpeg: Bytes) {
        let mut pictures = lock(&self.pictures);
        if pictures.len() >= KEEP {
            pictures.pop_front();
        }
        pictures.push_back((camera, ts, jpeg));
    }

    /// The picture of camera `camera`'s event at `ts`, from memory or the alarm snapshots.
    /// Blocking (it may read a file): call it from a blocking thread.
    pub fn get(&self, camera: &str, ts: u64) -> Option<Bytes> {
        let kept = lock(&self.pictures)
            .iter()
            .rev()
            .find(|(c, t, _)| *t == ts && c == camera)
            .map(|(_, _, jpeg)| jpeg.clone());
        kept.or_else(|| {
            let store = self.snapshots.as_ref()?;
            // A camera id names a file in that folder, nothing else.
            if !camera
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return None;
            }
            std::fs::read(store.dir().join(format!("{ts:013}-{camera}.jpg")))
                .ok()
                .map(Bytes::from)
        })
    }
}

/// The camera and time of an event that gets a picture.
fn pictured(message: &Message<'_>) -> Option<(String, u64)> {
    match message {
        Message::Alarm(a) if a.active => Some((a.camera.to_string(), a.ts)),
        Message::Ack(a) => Some((a.camera.to_string(), a.ts)),
        Message::Snooze(s) if s.until.is_some() => Some((s.camera.to_string(), s.ts)),
        Message::Camera(c) if c.state == "offline" => Some((c.camera.to_string(), c.ts)),
        _ => None,
    }
}

/// Keeps a picture for each event of `rx` that gets one.
pub async fn record(
    pictures: Arc<EventPictures>,
    state: Arc<AppState>,
    rx: broadcast::Receiver<Arc<Event>>,
) {
    each_event("event pictures", rx, |event| {
        let pictures = pictures.clone();
        let state = state.clone();
        async move {
            let Some((camera, ts)) = pictured(event.message()) else {
                return;
            };
            let Some(sample) = state
                .camera_index(&camera)
                .and_then(|i| state.cameras.get(i)?.taps.latest())
            else {
                return;
            };
            // Scaling and encoding run on a blocking thread, never on the video's.
            let made = tokio::task::spawn_blocking(move || encode_jpeg_scaled(&sample, WIDTH))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
            match made {
                Ok(jpeg) => pictures.keep(camera, ts, jpeg),
                Err(e) => debug!(camera = %camera, "event picture: {e}"),
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_and_finds_them_by_camera_and_time() {
        let p = EventPictures::new(None);
        for i in 0..(KEEP as u64 + 10) {
            p.keep(format!("cam{}", i % 3), i, Bytes::from(i.to_string()));
        }
        assert_eq!(lock(&p.pictures).len(), KEEP);
        assert_eq!(p.get("cam0", 9), None, "the oldest went");
        let last = KEEP as u64 + 9;
        assert_eq!(
            p.get(&format!("cam{}", last % 3), last),
            Some(Bytes::from(last.to_string()))
        );
        assert_eq!(
            p.get(&format!("cam{}", (last + 1) % 3), last),
            None,
            "another camera's time"
        );
    }

    #[test]
    fn alarm_snapshots_answer_for_older_alarms() {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore::new(dir.path().into(), 10, 1_000_000);
        store.save("door", 1234, b"jpeg").unwrap();
        let p = EventPictures::new(Some(store));
        assert_eq!(p.get("door", 1234), Some(Bytes::from_static(b"jpeg")));
        assert_eq!(p.get("door", 1235), None);
        assert_eq!(p.get("../door", 1234), None);
    }
}
