// SPDX-License-Identifier: MIT OR Apache-2.0

//! What carries camwall's alarms out of the box: alarm snapshots and on-demand camera
//! snapshots, the event history, MQTT (with Home Assistant discovery), webhooks and Prometheus
//! metrics.
//!
//! Every part listens to the launcher's event stream ([`AppState::subscribe_events`]) on its
//! own task, so none of them touches the pipeline or can hold the video path back; the only
//! thing the pipeline gives them directly is each camera's newest decoded frame, kept as a
//! [`gst::Sample`] reference by [`CameraTaps`] (no copy, no encoding until someone asks).
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/cameras/{id}/snapshot.jpg` | that camera's newest frame as JPEG, encoded on demand |
//! | `GET /api/events/history?limit=N` | the latest alarm, switch and camera events, oldest first |
//! | `GET /metrics` | Prometheus text format |

pub mod config;
pub mod history;
pub mod metrics;
pub mod mqtt;
pub mod routes;
pub mod snapshots;
pub mod webhooks;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use gst::prelude::*;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::state::AppState;
use crate::supervisor::Supervisor;

/// What the pipeline hands the integrations for one camera, written from its streaming thread.
#[derive(Debug, Default)]
pub struct CameraTaps {
    latest: Mutex<Latest>,
    decode_errors: AtomicU64,
}

/// The newest frame and the caps it came with (kept apart: a frame costs one reference, and
/// the sample is only made when someone asks for it).
#[derive(Debug, Default)]
struct Latest {
    caps: Option<gst::Caps>,
    buffer: Option<gst::Buffer>,
}

impl CameraTaps {
    /// Keeps `buffer` (a reference, not a copy) as the newest frame; counts frames the decoder
    /// marked as corrupted.
    pub fn frame(&self, pad: &gst::Pad, buffer: &gst::BufferRef) {
        if buffer.flags().contains(gst::BufferFlags::CORRUPTED) {
            self.decode_errors.fetch_add(1, Ordering::Relaxed);
        }
        let buffer = buffer.to_owned();
        let mut latest = self.lock();
        if latest.caps.is_none() {
            // Caps that were set before the tap was.
            latest.caps = pad.current_caps();
        }
        // The previous frame is released after the lock.
        let _previous = latest.buffer.replace(buffer);
        drop(latest);
    }

    /// New caps: frames from now on have this format; the newest frame, in the old one, goes.
    pub fn caps(&self, caps: gst::Caps) {
        let mut latest = self.lock();
        latest.caps = Some(caps);
        latest.buffer = None;
    }

    /// The newest decoded frame with its caps.
    pub fn latest(&self) -> Option<gst::Sample> {
        let latest = self.lock();
        let (caps, buffer) = (latest.caps.as_ref()?, latest.buffer.as_ref()?);
        Some(gst::Sample::builder().buffer(buffer).caps(caps).build())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Latest> {
        self.latest.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Frames the decoder marked as corrupted, plus decoder errors seen on the bus.
    pub fn decode_errors(&self) -> u64 {
        self.decode_errors.load(Ordering::Relaxed)
    }

    /// Counts a decoder error reported on the bus.
    pub fn decode_error(&self) {
        self.decode_errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts an error or warning posted by a camera's decoder as a decode error of that camera;
/// `camera_of` finds the camera whose bin holds an object.
pub(crate) fn count_decode_error(
    state: &AppState,
    msg: &gst::Message,
    camera_of: impl Fn(&gst::Object) -> Option<usize>,
) {
    if !matches!(
        msg.view(),
        gst::MessageView::Error(_) | gst::MessageView::Warning(_)
    ) {
        return;
    }
    let Some(src) = msg.src() else { return };
    let is_decoder = src
        .downcast_ref::<gst::Element>()
        .and_then(|e| e.factory())
        .is_some_and(|f| f.klass().contains("Decoder"));
    if let Some(cam) = is_decoder
        .then(|| camera_of(src))
        .flatten()
        .and_then(|i| state.cameras.get(i))
    {
        cam.taps.decode_error();
    }
}

/// The running integrations, shared by their tasks and the routes.
pub struct Integrations {
    pub history: Arc<history::History>,
    pub metrics: Arc<metrics::Metrics>,
    supervisor: Arc<OnceLock<Arc<Supervisor>>>,
}

impl Integrations {
    /// Starts every configured integration on the current Tokio runtime. Call it before the
    /// supervisor starts, so that no event is missed; then hand it the supervisor with
    /// [`Integrations::attach`].
    pub fn start(state: &Arc<AppState>) -> anyhow::Result<Arc<Integrations>> {
        let config = &state.config;
        let history = Arc::new(history::History::open(&config.history)?);
        let metrics = Arc::new(metrics::Metrics::new(state.clone()));
        let supervisor = Arc::new(OnceLock::new());

        tokio::spawn(history::record(history.clone(), state.subscribe_events()));
        tokio::spawn(metrics::watch(
            metrics.clone(),
            state.clone(),
            state.subscribe_events(),
        ));
        if let Some(dir) = &config.snapshots.dir {
            tokio::spawn(snapshots::on_alarms(
                state.clone(),
                snapshots::SnapshotStore::new(
                    dir.get_ref().into(),
                    *config.snapshots.max_count.get_ref(),
                    *config.snapshots.max_bytes.get_ref(),
                ),
                state.subscribe_events(),
            ));
        }
        if let Some(mqtt) = &config.mqtt {
            mqtt::start(
                state.clone(),
                mqtt.clone(),
                supervisor.clone(),
                state.subscribe_events(),
            );
        }
        for hook in &config.webhooks {
            webhooks::start(
                state.clone(),
                metrics.clone(),
                hook.clone(),
                state.subscribe_events(),
            );
        }
        Ok(Arc::new(Integrations {
            history,
            metrics,
            supervisor,
        }))
    }

    /// Gives the integrations the supervisor, for selection commands (MQTT).
    pub fn attach(&self, supervisor: Arc<Supervisor>) {
        let _ = self.supervisor.set(supervisor);
    }
}

/// Calls `f` with each event (JSON text of [`gstcamwall::protocol::Message`]) until the stream
/// closes. A reader that falls behind skips what it missed, with a warning: the events are
/// never worth holding the launcher's memory for.
pub(crate) async fn each_event<F, Fut>(
    what: &'static str,
    mut rx: broadcast::Receiver<Arc<str>>,
    mut f: F,
) where
    F: FnMut(Arc<str>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    loop {
        match rx.recv().await {
            Ok(text) => f(text).await,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!("{what}: fell behind and skipped {n} events");
            }
            Err(RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_errors_count_for_their_camera_only() {
        crate::init_gst();
        let config = crate::config::Config::parse(
            "t.toml",
            "[[camera]]\nid = \"a\"\nurl = \"rtsp://192.0.2.1/s\"\n\
             [[camera]]\nid = \"b\"\nurl = \"rtsp://192.0.2.2/s\"\n",
        )
        .unwrap();
        let state = AppState::new(config);
        let decoder = gst::ElementFactory::make("avdec_h264").build().unwrap();
        let source = gst::ElementFactory::make("rtspsrc").build().unwrap();
        let error = |src: &gst::Element| {
            gst::message::Error::builder(gst::StreamError::Decode, "broken slice")
                .src(src)
                .build()
        };
        let on_b = |_: &gst::Object| Some(1);
        count_decode_error(&state, &error(&decoder), on_b);
        count_decode_error(
            &state,
            &gst::message::Warning::builder(gst::StreamError::Decode, "concealed")
                .src(&decoder)
                .build(),
            on_b,
        );
        // Not a decoder, not a camera's, not an error: not counted.
        count_decode_error(&state, &error(&source), on_b);
        count_decode_error(&state, &error(&decoder), |_| None);
        count_decode_error(
            &state,
            &gst::message::Eos::builder().src(&decoder).build(),
            on_b,
        );
        assert_eq!(state.cameras[0].taps.decode_errors(), 0);
        assert_eq!(state.cameras[1].taps.decode_errors(), 2);
    }
}
