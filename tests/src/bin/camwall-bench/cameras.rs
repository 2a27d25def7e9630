// SPDX-License-Identifier: MIT OR Apache-2.0

//! Section 11, cameras per core: what each camera costs camwall when nobody watches it, on
//! camera-like clips (made with ffmpeg) served as they are, beside the stock floor
//! `rtspsrc ! depay ! parse ! avdec_h264 ! fakesink`; how CPU grows with the number of cameras;
//! and the most cameras this machine carries with every frame decoded and analysed.
//!
//! One RTSP server per picture size serves the clip as it is (no decoding, no re-encoding);
//! every camera of a run is a session of its own on that one shared stream, so the cameras cost
//! almost nothing. The same scene at 640x360 is every camera's sub-stream (`detect_url`).

use std::time::Duration;

use camwall_tests::clips::Clip;
use camwall_tests::clipserver::{repeat_after_lead, ClipServer};

use std::process::Command;

use gst::prelude::*;

use crate::procs::{CpuWindow, Proc};
use crate::report::Report;
use crate::rig::{frames_counted, CamSize, Camwall};
use crate::sections::{one_line, BENCH_SELECTOR};
use crate::stats::fmt;
use crate::Params;

/// The least-squares slope and intercept of `ys` over `xs`.
fn fit(xs: &[f64], ys: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (slope, my - slope * mx)
}

/// camwall on `n` cameras of `url` (each with the sub-stream `detect` when given): its CPU %
/// over `p.window` and the lowest camera frame rate over it (frames counted, `/api/cameras`).
async fn camwall_on(
    exe: &std::path::Path,
    url: &str,
    detect: Option<&str>,
    n: usize,
    p: &Params,
) -> anyhow::Result<(f64, f64)> {
    let cameras: Vec<(String, String, Option<String>)> = (1..=n)
        .map(|i| {
            (
                format!("cam{i}"),
                url.to_string(),
                detect.map(str::to_string),
            )
        })
        .collect();
    let exe = exe.to_path_buf();
    let cw = tokio::task::spawn_blocking(move || {
        Camwall::start_detecting(&exe, &cameras, BENCH_SELECTOR, "")
    })
    .await??;
    // A wall is encoded for its first seconds (a viewer coming then gets a frame at once), and
    // its camera's main stream decoded: measured after that, every camera is hidden.
    let grace = camwall::state::ENCODE_GRACE + Duration::from_secs(1);
    tokio::time::sleep(p.warmup.max(grace)).await;
    // The frames each camera counted over the whole window: the API's `fps` is a per-second
    // count, a frame either way from one second to the next.
    let before = frames_counted(&cw.addr)?;
    let started = std::time::Instant::now();
    let cpu = CpuWindow::threads(cw.proc.pid())?.after(p.window).await?;
    let after = frames_counted(&cw.addr)?;
    let seconds = started.elapsed().as_secs_f64();
    let min_fps = before
        .iter()
        .zip(&after)
        .map(|(b, a)| a.saturating_sub(*b) as f64 / seconds)
        .fold(f64::INFINITY, f64::min);
    Ok((cpu, min_fps))
}

