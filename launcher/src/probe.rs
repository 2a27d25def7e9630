// SPDX-License-Identifier: MIT OR Apache-2.0

//! What a camera sends, found by connecting to it without adding it: the codec, picture size
//! and frame rate of its first video stream, its other streams (audio, metadata), or the kind of
//! failure that kept it from playing ([`FailureKind`]: auth, not_found, refused...). Used by
//! `camwall check` (a codec setting that cannot work) and by whoever installs a camera.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use serde::Serialize;

use crate::config::Codec;
use crate::faults;
use crate::health::FailureKind;
use gstcamwall::lock;

/// What a probe found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Probe {
    /// A picture was decoded.
    pub ok: bool,
    /// The video stream's RTP encoding, lower case: `h264`, `h265`, `jpeg`...
    pub codec: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Frames a second over the first second of pictures (or what the caps say).
    pub fps: Option<f64>,
    /// The decoded pictures' format (`I420`, `I420_10LE`...).
    pub format: Option<String>,
    /// The other streams the camera offers (`audio:mpeg4-generic`, `application:vnd.onvif.metadata`).
    pub other_streams: Vec<String>,
    /// Why it failed; `null` when it did not.
    pub failure: Option<FailureKind>,
    pub reason: Option<String>,
    pub elapsed_ms: u64,
}

impl Probe {
    /// Whether `codec` (a camera's setting) can decode what this probe found; `None` when
    /// nothing was found.
    pub fn accepts(&self, codec: Codec) -> Option<bool> {
        let found = self.codec.as_deref()?;
        Some(match codec {
            Codec::Auto => true,
            Codec::H264 => found == "h264",
            Codec::H265 => found == "h265",
            Codec::Mjpeg => found == "jpeg",
        })
    }
}

#[derive(Default)]
struct Found {
    codec: Option<String>,
    other: Vec<String>,
    /// Timestamps of the first pictures, for the frame rate.
    pts: Vec<gst::ClockTime>,
    caps: Option<gst::Caps>,
}

/// Connects to `url`, plays its first video stream for up to a second of pictures, and says
/// what it found, within `timeout`. Blocks; call it off async threads.
pub fn probe(url: &str, timeout: Duration) -> Probe {
    let started = Instant::now();
    let mut out = match run(url, timeout) {
        Ok(p) => p,
        Err(e) => Probe {
            failure: Some(FailureKind::Protocol),
            reason: Some(format!("{e:#}")),
            ..Probe::default()
        },
    };
    out.elapsed_ms = started.elapsed().as_millis() as u64;
    out
}

