// SPDX-License-Identifier: MIT OR Apache-2.0

//! The peers a user would pick instead of camwall, from Debian's packages, on the same cameras:
//! a stock GStreamer pipeline serving multipart JPEG over TCP, `ffmpeg` serving MJPEG over HTTP,
//! and the `motion` daemon. Each is measured where it applies: first frame after connect,
//! camera-to-viewer latency from the stamps in its JPEGs, CPU, peak memory and bytes per second.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::mjpeg::MjpegClient;
use crate::procs::{free_port, ms_between, CpuWindow, Proc};
use crate::report::{p50_p95, Findings, PeerFinding, Report};
use crate::rig::{CamSize, Fakecam};
use crate::sections::{floor_pipeline, gst_launch, one_line};
use crate::stats::{fmt, summarize, Summary};
use crate::Params;

const T: Duration = Duration::from_secs(15);

struct PeerFigures {
    first_frame: Vec<f64>,
    latency: Option<Summary>,
    frames: usize,
    unreadable: usize,
    cpu_pct: f64,
    peak_mib: f64,
    mbit: f64,
}

/// Connects (retrying while the port is not open yet) and waits for a first JPEG: the time from
/// the successful connect to that JPEG, and the client.
fn connect_first(
    addr: &str,
    path: Option<&str>,
    deadline: Instant,
) -> anyhow::Result<(f64, MjpegClient)> {
    loop {
        let t0 = Instant::now();
        match MjpegClient::connect(addr, path) {
            Ok(mut c) => {
                let j = c.next_jpeg(T)?;
                return Ok((ms_between(t0, j.received), c));
            }
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Records JPEGs for `window` (timestamps at receipt), then reads their stamps.
fn record(c: &mut MjpegClient, window: Duration) -> anyhow::Result<(Vec<f64>, usize, usize, u64)> {
    let start_bytes = c.bytes;
    let deadline = Instant::now() + window;
    let mut got = Vec::new();
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        match c.next_jpeg(left) {
            Ok(j) => got.push(j),
            Err(_) if Instant::now() >= deadline => break,
            Err(e) => return Err(e),
        }
    }
    let bytes = c.bytes - start_bytes;
    let (mut lat, mut unreadable) = (Vec::new(), 0);
    for j in &got {
        match crate::stats::plausible_latency(
            j.received_unix_ms,
            camwall_tests::viewer::decode_stamp(&j.data)?.2,
            Some(0),
        ) {
            Some(ms) => lat.push(ms),
            None => unreadable += 1,
        }
    }
    Ok((lat, got.len(), unreadable, bytes))
}

/// First frames (each on a new connection), then one connection recorded over the window while
/// the peer's CPU is measured.
fn measure_server(
    proc: &mut Proc,
    addr: &str,
    path: Option<&str>,
    p: &Params,
) -> anyhow::Result<PeerFigures> {
    // Ready: the peer has reached its cameras and serves JPEGs (it may open its port before,
    // and close connections until then).
    let ready_deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match connect_first(addr, path, ready_deadline) {
            Ok(_) => break,
            Err(e) if Instant::now() > ready_deadline => {
                return Err(e.context(format!(
                    "{} never served a JPEG:\n{}",
                    proc.name,
                    proc.tail()
                )))
            }
            Err(_) => {
                proc.check_alive()?;
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    let mut first_frame = Vec::new();
    for _ in 0..p.peer_connects {
        std::thread::sleep(Duration::from_millis(200));
        let (ms, _) = connect_first(addr, path, Instant::now() + T)?;
        first_frame.push(ms);
    }
    let (_, mut c) = connect_first(addr, path, Instant::now() + T)?;
    std::thread::sleep(Duration::from_millis(200));
    c.drain_for(p.warmup)?;
    let cpu = CpuWindow::start(proc.pid())?;
    let (lat, frames, unreadable, bytes) = record(&mut c, p.window)?;
    let cpu_pct = cpu.percent()?;
    proc.check_alive()?;
    Ok(PeerFigures {
        first_frame,
        latency: summarize(&lat),
        frames,
        unreadable,
        cpu_pct,
        peak_mib: proc.peak_rss_mib()?,
        mbit: bytes as f64 * 8.0 / 1e6 / p.window.as_secs_f64(),
    })
}

fn gst_peer(cams: &Fakecam, p: &Params) -> anyhow::Result<PeerFigures> {
    let port = free_port()?;
    let line = floor_pipeline(
        cams,
        &format!("videoconvert ! jpegenc quality=80 ! multipartmux ! tcpserversink host=127.0.0.1 port={port} sync=false"),
    );
    let mut proc = gst_launch("gst-launch-1.0 multipartmux", &line)?;
    measure_server(&mut proc, &format!("127.0.0.1:{port}"), None, p)
}

fn ffmpeg_cmd(url: &str, port: u16) -> Command {
    let mut cmd = Command::new("ffmpeg");
    cmd.args([
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-rtsp_transport",
        "tcp",
        "-fflags",
        "nobuffer",
        "-flags",
        "low_delay",
        "-i",
        url,
        "-an",
        "-c:v",
        "mjpeg",
        "-pix_fmt",
        "yuvj420p",
        "-q:v",
        "5",
        "-f",
        "mpjpeg",
        "-listen",
        "1",
    ])
    .arg(format!("http://127.0.0.1:{port}/"));
    cmd
}

/// ffmpeg serves one client per process and one camera: each connect gets a fresh ffmpeg that
/// has already opened its camera.
fn ffmpeg_peer(cams: &Fakecam, p: &Params) -> anyhow::Result<PeerFigures> {
    let url = &cams.cameras[0].1;
    let mut first_frame = Vec::new();
    for _ in 0..p.peer_connects {
        let port = free_port()?;
        let _ff = Proc::spawn("ffmpeg", &mut ffmpeg_cmd(url, port))?;
        // Let it open and probe the camera before the client comes, as a running server would.
        std::thread::sleep(Duration::from_secs(2));
        let (ms, _) = connect_first(&format!("127.0.0.1:{port}"), Some("/"), Instant::now() + T)?;
        first_frame.push(ms);
    }
    let port = free_port()?;
    let mut ff = Proc::spawn("ffmpeg", &mut ffmpeg_cmd(url, port))?;
    std::thread::sleep(Duration::from_secs(2));
    let (_, mut c) = connect_first(&format!("127.0.0.1:{port}"), Some("/"), Instant::now() + T)
        .with_context(|| format!("ffmpeg:\n{}", ff.tail()))?;
    c.drain_for(p.warmup)?;
    let cpu = CpuWindow::start(ff.pid())?;
    let (lat, frames, unreadable, bytes) = record(&mut c, p.window)?;
    let cpu_pct = cpu.percent()?;
    ff.check_alive()?;
    Ok(PeerFigures {
        first_frame,
        latency: summarize(&lat),
        frames,
        unreadable,
        cpu_pct,
        peak_mib: ff.peak_rss_mib()?,
        mbit: bytes as f64 * 8.0 / 1e6 / p.window.as_secs_f64(),
    })
}

/// The motion daemon's configuration: one camera file per fakecam camera, each with its own
/// stream port on loopback. Returns the main file and the stream ports.
fn motion_config(cams: &Fakecam, size: CamSize) -> anyhow::Result<(PathBuf, Vec<u16>, PathBuf)> {
    let dir = std::env::temp_dir().join(format!("camwall-bench-motion-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut main = format!(
        "daemon off\nsetup_mode off\nlog_level 4\ntarget_dir {}\nwebcontrol_port 0\n\
         picture_output off\nmovie_output off\nstream_localhost on\nstream_auth_method 0\n",
        dir.display()
    );
    let mut ports = Vec::new();
    for (id, url) in &cams.cameras {
        let port = free_port()?;
        let file = dir.join(format!("{id}.conf"));
        std::fs::write(
            &file,
            format!(
                "camera_name {id}\nnetcam_url {url}\nnetcam_params rtsp_transport=tcp\n\
                 width {}\nheight {}\nframerate 25\nstream_port {port}\nstream_maxrate 25\n\
                 stream_quality 80\nstream_motion off\ntext_right \"\"\n",
                size.width, size.height
            ),
        )?;
        main.push_str(&format!("camera {}\n", file.display()));
        ports.push(port);
    }
    let conf = dir.join("motion.conf");
    std::fs::write(&conf, main)?;
    Ok((conf, ports, dir))
}

fn motion_peer(cams: &Fakecam, p: &Params) -> anyhow::Result<PeerFigures> {
    let (conf, ports, dir) = motion_config(cams, cams.size)?;
    let result = (|| {
        let mut proc = Proc::spawn(
            "motion",
            Command::new("motion").arg("-n").arg("-c").arg(&conf),
        )?;
        measure_server(&mut proc, &format!("127.0.0.1:{}", ports[0]), Some("/"), p)
    })();
    let _ = std::fs::remove_dir_all(dir);
    result
}

/// Every peer, on 4 cameras at 720p25.
pub fn peers(
    exe: &std::path::Path,
    p: &Params,
    report: &mut Report,
    found: &mut Findings,
) -> anyhow::Result<()> {
    report.heading("Peers on the same 4 fakecam cameras at 720p25");
    report.note(
        "First frame: from a successful TCP connect to the first complete JPEG. Latency: receipt \
         Unix ms minus the capture stamp read from each JPEG. CPU (% of one core) and peak RSS \
         (VmHWM) of the peer's process over the recording window; Mbit/s is everything read from \
         the socket. `gst-launch-1.0` decodes all 4 cameras and serves multipart JPEG (quality 80) \
         over tcpserversink; `ffmpeg` decodes one camera and serves `-f mpjpeg -listen 1` (one \
         client per process: each connect got a fresh ffmpeg that had opened the camera 2 s \
         earlier); `motion` decodes all 4 cameras, detects motion and streams each on its own \
         port (stream_quality 80, stream_maxrate 25). Switch and alarm latency do not apply: none \
         of them switches cameras in its stream.",
    );
    let cams = Fakecam::start(exe, 4, CamSize::HD720)?;
    let mut rows = Vec::new();
    type PeerFn = fn(&Fakecam, &Params) -> anyhow::Result<PeerFigures>;
    let list: [(&str, PeerFn); 3] = [
        ("gst-launch-1.0 ... multipartmux ! tcpserversink", gst_peer),
        ("ffmpeg -f mpjpeg -listen 1 (1 camera)", ffmpeg_peer),
        ("motion (4 cameras, stream per camera)", motion_peer),
    ];
    for (name, run) in list {
        match run(&cams, p) {
            Ok(f) => {
                let ff = summarize(&f.first_frame);
                found.peers.push(PeerFinding {
                    name: name.to_string(),
                    first_frame: ff,
                    latency: f.latency,
                    mbit: Some(f.mbit),
                });
                rows.push(
                    [
                        vec![name.to_string(), f.first_frame.len().to_string()],
                        p50_p95(ff).to_vec(),
                        vec![
                            format!("{} ({} unreadable)", f.frames, f.unreadable),
                            fmt(f.latency.map(|s| s.p50), 0),
                            fmt(f.latency.map(|s| s.p95), 0),
                            fmt(f.latency.map(|s| s.p99), 0),
                            fmt(Some(f.frames as f64 / p.window.as_secs_f64()), 1),
                            fmt(Some(f.cpu_pct), 0),
                            fmt(Some(f.peak_mib), 0),
                            fmt(Some(f.mbit), 2),
                        ],
                    ]
                    .concat(),
                );
            }
            Err(e) => {
                found.peers.push(PeerFinding {
                    name: name.to_string(),
                    first_frame: None,
                    latency: None,
                    mbit: None,
                });
                rows.push(vec![name.to_string(), format!("failed: {}", one_line(&e))]);
            }
        }
    }
    report.table(
        &[
            "peer",
            "connects",
            "first frame p50 ms",
            "p95 ms",
            "frames",
            "latency p50 ms",
            "p95 ms",
            "p99 ms",
            "fps",
            "CPU %",
            "peak RSS MiB",
            "Mbit/s",
        ],
        &rows,
    );
    if rows.iter().all(|r| r.len() == 2) {
        bail!("no peer could be measured");
    }
    Ok(())
}
