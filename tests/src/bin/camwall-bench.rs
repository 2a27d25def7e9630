// SPDX-License-Identifier: MIT OR Apache-2.0

//! `camwall-bench`: camwall beside its peers, in one run, on the same simulated cameras.
//!
//! The cameras run in their own process (`camwall fakecam`), camwall in its own (`camwall run`),
//! every client in this one, all on 127.0.0.1. Prints the figures and, with `--out`, writes them
//! as Markdown. Run it through `scripts/bench.sh`, which builds in release and installs the peers.

#[path = "camwall-bench/cameras.rs"]
mod cameras;
#[path = "camwall-bench/delivery.rs"]
mod delivery;
#[path = "camwall-bench/mjpeg.rs"]
mod mjpeg;
#[path = "camwall-bench/peers.rs"]
mod peers;
#[path = "camwall-bench/procs.rs"]
mod procs;
#[path = "camwall-bench/report.rs"]
mod report;
#[path = "camwall-bench/rig.rs"]
mod rig;
#[path = "camwall-bench/sections.rs"]
mod sections;
#[path = "camwall-bench/stats.rs"]
mod stats;
#[path = "camwall-bench/trust.rs"]
mod trust;
#[path = "camwall-bench/video.rs"]
mod video;
#[path = "camwall-bench/walls.rs"]
mod walls;
#[path = "camwall-bench/wsclient.rs"]
mod wsclient;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

use report::{Findings, PeerFinding, Report};
use rig::{CamSize, Camwall, Fakecam};
use stats::{fmt, Summary};

const SECTIONS: [&str; 17] = [
    "first-frame",
    "switch",
    "alarm",
    "viewers",
    "latency",
    "cpu",
    "overhead",
    "peers",
    "startup",
    "walls",
    "grid",
    "video",
    "cameras",
    "sub-switch",
    "delivery",
    "motion-trust",
    "detector-cost",
];

/// camwall beside its peers: latency, CPU, memory and bandwidth on simulated cameras.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Shorter windows and fewer trials (about 2 minutes instead of about 15).
    #[arg(long)]
    quick: bool,
    /// Sections to run, comma-separated (default: all): first-frame, switch, alarm, viewers,
    /// latency, cpu, overhead, peers, startup, walls, grid, video, sub-switch, motion-trust (and,
    /// only when named, cameras (about 15 minutes) and detector-cost).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The `camwall` binary (default: the one next to this program).
    #[arg(long)]
    camwall: Option<PathBuf>,
    /// Write the figures as Markdown to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Camera size for the CPU section, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720", value_parser = CamSize::parse)]
    cpu_size: CamSize,
    /// The command line to record in the report (default: this program's arguments).
    #[arg(long)]
    command: Option<String>,
}

/// Counts and windows, from `--quick` or not.
pub struct Params {
    pub connects: usize,
    pub switches: usize,
    pub alarms: usize,
    pub startups: usize,
    pub peer_connects: usize,
    pub warmup: Duration,
    pub window: Duration,
    /// Rounds of fresh camwall and floor processes per camera count in the CPU section.
    pub cpu_rounds: usize,
    /// Pairs of slices with and without the viewers, and each slice's length, in the CPU per
    /// viewer section.
    pub toggle_pairs: usize,
    pub toggle_slice: Duration,
    pub cpu_size: CamSize,
}

impl Params {
    fn new(quick: bool, cpu_size: CamSize) -> Params {
        if quick {
            Params {
                connects: 10,
                switches: 15,
                alarms: 6,
                startups: 1,
                peer_connects: 3,
                warmup: Duration::from_millis(1500),
                window: Duration::from_secs(3),
                cpu_rounds: 2,
                toggle_pairs: 2,
                toggle_slice: Duration::from_millis(1500),
                cpu_size,
            }
        } else {
            Params {
                connects: 30,
                switches: 50,
                alarms: 20,
                startups: 3,
                peer_connects: 10,
                warmup: Duration::from_secs(3),
                window: Duration::from_secs(6),
                cpu_rounds: 8,
                toggle_pairs: 6,
                toggle_slice: Duration::from_secs(3),
                cpu_size,
            }
        }
    }
}

