// SPDX-License-Identifier: MIT OR Apache-2.0

//! What the launcher knows at run time, shared by the supervisor (which writes it from the
//! pipeline) and the HTTP server (which reads it): each camera's state, the selection, and the
//! event stream that the API and the viewers' WebSocket carry.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use gstcamwall::mjpegwssink::FrameFeed;
use gstcamwall::protocol::{self, unix_ms_now};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::config::{mask_url, CameraConfig, Config};

/// How long a feed goes on being encoded (and a main stream decoded) after its last viewer
/// left: a page reloaded, or a viewer coming back, gets its first frame at once rather than
/// one camera frame later.
pub const ENCODE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);
use crate::events::{Event, EventBus};
use gstcamwall::lock;

pub use crate::health::{CameraError, CameraState, FailureKind};

/// A camera's state and, while it has no pictures, since when and why.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraStatus {
    pub state: CameraState,
    pub offline_since: Option<u64>,
    pub error: Option<CameraError>,
}

impl CameraStatus {
    fn starting() -> CameraStatus {
        CameraStatus {
            state: CameraState::Connecting,
            offline_since: None,
            error: None,
        }
    }
}

/// Run-time facts about one camera. Counters are written from streaming threads.
pub struct CameraRuntime {
    pub id: String,
    /// Its `[[camera]]` section (with the password: never sent anywhere).
    pub config: CameraConfig,
    pub name: String,
    /// The URL with its password masked: the only form that leaves the process.
    pub url: String,
    pub priority: i32,
    status: Mutex<CameraStatus>,
    alarm: AtomicBool,
    /// Unix ms when its alarm started; 0 while it has none.
    alarm_since: AtomicU64,
    pub(crate) frames: AtomicU64,
    pub(crate) last_frame_ms: AtomicU64,
    pub(crate) width: AtomicU32,
    pub(crate) height: AtomicU32,
    /// Frames per second over the last measuring window, times 100.
    pub(crate) fps_x100: AtomicU32,
    pub(crate) reconnects: AtomicU64,
    /// Unix ms until which the camera's alarms take no wall; 0 when not snoozed.
    pub(crate) snoozed_until: AtomicU64,
    /// Failures counted by kind, in the order of [`FailureKind::ALL`].
    failures: [AtomicU64; FailureKind::ALL.len()],
    /// The newest decoded frame and the decode errors, for snapshots and metrics.
    pub taps: crate::taps::CameraTaps,
    /// What viewers peeking at this camera alone receive (`/ws?camera=ID`).
    pub peek: FrameFeed,
    /// The same in H.264 (`/ws?camera=ID&video=h264`).
    pub peek_h264: FrameFeed,
    /// The overview's live thumbnail of this camera (`/ws/grid`).
    pub thumb: FrameFeed,
    /// The decoder element its video goes through (for `codec = "auto"`, the one decodebin
    /// took, once it took one).
    pub(crate) decoder: Mutex<Option<String>>,
    /// With a `detect_url`: Unix ms until which its main stream is decoded though nothing
    /// shows it (a snapshot asked for it).
    main_until_ms: AtomicU64,
    /// With a `detect_url`: the size of its main stream's pictures, once decoded (0 before).
    pub(crate) main_width: AtomicU32,
    pub(crate) main_height: AtomicU32,
}

impl CameraRuntime {
    /// A camera as its section describes it, before it connects.
    pub fn new(config: CameraConfig) -> CameraRuntime {
        CameraRuntime {
            id: config.id().to_string(),
            name: config.name().to_string(),
            url: mask_url(config.url()),
            priority: config.priority,
            config,
            status: Mutex::new(CameraStatus::starting()),
            alarm: AtomicBool::new(false),
            alarm_since: AtomicU64::new(0),
            frames: AtomicU64::new(0),
            last_frame_ms: AtomicU64::new(0),
            width: AtomicU32::new(0),
            height: AtomicU32::new(0),
            fps_x100: AtomicU32::new(0),
            reconnects: AtomicU64::new(0),
            snoozed_until: AtomicU64::new(0),
            // Nothing is encoded for a peek or a thumbnail before someone looks.
            peek: idle_feed(),
            peek_h264: idle_feed(),
            thumb: idle_feed(),
            failures: Default::default(),
            taps: Default::default(),
            main_until_ms: AtomicU64::new(0),
            main_width: AtomicU32::new(0),
            main_height: AtomicU32::new(0),
            decoder: Mutex::new(None),
        }
    }

