// SPDX-License-Identifier: MIT OR Apache-2.0

//! 8. Walls and peeks on 8 cameras.
//!
//! What a watched wall and a peeked camera cost, and a switch on one wall while another wall
//! switches too.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use camwall_tests::viewer::Viewer;

use crate::procs::{ms_between, CpuWindow};
use crate::report::{p50_p95, Report};
use crate::rig::{CamSize, Camwall, Fakecam};
use crate::sections::BENCH_SELECTOR;
use crate::stats::{fmt, mean, standard_error, summarize};
use crate::wsclient::{self, LoadCounters};
use crate::Params;

const T: Duration = Duration::from_secs(10);
/// Longer than camwall's grace after the last viewer of a wall or peek leaves (5 s): only
/// then has it stopped encoding.
const IDLE_SETTLE: Duration = Duration::from_millis(6500);

/// Three walls on eight cameras: the control room sees them all, two spot monitors half each.
const WALLS: &str = "\n[[wall]]\nid = \"control\"\n\
    [[wall]]\nid = \"spot\"\ncameras = [\"cam1\", \"cam2\", \"cam3\", \"cam4\"]\n\
    [[wall]]\nid = \"lobby\"\ncameras = [\"cam5\", \"cam6\", \"cam7\", \"cam8\"]\n";

/// camwall's CPU % with one viewer on each of `queries` and without any, in `pairs` pairs of
/// slices (the order alternating); returns the mean difference and its standard error.
async fn cost_of(
    cw: &Camwall,
    queries: &[&str],
    pairs: usize,
    p: &Params,
) -> anyhow::Result<(f64, Option<f64>, u64)> {
    let pid = cw.proc.pid();
    let (mut diffs, mut failed) = (Vec::new(), 0);
    for pair in 0..pairs {
        let (mut with, mut without) = (0.0, 0.0);
        for on in [pair % 2 == 0, pair % 2 != 0] {
            if !on {
                tokio::time::sleep(IDLE_SETTLE).await;
                without = CpuWindow::threads(pid)?.after(p.toggle_slice).await?;
                continue;
            }
            let counters = Arc::new(LoadCounters::default());
            let until = Instant::now() + Duration::from_secs(1) + p.toggle_slice;
            let tasks: Vec<_> = queries
                .iter()
                .map(|q| {
                    tokio::spawn(wsclient::load_viewer_at(
                        format!("ws://{}/ws{q}", cw.addr),
                        until,
                        counters.clone(),
                    ))
                })
                .collect();
            tokio::time::sleep(Duration::from_secs(1)).await;
            with = CpuWindow::threads(pid)?.after(p.toggle_slice).await?;
            for task in tasks {
                let _ = task.await;
            }
            failed += counters.failed.load(Ordering::Relaxed);
        }
        diffs.push(with - without);
    }
    Ok((mean(&diffs), standard_error(&diffs), failed))
}

/// PUT a wall's selection.
fn select_on(addr: &str, wall: &str, camera: &str) -> anyhow::Result<()> {
    let res = camwall_tests::http(
        "PUT",
        addr,
        &format!("/api/walls/{wall}/selection"),
        Some(&format!("{{\"camera\":\"{camera}\"}}")),
    )?;
    anyhow::ensure!(
        res.status == 200,
        "PUT {wall} {camera}: HTTP {}",
        res.status
    );
    Ok(())
}

/// Switch latency on the control wall, `n` switches, with the spot wall switching at the same
/// moment when `together`.
async fn switches(cw: &Camwall, n: usize, together: bool) -> anyhow::Result<Vec<f64>> {
    let mut control = Viewer::connect_to(&cw.addr, "?wall=control").await?;
    let mut spot = Viewer::connect_to(&cw.addr, "?wall=spot").await?;
    spot.decode = false;
    let mut samples = Vec::new();
    for i in 0..n {
        // Control moves among cam5..cam8 (shown on no other wall), spot among cam1..cam4.
        let index = 4 + (i % 4);
        let id = format!("cam{}", index + 1);
        let spot_id = format!("cam{}", (i % 4) + 1);
        while control.next(Duration::from_millis(15)).await.is_ok() {}
        while spot.next(Duration::from_millis(1)).await.is_ok() {}
        let addr = cw.addr.clone();
        let t0 = Instant::now();
        let other = together.then(|| {
            let addr = addr.clone();
            tokio::task::spawn_blocking(move || select_on(&addr, "spot", &spot_id))
        });
        let cam = id.clone();
        let put = tokio::task::spawn_blocking(move || select_on(&addr, "control", &cam));
        let f = control.frame_of(&id, index as u8, T).await?;
        put.await??;
        if let Some(other) = other {
            other.await??;
        }
        samples.push(ms_between(t0, f.received));
    }
    Ok(samples)
}

