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
use crate::rig::{CamSize, Camwall, Fakecam};
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

fn select(addr: &str, camera: &str) -> anyhow::Result<()> {
    let res = camwall_tests::http(
        "PUT",
        addr,
        "/api/selection",
        Some(&format!("{{\"camera\":\"{camera}\"}}")),
    )?;
    anyhow::ensure!(res.status == 200, "PUT {camera}: HTTP {}", res.status);
    Ok(())
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
    let cw = start(exe, &cams, "").await?;
    let load_rows = loads(&cw, slice).await?;
    let latency_rows = latencies(&cw, p).await?;
    drop(cw);

    // The encoder, chosen by measurement: x264enc against openh264enc, one H.264 viewer each.
    let mut encoder_rows = Vec::new();
    for encoder in ["x264", "openh264"] {
        let cw = start(
            exe,
            &cams,
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

    report.heading(
        "10. The picture's path: base64 JPEG, binary JPEG, H.264 (camwall, 4 cameras 720p25, motion on)",
    );
    report.note(&format!(
        "Per viewer: Mbit/s and frames a second received over a {} s slice with N viewers on the \
         first wall (each row its own run; a new row starts once the encoders have gone idle); \
         camwall's CPU (% of one core) over the same slice. JPEG at quality 80, scaled to 1280 \
         wide; H.264 by x264enc (zerolatency, ultrafast, no B-frames, one reference) at \
         stream.h264_bitrate = 1500 kbit/s. The fakecam's moving pattern and clock, with motion \
         on, are a busy scene for an encoder.",
        slice.as_secs_f64()
    ));
    report.table(
        &[
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

async fn start(exe: &std::path::Path, cams: &Fakecam, extra: &str) -> anyhow::Result<Camwall> {
    let exe = exe.to_path_buf();
    let cameras = cams.cameras.clone();
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

/// The load table: every path with 1, 10 and 100 viewers.
async fn loads(cw: &Camwall, slice: Duration) -> anyhow::Result<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    for (label, query) in PATHS {
        for n in [1usize, 10, 100] {
            let (mbps, fps, cpu, failed) = load(cw, query, n, slice).await?;
            rows.push(vec![
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
        let put = tokio::task::spawn_blocking(move || select(&addr, &cam));
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
