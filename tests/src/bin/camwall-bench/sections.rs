// SPDX-License-Identifier: MIT OR Apache-2.0

//! camwall's own figures: first frame, switch, alarm, camera-to-viewer latency, CPU against the
//! stock floor, CPU per viewer, bytes per viewer, and start-up.

use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use camwall_tests::viewer::Viewer;

use crate::procs::{free_port, ms_between, CpuWindow, Proc};
use crate::report::{p50_p95, Findings, Report};
use crate::rig::{self, CamSize, Camwall, Fakecam};
use crate::stats::{fmt, mean, standard_error, summarize};
use crate::wsclient::{self, LoadCounters};
use crate::Params;

const T: Duration = Duration::from_secs(10);
/// The selector hold used by the bench: short, so alarm trials follow each other quickly. It does
/// not change how fast an alarm takes the screen over.
pub const BENCH_SELECTOR: &str = "[selector]\nalarm_hold_ms = 300\n";

/// Reads (without decoding) whatever the viewer has queued, until nothing arrives for 15 ms, so
/// that the next measured frame is a fresh one.
async fn drain(viewer: &mut Viewer) {
    viewer.decode = false;
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until && viewer.next(Duration::from_millis(15)).await.is_ok() {}
    viewer.decode = true;
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f).await?
}

