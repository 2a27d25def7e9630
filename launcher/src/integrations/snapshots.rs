// SPDX-License-Identifier: MIT OR Apache-2.0

//! Snapshots: a camera's newest decoded frame, encoded to JPEG only when asked for (by
//! `GET /api/cameras/{id}/snapshot.jpg`, or by an alarm starting on it), and the folder of
//! alarm snapshots with its retention limits.
//!
//! Alarm snapshots are named `<unix ms>-<camera>.jpg`, so their names sort by time; the oldest
//! are deleted once there are more than `max_count` or they add up to more than `max_bytes`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gstcamwall::protocol::Message;
use tokio::sync::broadcast;
use tracing::{debug, info, warn};

use crate::events::{each_event, Event};
use crate::state::AppState;

/// Longest time an encode may take.
const ENCODE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why there is no snapshot.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("no camera '{0}'")]
    UnknownCamera(String),
    #[error("camera '{0}' has not delivered a frame yet")]
    NoFrame(String),
    #[error("encoding the frame failed: {0}")]
    Encode(String),
}

/// Encodes `sample` (raw video) to a JPEG. Blocking: call it from a blocking thread.
pub fn encode_jpeg(sample: &gst::Sample) -> Result<Bytes, SnapshotError> {
    convert(sample, &gst::Caps::builder("image/jpeg").build())
}

/// Encodes `sample` (raw video) to a JPEG at most `max_width` wide, its aspect kept. Blocking.
pub fn encode_jpeg_scaled(sample: &gst::Sample, max_width: u32) -> Result<Bytes, SnapshotError> {
    let info = sample
        .caps()
        .and_then(|c| gst_video::VideoInfo::from_caps(c).ok())
        .ok_or_else(|| SnapshotError::Encode("the frame has no video caps".into()))?;
    if info.width() <= max_width {
        return encode_jpeg(sample);
    }
    let height = (u64::from(info.height()) * u64::from(max_width) / u64::from(info.width())).max(2);
    let caps = gst::Caps::builder("image/jpeg")
        .field("width", max_width as i32 & !1)
        .field("height", height as i32 & !1)
        .build();
    convert(sample, &caps)
}

fn convert(sample: &gst::Sample, caps: &gst::Caps) -> Result<Bytes, SnapshotError> {
    let timeout = gst::ClockTime::from_mseconds(ENCODE_TIMEOUT.as_millis() as u64);
    let jpeg = gst_video::convert_sample(sample, caps, Some(timeout))
        .map_err(|e| SnapshotError::Encode(e.to_string()))?;
    let buffer = jpeg
        .buffer()
        .ok_or_else(|| SnapshotError::Encode("no buffer".into()))?;
    let map = buffer
        .map_readable()
        .map_err(|e| SnapshotError::Encode(e.to_string()))?;
    Ok(Bytes::copy_from_slice(&map))
}

/// How long a snapshot of a camera with a sub-stream waits for its main stream's picture
/// (decoded from its last keyframe) before it takes the sub-stream's.
const MAIN_FRAME_WAIT: Duration = Duration::from_millis(1500);

/// The newest frame of camera `id`, encoded now on a blocking thread.
pub async fn camera_jpeg(state: &AppState, id: &str) -> Result<Bytes, SnapshotError> {
    let index = state
        .camera_index(id)
        .ok_or_else(|| SnapshotError::UnknownCamera(id.to_string()))?;
    let camera = state
        .cameras
        .get(index)
        .ok_or_else(|| SnapshotError::UnknownCamera(id.to_string()))?;
    // A camera with a sub-stream: its main stream's picture, decoded for it.
    let sample = camera
        .main_frame(MAIN_FRAME_WAIT)
        .await
        .ok_or_else(|| SnapshotError::NoFrame(id.to_string()))?;
    tokio::task::spawn_blocking(move || encode_jpeg(&sample))
        .await
        .map_err(|e| SnapshotError::Encode(e.to_string()))?
}

/// The folder of alarm snapshots.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    dir: PathBuf,
    max_count: u32,
    max_bytes: u64,
}