    /// The same camera described by a changed section: what its viewers hold (the peek and
    /// thumbnail feeds) and its snooze carry over; its counters start again.
    pub fn changed(&self, config: CameraConfig) -> CameraRuntime {
        let mut next = CameraRuntime::new(config);
        next.peek = self.peek.clone();
        next.peek_h264 = self.peek_h264.clone();
        next.thumb = self.thumb.clone();
        next.snoozed_until = AtomicU64::new(self.snoozed_until.load(Ordering::Relaxed));
        next
    }

    pub fn state(&self) -> CameraState {
        self.status().state
    }

    /// Failures of this kind so far.
    pub fn failures(&self, kind: FailureKind) -> u64 {
        self.failures[kind as usize].load(Ordering::Relaxed)
    }

    /// Counts a failure (the supervisor does, each time the camera fails).
    pub(crate) fn count_failure(&self, kind: FailureKind) {
        self.failures[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The state, and since when and why the camera has no pictures.
    pub fn status(&self) -> CameraStatus {
        lock(&self.status).clone()
    }

    pub fn alarm(&self) -> bool {
        self.alarm.load(Ordering::Relaxed)
    }

    /// Since when (unix ms) its alarm has been on, if it is.
    pub fn alarm_since(&self) -> Option<u64> {
        Some(self.alarm_since.load(Ordering::Relaxed)).filter(|&t| t > 0 && self.alarm())
    }

    /// Until when (unix ms) the camera is snoozed, if it is.
    pub fn snoozed_until(&self) -> Option<u64> {
        Some(self.snoozed_until.load(Ordering::Relaxed)).filter(|&t| t > unix_ms_now())
    }

    /// Records a decoded frame (called from the camera's streaming thread).
    /// Has a camera with a sub-stream decode its main stream for `how_long` though nothing
    /// shows it (for a snapshot at full resolution).
    pub fn want_main(&self, how_long: std::time::Duration) {
        let until = unix_ms_now().saturating_add(how_long.as_millis() as u64);
        self.main_until_ms.fetch_max(until, Ordering::Relaxed);
    }

    /// The newest frame of its main stream: for a camera with a `detect_url`, the newest
    /// frame once it is a main-stream one (its main stream then decodes for a while), waiting
    /// up to `timeout`; else, and after that, the newest frame.
    pub async fn main_frame(&self, timeout: std::time::Duration) -> Option<gst::Sample> {
        if self.config.detect_url().is_none() {
            return self.taps.latest();
        }
        self.want_main(timeout + std::time::Duration::from_secs(2));
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let latest = self.taps.latest();
            let main_width = self.main_width.load(Ordering::Relaxed);
            let width = latest
                .as_ref()
                .and_then(|s| gst_video::VideoInfo::from_caps(s.caps()?).ok())
                .map(|v| v.width());
            if (main_width > 0 && width == Some(main_width))
                || tokio::time::Instant::now() >= deadline
            {
                return latest;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub fn frame_seen(&self) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.last_frame_ms.store(unix_ms_now(), Ordering::Relaxed);
    }

    /// Milliseconds since the last frame, `None` before the first.
    pub fn last_frame_age_ms(&self) -> Option<u64> {
        match self.last_frame_ms.load(Ordering::Relaxed) {
            0 => None,
            t => Some(unix_ms_now().saturating_sub(t)),
        }
    }
}

/// Why the camera on screen is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectionReason {
    User,
    Alarm,
}

/// `GET /api/selection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Selection {
    /// The camera on screen.
    pub camera: Option<String>,
    pub reason: SelectionReason,
    /// The user's own choice, which comes back when alarms end.
    pub user_choice: Option<String>,
    /// The selector's own word for the last switch (`user`, `alarm`, `alarm-ended`, `stalled`,
    /// `pad-removed`).
    pub detail: Option<String>,
}

/// One entry of `GET /api/cameras`.
#[derive(Debug, Clone, Serialize)]
pub struct CameraView {
    pub id: String,
    pub name: String,
    pub state: CameraState,
    pub alarm: bool,
    pub selected: bool,
    pub url: String,
    pub priority: i32,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fps: Option<f64>,
    /// The decoder element its video goes through (`avdec_h264`, `vah265dec`...); `null`
    /// until one is chosen.
    pub decoder: Option<String>,
    pub last_frame_age_ms: Option<u64>,
    pub frames: u64,
    pub reconnects: u64,
    /// Until when (unix ms) the camera is snoozed; `null` when it is not.
    pub snoozed_until: Option<u64>,
    /// Since when (unix ms) its alarm has been on; `null` without one.
    pub alarm_since: Option<u64>,
    /// Since when the camera has had no pictures (unix ms); `null` while live.
    pub offline_since: Option<u64>,
    /// Why the camera is down; `null` while live.
    pub error: Option<CameraError>,
    /// Its sub-stream, for a camera with a `detect_url` (left out without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detect: Option<DetectView>,
}

/// A camera's sub-stream as the API shows it: motion is detected on it, and its main stream
/// is decoded only while something shows the camera.
#[derive(Debug, Clone, Serialize)]
pub struct DetectView {
    /// The sub-stream's URL, password masked.
    pub url: String,
    /// Whether the main stream is being decoded now.
    pub main_decoding: bool,
    /// The main stream's picture size, once it has been decoded.
    pub main_width: Option<u32>,
    pub main_height: Option<u32>,
}

/// One wall as it runs: its cameras, the feed its viewers read, and its selection, which it
/// alone owns (the supervisor writes it from its selector; everyone else reads it).
pub struct WallRuntime {
    pub id: String,
    pub name: String,
    /// Indices into [`AppState::cameras`], in the wall's order (changed while it runs).
    cameras: Mutex<Vec<usize>>,
    /// What the wall's viewers receive: its encoded frames and the events. It outlives every
    /// pipeline, so viewers stay connected.
    pub feed: FrameFeed,
    /// What its H.264 viewers receive (`/ws?video=h264`): binary access units and the events.
    pub h264: FrameFeed,
    selection: Mutex<Selection>,
    /// Index of the selection's camera ([`NONE_SHOWN`] when there is none), kept beside it
    /// by `update_selection` so that streaming threads can read it without the lock.
    shown: AtomicUsize,
    /// Who made the last choice, told with the switch it brings.
    chosen_by: Mutex<Option<String>>,
}

/// A wall, as `GET /api/walls` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct WallView {
    pub id: String,
    pub name: String,
    pub cameras: Vec<String>,
    pub selection: Selection,
    pub viewers: usize,
}