/// 1. First frame after a WebSocket connect.
pub async fn first_frame(
    cw: &Camwall,
    p: &Params,
    report: &mut Report,
    found: &mut Findings,
) -> anyhow::Result<()> {
    let (mut total, mut after_handshake) = (Vec::new(), Vec::new());
    for _ in 0..p.connects {
        let t0 = Instant::now();
        let mut viewer = Viewer::connect(&cw.addr, None).await?;
        let t1 = Instant::now();
        let f = viewer.next_frame(T).await?;
        total.push(ms_between(t0, f.received));
        after_handshake.push(ms_between(t1, f.received));
        drop(viewer);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (s_total, s_after) = (summarize(&total), summarize(&after_handshake));
    report.heading("1. First frame after WebSocket connect (camwall, 4 cameras 720p25)");
    report.table(
        &["measured from", "n", "p50 ms", "p95 ms", "max ms"],
        &[
            [
                vec![
                    "start of connect (TCP + upgrade)".into(),
                    total.len().to_string(),
                ],
                p50_p95(s_total).to_vec(),
                vec![fmt(s_total.map(|s| s.max), 1)],
            ]
            .concat(),
            [
                vec!["upgrade done".into(), after_handshake.len().to_string()],
                p50_p95(s_after).to_vec(),
                vec![fmt(s_after.map(|s| s.max), 1)],
            ]
            .concat(),
        ],
    );
    found.first_frame = s_total;
    Ok(())
}

/// 2. Switch latency: PUT /api/selection -> first frame of the new camera (by its stamp).
pub async fn switch(
    cw: &Camwall,
    cams: &Fakecam,
    p: &Params,
    report: &mut Report,
    found: &mut Findings,
) -> anyhow::Result<()> {
    let mut viewer = Viewer::connect(&cw.addr, None).await?;
    let n = cams.cameras.len();
    let mut samples = Vec::new();
    let first = cams.cameras[0].0.clone();
    let addr = cw.addr.clone();
    blocking(move || rig::select(&addr, &first)).await?;
    viewer.frame_of(&cams.cameras[0].0, 0, T).await?;
    for i in 0..p.switches {
        let index = (i + 1) % n;
        let id = cams.cameras[index].0.clone();
        drain(&mut viewer).await;
        let addr = cw.addr.clone();
        let cam = id.clone();
        let t0 = Instant::now();
        let put = tokio::task::spawn_blocking(move || rig::select(&addr, &cam));
        let f = viewer.frame_of(&id, index as u8, T).await?;
        put.await??;
        samples.push(ms_between(t0, f.received));
    }
    let s = summarize(&samples);
    report.heading(
        "2. Switch latency (PUT /api/selection -> first frame of the new camera, by its stamp)",
    );
    report.table(
        &["cameras", "switches", "p50 ms", "p95 ms", "max ms"],
        &[[
            vec![
                format!("{n} x {}", cams.size.label()),
                samples.len().to_string(),
            ],
            p50_p95(s).to_vec(),
            vec![fmt(s.map(|s| s.max), 1)],
        ]
        .concat()],
    );
    found.switch = s;
    Ok(())
}

/// 3. Alarm latency: fakecam motion/on -> first frame of the alarmed camera.
pub async fn alarm(
    cw: &Camwall,
    cams: &Fakecam,
    p: &Params,
    report: &mut Report,
    found: &mut Findings,
) -> anyhow::Result<()> {
    if cams.cameras.len() < 2 {
        bail!("the alarm section needs two cameras");
    }
    let mut viewer = Viewer::connect(&cw.addr, None).await?;
    let user = cams.cameras[0].0.clone();
    let mut samples = Vec::new();
    for i in 0..p.alarms {
        let index = 1 + i % (cams.cameras.len() - 1);
        let id = cams.cameras[index].0.clone();
        // Back to the user's choice before each trial, once no alarm runs: a choice during an
        // alarm acknowledges it, and an acknowledged alarm takes no screen until it starts anew.
        let settle_deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let addr = cw.addr.clone();
            let u = user.clone();
            let (sel, quiet) = blocking(move || {
                let cams = camwall_tests::http("GET", &addr, "/api/cameras", None)?.json()?;
                let quiet = cams
                    .as_array()
                    .is_some_and(|c| c.iter().all(|c| c["alarm"] == false));
                if quiet {
                    rig::select(&addr, &u)?;
                }
                Ok((rig::selection(&addr)?, quiet))
            })
            .await?;
            if quiet && sel["camera"] == user.as_str() && sel["reason"] == "user" {
                break;
            }
            if Instant::now() > settle_deadline {
                bail!("the selection did not return to {user}: {sel}");
            }
            drain(&mut viewer).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        viewer.frame_of(&user, 0, T).await?;
        drain(&mut viewer).await;
        let control = cams.control.clone();
        let cam = id.clone();
        let t0 = Instant::now();
        let on = tokio::task::spawn_blocking(move || {
            camwall_tests::http("POST", &control, &format!("/cameras/{cam}/motion/on"), None)
        });
        let f = viewer.frame_of(&id, index as u8, T).await;
        let on = on.await?;
        let off = cams.control(&id, "motion/off");
        let f = f.with_context(|| format!("alarm on {id}"))?;
        if on?.status != 200 {
            bail!("fakecam motion/on {id} refused");
        }
        off?;
        samples.push(ms_between(t0, f.received));
    }
    let s = summarize(&samples);
    report.heading("3. Alarm latency (fakecam motion/on -> first frame of the alarmed camera)");
    report.note(
        "Includes the fakecam drawing the moving square into its next frame, H.264 and RTSP, \
         and motionalarm's default min-frames = 3 (three frames at 25 fps = 80 ms after the first \
         moving frame) before the alarm is raised.",
    );
    report.table(
        &["cameras", "alarms", "p50 ms", "p95 ms", "max ms"],
        &[[
            vec![
                format!("{} x {}", cams.cameras.len(), cams.size.label()),
                samples.len().to_string(),
            ],
            p50_p95(s).to_vec(),
            vec![fmt(s.map(|s| s.max), 1)],
        ]
        .concat()],
    );
    found.alarm = s;
    Ok(())
}

/// camwall's CPU with `k` load viewers and without them, in alternating slices.
struct ViewerToggle {
    /// camwall CPU % (one core) in each slice with the viewers, and in the slice paired with it
    /// without them.
    with: Vec<f64>,
    without: Vec<f64>,
    failed: u64,
    /// All viewers together, over the slices with them.
    bytes_per_s: f64,
    frames_per_s: f64,
    bench_pct: f64,
}

impl ViewerToggle {
    /// CPU % per viewer: the mean difference of the paired slices over `k`, with its standard
    /// error.
    fn per_viewer(&self, k: usize) -> (f64, Option<f64>) {
        let diffs: Vec<f64> = self
            .with
            .iter()
            .zip(&self.without)
            .map(|(a, b)| (a - b) / k as f64)
            .collect();
        (mean(&diffs), standard_error(&diffs))
    }
}

/// Connects `k` load viewers, then disconnects them, `pairs` times, measuring camwall's
/// CPU (every thread's scheduler time) over a slice of each state once it has settled. The
/// process's own offset, which differs from one process to the next, cancels in each pair;
/// which state comes first alternates, so a drift of the machine's load cancels too.
async fn toggle_viewers(
    cw: &Camwall,
    k: usize,
    pairs: usize,
    p: &Params,
) -> anyhow::Result<ViewerToggle> {
    let settle = Duration::from_secs(1);
    let pid = cw.proc.pid();
    let mut t = ViewerToggle {
        with: Vec::new(),
        without: Vec::new(),
        failed: 0,
        bytes_per_s: 0.0,
        frames_per_s: 0.0,
        bench_pct: 0.0,
    };
    let (mut bytes, mut frames, mut bench) = (0u64, 0u64, 0.0);
    for pair in 0..pairs {
        for on in [pair % 2 == 0, pair % 2 != 0] {
            if !on {
                tokio::time::sleep(settle).await;
                t.without
                    .push(CpuWindow::threads(pid)?.after(p.toggle_slice).await?);
                continue;
            }
            let counters = Arc::new(LoadCounters::default());
            let until = Instant::now() + settle + p.toggle_slice;
            let tasks: Vec<_> = (0..k)
                .map(|_| {
                    tokio::spawn(wsclient::load_viewer(
                        cw.addr.clone(),
                        until,
                        counters.clone(),
                    ))
                })
                .collect();
            tokio::time::sleep(settle).await;
            let (f0, b0) = (
                counters.frames.load(Ordering::Relaxed),
                counters.bytes.load(Ordering::Relaxed),
            );
            let own = CpuWindow::threads(std::process::id())?;
            t.with
                .push(CpuWindow::threads(pid)?.after(p.toggle_slice).await?);
            bench += own.percent()?;
            frames += counters.frames.load(Ordering::Relaxed) - f0;
            bytes += counters.bytes.load(Ordering::Relaxed) - b0;
            for task in tasks {
                let _ = task.await;
            }
            t.failed += counters.failed.load(Ordering::Relaxed);
        }
    }
    let secs = p.toggle_slice.as_secs_f64() * t.with.len().max(1) as f64;
    t.bytes_per_s = bytes as f64 / secs;
    t.frames_per_s = frames as f64 / secs;
    t.bench_pct = bench / t.with.len().max(1) as f64;
    Ok(t)
}

/// One row of the viewer table: `k` viewers toggled `pairs` times on `cw`, labelled `label`.
async fn viewer_row(
    cw: &Camwall,
    k: usize,
    pairs: usize,
    label: String,
    p: &Params,
    found: &mut Findings,
) -> anyhow::Result<Vec<String>> {
    let t = toggle_viewers(cw, k, pairs, p).await?;
    let per_viewer_bytes = t.bytes_per_s / k as f64;
    let fps = t.frames_per_s / k as f64;
    if k == 1 && found.mbit_per_viewer_720.is_none() {
        found.mbit_per_viewer_720 = Some(per_viewer_bytes * 8.0 / 1e6);
    }
    let (pct, error) = t.per_viewer(k);
    // % of one core per viewer -> microseconds of CPU per frame sent to one viewer.
    let us_per_frame = (fps > 0.0).then(|| pct / 100.0 / fps * 1e6);
    Ok(vec![
        label,
        fmt(Some(mean(&t.with)), 1),
        fmt(Some(mean(&t.without)), 1),
        format!("{} ± {}", fmt(Some(pct), 3), fmt(error, 3)),
        fmt(us_per_frame, 0),
        fmt(Some(fps), 1),
        format!(
            "{} ({} Mbit/s)",
            fmt(Some(per_viewer_bytes / 1024.0), 0),
            fmt(Some(per_viewer_bytes * 8.0 / 1e6), 2)
        ),
        format!("{} / {}%", t.failed, fmt(Some(t.bench_pct), 0)),
    ])
}

/// 6 and 7. CPU per viewer at 1, 10, 100 viewers; bytes per second per viewer.
pub async fn viewers(
    exe: &std::path::Path,
    cw: &Camwall,
    cams: &Fakecam,
    p: &Params,
    report: &mut Report,
    found: &mut Findings,
) -> anyhow::Result<()> {
    let addr = cw.addr.clone();
    let first = cams.cameras[0].0.clone();
    blocking(move || rig::select(&addr, &first)).await?;
    let mut rows = Vec::new();
    for k in [1usize, 10, 100] {
        rows.push(viewer_row(cw, k, p.toggle_pairs, k.to_string(), p, found).await?);
    }
    // One viewer costs less than a 4-camera process wobbles from one slice to the next; a
    // camwall on one camera (the same first camera, beside the idle 4-camera one) wobbles far
    // less, and twice the pairs halve what is left, so its first viewer can be told apart.
    let one = cams.cameras[..1].to_vec();
    let exe = exe.to_path_buf();
    let single = blocking(move || Camwall::start_on(&exe, &one, BENCH_SELECTOR)).await?;
    let label = "1 (camwall on 1 camera)".to_string();
    rows.push(viewer_row(&single, 1, 2 * p.toggle_pairs, label, p, found).await?);
    drop(single);
    report.heading("6-7. CPU per viewer and bytes per viewer (camwall, 4 cameras 720p25, default quality 80, scaled to 1280 wide)");
    report.note(&format!(
        "Load viewers read `/ws` without decoding, in the bench process (its own CPU is shown: \
         it shares the two cores). For each count, the viewers connect and disconnect {} times; \
         camwall's CPU (the sum of its threads' scheduler time, % of one core) is measured over \
         {} s of each state, 1 s after the change. The cost per viewer is the mean difference \
         of the paired slices over the count, ± its standard error: measured within one process, \
         so the process's own offset cancels. The last row does the same, {} times, on a second \
         camwall that runs only the first camera: one viewer costs less than the 4-camera \
         process varies from one slice to the next. Bytes are WebSocket payload (base64 JPEG in JSON).",
        p.toggle_pairs,
        p.toggle_slice.as_secs_f64(),
        2 * p.toggle_pairs
    ));
    report.table(
        &[
            "viewers",
            "camwall CPU % with them",
            "without",
            "CPU % per viewer",
            "µs per frame and viewer",
            "frames/s per viewer",
            "KiB/s per viewer",
            "failed viewers / bench process CPU %",
        ],
        &rows,
    );
    Ok(())
}

/// 4. Camera-to-viewer latency from the stamps, 1/4/8 cameras at 720p25 and 1080p25.
pub async fn latency(
    exe: &std::path::Path,
    p: &Params,
    report: &mut Report,
    found: &mut Findings,
) -> anyhow::Result<()> {
    report.heading("4. Camera-to-viewer latency (receipt Unix ms - capture stamp in the JPEG)");
    report.note(
        "One WebSocket viewer records every message with its receipt time and decodes after the \
         window, so decoding never delays receipt. The picture is scaled to 1280 wide before \
         encoding (camwall's default max_width), so 1080p cameras are sent as 1280x720. The \
         split, frame by frame on the one clock: the camera side is the stamp -> its frame's first \
         RTP packet leaving the fakecam's payloader (`GET /cameras/{id}/sent`; painting, x264 and \
         payloading), camwall's side is that packet -> the frame received by the viewer \
         (loopback, depayload, decode, analysis, selection, scaling, JPEG, WebSocket).",
    );
    let mut rows = Vec::new();
    for size in [CamSize::HD720, CamSize::HD1080] {
        for n in [1usize, 4, 8] {
            let row = latency_one(exe, n, size, p, found).await;
            match row {
                Ok(r) => rows.push(r),
                Err(e) => rows.push(vec![
                    format!("{n} x {}", size.label()),
                    format!("failed: {}", one_line(&e)),
                ]),
            }
        }
    }
    report.table(
        &[
            "cameras",
            "frames",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "camera side p50 ms",
            "p95 ms",
            "camwall side p50 ms",
            "p95 ms",
            "fps",
            "JPEG KiB/frame",
            "Mbit/s on the wire",
            "camwall CPU %",
        ],
        &rows,
    );
    Ok(())
}

pub fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}")
        .lines()
        .next()
        .unwrap_or("")
        .replace('|', "/")
}

