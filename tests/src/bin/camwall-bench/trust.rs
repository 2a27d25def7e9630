// SPDX-License-Identifier: MIT OR Apache-2.0

//! Motion alarms a guard can trust: `motionalarm` and the `motion` daemon, both with their
//! defaults, on the labelled scene set ([`camwall_tests::scenes`]), scored against its truth
//! ([`camwall_tests::score`]); and what the detector costs per 720p frame of a real clip.
//!
//! `motionalarm` runs twice: over each clip file as fast as it decodes (timestamps exact), and
//! over the same RTSP streams as the daemon, side by side. Each stream is its clip and then the
//! clip again and again without its black lead, in one unbroken stream
//! ([`camwall_tests::clipserver`]), shared by both detectors. A probe in front of `motionalarm`
//! notes the wall clock at the first picture after the lead; the loops follow every clip's
//! length less its lead. Alarms of both detectors map to clip time by the wall clock:
//! `motionalarm`'s when its bus message is posted, the daemon's when its
//! `on_event_start`/`on_event_end` command runs. `CAMWALL_TRUST_DEBUG=1` prints, per scene, the
//! loop starts and both detectors' alarm starts and ends (ms from the first loop's start).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context};
use gst::prelude::*;
use gst_video::prelude::*;

use camwall_tests::clipserver::{repeat_after_lead, ClipServer};
use camwall_tests::scenes::{self, Scene, LEAD_MS};
use camwall_tests::score::{motionalarm_on_file, AlarmSpan, Score};

use crate::procs::Proc;
use crate::report::Report;
use crate::stats::fmt;
use crate::Params;

/// Alarms that start before this (ms from a clip's start: the black lead, then the detector
/// learning the scene) are not scored, for either detector.
const SETTLE_MS: u64 = LEAD_MS + 3000;
/// Time the daemon and the clients get to connect and learn before loops are scored.
const READY: Duration = Duration::from_secs(6);
/// Clips served at once (each batch: one server with that many streams, one daemon with as
/// many cameras, as many `motionalarm` pipelines).
const BATCH: usize = 7;

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Where each loop of a clip started, as seen in front of `motionalarm`.
#[derive(Debug, Clone, Copy)]
struct LoopStart {
    unix_ns: u64,
}

/// Alarm starts (`true`) and ends in some clock's ns, in order.
type Events = Vec<(bool, u64)>;
/// What a [`Watch`] saw: its alarms and where the stream's first loop started (wall clock).
type Watched = (Events, Vec<LoopStart>);

/// One clip watched over RTSP by `motionalarm`.
struct Watch {
    pipeline: gst::Pipeline,
    loops: Arc<Mutex<Vec<LoopStart>>>,
    /// Alarm starts and ends, wall clock.
    alarms: Arc<Mutex<Events>>,
    failed: Arc<std::sync::atomic::AtomicBool>,
    reconnects: usize,
}