impl WallRuntime {
    pub fn selection(&self) -> Selection {
        lock(&self.selection).clone()
    }

    /// Changes the selection under its lock, and keeps which camera is shown with it.
    pub(crate) fn update_selection(
        &self,
        cameras: &Cameras,
        f: impl FnOnce(&mut Selection),
    ) -> Selection {
        let mut s = lock(&self.selection);
        f(&mut s);
        let shown = s.camera.as_deref().and_then(|id| cameras.index_of(id));
        self.shown
            .store(shown.unwrap_or(NONE_SHOWN), Ordering::Relaxed);
        s.clone()
    }

    /// The camera on screen, if any, without a lock.
    pub fn shown(&self) -> Option<usize> {
        Some(self.shown.load(Ordering::Relaxed)).filter(|&i| i != NONE_SHOWN)
    }

    /// Records who made the choice just made, for the switch it brings.
    pub(crate) fn chosen_by(&self, by: Option<String>) {
        *lock(&self.chosen_by) = by;
    }

    /// Who made the choice a switch to the user's choice shows (told once).
    pub(crate) fn take_chosen_by(&self) -> Option<String> {
        lock(&self.chosen_by).take()
    }

    /// Whether the wall may show camera `index`.
    pub fn has(&self, index: usize) -> bool {
        lock(&self.cameras).contains(&index)
    }

    /// Its cameras (indices into [`AppState::cameras`]), in its order.
    pub fn cameras(&self) -> Vec<usize> {
        lock(&self.cameras).clone()
    }

    /// Gives the wall another list of cameras (the supervisor does, as it links them).
    pub(crate) fn set_cameras(&self, cameras: Vec<usize>) {
        *lock(&self.cameras) = cameras;
    }
}

/// The cameras as they run, each at a fixed index for as long as it exists (walls, pads and
/// probes know cameras by index). Cameras come and go while camwall runs: a removed camera's
/// index is empty until a camera added later takes it.
#[derive(Default)]
pub struct Cameras {
    slots: RwLock<Vec<Option<Arc<CameraRuntime>>>>,
}

