// SPDX-License-Identifier: MIT OR Apache-2.0

//! The gst-launch description of camwall's pipeline, one branch per camera:
//!
//! ```text
//! alarmselector name=sel ... ! videoscale ! video/x-raw,width=[16,1280],pixel-aspect-ratio=1/1
//!     ! videoconvert ! jpegenc quality=80 ! mjpegwssink name=sink
//! rtspsrc location=... latency=0 ! rtph264depay ! h264parse ! avdec_h264
//!     ! motionalarm camera-id=door ! sel.sink_0
//! ...
//! ```
//!
//! Only the camera on screen leaves the selector, so only it is scaled and encoded. The launcher
//! builds each camera branch as its own bin (so one camera can be restarted without touching the
//! others) and the tail once; [`launch_line`] prints the same pipeline as one line a user can
//! paste into `gst-launch-1.0`.

use crate::config::{CameraConfig, Codec, Config, Transport};

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Depayload, parse and decode for a codec.
fn decode_chain(codec: Codec) -> &'static str {
    match codec {
        Codec::Auto => "decodebin ! videoconvert",
        Codec::H264 => "rtph264depay ! h264parse ! avdec_h264",
        Codec::H265 => "rtph265depay ! h265parse ! avdec_h265",
        Codec::Mjpeg => "rtpjpegdepay ! jpegdec",
    }
}

fn protocols(t: Transport) -> &'static str {
    match t {
        Transport::Auto => "tcp+udp",
        Transport::Tcp => "tcp",
        Transport::Udp => "udp",
    }
}

/// Name of the motionalarm element of camera `index`.
pub fn motion_name(index: usize) -> String {
    format!("motion{index}")
}

/// Name of the rtspsrc element of camera `index`.
pub fn source_name(index: usize) -> String {
    format!("src{index}")
}

/// One camera's branch, up to (not including) the selector: `rtspsrc ! decode ! motionalarm`.
pub fn camera_branch(cam: &CameraConfig, index: usize) -> String {
    let m = &cam.motion;
    let mut motion = format!(
        "motionalarm name={} camera-id={} enabled={}",
        motion_name(index),
        cam.id(),
        m.enabled
    );
    if let Some(v) = m.threshold {
        motion.push_str(&format!(" threshold={v}"));
    }
    if let Some(v) = &m.min_area {
        motion.push_str(&format!(" min-area={}", v.get_ref()));
    }
    if let Some(v) = m.min_frames {
        motion.push_str(&format!(" min-frames={v}"));
    }
    if let Some(v) = m.hold_ms {
        motion.push_str(&format!(" hold-ms={v}"));
    }
    if let Some(v) = m.analysis_width {
        motion.push_str(&format!(" analysis-width={v}"));
    }
    if let Some(z) = &m.zones {
        motion.push_str(&format!(" zones={}", quote(z.get_ref())));
    }
    format!(
        "rtspsrc name={} location={} latency=0 protocols={} drop-on-latency=true \
         ! {} ! {}",
        source_name(index),
        quote(cam.url()),
        protocols(cam.transport),
        decode_chain(cam.codec),
        motion
    )
}

/// The selector and everything after it. `sink` is the sink with its properties; `pads` are
/// extra selector properties (such as `sink_0::priority=2`).
pub fn tail(config: &Config, pads: &str, sink: &str) -> String {
    let sel = &config.selector;
    let scale = if config.stream.max_width > 0 {
        format!(
            "videoscale ! video/x-raw,width=[16,{}],pixel-aspect-ratio=1/1 ! ",
            config.stream.max_width.max(16)
        )
    } else {
        String::new()
    };
    format!(
        "alarmselector name=sel alarm-override={} alarm-hold-ms={} alarm-policy={} \
         stall-timeout-ms={}{} ! {}videoconvert ! jpegenc quality={} ! {}",
        sel.alarm_override,
        sel.alarm_hold_ms,
        sel.alarm_policy.nick(),
        sel.stall_timeout_ms.get_ref(),
        pads,
        scale,
        config.stream.jpeg_quality.get_ref(),
        sink
    )
}

/// The whole pipeline as one gst-launch-1.0 line, with the sink serving on `port` by itself.
/// Camera passwords are masked unless `reveal` is set.
pub fn launch_line(config: &Config, port: u16, reveal: bool) -> String {
    let mut pads = String::new();
    let mut branches = String::new();
    for (index, cam) in config.enabled_cameras().enumerate() {
        let mut branch = camera_branch(cam, index);
        if !reveal {
            branch = branch.replace(cam.url(), &crate::config::mask_url(cam.url()));
        }
        pads.push_str(&format!(
            " sink_{index}::camera-id={} sink_{index}::priority={}",
            cam.id(),
            cam.priority
        ));
        branches.push_str(&format!("  {branch} ! sel.sink_{index}"));
    }
    tail(config, &pads, &format!("mjpegwssink name=sink port={port}")) + &branches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(
            "t.toml",
            r#"
[[camera]]
id = "door"
url = "rtsp://admin:hunter2@127.0.0.1:8554/cam1"
codec = "h264"
priority = 3
[camera.motion]
zones = "ignore:0,0.9,1,1"
threshold = 30

[[camera]]
id = "yard"
url = "rtsp://127.0.0.1:8554/cam2"
enabled = false

[[camera]]
id = "gate"
url = "rtsp://127.0.0.1:8554/cam3"
codec = "mjpeg"
transport = "tcp"
"#,
        )
        .unwrap()
    }

    #[test]
    fn branches_decode_by_codec_and_carry_motion_settings() {
        let c = config();
        let b = camera_branch(&c.cameras[0], 0);
        assert!(
            b.starts_with(
                "rtspsrc name=src0 location=\"rtsp://admin:hunter2@127.0.0.1:8554/cam1\" latency=0"
            ),
            "{b}"
        );
        assert!(
            b.contains("! rtph264depay ! h264parse ! avdec_h264 !"),
            "{b}"
        );
        assert!(b.contains("camera-id=door"), "{b}");
        assert!(b.contains("threshold=30"), "{b}");
        assert!(b.contains("zones=\"ignore:0,0.9,1,1\""), "{b}");
        let g = camera_branch(&c.cameras[2], 1);
        assert!(g.contains("protocols=tcp"), "{g}");
        assert!(g.contains("rtpjpegdepay ! jpegdec"), "{g}");
    }

    #[test]
    fn launch_line_masks_passwords_and_skips_disabled_cameras() {
        let c = config();
        let line = launch_line(&c, 8080, false);
        assert!(!line.contains("hunter2"), "{line}");
        assert!(line.contains("admin:***@"), "{line}");
        assert!(!line.contains("cam2"), "disabled camera left out: {line}");
        assert!(line.contains("sel.sink_1"), "{line}");
        assert!(line.contains(" sink_0::priority=3"), "{line}");
        assert!(
            line.contains("jpegenc quality=80 ! mjpegwssink name=sink port=8080"),
            "{line}"
        );
        assert!(line.contains("width=[16,1280]"), "{line}");
        assert!(launch_line(&c, 8080, true).contains("hunter2"));
    }

    #[test]
    fn the_launch_line_parses_as_a_pipeline() {
        crate::init_gst();
        let c = config();
        let line = launch_line(&c, 0, true);
        gst::parse::launch(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
}