impl Watch {
    fn start(url: &str, name: &str) -> anyhow::Result<Watch> {
        let pipeline = gst::parse::launch(&format!(
            "rtspsrc location={url} latency=0 protocols=tcp ! rtph264depay ! h264parse ! avdec_h264 \
             ! motionalarm name=ma camera-id={name} ! fakesink sync=false"
        ))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| anyhow!("not a pipeline"))?;
        let ma = pipeline
            .by_name("ma")
            .ok_or_else(|| anyhow!("no motionalarm"))?;
        let pad = ma
            .static_pad("sink")
            .ok_or_else(|| anyhow!("no sink pad"))?;
        let loops = Arc::new(Mutex::new(Vec::new()));
        let seen = loops.clone();
        let was_black = std::sync::atomic::AtomicBool::new(false);
        pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let Some(buffer) = info.buffer() else {
                return gst::PadProbeReturn::Ok;
            };
            let Some(mean) = mean_luma(pad, buffer) else {
                return gst::PadProbeReturn::Ok;
            };
            let black = mean < 24.0;
            if was_black.swap(black, std::sync::atomic::Ordering::Relaxed) && !black {
                seen.lock().unwrap().push(LoopStart { unix_ns: unix_ns() });
            }
            gst::PadProbeReturn::Ok
        });
        let alarms = Arc::new(Mutex::new(Vec::new()));
        let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (seen_alarms, seen_failure) = (alarms.clone(), failed.clone());
        let bus = pipeline.bus().ok_or_else(|| anyhow!("no bus"))?;
        bus.set_sync_handler(move |_, msg| {
            if let Some(Ok(a)) = gstcamwall::messages::Alarm::from_message(msg) {
                seen_alarms.lock().unwrap().push((a.active, unix_ns()));
            }
            // (The stream ends only after the run, but a lost session is taken up again.)
            if matches!(
                msg.view(),
                gst::MessageView::Error(_) | gst::MessageView::Eos(_)
            ) {
                seen_failure.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            gst::BusSyncReply::Pass
        });
        // Retry the first connection a few times, as a camera would be.
        let mut attempt = 0;
        loop {
            pipeline.set_state(gst::State::Playing)?;
            let error = bus
                .timed_pop_filtered(
                    gst::ClockTime::from_seconds(10),
                    &[gst::MessageType::AsyncDone, gst::MessageType::Error],
                )
                .and_then(|msg| match msg.view() {
                    gst::MessageView::Error(e) => Some(e.error().to_string()),
                    _ => None,
                });
            let Some(error) = error else {
                break;
            };
            attempt += 1;
            pipeline.set_state(gst::State::Null)?;
            failed.store(false, std::sync::atomic::Ordering::SeqCst);
            if attempt == 5 {
                bail!("{url}: {error}");
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        Ok(Watch {
            pipeline,
            loops,
            alarms,
            failed,
            reconnects: 0,
        })
    }

    /// Connects again if the session was lost.
    fn keep_up(&mut self) -> anyhow::Result<()> {
        if self.failed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.pipeline.set_state(gst::State::Null)?;
            if let Some(bus) = self.pipeline.bus() {
                while bus.pop().is_some() {}
            }
            self.pipeline.set_state(gst::State::Playing)?;
            self.reconnects += 1;
        }
        Ok(())
    }

    /// Stops the pipeline; its alarms and the loop starts it saw (wall clock).
    fn finish(self) -> anyhow::Result<Watched> {
        self.pipeline.set_state(gst::State::Null)?;
        let alarms = self.alarms.lock().unwrap().clone();
        let loops = self.loops.lock().unwrap().clone();
        Ok((alarms, loops))
    }
}

/// Mean luma of a sparse sample of an I420 (or other planar) buffer's first plane.
fn mean_luma(pad: &gst::Pad, buffer: &gst::BufferRef) -> Option<f64> {
    let info = gst_video::VideoInfo::from_caps(pad.current_caps()?.as_ref()).ok()?;
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info).ok()?;
    let data = frame.plane_data(0).ok()?;
    let stride = usize::try_from(frame.plane_stride()[0]).ok()?;
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (mut sum, mut n) = (0u64, 0u64);
    for y in (0..h).step_by(16) {
        for x in (0..w).step_by(16) {
            sum += u64::from(*data.get(y * stride + x)?);
            n += 1;
        }
    }
    Some(sum as f64 / n.max(1) as f64)
}

/// Cuts a recording into the loops of a clip: the events (start, end; in the loops' clock)
/// that belong to each complete loop scored, in ms of clip time.
fn spans_per_loop(
    events: &[(bool, u64)],
    loop_starts: &[u64],
    scored_from: u64,
    recording_end: u64,
    length_ms: u64,
) -> Vec<Vec<AlarmSpan>> {
    let mut out = Vec::new();
    for (i, &start) in loop_starts.iter().enumerate() {
        let next = loop_starts.get(i + 1).copied();
        // The loop's first picture is LEAD_MS into the clip.
        let clip_ms = |t: u64| (t.saturating_sub(start) / 1_000_000 + LEAD_MS) as i64;
        let end = next.unwrap_or(start + (length_ms - LEAD_MS) * 1_000_000);
        if start < scored_from || end > recording_end {
            continue;
        }
        let mut spans: Vec<AlarmSpan> = Vec::new();
        // An alarm already on when the loop starts began in the loop before.
        let mut on = events
            .iter()
            .rfind(|(_, t)| *t < start)
            .is_some_and(|(active, _)| *active);
        for &(active, t) in events.iter().filter(|(_, t)| *t >= start && *t < end) {
            if active && !on {
                spans.push(AlarmSpan {
                    start: clip_ms(t) as u64,
                    end: None,
                });
            } else if !active && on {
                if let Some(open) = spans.last_mut().filter(|s| s.end.is_none()) {
                    open.end = Some(clip_ms(t) as u64);
                }
            }
            on = active;
        }
        out.push(spans);
    }
    out
}

