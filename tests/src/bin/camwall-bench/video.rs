// SPDX-License-Identifier: MIT OR Apache-2.0

//! Section 10, the picture's path to the viewer: base64 JPEG (`/ws`), binary JPEG
//! (`/ws?binary=1`) and H.264 (`/ws?video=h264`), side by side on the same cameras: bytes and
//! frames per viewer, camwall's CPU, with 1, 10 and 100 viewers; first frame after connect; switch
//! (PUT -> first frame of the new camera at the viewer, by the message's camera).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gstcamwall::protocol;
use tokio_tungstenite::tungstenite;

use crate::procs::{ms_between, CpuWindow};
use crate::report::{p50_p95, Report};
use crate::rig::{CamSize, Camwall, Fakecam, VlcCams};
use crate::sections::BENCH_SELECTOR;
use crate::stats::{fmt, summarize};
use crate::wsclient::{self, LoadCounters};
use crate::Params;

const T: Duration = Duration::from_secs(10);
const PATHS: [(&str, &str); 3] = [
    ("base64 JPEG", ""),
    ("binary JPEG", "?binary=1"),
    ("H.264", "?video=h264"),
];

/// The camera of a frame message (text or binary); `None` for anything else.
fn frame_camera(msg: &tungstenite::Message) -> Option<String> {
    match msg {
        tungstenite::Message::Binary(b) => {
            protocol::binary::parse(b).map(|(h, _)| h.camera.to_string())
        }
        tungstenite::Message::Text(t) => match protocol::Message::from_json(t).ok()? {
            protocol::Message::Frame(f) => f.camera.map(|c| c.to_string()),
            _ => None,
        },
        _ => None,
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Waits for a frame (of `camera`, when given); returns when it arrived.
async fn frame_of(ws: &mut Socket, camera: Option<&str>) -> anyhow::Result<Instant> {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| anyhow::anyhow!("no frame within {T:?}"))?
            .ok_or_else(|| anyhow::anyhow!("closed"))??;
        let at = Instant::now();
        if let Some(c) = frame_camera(&msg) {
            if camera.is_none_or(|want| want == c) {
                return Ok(at);
            }
        }
    }
}

async fn connect(url: &str) -> anyhow::Result<Socket> {
    Ok(tokio_tungstenite::connect_async(url).await?.0)
}