async fn latency_one(
    exe: &std::path::Path,
    n: usize,
    size: CamSize,
    p: &Params,
    found: &mut Findings,
) -> anyhow::Result<Vec<String>> {
    let cams = Fakecam::start(exe, n, size)?;
    let cw = Camwall::start(exe, &cams, BENCH_SELECTOR)?;
    tokio::time::sleep(p.warmup).await;
    let cpu = CpuWindow::start(cw.proc.pid())?;
    let recorded = wsclient::record(&cw.addr, p.window).await?;
    let pct = cpu.percent()?;
    let sent = cams.sent()?;
    let d = tokio::task::spawn_blocking(move || wsclient::decode(&recorded)).await??;
    let s = summarize(&d.latencies_ms);
    // The split, frame by frame: the camera's part (stamp -> its first RTP packet sent) and
    // camwall's (that packet -> the frame at the viewer).
    let (mut camera_side, mut camwall_side) = (Vec::new(), Vec::new());
    for (stamp, received) in &d.stamps {
        if let Some(&at) = sent.get(&(stamp.camera, stamp.unix_ms)) {
            camera_side.push(at as f64 - stamp.unix_ms as f64);
            camwall_side.push(*received as f64 - at as f64);
        }
    }
    let (camera_side, camwall_side) = (summarize(&camera_side), summarize(&camwall_side));
    let secs = p.window.as_secs_f64();
    if n == 4 && size.height == 720 {
        found.latency_4x720 = s;
    }
    if n == 1 && size.height == 1080 {
        found.mbit_per_viewer_1080 = Some(d.wire_bytes as f64 * 8.0 / 1e6 / secs);
    }
    Ok(vec![
        format!("{n} x {}", size.label()),
        format!("{} ({} unreadable)", d.frames, d.unreadable_stamps),
        fmt(s.map(|s| s.p50), 0),
        fmt(s.map(|s| s.p95), 0),
        fmt(s.map(|s| s.p99), 0),
        fmt(s.map(|s| s.max), 0),
        fmt(camera_side.map(|s| s.p50), 0),
        fmt(camera_side.map(|s| s.p95), 0),
        fmt(camwall_side.map(|s| s.p50), 0),
        fmt(camwall_side.map(|s| s.p95), 0),
        fmt(Some(d.frames as f64 / secs), 1),
        fmt(
            Some(d.jpeg_bytes as f64 / 1024.0 / d.frames.max(1) as f64),
            0,
        ),
        fmt(Some(d.wire_bytes as f64 * 8.0 / 1e6 / secs), 2),
        fmt(Some(pct), 0),
    ])
}

