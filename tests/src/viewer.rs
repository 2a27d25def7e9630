// SPDX-License-Identifier: MIT OR Apache-2.0

//! A WebSocket viewer for tests and benchmarks: connects to `/ws`, decodes every JPEG it gets
//! and reads the fakecam's capture stamp out of the pixels.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use base64::Engine;
use futures_util::StreamExt;
use gstcamwall::protocol::{self, Message};
use tokio_tungstenite::tungstenite;

use camwall::framestamp::{self, Stamp};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A frame as the viewer received it.
#[derive(Debug, Clone)]
pub struct ViewerFrame {
    pub camera: Option<String>,
    pub seq: u64,
    /// The server's receipt time (Unix ms).
    pub ts: u64,
    /// When this viewer received it.
    pub received: Instant,
    pub received_unix_ms: u64,
    pub width: usize,
    pub height: usize,
    pub jpeg_len: usize,
    /// The fakecam stamp in the picture, if readable.
    pub stamp: Option<Stamp>,
}

/// Something the viewer received.
#[derive(Debug, Clone)]
pub enum Received {
    Frame(ViewerFrame),
    /// Any other message, as JSON.
    Event(serde_json::Value),
}

pub struct Viewer {
    socket: Socket,
    /// Decode JPEGs (and read stamps); off for pure load.
    pub decode: bool,
}

/// Decodes a JPEG and reads its stamp.
pub fn decode_stamp(jpeg: &[u8]) -> anyhow::Result<(usize, usize, Option<Stamp>)> {
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    let pixels = decoder.decode().context("JPEG decodes")?;
    let info = decoder.info().context("JPEG info")?;
    let (w, h) = (usize::from(info.width), usize::from(info.height));
    let channels = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => 1,
        jpeg_decoder::PixelFormat::RGB24 => 3,
        jpeg_decoder::PixelFormat::CMYK32 => 4,
        jpeg_decoder::PixelFormat::L16 => bail!("16-bit JPEG"),
    };
    let stamp = if channels == 1 {
        framestamp::read_luma(&pixels, w, w, h)
    } else {
        framestamp::read_rgb(&pixels, w, h, channels)
    };
    Ok((w, h, stamp))
}

/// A JPEG's width and height from its frame header, without decoding it.
pub fn jpeg_size(jpeg: &[u8]) -> Option<(usize, usize)> {
    let mut at = 2;
    while at + 9 < jpeg.len() {
        if jpeg[at] != 0xFF {
            return None;
        }
        let marker = jpeg[at + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        // Start of frame (baseline, extended, progressive, lossless): P, Y, X.
        if matches!(marker, 0xC0..=0xC3) {
            let h = u16::from_be_bytes([jpeg[at + 5], jpeg[at + 6]]);
            let w = u16::from_be_bytes([jpeg[at + 7], jpeg[at + 8]]);
            return Some((usize::from(w), usize::from(h)));
        }
        at += 2 + len;
    }
    None
}

impl Viewer {
    /// Connects to `ws://addr/ws` (with `?token=` when given).
    pub async fn connect(addr: &str, token: Option<&str>) -> anyhow::Result<Viewer> {
        let query = token.map(|t| format!("?token={t}")).unwrap_or_default();
        Self::connect_to(addr, &query).await
    }

    /// Connects to `ws://addr/ws` with `query` (empty, or `?wall=lobby`, say).
    pub async fn connect_to(addr: &str, query: &str) -> anyhow::Result<Viewer> {
        let url = format!("ws://{addr}/ws{query}");
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .context("WebSocket connect")?;
        Ok(Viewer {
            socket,
            decode: true,
        })
    }

    /// The next message, or an error at `timeout`, close or a bad message.
    pub async fn next(&mut self, timeout: Duration) -> anyhow::Result<Received> {
        loop {
            let msg = tokio::time::timeout(timeout, self.socket.next())
                .await
                .map_err(|_| anyhow!("nothing received within {timeout:?}"))?
                .ok_or_else(|| anyhow!("the socket closed"))??;
            // Both receipt times are taken before any decoding, which would otherwise count as
            // latency.
            let received = Instant::now();
            let received_unix_ms = protocol::unix_ms_now();
            let text = match msg {
                tungstenite::Message::Text(t) => t,
                tungstenite::Message::Close(c) => bail!("closed by the server: {c:?}"),
                _ => continue,
            };
            return match Message::from_json(&text)? {
                Message::Frame(f) => {
                    let jpeg =
                        base64::engine::general_purpose::STANDARD.decode(f.jpeg.as_bytes())?;
                    let (width, height, stamp) = if self.decode {
                        decode_stamp(&jpeg)?
                    } else {
                        let (w, h) = jpeg_size(&jpeg).unwrap_or((0, 0));
                        (w, h, None)
                    };
                    Ok(Received::Frame(ViewerFrame {
                        camera: f.camera.map(|c| c.to_string()),
                        seq: f.seq,
                        ts: f.ts,
                        received,
                        received_unix_ms,
                        width,
                        height,
                        jpeg_len: jpeg.len(),
                        stamp,
                    }))
                }
                _ => Ok(Received::Event(serde_json::from_str(&text)?)),
            };
        }
    }

    /// The next frame (events are skipped).
    pub async fn next_frame(&mut self, timeout: Duration) -> anyhow::Result<ViewerFrame> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Received::Frame(f) = self.next(left).await? {
                return Ok(f);
            }
        }
    }

    /// Waits for a frame of `camera`, by both the message's `camera` field and the stamp in the
    /// picture (fakecam camera index `index`).
    pub async fn frame_of(
        &mut self,
        camera: &str,
        index: u8,
        timeout: Duration,
    ) -> anyhow::Result<ViewerFrame> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let f = self
                .next_frame(left)
                .await
                .with_context(|| format!("waiting for a frame of {camera}"))?;
            if f.camera.as_deref() == Some(camera) && f.stamp.map(|s| s.camera) == Some(index) {
                return Ok(f);
            }
        }
    }

    /// Waits for an event with `"type": kind` for which `pred` holds.
    pub async fn event(
        &mut self,
        kind: &str,
        timeout: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> anyhow::Result<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Received::Event(e) = self
                .next(left)
                .await
                .with_context(|| format!("waiting for a '{kind}' event"))?
            {
                if e["type"] == kind && pred(&e) {
                    return Ok(e);
                }
            }
        }
    }
}
