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

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context};
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
}

impl ClipServer {
    /// Serves each `(name, file)`; each file plays once, from its first client's PLAY, for
    /// every client.
    pub fn start(clips: &[(String, PathBuf)]) -> anyhow::Result<ClipServer> {
        gst::init()?;
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
            factory.set_launch(&format!(
                "( filesrc location=\"{location}\" ! qtdemux ! h264parse \
                 ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
            ));
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
        })
    }

    pub fn url(&self, name: &str) -> String {
        format!("rtsp://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for ClipServer {
    fn drop(&mut self) {
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