pub async fn video(exe: &std::path::Path, p: &Params, report: &mut Report) -> anyhow::Result<()> {
    let exe2 = exe.to_path_buf();
    let cams =
        tokio::task::spawn_blocking(move || Fakecam::start(&exe2, 4, CamSize::HD720)).await??;
    // Every camera moves all the time: its bytes are those of a busy scene.
    for id in ["cam1", "cam2", "cam3", "cam4"] {
        cams.control(id, "motion/on")?;
    }
    let slice = p.toggle_slice;
    let cw = start(exe, &cams.cameras, "").await?;
    let mut load_rows = loads(&cw, "fakecam, motion on", slice).await?;
    let latency_rows = latencies(&cw, p).await?;
    let addr = cw.addr.clone();
    let (secs, n) = (p.window.as_secs().max(3), p.switches.min(20));
    let browser_rows = tokio::task::spawn_blocking(move || in_chromium(&addr, secs, n))
        .await?
        .unwrap_or_else(|e| vec![vec![format!("not run: {}", crate::sections::one_line(&e))]]);
    drop(cw);

    // The same on a camera-like clip: detail, film grain, sensor noise, a walker; served by VLC.
    let dir = tempfile::tempdir()?;
    let clip_path = dir.path().join("realistic-720p25.mp4");
    let clip = tokio::task::spawn_blocking(move || {
        camwall_tests::clips::Clip::realistic(1280, 720, 25).make(&clip_path)
    })
    .await??;
    let vlc = tokio::task::spawn_blocking(move || VlcCams::start(&clip, 1)).await??;
    let cw = start(exe, &vlc.cameras, "").await?;
    load_rows.extend(loads(&cw, "clip (VLC)", slice).await?);
    drop(cw);
    drop(vlc);

    // The encoder, chosen by measurement: x264enc against openh264enc, one H.264 viewer each.
    let mut encoder_rows = Vec::new();
    for encoder in ["x264", "openh264"] {
        let cw = start(
            exe,
            &cams.cameras,
            &format!("[stream]\nh264_encoder = \"{encoder}\"\n"),
        )
        .await?;
        let (mbps, _, cpu, _) = load(&cw, "?video=h264", 1, slice).await?;
        let switch = switches(&cw, "?video=h264", p.switches.min(8)).await?;
        encoder_rows.push(
            [
                vec![encoder.to_string(), fmt(Some(mbps), 2), fmt(Some(cpu), 1)],
                p50_p95(summarize(&switch)).to_vec(),
            ]
            .concat(),
        );
    }

    // A viewer that joins: the frames since the last keyframe replayed, or a keyframe made.
    let mut join_rows = Vec::new();
    for (label, replay) in [
        ("keyframe made (h264_replay = 0)", 0),
        ("default (h264_replay = 12)", 12),
        ("frames replayed (h264_replay = 250)", 250),
    ] {
        let cw = start(
            exe,
            &cams.cameras,
            &format!("[stream]\nh264_replay = {replay}\n"),
        )
        .await?;
        join_rows.push(
            [
                vec![label.to_string()],
                joins(&cw, p.connects.min(12)).await?,
            ]
            .concat(),
        );
    }

    report.heading(
        "10. The picture's path: base64 JPEG, binary JPEG, H.264 (camwall, 720p25: 4 fakecam cameras with motion on, and a camera-like clip)",
    );
    report.note(&format!(
        "Per viewer: Mbit/s and frames a second received over a {} s slice with N viewers on the \
         first wall (each row its own run; a new row starts once the encoders have gone idle); \
         camwall's CPU (% of one core) over the same slice. JPEG at quality 80, scaled to 1280 \
         wide; H.264 by x264enc (zerolatency, ultrafast, no B-frames, one reference) at \
         stream.h264_bitrate = 1500 kbit/s. The fakecam's moving pattern and clock, with motion \
         on, are a busy scene for an encoder; the clip is a camera's: a still, detailed scene \
         with film grain, a person-sized shape crossing it, and sensor noise on every frame \
         (made with ffmpeg, 1280x720 at 25 fps, H.264 at up to 4 Mbit/s, one camera served by VLC \
         as it is).",
        slice.as_secs_f64()
    ));
    report.table(
        &[
            "cameras",
            "path",
            "viewers",
            "Mbit/s per viewer",
            "fps per viewer",
            "camwall CPU %",
            "failed",
        ],
        &load_rows,
    );
    report.note(
        "First frame after connect (a warm wall: another viewer already watches) and switch \
         (PUT /api/selection -> the first frame of the new camera at the viewer, by the message's \
         camera: for H.264 the keyframe made at the switch; the browser's decode of it adds a few \
         ms, in the browser tests' click-to-paint).",
    );
    report.table(
        &[
            "path",
            "first frame p50 ms",
            "p95 ms",
            "switch p50 ms",
            "p95 ms",
        ],
        &latency_rows,
    );
    report.note(
        "In Chromium (headless, software decoding; tests/browser/bench-latency.mjs): camwall's \
         page on the same camwall, the fakecam's stamp read back from every picture it draws. \
         First picture: navigation -> the first picture drawn (the page's scripts and modules \
         included); camera-to-viewer: the stamp -> the picture drawn; switch: a click on a \
         camera's button -> its first picture drawn.",
    );
    report.table(
        &[
            "path in Chromium",
            "first picture ms",
            "camera-to-viewer p50 ms",
            "p95 ms",
            "pictures",
            "switch p50 ms",
            "p95 ms",
        ],
        &browser_rows,
    );
    report.note(
        "An H.264 viewer that joins a wall whose last keyframe is 1-3 s old (a cold GOP: one \
         other viewer watches, no keyframe since the last join; x264 makes one every 10 s \
         unless asked): the frames since that keyframe sent at once, or a keyframe asked of the \
         encoder (at most one each 250 ms). First picture: connect -> the first frame it can \
         decode; now: connect -> the first frame made after it connected (with a replay, the \
         browser must also decode every replayed frame before it, about 1-2 ms each at 720p in \
         software); the joiner's bytes in its first second; the other viewer's bytes in that \
         second over its usual second (a made keyframe costs every viewer).",
    );
    report.table(
        &[
            "a viewer joins",
            "joins",
            "first picture p50 ms",
            "p95 ms",
            "now p50 ms",
            "p95 ms",
            "frames replayed, mean",
            "joiner's first second, KB",
            "other viewer's extra, KB",
        ],
        &join_rows,
    );
    report.note(
        "The H.264 encoder: each in its own camwall on the same cameras, one H.264 viewer: its \
         Mbit/s, camwall's CPU, and the switch (to the keyframe of the new camera).",
    );
    report.table(
        &[
            "encoder",
            "Mbit/s",
            "camwall CPU %",
            "switch p50 ms",
            "p95 ms",
        ],
        &encoder_rows,
    );
    Ok(())
}

async fn start(
    exe: &std::path::Path,
    cameras: &[(String, String)],
    extra: &str,
) -> anyhow::Result<Camwall> {
    let exe = exe.to_path_buf();
    let cameras = cameras.to_vec();
    // Motion is on everywhere: alarms must not take the wall from the switches measured here.
    let extra = format!("{BENCH_SELECTOR}alarm_override = false\n{extra}");
    tokio::task::spawn_blocking(move || Camwall::start_on(&exe, &cameras, &extra)).await?
}

