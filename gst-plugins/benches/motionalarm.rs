// SPDX-License-Identifier: MIT OR Apache-2.0

//! What `motionalarm` costs: the detector alone on 720p and 1080p luma planes, then a decode
//! branch with and without the element on the same H.264 stream.
//!
//! `cargo bench -p gst-plugin-camwall --bench motionalarm`
//! (`MOTIONALARM_BENCH_FRAMES=n` changes the length of the H.264 clip, default 150).

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstcamwall::motionalarm::{DetectorParams, LumaFrame, MotionDetector, PixelLayout};

/// Synthetic luma planes: texture, noise and a square moving across.
fn planes(width: usize, height: usize, count: usize) -> Vec<Vec<u8>> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    (0..count)
        .map(|i| {
            let side = height / 6;
            let ox = (i * 16) % (width - side);
            let oy = height / 3;
            let mut plane = vec![0u8; width * height];
            for (y, row) in plane.chunks_exact_mut(width).enumerate() {
                for (x, px) in row.iter_mut().enumerate() {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let noise = (seed >> 60) as i32 - 8;
                    let inside = (ox..ox + side).contains(&x) && (oy..oy + side).contains(&y);
                    let v = if inside {
                        220
                    } else {
                        60 + (((x / 4) * 37 + (y / 4) * 91) % 80) as i32 + noise
                    };
                    *px = v.clamp(0, 255) as u8;
                }
            }
            plane
        })
        .collect()
}

fn detector_cost(
    width: usize,
    height: usize,
    layout_name: &str,
    rgb: bool,
    analysis_width: usize,
) -> f64 {
    let frames = planes(width, height, 16);
    let frames: Vec<Vec<u8>> = if rgb {
        frames
            .iter()
            .map(|p| p.iter().flat_map(|&v| [v, v, v, 255]).collect())
            .collect()
    } else {
        frames
    };
    let (stride, layout) = if rgb {
        (
            width * 4,
            PixelLayout::Rgb {
                pixel_stride: 4,
                r: 2,
                g: 1,
                b: 0,
            },
        )
    } else {
        (
            width,
            PixelLayout::Luma {
                pixel_stride: 1,
                offset: 0,
            },
        )
    };
    let params = DetectorParams {
        analysis_width,
        ..DetectorParams::default()
    };
    let mut detector = MotionDetector::new();
    let mut run = |n: usize| {
        for i in 0..n {
            let frame = LumaFrame {
                data: &frames[i % frames.len()],
                width,
                height,
                stride,
                layout,
            };
            black_box(detector.analyse(&frame, &params).expect("valid frame"));
        }
    };
    run(50);
    let n = 1000;
    let (cpu0, wall0) = (thread_cpu(), Instant::now());
    run(n);
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / n as f64;
    let (cpu, wall) = (per(thread_cpu() - cpu0), per(wall0.elapsed()));
    println!(
        "detector {width}x{height} {layout_name:<5} analysis-width {analysis_width:<4} \
         {cpu:.3} ms/frame cpu ({wall:.3} wall)"
    );
    cpu
}

/// The detector as a camera wall runs it: one detector per camera, called in turn, each on a
/// frame the decoder has just written (a 720p I420 picture copied before every call, outside
/// the timing), so neither the frame's rows nor the detector's state are where the hot loop
/// above left them. Prints the mean cost of one call.
fn detector_cost_in_turn(cameras: usize) -> f64 {
    let (width, height) = (1280, 720);
    let picture = width * height * 3 / 2;
    let sources: Vec<Vec<u8>> = planes(width, height, 8)
        .into_iter()
        .map(|mut luma| {
            luma.resize(picture, 128);
            luma
        })
        .collect();
    // Each camera's decoder writes into a pool of its own.
    let mut pools: Vec<Vec<Vec<u8>>> = (0..cameras)
        .map(|_| (0..3).map(|_| vec![0u8; picture]).collect())
        .collect();
    let mut detectors: Vec<MotionDetector> = (0..cameras).map(|_| MotionDetector::new()).collect();
    let params = DetectorParams::default();
    let mut spent = Duration::ZERO;
    let mut calls = 0u32;
    for round in 0..600 {
        for (camera, (detector, pool)) in detectors.iter_mut().zip(&mut pools).enumerate() {
            let slot = round % pool.len();
            let frame = &mut pool[slot];
            frame.copy_from_slice(&sources[(round + camera) % sources.len()]);
            let luma = LumaFrame {
                data: frame,
                width,
                height,
                stride: width,
                layout: PixelLayout::Luma {
                    pixel_stride: 1,
                    offset: 0,
                },
            };
            let start = thread_cpu();
            black_box(detector.analyse(&luma, &params).expect("valid frame"));
            if round >= 50 {
                spent += thread_cpu() - start;
                calls += 1;
            }
        }
    }
    let ms = spent.as_secs_f64() * 1000.0 / f64::from(calls);
    println!(
        "detector {width}x{height} luma  analysis-width {:<4} {ms:.3} ms/frame cpu, \
         {cameras} cameras in turn, each frame just written",
        params.analysis_width
    );
    ms
}

/// CPU time of the calling thread so far, so figures hold on a busy machine.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill in.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0;
    if !ok {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// CPU time (user + system) of all of this process's threads so far.
fn cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is a valid value for the call to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::new(t.tv_sec as u64, 0) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn run_to_eos(pipeline: &gst::Element) {
    let bus = pipeline.bus().expect("pipeline bus");
    pipeline
        .set_state(gst::State::Playing)
        .expect("pipeline plays");
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(120)) {
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => panic!("{}: {:?}", e.error(), e.debug()),
            _ => (),
        }
    }
    pipeline
        .set_state(gst::State::Null)
        .expect("pipeline stops");
}

