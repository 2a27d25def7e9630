// SPDX-License-Identifier: MIT OR Apache-2.0

//! Simulated IP cameras served by a real RTSP server (gst-rtsp-server) on 127.0.0.1.
//!
//! Each camera shows its own test pattern, its name and a running clock, and a machine-readable
//! stamp ([`crate::framestamp`]) of its index and capture time along the bottom edge. The scene is
//! static unless motion is on: then a checkered square crosses the picture. Motion follows a
//! schedule ([`MotionSchedule`]) or is forced on and off at run time; a camera can be taken
//! offline (connections refused and dropped, as when its network goes away), frozen (the
//! connection stays open but no frames come) and brought back.
//!
//! ```no_run
//! use camwall::fakecam::{FakeCam, FakeCamConfig};
//! let cams = FakeCam::start(FakeCamConfig::with_cameras(4)).unwrap();
//! println!("{}", cams.url("cam1").unwrap()); // rtsp://127.0.0.1:PORT/cam1
//! cams.set_motion("cam2", Some(true)).unwrap();
//! ```

pub mod control;
mod media;
mod paint;
pub mod schedule;
pub mod sent;

use media::{disconnect_clients_of, make_factory};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gst::prelude::*;
use gst_rtsp_server::prelude::*;
use gst_rtsp_server::{RTSPAuth, RTSPFilterResult, RTSPMediaFactory, RTSPServer, RTSPToken};
use serde::Serialize;

use crate::framestamp::Stamp;
use gstcamwall::lock;
pub use schedule::{MotionSchedule, ScheduleError};

/// How the cameras encode their video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// H.264 (x264, zero-latency tuning) over RTP.
    #[default]
    H264,
    /// Motion JPEG over RTP (RFC 2435).
    Mjpeg,
}

/// What a camera is doing, as set through the control endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CameraMode {
    /// Streaming normally.
    #[default]
    Online,
    /// Unreachable: its path is gone (DESCRIBE answers 404) and its clients are disconnected.
    Offline,
    /// Connected but sending nothing, like a camera that hung.
    Frozen,
}

/// One simulated camera.
#[derive(Debug, Clone)]
pub struct CameraConfig {
    /// Path on the server (`rtsp://host:port/<id>`) and the name used by the control endpoint.
    pub id: String,
    /// Text burnt into the picture.
    pub name: String,
    pub motion: MotionSchedule,
}

/// The whole fake camera set.
#[derive(Debug, Clone)]
pub struct FakeCamConfig {
    /// Address the RTSP server listens on. Keep it on loopback.
    pub address: String,
    /// RTSP port; 0 picks a free one.
    pub port: u16,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Frames between keyframes (H.264); 0 means one second's worth.
    pub gop: u32,
    pub codec: Codec,
    /// Paint the machine-readable stamp strip.
    pub stamp: bool,
    /// When set, every camera asks for these credentials (RTSP basic authentication), as
    /// real cameras do; a client without them gets 401.
    pub auth: Option<Credentials>,
    pub cameras: Vec<CameraConfig>,
}

/// A user name and password for RTSP basic authentication.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl Credentials {
    /// `user:pass`; the user may not be empty nor contain `:`.
    pub fn parse(s: &str) -> Result<Credentials, FakeCamError> {
        match s.split_once(':') {
            Some((user, password)) if !user.is_empty() => Ok(Credentials {
                user: user.to_string(),
                password: password.to_string(),
            }),
            _ => Err(FakeCamError::Config(
                "credentials must be user:password".into(),
            )),
        }
    }
}

// Never print the password, not even in a debug dump.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}:***)", self.user)
    }
}

