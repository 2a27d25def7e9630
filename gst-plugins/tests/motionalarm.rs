// SPDX-License-Identifier: MIT OR Apache-2.0

//! `motionalarm` through `gst_check::Harness` with synthetic scenes, and in real pipelines.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};

use gst::prelude::*;
use gst_check::Harness;
use gst_video::prelude::*;
use gst_video::VideoFormat;
use gstcamwall::messages::Alarm;
use gstcamwall::motionalarm::detector::WARMUP_FRAMES;

/// Frames that follow a reset and only teach the detector the scene.
const WARMUP: usize = WARMUP_FRAMES as usize;

const FRAME_NS: u64 = 40_000_000;

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstcamwall::plugin_register_static().unwrap();
    });
}

/// A deterministic camera scene: textured background, sensor noise, 8x8 block flicker like a
/// JPEG/H.264 decoder's, an optional moving object, and global lighting (gain and offset).
struct Scene {
    width: usize,
    height: usize,
    seed: u64,
    gain: f32,
    offset: f32,
    /// Left, top and side of a bright square, in pixels.
    object: Option<(usize, usize, usize)>,
    /// Another picture altogether, as when a camera switches to night mode.
    night: bool,
}

impl Scene {
    fn new(width: usize, height: usize) -> Self {
        Scene {
            width,
            height,
            seed: 0x9e37_79b9_7f4a_7c15,
            gain: 1.0,
            offset: 0.0,
            object: None,
            night: false,
        }
    }

    fn rand(&mut self) -> u32 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        (self.seed >> 32) as u32
    }

    /// Roughly gaussian noise with a standard deviation of about 3 luma levels.
    fn noise(&mut self) -> f32 {
        let r = self.rand();
        let sum: u32 = (0..4).map(|i| (r >> (8 * i)) & 0xff).sum();
        (sum as f32 - 510.0) / 295.0 * 3.0 * 2.0
    }

    fn luma(&mut self) -> Vec<u8> {
        let (w, h) = (self.width, self.height);
        let blocks_x = w.div_ceil(8);
        let flicker: Vec<f32> = (0..blocks_x * h.div_ceil(8))
            .map(|_| (self.rand() % 11) as f32 - 5.0)
            .collect();
        let mut out = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let (tx, ty) = (x / 4, y / 4);
                let texture = if self.night {
                    20.0 + ((tx * 53 + ty * 29) % 200) as f32
                } else {
                    50.0 + ((tx * 37 + ty * 91) % 80) as f32
                };
                let mut v = texture + flicker[(y / 8) * blocks_x + x / 8];
                if let Some((ox, oy, side)) = self.object {
                    if (ox..ox + side).contains(&x) && (oy..oy + side).contains(&y) {
                        v = 225.0;
                    }
                }
                let v = v * self.gain + self.offset + self.noise();
                out.push(v.round().clamp(0.0, 255.0) as u8);
            }
        }
        out
    }
}

/// Writes a luma picture into a frame of any supported format (grey chroma, opaque alpha).
fn buffer_from_luma(info: &gst_video::VideoInfo, luma: &[u8]) -> gst::Buffer {
    let mut buffer = gst::Buffer::with_size(info.size()).unwrap();
    {
        let buffer = buffer.get_mut().unwrap();
        let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, info).unwrap();
        let finfo = info.format_info();
        let (w, h) = (info.width() as usize, info.height() as usize);
        for c in 0..finfo.n_components() as usize {
            let plane = finfo.plane()[c];
            let pstride = finfo.pixel_stride()[c] as usize;
            let poffset = finfo.poffset()[c] as usize;
            let (ws, hs) = (finfo.w_sub()[c], finfo.h_sub()[c]);
            let stride = frame.plane_stride()[plane as usize] as usize;
            let data = frame.plane_data_mut(plane).unwrap();
            for y in 0..(h.div_ceil(1 << hs)) {
                for x in 0..(w.div_ceil(1 << ws)) {
                    let value = if finfo.is_rgb() && c < 3 || !finfo.is_rgb() && c == 0 {
                        luma[(y << hs) * w + (x << ws)]
                    } else if finfo.is_rgb() {
                        255
                    } else {
                        128
                    };
                    let at = y * stride + x * pstride + poffset;
                    let depth = finfo.depth()[c];
                    if depth > 8 {
                        // A little-endian word, the 8-bit value in its top bits.
                        let word = u16::from(value) << (depth - 8 + finfo.shift()[c]);
                        data[at..at + 2].copy_from_slice(&word.to_le_bytes());
                    } else {
                        data[at] = value;
                    }
                }
            }
        }
    }
    buffer
}

