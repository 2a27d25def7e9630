// SPDX-License-Identifier: MIT OR Apache-2.0

//! Section 12, every frame to the viewer: what real cameras send (B-frames and an audio track,
//! H.265 Main10; an RTSP server written by others and GStreamer's), one camera each and a viewer
//! on `/ws` for a minute: the frames it received against the frames camwall decoded over the
//! same minute, and the gaps between them.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use camwall_tests::clips::{Clip, Video, VlcServer};
use camwall_tests::clipserver::ClipServer;
use gst::prelude::*;
use gstcamwall::protocol::{unix_ms_now, Message};

use crate::report::Report;
use crate::rig::{frames_counted, Camwall};
use crate::sections::BENCH_SELECTOR;
use crate::stats::{fmt, summarize};
use crate::wsclient::record;

/// How long the viewer watches each camera.
const WINDOW: Duration = Duration::from_secs(60);
/// The cameras' frame interval, ms (25 fps).
const INTERVAL_MS: f64 = 40.0;

/// A camera of the table: what it sends and who serves it.
struct Case {
    label: &'static str,
    clip: Clip,
    codec: &'static str,
    /// Served by GStreamer's RTSP server (live, as a camera's stream) rather than VLC.
    gstreamer: bool,
}

fn cases() -> Vec<Case> {
    let clip = |w, h, video, audio| {
        let mut c = Clip::realistic(w, h, 25);
        c.seconds = 30;
        c.video = video;
        c.audio = audio;
        c
    };
    let bframes = || clip(1920, 1080, Video::H264 { bframes: 3 }, true);
    vec![
        Case {
            label: "1080p H.264 High, 3 B-frames, AAC audio; VLC",
            clip: bframes(),
            codec: "h264",
            gstreamer: false,
        },
        Case {
            label: "the same",
            clip: bframes(),
            codec: "auto",
            gstreamer: false,
        },
        Case {
            label: "720p H.265 Main10, AAC audio; VLC",
            clip: clip(1280, 720, Video::H265 { ten_bit: true }, true),
            codec: "auto",
            gstreamer: false,
        },
        Case {
            label: "1080p H.264, no B-frames; GStreamer's RTSP server (live)",
            clip: clip(1920, 1080, Video::H264 { bframes: 0 }, false),
            codec: "h264",
            gstreamer: true,
        },
    ]
}

/// A plain client on the camera beside camwall (`rtspsrc latency=0`, the video decoded by
/// `decodebin`, nothing else): when each decoded frame came out, Unix ms. The gaps the camera's
/// stream has before camwall does anything with it.
struct Reference {
    pipeline: gst::Pipeline,
    times: Arc<Mutex<Vec<f64>>>,
}

