// SPDX-License-Identifier: MIT OR Apache-2.0

//! Section 11, cameras per core: what each camera costs camwall when nobody watches it, on
//! camera-like clips (made with ffmpeg) served by VLC as they are, beside the stock floor
//! `rtspsrc ! depay ! parse ! avdec_h264 ! fakesink`; how CPU grows with the number of cameras;
//! and the most cameras this machine carries with every frame decoded and analysed.
//!
//! One VLC per picture size serves the clip; every camera of a run is a session of its own on
//! that one stream (VLC packetises once and sends to each), so the cameras cost almost nothing.

use std::time::Duration;

use camwall_tests::clips::{Clip, VlcServer};

use crate::procs::CpuWindow;
use crate::report::Report;
use crate::rig::{CamSize, Camwall};
use crate::sections::{gst_launch, one_line, BENCH_SELECTOR};
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

/// camwall on `n` cameras of `url`: its CPU % over `p.window` and the lowest camera frame
/// rate the API reports at the end of it.
async fn camwall_on(
    exe: &std::path::Path,
    url: &str,
    n: usize,
    p: &Params,
) -> anyhow::Result<(f64, f64)> {
    let cameras: Vec<(String, String)> = (1..=n)
        .map(|i| (format!("cam{i}"), url.to_string()))
        .collect();
    let exe = exe.to_path_buf();
    let cw = tokio::task::spawn_blocking(move || Camwall::start_on(&exe, &cameras, BENCH_SELECTOR))
        .await??;
    tokio::time::sleep(p.warmup).await;
    let cpu = CpuWindow::threads(cw.proc.pid())?.after(p.window).await?;
    let res = camwall_tests::http("GET", &cw.addr, "/api/cameras", None)?;
    let min_fps = res
        .json()?
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["fps"].as_f64().unwrap_or(0.0))
        .fold(f64::INFINITY, f64::min);
    Ok((cpu, min_fps))
}

/// The floor on `n` sessions of `url`: its CPU % over `p.window`.
async fn floor_on(url: &str, n: usize, p: &Params) -> anyhow::Result<f64> {
    let line: String = (0..n)
        .map(|_| {
            format!(
                " rtspsrc location={url} latency=0 protocols=tcp+udp ! rtph264depay ! h264parse \
                 ! avdec_h264 ! fakesink sync=false"
            )
        })
        .collect();
    let floor = gst_launch("floor", &line)?;
    tokio::time::sleep(p.warmup + Duration::from_secs(1)).await;
    CpuWindow::threads(floor.pid())?.after(p.window).await
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
    let (mut rows, mut slopes, mut carried) = (Vec::new(), Vec::new(), Vec::new());
    for size in sizes {
        let path = dir.path().join(format!("{}.mp4", size.label()));
        let clip = tokio::task::spawn_blocking(move || {
            let mut clip = Clip::realistic(size.width, size.height, 25);
            clip.seconds = 20;
            clip.make(&path)
        })
        .await??;
        let vlc = VlcServer::start(&clip, "cam")?;
        let url = vlc.url();
        let (mut xs, mut ours, mut floors) = (Vec::new(), Vec::new(), Vec::new());
        for &n in counts {
            let row = async {
                let (cpu, min_fps) = camwall_on(exe, &url, n, p).await?;
                let floor = floor_on(&url, n, p).await?;
                anyhow::Ok((cpu, min_fps, floor))
            }
            .await;
            match row {
                Ok((cpu, min_fps, floor)) => {
                    xs.push(n as f64);
                    ours.push(cpu);
                    floors.push(floor);
                    rows.push(vec![
                        size.label(),
                        n.to_string(),
                        fmt(Some(cpu), 1),
                        fmt(Some(floor), 1),
                        fmt(Some(cpu / floor), 2),
                        fmt(Some(min_fps), 1),
                    ]);
                }
                Err(e) => rows.push(vec![size.label(), n.to_string(), one_line(&e)]),
            }
        }
        if xs.len() >= 2 {
            let (ours_slope, ours_base) = fit(&xs, &ours);
            let (floor_slope, _) = fit(&xs, &floors);
            slopes.push(vec![
                size.label(),
                fmt(Some(ours_slope), 1),
                fmt(Some(ours_base), 1),
                fmt(Some(floor_slope), 1),
                fmt(Some(ours_slope / floor_slope), 2),
            ]);
        }
        // The most cameras carried at full rate, at 1080p: more until one falls behind.
        if size.height == 1080 {
            let steps: &[usize] = if quick {
                &[8, 12]
            } else {
                &[8, 10, 12, 14, 16]
            };
            for &n in steps {
                let (cpu, min_fps) = camwall_on(exe, &url, n, p).await?;
                carried.push(vec![
                    n.to_string(),
                    fmt(Some(cpu), 0),
                    fmt(Some(min_fps), 1),
                    if min_fps >= 24.0 { "yes" } else { "no" }.to_string(),
                ]);
                if min_fps < 24.0 {
                    break;
                }
            }
        }
        drop(vlc);
    }

    report.heading(
        "11. Cameras per core: hidden cameras on camera-like clips, against the stock floor",
    );
    report.note(&format!(
        "Each camera a session of its own on one VLC stream of a clip made with ffmpeg (a still, \
         detailed scene with film grain, a walker, sensor noise; H.264 at about 4 Mbit/s per \
         1280x720, a keyframe a second), so the cameras cost almost nothing. camwall: `camwall \
         run` with N such cameras, nobody watching (every frame decoded and analysed by \
         motionalarm, none encoded); floor: one `gst-launch-1.0` of N `rtspsrc latency=0 ! \
         rtph264depay ! h264parse ! avdec_h264 ! fakesink`. CPU % of one core over {} s after {} \
         s of warm-up; the lowest camera frame rate camwall's API reports.",
        p.window.as_secs(),
        p.warmup.as_secs_f64()
    ));
    report.table(
        &[
            "cameras",
            "N",
            "camwall CPU %",
            "floor CPU %",
            "camwall / floor",
            "lowest camera fps",
        ],
        &rows,
    );
    report.note(
        "How CPU grows with N (least squares over the rows above): per hidden camera, camwall's \
         slope against the floor's (decoding); camwall's intercept is what it costs with no camera.",
    );
    report.table(
        &[
            "cameras",
            "camwall % per camera",
            "camwall % at N = 0",
            "floor % per camera",
            "slope ratio",
        ],
        &slopes,
    );
    report.note(
        "The most 1080p cameras this machine carries with every frame decoded and analysed: more \
         cameras until one falls under 24 fps.",
    );
    report.table(
        &[
            "1080p cameras",
            "camwall CPU %",
            "lowest camera fps",
            "full rate",
        ],
        &carried,
    );
    Ok(())
}