/// A harness around one `motionalarm`, with a bus to read its messages from.
struct Rig {
    h: Harness,
    bus: gst::Bus,
    info: gst_video::VideoInfo,
    frame: u64,
}

impl Rig {
    fn new(format: VideoFormat, width: u32, height: u32) -> Rig {
        init();
        let mut h = Harness::new("motionalarm");
        let element = h.element().unwrap();
        element.set_property("camera-id", "cam7");
        let bus = gst::Bus::new();
        element.set_bus(Some(&bus));
        let info = gst_video::VideoInfo::builder(format, width, height)
            .fps(25)
            .build()
            .unwrap();
        h.set_src_caps(info.to_caps().unwrap());
        Rig {
            h,
            bus,
            info,
            frame: 0,
        }
    }

    fn element(&self) -> gst::Element {
        self.h.element().unwrap()
    }

    fn set_format(&mut self, format: VideoFormat, width: u32, height: u32) {
        self.info = gst_video::VideoInfo::builder(format, width, height)
            .fps(25)
            .build()
            .unwrap();
        self.h.set_src_caps(self.info.to_caps().unwrap());
    }

    fn pts(&self) -> u64 {
        self.frame * FRAME_NS
    }

    /// Pushes one frame; returns the alarms the element sent downstream for it. Checks that the
    /// frame passed untouched and that the bus carried the same alarms.
    fn push(&mut self, luma: &[u8]) -> Vec<Alarm> {
        let mut buffer = buffer_from_luma(&self.info, luma);
        {
            let b = buffer.get_mut().unwrap();
            b.set_pts(gst::ClockTime::from_nseconds(self.pts()));
            b.set_duration(gst::ClockTime::from_nseconds(FRAME_NS));
        }
        self.frame += 1;
        let sent = buffer.clone();
        self.h.push(buffer).unwrap();
        let out = self.h.pull().unwrap();
        assert_eq!(out.as_ptr(), sent.as_ptr(), "the frame must pass through");
        self.alarms()
    }

    /// Drains alarm events that reached the harness and the bus; asserts they agree.
    fn alarms(&mut self) -> Vec<Alarm> {
        let mut events = Vec::new();
        while let Some(ev) = self.h.try_pull_event() {
            if let Some(alarm) = Alarm::from_event(&ev) {
                events.push(alarm.unwrap());
            }
        }
        let mut messages = Vec::new();
        while let Some(msg) = self.bus.pop() {
            if let Some(alarm) = Alarm::from_message(&msg) {
                messages.push(alarm.unwrap());
            }
        }
        assert_eq!(
            events, messages,
            "bus and downstream must see the same alarms"
        );
        events
    }

    fn alarm(&self) -> bool {
        self.element().property("alarm")
    }

    fn level(&self) -> f64 {
        self.element().property("level")
    }
}

fn quiet(rig: &mut Rig, scene: &mut Scene, frames: usize) {
    for i in 0..frames {
        let alarms = rig.push(&scene.luma());
        assert!(alarms.is_empty(), "frame {i}: unexpected {alarms:?}");
    }
}

