// SPDX-License-Identifier: MIT OR Apache-2.0

//! `motionalarm` on a fakecam camera over real RTSP: quiet while the scene is still, an alarm
//! when motion starts, and its end when it stops.

use std::time::{Duration, Instant};

use camwall::fakecam::FakeCamConfig;
use camwall_tests::{init, FakeCamWithControl};
use gst::prelude::*;
use gstcamwall::messages::Alarm;

fn next_alarm(bus: &gst::Bus, within: Duration) -> Option<Alarm> {
    let deadline = Instant::now() + within;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let msg = bus.timed_pop(gst::ClockTime::from_nseconds(left.as_nanos() as u64))?;
        match msg.view() {
            gst::MessageView::Error(e) => panic!("pipeline error: {}", e.error()),
            _ => {
                if let Some(Ok(alarm)) = Alarm::from_message(&msg) {
                    return Some(alarm);
                }
            }
        }
    }
    None
}

#[test]
fn motion_on_and_off_over_rtsp() {
    init();
    let mut config = FakeCamConfig::with_cameras(1);
    config.width = 640;
    config.height = 360;
    let fc = FakeCamWithControl::start(config).unwrap();
    let pipeline = gst::parse::launch(&format!(
        "rtspsrc location={} latency=0 ! rtph264depay ! h264parse ! avdec_h264 \
         ! motionalarm camera-id=cam1 zones=\"{}\" ! fakesink sync=false",
        fc.url("cam1"),
        camwall::demo::fakecam_zones()
    ))
    .unwrap();
    let bus = pipeline.bus().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();

    assert_eq!(
        next_alarm(&bus, Duration::from_secs(4)),
        None,
        "a still camera (with its clock and stamp strip changing) raises no alarm"
    );

    fc.control("cam1", "motion/on").unwrap();
    let start = next_alarm(&bus, Duration::from_secs(5)).expect("motion raises an alarm");
    assert!(start.active);
    assert_eq!(
        (start.camera_id.as_str(), start.kind.as_str()),
        ("cam1", "motion")
    );
    assert!(start.level > 0.0);

    fc.control("cam1", "motion/off").unwrap();
    let end = next_alarm(&bus, Duration::from_secs(8)).expect("the alarm ends");
    assert!(!end.active);
    pipeline.set_state(gst::State::Null).unwrap();
}