impl FakeCamConfig {
    /// `n` cameras named `cam1`..`camN`, 640x360 at 25 fps, H.264, on a free port.
    pub fn with_cameras(n: usize) -> Self {
        FakeCamConfig {
            address: "127.0.0.1".into(),
            port: 0,
            width: 640,
            height: 360,
            fps: 25,
            gop: 0,
            codec: Codec::H264,
            stamp: true,
            auth: None,
            cameras: (1..=n)
                .map(|i| CameraConfig {
                    id: format!("cam{i}"),
                    name: format!("Camera {i}"),
                    motion: MotionSchedule::default(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FakeCamError {
    #[error("no camera named '{0}'")]
    UnknownCamera(String),
    #[error("invalid fakecam configuration: {0}")]
    Config(String),
    #[error("RTSP server: {0}")]
    Server(String),
}

/// The state of one camera as the control endpoint reports it.
#[derive(Debug, Clone, Serialize)]
pub struct CameraStatus {
    pub id: String,
    pub name: String,
    pub url: String,
    pub mode: CameraMode,
    /// Whether the picture shows motion now.
    pub motion: bool,
    /// `true` when motion is forced on/off rather than following the schedule.
    pub motion_forced: bool,
    /// Frames painted since start.
    pub frames: u64,
}

struct Camera {
    index: usize,
    config: CameraConfig,
    motion_override: Mutex<Option<bool>>,
    mode: Mutex<CameraMode>,
    /// Picture size when changed at run time ([`FakeCam::set_resolution`]).
    size: Mutex<Option<(u32, u32)>>,
    frames: AtomicU64,
    /// When its newest frames left it ([`sent`]).
    sent: Mutex<sent::SentLog>,
}

impl Camera {
    fn mode(&self) -> CameraMode {
        *lock(&self.mode)
    }

    fn size(&self, config: &FakeCamConfig) -> (u32, u32) {
        lock(&self.size).unwrap_or((config.width, config.height))
    }

    fn motion_forced(&self) -> Option<bool> {
        *lock(&self.motion_override)
    }

    fn motion_at(&self, since_start: Duration) -> bool {
        self.motion_forced()
            .unwrap_or_else(|| self.config.motion.active_at(since_start))
    }

    fn path(&self) -> String {
        format!("/{}", self.config.id)
    }
}

struct Inner {
    config: FakeCamConfig,
    cameras: Vec<Arc<Camera>>,
    server: RTSPServer,
    context: glib::MainContext,
    main_loop: glib::MainLoop,
    source: Mutex<Option<glib::SourceId>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    port: u16,
    started: Instant,
}

/// A running set of simulated cameras. Stops when dropped.
#[derive(Clone)]
pub struct FakeCam {
    inner: Arc<Inner>,
}

/// The role that the fakecam's credentials grant; only it may see the cameras.
const AUTH_ROLE: &str = "viewer";

fn check_size(width: u32, height: u32, codec: Codec) -> Result<(), FakeCamError> {
    if !(16..=3840).contains(&width)
        || !(16..=2160).contains(&height)
        || !width.is_multiple_of(2)
        || !height.is_multiple_of(2)
    {
        return Err(FakeCamError::Config(format!(
            "resolution {width}x{height} must be even, from 16x16 to 3840x2160"
        )));
    }
    if codec == Codec::Mjpeg && (width > 2040 || height > 2040) {
        return Err(FakeCamError::Config(
            "MJPEG over RTP carries at most 2040x2040".into(),
        ));
    }
    Ok(())
}

/// Still test patterns, one per camera: none of them has noise or movement of its own.
const PATTERNS: [&str; 8] = [
    "smpte75",
    "colors",
    "gradient",
    "smpte100",
    "bar",
    "smpte-rp-219",
    "circular",
    "checkers-8",
];

/// The camera's name and running clock are drawn at the top left in a font of `1 / CLOCK_FONT`
/// of the picture's height.
const CLOCK_FONT: u32 = 18;

/// Fraction of the picture's height, from the top, that holds the name and clock line: half a
/// font of margin, the line (about 1.2 fonts) and its shading, with room to spare. The clock
/// changes every second: motion zones for fakecam pictures leave this band out, as they would a
/// real camera's on-screen clock.
pub const CLOCK_BAND_FRACTION: f64 = 3.0 / CLOCK_FONT as f64;

/// Motion zones for fakecam pictures: leave out the name-and-clock line at the top (its seconds
/// change every second, as a real camera's on-screen clock does) and the capture-time strip at
/// the bottom, which changes with every frame by design.
pub fn fakecam_zones() -> String {
    format!(
        "ignore:0,0,1,{CLOCK_BAND_FRACTION:.4};{}",
        fakecam_strip_zone()
    )
}

/// The zone that leaves out fakecam's capture-time strip, alone.
pub fn fakecam_strip_zone() -> String {
    format!(
        "ignore:0,{:.4},1,1",
        1.0 - crate::framestamp::STRIP_FRACTION * 1.25
    )
}

/// Where and how the name-and-clock line is drawn on a `height`-pixel picture: the properties
/// shared by the cameras' `clockoverlay` and the `textoverlay` of tests that need a fixed time.
fn name_line_style(height: u32) -> String {
    let font = (height / CLOCK_FONT).max(8);
    format!(
        "halignment=left valignment=top ypad={} font-desc=\"Sans {font}px\" \
         shaded-background=true",
        font / 2
    )
}

fn sanitize_text(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric() || " -_.:#()".contains(*c))
        .take(40)
        .collect()
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl FakeCam {
    /// Starts the RTSP server with all cameras online.
    pub fn start(config: FakeCamConfig) -> Result<FakeCam, FakeCamError> {
        gst::init().map_err(|e| FakeCamError::Server(e.to_string()))?;
        if config.cameras.is_empty() || config.cameras.len() > 64 {
            return Err(FakeCamError::Config("between 1 and 64 cameras".into()));
        }
        check_size(config.width, config.height, config.codec)?;
        if !(1..=120).contains(&config.fps) {
            return Err(FakeCamError::Config("fps must be from 1 to 120".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for cam in &config.cameras {
            if !valid_id(&cam.id) {
                return Err(FakeCamError::Config(format!(
                    "camera id '{}' must be 1-64 characters of a-z, 0-9, - and _",
                    cam.id
                )));
            }
            if !seen.insert(cam.id.as_str()) {
                return Err(FakeCamError::Config(format!(
                    "camera id '{}' is used twice",
                    cam.id
                )));
            }
        }

        let cameras: Vec<Arc<Camera>> = config
            .cameras
            .iter()
            .enumerate()
            .map(|(index, c)| {
                Arc::new(Camera {
                    index,
                    config: c.clone(),
                    motion_override: Mutex::new(None),
                    mode: Mutex::new(CameraMode::Online),
                    size: Mutex::new(None),
                    frames: AtomicU64::new(0),
                    sent: Mutex::default(),
                })
            })
            .collect();

        let server = RTSPServer::new();
        if let Some(creds) = &config.auth {
            let auth = RTSPAuth::new();
            let token = RTSPToken::builder()
                .field(gst_rtsp_server::RTSP_TOKEN_MEDIA_FACTORY_ROLE, AUTH_ROLE)
                .build();
            auth.add_basic(&RTSPAuth::make_basic(&creds.user, &creds.password), &token);
            server.set_auth(Some(&auth));
        }
        server.set_address(&config.address);
        server.set_service(&config.port.to_string());
        let started = Instant::now();
        let mounts = server
            .mount_points()
            .ok_or_else(|| FakeCamError::Server("no mount points".into()))?;
        for cam in &cameras {
            mounts.add_factory(&cam.path(), make_factory(&config, cam, started));
        }

        let context = glib::MainContext::new();
        let source = server
            .attach(Some(&context))
            .map_err(|e| FakeCamError::Server(format!("cannot listen: {e}")))?;
        let port = u16::try_from(server.bound_port())
            .map_err(|_| FakeCamError::Server("not bound".into()))?;
        let main_loop = glib::MainLoop::new(Some(&context), false);
        let thread = {
            let (context, main_loop) = (context.clone(), main_loop.clone());
            std::thread::Builder::new()
                .name("fakecam-rtsp".into())
                .spawn(move || {
                    let _ = context.with_thread_default(|| main_loop.run());
                })
                .map_err(|e| FakeCamError::Server(e.to_string()))?
        };

        Ok(FakeCam {
            inner: Arc::new(Inner {
                config,
                cameras,
                server,
                context,
                main_loop,
                source: Mutex::new(Some(source)),
                thread: Mutex::new(Some(thread)),
                port,
                started,
            }),
        })
    }

    /// The RTSP port the server listens on.
    pub fn port(&self) -> u16 {
        self.inner.port
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &FakeCamConfig {
        &self.inner.config
    }

    /// `rtsp://address:port/<id>`, or `None` for an unknown camera.
    pub fn url(&self, id: &str) -> Option<String> {
        self.camera(id).ok().map(|c| self.url_of(c))
    }

    fn url_of(&self, cam: &Camera) -> String {
        format!(
            "rtsp://{}:{}{}",
            self.inner.config.address,
            self.inner.port,
            cam.path()
        )
    }

    fn camera(&self, id: &str) -> Result<&Arc<Camera>, FakeCamError> {
        self.inner
            .cameras
            .iter()
            .find(|c| c.config.id == id)
            .ok_or_else(|| FakeCamError::UnknownCamera(id.to_string()))
    }

    /// Status of every camera, in configuration order.
    pub fn cameras(&self) -> Vec<CameraStatus> {
        let t = self.inner.started.elapsed();
        self.inner
            .cameras
            .iter()
            .map(|c| CameraStatus {
                id: c.config.id.clone(),
                name: c.config.name.clone(),
                url: self.url_of(c),
                mode: c.mode(),
                motion: c.motion_at(t),
                motion_forced: c.motion_forced().is_some(),
                frames: c.frames.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// When the newest frames (up to 500) of camera `id` left the camera: the stamp painted into
    /// each and the moment its first RTP packet was sent, oldest first.
    pub fn sent(&self, id: &str) -> Result<Vec<sent::Sent>, FakeCamError> {
        Ok(lock(&self.camera(id)?.sent).sent())
    }

    /// Forces motion on (`Some(true)`), off (`Some(false)`), or back to the schedule (`None`).
    pub fn set_motion(&self, id: &str, motion: Option<bool>) -> Result<(), FakeCamError> {
        let cam = self.camera(id)?;
        *lock(&cam.motion_override) = motion;
        Ok(())
    }

    /// Takes a camera offline, freezes it, or brings it back online.
    pub fn set_mode(&self, id: &str, mode: CameraMode) -> Result<(), FakeCamError> {
        let cam = self.camera(id)?.clone();
        let previous = {
            let mut m = lock(&cam.mode);
            std::mem::replace(&mut *m, mode)
        };
        if previous == mode {
            return Ok(());
        }
        let inner = self.inner.clone();
        // Mounts and clients belong to the server's main context: change them there and wait.
        let (tx, rx) = std::sync::mpsc::channel();
        self.inner.context.invoke(move || {
            let path = cam.path();
            if let Some(mounts) = inner.server.mount_points() {
                if mode == CameraMode::Offline {
                    mounts.remove_factory(&path);
                    disconnect_clients_of(&inner.server, &path);
                } else if previous == CameraMode::Offline {
                    mounts.add_factory(&path, make_factory(&inner.config, &cam, inner.started));
                }
            }
            let _ = tx.send(());
        });
        rx.recv_timeout(Duration::from_secs(5))
            .map_err(|_| FakeCamError::Server("the RTSP server thread did not answer".into()))
    }

    /// Restarts a camera with another picture size, as a camera does when its settings change:
    /// its clients are disconnected and whoever connects next gets the new size.
    pub fn set_resolution(&self, id: &str, width: u32, height: u32) -> Result<(), FakeCamError> {
        check_size(width, height, self.inner.config.codec)?;
        let cam = self.camera(id)?.clone();
        *lock(&cam.size) = Some((width, height));
        let inner = self.inner.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        self.inner.context.invoke(move || {
            let path = cam.path();
            if let Some(mounts) = inner.server.mount_points() {
                mounts.remove_factory(&path);
                disconnect_clients_of(&inner.server, &path);
                if cam.mode() != CameraMode::Offline {
                    mounts.add_factory(&path, make_factory(&inner.config, &cam, inner.started));
                }
            }
            let _ = tx.send(());
        });
        rx.recv_timeout(Duration::from_secs(5))
            .map_err(|_| FakeCamError::Server("the RTSP server thread did not answer".into()))
    }

    /// Stops the server and disconnects every client. Also done on drop of the last handle.
    pub fn stop(&self) {
        let Some(thread) = lock(&self.inner.thread).take() else {
            return;
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let inner = self.inner.clone();
        self.inner.context.invoke(move || {
            inner
                .server
                .client_filter(Some(&mut |_, _| RTSPFilterResult::Remove));
            let id = lock(&inner.source).take();
            // The listening source lives in our own context, not the default one.
            if let Some(source) = id.and_then(|id| inner.context.find_source_by_id(&id)) {
                source.destroy();
            }
            let _ = tx.send(());
        });
        let _ = rx.recv_timeout(Duration::from_secs(5));
        self.inner.main_loop.quit();
        let _ = thread.join();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.main_loop.quit();
        if let Some(t) = self.thread.get_mut().map(Option::take).ok().flatten() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two frames of a pattern as grey pixels.
    fn two_frames(pattern: &str) -> (Vec<u8>, Vec<u8>) {
        let pipeline = gst::parse::launch(&format!(
            "videotestsrc pattern={pattern} num-buffers=2 \
             ! video/x-raw,format=GRAY8,width=160,height=96 ! appsink name=sink sync=false"
        ))
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let sink = pipeline
            .by_name("sink")
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let mut frames = (0..2).map(|_| {
            let sample = sink.pull_sample().expect("a frame");
            let pixels = sample.buffer().unwrap().map_readable().unwrap().to_vec();
            pixels
        });
        let pair = (frames.next().unwrap(), frames.next().unwrap());
        pipeline.set_state(gst::State::Null).unwrap();
        pair
    }

    /// Alarms that motionalarm raises on a still fakecam picture whose name-and-clock line
    /// changes from `12:00:08` to `12:00:19` (two digits) after 15 frames, watched with `zones`
    /// and the smallest area that counts (one cell).
    fn alarms_on_clock_tick(zones: &str) -> usize {
        crate::app::init_gst();
        let (w, h) = (1280, 720);
        let pipeline = gst::parse::launch(&format!(
            "videotestsrc pattern=smpte75 num-buffers=40 \
             ! video/x-raw,format=I420,width={w},height={h},framerate=25/1 \
             ! textoverlay name=overlay text=\"cam1 12:00:08\" {} \
             ! motionalarm min-area=0.0001 min-frames=2 zones=\"{zones}\" \
             ! fakesink sync=false",
            name_line_style(h)
        ))
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let overlay = pipeline.by_name("overlay").unwrap();
        let frames = std::sync::atomic::AtomicU32::new(0);
        let weak = overlay.downgrade();
        overlay.static_pad("video_sink").unwrap().add_probe(
            gst::PadProbeType::BUFFER,
            move |_, _| {
                if frames.fetch_add(1, Ordering::Relaxed) == 15 {
                    if let Some(o) = weak.upgrade() {
                        o.set_property("text", "cam1 12:00:19");
                    }
                }
                gst::PadProbeReturn::Ok
            },
        );
        let bus = pipeline.bus().unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let mut alarms = 0;
        for msg in bus.iter_timed(gst::ClockTime::from_seconds(20)) {
            match msg.view() {
                gst::MessageView::Eos(_) => break,
                gst::MessageView::Error(e) => panic!("{}", e.error()),
                _ => {
                    if gstcamwall::messages::Alarm::from_message(&msg)
                        .is_some_and(|a| a.is_ok_and(|a| a.active))
                    {
                        alarms += 1;
                    }
                }
            }
        }
        pipeline.set_state(gst::State::Null).unwrap();
        alarms
    }

    #[test]
    fn the_readme_example_zones_are_what_fakecam_draws() {
        let readme = include_str!("../../../README.md");
        assert!(
            readme.contains(&format!("zones = \"{}\"", fakecam_zones())),
            "README.md's example zones should be {}",
            fakecam_zones()
        );
    }

    #[test]
    fn the_demo_zones_leave_out_the_ticking_clock() {
        assert!(
            alarms_on_clock_tick(&fakecam_strip_zone()) > 0,
            "the clock's tick is motion where it is watched"
        );
        assert_eq!(
            alarms_on_clock_tick(&fakecam_zones()),
            0,
            "the demo zones raise no alarm for the clock"
        );
    }

    #[test]
    fn every_camera_pattern_is_still_and_they_differ() {
        gst::init().unwrap();
        let mut firsts = Vec::new();
        for pattern in PATTERNS {
            let (a, b) = two_frames(pattern);
            assert_eq!(
                a, b,
                "pattern {pattern} changes by itself: not a still scene"
            );
            firsts.push(a);
        }
        for i in 0..firsts.len() {
            for j in i + 1..firsts.len() {
                assert_ne!(
                    firsts[i], firsts[j],
                    "{} and {} look the same",
                    PATTERNS[i], PATTERNS[j]
                );
            }
        }
    }
}
