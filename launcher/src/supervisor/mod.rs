// SPDX-License-Identifier: MIT OR Apache-2.0

//! Builds camwall's pipeline and keeps it running: one bin per camera (restarted on its own,
//! with capped backoff, forever, when it fails or stops delivering frames), the selector and
//! encoder tail, and the viewers' feed that outlives them all. It turns the pipeline's bus
//! messages into camera states, alarms and selections in [`AppState`], and carries out the
//! API's commands on its own thread, never on an async task.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use gst::prelude::*;
use gstcamwall::messages::{Alarm, SelectorSwitched, SwitchReason};
use gstcamwall::mjpegwssink::{FrameFeed, MjpegWsSink};
use gstcamwall::protocol::{self, unix_ms_now};
use tracing::{debug, error, info, warn};

use crate::control::{Command, Control, Requests, SelectError};
use crate::health::{CameraHealth, FailureKind, Moment, Seen, Step, Timing};
use crate::state::{AppState, CameraRuntime, CameraStatus, Selection, SelectionReason};
use crate::{pipeline, sched};
use gstcamwall::lock;

mod build;
mod bus;
mod cameras;
mod gate;
mod live;
use crate::faults;
pub use live::Applied;

use self::build::build;
use self::bus::handle_message;
use self::cameras::{
    camera_failed, look_at_network, post_failure, publish_status, restart_bin, timing,
    watch_cameras, CAMERA_ATTEMPT, CAMERA_FAILED,
};

/// How often the supervisor looks at every camera.
const TICK: Duration = Duration::from_millis(100);
/// Time to wait for the pipeline to stop at shutdown.
const STOP_TIMEOUT: Duration = Duration::from_millis(800);

/// Handle to the supervisor thread.
pub struct Supervisor {
    control: Control,
    thread: Mutex<Option<JoinHandle<()>>>,
    builds: Arc<AtomicU64>,
}

impl Supervisor {
    /// Starts the supervisor thread, which carries out `requests` (sent by `control`); the
    /// pipeline is built and started on it.
    pub fn start(
        state: Arc<AppState>,
        control: Control,
        requests: Requests,
    ) -> anyhow::Result<Supervisor> {
        let builds = Arc::new(AtomicU64::new(0));
        let counted = builds.clone();
        let thread = std::thread::Builder::new()
            .name("camwall-supervisor".into())
            .spawn(move || run(state, requests, counted))?;
        Ok(Supervisor {
            control,
            thread: Mutex::new(Some(thread)),
            builds,
        })
    }

    /// The handle that sends the supervisor its commands.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// How many times the pipeline has been built and started (1 after a clean start; each
    /// rebuild after a fault adds one).
    pub fn builds(&self) -> u64 {
        self.builds.load(Ordering::Acquire)
    }

    /// See [`Control::element`].
    pub fn element(&self, name: &str) -> Option<gst::Element> {
        self.control.element(name)
    }