/// Moves the object one step (8 px right, wrapping) and pushes a frame.
fn step(rig: &mut Rig, scene: &mut Scene) -> Vec<Alarm> {
    let (x, y, side) = scene
        .object
        .unwrap_or((4, scene.height / 3, scene.height / 5));
    let x = if x + side + 8 < scene.width { x + 8 } else { 4 };
    scene.object = Some((x, y, side));
    rig.push(&scene.luma())
}

#[test]
fn static_scene_with_noise_and_block_flicker_never_alarms() {
    let mut rig = Rig::new(VideoFormat::I420, 240, 160);
    let mut scene = Scene::new(240, 160);
    quiet(&mut rig, &mut scene, 150);
    assert!(!rig.alarm());
    assert!(rig.level() < 0.0005, "level {}", rig.level());
}

#[test]
fn moving_object_alarms_within_min_frames_and_ends_after_hold() {
    let mut rig = Rig::new(VideoFormat::I420, 240, 160);
    rig.element().set_property("min-frames", 3u32);
    rig.element().set_property("hold-ms", 400u32);
    let notifications = Arc::new(AtomicUsize::new(0));
    let n = notifications.clone();
    rig.element().connect_notify(Some("alarm"), move |_, _| {
        n.fetch_add(1, Ordering::SeqCst);
    });
    let mut scene = Scene::new(240, 160);
    quiet(&mut rig, &mut scene, 20);

    assert!(step(&mut rig, &mut scene).is_empty());
    assert!(step(&mut rig, &mut scene).is_empty());
    let start_pts = rig.pts();
    let started = step(&mut rig, &mut scene);
    assert_eq!(started.len(), 1, "alarm on the 3rd motion frame");
    let a = &started[0];
    assert!(a.active);
    assert_eq!(a.camera_id, "cam7");
    assert_eq!(a.kind, "motion");
    assert!(a.level > 0.003, "level {}", a.level);
    assert_eq!(
        a.running_time,
        Some(gst::ClockTime::from_nseconds(start_pts))
    );
    assert!(rig.alarm());
    assert_eq!(notifications.load(Ordering::SeqCst), 1);

    for _ in 0..20 {
        assert!(
            step(&mut rig, &mut scene).is_empty(),
            "one alarm, not one per frame"
        );
    }
    let last_motion = rig.pts() - FRAME_NS;
    scene.object = None;
    let mut ended = Vec::new();
    let mut end_pts = 0;
    while ended.is_empty() && rig.frame < 200 {
        end_pts = rig.pts();
        ended = rig.push(&scene.luma());
    }
    assert_eq!(ended.len(), 1);
    assert!(!ended[0].active);
    assert_eq!(
        end_pts - last_motion,
        400_000_000,
        "ends hold-ms after the motion"
    );
    assert_eq!(
        ended[0].running_time,
        Some(gst::ClockTime::from_nseconds(end_pts))
    );
    assert!(!rig.alarm());
    assert_eq!(notifications.load(Ordering::SeqCst), 2);
    quiet(&mut rig, &mut scene, 10);
}

#[test]
fn lights_switched_on_and_off_do_not_alarm() {
    let mut rig = Rig::new(VideoFormat::I420, 240, 160);
    rig.element().set_property("min-frames", 1u32);
    let mut scene = Scene::new(240, 160);
    quiet(&mut rig, &mut scene, 10);
    // Lamp on: brighter and more contrast.
    scene.gain = 1.6;
    scene.offset = 30.0;
    quiet(&mut rig, &mut scene, 30);
    // Lamp off: darker than before.
    scene.gain = 0.5;
    scene.offset = -5.0;
    quiet(&mut rig, &mut scene, 30);
    // Auto exposure: a pure offset.
    scene.gain = 1.0;
    scene.offset = 45.0;
    quiet(&mut rig, &mut scene, 30);
    // Steps that push only part of the picture over the threshold (too little to count as
    // a lighting change): the global fit must take them out.
    scene.gain = 1.3;
    quiet(&mut rig, &mut scene, 30);
    scene.offset = 45.0 + 30.0;
    quiet(&mut rig, &mut scene, 30);
    assert!(!rig.alarm());

    // The background adapted: motion is still seen in the new light.
    let mut alarms = Vec::new();
    for _ in 0..3 {
        alarms.extend(step(&mut rig, &mut scene));
    }
    assert!(alarms.iter().any(|a| a.active));
}