/// The floor on `n` sessions of `url`: its CPU % over `p.window`, and the lowest frame rate a
/// session decoded at (each session's `fpsdisplaysink`, as `gst-launch-1.0 -v` prints it), so
/// that a floor that does not decode every session is seen.
async fn floor_on(url: &str, n: usize, p: &Params) -> anyhow::Result<(f64, f64)> {
    let line: String = (0..n)
        .map(|i| {
            format!(
                " rtspsrc location={url} latency=0 protocols=tcp+udp ! rtph264depay ! h264parse \
                 ! avdec_h264 ! fpsdisplaysink name=fps{i} video-sink=fakesink \
                 text-overlay=false sync=false fps-update-interval=1000"
            )
        })
        .collect();
    let mut floor = Proc::spawn(
        "floor",
        Command::new("gst-launch-1.0")
            .arg("-v")
            .args(line.split_whitespace()),
    )?;
    tokio::time::sleep(p.warmup + Duration::from_secs(1)).await;
    floor.lines_so_far();
    let cpu = CpuWindow::threads(floor.pid())?.after(p.window).await?;
    // Each session's current rate, as last printed in the window.
    let mut rates = std::collections::HashMap::new();
    for l in floor.lines_so_far() {
        let (Some(at), Some(cur)) = (l.find("GstFPSDisplaySink:fps"), l.find("current: ")) else {
            continue;
        };
        let name: String = l[at + 18..].chars().take_while(|c| *c != ':').collect();
        let rate: String = l[cur + 9..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        if let Ok(rate) = rate.parse::<f64>() {
            rates.insert(name, rate);
        }
    }
    let min = if rates.len() == n {
        rates.values().copied().fold(f64::INFINITY, f64::min)
    } else {
        0.0
    };
    Ok((cpu, min))
}

/// A client that stays on `url` (received, not decoded) for the rest of the bench: the server's
/// shared stream then plays on between runs, and a run's clients never join it while it is
/// being torn down after the last run's left (GStreamer's RTSP server can block for good then).
fn keep_playing(url: &str) -> anyhow::Result<()> {
    let keeper = gst::parse::launch(&format!(
        "rtspsrc location={url} latency=0 protocols=tcp ! fakesink sync=false"
    ))?;
    keeper.set_state(gst::State::Playing)?;
    std::mem::forget(keeper);
    Ok(())
}

/// The scene made at `size` for `seconds` (with a sub-stream's bitrate cap when `max_kbps`).
async fn make_clip(
    dir: &std::path::Path,
    size: CamSize,
    max_kbps: Option<u32>,
) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.join(format!("{}.mp4", size.label()));
    tokio::task::spawn_blocking(move || {
        let mut clip = Clip::realistic(size.width, size.height, 25);
        clip.seconds = 20;
        if let Some(k) = max_kbps {
            clip.max_kbps = k;
        }
        let once = clip.make(&path)?;
        // 15 minutes: a client stays on it from its start (see [`keep_playing`]) to the end.
        repeat_after_lead(&once, 0, 45, &path.with_extension("long.mp4"))
    })
    .await?
}

/// More cameras, `steps` at a time, until one falls under 24 fps: the rows of the carried table.
async fn most_carried(
    exe: &std::path::Path,
    url: &str,
    detect: Option<&str>,
    steps: &[usize],
    p: &Params,
) -> Vec<Vec<String>> {
    let mode = if detect.is_some() {
        "detect_url (360p)"
    } else {
        "main stream only"
    };
    let mut rows = Vec::new();
    for &n in steps {
        let run = camwall_on(exe, url, detect, n, p).await;
        eprintln!("cameras carried: {mode} x {n}: {run:?}");
        match run {
            Ok((cpu, min_fps)) => {
                rows.push(vec![
                    mode.to_string(),
                    n.to_string(),
                    fmt(Some(cpu), 0),
                    fmt(Some(min_fps), 1),
                    if min_fps >= 24.0 { "yes" } else { "no" }.to_string(),
                ]);
                if min_fps < 24.0 {
                    break;
                }
            }
            Err(e) => {
                rows.push(vec![mode.to_string(), n.to_string(), one_line(&e)]);
                break;
            }
        }
    }
    rows
}

/// The largest N of `rows` (of [`most_carried`]) carried at full rate.
fn largest_carried(rows: &[Vec<String>]) -> Option<usize> {
    rows.iter()
        .filter(|r| r.get(4).is_some_and(|v| v == "yes"))
        .filter_map(|r| r[1].parse().ok())
        .max()
}

