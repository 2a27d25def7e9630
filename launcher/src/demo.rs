// SPDX-License-Identifier: MIT OR Apache-2.0

//! `camwall demo`: the launcher on simulated cameras started in the same process.

use crate::config::Config;
use crate::fakecam::{FakeCam, FakeCamConfig, MotionSchedule};

/// Motion on the second camera: 4 s every 20 s, first after 10 s.
pub const DEMO_MOTION: &str = "every:20s:4s@10s";

/// The fakecam set the demo runs: `n` cameras, the second with motion every 20 s.
pub fn fakecam_config(n: usize, width: u32, height: u32) -> FakeCamConfig {
    let mut fc = FakeCamConfig::with_cameras(n);
    fc.width = width;
    fc.height = height;
    if let Some(cam) = fc.cameras.get_mut(1) {
        cam.motion = MotionSchedule::parse(DEMO_MOTION).unwrap_or_default();
    }
    fc
}

pub use crate::fakecam::{fakecam_strip_zone, fakecam_zones};

/// A launcher configuration for running cameras `cams`, listening on `listen`.
pub fn config_for(
    cams: &FakeCam,
    listen: &str,
    extra: &str,
) -> Result<Config, crate::config::ConfigError> {
    let mut text = format!("[server]\nlisten = \"{listen}\"\n{extra}\n");
    for cam in cams.cameras() {
        text.push_str(&format!(
            "\n[[camera]]\nid = \"{}\"\nname = \"{}\"\nurl = \"{}\"\ncodec = \"h264\"\n[camera.motion]\nzones = \"{}\"\n",
            cam.id,
            cam.name,
            cam.url,
            fakecam_zones()
        ));
    }
    Config::parse("demo", &text)
}
