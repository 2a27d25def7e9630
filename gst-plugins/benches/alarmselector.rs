// SPDX-License-Identifier: MIT OR Apache-2.0

//! Switch latency of `alarmselector` with 4 live 25 fps inputs.
//!
//! Measures the time from setting `selected-pad`, and from sending a `camwall-alarm` event to an
//! input, to the first buffer of the new input leaving the selector's src pad (recognised by
//! the `title` tag the selector sends at every switch).
//!
//! `cargo bench -p gst-plugin-camwall --bench alarmselector`; `CAMWALL_BENCH_SWITCHES=n` sets
//! the number of switches per series (default 100), `CAMWALL_BENCH_SYNC=1` makes the sink
//! synchronise to the clock.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstcamwall::messages::Alarm;

const INPUTS: usize = 4;

#[derive(Default)]
struct Watch {
    title: String,
    waiting_for: Option<String>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = v.iter().map(|d| ms(*d)).sum::<f64>() / v.len() as f64;
    println!(
        "{name:<28} n={:<4} p50={:.3} ms  p95={:.3} ms  max={:.3} ms  mean={:.3} ms",
        v.len(),
        ms(percentile(&v, 0.50)),
        ms(percentile(&v, 0.95)),
        ms(*v.last().expect("samples")),
        mean
    );
}

fn main() {
    gst::init().expect("gst init");
    gstcamwall::plugin_register_static().expect("register camwall");
    let switches: usize = std::env::var("CAMWALL_BENCH_SWITCHES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);

    // A synchronising sink shows the cost of waiting for the push in progress to be rendered.
    let sync = std::env::var("CAMWALL_BENCH_SYNC").is_ok_and(|v| v == "1");
    let mut desc = format!("alarmselector name=sel alarm-hold-ms=0 ! fakesink sync={sync} ");
    for i in 0..INPUTS {
        desc += &format!(
            "videotestsrc is-live=true pattern={i} ! \
             video/x-raw,format=I420,width=320,height=240,framerate=25/1 ! sel.sink_{i} "
        );
    }
    let pipeline = gst::parse::launch(&desc).expect("pipeline");
    let sel = pipeline
        .downcast_ref::<gst::Bin>()
        .and_then(|b| b.by_name("sel"))
        .expect("sel");
    let pads: Vec<gst::Pad> = (0..INPUTS)
        .map(|i| {
            let pad = sel.static_pad(&format!("sink_{i}")).expect("sink pad");
            pad.set_property("camera-id", format!("cam{i}"));
            pad
        })
        .collect();

    let watch = Arc::new(Mutex::new(Watch::default()));
    let (tx, rx) = mpsc::channel::<Instant>();
    let w = watch.clone();
    sel.static_pad("src").expect("src").add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |_, info| {
            let now = Instant::now();
            let mut w = w.lock().expect("watch");
            match &info.data {
                Some(gst::PadProbeData::Event(ev)) => {
                    if let gst::EventView::Tag(t) = ev.view() {
                        if let Some(title) = t.tag().get::<gst::tags::Title>() {
                            w.title = title.get().to_string();
                        }
                    }
                }
                Some(gst::PadProbeData::Buffer(_))
                    if w.waiting_for.as_deref() == Some(w.title.as_str()) =>
                {
                    w.waiting_for = None;
                    let _ = tx.send(now);
                }
                _ => {}
            }
            gst::PadProbeReturn::Ok
        },
    );

    pipeline.set_state(gst::State::Playing).expect("playing");
    // Let every input deliver a few frames.
    std::thread::sleep(Duration::from_millis(500));

    let arm = |title: &str| watch.lock().expect("watch").waiting_for = Some(title.to_string());
    let wait = |t0: Instant| -> Duration {
        let t1 = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the new input's frame left the selector");
        t1.saturating_duration_since(t0)
    };
    // Vary the moment of the switch within the 40 ms frame interval.
    let pause = |k: usize| std::thread::sleep(Duration::from_millis(5 + (k as u64 * 7) % 40));

    let mut user = Vec::with_capacity(switches);
    let mut current = 0;
    for k in 0..switches {
        let target = (current + 1 + k % (INPUTS - 1)) % INPUTS;
        arm(&format!("cam{target}"));
        let t0 = Instant::now();
        sel.set_property("selected-pad", &pads[target]);
        user.push(wait(t0));
        current = target;
        pause(k);
    }

    // The user watches cam0; alarms come and go on the others.
    arm("cam0");
    let t0 = Instant::now();
    sel.set_property("selected-pad", &pads[0]);
    if current != 0 {
        wait(t0);
    }
    let mut alarm = Vec::with_capacity(switches);
    for k in 0..switches {
        let target = 1 + k % (INPUTS - 1);
        let mut event = Alarm {
            camera_id: format!("cam{target}"),
            kind: "motion".into(),
            active: true,
            level: 0.2,
            running_time: None,
        };
        arm(&format!("cam{target}"));
        let t0 = Instant::now();
        pads[target].send_event(event.to_event());
        alarm.push(wait(t0));
        pause(k);

        event.active = false;
        arm("cam0");
        let t0 = Instant::now();
        pads[target].send_event(event.to_event());
        wait(t0);
        pause(k + 3);
    }

    pipeline.set_state(gst::State::Null).expect("null");

    println!(
        "alarmselector switch latency, {INPUTS} live 25 fps 320x240 inputs, fakesink sync={sync}"
    );
    report("selected-pad -> first buffer", user);
    report("alarm event -> first buffer", alarm);
}