pub async fn cameras(exe: &std::path::Path, p: &Params, report: &mut Report) -> anyhow::Result<()> {
    let quick = p.cpu_rounds < 4;
    let counts: &[usize] = if quick { &[1, 4] } else { &[1, 2, 4, 8] };
    let sizes = [
        CamSize::HD720,
        CamSize::HD1080,
        CamSize::parse("2560x1440")?,
    ];
    let dir = tempfile::tempdir()?;
    // The sub-stream: the same scene at 640x360 and a sub-stream's bitrate.
    let sub_clip = make_clip(dir.path(), CamSize::parse("640x360")?, Some(768)).await?;
    let sub_server = ClipServer::start_live(&[("sub".to_string(), sub_clip)])?;
    let sub = sub_server.url("sub");
    keep_playing(&sub)?;
    let (mut rows, mut slopes, mut carried) = (Vec::new(), Vec::new(), Vec::new());
    for size in sizes {
        let clip = make_clip(dir.path(), size, None).await?;
        let server = ClipServer::start_live(&[("cam".to_string(), clip)])?;
        let url = server.url("cam");
        keep_playing(&url)?;
        let (mut xs, mut ours, mut subs, mut floors) = (vec![], vec![], vec![], vec![]);
        for &n in counts {
            let row = async {
                let (cpu, min_fps) = camwall_on(exe, &url, None, n, p).await?;
                let (sub_cpu, sub_fps) = camwall_on(exe, &url, Some(&sub), n, p).await?;
                let (floor, floor_fps) = floor_on(&url, n, p).await?;
                anyhow::Ok((cpu, min_fps, sub_cpu, sub_fps, floor, floor_fps))
            }
            .await;
            eprintln!("cameras: {} x {n}: {row:?}", size.label());
            match row {
                Ok((cpu, min_fps, sub_cpu, sub_fps, floor, floor_fps)) => {
                    xs.push(n as f64);
                    ours.push(cpu);
                    subs.push(sub_cpu);
                    floors.push(floor);
                    rows.push(vec![
                        size.label(),
                        n.to_string(),
                        fmt(Some(floor), 1),
                        fmt(Some(floor_fps), 1),
                        fmt(Some(cpu), 1),
                        fmt(Some(cpu / floor), 2),
                        fmt(Some(min_fps), 1),
                        fmt(Some(sub_cpu), 1),
                        fmt(Some(sub_cpu / floor), 2),
                        fmt(Some(sub_fps), 1),
                    ]);
                }
                Err(e) => rows.push(vec![size.label(), n.to_string(), one_line(&e)]),
            }
        }
        if xs.len() >= 2 {
            let (ours_slope, ours_base) = fit(&xs, &ours);
            let (sub_slope, _) = fit(&xs, &subs);
            let (floor_slope, _) = fit(&xs, &floors);
            slopes.push(vec![
                size.label(),
                fmt(Some(floor_slope), 1),
                fmt(Some(ours_slope), 1),
                fmt(Some(ours_slope / floor_slope), 2),
                fmt(Some(ours_base), 1),
                fmt(Some(sub_slope), 1),
                fmt(Some(sub_slope / ours_slope), 2),
            ]);
        }
        // The most cameras carried at full rate, at 1080p: more until one falls behind.
        if size.height == 1080 {
            let steps: &[usize] = if quick {
                &[8, 12]
            } else {
                &[8, 10, 12, 14, 16]
            };
            carried.extend(most_carried(exe, &url, None, steps, p).await);
            let steps: &[usize] = if quick {
                &[24, 48]
            } else {
                &[16, 24, 32, 40, 48, 56, 64, 72]
            };
            carried.extend(most_carried(exe, &url, Some(&sub), steps, p).await);
        }
        // Not dropped: stopping GStreamer's RTSP server while a client's session is still
        // being set up can block for good; the process ends after the bench anyway.
        std::mem::forget(server);
    }
    std::mem::forget(sub_server);

    report.heading(
        "11. Cameras per core: hidden cameras on camera-like clips, against the stock floor",
    );
    report.note(&format!(
        "Each camera a session of its own (RTSP over TCP) on one shared stream of a clip made with ffmpeg (a still, \
         detailed scene with film grain, a walker, sensor noise; H.264 at about 4 Mbit/s per \
         1280x720, a keyframe a second), served as it is, live and in a loop as a camera's stream (clients join it where it is), \
         by GStreamer's RTSP server (`tests/src/clipserver.rs`, in the bench's process), so the \
         cameras cost almost nothing. camwall: `camwall \
         run` with N such cameras, nobody watching (every frame decoded and analysed by \
         motionalarm, none encoded); with `detect_url`: each camera also has a sub-stream (the \
         same scene at 640x360, 768 kbit/s at most), decoded and analysed, while \
         its main stream stays connected and is not decoded. Floor: one `gst-launch-1.0` of N \
         `rtspsrc latency=0 ! rtph264depay ! h264parse ! avdec_h264 ! fakesink` on the main \
         streams. CPU % of one core over {} s after {} s of warm-up; the lowest camera frame \
         rate over that window (the frames camwall counted, `frames` in `/api/cameras`).",
        p.window.as_secs(),
        p.warmup.as_secs_f64()
    ));
    report.table(
        &[
            "cameras",
            "N",
            "floor CPU %",
            "floor lowest fps",
            "camwall CPU %",
            "camwall / floor",
            "lowest fps",
            "with detect_url CPU %",
            "with detect_url / floor",
            "lowest fps (sub-stream)",
        ],
        &rows,
    );
    report.note(
        "How CPU grows with N (least squares over the rows above): per hidden camera, the floor's \
         slope (decoding the main stream), camwall's, and camwall's with a sub-stream; camwall's \
         intercept is what it costs with no camera.",
    );
    report.table(
        &[
            "cameras",
            "floor % per camera",
            "camwall % per camera",
            "camwall / floor",
            "camwall % at N = 0",
            "with detect_url % per camera",
            "with detect_url / without",
        ],
        &slopes,
    );
    let carried_by = |mode: &str| {
        let rows: Vec<_> = carried
            .iter()
            .filter(|r| r[0].starts_with(mode))
            .cloned()
            .collect();
        largest_carried(&rows)
    };
    let (full_only, with_sub) = (carried_by("main"), carried_by("detect_url"));
    report.note(&format!(
        "The most 1080p cameras this machine carries with every frame decoded and analysed: more \
         cameras until one falls under 24 fps. Carried at full rate: {} with the main stream \
         only, {} with sub-streams ({}).",
        full_only.map_or("-".into(), |n| n.to_string()),
        with_sub.map_or("-".into(), |n| n.to_string()),
        match (full_only, with_sub) {
            (Some(a), Some(b)) => format!("{:.1}x", b as f64 / a as f64),
            _ => "-".into(),
        }
    ));
    report.table(
        &[
            "1080p cameras",
            "N",
            "camwall CPU %",
            "lowest camera fps",
            "full rate",
        ],
        &carried,
    );
    Ok(())
}