fn verdict(measured: Option<f64>, target: f64, decimals: usize) -> String {
    match measured {
        Some(v) if v <= target => format!("{} (met)", fmt(Some(v), decimals)),
        Some(v) => format!("{} (missed)", fmt(Some(v), decimals)),
        None => "not measured".into(),
    }
}

fn p95(s: Option<Summary>) -> Option<f64> {
    s.map(|s| s.p95)
}

fn summary(report: &mut Report, f: &Findings) {
    report.heading("Summary: camwall against its targets and the original design");
    let ratio4 = f.cpu_ratios.iter().find(|(n, _)| *n == 4).map(|(_, r)| *r);
    let per_peer = |cell: &dyn Fn(&PeerFinding) -> String| {
        f.peers
            .iter()
            .map(|peer| format!("{}: {}", peer.short(), cell(peer)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let peer_first = per_peer(&|peer| fmt(p95(peer.first_frame), 0));
    let peer_lat = per_peer(&|peer| fmt(p95(peer.latency), 0));
    let peer_mbit = per_peer(&|peer| fmt(peer.mbit, 2));
    report.table(
        &[
            "figure",
            "camwall measured",
            "camwall target",
            "original design",
            "peers measured",
        ],
        &[
            vec![
                "first frame after connect, p95 ms".into(),
                verdict(p95(f.first_frame), 20.0, 1),
                "< 20".into(),
                "< 200".into(),
                peer_first,
            ],
            vec![
                "switch, p95 ms".into(),
                verdict(p95(f.switch), 40.0, 1),
                "< 40".into(),
                "< 200".into(),
                "n/a".into(),
            ],
            vec![
                "alarm, p95 ms".into(),
                verdict(p95(f.alarm), 250.0, 1),
                "< 250".into(),
                "-".into(),
                "n/a".into(),
            ],
            vec![
                "camera-to-viewer, 4 x 720p25, p95 ms".into(),
                verdict(p95(f.latency_4x720), 60.0, 1),
                "< 60".into(),
                "< 500".into(),
                peer_lat,
            ],
            vec![
                "CPU / stock floor, 4 cameras".into(),
                verdict(ratio4, 1.10, 2),
                "<= 1.10".into(),
                "-".into(),
                "-".into(),
            ],
            vec![
                "Mbit/s per viewer, 1080p cameras (sent at 1280x720)".into(),
                fmt(f.mbit_per_viewer_1080, 2),
                "-".into(),
                "~4.5 (1080p)".into(),
                "-".into(),
            ],
            vec![
                "Mbit/s per viewer, 720p cameras".into(),
                fmt(f.mbit_per_viewer_720, 2),
                "-".into(),
                "-".into(),
                peer_mbit,
            ],
        ],
    );
    if !f.cpu_ratios.is_empty() {
        report.note(&format!(
            "CPU ratio camwall / floor by cameras: {}.",
            f.cpu_ratios
                .iter()
                .map(|(n, r)| format!("{n}: {r:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

fn shell_date() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or("unknown".into(), |s| s.trim().to_string())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    for s in &cli.only {
        if !SECTIONS.contains(&s.as_str()) {
            anyhow::bail!(
                "--only {s}: unknown section; known: {}",
                SECTIONS.join(", ")
            );
        }
    }
    let wanted = |s: &str| cli.only.is_empty() || cli.only.iter().any(|o| o == s);
    let exe = match &cli.camwall {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .map(|d| d.join("camwall"))
            .ok_or_else(|| anyhow::anyhow!("cannot find the camwall binary; pass --camwall"))?,
    };
    if !exe.is_file() {
        anyhow::bail!(
            "{}: no camwall binary; build it or pass --camwall",
            exe.display()
        );
    }
    let p = Params::new(cli.quick, cli.cpu_size);
    let command = cli
        .command
        .clone()
        .unwrap_or_else(|| std::env::args().collect::<Vec<_>>().join(" "));
    let started = Instant::now();
    let mut report = Report::default();
    let load_start = procs::load_average();
    report.markdown.push_str("# camwall benchmarks\n\n");
    report.note(&format!(
        "- date: {}\n- machine: {}\n- command: `{command}`\n- load average at start: {load_start} \
         (the machine was shared with other builds and tests while this ran)\n- all traffic on \
         127.0.0.1; cameras: `camwall fakecam` in its own process (H.264, x264 ultrafast \
         zerolatency, one keyframe a second, each frame sent as soon as it is encoded); camwall: `camwall run` in its own process with \
         default settings but `alarm_hold_ms = 300`; clients in the bench process",
        shell_date(),
        procs::machine()
    ));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut found = Findings::default();
    let mut failures = Vec::new();
    let mut record = |name: &str, r: anyhow::Result<()>, report: &mut Report| {
        if let Err(e) = r {
            eprintln!("{name}: {e:#}");
            report.note(&format!("**{name} failed**: {}", sections::one_line(&e)));
            failures.push(name.to_string());
        }
    };

    if ["first-frame", "switch", "alarm", "viewers"]
        .iter()
        .any(|s| wanted(s))
    {
        let r: anyhow::Result<()> = (|| {
            let cams = Fakecam::start(&exe, 4, CamSize::HD720)?;
            let cw = Camwall::start(&exe, &cams, sections::BENCH_SELECTOR)?;
            if wanted("first-frame") {
                let r = rt.block_on(sections::first_frame(&cw, &p, &mut report, &mut found));
                record("first-frame", r, &mut report);
            }
            if wanted("switch") {
                let r = rt.block_on(sections::switch(&cw, &cams, &p, &mut report, &mut found));
                record("switch", r, &mut report);
            }
            if wanted("alarm") {
                let r = rt.block_on(sections::alarm(&cw, &cams, &p, &mut report, &mut found));
                record("alarm", r, &mut report);
            }
            if wanted("viewers") {
                let r = rt.block_on(sections::viewers(
                    &exe,
                    &cw,
                    &cams,
                    &p,
                    &mut report,
                    &mut found,
                ));
                record("viewers", r, &mut report);
            }
            Ok(())
        })();
        record("camwall on 4 cameras", r, &mut report);
    }
    if wanted("latency") {
        let r = rt.block_on(sections::latency(&exe, &p, &mut report, &mut found));
        record("latency", r, &mut report);
    }
    if wanted("cpu") {
        let r = rt.block_on(sections::cpu(&exe, &p, &mut report, &mut found));
        record("cpu", r, &mut report);
    }
    if wanted("overhead") {
        let r = rt.block_on(sections::overhead(&exe, &p, &mut report));
        record("overhead", r, &mut report);
    }
    if wanted("peers") {
        let r = peers::peers(&exe, &p, &mut report, &mut found);
        record("peers", r, &mut report);
    }
    if wanted("walls") {
        let r = rt.block_on(walls::walls(&exe, &p, &mut report));
        record("walls", r, &mut report);
    }
    if wanted("grid") {
        let r = rt.block_on(walls::grid(&exe, &p, &mut report));
        record("grid", r, &mut report);
    }
    if wanted("video") {
        let r = rt.block_on(video::video(&exe, &p, &mut report));
        record("video", r, &mut report);
    }
    if wanted("sub-switch") {
        let r = rt.block_on(cameras::sub_switch(&exe, &p, &mut report));
        record("sub-switch", r, &mut report);
    }
    if wanted("delivery") {
        let r = rt.block_on(delivery::delivery(&exe, &mut report));
        record("delivery", r, &mut report);
    }
    // Only when asked for (`--only cameras`): it takes about 15 minutes.
    if cli.only.iter().any(|o| o == "cameras") {
        let r = rt.block_on(cameras::cameras(&exe, &p, &mut report));
        record("cameras", r, &mut report);
    }
    if wanted("motion-trust") {
        let r = trust::motion_trust(&p, &mut report);
        record("motion-trust", r, &mut report);
    }
    // Only when asked for: `motion-trust` ends with the same figure.
    if cli.only.iter().any(|o| o == "detector-cost") {
        let r = trust::detector_cost(&mut report);
        record("detector-cost", r, &mut report);
    }
    if wanted("startup") {
        let r = rt.block_on(sections::startup(&exe, &p, &mut report, &mut found));
        record("startup", r, &mut report);
    }
    summary(&mut report, &found);
    report.note(&format!(
        "Run took {} s; load average at the end: {}.",
        started.elapsed().as_secs(),
        procs::load_average()
    ));
    if let Some(out) = &cli.out {
        std::fs::write(out, &report.markdown)?;
        println!("written to {}", out.display());
    }
    if !failures.is_empty() {
        anyhow::bail!("sections failed: {}", failures.join(", "));
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    camwall_tests::init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("camwall-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
