// SPDX-License-Identifier: MIT OR Apache-2.0

//! Section 12, every frame to the viewer: what real cameras send (B-frames and an audio track,
//! H.265 Main10; an RTSP server written by others and GStreamer's), one camera each and a viewer
//! on `/ws` for a minute: the frames it received against the frames camwall decoded over the
//! same minute, and the gaps between them.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use camwall_tests::clips::{Clip, Video, VlcServer};
use camwall_tests::clipserver::ClipServer;
use gst::prelude::*;
use gstcamwall::protocol::{unix_ms_now, Message};

use crate::report::Report;
use crate::rig::{counted, frames_counted, Camwall};
use crate::sections::BENCH_SELECTOR;
use crate::stats::{fmt, summarize};
use crate::wsclient::record;

/// How long the viewer watches each camera.
const WINDOW: Duration = Duration::from_secs(60);
/// A session without a frame this long has stalled: the plain client connects again, as camwall
/// does (`stall_timeout_ms` + 1 s).
const STALLED_MS: f64 = 3000.0;
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
/// `decodebin`, nothing else) that connects again at once whenever its session ends or stalls
/// (VLC ends it at each loop of its clip): when each decoded frame came out, Unix ms. The gaps
/// the camera's stream has before camwall does anything with it.
struct Reference {
    times: Arc<Mutex<Vec<f64>>>,
    /// When a session that had brought frames ended (Unix ms).
    ended: Arc<Mutex<Vec<f64>>>,
    stop: Arc<AtomicBool>,
    client: Option<std::thread::JoinHandle<()>>,
}

impl Reference {
    fn start(url: &str) -> anyhow::Result<Reference> {
        let times: Arc<Mutex<Vec<f64>>> = Arc::default();
        let ended: Arc<Mutex<Vec<f64>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        // The first session starts here, so that a URL it cannot play is an error.
        let first = Self::session(url, &times)?;
        let client = {
            let (url, times, ended, stop) =
                (url.to_string(), times.clone(), ended.clone(), stop.clone());
            std::thread::spawn(move || {
                let types = [gst::MessageType::Eos, gst::MessageType::Error];
                let mut session = Some(first);
                while !stop.load(Ordering::Relaxed) {
                    let Some((pipeline, bus, started)) = &session else {
                        // Refused (VLC's port is closed for a moment at each loop): again soon.
                        std::thread::sleep(Duration::from_millis(20));
                        session = Self::session(&url, &times).ok();
                        continue;
                    };
                    let tick = gst::ClockTime::from_mseconds(20);
                    let over = bus.timed_pop_filtered(tick, &types).is_some();
                    let now = unix_ms_now() as f64;
                    let last = times.lock().unwrap().last().copied().unwrap_or(0.0);
                    // A session that stopped sending without ending it, as camwall sees one.
                    let stalled = now - last.max(*started) > STALLED_MS;
                    if over || stalled {
                        if last > *started {
                            ended.lock().unwrap().push(now);
                        }
                        let _ = pipeline.set_state(gst::State::Null);
                        session = Self::session(&url, &times).ok();
                    }
                }
                if let Some((pipeline, ..)) = session {
                    let _ = pipeline.set_state(gst::State::Null);
                }
            })
        };
        Ok(Reference {
            times,
            ended,
            stop,
            client: Some(client),
        })
    }

    /// A new session on `url`, playing, its frames' times pushed to `times`; and when it
    /// started (Unix ms).
    fn session(
        url: &str,
        times: &Arc<Mutex<Vec<f64>>>,
    ) -> anyhow::Result<(gst::Pipeline, gst::Bus, f64)> {
        let started = unix_ms_now() as f64;
        let pipeline = gst::parse::launch(&format!(
            "rtspsrc name=src location={url} latency=0 ! application/x-rtp,media=video \
             ! decodebin ! video/x-raw ! fakesink name=sink sync=false"
        ))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| anyhow::anyhow!("not a pipeline"))?;
        // The video only, as camwall asks for.
        let src = pipeline
            .by_name("src")
            .ok_or_else(|| anyhow::anyhow!("no rtspsrc"))?;
        src.connect("select-stream", false, |args| {
            let caps = args.get(2).and_then(|v| v.get::<gst::Caps>().ok());
            let media = caps
                .as_ref()
                .and_then(|c| c.structure(0)?.get::<String>("media").ok());
            Some((media.as_deref() == Some("video")).to_value())
        });
        let pad = pipeline
            .by_name("sink")
            .and_then(|s| s.static_pad("sink"))
            .ok_or_else(|| anyhow::anyhow!("no sink pad"))?;
        let seen = times.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            seen.lock().unwrap().push(unix_ms_now() as f64);
            gst::PadProbeReturn::Ok
        });
        let bus = pipeline.bus().ok_or_else(|| anyhow::anyhow!("no bus"))?;
        pipeline.set_state(gst::State::Playing)?;
        Ok((pipeline, bus, started))
    }

    /// The frames decoded from `from` to `to` (Unix ms).
    fn between(&self, from: f64, to: f64) -> Vec<f64> {
        within(&self.times, from, to)
    }

    /// When the server ended a session from `from` to `to` (Unix ms).
    fn ended_between(&self, from: f64, to: f64) -> Vec<f64> {
        within(&self.ended, from, to)
    }
}