#[test]
fn picture_changing_everywhere_at_once_is_not_motion() {
    let mut rig = Rig::new(VideoFormat::I420, 240, 160);
    rig.element().set_property("min-frames", 1u32);
    let mut scene = Scene::new(240, 160);
    quiet(&mut rig, &mut scene, 15);
    // The camera switches to night mode: another picture altogether, no gain or offset
    // explains it. The background is re-learnt instead.
    scene.night = true;
    quiet(&mut rig, &mut scene, 20);
    let mut alarms = Vec::new();
    for _ in 0..3 {
        alarms.extend(step(&mut rig, &mut scene));
    }
    assert!(
        alarms.iter().any(|a| a.active),
        "motion is still seen after"
    );
}

#[test]
fn slow_dusk_does_not_alarm() {
    let mut rig = Rig::new(VideoFormat::I420, 240, 160);
    rig.element().set_property("min-frames", 1u32);
    let mut scene = Scene::new(240, 160);
    quiet(&mut rig, &mut scene, WARMUP);
    for i in 0..200 {
        scene.gain = 1.0 - 0.0035 * i as f32;
        scene.offset = -0.2 * i as f32;
        let alarms = rig.push(&scene.luma());
        assert!(alarms.is_empty(), "dusk frame {i}: {alarms:?}");
    }
    let mut alarms = Vec::new();
    for _ in 0..3 {
        alarms.extend(step(&mut rig, &mut scene));
    }
    assert!(
        alarms.iter().any(|a| a.active),
        "motion at dusk is still seen"
    );
}

/// Pushes motion in the left half of the frame for 10 frames; returns whether an alarm started.
fn left_half_motion_alarms(zones: &str) -> bool {
    let mut rig = Rig::new(VideoFormat::Gray8, 240, 160);
    rig.element().set_property("zones", zones);
    assert_eq!(rig.element().property::<String>("zones"), zones);
    let mut scene = Scene::new(240, 160);
    quiet(&mut rig, &mut scene, WARMUP);
    let mut started = false;
    for i in 0..10 {
        scene.object = Some((10 + i * 8, 60, 30));
        started |= rig.push(&scene.luma()).iter().any(|a| a.active);
    }
    started
}

#[test]
fn zones_decide_where_motion_counts() {
    assert!(left_half_motion_alarms(""));
    assert!(!left_half_motion_alarms("ignore:0,0,0.5,1"));
    assert!(left_half_motion_alarms("watch:0,0,0.5,1"));
    assert!(!left_half_motion_alarms("watch:0.5,0,1,1"));
    assert!(left_half_motion_alarms(
        "watch:poly(0 0, 0.6 0, 0.6 1, 0 1)"
    ));
    assert!(!left_half_motion_alarms(
        "watch:0,0,1,1;ignore:poly(0 0, 0.5 0, 0.5 1, 0 1)"
    ));
}

#[test]
fn invalid_zones_are_refused_and_late_frames_are_not_dropped() {
    init();
    let element = gst::ElementFactory::make("motionalarm").build().unwrap();
    element.set_property("zones", "ignore:0,0,0.5,1");
    element.set_property("zones", "ignore:0,0,1.5,1");
    assert_eq!(element.property::<String>("zones"), "ignore:0,0,0.5,1");
    element.set_property("zones", "sometimes");
    assert_eq!(element.property::<String>("zones"), "ignore:0,0,0.5,1");
    // Late frames are never dropped here: the element only watches.
    assert!(!element.property::<bool>("qos"));
}