    /// Stops the pipeline and the thread.
    pub fn shutdown(&self) {
        self.control.shutdown();
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// One camera's part of the running pipeline.
struct CameraSlot {
    bin: gst::Bin,
    /// After the bin: hands its frames to the walls and its side branches.
    tee: gst::Element,
    /// The tee and the side branches (peek, H.264 peek, thumbnail), which follow the
    /// pipeline's state.
    elements: Vec<gst::Element>,
    /// Timeouts, backoff and state.
    health: CameraHealth,
    /// The source has set its stream up (added a pad) in the current attempt.
    answered: Arc<AtomicBool>,
    /// A restart is running on its own thread.
    restarting: Arc<AtomicBool>,
    /// Shared by every restart and by [`stop`]: set once the pipeline is stopping, so no bin is
    /// started after that, and held while a bin changes state, so stop waits for a restart.
    stopping: Arc<Mutex<bool>>,
    /// For the frame rate.
    fps_window: (Instant, u64),
    /// Attempts started (each start or restart of the bin is one).
    attempt: u64,
    /// The newest attempt whose start the bus has shown (its [`CAMERA_ATTEMPT`] message): what
    /// the bus says before that comes from the session before, which is over.
    bus_attempt: u64,
}

impl CameraSlot {
    /// Whether a failure reported on the bus now belongs to an attempt already replaced
    /// (`attempt`: the one it names, if it does).
    fn is_stale(&self, attempt: Option<u64>) -> bool {
        self.bus_attempt < self.attempt || attempt.is_some_and(|a| a < self.attempt)
    }
}

/// One wall's part of the running pipeline.
struct WallSlot {
    selector: gst::Element,
    /// The selector's pad for each camera (by index), `None` for cameras not on the wall.
    pads: Vec<Option<gst::Pad>>,
}

impl WallSlot {
    /// Camera `index`'s pad, if the wall shows it.
    fn pad(&self, index: usize) -> Option<&gst::Pad> {
        self.pads.get(index).and_then(Option::as_ref)
    }

    /// The camera whose pad `pad` is.
    fn camera_of(&self, pad: &gst::Pad) -> Option<usize> {
        self.pads.iter().position(|p| p.as_ref() == Some(pad))
    }
}

struct Running {
    pipeline: gst::Pipeline,
    /// In the order of [`AppState::walls`].
    walls: Vec<WallSlot>,
    /// By camera index; `None` where there is no camera.
    cameras: Vec<Option<CameraSlot>>,
    stopping: Arc<Mutex<bool>>,
}

impl Running {
    fn camera(&self, index: usize) -> Option<&CameraSlot> {
        self.cameras.get(index).and_then(Option::as_ref)
    }

    fn camera_mut(&mut self, index: usize) -> Option<&mut CameraSlot> {
        self.cameras.get_mut(index).and_then(Option::as_mut)
    }
}

fn run(state: Arc<AppState>, requests: Requests, builds: Arc<AtomicU64>) {
    let Requests {
        rx: commands,
        bus: published_bus,
    } = requests;
    let mut running: Option<Running> = None;
    let mut next_build = Instant::now();
    loop {
        *lock(&published_bus) = running.as_ref().and_then(|r| r.pipeline.bus());
        if running.is_none() && Instant::now() >= next_build {
            match build(&state) {
                Ok(r) => {
                    *lock(&published_bus) = r.pipeline.bus();
                    running = Some(r);
                    builds.fetch_add(1, Ordering::AcqRel);
                }
                Err(e) => {
                    error!("cannot build the pipeline: {e:#}; retrying in 1 s");
                    next_build = Instant::now() + Duration::from_secs(1);
                }
            }
        }

        // Commands first: a selection must not wait behind a burst of bus messages.
        let deadline = Instant::now() + TICK;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            let command = match running.as_ref().and_then(|r| r.pipeline.bus()) {
                Some(bus) => match commands.try_recv() {
                    Ok(c) => Some(c),
                    Err(mpsc::TryRecvError::Empty) => {
                        // Sleeps until a bus message, a command's wake-up or the tick.
                        let timeout = gst::ClockTime::from_nseconds(wait.as_nanos() as u64);
                        if let Some(msg) = bus.timed_pop(timeout) {
                            if handle_message(&state, running.as_mut(), &msg) {
                                info!("rebuilding the pipeline after a fault");
                                stop(running.take());
                                next_build = Instant::now();
                            }
                        }
                        None
                    }
                    Err(mpsc::TryRecvError::Disconnected) => Some(Command::Shutdown),
                },
                None => match commands.recv_timeout(wait) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => Some(Command::Shutdown),
                },
            };
            match command {
                Some(Command::Select {
                    wall,
                    camera,
                    by,
                    reply,
                }) => {
                    let _ = reply.send(select(&state, running.as_ref(), wall, &camera, by));
                }
                Some(Command::Ack {
                    wall,
                    camera,
                    by,
                    reply,
                }) => {
                    let _ = reply.send(acknowledge(&state, running.as_ref(), wall, camera, by));
                }
                Some(Command::Snooze {
                    camera,
                    until,
                    by,
                    reply,
                }) => {
                    let _ = reply.send(snooze(&state, running.as_ref(), &camera, until, by));
                }
                Some(Command::Apply { config, reply }) => {
                    let _ = reply.send(live::apply_config(&state, running.as_mut(), &config));
                }
                Some(Command::Rebuild) => {
                    stop(running.take());
                    next_build = Instant::now();
                }
                Some(Command::Element { name, reply }) => {
                    let _ = reply.send(running.as_ref().and_then(|r| {
                        r.pipeline.by_name(&name).or_else(|| {
                            r.cameras
                                .iter()
                                .flatten()
                                .find_map(|c| c.bin.by_name(&name))
                        })
                    }));
                }
                Some(Command::Shutdown) => {
                    stop(running.take());
                    return;
                }
                None => {}
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        if let Some(r) = running.as_mut() {
            watch_cameras(&state, r);
            wake_snoozed(&state, r);
        }
    }
}

fn select(
    state: &Arc<AppState>,
    running: Option<&Running>,
    wall: usize,
    camera: &str,
    by: Option<String>,
) -> Result<Selection, SelectError> {
    let runtime = state
        .walls
        .get(wall)
        .ok_or_else(|| SelectError::UnknownWall(wall.to_string()))?;
    let index = state
        .camera_index(camera)
        .filter(|&i| runtime.has(i))
        .ok_or_else(|| SelectError::UnknownCamera(camera.to_string()))?;
    let Some(running) = running else {
        // Remembered: the next pipeline starts with it.
        runtime.update_selection(&state.cameras, |s| s.user_choice = Some(camera.to_string()));
        return Err(SelectError::NotRunning);
    };
    let slot = &running.walls[wall];
    // A choice while an alarm holds the wall is an acknowledge of that alarm as well: the
    // guard saw it and chose something else, and the choice is shown, not deferred.
    let held_by = alarm_on_screen(runtime).filter(|&i| i != index);
    runtime.chosen_by(by.clone());
    if let Some(pad) = slot.pad(index) {
        slot.selector.set_property("selected-pad", pad);
    }
    if let Some(on_screen) = held_by {
        ack_on(state, slot, wall, on_screen, by);
    }
    // The switch (if any) has happened by now; its bus message comes later, the answer now.
    let active = slot.selector.property::<Option<gst::Pad>>("active-pad");
    let active_index = active.and_then(|a| slot.camera_of(&a));
    // One write of the selection per click.
    Ok(runtime.update_selection(&state.cameras, |s| {
        s.user_choice = Some(camera.to_string());
        if let Some((i, cam)) = active_index.and_then(|i| Some((i, state.cameras.get(i)?))) {
            if i == index {
                s.reason = SelectionReason::User;
            }
            s.camera = Some(cam.id.clone());
        }
    }))
}

/// The camera whose alarm holds `wall` now, if one does.
fn alarm_on_screen(wall: &crate::state::WallRuntime) -> Option<usize> {
    (wall.selection().reason == SelectionReason::Alarm)
        .then(|| wall.shown())
        .flatten()
}

/// Acknowledges camera `index`'s alarm on a wall's selector; publishes the `ack` when there
/// was one to take.
fn ack_on(
    state: &AppState,
    slot: &WallSlot,
    wall: usize,
    index: usize,
    by: Option<String>,
) -> bool {
    let (Some(pad), Some(camera)) = (slot.pad(index), state.cameras.get(index)) else {
        return false;
    };
    let taken = slot.selector.emit_by_name::<bool>("acknowledge", &[pad]);
    if taken {
        let (camera, wall) = (&camera.id, &state.walls[wall].id);
        info!(camera = %camera, wall = %wall, by = ?by, "alarm acknowledged");
        state.publish(&protocol::Message::Ack(protocol::Ack {
            camera: Cow::Borrowed(camera),
            wall: Cow::Borrowed(wall),
            by: by.map(Cow::Owned),
            ts: unix_ms_now(),
        }));
    }
    taken
}

fn acknowledge(
    state: &Arc<AppState>,
    running: Option<&Running>,
    wall: usize,
    camera: Option<String>,
    by: Option<String>,
) -> Result<crate::control::Acked, SelectError> {
    let runtime = state
        .walls
        .get(wall)
        .ok_or_else(|| SelectError::UnknownWall(wall.to_string()))?;
    let index = match &camera {
        Some(c) => Some(
            state
                .camera_index(c)
                .filter(|&i| runtime.has(i))
                .ok_or_else(|| SelectError::UnknownCamera(c.clone()))?,
        ),
        None => None,
    };
    let running = running.ok_or(SelectError::NotRunning)?;
    let slot = &running.walls[wall];
    // Without a camera: the one whose alarm holds the wall now, if one does.
    let index = index.or_else(|| alarm_on_screen(runtime));
    let acknowledged = index.is_some_and(|i| ack_on(state, slot, wall, i, by));
    Ok(crate::control::Acked {
        acknowledged,
        selection: runtime.selection(),
    })
}

/// Sets each wall's `snoozed` pad property of camera `index`.
fn apply_snooze(running: &Running, index: usize, snoozed: bool) {
    for slot in &running.walls {
        if let Some(pad) = slot.pad(index) {
            pad.set_property("snoozed", snoozed);
        }
    }
}

fn snooze(
    state: &Arc<AppState>,
    running: Option<&Running>,
    camera: &str,
    until: Option<u64>,
    by: Option<String>,
) -> Result<(), SelectError> {
    let index = state
        .camera_index(camera)
        .ok_or_else(|| SelectError::UnknownCamera(camera.to_string()))?;
    let runtime = state
        .cameras
        .get(index)
        .ok_or_else(|| SelectError::UnknownCamera(camera.to_string()))?;
    // Kept in the state: a pipeline built later applies it too.
    runtime
        .snoozed_until
        .store(until.unwrap_or(0), Ordering::Relaxed);
    if let Some(running) = running {
        apply_snooze(running, index, until.is_some());
    }
    info!(camera = %camera, until = ?until, by = ?by, "snooze");
    state.publish(&protocol::Message::Snooze(protocol::Snooze {
        camera: Cow::Borrowed(camera),
        until,
        by: by.map(Cow::Owned),
        ts: unix_ms_now(),
    }));
    Ok(())
}

/// Wakes the cameras whose snooze has run out.
fn wake_snoozed(state: &Arc<AppState>, running: &Running) {
    let now = unix_ms_now();
    for (index, cam) in state.cameras.all() {
        let until = cam.snoozed_until.load(Ordering::Relaxed);
        if until != 0 && until <= now {
            debug!(camera = %cam.id, index, "snooze ended");
            let _ = snooze(state, Some(running), &cam.id, None, None);
        }
    }
}

fn stop(running: Option<Running>) {
    let Some(r) = running else {
        return;
    };
    let (done, wait) = mpsc::channel();
    let pipeline = r.pipeline.clone();
    let bins: Vec<gst::Bin> = r.cameras.iter().flatten().map(|c| c.bin.clone()).collect();
    let stopping = r.stopping.clone();
    let _ = std::thread::Builder::new()
        .name("camwall-stop".into())
        .spawn(move || {
            // Waits for a restart in flight; none starts after this.
            *lock(&stopping) = true;
            let _ = pipeline.set_state(gst::State::Null);
            // Locked bins do not follow the pipeline's state.
            for bin in bins {
                let _ = bin.set_state(gst::State::Null);
            }
            let _ = done.send(());
        });
    if wait.recv_timeout(STOP_TIMEOUT).is_err() {
        warn!("the pipeline did not stop within {STOP_TIMEOUT:?}; leaving it behind");
    }
}
