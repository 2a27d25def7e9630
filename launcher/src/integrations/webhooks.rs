// SPDX-License-Identifier: MIT OR Apache-2.0

//! Webhooks: each alarm start and end is POSTed as JSON to every configured URL:
//!
//! ```json
//! {"event":"alarm","camera":"cam2","name":"Camera 2","active":true,"kind":"motion",
//!  "level":0.04,"ts":1763731200456,"snapshot":"/api/cameras/cam2/snapshot.jpg"}
//! ```
//!
//! Each URL has its own bounded queue and sender task: a slow or dead receiver delays only its
//! own deliveries, and when its queue is full new events are dropped with a warning. A delivery
//! is tried `1 + retries` times (each with `timeout_ms`), backing off 250 ms, 500 ms, 1 s, ...
//! up to 5 s; any 2xx answer is success.

use std::sync::Arc;
use std::time::Duration;

use gstcamwall::protocol::Message;
use tokio::sync::{broadcast, mpsc};
use tracing::{debug, warn};

use super::metrics::{Metrics, WebhookResult};
use crate::config::mask_url;
use crate::config::WebhookConfig;
use crate::events::{each_event, Event};
use crate::state::AppState;

/// The body of one webhook call: alarms, acknowledges and snoozes (each saying who acted).
pub fn alarm_body(state: &AppState, message: &Message<'_>) -> Option<serde_json::Value> {
    let camera = match message {
        Message::Alarm(a) => &a.camera,
        Message::Ack(a) => &a.camera,
        Message::Snooze(z) => &z.camera,
        _ => return None,
    };
    let name = state
        .camera_index(camera)
        .and_then(|i| Some(state.cameras.get(i)?.name.clone()))?;
    Some(match message {
        Message::Alarm(a) => serde_json::json!({
            "event": "alarm",
            "camera": a.camera,
            "name": name,
            "active": a.active,
            "kind": a.kind,
            "level": a.level,
            "ts": a.ts,
            "snoozed": a.snoozed,
            "snapshot": format!("/api/cameras/{}/snapshot.jpg", a.camera),
        }),
        Message::Ack(a) => serde_json::json!({
            "event": "ack",
            "camera": a.camera,
            "name": name,
            "wall": a.wall,
            "by": a.by,
            "ts": a.ts,
        }),
        Message::Snooze(z) => serde_json::json!({
            "event": "snooze",
            "camera": z.camera,
            "name": name,
            "until": z.until,
            "by": z.by,
            "ts": z.ts,
        }),
        _ => return None,
    })
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((250u64 << attempt.min(5)).min(5_000))
}

/// Starts the queue and sender of one webhook.
pub fn start(
    state: Arc<AppState>,
    metrics: Arc<Metrics>,
    config: WebhookConfig,
    rx: broadcast::Receiver<Arc<Event>>,
) {
    let url = config.url.get_ref().clone();
    let shown = mask_url(&url);
    let timeout = Duration::from_millis(u64::from(*config.timeout_ms.get_ref()));
    let retries = *config.retries.get_ref();
    let (queue, mut pending) = mpsc::channel::<Vec<u8>>(*config.queue.get_ref() as usize);

    let client = match reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        // Webhook receivers are named in the configuration; an environment proxy is not.
        .no_proxy()
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            warn!("webhook {shown}: cannot make an HTTP client: {e}");
            return;
        }
    };

    let name = shown.clone();
    let counts = metrics.clone();
    tokio::spawn(async move {
        while let Some(body) = pending.recv().await {
            let mut attempt = 0;
            loop {
                let result = client
                    .post(&url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let why = match result {
                    Ok(res) if res.status().is_success() => {
                        debug!("webhook {name}: delivered");
                        counts.webhook(&name, WebhookResult::Delivered);
                        break;
                    }
                    Ok(res) => format!("answered {}", res.status()),
                    Err(e) => e.to_string(),
                };
                if attempt >= retries {
                    warn!(
                        "webhook {name}: giving up after {} tries: {why}",
                        attempt + 1
                    );
                    counts.webhook(&name, WebhookResult::Failed);
                    break;
                }
                let wait = backoff(attempt);
                debug!("webhook {name}: {why}; retrying in {wait:?}");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    });

    tokio::spawn(each_event("webhooks", rx, move |event| {
        if let Some(body) = alarm_body(&state, event.message()) {
            if let Err(mpsc::error::TrySendError::Full(_)) =
                queue.try_send(body.to_string().into_bytes())
            {
                warn!("webhook {shown}: queue full; dropping an alarm event");
                metrics.webhook(&shown, WebhookResult::Dropped);
            }
        }
        std::future::ready(())
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_millis(250));
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(3), Duration::from_secs(2));
        assert_eq!(backoff(9), Duration::from_secs(5));
    }
}
