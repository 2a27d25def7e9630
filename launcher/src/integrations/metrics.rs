// SPDX-License-Identifier: MIT OR Apache-2.0

//! `GET /metrics`: Prometheus text format, written by the `prometheus-client` crate.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `camwall_camera_fps` | `camera` | frames a second over the last second (0 unless live) |
//! | `camwall_camera_frames_total` | `camera` | decoded frames |
//! | `camwall_camera_decode_errors_total` | `camera` | frames the decoder marked corrupted, and decoder errors |
//! | `camwall_camera_reconnects_total` | `camera` | restarts after a failure |
//! | `camwall_camera_alarms_total` | `camera` | alarms started |
//! | `camwall_camera_alarm` | `camera` | 1 while an alarm is active |
//! | `camwall_camera_state` | `camera`, `state` | 1 for the camera's state (`connecting`, `live`, `offline`), else 0 |
//! | `camwall_camera_failures_total` | `camera`, `kind` | failures by kind (`auth`, `not_found`, `refused`, `unreachable`, `timeout`, `unsupported`, `stalled`, `protocol`) |
//! | `camwall_switches_total` | `reason` | switches of the camera on screen (`user`, `alarm`, `alarm-ended`, `stalled`, `pad-removed`) |
//! | `camwall_switch_latency_seconds` | | histogram: from a switch to the new camera's first frame reaching the viewers' feed |
//! | `camwall_viewers` | | viewers connected (WebSocket and `/mjpeg`) |
//! | `camwall_frames_sent_total` | | frames sent, summed over viewers |
//! | `camwall_frames_dropped_total` | | frames viewers skipped because they were slower than the stream |
//! | `camwall_bytes_sent_total` | | bytes written to viewers |
//! | `camwall_webhook_events_total` | `url`, `result` | webhook events `delivered`, `failed` (every try) or `dropped` (queue full) |

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gstcamwall::protocol::{unix_ms_now, Message};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::events::Event;
use crate::state::{AppState, CameraState, FailureKind};
use gstcamwall::lock;

/// Upper bounds of the switch-latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.0, 5.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

/// What became of a webhook event.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum WebhookResult {
    Delivered,
    /// Every try failed.
    Failed,
    /// The URL's queue was full.
    Dropped,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    url: String,
    result: &'static str,
}

/// The launcher's metrics: counted from events, or read from the shared state at scrape time.
pub struct Metrics {
    registry: Registry,
    switches: Family<ReasonLabel, Counter>,
    switch_latency: Histogram,
    alarms: Arc<Mutex<HashMap<String, u64>>>,
    webhooks: Family<WebhookLabels, Counter>,
}

impl Metrics {
    pub fn new(state: Arc<AppState>) -> Metrics {
        let mut registry = Registry::default();
        let switches = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "camwall_switches",
            "Switches of the camera on screen, by reason",
            switches.clone(),
        );
        let switch_latency = Histogram::new(LATENCY_BUCKETS);
        registry.register(
            "camwall_switch_latency_seconds",
            "From a switch to the new camera's first frame reaching the viewers' feed",
            switch_latency.clone(),
        );
        let webhooks = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "camwall_webhook_events",
            "Webhook events by URL (password masked) and result: delivered, failed (every try), dropped (queue full)",
            webhooks.clone(),
        );
        let alarms: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
        registry.register_collector(Box::new(Pulled {
            state,
            alarms: alarms.clone(),
        }));
        Metrics {
            registry,
            switches,
            switch_latency,
            alarms,
            webhooks,
        }
    }

    /// Counts one webhook event for `url` (already masked).
    pub fn webhook(&self, url: &str, result: WebhookResult) {
        let result = match result {
            WebhookResult::Delivered => "delivered",
            WebhookResult::Failed => "failed",
            WebhookResult::Dropped => "dropped",
        };
        self.webhooks
            .get_or_create(&WebhookLabels {
                url: url.to_string(),
                result,
            })
            .inc();
    }

    /// The text format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }

    fn on_event(&self, state: &AppState, event: &Event, pending: &mut Option<(String, u64)>) {
        match event.message() {
            Message::Alarm(a) if a.active && state.camera_index(&a.camera).is_some() => {
                *lock(&self.alarms).entry(a.camera.to_string()).or_default() += 1;
            }
            // The first wall's switches (what `camwall_switches_total` counted before walls).
            Message::Switch(s) if s.wall.as_deref().is_none_or(|w| w == state.main_wall().id) => {
                self.switches
                    .get_or_create(&ReasonLabel {
                        reason: s.reason.to_string(),
                    })
                    .inc();
                *pending = (!s.camera.is_empty()).then(|| (s.camera.to_string(), s.ts));
                // The new camera's first frame may have reached the feed before the switch's
                // bus message was handled: before the switch, only the old camera was there.
                if let Some(frame) = state.feed().latest() {
                    self.frame_seen(frame.camera.as_deref(), frame.ts, pending);
                }
            }
            _ => {}
        }
    }

    fn frame_seen(&self, camera: Option<&str>, ts: u64, pending: &mut Option<(String, u64)>) {
        if let Some((want, switched)) = pending.as_ref() {
            if camera == Some(want.as_str()) {
                let secs = ts.saturating_sub(*switched) as f64 / 1000.0;
                self.switch_latency.observe(secs);
                *pending = None;
            }
        }
    }
}