#[test]
fn renegotiation_resets_the_background_without_false_alarms() {
    let mut rig = Rig::new(VideoFormat::I420, 320, 240);
    rig.element().set_property("min-frames", 1u32);
    let mut scene = Scene::new(320, 240);
    quiet(&mut rig, &mut scene, 10);

    rig.set_format(VideoFormat::Nv12, 640, 480);
    let mut scene = Scene::new(640, 480);
    scene.offset = 30.0;
    quiet(&mut rig, &mut scene, WARMUP);

    rig.set_format(VideoFormat::Gray8, 160, 120);
    let mut scene = Scene::new(160, 120);
    quiet(&mut rig, &mut scene, WARMUP);
    assert!(step(&mut rig, &mut scene).iter().any(|a| a.active));

    // A change of format while an alarm is on does not end it: the hold is in running time.
    rig.set_format(VideoFormat::Bgrx, 320, 240);
    let mut scene = Scene::new(320, 240);
    assert!(rig.push(&scene.luma()).is_empty());
    assert!(rig.alarm());
}

#[test]
fn flushing_ends_the_alarm_and_relearns_the_background() {
    let mut rig = Rig::new(VideoFormat::I420, 240, 160);
    rig.element().set_property("min-frames", 1u32);
    rig.element().set_property("hold-ms", 10_000u32);
    let mut scene = Scene::new(240, 160);
    quiet(&mut rig, &mut scene, WARMUP);
    assert!(step(&mut rig, &mut scene).iter().any(|a| a.active));

    assert!(rig.h.push_event(gst::event::FlushStart::new()));
    assert!(rig.h.push_event(gst::event::FlushStop::new(true)));
    assert!(rig
        .h
        .push_event(gst::event::Segment::new(&gst::FormattedSegment::<
            gst::ClockTime,
        >::new())));
    // After the seek the camera shows another scene: no motion, a fresh background.
    let mut scene = Scene::new(240, 160);
    scene.offset = 60.0;
    scene.object = Some((150, 20, 50));
    let pts = rig.pts();
    let ended = rig.push(&scene.luma());
    assert_eq!(ended.len(), 1);
    assert!(!ended[0].active);
    assert_eq!(
        ended[0].running_time,
        Some(gst::ClockTime::from_nseconds(pts))
    );
    quiet(&mut rig, &mut scene, 10);
    assert!(!rig.alarm());
}

#[test]
fn eos_ends_an_ongoing_alarm_before_eos_goes_downstream() {
    let mut rig = Rig::new(VideoFormat::I420, 240, 160);
    rig.element().set_property("min-frames", 1u32);
    rig.element().set_property("hold-ms", 10_000u32);
    let mut scene = Scene::new(240, 160);
    quiet(&mut rig, &mut scene, WARMUP);
    assert!(step(&mut rig, &mut scene).iter().any(|a| a.active));
    let last_pts = rig.pts() - FRAME_NS;

    assert!(rig.h.push_event(gst::event::Eos::new()));
    let mut order = Vec::new();
    while let Some(ev) = rig.h.try_pull_event() {
        match Alarm::from_event(&ev) {
            Some(alarm) => order.push(format!("alarm:{}", alarm.unwrap().active)),
            None if ev.type_() == gst::EventType::Eos => order.push("eos".into()),
            None => (),
        }
    }
    assert_eq!(order, ["alarm:false", "eos"]);
    assert!(!rig.alarm());
    let msg = rig.bus.pop_filtered(&[gst::MessageType::Element]).unwrap();
    let alarm = Alarm::from_message(&msg).unwrap().unwrap();
    assert!(!alarm.active);
    assert_eq!(
        alarm.running_time,
        Some(gst::ClockTime::from_nseconds(last_pts))
    );
}