impl Cameras {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Option<Arc<CameraRuntime>>>> {
        self.slots
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Option<Arc<CameraRuntime>>>> {
        self.slots
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Camera `index`, unless there is none there.
    pub fn get(&self, index: usize) -> Option<Arc<CameraRuntime>> {
        self.read().get(index).cloned().flatten()
    }

    /// Every camera with its index, in index order.
    pub fn all(&self) -> Vec<(usize, Arc<CameraRuntime>)> {
        self.read()
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((i, c.clone()?)))
            .collect()
    }

    /// How many indices there are (cameras and empty ones).
    pub fn slots(&self) -> usize {
        self.read().len()
    }

    /// How many cameras there are.
    pub fn count(&self) -> usize {
        self.read().iter().flatten().count()
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.read()
            .iter()
            .position(|c| c.as_ref().is_some_and(|c| c.id == id))
    }

    /// Puts a new camera at the first empty index; answers the index.
    pub(crate) fn add(&self, camera: CameraRuntime) -> usize {
        let mut slots = self.write();
        let camera = Some(Arc::new(camera));
        match slots.iter().position(Option::is_none) {
            Some(i) => {
                slots[i] = camera;
                i
            }
            None => {
                slots.push(camera);
                slots.len() - 1
            }
        }
    }

    /// Puts `camera` at `index` (a changed camera), or empties it (`None`: removed).
    pub(crate) fn set(&self, index: usize, camera: Option<CameraRuntime>) {
        if let Some(slot) = self.write().get_mut(index) {
            *slot = camera.map(Arc::new);
        }
    }
}

/// Everything the server and the supervisor share.
pub struct AppState {
    /// The configuration camwall started with: its cameras and walls change as they are
    /// edited (see [`AppState::cameras`] and [`WallRuntime`]), the rest needs a restart.
    pub config: Config,
    pub cameras: Cameras,
    /// Never empty: a configuration without `[[wall]]` has the one wall `main`.
    pub walls: Vec<WallRuntime>,
    /// Who may use camwall: `server.token` and the `[[user]]`s, as the file has them now (the
    /// guard of every route reads them at each request; see [`AppState::follow_users`]).
    pub credentials: gstcamwall::http::CredentialSet,
    /// Signed-in pages.
    pub sessions: Arc<crate::sessions::Sessions>,
    /// The file camwall runs from, which the API's edits change (none for the demo).
    pub config_file: std::sync::OnceLock<crate::config::edit::ConfigFile>,
    /// Held from an edit of the file to its application, so edits apply in their order.
    pub edits: Arc<tokio::sync::Mutex<()>>,
    events: EventBus,
}

/// A wall's `shown` when no camera is on screen.
const NONE_SHOWN: usize = usize::MAX;

/// A feed that is not in demand until someone looks at it.
fn idle_feed() -> FrameFeed {
    let feed = FrameFeed::new();
    feed.forget_demand();
    feed
}

impl AppState {
    pub fn new(config: Config) -> Arc<AppState> {
        let cameras = Cameras::default();
        for cam in config.enabled_cameras() {
            cameras.add(CameraRuntime::new(cam.clone()));
        }
        let walls = config
            .walls()
            .into_iter()
            .map(|w| WallRuntime {
                selection: Mutex::new(Selection {
                    camera: None,
                    reason: SelectionReason::User,
                    user_choice: w
                        .cameras
                        .first()
                        .and_then(|&i| cameras.get(i))
                        .map(|c| c.id.clone()),
                    detail: None,
                }),
                id: w.id,
                name: w.name,
                cameras: Mutex::new(w.cameras),
                feed: FrameFeed::new(),
                h264: idle_feed(),
                shown: AtomicUsize::new(NONE_SHOWN),
                chosen_by: Mutex::new(None),
            })
            .collect();
        Arc::new(AppState {
            credentials: gstcamwall::http::CredentialSet::new(config.credentials()),
            config,
            cameras,
            walls,
            sessions: Default::default(),
            config_file: Default::default(),
            edits: Default::default(),
            events: EventBus::default(),
        })
    }