impl SnapshotStore {
    pub fn new(dir: PathBuf, max_count: u32, max_bytes: u64) -> SnapshotStore {
        SnapshotStore {
            dir,
            max_count,
            max_bytes,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one snapshot, then applies the retention limits. Blocking.
    pub fn save(&self, camera: &str, ts: u64, jpeg: &[u8]) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.dir.join(format!("{ts:013}-{camera}.jpg"));
        // Written under another name first, so a reader never sees half a JPEG.
        let part = path.with_extension("jpg.part");
        std::fs::write(&part, jpeg)?;
        std::fs::rename(&part, &path)?;
        self.prune()?;
        Ok(path)
    }

    /// The snapshots, oldest first, with their sizes.
    pub fn list(&self) -> std::io::Result<Vec<(PathBuf, u64)>> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let ours = name.ends_with(".jpg")
                && name.split_once('-').is_some_and(|(ts, _)| {
                    !ts.is_empty() && ts.bytes().all(|b| b.is_ascii_digit())
                });
            if ours {
                files.push((entry.path(), entry.metadata()?.len()));
            }
        }
        files.sort();
        Ok(files)
    }

    /// Deletes the oldest snapshots until the limits hold; the newest one always stays.
    pub fn prune(&self) -> std::io::Result<()> {
        let files = self.list()?;
        let mut count = files.len();
        let mut bytes: u64 = files.iter().map(|f| f.1).sum();
        for (path, len) in &files {
            if count <= 1 || (count <= self.max_count as usize && bytes <= self.max_bytes) {
                break;
            }
            std::fs::remove_file(path)?;
            debug!("snapshot retention: removed {}", path.display());
            count -= 1;
            bytes -= len;
        }
        Ok(())
    }
}

/// Saves a snapshot of the alarmed camera on every alarm start, whether or not the alarm takes
/// the screen over.
pub async fn on_alarms(
    state: Arc<AppState>,
    store: SnapshotStore,
    rx: broadcast::Receiver<Arc<Event>>,
) {
    info!("alarm snapshots go to {}", store.dir().display());
    each_event("alarm snapshots", rx, |event| {
        let state = state.clone();
        let store = store.clone();
        async move {
            let Message::Alarm(alarm) = event.message() else {
                return;
            };
            if !alarm.active {
                return;
            }
            let camera = alarm.camera.to_string();
            let runtime = state
                .camera_index(&camera)
                .and_then(|i| state.cameras.get(i));
            let sample = match runtime {
                Some(runtime) => runtime.main_frame(MAIN_FRAME_WAIT).await,
                None => None,
            };
            let Some(sample) = sample else {
                warn!(camera = %camera, "alarm snapshot: no frame yet");
                return;
            };
            let ts = alarm.ts;
            // Encoding and writing run on a blocking thread; this task only waits, so a slow
            // disk delays the next snapshot, never the video.
            let saved = tokio::task::spawn_blocking(move || {
                let jpeg = encode_jpeg(&sample).map_err(|e| e.to_string())?;
                store
                    .save(&camera, ts, &jpeg)
                    .map_err(|e| format!("writing to {}: {e}", store.dir().display()))
            })
            .await;
            match saved {
                Ok(Ok(path)) => info!("alarm snapshot {}", path.display()),
                Ok(Err(e)) => warn!("alarm snapshot: {e}"),
                Err(e) => warn!("alarm snapshot: {e}"),
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_keeps_the_newest_within_count_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        // Something else in the folder is never touched.
        std::fs::write(dir.path().join("notes.txt"), b"keep me").unwrap();
        let store = SnapshotStore::new(dir.path().into(), 3, 1_000);
        for ts in 1..=5u64 {
            store.save("cam1", ts, &[0u8; 100]).unwrap();
        }
        let names: Vec<String> = store
            .list()
            .unwrap()
            .iter()
            .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "0000000000003-cam1.jpg",
                "0000000000004-cam1.jpg",
                "0000000000005-cam1.jpg"
            ]
        );

        let store = SnapshotStore::new(dir.path().into(), 100, 450);
        store.save("cam2", 6, &[0u8; 300]).unwrap();
        let left: Vec<(String, u64)> = store
            .list()
            .unwrap()
            .into_iter()
            .map(|(p, n)| (p.file_name().unwrap().to_string_lossy().into_owned(), n))
            .collect();
        assert_eq!(
            left,
            [
                ("0000000000005-cam1.jpg".to_string(), 100),
                ("0000000000006-cam2.jpg".to_string(), 300)
            ]
        );
        // A single snapshot larger than the limit is still kept: it is the newest.
        store.save("cam2", 7, &[0u8; 600]).unwrap();
        assert_eq!(store.list().unwrap().len(), 1);
        assert!(dir.path().join("notes.txt").exists());
    }

    #[test]
    fn encodes_a_raw_frame() {
        crate::init_gst();
        let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, 64, 48)
            .build()
            .unwrap();
        let buffer = gst::Buffer::from_mut_slice(vec![128u8; info.size()]);
        let sample = gst::Sample::builder()
            .buffer(&buffer)
            .caps(&info.to_caps().unwrap())
            .build();
        let jpeg = encode_jpeg(&sample).unwrap();
        assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
        let info = gstcamwall::mjpegwssink::jpeg::inspect(&jpeg).unwrap();
        assert_eq!((info.width, info.height), (64, 48));
    }
}