/// What one switch to a camera showed: after how long its first picture came, how wide it was,
/// and after how long its first full-resolution one came.
struct SwitchSeen {
    first_ms: f64,
    first_width: usize,
    full_ms: Option<f64>,
}

/// Switches the wall of camwall at `addr` between `ids`, `n` times, watching with `viewer`:
/// each switch's [`SwitchSeen`] (full resolution: wider than `sub_width`).
async fn switches(
    addr: &str,
    ids: &[&str],
    n: usize,
    sub_width: usize,
) -> anyhow::Result<Vec<SwitchSeen>> {
    use camwall_tests::viewer::Viewer;
    use std::time::Instant;
    let mut viewer = Viewer::connect(addr, None).await?;
    // Sizes from the JPEG header only: decoding would put the viewer behind the stream.
    viewer.decode = false;
    let mut seen = Vec::new();
    for i in 0..n {
        let id = ids[(i + 1) % ids.len()].to_string();
        // Let the camera left behind settle back to its sub-stream; read what came meanwhile,
        // so that the next frame read is a fresh one.
        let settle = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < settle {
            viewer.next(Duration::from_secs(5)).await?;
        }
        while viewer.next(Duration::from_millis(15)).await.is_ok() {}
        let (a, cam) = (addr.to_string(), id.clone());
        let t0 = Instant::now();
        let put = tokio::task::spawn_blocking(move || crate::rig::select(&a, &cam));
        let mut first = None;
        let full = loop {
            let f = viewer.next_frame(Duration::from_secs(10)).await?;
            if f.camera.as_deref() != Some(id.as_str()) {
                continue;
            }
            let at = f.received.duration_since(t0).as_secs_f64() * 1000.0;
            first.get_or_insert((at, f.width));
            if f.width > sub_width {
                break Some(at);
            }
            if t0.elapsed() > Duration::from_secs(5) {
                break None;
            }
        };
        put.await??;
        let (first_ms, first_width) = first.unwrap_or((f64::NAN, 0));
        seen.push(SwitchSeen {
            first_ms,
            first_width,
            full_ms: full,
        });
    }
    Ok(seen)
}