/// Counts switches and alarms from the event stream, and times each switch until the new
/// camera's first frame is in the viewers' feed.
pub async fn watch(
    metrics: Arc<Metrics>,
    state: Arc<AppState>,
    mut rx: broadcast::Receiver<Arc<Event>>,
) {
    let mut frames = state.feed().subscribe().frames;
    let mut pending: Option<(String, u64)> = None;
    loop {
        tokio::select! {
            event = rx.recv() => match event {
                Ok(event) => metrics.on_event(&state, &event, &mut pending),
                Err(RecvError::Lagged(n)) => tracing::warn!("metrics: skipped {n} events"),
                Err(RecvError::Closed) => return,
            },
            frame = frames.next_frame(), if pending.is_some() => {
                metrics.frame_seen(frame.camera.as_deref(), frame.ts, &mut pending);
                // A switch whose camera never shows (it died meanwhile) is not timed forever.
                if pending.as_ref().is_some_and(|p| unix_ms_now().saturating_sub(p.1) > 30_000) {
                    pending = None;
                }
            }
        }
    }
}

/// What is read from the shared state at each scrape.
struct Pulled {
    state: Arc<AppState>,
    alarms: Arc<Mutex<HashMap<String, u64>>>,
}

impl std::fmt::Debug for Pulled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pulled")
    }
}

/// One family with a value for each camera of `views` (the value of the k-th camera from
/// `value(k)`).
fn per_camera<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    views: &[crate::state::CameraView],
    name: &str,
    help: &str,
    kind: MetricType,
    mut value: impl FnMut(usize) -> M,
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, kind)?;
    for (k, view) in views.iter().enumerate() {
        let labels = [("camera", view.id.as_str())];
        value(k).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for Pulled {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let state = &*self.state;
        // One list of the cameras for every family, whatever is added or removed meanwhile.
        let cams = state.cameras.all();
        let views = state.views_of(&cams, state.main_wall().shown());
        let alarms = lock(&self.alarms).clone();
        per_camera(
            &mut encoder,
            &views,
            "camwall_camera_fps",
            "Frames a second over the last second (0 unless live)",
            MetricType::Gauge,
            |i| ConstGauge::new(views[i].fps.unwrap_or(0.0)),
        )?;
        per_camera(
            &mut encoder,
            &views,
            "camwall_camera_frames",
            "Decoded frames",
            MetricType::Counter,
            |i| ConstCounter::new(views[i].frames),
        )?;
        per_camera(
            &mut encoder,
            &views,
            "camwall_camera_decode_errors",
            "Frames the decoder marked corrupted, and decoder errors",
            MetricType::Counter,
            |k| ConstCounter::new(cams[k].1.taps.decode_errors()),
        )?;
        per_camera(
            &mut encoder,
            &views,
            "camwall_camera_reconnects",
            "Restarts of the camera after a failure",
            MetricType::Counter,
            |i| ConstCounter::new(views[i].reconnects),
        )?;
        per_camera(
            &mut encoder,
            &views,
            "camwall_camera_alarms",
            "Alarms started",
            MetricType::Counter,
            |k| ConstCounter::new(alarms.get(&views[k].id).copied().unwrap_or(0)),
        )?;
        per_camera(
            &mut encoder,
            &views,
            "camwall_camera_alarm",
            "1 while an alarm is active",
            MetricType::Gauge,
            |i| ConstGauge::new(i64::from(views[i].alarm)),
        )?;
        {
            let mut family = encoder.encode_descriptor(
                "camwall_camera_state",
                "1 for the camera's connection state, else 0",
                None,
                MetricType::Gauge,
            )?;
            for view in &views {
                for s in [
                    CameraState::Connecting,
                    CameraState::Live,
                    CameraState::Offline,
                ] {
                    let labels = [("camera", view.id.as_str()), ("state", s.as_str())];
                    ConstGauge::new(i64::from(view.state == s))
                        .encode(family.encode_family(&labels)?)?;
                }
            }
        }
        {
            let mut family = encoder.encode_descriptor(
                "camwall_camera_failures",
                "Failures of the camera, by kind",
                None,
                MetricType::Counter,
            )?;
            for (view, (_, cam)) in views.iter().zip(&cams) {
                for kind in FailureKind::ALL {
                    let labels = [("camera", view.id.as_str()), ("kind", kind.as_str())];
                    ConstCounter::new(cam.failures(kind)).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        // Summed over the walls, JPEG and H.264 viewers alike.
        let sum = |f: fn(&gstcamwall::mjpegwssink::FrameFeed) -> u64| {
            state
                .walls
                .iter()
                .map(|w| f(&w.feed) + f(&w.h264))
                .sum::<u64>()
        };
        let viewers = ConstGauge::new(sum(|f| f.clients() as u64) as i64);
        viewers.encode(encoder.encode_descriptor(
            "camwall_viewers",
            "Viewers connected (WebSocket and /mjpeg)",
            None,
            viewers.metric_type(),
        )?)?;
        for (name, help, v) in [
            (
                "camwall_frames_sent",
                "Frames sent, summed over viewers",
                sum(|f| f.frames_sent()),
            ),
            (
                "camwall_frames_dropped",
                "Frames viewers skipped because they were slower than the stream",
                sum(|f| f.frames_dropped()),
            ),
            (
                "camwall_bytes_sent",
                "Bytes written to viewers",
                sum(|f| f.bytes_sent()),
            ),
        ] {
            let c = ConstCounter::new(v);
            c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)?;
        }
        Ok(())
    }
}