/// The floor: stock elements decoding every camera and JPEG-encoding one, with camwall's
/// transport (`tcp+udp`) and JPEG quality (80) so that both do the same work.
pub fn floor_pipeline(cams: &Fakecam, tail: &str) -> String {
    let mut line = format!("input-selector name=sel ! {tail}");
    for (_, url) in &cams.cameras {
        line.push_str(&format!(
            " rtspsrc location={url} latency=0 protocols=tcp+udp ! rtph264depay ! h264parse ! avdec_h264 ! sel."
        ));
    }
    line
}

pub fn gst_launch(name: &str, line: &str) -> anyhow::Result<Proc> {
    Proc::spawn(
        name,
        Command::new("gst-launch-1.0")
            .arg("-q")
            .args(line.split_whitespace()),
    )
}

/// 5. CPU and peak memory of camwall against the stock floor, 1/4/8/16 cameras.
pub async fn cpu(
    exe: &std::path::Path,
    p: &Params,
    report: &mut Report,
    found: &mut Findings,
) -> anyhow::Result<()> {
    report.heading(&format!(
        "5. CPU and peak memory: camwall against the stock floor ({}x{} at 25 fps)",
        p.cpu_size.width, p.cpu_size.height
    ));
    report.note(&format!(
        "Floor: `gst-launch-1.0 input-selector ! jpegenc quality=80 ! fakesink` fed by `rtspsrc \
         latency=0 protocols=tcp+udp ! rtph264depay ! h264parse ! avdec_h264` per camera (camwall's \
         transport and quality), on the same fakecam process. camwall \
         runs with one WebSocket viewer connected (it serves what it encodes). Both run side by \
         side on the same cameras and are measured over the same window. That is done {} times with \
         fresh processes, taking turns at which starts first: one pair keeps a bias of its own \
         for its whole life (up to ±6 % between two identical floors here), new pairs draw a new \
         one. Each round measures {} s after {} s of warm-up; CPU % is the mean of the rounds and \
         the ratio is total camwall CPU over total floor CPU, with the standard error of the \
         rounds' ratios and each round's ratio beside it. \
         CPU is utime+stime, % of one core; memory is the highest VmHWM of the rounds. The \
         fakecam process's own CPU is shown: on 2 shared cores a saturated machine makes every \
         figure worse.",
        p.cpu_rounds,
        p.window.as_secs(),
        p.warmup.as_secs()
    ));
    let mut rows = Vec::new();
    for n in [1usize, 4, 8, 16] {
        match cpu_one(exe, n, p).await {
            Ok(m) => {
                let ratio = m.ratio();
                found.cpu_ratios.push((n, ratio));
                let rounds: Vec<String> = m
                    .rounds
                    .iter()
                    .map(|r| format!("{:.2}", r.ratio()))
                    .collect();
                rows.push(vec![
                    n.to_string(),
                    fmt(Some(m.camwall_pct()), 1),
                    fmt(Some(m.camwall_mib), 0),
                    fmt(Some(m.floor_pct()), 1),
                    fmt(Some(m.floor_mib), 0),
                    fmt(Some(ratio), 2),
                    fmt(m.ratio_error(), 3),
                    rounds.join(" "),
                    fmt(Some(m.fakecam_pct()), 0),
                ]);
            }
            Err(e) => rows.push(vec![n.to_string(), format!("failed: {}", one_line(&e))]),
        }
    }
    report.table(
        &[
            "cameras",
            "camwall CPU %",
            "camwall peak RSS MiB",
            "floor CPU %",
            "floor peak RSS MiB",
            "ratio",
            "± s.e. of the rounds",
            "ratio by round",
            "fakecam CPU %",
        ],
        &rows,
    );
    Ok(())
}