#[test]
fn property_changes_take_effect_on_the_next_frame() {
    let mut rig = Rig::new(VideoFormat::I420, 240, 160);
    let element = rig.element();
    element.set_property("min-frames", 1u32);
    element.set_property("hold-ms", 0u32);
    let mut scene = Scene::new(240, 160);
    quiet(&mut rig, &mut scene, WARMUP);
    assert!(step(&mut rig, &mut scene).iter().any(|a| a.active));
    let level = rig.level();
    assert!(level > 0.003);

    // Demanding more area than moves: the very next frame is quiet, and hold 0 ends the alarm.
    element.set_property("min-area", (level * 3.0).min(1.0));
    let alarms = step(&mut rig, &mut scene);
    assert_eq!(alarms.len(), 1);
    assert!(!alarms[0].active);

    element.set_property("min-area", 0.003);
    assert!(step(&mut rig, &mut scene).iter().any(|a| a.active));

    // Disabled: the next frame ends the alarm and nothing is analysed.
    element.set_property("enabled", false);
    let alarms = step(&mut rig, &mut scene);
    assert_eq!(alarms.len(), 1);
    assert!(!alarms[0].active);
    for _ in 0..5 {
        assert!(step(&mut rig, &mut scene).is_empty());
    }
    assert_eq!(rig.level(), 0.0);

    // Back on: a fresh background first, then alarms again.
    element.set_property("enabled", true);
    element.set_property("camera-id", "porch");
    for _ in 0..WARMUP {
        assert!(step(&mut rig, &mut scene).is_empty());
    }
    let alarms = step(&mut rig, &mut scene);
    assert_eq!(alarms.len(), 1);
    assert_eq!(alarms[0].camera_id, "porch");

    // Ignoring the whole frame stops motion on the next frame.
    element.set_property("zones", "ignore:0,0,1,1");
    let alarms = step(&mut rig, &mut scene);
    assert_eq!(alarms.len(), 1);
    assert!(!alarms[0].active);
    assert_eq!(rig.level(), 0.0);

    // A threshold above any change: nothing counts.
    element.set_property("zones", "");
    element.set_property("threshold", 255u32);
    for _ in 0..5 {
        assert!(step(&mut rig, &mut scene).is_empty());
    }

    // A new analysis width takes effect at once: a new background, then motion again.
    element.set_property("threshold", 25u32);
    element.set_property("analysis-width", 64u32);
    for _ in 0..WARMUP {
        assert!(step(&mut rig, &mut scene).is_empty());
    }
    assert!(step(&mut rig, &mut scene).iter().any(|a| a.active));
}

#[test]
fn every_format_sees_the_same_motion() {
    let formats = [
        VideoFormat::I420,
        VideoFormat::Nv12,
        VideoFormat::Yv12,
        VideoFormat::Y42b,
        VideoFormat::Y444,
        VideoFormat::Gray8,
        VideoFormat::Bgrx,
        VideoFormat::Rgbx,
        VideoFormat::Bgra,
        VideoFormat::Rgba,
        VideoFormat::Nv21,
        VideoFormat::Yuy2,
        VideoFormat::Uyvy,
        VideoFormat::Argb,
        VideoFormat::Rgb,
        // What decoders of 10- and 12-bit and 4:2:2 streams give, hardware ones too.
        VideoFormat::Nv16,
        VideoFormat::Nv24,
        VideoFormat::I42010le,
        VideoFormat::I42012le,
        VideoFormat::I42210le,
        VideoFormat::Y44410le,
        VideoFormat::P01010le,
        VideoFormat::P016Le,
        VideoFormat::Gray16Le,
    ];
    let mut reference: Option<(u64, f64)> = None;
    for format in formats {
        let mut rig = Rig::new(format, 240, 160);
        let mut scene = Scene::new(240, 160);
        quiet(&mut rig, &mut scene, WARMUP);
        let mut start = None;
        for _ in 0..6 {
            let frame = rig.frame;
            if let Some(a) = step(&mut rig, &mut scene).into_iter().find(|a| a.active) {
                start = Some((frame, a.level));
            }
        }
        let (frame, level) = start.unwrap_or_else(|| panic!("{format:?}: no alarm"));
        match reference {
            None => reference = Some((frame, level)),
            Some((f, l)) => {
                assert_eq!(frame, f, "{format:?} alarms on another frame");
                assert!((level - l).abs() < 0.1 * l, "{format:?}: {level} vs {l}");
            }
        }
    }
}