fn within(times: &Mutex<Vec<f64>>, from: f64, to: f64) -> Vec<f64> {
    let times = times.lock().unwrap();
    times
        .iter()
        .copied()
        .filter(|t| (from..to).contains(t))
        .collect()
}

impl Drop for Reference {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(client) = self.client.take() {
            let _ = client.join();
        }
    }
}

/// The gaps between successive times: p99, how many exceed 2 intervals, the largest of those
/// where the server did not end the session, and the largest over one of `ends` (the client
/// connecting again).
fn gaps(times: &[f64], ends: &[f64]) -> [String; 4] {
    let gaps: Vec<(f64, f64)> = times.windows(2).map(|w| (w[0], w[1])).collect();
    let length = |&(a, b): &(f64, f64)| b - a;
    // A session's end shows at each client a few ms apart: the gap that spans it, give or take.
    let at_end = |(a, b): &(f64, f64)| ends.iter().any(|e| (a - 100.0..=*b).contains(e));
    let s = summarize(&gaps.iter().map(length).collect::<Vec<_>>());
    let largest = |at: bool| {
        let m = gaps.iter().filter(|g| at_end(g) == at).map(length);
        fmt(m.reduce(f64::max), 0)
    };
    let over = gaps
        .iter()
        .filter(|g| length(g) > 2.0 * INTERVAL_MS)
        .count();
    [
        fmt(s.map(|s| s.p99), 0),
        over.to_string(),
        largest(false),
        largest(true),
    ]
}

/// The frames the one camera of camwall at `addr` decoded.
fn decoded(addr: &str) -> anyhow::Result<u64> {
    first(addr, frames_counted(addr)?)
}

/// The times the one camera of camwall at `addr` connected again.
fn reconnects(addr: &str) -> anyhow::Result<u64> {
    first(addr, counted(addr, "reconnects")?)
}

fn first(addr: &str, counts: Vec<u64>) -> anyhow::Result<u64> {
    counts
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
        let before = (decoded(&cw.addr)?, reconnects(&cw.addr)?);
        let recorded = record(&cw.addr, WINDOW).await?;
        let after = (decoded(&cw.addr)?, reconnects(&cw.addr)?);
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
        let ended = reference.ended_between(from, to);
        drop((reference, gstreamer, vlc));
        let received = times.len() as f64;
        let decoded = after.0.saturating_sub(before.0) as f64;
        rows.push(
            [
                vec![
                    case.label.to_string(),
                    format!("`{}`", case.codec),
                    format!("{decoded:.0}"),
                    format!("{received:.0}"),
                    fmt(Some(received / decoded.max(1.0)), 3),
                    ended.len().to_string(),
                    after.1.saturating_sub(before.1).to_string(),
                ],
                gaps(&times, &ended).to_vec(),
                gaps(&plain, &ended).to_vec(),
            ]
            .concat(),
        );
    }
    report.heading("12. Every frame to the viewer: what real cameras send");
    report.note(&format!(
        "Camera-like clips made with ffmpeg (the scene of section 11, 30 s, a keyframe a second, \
         25 fps), served as they are, in a loop: by VLC (`cvlc --loop`, an RTSP server written \
         by others, which sends B-frames reordered and jittered, and at each loop of the clip \
         ends every session and closes its port for a moment: a camera that restarts its \
         stream) or by GStreamer's RTSP server as a live stream. One camera, camwall with \
         default settings (`max_fps = 25`), one viewer on `/ws` for {} s after 2 s of settling: \
         the frames it received against the frames camwall decoded over the same time \
         (`frames` in `/api/cameras`), the sessions the server ended meanwhile and how often \
         camwall connected again (`reconnects`), and the gaps between frames at the viewer (a \
         frame interval is 40 ms); beside them, over the same time, the gaps between the frames \
         a plain client decoded from the same camera (`rtspsrc latency=0 ! decodebin ! \
         fakesink` in the bench's process, the video only as camwall asks for it, connecting \
         again at once when its session ends or stalls): the gaps the camera's stream has \
         before camwall. The largest gap is given apart where the server ended the session.",
        WINDOW.as_secs()
    ));
    report.table(
        &[
            "camera",
            "codec",
            "decoded",
            "received",
            "received / decoded",
            "sessions the server ended",
            "camwall reconnected",
            "viewer: gap p99 ms",
            "gaps over 80 ms",
            "largest gap ms",
            "largest at a session's end ms",
            "plain client: gap p99 ms",
            "gaps over 80 ms",
            "largest gap ms",
            "largest at a session's end ms",
        ],
        &rows,
    );
    Ok(())
}
