// SPDX-License-Identifier: MIT OR Apache-2.0

//! The foundation: the plugin loads from its path, and the fakecam serves cameras over real RTSP
//! that rtspsrc pulls and decodes, with motion and outages driven through the control endpoint.

use std::process::Command;
use std::time::Duration;

use camwall_tests::{http, small_cameras, wait_for, FrameGrabber, GreyFrame};

const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

#[test]
fn gst_inspect_finds_the_plugin_on_its_path() {
    let dir = camwall_tests::profile_dir();
    assert!(
        dir.join("libgstcamwall.so").exists(),
        "libgstcamwall.so missing from {}: build the workspace first (scripts/test.sh does)",
        dir.display()
    );
    let out = Command::new("gst-inspect-1.0")
        .arg("camwall")
        .env("GST_PLUGIN_PATH", &dir)
        .env("GST_REGISTRY", dir.join("test-registry.bin"))
        .output()
        .expect("gst-inspect-1.0 runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "gst-inspect-1.0 camwall failed: {text}"
    );
    assert!(text.contains("Name                     camwall"), "{text}");
    assert!(text.contains("libgstcamwall.so"), "{text}");
}

/// Luma rows that show the scene: below the clock text, above the stamp strip.
fn scene_rows(f: &GreyFrame) -> (usize, usize) {
    (f.height / 6, f.height - f.height / 16)
}

fn frames(grabber: &FrameGrabber, n: usize) -> Vec<GreyFrame> {
    (0..n)
        .map(|_| grabber.next_frame(FRAME_TIMEOUT).expect("frame"))
        .collect()
}

/// Largest difference between consecutive frames of the scene area.
fn max_change(frames: &[GreyFrame]) -> f64 {
    frames
        .windows(2)
        .map(|w| {
            let (y0, y1) = scene_rows(&w[0]);
            w[0].mean_abs_diff(&w[1], y0, y1)
        })
        .fold(0.0, f64::max)
}

#[test]
fn four_cameras_decode_over_rtsp_and_identify_themselves() {
    let fc = small_cameras(4);
    let grabbers: Vec<_> = (1..=4)
        .map(|i| FrameGrabber::start(&fc.url(&format!("cam{i}"))).unwrap())
        .collect();
    for (i, g) in grabbers.iter().enumerate() {
        let f = g.next_frame(FRAME_TIMEOUT).unwrap();
        assert_eq!((f.width, f.height), (320, 192));
        let stamp = wait_for(FRAME_TIMEOUT, || g.next_frame(FRAME_TIMEOUT).ok()?.stamp())
            .expect("a readable stamp");
        assert_eq!(
            usize::from(stamp.camera),
            i,
            "cam{} stamps its index",
            i + 1
        );
        let age = gstcamwall::protocol::unix_ms_now().saturating_sub(stamp.unix_ms);
        assert!(age < 5_000, "stamp is a recent capture time ({age} ms)");
    }
    // Cameras look different from each other.
    let first: Vec<GreyFrame> = grabbers
        .iter()
        .map(|g| g.next_frame(FRAME_TIMEOUT).unwrap())
        .collect();
    for a in 0..4 {
        for b in a + 1..4 {
            let (y0, y1) = scene_rows(&first[a]);
            assert!(
                first[a].mean_abs_diff(&first[b], y0, y1) > 10.0,
                "cam{} and cam{} look alike",
                a + 1,
                b + 1
            );
        }
    }
}

#[test]
fn motion_on_and_off_through_the_control_endpoint() {
    let fc = small_cameras(2);
    let g = FrameGrabber::start(&fc.url("cam2")).unwrap();

    let still = frames(&g, 10);
    assert!(
        max_change(&still) < 2.0,
        "a static scene stays still ({})",
        max_change(&still)
    );

    fc.control("cam2", "motion/on").unwrap();
    let status = http("GET", &fc.control, "/cameras", None)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(status[1]["motion"], true);
    // Skip what was in flight, then the object must move from frame to frame.
    frames(&g, 3);
    let moving = frames(&g, 10);
    assert!(
        max_change(&moving) > 2.0,
        "motion shows in the picture ({})",
        max_change(&moving)
    );

    fc.control("cam2", "motion/off").unwrap();
    frames(&g, 3);
    let still_again = frames(&g, 10);
    assert!(
        max_change(&still_again) < 2.0,
        "the scene is still again ({})",
        max_change(&still_again)
    );
}

#[test]
fn offline_drops_the_client_and_online_serves_again() {
    let fc = small_cameras(2);
    let g = FrameGrabber::start(&fc.url("cam1")).unwrap();
    let other = FrameGrabber::start(&fc.url("cam2")).unwrap();
    g.next_frame(FRAME_TIMEOUT).unwrap();
    other.next_frame(FRAME_TIMEOUT).unwrap();

    fc.control("cam1", "offline").unwrap();
    let ended = wait_for(FRAME_TIMEOUT, || {
        g.next_frame(Duration::from_millis(200)).err()
    });
    assert!(
        ended.is_some(),
        "the client of an offline camera stops getting frames"
    );
    // A new client is refused while it is offline.
    let refused = FrameGrabber::start(&fc.url("cam1")).unwrap();
    assert!(refused.next_frame(Duration::from_secs(3)).is_err());
    // The other camera is unaffected.
    frames(&other, 5);

    fc.control("cam1", "online").unwrap();
    let back = FrameGrabber::start(&fc.url("cam1")).unwrap();
    let f = back
        .next_frame(FRAME_TIMEOUT)
        .expect("frames after coming back");
    assert_eq!(f.stamp().map(|s| s.camera), Some(0));
}

#[test]
fn frozen_camera_keeps_the_connection_but_sends_nothing() {
    let fc = small_cameras(1);
    let g = FrameGrabber::start(&fc.url("cam1")).unwrap();
    g.next_frame(FRAME_TIMEOUT).unwrap();
    fc.control("cam1", "freeze").unwrap();
    // Drain what was already on its way.
    let _ = wait_for(FRAME_TIMEOUT, || {
        g.next_frame(Duration::from_millis(500)).err()
    });
    assert!(g.next_frame(Duration::from_secs(1)).is_err());
    assert_eq!(
        g.pending_error(),
        None,
        "no error: the connection stays open"
    );
    fc.control("cam1", "online").unwrap();
    g.next_frame(FRAME_TIMEOUT)
        .expect("frames again after unfreezing");
}