/// 8. Walls and peeks.
pub async fn walls(exe: &std::path::Path, p: &Params, report: &mut Report) -> anyhow::Result<()> {
    let exe2 = exe.to_path_buf();
    let cams =
        tokio::task::spawn_blocking(move || Fakecam::start(&exe2, 8, CamSize::HD720)).await??;
    let exe2 = exe.to_path_buf();
    let cameras = cams.cameras.clone();
    let cw = tokio::task::spawn_blocking(move || {
        Camwall::start_on(&exe2, &cameras, &format!("{BENCH_SELECTOR}{WALLS}"))
    })
    .await??;

    let mut rows = Vec::new();
    for (label, queries) in [
        (
            "one wall watched (control, 8 cameras)",
            vec!["?wall=control"],
        ),
        ("one wall watched (lobby, 4 cameras)", vec!["?wall=lobby"]),
        (
            "three walls watched",
            vec!["?wall=control", "?wall=spot", "?wall=lobby"],
        ),
        ("one camera peeked (cam6)", vec!["?camera=cam6"]),
        ("one camera peeked by 10 viewers", vec!["?camera=cam6"; 10]),
        (
            "four cameras peeked",
            vec![
                "?camera=cam1",
                "?camera=cam3",
                "?camera=cam6",
                "?camera=cam8",
            ],
        ),
    ] {
        let (pct, se, failed) = cost_of(&cw, &queries, p.toggle_pairs, p).await?;
        rows.push(vec![
            label.to_string(),
            queries.len().to_string(),
            format!("{} ± {}", fmt(Some(pct), 1), fmt(se, 1)),
            failed.to_string(),
        ]);
    }
    report.heading("8. Walls and peeks (camwall, 8 cameras 720p25, 3 walls)");
    report.note(&format!(
        "Walls: control (all 8 cameras), spot (cam1-4), lobby (cam5-8). CPU added by the \
         viewers: camwall's CPU (% of one core) with them minus without them, in {} pairs of \
         {} s slices (the slice without comes {} s after they left, once camwall has stopped \
         encoding for them), ± the standard error of the pairs. A watched wall is one \
         scale-and-encode of its shown camera; a peeked camera one more, shared by its peekers; \
         nobody watching costs nothing.",
        p.toggle_pairs,
        p.toggle_slice.as_secs_f64(),
        IDLE_SETTLE.as_secs_f64()
    ));
    report.table(
        &["watched", "viewers", "CPU % added", "failed viewers"],
        &rows,
    );

    let alone = summarize(&switches(&cw, p.switches, false).await?);
    let together = summarize(&switches(&cw, p.switches, true).await?);
    report.note(
        "Switch latency on the control wall (PUT /api/walls/control/selection -> first frame of \
         the new camera, by its stamp), alone and with the spot wall switching at the same \
         moment.",
    );
    report.table(
        &["control wall switches", "n", "p50 ms", "p95 ms", "max ms"],
        &[
            [
                vec!["alone".into(), p.switches.to_string()],
                p50_p95(alone).to_vec(),
                vec![fmt(alone.map(|s| s.max), 1)],
            ]
            .concat(),
            [
                vec!["while spot switches too".into(), p.switches.to_string()],
                p50_p95(together).to_vec(),
                vec![fmt(together.map(|s| s.max), 1)],
            ]
            .concat(),
        ],
    );
    Ok(())
}

/// Section 9, the overview grid: what its live thumbnails cost, at 8 cameras (720p) and 16
/// (360p: the simulated cameras' own encoders would not keep 16 720p streams at 25 fps here).
pub async fn grid(exe: &std::path::Path, p: &Params, report: &mut Report) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for (n, size) in [
        (8, CamSize::HD720),
        (
            16,
            CamSize {
                width: 640,
                height: 360,
            },
        ),
    ] {
        let exe2 = exe.to_path_buf();
        let cams = tokio::task::spawn_blocking(move || Fakecam::start(&exe2, n, size)).await??;
        let exe2 = exe.to_path_buf();
        let cameras = cams.cameras.clone();
        let cw =
            tokio::task::spawn_blocking(move || Camwall::start_on(&exe2, &cameras, BENCH_SELECTOR))
                .await??;
        for (label, queries) in [
            ("one grid open (every camera)", vec!["/grid"]),
            ("three grids open", vec!["/grid"; 3]),
            (
                "one grid of 4 cameras (?cameras=)",
                vec!["/grid?cameras=cam1,cam2,cam3,cam4"],
            ),
        ] {
            let (pct, se, failed) = cost_of(&cw, &queries, p.toggle_pairs, p).await?;
            let streams = if label.contains("4 cameras") { 4 } else { n };
            rows.push(vec![
                format!("{n} × {}", size.label()),
                label.to_string(),
                format!("{} ± {}", fmt(Some(pct), 1), fmt(se, 1)),
                fmt(Some(pct / streams as f64), 2),
                failed.to_string(),
            ]);
        }
        drop(cw);
        drop(cams);
    }
    report.heading("9. The overview grid's thumbnails (camwall)");
    report.note(&format!(
        "Each camera's thumbnail is its newest decoded frame, 4 a second (stream.thumb_fps), \
         scaled to at most 320 pixels wide and JPEG-encoded once however many grids show it; \
         a camera no grid asks for costs nothing. CPU added (% of one core): camwall's CPU with \
         the grid socket(s) open minus without, in {} pairs of {} s slices, ± the standard error \
         of the pairs; per thumbnail stream = added ÷ cameras shown.",
        p.toggle_pairs,
        p.toggle_slice.as_secs_f64(),
    ));
    report.table(
        &[
            "cameras",
            "watched",
            "CPU % added",
            "per thumbnail stream %",
            "failed viewers",
        ],
        &rows,
    );
    Ok(())
}
