// SPDX-License-Identifier: MIT OR Apache-2.0

//! Load test of `mjpegwssink` on 127.0.0.1: 1080p JPEGs of a moving test pattern at 25 fps to
//! 1, 10, 100 and 500 WebSocket viewers.
//!
//! The viewers run in a child process (this binary re-executed with `--clients N`), so the CPU
//! figure is the server side only: the process that pushes the frames and serves them.
//! Delays are measured from the moment a frame enters the sink (a probe on its pad, right
//! before `render()`) to its receipt by a viewer, both read off the same system clock.
//! "first" is the time from the completed WebSocket upgrade to the first frame; "dial+1st" adds
//! the TCP connect and the upgrade (all viewers of a run connect at once).
//!
//! `cargo bench -p gst-plugin-camwall --bench mjpegwssink [-- --counts 1,10 --secs 3]`

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use gst::prelude::*;
use tokio_tungstenite::tungstenite;

const FPS: u64 = 25;

fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn raise_fd_limit() {
    // SAFETY: plain libc calls on a local struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max.min(65536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// CPU time (user + system) used by this process so far.
fn process_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        let tv = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        tv(ru.ru_utime) + tv(ru.ru_stime)
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    raise_fd_limit();
    let args: Vec<String> = std::env::args().collect();
    if let Some(n) = arg(&args, "--clients") {
        let port: u16 = arg(&args, "--port")
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let secs: f64 = arg(&args, "--secs")
            .and_then(|s| s.parse().ok())
            .unwrap_or(3.0);
        run_clients(n.parse().unwrap_or(1), port, secs);
        return;
    }
    // `cargo test --benches` runs bench binaries in test mode: stay quick there.
    if args.iter().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let counts: Vec<usize> = arg(&args, "--counts")
        .unwrap_or_else(|| "1,10,100,500".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let secs: f64 = arg(&args, "--secs")
        .and_then(|s| s.parse().ok())
        .unwrap_or(4.0);
    run_server(&counts, secs);
}

fn make_frames() -> Vec<gst::Buffer> {
    let pipeline = gst::parse::launch(
        "videotestsrc pattern=smpte100 horizontal-speed=8 num-buffers=50 \
         ! video/x-raw,width=1920,height=1080,framerate=25/1 \
         ! timeoverlay font-desc=\"Sans 16\" ! videoconvert ! avenc_mjpeg \
         ! appsink name=out sync=false",
    )
    .expect("frame generator pipeline")
    .downcast::<gst::Pipeline>()
    .unwrap();
    let sink = pipeline
        .by_name("out")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut out = Vec::new();
    while let Ok(s) = sink.pull_sample() {
        if let Some(b) = s.buffer_owned() {
            out.push(b);
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The once-per-frame work of the sink (base64 into the JSON text), and the same base64 by the
/// plain `base64` crate for comparison, on the same frames.
fn encode_costs(frames: &[gst::Buffer]) {
    use base64::Engine as _;
    let jpegs: Vec<bytes::Bytes> = frames
        .iter()
        .map(|b| bytes::Bytes::copy_from_slice(&b.map_readable().unwrap()))
        .collect();
    let rounds = 20;
    let feed = gstcamwall::mjpegwssink::FrameFeed::new();
    let start = Instant::now();
    for _ in 0..rounds {
        for jpeg in &jpegs {
            std::hint::black_box(feed.publish_frame(jpeg.clone(), None, Some((1920, 1080)), 0));
        }
    }
    let publish = start.elapsed().as_secs_f64() / (rounds * jpegs.len()) as f64;
    let start = Instant::now();
    for _ in 0..rounds {
        for jpeg in &jpegs {
            std::hint::black_box(base64::engine::general_purpose::STANDARD.encode(jpeg));
        }
    }
    let plain = start.elapsed().as_secs_f64() / (rounds * jpegs.len()) as f64;
    println!(
        "publish_frame (base64 into JSON, once per frame): {:.1} us/frame; \
         the base64 crate alone: {:.1} us/frame ({:.1}x)",
        publish * 1e6,
        plain * 1e6,
        plain / publish
    );
}

fn run_server(counts: &[usize], secs: f64) {
    gst::init().unwrap();
    gstcamwall::plugin_register_static().unwrap();
    let frames = make_frames();
    encode_costs(&frames);
    let avg = frames.iter().map(|b| b.size()).sum::<usize>() / frames.len().max(1);
    println!(
        "mjpegwssink: {} distinct 1920x1080 frames, {:.1} KB average, {FPS} fps, {secs} s per run",
        frames.len(),
        avg as f64 / 1000.0
    );
    println!(
        "{:>7} {:>11} {:>10} {:>12} {:>9} {:>9} {:>9} {:>12} {:>12} {:>12} {:>9}",
        "clients",
        "server CPU",
        "CPU/client",
        "frames/clnt",
        "expected",
        "delay p50",
        "delay p95",
        "first p50",
        "first p95",
        "dial+1st p95",
        "dropped"
    );
    for &n in counts {
        run_one(&frames, n, secs);
    }
}

fn run_one(frames: &[gst::Buffer], n: usize, secs: f64) {
    let pipeline = gst::parse::launch(
        "appsrc name=src caps=image/jpeg format=time is-live=true ! mjpegwssink name=sink port=0",
    )
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let src = pipeline
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    let sink = pipeline.by_name("sink").unwrap();
    // Time at which each frame (by sequence number) reaches the sink.
    let rendered: Arc<Mutex<HashMap<u64, u64>>> = Arc::default();
    {
        let rendered = rendered.clone();
        let seq = std::sync::atomic::AtomicU64::new(0);
        sink.static_pad("sink")
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                let seq = seq.fetch_add(1, Ordering::Relaxed) + 1;
                rendered.lock().unwrap().insert(seq, unix_us());
                gst::PadProbeReturn::Ok
            });
    }
    pipeline.set_state(gst::State::Playing).unwrap();
    let port = sink.property::<u32>("bound-port");

    let running = Arc::new(AtomicBool::new(true));
    let pusher = {
        let running = running.clone();
        let frames = frames.to_vec();
        std::thread::spawn(move || {
            let period = Duration::from_micros(1_000_000 / FPS);
            let start = Instant::now();
            let mut i = 0u64;
            while running.load(Ordering::Relaxed) {
                let buf = frames[(i as usize) % frames.len()].clone();
                if src.push_buffer(buf).is_err() {
                    break;
                }
                i += 1;
                let next = start + period * i as u32;
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            let _ = src.end_of_stream();
        })
    };
    // A frame exists before anyone connects, so first-frame times measure the connect path.
    std::thread::sleep(Duration::from_millis(100));

    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--clients",
            &n.to_string(),
            "--port",
            &port.to_string(),
            "--secs",
            &secs.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("client process");
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut cpu0 = None;
    let mut window = None;
    let mut firsts = Vec::new();
    let mut dials = Vec::new();
    let mut counts = Vec::new();
    let mut delays = Vec::new();
    let dropped0 = sink.property::<u64>("frames-dropped");
    let mut dropped = 0;
    let mut receipts = Vec::new();
    for line in out.lines() {
        let Ok(line) = line else { break };
        let mut parts = line.split_whitespace();
        match parts.next() {
            Some("ready") => cpu0 = Some((process_cpu(), Instant::now())),
            Some("done") => {
                if let Some((c, t)) = cpu0 {
                    window = Some((process_cpu() - c, t.elapsed()));
                }
                dropped = sink.property::<u64>("frames-dropped") - dropped0;
            }
            Some("first") => {
                let mut v = parts.filter_map(|v| v.parse::<f64>().ok());
                firsts.extend(v.next());
                dials.extend(v.next());
            }
            Some("count") => counts.extend(parts.next().and_then(|v| v.parse::<u64>().ok())),
            Some("recv") => {
                let seq = parts.next().and_then(|v| v.parse::<u64>().ok());
                let at = parts.next().and_then(|v| v.parse::<u64>().ok());
                if let (Some(seq), Some(at)) = (seq, at) {
                    receipts.push((seq, at));
                }
            }
            _ => {}
        }
    }
    let _ = child.wait();
    running.store(false, Ordering::Relaxed);
    let _ = pusher.join();
    pipeline.set_state(gst::State::Null).unwrap();

    {
        let rendered = rendered.lock().unwrap();
        for (seq, at) in receipts {
            if let Some(r) = rendered.get(&seq) {
                delays.push(at.saturating_sub(*r) as f64 / 1000.0);
            }
        }
    }
    delays.sort_by(f64::total_cmp);
    firsts.sort_by(f64::total_cmp);
    dials.sort_by(f64::total_cmp);
    let (cpu, wall) = window.unwrap_or_default();
    let cpu_pct = 100.0 * cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9);
    let per_client = counts.iter().sum::<u64>() as f64 / counts.len().max(1) as f64;
    println!(
        "{:>7} {:>10.1}% {:>9.3}% {:>12.1} {:>9.0} {:>7.2}ms {:>7.2}ms {:>10.2}ms {:>10.2}ms {:>10.2}ms {:>9}",
        n,
        cpu_pct,
        cpu_pct / n as f64,
        per_client,
        wall.as_secs_f64() * FPS as f64,
        percentile(&delays, 0.5),
        percentile(&delays, 0.95),
        percentile(&firsts, 0.5),
        percentile(&firsts, 0.95),
        percentile(&dials, 0.95),
        dropped
    );
}

/// The viewer side: `n` WebSocket clients; prints first-frame times, then after `secs` the frames
/// each one received and the receipt time of every frame.
fn run_clients(n: usize, port: u16, secs: f64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let measuring = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (first_tx, mut first_rx) = tokio::sync::mpsc::unbounded_channel::<(f64, f64)>();
        let mut tasks = Vec::new();
        for _ in 0..n {
            let (measuring, stop, first_tx) = (measuring.clone(), stop.clone(), first_tx.clone());
            tasks.push(tokio::spawn(async move {
                let url = format!("ws://127.0.0.1:{port}/ws");
                let dialing = Instant::now();
                let Ok((mut ws, _)) = tokio_tungstenite::connect_async(url).await else {
                    let _ = first_tx.send((f64::NAN, f64::NAN));
                    return (0u64, Vec::new());
                };
                let connected = Instant::now();
                let mut first = true;
                let mut count = 0u64;
                let mut receipts = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let msg = tokio::time::timeout(Duration::from_millis(200), ws.next()).await;
                    let Ok(Some(Ok(tungstenite::Message::Text(text)))) = msg else {
                        if matches!(msg, Ok(None) | Ok(Some(Err(_)))) {
                            break;
                        }
                        continue;
                    };
                    let at = unix_us();
                    if first {
                        first = false;
                        let ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;
                        let _ = first_tx.send((ms(connected), ms(dialing)));
                    }
                    if measuring.load(Ordering::Relaxed) {
                        count += 1;
                        if let Some(seq) = seq_of(&text) {
                            receipts.push((seq, at));
                        }
                    }
                }
                let _ = ws.close(None).await;
                (count, receipts)
            }));
        }
        drop(first_tx);
        let mut firsts = Vec::new();
        while firsts.len() < n {
            match first_rx.recv().await {
                Some(f) => firsts.push(f),
                None => break,
            }
        }
        let mut out = std::io::stdout().lock();
        measuring.store(true, Ordering::Relaxed);
        let _ = writeln!(out, "ready");
        let _ = out.flush();
        drop(out);
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        measuring.store(false, Ordering::Relaxed);
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "done");
        let _ = out.flush();
        stop.store(true, Ordering::Relaxed);
        for (after_upgrade, after_dial) in firsts {
            let _ = writeln!(out, "first {after_upgrade} {after_dial}");
        }
        for t in tasks {
            if let Ok((count, receipts)) = t.await {
                let _ = writeln!(out, "count {count}");
                for (seq, at) in receipts {
                    let _ = writeln!(out, "recv {seq} {at}");
                }
            }
        }
    });
}

/// The `seq` of a frame message, read without parsing the whole (large) JSON text.
fn seq_of(text: &str) -> Option<u64> {
    let head = text.get(..text.len().min(96))?;
    let at = head.find("\"seq\":")? + 6;
    let digits: String = head[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}
