// SPDX-License-Identifier: MIT OR Apache-2.0

//! Clips served over RTSP by GStreamer's RTSP server, each repeated back to back without a
//! break: one unbroken stream per clip, shared by every client, so that several detectors
//! watching a clip see the same pictures at the same time and no stream ends at a loop.
//!
//! VLC's `--loop` ends its RTSP stream at every loop (an RTCP BYE, EOS at the client), and
//! clients that reconnect miss the next loop's start. Here the repetitions are made once with
//! ffmpeg (`-stream_loop`, stream copy: the same H.264 access units, timestamps running on),
//! and each clip is one shared media sent as it is (no decoding, no re-encoding), paced by the
//! server's clock. SPS and PPS go with every keyframe, so a client joining late decodes from
//! the next keyframe.
//!
//! [`ClipServer::start_live`] serves clips as cameras do instead: each clip plays in a loop from
//! the server's start, in real time, whether or not anyone watches, into a live media. Clients
//! join the stream where it is (no range, no seek), as they join a camera's, and however many
//! join, nobody's stream is rewound or held. (A file media is seekable: GStreamer's RTSP
//! server seeks a shared one at each client's PLAY, which blocks while other clients play.)

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context};
use gst::prelude::*;
use gst_rtsp_server::prelude::*;
use gst_rtsp_server::{RTSPMediaFactory, RTSPServer};

fn ffmpeg(args: &[&std::ffi::OsStr]) -> anyhow::Result<()> {
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y"])
        .args(args)
        .stdin(Stdio::null())
        .status()
        .context("ffmpeg runs (scripts/setup.sh installs it)")?;
    if !status.success() {
        bail!("ffmpeg {args:?}: {status}");
    }
    Ok(())
}

/// Makes `out`: `clip`, then `repeats` more times the clip without its first `lead_ms` (a
/// keyframe must start there), stream copied. A lead of black then shows only where the
/// stream starts, and each repetition follows the last picture of the one before as a camera's
/// next picture would (what differs is the scene's own change, not a cut to black).
pub fn repeat_after_lead(
    clip: &Path,
    lead_ms: u64,
    repeats: u32,
    out: &Path,
) -> anyhow::Result<PathBuf> {
    let tail = out.with_extension("tail.mp4");
    let list = out.with_extension("txt");
    let lead = format!("{:.3}", lead_ms as f64 / 1000.0);
    ffmpeg(&[
        "-ss".as_ref(),
        lead.as_ref(),
        "-i".as_ref(),
        clip.as_os_str(),
        "-c".as_ref(),
        "copy".as_ref(),
        "-avoid_negative_ts".as_ref(),
        "make_zero".as_ref(),
        tail.as_os_str(),
    ])?;
    let mut files = format!("file '{}'\n", clip.display());
    for _ in 0..repeats {
        files.push_str(&format!("file '{}'\n", tail.display()));
    }
    std::fs::write(&list, files)?;
    ffmpeg(&[
        "-f".as_ref(),
        "concat".as_ref(),
        "-safe".as_ref(),
        "0".as_ref(),
        "-i".as_ref(),
        list.as_os_str(),
        "-c".as_ref(),
        "copy".as_ref(),
        out.as_os_str(),
    ])?;
    Ok(out.to_path_buf())
}

/// An RTSP server on 127.0.0.1 serving H.264 MP4 files at `rtsp://127.0.0.1:{port}/{name}`;
/// stopped when dropped.
pub struct ClipServer {
    server: RTSPServer,
    context: glib::MainContext,
    main_loop: glib::MainLoop,
    source: Mutex<Option<glib::SourceId>>,
    thread: Option<std::thread::JoinHandle<()>>,
    port: u16,
    /// The live clips' readers ([`ClipServer::start_live`]).
    readers: Vec<gst::Element>,
}

impl ClipServer {
    /// Serves each `(name, file)`; each file plays once, from its first client's PLAY, for
    /// every client.
    pub fn start(clips: &[(String, PathBuf)]) -> anyhow::Result<ClipServer> {
        Self::serve(clips, false)
    }

    /// Serves each `(name, file)` as a camera: the file plays in a loop, in real time, from
    /// now on; clients join it where it is.
    pub fn start_live(clips: &[(String, PathBuf)]) -> anyhow::Result<ClipServer> {
        Self::serve(clips, true)
    }