struct Run {
    wall: Duration,
    cpu: Duration,
    /// CPU time the streaming thread spent inside motionalarm (sink pad to src pad).
    in_element: Duration,
}

fn decode(path: &str, with_element: bool) -> Run {
    let tail = if with_element {
        "motionalarm name=ma ! "
    } else {
        ""
    };
    let pipeline = gst::parse::launch(&format!(
        "filesrc location={path} ! h264parse ! avdec_h264 ! {tail}fakesink sync=false"
    ))
    .expect("decode pipeline");
    let in_element = Arc::new(Mutex::new(Duration::ZERO));
    if with_element {
        let bin = pipeline.downcast_ref::<gst::Bin>().expect("a bin");
        let ma = bin.by_name("ma").expect("motionalarm");
        let entered = Arc::new(Mutex::new(None::<Duration>));
        let e = entered.clone();
        ma.static_pad("sink").expect("sink pad").add_probe(
            gst::PadProbeType::BUFFER,
            move |_, _| {
                *e.lock().unwrap() = Some(thread_cpu());
                gst::PadProbeReturn::Ok
            },
        );
        let total = in_element.clone();
        ma.static_pad("src")
            .expect("src pad")
            .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                if let Some(t) = entered.lock().unwrap().take() {
                    *total.lock().unwrap() += thread_cpu().saturating_sub(t);
                }
                gst::PadProbeReturn::Ok
            });
    }
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    run_to_eos(&pipeline);
    let in_element = *in_element.lock().unwrap();
    Run {
        wall: wall0.elapsed(),
        cpu: cpu_time().saturating_sub(cpu0),
        in_element,
    }
}

fn main() {
    gst::init().expect("GStreamer");
    gstcamwall::plugin_register_static().expect("camwall plugin");

    let default_width = DetectorParams::default().analysis_width;
    println!("== detector alone (default settings unless noted, no zones)");
    detector_cost(1280, 720, "luma", false, default_width);
    detector_cost(1920, 1080, "luma", false, default_width);
    detector_cost(1920, 1080, "BGRx", true, default_width);
    detector_cost(1920, 1080, "luma", false, 320);
    detector_cost_in_turn(4);

    let frames: u32 = std::env::var("MOTIONALARM_BENCH_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    if frames == 0 {
        return;
    }
    branch_cost(
        "videotestsrc ball",
        frames,
        &format!(
            "videotestsrc pattern=ball num-buffers={frames} \
             ! video/x-raw,format=I420,width=1920,height=1080,framerate=25/1"
        ),
    );
    // A camera-like picture: the ball under sensor-like snow, at a camera's bitrate.
    branch_cost(
        "ball + 25% snow (camera-like)",
        frames,
        &format!(
            "videotestsrc pattern=ball num-buffers={frames} \
             ! video/x-raw,width=1920,height=1080,framerate=25/1 ! mix.sink_0 \
             videotestsrc pattern=snow num-buffers={frames} \
             ! video/x-raw,width=1920,height=1080,framerate=25/1 ! mix.sink_1 \
             compositor name=mix sink_1::alpha=0.25 \
             ! video/x-raw,format=I420,width=1920,height=1080,framerate=25/1"
        ),
    );
}

/// Encodes `source` to H.264 in a temporary file, then decodes it with and without
/// `motionalarm` (best of 3 runs each, by CPU time) and prints the costs.
fn branch_cost(label: &str, frames: u32, source: &str) {
    let path = std::env::temp_dir().join(format!(
        "motionalarm-bench-{}-{}.h264",
        std::process::id(),
        label.len()
    ));
    let path_str = path.to_string_lossy().to_string();
    let encode = gst::parse::launch(&format!(
        "{source} ! x264enc speed-preset=ultrafast tune=zerolatency bitrate=4000 key-int-max=50 \
         ! video/x-h264,stream-format=byte-stream ! filesink location={path_str}"
    ))
    .expect("encode pipeline");
    run_to_eos(&encode);
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    let mut plain: Option<Run> = None;
    let mut with: Option<Run> = None;
    for _ in 0..3 {
        let a = decode(&path_str, false);
        if plain.as_ref().is_none_or(|p| a.cpu < p.cpu) {
            plain = Some(a);
        }
        let b = decode(&path_str, true);
        if with.as_ref().is_none_or(|w| b.cpu < w.cpu) {
            with = Some(b);
        }
    }
    let _ = std::fs::remove_file(&path);
    let (plain, with) = (plain.expect("ran"), with.expect("ran"));
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(frames);
    println!(
        "== 1080p25 H.264, {label}: {frames} frames, {:.1} Mbit/s, best of 3 runs each",
        bytes as f64 * 8.0 * 25.0 / f64::from(frames) / 1e6
    );
    println!(
        "decode only            {:.3} ms/frame cpu ({:.3} wall)",
        per(plain.cpu),
        per(plain.wall)
    );
    println!(
        "decode + motionalarm   {:.3} ms/frame cpu ({:.3} wall)",
        per(with.cpu),
        per(with.wall)
    );
    println!(
        "motionalarm itself     {:.3} ms/frame cpu = {:.1}% of decode",
        per(with.in_element),
        100.0 * with.in_element.as_secs_f64() / plain.cpu.as_secs_f64().max(1e-9),
    );
    println!(
        "branch cpu ratio       {:.3} (decode+motionalarm / decode)",
        with.cpu.as_secs_f64() / plain.cpu.as_secs_f64().max(1e-9)
    );
}