/// Runs a pipeline to EOS and returns the alarms it posted.
fn pipeline_alarms(description: &str) -> Vec<Alarm> {
    init();
    let pipeline = gst::parse::launch(description).unwrap();
    let bus = pipeline.bus().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut alarms = Vec::new();
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(30)) {
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => panic!("{}: {:?}", e.error(), e.debug()),
            _ => {
                if let Some(a) = Alarm::from_message(&msg) {
                    alarms.push(a.unwrap());
                }
            }
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    alarms
}

#[test]
fn videotestsrc_ball_alarms_and_smpte_does_not() {
    let ball = pipeline_alarms(
        "videotestsrc pattern=ball num-buffers=50 \
         ! video/x-raw,width=320,height=240,framerate=25/1 \
         ! motionalarm name=hall ! fakesink",
    );
    assert!(
        ball.first()
            .is_some_and(|a| a.active && a.camera_id == "hall"),
        "{ball:?}"
    );
    assert!(ball.last().is_some_and(|a| !a.active), "EOS ends the alarm");

    let smpte = pipeline_alarms(
        "videotestsrc pattern=smpte num-buffers=50 \
         ! video/x-raw,width=320,height=240,framerate=25/1 \
         ! motionalarm ! fakesink",
    );
    assert!(smpte.is_empty(), "{smpte:?}");
}

/// The format `motionalarm`'s sink pad settles on in `description` (an element named `m`).
fn negotiated_format(description: &str) -> String {
    init();
    let pipeline = gst::parse::launch(description)
        .unwrap()
        .downcast::<gst::Bin>()
        .unwrap();
    let sink = pipeline.by_name("m").unwrap().static_pad("sink").unwrap();
    pipeline.set_state(gst::State::Paused).unwrap();
    let (res, _, _) = pipeline.state(gst::ClockTime::from_seconds(10));
    res.unwrap();
    let caps = sink.current_caps().unwrap();
    pipeline.set_state(gst::State::Null).unwrap();
    let format = caps.structure(0).unwrap().get::<String>("format").unwrap();
    format
}

#[test]
fn a_source_free_to_choose_is_offered_luma_formats_first() {
    // videotestsrc lists RGB formats before I420 and would pick one, costing the detector
    // several times as much per frame.
    assert_eq!(
        negotiated_format("videotestsrc num-buffers=1 ! motionalarm name=m ! fakesink"),
        "I420"
    );
    // A caps filter, upstream or downstream, still decides.
    assert_eq!(
        negotiated_format(
            "videotestsrc num-buffers=1 ! video/x-raw,format=BGRx ! motionalarm name=m ! fakesink"
        ),
        "BGRx"
    );
    assert_eq!(
        negotiated_format(
            "videotestsrc num-buffers=1 ! motionalarm name=m ! video/x-raw,format=RGBA ! fakesink"
        ),
        "RGBA"
    );
}

/// Draws a burnt-in "clock" at the top left of `luma` (`width` wide): a 40x16 patch of white
/// strokes on black whose pattern changes every 25 frames, like a clock's seconds.
fn draw_clock(luma: &mut [u8], width: usize, frame: u64) {
    let k = (frame / 25) as usize;
    for y in 8..24 {
        for x in 8..48 {
            let on = ((x - 8) / 4 * (k % 5 + 1) + (y - 8) / 4 + k).is_multiple_of(3);
            luma[y * width + x] = if on { 235 } else { 16 };
        }
    }
}

