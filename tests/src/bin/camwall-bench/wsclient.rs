// SPDX-License-Identifier: MIT OR Apache-2.0

//! Light WebSocket clients for camwall's `/ws`: a recorder that timestamps each message on
//! receipt and decodes later (so decoding never delays receipt), and a load viewer that only
//! counts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use base64::Engine;
use futures_util::StreamExt;
use gstcamwall::protocol::{self, Message};
use tokio_tungstenite::tungstenite;

/// A frame message as received: its text and when it arrived.
pub struct Recorded {
    pub text: tungstenite::Utf8Bytes,
    pub received_unix_ms: u64,
}

/// Every message received on `/ws` for `dur`.
pub async fn record(addr: &str, dur: Duration) -> anyhow::Result<Vec<Recorded>> {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .context("WebSocket connect")?;
    let deadline = tokio::time::Instant::now() + dur;
    let mut out = Vec::new();
    loop {
        let msg = match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => break,
            Ok(None) => return Err(anyhow!("the socket closed")),
            Ok(Some(m)) => m?,
        };
        if let tungstenite::Message::Text(text) = msg {
            out.push(Recorded {
                text,
                received_unix_ms: protocol::unix_ms_now(),
            });
        }
    }
    Ok(out)
}

/// What the recorded frames say, once decoded.
#[derive(Default)]
pub struct Decoded {
    /// Receipt minus capture stamp, ms, per frame with a readable stamp.
    pub latencies_ms: Vec<f64>,
    /// The readable stamps and when their frames arrived (Unix ms).
    pub stamps: Vec<(camwall::framestamp::Stamp, u64)>,
    pub frames: usize,
    pub unreadable_stamps: usize,
    pub jpeg_bytes: u64,
    pub wire_bytes: u64,
}

/// Decodes every recorded frame and reads its stamp.
pub fn decode(recorded: &[Recorded]) -> anyhow::Result<Decoded> {
    let mut d = Decoded::default();
    for r in recorded {
        d.wire_bytes += r.text.len() as u64;
        if let Message::Frame(f) = Message::from_json(&r.text)? {
            let jpeg = base64::engine::general_purpose::STANDARD.decode(f.jpeg.as_bytes())?;
            d.frames += 1;
            d.jpeg_bytes += jpeg.len() as u64;
            let stamp = camwall_tests::viewer::decode_stamp(&jpeg)?.2;
            match (
                crate::stats::plausible_latency(r.received_unix_ms, stamp, None),
                stamp,
            ) {
                (Some(ms), Some(stamp)) => {
                    d.latencies_ms.push(ms);
                    d.stamps.push((stamp, r.received_unix_ms));
                }
                _ => d.unreadable_stamps += 1,
            }
        }
    }
    Ok(d)
}

/// Counters shared by load viewers.
#[derive(Default)]
pub struct LoadCounters {
    pub frames: AtomicU64,
    pub bytes: AtomicU64,
    pub failed: AtomicU64,
}

/// A viewer that reads `/ws` until `until`, counting messages and bytes.
pub async fn load_viewer(addr: String, until: Instant, counters: Arc<LoadCounters>) {
    load_viewer_at(format!("ws://{addr}/ws"), until, counters).await
}

/// [`load_viewer`] on the WebSocket at `url` (a wall's or a peek's, say).
pub async fn load_viewer_at(url: String, until: Instant, counters: Arc<LoadCounters>) {
    let result: anyhow::Result<()> = async {
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await?;
        let deadline = tokio::time::Instant::from_std(until);
        while let Ok(msg) = tokio::time::timeout_at(deadline, socket.next()).await {
            let msg = msg.ok_or_else(|| anyhow!("closed"))??;
            // Text (base64 JPEG frames, events) and binary frames (binary JPEG, H.264).
            let len = match &msg {
                tungstenite::Message::Text(t) => Some(t.len()),
                tungstenite::Message::Binary(b) => Some(b.len()),
                _ => None,
            };
            if let Some(len) = len {
                counters.frames.fetch_add(1, Ordering::Relaxed);
                counters.bytes.fetch_add(len as u64, Ordering::Relaxed);
            }
        }
        Ok(())
    }
    .await;
    if result.is_err() {
        counters.failed.fetch_add(1, Ordering::Relaxed);
    }
}