/// The daemon's configuration for a batch of clips: one camera per clip, events written by a
/// script to `events.log` as `start|end CAMERA_ID UNIX_NS`.
fn motion_config(dir: &Path, urls: &[String]) -> anyhow::Result<(PathBuf, PathBuf)> {
    let log = dir.join("events.log");
    let script = dir.join("event.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$1 $2 $(date +%s%N)\" >> {}\n",
            log.display()
        ),
    )?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    let mut main = format!(
        "daemon off\nsetup_mode off\nlog_level 4\ntarget_dir {dir}\nwebcontrol_port 0\n\
         stream_port 0\npicture_output off\nmovie_output off\nevent_gap 2\n\
         on_event_start {s} start %t\non_event_end {s} end %t\n",
        dir = dir.display(),
        s = script.display()
    );
    for (i, url) in urls.iter().enumerate() {
        let file = dir.join(format!("cam{}.conf", i + 1));
        std::fs::write(
            &file,
            format!(
                "camera_id {}\ncamera_name scene{}\nnetcam_url {url}\n\
                 netcam_params rtsp_transport=tcp\nwidth 640\nheight 360\nframerate 25\n",
                i + 1,
                i + 1
            ),
        )?;
        main.push_str(&format!("camera {}\n", file.display()));
    }
    let conf = dir.join("motion.conf");
    std::fs::write(&conf, main)?;
    Ok((conf, log))
}

/// The daemon's events per camera (1-based id): (started, unix ns).
fn read_motion_events(log: &Path, cameras: usize) -> Vec<Vec<(bool, u64)>> {
    let mut out = vec![Vec::new(); cameras];
    let text = std::fs::read_to_string(log).unwrap_or_default();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(kind), Some(id), Some(ns)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(id), Ok(ns)) = (id.parse::<usize>(), ns.parse::<u64>()) else {
            continue;
        };
        if let Some(cam) = id.checked_sub(1).and_then(|i| out.get_mut(i)) {
            cam.push((kind == "start", ns));
        }
    }
    for cam in &mut out {
        cam.sort_by_key(|e| e.1);
    }
    out
}