    fn serve(clips: &[(String, PathBuf)], live: bool) -> anyhow::Result<ClipServer> {
        gst::init()?;
        let mut readers = Vec::new();
        let server = RTSPServer::new();
        server.set_address("127.0.0.1");
        server.set_service("0");
        let mounts = server
            .mount_points()
            .ok_or_else(|| anyhow!("no mount points"))?;
        for (name, file) in clips {
            let factory = RTSPMediaFactory::new();
            let location = file
                .to_str()
                .ok_or_else(|| anyhow!("{} is not UTF-8", file.display()))?;
            if live {
                let (reader, feed) = live_reader(location)?;
                factory.set_launch(
                    "( appsrc name=feed is-live=true format=time do-timestamp=true \
                     ! rtph264pay name=pay0 pt=96 config-interval=-1 )",
                );
                factory.connect_media_configure(move |_, media| {
                    let bin = media.element().downcast::<gst::Bin>().ok();
                    let src = bin.and_then(|b| b.by_name("feed"));
                    if let Some(src) = src.and_then(|e| e.downcast::<gst_app::AppSrc>().ok()) {
                        src.set_caps(Some(&live_caps()));
                        *feed.lock().unwrap_or_else(|e| e.into_inner()) = Some(src);
                    }
                });
                readers.push(reader);
            } else {
                factory.set_launch(&format!(
                    "( filesrc location=\"{location}\" ! qtdemux ! h264parse \
                     ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
                ));
            }
            factory.set_shared(true);
            // Over TCP: lossless on loopback however busy the machine is, so the detectors
            // see every picture the clip has.
            factory.set_protocols(gst_rtsp_server::gst_rtsp::RTSPLowerTrans::TCP);
            mounts.add_factory(&format!("/{name}"), factory);
        }
        let context = glib::MainContext::new();
        let source = server
            .attach(Some(&context))
            .map_err(|e| anyhow!("cannot listen: {e}"))?;
        let port = u16::try_from(server.bound_port()).map_err(|_| anyhow!("not bound"))?;
        let main_loop = glib::MainLoop::new(Some(&context), false);
        let thread = {
            let (context, main_loop) = (context.clone(), main_loop.clone());
            std::thread::Builder::new()
                .name("clip-rtsp".into())
                .spawn(move || {
                    let _ = context.with_thread_default(|| main_loop.run());
                })?
        };
        Ok(ClipServer {
            server,
            context,
            main_loop,
            source: Mutex::new(Some(source)),
            thread: Some(thread),
            port,
            readers,
        })
    }

    pub fn url(&self, name: &str) -> String {
        format!("rtsp://127.0.0.1:{}/{name}", self.port)
    }
}

/// What a live clip's media takes: H.264 access units, parameter sets in the stream.
fn live_caps() -> gst::Caps {
    gst::Caps::builder("video/x-h264")
        .field("stream-format", "byte-stream")
        .field("alignment", "au")
        .build()
}

/// A pipeline that plays `location` in a loop, in real time, into whichever media's appsrc
/// the returned slot holds (none until a client first asks for the stream: until then its
/// pictures go by unseen, as a camera's do).
fn live_reader(
    location: &str,
) -> anyhow::Result<(gst::Element, Arc<Mutex<Option<gst_app::AppSrc>>>)> {
    let reader = gst::parse::launch(&format!(
        "filesrc location=\"{location}\" ! qtdemux ! h264parse config-interval=-1 \
         ! capsfilter caps=\"{}\" ! appsink name=out sync=true max-buffers=2",
        live_caps()
    ))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| anyhow!("not a pipeline"))?;
    let feed: Arc<Mutex<Option<gst_app::AppSrc>>> = Arc::default();
    let out = reader
        .by_name("out")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or_else(|| anyhow!("no appsink"))?;
    let slot = feed.clone();
    out.set_callbacks(
        gst_app::app_sink::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                if let Some(buffer) = sample.buffer_owned() {
                    let src = slot.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    if let Some(src) = src {
                        // Timestamped on arrival (do-timestamp): the media's own clock.
                        let mut buffer = buffer;
                        {
                            let b = buffer.make_mut();
                            b.set_pts(gst::ClockTime::NONE);
                            b.set_dts(gst::ClockTime::NONE);
                        }
                        // A media being torn down refuses buffers: the next one takes over.
                        let _ = src.push_buffer(buffer);
                    }
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    // At the end, from the start again: the stream goes on as a camera's does.
    let bus = reader.bus().ok_or_else(|| anyhow!("no bus"))?;
    let weak = reader.downgrade();
    std::thread::Builder::new()
        .name("clip-loop".into())
        .spawn(move || {
            // Ends with the reader.
            while let Some(reader) = weak.upgrade() {
                let Some(msg) = bus.timed_pop(gst::ClockTime::from_seconds(1)) else {
                    continue;
                };
                match msg.view() {
                    gst::MessageView::Eos(_) => {
                        let _ = reader.seek_simple(
                            gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
                            gst::ClockTime::ZERO,
                        );
                    }
                    gst::MessageView::Error(e) => {
                        eprintln!("clip reader: {}", e.error());
                        break;
                    }
                    _ => {}
                }
            }
        })?;
    reader.set_state(gst::State::Playing)?;
    Ok((reader.upcast(), feed))
}

impl Drop for ClipServer {
    fn drop(&mut self) {
        for reader in &self.readers {
            let _ = reader.set_state(gst::State::Null);
        }
        // Disconnects every client (which stops the shared media) and stops listening, in
        // the server's own thread.
        let (tx, rx) = std::sync::mpsc::channel();
        let (server, context) = (self.server.clone(), self.context.clone());
        let id = self.source.lock().map(|mut s| s.take()).ok().flatten();
        self.context.invoke(move || {
            server.client_filter(Some(&mut |_, _| gst_rtsp_server::RTSPFilterResult::Remove));
            if let Some(source) = id.and_then(|id| context.find_source_by_id(&id)) {
                source.destroy();
            }
            let _ = tx.send(());
        });
        let _ = rx.recv_timeout(std::time::Duration::from_secs(5));
        self.main_loop.quit();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