/// One round: CPU % of camwall, the floor and fakecam over the same window.
#[derive(Debug, Clone, Copy)]
struct CpuRound {
    camwall: f64,
    floor: f64,
    fakecam: f64,
}

impl CpuRound {
    fn ratio(&self) -> f64 {
        self.camwall / self.floor
    }
}

/// The rounds of one camera count, and the highest peak memory seen.
#[derive(Debug, Default)]
struct CpuMeasure {
    rounds: Vec<CpuRound>,
    camwall_mib: f64,
    floor_mib: f64,
}

impl CpuMeasure {
    fn mean(&self, f: impl Fn(&CpuRound) -> f64) -> f64 {
        mean(&self.rounds.iter().map(f).collect::<Vec<_>>())
    }
    fn camwall_pct(&self) -> f64 {
        self.mean(|r| r.camwall)
    }
    fn floor_pct(&self) -> f64 {
        self.mean(|r| r.floor)
    }
    fn fakecam_pct(&self) -> f64 {
        self.mean(|r| r.fakecam)
    }
    /// Total camwall CPU over total floor CPU (the rounds have equal windows).
    fn ratio(&self) -> f64 {
        self.camwall_pct() / self.floor_pct()
    }
    /// Standard error of the mean of the rounds' ratios: how far the ratio may be off because
    /// each pair of processes draws its own bias.
    fn ratio_error(&self) -> Option<f64> {
        let ratios: Vec<f64> = self.rounds.iter().map(CpuRound::ratio).collect();
        standard_error(&ratios)
    }
}