/// `n` viewers on `/ws{query}` for a slice: Mbit/s and fps per viewer, camwall's CPU, failures.
async fn load(
    cw: &Camwall,
    query: &str,
    n: usize,
    slice: Duration,
) -> anyhow::Result<(f64, f64, f64, u64)> {
    let counters = Arc::new(LoadCounters::default());
    let until = Instant::now() + Duration::from_secs(2) + slice;
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            tokio::spawn(wsclient::load_viewer_at(
                format!("ws://{}/ws{query}", cw.addr),
                until,
                counters.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let count = || {
        (
            counters.bytes.load(Ordering::Relaxed),
            counters.frames.load(Ordering::Relaxed),
        )
    };
    let (b0, f0) = count();
    let cpu = CpuWindow::threads(cw.proc.pid())?.after(slice).await?;
    let (b1, f1) = count();
    for t in tasks {
        let _ = t.await;
    }
    let per = slice.as_secs_f64() * n as f64;
    Ok((
        (b1 - b0) as f64 * 8.0 / 1e6 / per,
        (f1 - f0) as f64 / per,
        cpu,
        counters.failed.load(Ordering::Relaxed),
    ))
}

/// The load table: every path with 1, 10 and 100 viewers, on `cameras`.
async fn loads(cw: &Camwall, cameras: &str, slice: Duration) -> anyhow::Result<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    for (label, query) in PATHS {
        for n in [1usize, 10, 100] {
            let (mbps, fps, cpu, failed) = load(cw, query, n, slice).await?;
            rows.push(vec![
                cameras.to_string(),
                label.to_string(),
                n.to_string(),
                fmt(Some(mbps), 2),
                fmt(Some(fps), 1),
                fmt(Some(cpu), 1),
                failed.to_string(),
            ]);
            // Every viewer gone, and the encoder idle again, before the next row.
            tokio::time::sleep(Duration::from_millis(6500)).await;
        }
    }
    Ok(rows)
}

/// The page in Chromium on camwall at `addr`: the rows of the browser table.
fn in_chromium(addr: &str, secs: u64, switches: usize) -> anyhow::Result<Vec<Vec<String>>> {
    let dir = camwall_tests::repo_root().join("tests").join("browser");
    anyhow::ensure!(
        dir.join("node_modules").join("playwright-core").exists(),
        "tests/browser/node_modules is missing (bash tests/browser/run.sh installs it)"
    );
    let out = std::process::Command::new("node")
        .arg("bench-latency.mjs")
        .arg(format!("http://{addr}"))
        .arg(secs.to_string())
        .arg(switches.to_string())
        .current_dir(&dir)
        .stdin(std::process::Stdio::null())
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "bench-latency.mjs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))?;
    let numbers = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_f64())
            .collect()
    };
    let mut rows = Vec::new();
    for (label, key) in [("H.264 (WebCodecs)", "h264"), ("JPEG", "jpeg")] {
        let r = &json[key];
        anyhow::ensure!(
            r["path"] == key,
            "the page took {} for ?video={key}",
            r["path"]
        );
        let latency = numbers(&r["latency_ms"]);
        rows.push(
            [
                vec![
                    label.to_string(),
                    format!(
                        "{} (socket made {}, open {}, first message {})",
                        fmt(r["first_picture_ms"].as_f64(), 0),
                        fmt(r["socket"]["created"].as_f64(), 0),
                        fmt(r["socket"]["open"].as_f64(), 0),
                        fmt(r["socket"]["firstMessage"].as_f64(), 0),
                    ),
                ],
                p50_p95(summarize(&latency)).to_vec(),
                vec![latency.len().to_string()],
                p50_p95(summarize(&numbers(&r["switch_ms"]))).to_vec(),
            ]
            .concat(),
        );
    }
    Ok(rows)
}

/// A binary frame's keyframe flag, `ts` and length; `None` for anything else.
fn binary_frame(msg: &tungstenite::Message) -> Option<(bool, u64, usize)> {
    match msg {
        tungstenite::Message::Binary(b) => {
            protocol::binary::parse(b).map(|(h, _)| (h.keyframe, h.ts, b.len()))
        }
        _ => None,
    }
}