    /// Makes `config`'s users (and `server.token`) the ones camwall accepts from the next
    /// request on. A user who is gone, or whose token changed, is signed out of every page; a
    /// user whose role changed keeps their pages with the new role. Answers the names of the
    /// users whose access changed.
    pub fn follow_users(&self, config: &crate::config::Config) -> Vec<String> {
        let next = config.credentials();
        let before = self.credentials.replace(next.clone());
        let find = |all: &[gstcamwall::http::Credential], name: &str| {
            all.iter().find(|c| &*c.identity.name == name).cloned()
        };
        let mut changed: Vec<String> = before
            .iter()
            .chain(&next)
            .map(|c| c.identity.name.to_string())
            .filter(|name| find(&before, name) != find(&next, name))
            .collect();
        changed.sort();
        changed.dedup();
        self.sessions.follow(|who| {
            let now = find(&next, &who.name)?;
            let then = find(&before, &who.name)?;
            (now.token == then.token).then_some(now.identity)
        });
        changed
    }

    /// The first wall: the one `/ws`, `/mjpeg`, `/snapshot.jpg` and `/api/selection` mean.
    pub fn main_wall(&self) -> &WallRuntime {
        &self.walls[0]
    }

    /// The first wall's feed.
    pub fn feed(&self) -> &FrameFeed {
        &self.main_wall().feed
    }

    /// The wall called `id`, with its index.
    pub fn wall(&self, id: &str) -> Option<(usize, &WallRuntime)> {
        self.walls.iter().enumerate().find(|(_, w)| w.id == id)
    }

    pub fn wall_views(&self) -> Vec<WallView> {
        self.walls
            .iter()
            .map(|w| WallView {
                id: w.id.clone(),
                name: w.name.clone(),
                cameras: w
                    .cameras()
                    .into_iter()
                    .filter_map(|i| Some(self.cameras.get(i)?.id.clone()))
                    .collect(),
                selection: w.selection(),
                viewers: w.feed.clients() + w.h264.clients(),
            })
            .collect()
    }

    pub fn camera_index(&self, id: &str) -> Option<usize> {
        self.cameras.index_of(id)
    }

    /// The first wall's selection.
    pub fn selection(&self) -> Selection {
        self.main_wall().selection()
    }

    /// Whether camera `index` is on screen on any wall, without a lock: streaming threads ask
    /// it for every buffer.
    pub fn is_shown(&self, index: usize) -> bool {
        self.walls.iter().any(|w| w.shown() == Some(index))
    }

    /// Whether camera `index`'s main stream must be decoded: a wall someone watches shows it,
    /// someone peeks at it, or a snapshot asked for it. (A camera without a `detect_url`
    /// decodes its one stream all the time.)
    pub fn main_wanted(&self, index: usize) -> bool {
        let watched = |f: &FrameFeed| f.in_demand(ENCODE_GRACE);
        self.walls
            .iter()
            .any(|w| w.shown() == Some(index) && (watched(&w.feed) || watched(&w.h264)))
            || self.cameras.get(index).is_some_and(|c| {
                watched(&c.peek)
                    || watched(&c.peek_h264)
                    || c.main_until_ms.load(Ordering::Relaxed) > unix_ms_now()
            })
    }

    /// Every camera, `selected` on the first wall.
    pub fn camera_views(&self) -> Vec<CameraView> {
        self.views_of(&self.cameras.all(), self.main_wall().shown())
    }

    /// The cameras of `wall`, in its order, `selected` on it.
    pub fn wall_camera_views(&self, wall: &WallRuntime) -> Vec<CameraView> {
        let cameras: Vec<_> = wall
            .cameras()
            .into_iter()
            .filter_map(|i| Some((i, self.cameras.get(i)?)))
            .collect();
        self.views_of(&cameras, wall.shown())
    }

    /// `cameras` as the API lists them, `selected` the one of index `shown`.
    pub fn views_of(
        &self,
        cameras: &[(usize, Arc<CameraRuntime>)],
        shown: Option<usize>,
    ) -> Vec<CameraView> {
        cameras
            .iter()
            .map(|(i, c)| {
                let i = *i;
                let (w, h) = (
                    c.width.load(Ordering::Relaxed),
                    c.height.load(Ordering::Relaxed),
                );
                let fps = c.fps_x100.load(Ordering::Relaxed);
                let status = c.status();
                CameraView {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    state: status.state,
                    alarm: c.alarm(),
                    selected: shown == Some(i),
                    url: c.url.clone(),
                    priority: c.priority,
                    width: (w > 0).then_some(w),
                    height: (h > 0).then_some(h),
                    fps: (status.state == CameraState::Live).then_some(f64::from(fps) / 100.0),
                    decoder: lock(&c.decoder).clone(),
                    last_frame_age_ms: c.last_frame_age_ms(),
                    frames: c.frames.load(Ordering::Relaxed),
                    reconnects: c.reconnects.load(Ordering::Relaxed),
                    snoozed_until: c.snoozed_until(),
                    alarm_since: c.alarm_since(),
                    offline_since: status.offline_since,
                    error: status.error,
                    detect: c.config.detect_url().map(|url| {
                        let (w, h) = (
                            c.main_width.load(Ordering::Relaxed),
                            c.main_height.load(Ordering::Relaxed),
                        );
                        DetectView {
                            url: mask_url(url),
                            main_decoding: self.main_wanted(i),
                            main_width: (w > 0).then_some(w),
                            main_height: (h > 0).then_some(h),
                        }
                    }),
                }
            })
            .collect()
    }