/// camwall (with one viewer) and the floor run side by side on the same cameras, so both see
/// the same machine in each window: on two shared cores, load from elsewhere moves whole runs
/// by ±10 %, which a ratio of two runs taken one after the other would carry. Each round starts
/// both afresh, the floor first in every other round.
async fn cpu_one(exe: &std::path::Path, n: usize, p: &Params) -> anyhow::Result<CpuMeasure> {
    const PAIR: [(&str, Part); 2] = [
        (
            "camwall",
            Part::Camwall {
                detection: true,
                viewer: true,
            },
        ),
        ("stock floor", Part::Floor { blocking: true }),
    ];
    let cams = Fakecam::start(exe, n, p.cpu_size)?;
    let mut measure = CpuMeasure::default();
    for round in 0..p.cpu_rounds {
        let r = side_by_side(exe, &cams, &PAIR, round, p).await?;
        measure.camwall_mib = measure.camwall_mib.max(r.peak_mib[0]);
        measure.floor_mib = measure.floor_mib.max(r.peak_mib[1]);
        measure.rounds.push(CpuRound {
            camwall: r.cpu[0],
            floor: r.cpu[1],
            fakecam: r.fakecam,
        });
    }
    Ok(measure)
}

/// A process that runs side by side with others on the same cameras.
#[derive(Debug, Clone, Copy)]
enum Part {
    /// The stock floor; `blocking` is `input-selector`'s default `sync-streams=true`.
    Floor { blocking: bool },
    /// `camwall run`, with or without motion detection and one viewer.
    Camwall { detection: bool, viewer: bool },
}

/// A running [`Part`].
enum Running {
    Floor(Proc),
    Camwall(Camwall),
}

impl Running {
    fn proc(&self) -> &Proc {
        match self {
            Running::Floor(p) => p,
            Running::Camwall(c) => &c.proc,
        }
    }

    fn proc_mut(&mut self) -> &mut Proc {
        match self {
            Running::Floor(p) => p,
            Running::Camwall(c) => &mut c.proc,
        }
    }
}