/// `n` H.264 viewers joining one by one, 1-3 s apart, while another watches: the cells of the
/// join table.
async fn joins(cw: &Camwall, n: usize) -> anyhow::Result<Vec<String>> {
    let url = format!("ws://{}/ws?video=h264", cw.addr);
    // The other viewer: its bytes, by arrival.
    let other: Arc<std::sync::Mutex<Vec<(Instant, usize)>>> = Arc::default();
    let mut keeper = connect(&url).await?;
    let log = other.clone();
    let keep = tokio::spawn(async move {
        while let Some(Ok(msg)) = keeper.next().await {
            if let Some((_, _, len)) = binary_frame(&msg) {
                log.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((Instant::now(), len));
            }
        }
    });
    let bytes_between = |from: Instant, to: Instant| -> usize {
        other
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(at, _)| *at >= from && *at < to)
            .map(|(_, len)| len)
            .sum()
    };
    let (mut first, mut now, mut replayed, mut joiner_kb, mut extra_kb) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    tokio::time::sleep(Duration::from_secs(2)).await;
    for i in 0..n {
        // 1 to 3 s since the last join: the GOP is cold, and of a different length each time.
        tokio::time::sleep(Duration::from_millis(1000 + (i as u64 * 737) % 2000)).await;
        let t0 = Instant::now();
        let t0_ms = protocol::unix_ms_now();
        let mut ws = connect(&url).await?;
        let (mut first_at, mut now_at, mut count, mut bytes) = (None, None, 0usize, 0usize);
        let until = t0 + Duration::from_secs(1);
        while let Ok(Some(msg)) = tokio::time::timeout_at(until.into(), ws.next()).await {
            let Some((keyframe, ts, len)) = binary_frame(&msg?) else {
                continue;
            };
            let at = Instant::now();
            bytes += len;
            if first_at.is_none() {
                anyhow::ensure!(keyframe, "a joining viewer's first frame is not a keyframe");
                first_at = Some(at);
            }
            if ts < t0_ms {
                count += 1;
            } else if now_at.is_none() {
                now_at = Some(at);
            }
        }
        drop(ws);
        let (Some(f), Some(nw)) = (first_at, now_at) else {
            anyhow::bail!("a joining viewer got no picture within 1 s");
        };
        first.push(ms_between(t0, f));
        now.push(ms_between(t0, nw));
        replayed.push(count as f64);
        joiner_kb.push(bytes as f64 / 1000.0);
        // The other viewer: this second against the second before the join.
        let during = bytes_between(t0, until) as f64;
        let before = bytes_between(t0 - Duration::from_secs(1), t0) as f64;
        extra_kb.push((during - before) / 1000.0);
        tokio::time::sleep(until.saturating_duration_since(Instant::now())).await;
    }
    keep.abort();
    Ok([
        vec![n.to_string()],
        p50_p95(summarize(&first)).to_vec(),
        p50_p95(summarize(&now)).to_vec(),
        vec![
            fmt(Some(crate::stats::mean(&replayed)), 1),
            fmt(Some(crate::stats::mean(&joiner_kb)), 1),
            fmt(Some(crate::stats::mean(&extra_kb)), 1),
        ],
    ]
    .concat())
}

/// `n` switches seen by one viewer of `/ws{query}`, ms each.
async fn switches(cw: &Camwall, query: &str, n: usize) -> anyhow::Result<Vec<f64>> {
    let mut ws = connect(&format!("ws://{}/ws{query}", cw.addr)).await?;
    frame_of(&mut ws, None).await?;
    let mut out = Vec::new();
    for i in 0..n {
        let id = format!("cam{}", (i % 4) + 1);
        while tokio::time::timeout(Duration::from_millis(15), ws.next())
            .await
            .is_ok()
        {}
        let t0 = Instant::now();
        let (addr, cam) = (cw.addr.clone(), id.clone());
        let put = tokio::task::spawn_blocking(move || crate::rig::select(&addr, &cam));
        let at = frame_of(&mut ws, Some(&id)).await?;
        put.await??;
        out.push(ms_between(t0, at));
    }
    Ok(out)
}

/// First frame after connect and switch latency on each path: the rows of their table.
async fn latencies(cw: &Camwall, p: &Params) -> anyhow::Result<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    for (label, query) in PATHS {
        let url = format!("ws://{}/ws{query}", cw.addr);
        // A viewer kept on, so the wall is encoding: a new viewer's first frame, warm.
        let mut keeper = connect(&url).await?;
        frame_of(&mut keeper, None).await?;
        let keep = tokio::spawn(async move { while keeper.next().await.is_some() {} });
        let mut first = Vec::new();
        for _ in 0..p.connects {
            let t0 = Instant::now();
            let mut ws = connect(&url).await?;
            let at = frame_of(&mut ws, None).await?;
            first.push(ms_between(t0, at));
        }
        let switch = switches(cw, query, p.switches).await?;
        keep.abort();
        rows.push(
            [
                vec![label.to_string()],
                p50_p95(summarize(&first)).to_vec(),
                p50_p95(summarize(&switch)).to_vec(),
            ]
            .concat(),
        );
    }
    Ok(rows)
}
