// SPDX-License-Identifier: MIT OR Apache-2.0

//! `camwall-soak`: runs the launcher on simulated cameras for a long time while cameras go down
//! and come back and viewers come and go, and prints resident memory over time, frames delivered
//! vs painted per camera, and recoveries. Exits non-zero when memory grows or a camera does not
//! recover. `scripts/soak.sh` runs it (30 minutes by default; CI runs 60 s).
//!
//! ```sh
//! cargo run --release -p camwall-tests --bin camwall-soak -- --seconds 60
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use camwall::fakecam::FakeCamConfig;
use camwall::App;
use camwall_tests::viewer::Viewer;
use camwall_tests::{http, FakeCamWithControl};

const CAMERAS: usize = 4;

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn parse_seconds() -> anyhow::Result<u64> {
    let mut args = std::env::args().skip(1);
    let mut seconds = 1800;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .context("--seconds needs a value")?
                    .parse()
                    .context("--seconds: a whole number")?;
            }
            "-h" | "--help" => {
                println!("camwall-soak [--seconds N]   (default 1800)");
                std::process::exit(0);
            }
            other => bail!("unknown argument '{other}'"),
        }
    }
    if !(10..=7 * 24 * 3600).contains(&seconds) {
        bail!("--seconds must be from 10 to 604800");
    }
    Ok(seconds)
}

fn main() -> anyhow::Result<()> {
    let seconds = parse_seconds()?;
    camwall_tests::init();
    let mut config = FakeCamConfig::with_cameras(CAMERAS);
    config.width = 320;
    config.height = 192;
    config.fps = 15;
    let fc = FakeCamWithControl::start(config)?;
    let app = App::start(camwall::demo::config_for(
        &fc.cams,
        "127.0.0.1:0",
        "[reconnect]\ninitial_ms = 250\nmax_ms = 2000",
    )?)?;
    let addr = app.address();
    println!("soak: {seconds} s, {CAMERAS} cameras, launcher on http://{addr}/");

    // Viewers: one that stays, and a churn of short-lived ones.
    let stop = Arc::new(AtomicBool::new(false));
    let kept_frames = Arc::new(AtomicU64::new(0));
    let churned = Arc::new(AtomicU64::new(0));
    let viewers = {
        let (addr, stop, kept, churned) = (
            addr.clone(),
            stop.clone(),
            kept_frames.clone(),
            churned.clone(),
        );
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let kept_task = {
                    let (addr, stop, kept) = (addr.clone(), stop.clone(), kept.clone());
                    tokio::spawn(async move {
                        while !stop.load(Ordering::Relaxed) {
                            let Ok(mut v) = Viewer::connect(&addr, None).await else {
                                tokio::time::sleep(Duration::from_millis(500)).await;
                                continue;
                            };
                            v.decode = false;
                            while !stop.load(Ordering::Relaxed) {
                                match v.next_frame(Duration::from_secs(5)).await {
                                    Ok(_) => {
                                        kept.fetch_add(1, Ordering::Relaxed);
                                    }
                                    Err(_) => break,
                                }
                            }
                        }
                    })
                };
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    if let Ok(mut v) = Viewer::connect(&addr, None).await {
                        v.decode = false;
                        for _ in 0..(n % 20) {
                            if v.next_frame(Duration::from_secs(2)).await.is_err() {
                                break;
                            }
                        }
                        churned.fetch_add(1, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let _ = kept_task.await;
            });
        })
    };

    let cameras = || -> Vec<serde_json::Value> {
        http("GET", &addr, "/api/cameras", None)
            .ok()
            .and_then(|r| r.json().ok())
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    };
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let report_every = Duration::from_secs((seconds / 12).clamp(5, 120));
    let mut next_report = started + report_every;
    let mut rss = Vec::new();
    let mut outages = 0u64;
    let mut fault: Option<(String, Instant)> = None;
    let mut next_fault = started + Duration::from_secs(5);
    let mut round = 0usize;
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(250));
        let now = Instant::now();
        // cam1 always streams; cam2..camN take turns going offline or freezing for 2 s.
        if let Some((cam, since)) = &fault {
            if now.duration_since(*since) >= Duration::from_secs(2) {
                fc.control(cam, "online")?;
                fault = None;
            }
        } else if now >= next_fault && now + Duration::from_secs(6) < end {
            let cam = format!("cam{}", 2 + round % (CAMERAS - 1));
            let action = if round.is_multiple_of(2) {
                "offline"
            } else {
                "freeze"
            };
            fc.control(&cam, action)?;
            fault = Some((cam, now));
            outages += 1;
            round += 1;
            next_fault = now + Duration::from_secs(8);
        }
        if now >= next_report || now >= end {
            next_report = now + report_every;
            let kb = rss_kb();
            rss.push((started.elapsed().as_secs(), kb));
            let states: Vec<String> = cameras()
                .iter()
                .map(|c| {
                    format!(
                        "{}={}",
                        c["id"].as_str().unwrap_or("?"),
                        c["state"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            println!(
                "t={:>5}s rss={:>7} KiB viewer_frames={} churned_viewers={} {}",
                started.elapsed().as_secs(),
                kb,
                kept_frames.load(Ordering::Relaxed),
                churned.load(Ordering::Relaxed),
                states.join(" ")
            );
        }
    }
    if let Some((cam, _)) = fault.take() {
        fc.control(&cam, "online")?;
    }
    // Every camera must be live again by the end.
    let recover_by = Instant::now() + Duration::from_secs(10);
    let not_recovered = loop {
        let cams = cameras();
        let down: Vec<String> = cams
            .iter()
            .filter(|c| c["state"] != "live")
            .map(|c| c["id"].as_str().unwrap_or("?").to_string())
            .collect();
        if down.is_empty() || Instant::now() > recover_by {
            break down;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    stop.store(true, Ordering::Relaxed);
    let _ = viewers.join();

    let painted = fc.cams.cameras();
    println!("camera  painted  delivered  reconnects");
    for c in cameras() {
        let id = c["id"].as_str().unwrap_or("?");
        let p = painted.iter().find(|x| x.id == id).map_or(0, |x| x.frames);
        println!(
            "{id:<7} {p:>8} {:>10} {:>11}",
            c["frames"].as_u64().unwrap_or(0),
            c["reconnects"].as_u64().unwrap_or(0)
        );
    }
    println!(
        "outages injected: {outages}; viewers churned: {}; frames to the kept viewer: {}",
        churned.load(Ordering::Relaxed),
        kept_frames.load(Ordering::Relaxed)
    );

    // Flat memory: after the warm-up (first quarter), the peak may exceed the first sample
    // after warm-up by at most 10 % + 16 MiB.
    let warm = rss.len() / 4;
    let base = rss.get(warm).map_or(0, |r| r.1);
    let peak = rss.iter().skip(warm).map(|r| r.1).max().unwrap_or(0);
    let allowed = base + base / 10 + 16 * 1024;
    println!("rss after warm-up {base} KiB, peak {peak} KiB, allowed {allowed} KiB");
    if !not_recovered.is_empty() {
        bail!("cameras not live at the end: {not_recovered:?}");
    }
    if peak > allowed {
        bail!("resident memory grew: {base} KiB -> {peak} KiB");
    }
    println!("soak: ok");
    Ok(())
}