/// Pushes `frames` frames of the still scene with the clock; the largest level seen on the
/// frames where the clock ticked, and the alarms that started.
fn run_clock(rig: &mut Rig, scene: &mut Scene, frames: usize) -> (f64, usize) {
    let (mut tick_level, mut starts) = (0.0f64, 0);
    for _ in 0..frames {
        let mut luma = scene.luma();
        let frame = rig.frame;
        draw_clock(&mut luma, scene.width, frame);
        starts += rig.push(&luma).iter().filter(|a| a.active).count();
        if frame.is_multiple_of(25) {
            tick_level = tick_level.max(rig.level());
        }
    }
    (tick_level, starts)
}

#[test]
fn a_burnt_in_clock_is_learnt_and_ignored_and_shown() {
    let mut rig = Rig::new(VideoFormat::I420, 320, 180);
    rig.element().set_property("hold-ms", 400u32);
    let notified = Arc::new(AtomicUsize::new(0));
    let n = notified.clone();
    rig.element()
        .connect_notify(Some("learned-mask"), move |_, _| {
            n.fetch_add(1, Ordering::SeqCst);
        });
    let mut scene = Scene::new(320, 180);
    assert_eq!(rig.element().property::<String>("learned-mask"), "");
    // The cells that change at every tick are learnt after 4 ticks; those that change at some
    // ticks only join them as they change in step with them.
    run_clock(&mut rig, &mut scene, 500);
    let mask: String = rig.element().property("learned-mask");
    assert!(
        notified.load(Ordering::SeqCst) >= 1,
        "learned-mask notified"
    );
    // The mask is in the zones syntax and covers the clock's middle, nothing far from it.
    let zones = gstcamwall::motionalarm::parse_zones(&mask).unwrap();
    assert!(!zones.is_watched(28.0 / 320.0, 16.0 / 180.0), "{mask}");
    assert!(zones.is_watched(0.5, 0.5), "{mask}");
    // From now on its ticks are not motion: what is left of them (a cell at the edge of the
    // patch that changes at few ticks) is far below min-area.
    let (tick_level, starts) = run_clock(&mut rig, &mut scene, 250);
    assert_eq!(starts, 0, "{mask}");
    assert!(tick_level < 0.001, "{tick_level} {mask}");

    // Something moving still alarms.
    let mut alarms = Vec::new();
    for _ in 0..10 {
        let (x, y, side) = scene.object.unwrap_or((60, 90, 40));
        scene.object = Some((x + 8, y, side));
        let mut luma = scene.luma();
        draw_clock(&mut luma, 320, rig.frame);
        alarms.extend(rig.push(&luma));
    }
    assert!(alarms.iter().any(|a| a.active), "{alarms:?}");

    // The debug image: a PGM the size of the grid, the learnt patch white.
    let dir = tempfile_dir();
    let path = dir.join("mask.pgm");
    rig.element()
        .set_property("debug-mask-file", path.to_str().unwrap());
    let mut luma = scene.luma();
    draw_clock(&mut luma, 320, rig.frame);
    rig.push(&luma);
    let pgm = std::fs::read(&path).unwrap();
    let header = b"P5\n160 90\n255\n";
    assert_eq!(&pgm[..header.len()], header);
    assert_eq!(pgm.len(), header.len() + 160 * 90);
    assert_eq!(pgm[header.len() + 8 * 160 + 14], 255, "the clock is white");
    assert_eq!(
        rig.element().property::<String>("debug-mask-file"),
        path.to_str().unwrap()
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn without_learning_the_clock_ticks_are_motion() {
    let mut rig = Rig::new(VideoFormat::I420, 320, 180);
    rig.element().set_property("learn-ignore", false);
    let mut scene = Scene::new(320, 180);
    run_clock(&mut rig, &mut scene, 300);
    assert_eq!(rig.element().property::<String>("learned-mask"), "");
    let (tick_level, _) = run_clock(&mut rig, &mut scene, 250);
    assert!(tick_level > 0.0);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("motionalarm-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