/// 11b. Switching to a camera with a sub-stream: its first picture, and full resolution.
pub async fn sub_switch(
    exe: &std::path::Path,
    p: &Params,
    report: &mut Report,
) -> anyhow::Result<()> {
    use crate::report::p50_p95;
    use crate::stats::summarize;
    let dir = tempfile::tempdir()?;
    let main = make_clip(dir.path(), CamSize::HD1080, None).await?;
    let sub = make_clip(dir.path(), CamSize::parse("640x360")?, Some(768)).await?;
    let server = ClipServer::start(&[("main".to_string(), main), ("sub".to_string(), sub)])?;
    let server = std::mem::ManuallyDrop::new(server);
    keep_playing(&server.url("main"))?;
    keep_playing(&server.url("sub"))?;
    let n = p.switches.min(30);
    let mut rows = Vec::new();
    for detect in [false, true] {
        let cameras: Vec<(String, String, Option<String>)> = ["a", "b"]
            .iter()
            .map(|id| {
                let sub = detect.then(|| server.url("sub"));
                (id.to_string(), server.url("main"), sub)
            })
            .collect();
        let exe = exe.to_path_buf();
        // No alarm takes the wall over: the walker is in both streams.
        let extra = format!("{BENCH_SELECTOR}alarm_override = false\n");
        let cw = tokio::task::spawn_blocking(move || {
            Camwall::start_detecting(&exe, &cameras, &extra, "")
        })
        .await??;
        let seen = switches(&cw.addr, &["a", "b"], n, 640).await?;
        let first: Vec<f64> = seen.iter().map(|s| s.first_ms).collect();
        let full: Vec<f64> = seen.iter().filter_map(|s| s.full_ms).collect();
        let sub_first = seen.iter().filter(|s| s.first_width <= 640).count();
        let (s_first, s_full) = (summarize(&first), summarize(&full));
        rows.push(
            [
                vec![
                    if detect {
                        "detect_url (640x360 sub-stream)"
                    } else {
                        "main stream only"
                    }
                    .to_string(),
                    seen.len().to_string(),
                ],
                p50_p95(s_first).to_vec(),
                vec![sub_first.to_string()],
                p50_p95(s_full).to_vec(),
                vec![fmt(s_full.map(|s| s.max), 0)],
            ]
            .concat(),
        );
    }
    report.heading("11b. Switching to a camera with a sub-stream");
    report.note(
        "Two cameras of the 1080p clip of section 11 (a keyframe a second), each with the 640x360 \
         sub-stream as `detect_url` or without one; a viewer on the wall, nothing else watching; \
         PUT /api/selection to the other camera every 1.5 s. First picture: the first frame \
         of the new camera at the viewer (for a camera with a sub-stream, the sub-stream's newest, \
         which the page draws at the wall's size). Full resolution: the first frame of the main \
         stream (decoded from its last keyframe in one burst).",
    );
    report.table(
        &[
            "cameras",
            "switches",
            "first picture p50 ms",
            "p95 ms",
            "first picture from the sub-stream",
            "full resolution p50 ms",
            "p95 ms",
            "max ms",
        ],
        &rows,
    );
    Ok(())
}