/// Scores of one batch of scenes over RTSP: (motionalarm, motion) per scene, or why the scene
/// could not be scored.
fn rtsp_batch(
    scenes: &[&Scene],
    clips: &[PathBuf],
    loops: usize,
    dir: &Path,
) -> anyhow::Result<Vec<anyhow::Result<(Score, Score)>>> {
    // The first loop after READY, then `loops` whole ones, and one to spare.
    let repeats = loops as u32 + 1;
    let streams = scenes
        .iter()
        .zip(clips)
        .map(|(s, clip)| {
            let out = dir.join(format!("{}-looped.mp4", s.name));
            Ok((
                s.name.to_string(),
                repeat_after_lead(clip, LEAD_MS, repeats, &out)?,
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let server = ClipServer::start(&streams)?;
    let urls: Vec<String> = scenes.iter().map(|s| server.url(s.name)).collect();
    let batch_dir = dir.join(format!("motion-{}", scenes[0].name));
    std::fs::create_dir_all(&batch_dir)?;
    let (conf, log) = motion_config(&batch_dir, &urls)?;
    // A stream starts at its first client's PLAY: the `motionalarm` pipelines connect first,
    // so each sees its stream's black lead and where the first loop starts.
    let started = Instant::now();
    let watches: Vec<anyhow::Result<Watch>> = scenes
        .iter()
        .zip(&urls)
        .map(|(s, url)| Watch::start(url, s.name))
        .collect();
    let mut daemon = Proc::spawn(
        "motion",
        Command::new("motion").arg("-n").arg("-c").arg(&conf),
    )?;
    let ready_unix = unix_ns() + READY.as_nanos() as u64;
    let longest = scenes.iter().map(|s| s.seconds).max().unwrap_or(30);
    let period = Duration::from_millis(u64::from(longest) * 1000 - LEAD_MS);
    let run = READY.max(Duration::from_millis(LEAD_MS))
        + period * (loops as u32 + 1)
        + Duration::from_secs(1);
    let mut watches = watches;
    while started.elapsed() < run {
        std::thread::sleep(Duration::from_millis(100));
        daemon.check_alive()?;
        for w in watches.iter_mut().flatten() {
            w.keep_up()?;
        }
    }
    let end_unix = unix_ns();
    // The pipelines stop before their server does, which they would report as an error.
    let seen: Vec<anyhow::Result<Watched>> = watches
        .into_iter()
        .map(|w| w.and_then(Watch::finish))
        .collect();
    daemon.stop();
    drop(server);
    let events = read_motion_events(&log, scenes.len());
    let mut out = Vec::new();
    for ((scene, seen), motion_events) in scenes.iter().zip(seen).zip(events) {
        let (alarms, loop_starts) = match seen {
            Ok(watched) => watched,
            Err(e) => {
                out.push(Err(e));
                continue;
            }
        };
        let length = u64::from(scene.seconds) * 1000;
        let truth = scene.truth();
        // The stream's only black is its lead: its end is the last start seen (a decoder may
        // show a picture of its own before the first keyframe, before the black).
        let Some(first) = loop_starts.last() else {
            out.push(Err(anyhow!(
                "the stream's start (its black lead) was not seen"
            )));
            continue;
        };
        // Every later loop follows the one before after the clip's length less its lead.
        let period_ns = (length - LEAD_MS) * 1_000_000;
        if std::env::var_os("CAMWALL_TRUST_DEBUG").is_some() {
            let rel = |t: u64| (t as i64 - first.unix_ns as i64) / 1_000_000;
            eprintln!(
                "{}: loop starts {:?} ready {} end {}; motionalarm {:?}; motion {:?}",
                scene.name,
                loop_starts
                    .iter()
                    .map(|l| rel(l.unix_ns))
                    .collect::<Vec<_>>(),
                rel(ready_unix),
                rel(end_unix),
                alarms
                    .iter()
                    .map(|(a, t)| (*a, rel(*t)))
                    .collect::<Vec<_>>(),
                motion_events
                    .iter()
                    .map(|(a, t)| (*a, rel(*t)))
                    .collect::<Vec<_>>()
            );
        }
        let by_unix: Vec<u64> = (0..)
            .map(|k| first.unix_ns + k * period_ns)
            .take_while(|&t| t < end_unix)
            .collect();
        let Some(&scored_from) = by_unix.iter().find(|&&t| t >= ready_unix) else {
            out.push(Err(anyhow!(
                "no loop started after the detectors were ready"
            )));
            continue;
        };
        let (mut ma, mut md) = (Score::default(), Score::default());
        for spans in spans_per_loop(&alarms, &by_unix, scored_from, end_unix, length)
            .iter()
            .take(loops)
        {
            ma.add(&Score::run(&truth, spans, SETTLE_MS, length));
        }
        for spans in spans_per_loop(&motion_events, &by_unix, scored_from, end_unix, length)
            .iter()
            .take(loops)
        {
            md.add(&Score::run(&truth, spans, SETTLE_MS, length));
        }
        if ma.scored_ms == 0 {
            out.push(Err(anyhow!("no whole loop of the clip was seen over RTSP")));
        } else {
            out.push(Ok((ma, md)));
        }
    }
    Ok(out)
}

/// `events: recall` cell.
fn recall_cell(s: &Score) -> String {
    match s.recall() {
        Some(r) => format!("{}/{} ({:.0} %)", s.alarmed, s.true_events, r * 100.0),
        None => "-".into(),
    }
}

fn false_cell(s: &Score) -> String {
    format!("{} ({:.0}/h)", s.false_alarms, s.false_per_hour())
}

fn delay_cell(s: &Score) -> String {
    match s.delay_p50_max() {
        Some((p50, max)) => format!("{p50} / {max}"),
        None => "-".into(),
    }
}

/// The detector on the luma planes of a real 720p clip (the walker scene), as the element
/// calls it: thread CPU time per frame, mean over every frame of the clip, repeated.
fn detector_cost_720p(dir: &Path) -> anyhow::Result<(f64, f64, usize)> {
    use gstcamwall::motionalarm::{DetectorParams, LumaFrame, MotionDetector, PixelLayout};
    let mut scene = scenes::scene_set(1280, 720)
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("no scene"))?;
    scene.seconds = 12;
    let clip = scene.make(&dir.join("walker-720p.mp4"))?;
    let pipeline = gst::parse::launch(&format!(
        "filesrc location={} ! qtdemux ! h264parse ! avdec_h264 \
         ! video/x-raw,format=I420 ! appsink name=out sync=false",
        clip.display()
    ))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| anyhow!("not a pipeline"))?;
    let sink = pipeline
        .by_name("out")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or_else(|| anyhow!("no appsink"))?;
    pipeline.set_state(gst::State::Playing)?;
    let mut planes = Vec::new();
    while let Ok(sample) = sink.pull_sample() {
        let caps = sample.caps().ok_or_else(|| anyhow!("no caps"))?;
        let info = gst_video::VideoInfo::from_caps(caps)?;
        let buffer = sample.buffer().ok_or_else(|| anyhow!("no buffer"))?;
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info)
            .map_err(|_| anyhow!("unreadable frame"))?;
        let stride = frame.plane_stride()[0] as usize;
        planes.push((frame.plane_data(0)?.to_vec(), stride));
    }
    pipeline.set_state(gst::State::Null)?;
    if planes.is_empty() {
        bail!("no frames decoded from {}", clip.display());
    }
    let params = DetectorParams::default();
    let mut per_frame = Vec::new();
    for _round in 0..5 {
        let mut detector = MotionDetector::new();
        for (data, stride) in &planes {
            let frame = LumaFrame {
                data,
                width: 1280,
                height: 720,
                stride: *stride,
                layout: PixelLayout::Luma {
                    pixel_stride: 1,
                    offset: 0,
                },
            };
            let t0 = thread_cpu_ns();
            std::hint::black_box(detector.analyse(&frame, &params)?);
            per_frame.push((thread_cpu_ns() - t0) as f64 / 1000.0);
        }
    }
    let mean = per_frame.iter().sum::<f64>() / per_frame.len() as f64;
    per_frame.sort_by(f64::total_cmp);
    let p95 = per_frame[per_frame.len() * 95 / 100];
    Ok((mean, p95, planes.len()))
}

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The section: scene set, both detectors, the table; then the detector's cost.
pub fn motion_trust(p: &Params, report: &mut Report) -> anyhow::Result<()> {
    report.heading("Motion alarms a guard can trust: motionalarm and the motion daemon on a labelled scene set");
    let dir = tempfile::Builder::new()
        .prefix("camwall-bench-scenes-")
        .tempdir()?;
    let set = scenes::scene_set(640, 360);
    let t0 = Instant::now();
    let clips = scenes::make_all(&set, dir.path())?;
    let made_s = t0.elapsed().as_secs_f64();

    let mut on_file = Vec::new();
    let mut learned = Vec::new();
    for (scene, clip) in set.iter().zip(&clips) {
        let run = motionalarm_on_file(clip, "")
            .with_context(|| format!("motionalarm on {}", scene.name))?;
        if !run.learned_mask.is_empty() {
            learned.push(format!("`{}`: `{}`", scene.name, run.learned_mask));
        }
        on_file.push(Score::run(
            &scene.truth(),
            &run.alarms,
            SETTLE_MS,
            u64::from(scene.seconds) * 1000,
        ));
    }

    let loops = if p.alarms < 10 { 2 } else { 3 };
    let mut over_rtsp = Vec::new();
    let refs: Vec<&Scene> = set.iter().collect();
    for (batch, batch_clips) in refs.chunks(BATCH).zip(clips.chunks(BATCH)) {
        over_rtsp.extend(rtsp_batch(batch, batch_clips, loops, dir.path())?);
    }

    let mut rows = Vec::new();
    let (mut file_all, mut ma_all, mut md_all) =
        (Score::default(), Score::default(), Score::default());
    for ((scene, file), scored) in set.iter().zip(&on_file).zip(&over_rtsp) {
        file_all.add(file);
        let (ma, md) = match scored {
            Ok(pair) => pair,
            Err(e) => {
                rows.push(vec![
                    format!("`{}`: {}", scene.name, scene.about),
                    format!("not scored over RTSP: {}", crate::sections::one_line(e)),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    format!(
                        "{} / {} / {}",
                        recall_cell(file),
                        file.false_alarms,
                        delay_cell(file)
                    ),
                ]);
                continue;
            }
        };
        ma_all.add(ma);
        md_all.add(md);
        rows.push(vec![
            format!("`{}`: {}", scene.name, scene.about),
            recall_cell(ma),
            false_cell(ma),
            delay_cell(ma),
            recall_cell(md),
            false_cell(md),
            delay_cell(md),
            format!(
                "{} / {} / {}",
                recall_cell(file),
                file.false_alarms,
                delay_cell(file)
            ),
        ]);
    }
    rows.push(vec![
        "**all scenes**".into(),
        recall_cell(&ma_all),
        false_cell(&ma_all),
        delay_cell(&ma_all),
        recall_cell(&md_all),
        false_cell(&md_all),
        delay_cell(&md_all),
        format!(
            "{} / {} / {}",
            recall_cell(&file_all),
            file_all.false_alarms,
            delay_cell(&file_all)
        ),
    ]);
    report.note(&format!(
        "{} clips of 640x360 at 25 fps, {} s each (two seconds of black first), H.264 without \
         B-frames, a keyframe a second, made with ffmpeg in {made_s:.0} s \
         (`tests/src/scenes.rs`). Both detectors with their defaults (`motion`: \
         `event_gap 2`, to end events after 2 s without motion as `motionalarm`'s `hold-ms` \
         does; `framerate 25`, the cameras' rate; RTSP over TCP) watch the same RTSP streams \
         (GStreamer's RTSP server, each clip's stream shared by both: the clip, then the clip \
         without its black lead again and again, unbroken; {BATCH} streams at a time), \
         {loops} loops per scene, from {ready} s after they connect. Recall: true events \
         (a quarter of the object in view until it leaves) that an alarm overlapped. False: \
         alarms starting more than {early} ms before or {late} ms after any true event, \
         counted from {settle} s into each loop, per hour of that time. Delay: first moving \
         frame to the alarm, p50 / max ms (over RTSP, to within a frame). Last column: \
         `motionalarm` over the clip files, exact timestamps (recall / false alarms / delay).",
        set.len(),
        set[0].seconds,
        early = camwall_tests::score::EARLY_MS,
        late = camwall_tests::score::LATE_MS,
        settle = SETTLE_MS / 1000,
        ready = READY.as_secs(),
    ));
    report.table(
        &[
            "scene",
            "motionalarm recall",
            "false (per hour)",
            "delay ms",
            "motion recall",
            "false (per hour)",
            "delay ms",
            "motionalarm on the file",
        ],
        &rows,
    );

    report.note(&format!(
        "Patches `motionalarm` learnt to ignore by itself (its `learned-mask` at the end of \
         each clip file): {}.",
        if learned.is_empty() {
            "none".to_string()
        } else {
            learned.join("; ")
        }
    ));
    report.note(&cost_note(dir.path())?);
    Ok(())
}

fn cost_note(dir: &Path) -> anyhow::Result<String> {
    let (mean, p95, frames) = detector_cost_720p(dir)?;
    Ok(format!(
        "Detector cost on a real clip: the walker scene at 1280x720, {frames} decoded frames \
         analysed five times over by `MotionDetector::analyse` with the element's defaults \
         (what `motionalarm` calls per frame): {} µs per frame on average, p95 {} µs (thread \
         CPU time).",
        fmt(Some(mean), 1),
        fmt(Some(p95), 1)
    ))
}

/// The detector's cost alone (`--only detector-cost`; also the end of `motion-trust`).
pub fn detector_cost(report: &mut Report) -> anyhow::Result<()> {
    report.heading("The motion detector's cost per 720p frame");
    let dir = tempfile::Builder::new()
        .prefix("camwall-bench-cost-")
        .tempdir()?;
    report.note(&cost_note(dir.path())?);
    Ok(())
}