/// What one round of [`side_by_side`] measured, each in the order of its parts.
struct RoundCpu {
    /// CPU % of one core over the window.
    cpu: Vec<f64>,
    /// Peak RSS (VmHWM) at the end of the window.
    peak_mib: Vec<f64>,
    /// The fakecam process's CPU % over the same window.
    fakecam: f64,
}

/// One round: starts every part afresh on `cams` (in an order rotated by `round`, so that no
/// part always starts first), connects a viewer to each camwall that has one, and measures
/// every process over the same window after the warm-up.
async fn side_by_side(
    exe: &std::path::Path,
    cams: &Fakecam,
    parts: &[(&str, Part)],
    round: usize,
    p: &Params,
) -> anyhow::Result<RoundCpu> {
    let floor = floor_pipeline(cams, "jpegenc quality=80 ! fakesink sync=false");
    let mut running: Vec<Option<Running>> = parts.iter().map(|_| None).collect();
    for k in 0..parts.len() {
        let i = (round + k) % parts.len();
        let (name, part) = parts[i];
        running[i] = Some(match part {
            Part::Floor { blocking: true } => Running::Floor(gst_launch(name, &floor)?),
            Part::Floor { blocking: false } => {
                let unblocked = floor.replacen(
                    "input-selector name=sel",
                    "input-selector name=sel sync-streams=false",
                    1,
                );
                if unblocked == floor {
                    bail!("the floor pipeline has no `input-selector name=sel` to change");
                }
                Running::Floor(gst_launch(name, &unblocked)?)
            }
            Part::Camwall { detection, .. } => {
                let motion = if detection { "" } else { "enabled = false" };
                let cameras = cams.cameras.clone();
                let exe = exe.to_path_buf();
                Running::Camwall(
                    blocking(move || Camwall::start_with(&exe, &cameras, BENCH_SELECTOR, motion))
                        .await?,
                )
            }
        });
    }
    let mut running: Vec<Running> = running.into_iter().flatten().collect();
    let until = Instant::now() + p.warmup + p.window + Duration::from_secs(1);
    let counters: Vec<Arc<LoadCounters>> = parts
        .iter()
        .map(|_| Arc::new(LoadCounters::default()))
        .collect();
    let mut viewers = Vec::new();
    for (((_, part), r), counters) in parts.iter().zip(&running).zip(&counters) {
        if let (Part::Camwall { viewer: true, .. }, Running::Camwall(cw)) = (part, r) {
            viewers.push(tokio::spawn(wsclient::load_viewer(
                cw.addr.clone(),
                until,
                counters.clone(),
            )));
        }
    }
    tokio::time::sleep(p.warmup).await;
    for (r, (name, _)) in running.iter_mut().zip(parts) {
        r.proc_mut()
            .check_alive()
            .with_context(|| name.to_string())?;
    }
    let windows = running
        .iter()
        .map(|r| CpuWindow::start(r.proc().pid()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let fake = CpuWindow::start(cams.proc.pid())?;
    tokio::time::sleep(p.window).await;
    let mut measured = RoundCpu {
        cpu: Vec::new(),
        peak_mib: Vec::new(),
        fakecam: fake.percent()?,
    };
    for (w, r) in windows.iter().zip(&running) {
        measured.cpu.push(w.percent()?);
        measured.peak_mib.push(r.proc().peak_rss_mib()?);
    }
    for v in viewers {
        v.abort();
    }
    for ((((name, part), r), counters), &cpu) in parts
        .iter()
        .zip(&mut running)
        .zip(&counters)
        .zip(&measured.cpu)
    {
        r.proc_mut()
            .check_alive()
            .with_context(|| name.to_string())?;
        if matches!(part, Part::Camwall { viewer: true, .. })
            && counters.frames.load(Ordering::Relaxed) == 0
        {
            bail!("{name}: camwall sent no frame to its viewer");
        }
        if cpu < 1.0 {
            bail!("{name} used no CPU: is it running?\n{}", r.proc().tail());
        }
    }
    Ok(measured)
}

/// The rows of the breakdown, each adding one part to the one above.
const PARTS: [(&str, Part); 5] = [
    (
        "stock floor (a hidden input of `input-selector` waits for the shown one)",
        Part::Floor { blocking: true },
    ),
    (
        "stock floor, hidden inputs never wait (`input-selector sync-streams=false`)",
        Part::Floor { blocking: false },
    ),
    (
        "camwall, motion detection off (`enabled = false`), no viewer",
        Part::Camwall {
            detection: false,
            viewer: false,
        },
    ),
    (
        "camwall, motion detection off, one viewer",
        Part::Camwall {
            detection: false,
            viewer: true,
        },
    ),
    (
        "camwall as in the table above: motion detection on, one viewer",
        Part::Camwall {
            detection: true,
            viewer: true,
        },
    ),
];

/// 5b. Where camwall's CPU over the floor goes, at 4 cameras: five processes that each add one
/// part to the one before, side by side on the same cameras.
pub async fn overhead(
    exe: &std::path::Path,
    p: &Params,
    report: &mut Report,
) -> anyhow::Result<()> {
    const CAMERAS: usize = 4;
    report.heading(&format!(
        "5b. Where camwall's CPU over the floor goes ({CAMERAS} cameras, {}x{} at 25 fps)",
        p.cpu_size.width, p.cpu_size.height
    ));
    report.note(&format!(
        "Each row adds one part to the row above; all five processes run side by side on the \
         same fakecam cameras, are measured over the same window ({} s after {} s of warm-up) \
         and are started afresh, in a rotating order, for each of {} rounds. The ratio is the \
         row's total CPU over the stock floor's in the same rounds, ± the standard error of the \
         rounds' ratios; \"adds\" is the difference from the row above. Five processes load the \
         machine more than the table above does, so these ratios are not the same measurement: \
         they show the shares. camwall's contracts fix two of them: a hidden input is never held \
         back (`alarmselector`), and every frame of every camera is analysed (`motionalarm`).",
        p.window.as_secs(),
        p.warmup.as_secs(),
        p.cpu_rounds
    ));
    let cams = Fakecam::start(exe, CAMERAS, p.cpu_size)?;
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); PARTS.len()];
    for round in 0..p.cpu_rounds {
        let r = side_by_side(exe, &cams, &PARTS, round, p).await?;
        for (all, c) in cpu.iter_mut().zip(r.cpu) {
            all.push(c);
        }
    }
    let floor_total: f64 = cpu[0].iter().sum();
    let mut rows = Vec::new();
    let mut previous: Option<f64> = None;
    for ((name, _), part_cpu) in PARTS.iter().zip(&cpu) {
        let ratio = part_cpu.iter().sum::<f64>() / floor_total;
        let by_round: Vec<f64> = part_cpu.iter().zip(&cpu[0]).map(|(c, f)| c / f).collect();
        rows.push(vec![
            name.to_string(),
            fmt(Some(mean(part_cpu)), 1),
            fmt(Some(ratio), 3),
            fmt(standard_error(&by_round), 3),
            previous.map_or_else(String::new, |prev| format!("{:+.3}", ratio - prev)),
        ]);
        previous = Some(ratio);
    }
    report.table(
        &["process", "CPU %", "ratio to the floor", "± s.e.", "adds"],
        &rows,
    );
    Ok(())
}