impl Reference {
    fn start(url: &str) -> anyhow::Result<Reference> {
        let pipeline = gst::parse::launch(&format!(
            "rtspsrc location={url} latency=0 ! application/x-rtp,media=video \
             ! decodebin ! video/x-raw ! fakesink name=sink sync=false"
        ))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| anyhow::anyhow!("not a pipeline"))?;
        let pad = pipeline
            .by_name("sink")
            .and_then(|s| s.static_pad("sink"))
            .ok_or_else(|| anyhow::anyhow!("no sink pad"))?;
        let times = Arc::new(Mutex::new(Vec::new()));
        let seen = times.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            seen.lock().unwrap().push(unix_ms_now() as f64);
            gst::PadProbeReturn::Ok
        });
        pipeline.set_state(gst::State::Playing)?;
        Ok(Reference { pipeline, times })
    }

    /// The frames decoded from `from` to `to` (Unix ms).
    fn between(&self, from: f64, to: f64) -> Vec<f64> {
        let times = self.times.lock().unwrap();
        times
            .iter()
            .copied()
            .filter(|t| (from..to).contains(t))
            .collect()
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// The gaps between successive times: p99, the largest, and how many exceed 2 intervals.
fn gaps(times: &[f64]) -> [String; 3] {
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let s = summarize(&gaps);
    let over = gaps.iter().filter(|&&g| g > 2.0 * INTERVAL_MS).count();
    [
        fmt(s.map(|s| s.p99), 0),
        fmt(s.map(|s| s.max), 0),
        over.to_string(),
    ]
}

/// The frames the one camera of camwall at `addr` decoded.
fn decoded(addr: &str) -> anyhow::Result<u64> {
    frames_counted(addr)?
        .first()
        .copied()
        .ok_or_else(|| anyhow::anyhow!("camwall at {addr} lists no camera"))
}

pub async fn delivery(exe: &Path, report: &mut Report) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut rows = Vec::new();
    for (i, case) in cases().into_iter().enumerate() {
        let path = dir.path().join(format!("camera{i}.mp4"));
        let clip = case.clip.clone();
        let path = tokio::task::spawn_blocking(move || clip.make(&path)).await??;
        // The camera's server, stopped when the camera is done with.
        let (mut gstreamer, mut vlc) = (None, None);
        let url = if case.gstreamer {
            gstreamer
                .insert(ClipServer::start_live(&[("cam".to_string(), path)])?)
                .url("cam")
        } else {
            let server =
                tokio::task::spawn_blocking(move || VlcServer::start(&path, "cam")).await??;
            vlc.insert(server).url()
        };
        let config = format!(
            "{BENCH_SELECTOR}\n[[camera]]\nid = \"cam\"\nurl = \"{url}\"\ncodec = \"{}\"\n",
            case.codec
        );
        let exe = exe.to_path_buf();
        let cw =
            tokio::task::spawn_blocking(move || Camwall::start_cameras(&exe, &config)).await??;
        let reference = Reference::start(&url)?;
        // The viewer's first frames and the decoders' start settle first.
        record(&cw.addr, Duration::from_secs(2)).await?;
        let before = decoded(&cw.addr)?;
        let recorded = record(&cw.addr, WINDOW).await?;
        let after = decoded(&cw.addr)?;
        drop(cw);

        let mut times = Vec::new();
        for r in &recorded {
            if let Message::Frame(_) = Message::from_json(&r.text)? {
                times.push(r.received_unix_ms as f64);
            }
        }
        let (from, to) = (
            times.first().copied().unwrap_or_default(),
            times.last().copied().unwrap_or_default(),
        );
        let plain = reference.between(from, to);
        drop(reference);
        drop((gstreamer, vlc));
        let received = times.len() as f64;
        let decoded = after.saturating_sub(before) as f64;
        rows.push(
            [
                vec![
                    case.label.to_string(),
                    format!("`{}`", case.codec),
                    format!("{decoded:.0}"),
                    format!("{received:.0}"),
                    fmt(Some(received / decoded.max(1.0)), 3),
                ],
                gaps(&times).to_vec(),
                gaps(&plain).to_vec(),
            ]
            .concat(),
        );
    }
    report.heading("12. Every frame to the viewer: what real cameras send");
    report.note(&format!(
        "Camera-like clips made with ffmpeg (the scene of section 11, 30 s, a keyframe a second, \
         25 fps), served as they are, in a loop: by VLC (`cvlc --loop`, an RTSP server written \
         by others, which sends B-frames reordered and jittered, and starts the clip's \
         timestamps again at each loop) or by GStreamer's RTSP server as a live stream. One \
         camera, camwall with default settings (`max_fps = 25`), one viewer on `/ws` for {} s \
         after 2 s of settling: the frames it received against the frames camwall decoded over \
         the same time (`frames` in `/api/cameras`), and the gaps between frames at the viewer \
         (a frame interval is 40 ms); beside them, over the same time, the gaps between the \
         frames a plain client decoded from the same camera (`rtspsrc latency=0 ! decodebin ! \
         fakesink` in the bench's process): the gaps the camera's stream has before camwall.",
        WINDOW.as_secs()
    ));
    report.table(
        &[
            "camera",
            "codec",
            "decoded",
            "received",
            "received / decoded",
            "viewer: gap p99 ms",
            "largest gap ms",
            "gaps over 80 ms",
            "plain client: gap p99 ms",
            "largest gap ms",
            "gaps over 80 ms",
        ],
        &rows,
    );
    Ok(())
}