    /// Subscribes to the event stream.
    pub fn subscribe_events(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }

    /// Sends an event to the API's event stream and to every viewer's WebSocket.
    pub fn publish(&self, msg: &protocol::Message<'_>) {
        let event = Arc::new(Event::new(msg.clone()));
        // A wall's switch goes to that wall's viewers; anything else to every wall's.
        let only = match msg {
            protocol::Message::Switch(s) => s.wall.as_deref(),
            _ => None,
        };
        for wall in &self.walls {
            if only.is_none_or(|id| id == wall.id) {
                wall.feed.publish_json(event.json().clone());
                wall.h264.publish_json(event.json().clone());
            }
        }
        // Peekers hear of alarms, cameras, acknowledges and snoozes, not of walls' switches.
        if !matches!(msg, protocol::Message::Switch(_)) {
            for (_, cam) in self.cameras.all() {
                cam.peek.publish_json(event.json().clone());
                cam.peek_h264.publish_json(event.json().clone());
            }
        }
        self.events.send(event);
    }

    /// Sets a camera's status; publishes a `camera` event when its state or the kind of its
    /// error changed (a camera retried for the same reason publishes nothing new).
    pub(crate) fn set_camera_status(&self, index: usize, status: CameraStatus) {
        let Some(cam) = self.cameras.get(index) else {
            return;
        };
        let changed = {
            let mut s = lock(&cam.status);
            let kind = |s: &CameraStatus| s.error.as_ref().map(|e| e.kind);
            let changed = s.state != status.state || kind(&s) != kind(&status);
            *s = status.clone();
            changed
        };
        if changed {
            match &status.error {
                Some(e) => tracing::info!(
                    camera = %cam.id,
                    state = status.state.as_str(),
                    error = e.kind.as_str(),
                    "camera state: {}",
                    e.message
                ),
                None => {
                    tracing::info!(camera = %cam.id, state = status.state.as_str(), "camera state")
                }
            }
            self.publish(&protocol::Message::Camera(protocol::CameraState {
                camera: Cow::Borrowed(&cam.id),
                state: Cow::Borrowed(status.state.as_str()),
                ts: unix_ms_now(),
                offline_since: status.offline_since,
                error: status.error.as_ref().map(|e| protocol::CameraError {
                    kind: Cow::Borrowed(e.kind.as_str()),
                    message: Cow::Borrowed(&e.message),
                    since: e.since,
                }),
            }));
        }
    }

    pub(crate) fn set_alarm(&self, index: usize, active: bool) {
        if let Some(cam) = self.cameras.get(index) {
            let was = cam.alarm.swap(active, Ordering::Relaxed);
            if active && !was {
                cam.alarm_since.store(unix_ms_now(), Ordering::Relaxed);
            } else if !active {
                cam.alarm_since.store(0, Ordering::Relaxed);
            }
        }
    }

    /// Whether the stream is live: a frame reached the viewers' feed in the last few seconds.
    /// Also when nobody watches it (it then encodes nothing) and the camera it shows is live.
    pub fn streaming(&self) -> bool {
        // JPEG and H.264 viewers alike.
        let wall = self.main_wall();
        let fresh = [&wall.feed, &wall.h264].iter().any(|feed| {
            feed.latest()
                .is_some_and(|f| unix_ms_now().saturating_sub(f.ts) < 5_000)
        });
        let idle_but_live = wall.feed.clients() + wall.h264.clients() == 0
            && self
                .main_wall()
                .shown()
                .and_then(|i| self.cameras.get(i))
                .is_some_and(|c| c.state() == CameraState::Live);
        fresh || idle_but_live
    }
}