/// Time from spawning `camwall demo` to the first frame at a WebSocket client.
pub async fn startup(
    exe: &std::path::Path,
    p: &Params,
    report: &mut Report,
    found: &mut Findings,
) -> anyhow::Result<()> {
    let mut samples = Vec::new();
    for _ in 0..p.startups {
        let addr = format!("127.0.0.1:{}", free_port()?);
        let t0 = Instant::now();
        let _demo = Proc::spawn(
            "camwall demo",
            Command::new(exe).args(["demo", "--listen", &addr, "--cameras", "4"]),
        )?;
        let deadline = t0 + Duration::from_secs(30);
        let mut viewer = loop {
            match Viewer::connect(&addr, None).await {
                Ok(v) => break v,
                Err(e) if Instant::now() > deadline => {
                    return Err(e.context("camwall demo never served /ws"))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        };
        let f = viewer.next_frame(Duration::from_secs(30)).await?;
        samples.push(ms_between(t0, f.received));
    }
    let s = summarize(&samples);
    report.heading("Start-up: spawning `camwall demo` (4 cameras 1280x720) -> first frame at a WebSocket client");
    report.table(
        &["runs", "p50 ms", "max ms"],
        &[vec![
            samples.len().to_string(),
            fmt(s.map(|s| s.p50), 0),
            fmt(s.map(|s| s.max), 0),
        ]],
    );
    found.startup_ms = s;
    Ok(())
}
