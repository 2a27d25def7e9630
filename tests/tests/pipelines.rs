// SPDX-License-Identifier: MIT OR Apache-2.0

//! The runnable examples under `pipelines/` run as documented.

use std::time::Duration;

use camwall::fakecam::FakeCamConfig;
use camwall_tests::{run_example_until, FakeCamWithControl};

#[test]
fn fakecam_play_renders_frames() {
    let mut config = FakeCamConfig::with_cameras(1);
    config.width = 320;
    config.height = 192;
    let fc = FakeCamWithControl::start(config).unwrap();
    let line = run_example_until(
        "fakecam-play.sh",
        &[&fc.url("cam1")],
        "rendered:",
        Duration::from_secs(30),
    )
    .unwrap();
    assert!(line.contains("dropped: 0"), "{line}");
}