fn run(url: &str, timeout: Duration) -> anyhow::Result<Probe> {
    let deadline = Instant::now() + timeout;
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("rtspsrc")
        .property("location", url)
        .property("latency", 0u32)
        .property_from_str("protocols", "tcp+udp")
        .property("tcp-timeout", timeout.as_micros() as u64)
        .build()?;
    let decode = gst::ElementFactory::make("decodebin").build()?;
    let sink = gst_app::AppSink::builder().sync(false).build();
    pipeline.add_many([&src, &decode, sink.upcast_ref()])?;

    let found = Arc::new(Mutex::new(Found::default()));
    // Every stream is seen here: the first video one is played, the others are only noted.
    let f = found.clone();
    src.connect("select-stream", false, move |args| {
        let caps = args[2].get::<gst::Caps>().ok();
        let s = caps.as_ref().and_then(|c| c.structure(0));
        let media = s.and_then(|s| s.get::<&str>("media").ok()).unwrap_or("?");
        let encoding = s
            .and_then(|s| s.get::<&str>("encoding-name").ok())
            .unwrap_or("?")
            .to_ascii_lowercase();
        let mut f = lock(&f);
        let take = media == "video" && f.codec.is_none();
        if take {
            f.codec = Some(encoding);
        } else {
            f.other.push(format!("{media}:{encoding}"));
        }
        Some(take.to_value())
    });
    let decode_sink = decode.static_pad("sink").expect("decodebin has a sink");
    src.connect_pad_added(move |_, pad| {
        if !decode_sink.is_linked() {
            let _ = pad.link(&decode_sink);
        }
    });
    let sink_pad = sink.static_pad("sink").expect("appsink has a sink");
    decode.connect_pad_added(move |_, pad| {
        let video = pad
            .current_caps()
            .or_else(|| Some(pad.query_caps(None)))
            .and_then(|c| c.structure(0).map(|s| s.name().starts_with("video/")))
            .unwrap_or(false);
        if video && !sink_pad.is_linked() {
            let _ = pad.link(&sink_pad);
        }
    });

    pipeline.set_state(gst::State::Playing)?;
    let bus = pipeline.bus().expect("a pipeline has a bus");
    let mut failure = None;
    while Instant::now() < deadline {
        if let Some(msg) = bus.timed_pop_filtered(
            gst::ClockTime::from_mseconds(20),
            &[gst::MessageType::Error],
        ) {
            if let gst::MessageView::Error(e) = msg.view() {
                let debug = e.debug().map(|d| d.to_string());
                let kind = faults::classify_error(&e.error(), debug.as_deref())
                    .unwrap_or_else(|| faults::reachability(url).0);
                failure = Some((kind, e.error().message().to_string()));
            }
            break;
        }
        while let Some(sample) = sink.try_pull_sample(gst::ClockTime::ZERO) {
            let mut f = lock(&found);
            if f.caps.is_none() {
                f.caps = sample.caps_owned();
            }
            if let Some(pts) = sample.buffer().and_then(|b| b.pts()) {
                f.pts.push(pts);
            }
        }
        let f = lock(&found);
        let spread = match (f.pts.first(), f.pts.last()) {
            (Some(a), Some(b)) => b.saturating_sub(*a),
            _ => gst::ClockTime::ZERO,
        };
        if spread >= gst::ClockTime::SECOND || f.pts.len() >= 60 {
            break;
        }
    }
    let _ = pipeline.set_state(gst::State::Null);
    let f = lock(&found);
    let mut probe = Probe {
        codec: f.codec.clone(),
        other_streams: f.other.clone(),
        ..Probe::default()
    };
    if let Some(info) = f
        .caps
        .as_ref()
        .and_then(|c| gst_video::VideoInfo::from_caps(c).ok())
    {
        probe.ok = true;
        probe.width = Some(info.width());
        probe.height = Some(info.height());
        probe.format = Some(info.format().to_str().to_string());
        let fps = info.fps();
        probe.fps = match f.pts.as_slice() {
            [first, .., last] if last > first => {
                Some((f.pts.len() - 1) as f64 / (*last - *first).seconds_f64())
            }
            _ if fps.numer() > 0 => Some(f64::from(fps.numer()) / f64::from(fps.denom())),
            _ => None,
        };
    } else if let Some((kind, reason)) = failure {
        probe.failure = Some(kind);
        probe.reason = Some(reason);
    } else if probe.codec.is_some() {
        probe.failure = Some(FailureKind::Timeout);
        probe.reason = Some(format!("no picture within {} ms", timeout.as_millis()));
    } else {
        let (kind, reason) = faults::reachability(url);
        probe.failure = Some(
            if kind == FailureKind::Refused && reason.contains("answers now") {
                FailureKind::Timeout
            } else {
                kind
            },
        );
        probe.reason = Some(reason);
    }
    Ok(probe)
}

/// One line for `camwall check` on camera `id` with `codec`: what it sends, or a warning when
/// the codec setting cannot decode it, or why it could not be reached.
pub fn verdict(id: &str, codec: Codec, found: &Probe) -> String {
    stream_verdict(id, "codec", codec, found)
}

/// [`verdict`] on one of the camera's streams: `key` is its codec setting (`codec` for the
/// main stream, `detect_codec` for the sub-stream).
pub fn stream_verdict(id: &str, key: &str, codec: Codec, found: &Probe) -> String {
    let setting = format!("{codec:?}").to_ascii_lowercase();
    match (found.accepts(codec), &found.failure) {
        (Some(false), _) => {
            let sends = found.codec.as_deref().unwrap_or("?");
            let want = match sends {
                "h264" => "h264",
                "h265" => "h265",
                "jpeg" => "mjpeg",
                _ => "auto",
            };
            format!(
                "warning: camera '{id}' sends {sends}, which {key} = \"{setting}\" cannot \
                 decode: set {key} = \"{want}\" or \"auto\""
            )
        }
        (_, Some(kind)) => format!(
            "camera '{id}': not playing now ({}: {})",
            kind.as_str(),
            found.reason.as_deref().unwrap_or("")
        ),
        _ => {
            let mut line = format!(
                "camera '{id}': {} {}x{} at {:.1} fps ({})",
                found.codec.as_deref().unwrap_or("?"),
                found.width.unwrap_or(0),
                found.height.unwrap_or(0),
                found.fps.unwrap_or(0.0),
                found.format.as_deref().unwrap_or("?"),
            );
            if !found.other_streams.is_empty() {
                line.push_str(&format!(
                    "; also {} (not requested)",
                    found.other_streams.join(", ")
                ));
            }
            line
        }
    }
}
