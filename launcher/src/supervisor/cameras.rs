// SPDX-License-Identifier: MIT OR Apache-2.0

//! Each camera's health at work: failures and ticks go in, restarts of its bin and its
//! published status come out.

use super::*;

/// A camera that connected but sent no frame for this long is failed and retried (long enough
/// for a keyframe interval of several seconds).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(6);
/// A camera that has not set its stream up (RTSP DESCRIBE, SETUP and PLAY answered) this long
/// after the attempt started is failed and retried: it accepted the connection and then sent
/// half an answer, or nothing.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);
/// Posted by a camera's bin when its stream ended (EOS), and by the look at the network
/// after a connection failed; carries `camera` (index), `kind` and `message`, and `attempt`
/// when it is not the newest on the bus.
pub(super) const CAMERA_FAILED: &str = "camwall-camera-failed";
/// Posted by a restart once the bin's previous session is stopped, before the new attempt
/// starts; carries `camera` (index) and `attempt`. Everything the bus said of the camera
/// before it is of the session before.
pub(super) const CAMERA_ATTEMPT: &str = "camwall-camera-attempt";

/// The camera time limits the configuration sets.
pub(super) fn timing(state: &AppState) -> Timing {
    let config = &state.config;
    let stall = Duration::from_millis(u64::from(*config.selector.stall_timeout_ms.get_ref()));
    Timing {
        answer_timeout: ANSWER_TIMEOUT,
        frame_timeout: CONNECT_TIMEOUT,
        // A second more than the selector's, which passes over the camera first.
        stall_timeout: stall + Duration::from_secs(1),
        initial_backoff: Duration::from_millis(u64::from(*config.reconnect.initial_ms.get_ref())),
        max_backoff: Duration::from_millis(u64::from(*config.reconnect.max_ms.get_ref())),
    }
}

pub(super) fn publish_status(state: &AppState, index: usize, health: &CameraHealth) {
    state.set_camera_status(
        index,
        CameraStatus {
            state: health.state(),
            offline_since: health.offline_since(),
            error: health.error().cloned(),
        },
    );
}

/// Posts a camera's failure on the bus from any thread; the supervisor acts on it in order
/// with the pipeline's own messages.
pub(super) fn post_failure(
    bin: &gst::Bin,
    index: usize,
    attempt: Option<u64>,
    kind: FailureKind,
    message: &str,
) {
    let s = gst::Structure::builder(CAMERA_FAILED)
        .field("camera", index as u32)
        .field("kind", kind.as_str())
        .field("message", message)
        .field_if_some("attempt", attempt)
        .build();
    let _ = bin.post_message(gst::message::Application::builder(s).src(bin).build());
}

/// A connection to camera `index` could not be made: looks at the network on its own thread
/// (it may take a second) to tell a refused port from an unreachable host, then reports.
pub(super) fn look_at_network(state: &AppState, running: &Running, index: usize) {
    let (Some(cam), Some(slot)) = (state.cameras.get(index), running.camera(index)) else {
        return;
    };
    // A connection of the session before, stopped by a restart: nothing to look at.
    if slot.is_stale(None) {
        return;
    }
    let url = cam.config.url().to_string();
    let bin = slot.bin.clone();
    let attempt = slot.attempt;
    let _ = std::thread::Builder::new()
        .name("camwall-probe".into())
        .spawn(move || {
            let (kind, message) = faults::reachability(&url);
            post_failure(&bin, index, Some(attempt), kind, &message);
        });
}

fn seen(cam: &CameraRuntime, slot: &CameraSlot) -> Seen {
    let age = cam.last_frame_age_ms().map(Duration::from_millis);
    Seen {
        frames: cam.frames.load(Ordering::Relaxed),
        last_frame: age.and_then(|a| Instant::now().checked_sub(a)),
        answered: slot.answered.load(Ordering::Acquire),
        restarting: slot.restarting.load(Ordering::Acquire),
    }
}

pub(super) fn camera_failed(
    state: &Arc<AppState>,
    running: &mut Running,
    index: usize,
    attempt: Option<u64>,
    kind: FailureKind,
    why: &str,
) {
    let (Some(cam), Some(slot)) = (state.cameras.get(index), running.camera_mut(index)) else {
        return;
    };
    // The session before, stopped by the restart, saying how it ended (its server closed the
    // connection, then its stream's EOS): over already, and no failure of the new attempt.
    if slot.is_stale(attempt) {
        debug!(camera = %cam.id, kind = kind.as_str(), "the session before: {why}");
        return;
    }
    let seen = seen(&cam, slot);
    let step = slot.health.failed(Moment::now(), kind, why, seen);
    apply(state, &cam, slot, index, step);
}

/// Carries out what a camera's health decided.
fn apply(state: &AppState, cam: &CameraRuntime, slot: &mut CameraSlot, index: usize, step: Step) {
    match step {
        Step::Stay => return,
        Step::Live => info!(camera = %cam.id, "camera live"),
        Step::Offline { retry_in } => {
            // A failure always leaves its error behind.
            if let Some(e) = slot.health.error() {
                cam.count_failure(e.kind);
                warn!(
                    camera = %cam.id,
                    kind = e.kind.as_str(),
                    retry_in_ms = retry_in.as_millis() as u64,
                    "camera failed: {}",
                    e.message
                );
            }
        }
        Step::Restart => {
            slot.answered.store(false, Ordering::Release);
            cam.reconnects.fetch_add(1, Ordering::Relaxed);
            restart_bin(slot, index);
        }
    }
    publish_status(state, index, &slot.health);
    // Retried at once (it had been live a while): now, not at the next tick.
    if step
        == (Step::Offline {
            retry_in: Duration::ZERO,
        })
    {
        let now = slot.health.tick(Moment::now(), seen(cam, slot));
        apply(state, cam, slot, index, now);
    }
}

pub(super) fn watch_cameras(state: &Arc<AppState>, running: &mut Running) {
    let now = Moment::now();
    for (index, slot) in running.cameras.iter_mut().enumerate() {
        let (Some(slot), Some(cam)) = (slot.as_mut(), state.cameras.get(index)) else {
            continue;
        };
        let frames = cam.frames.load(Ordering::Relaxed);
        if now.at.duration_since(slot.fps_window.0) >= Duration::from_secs(1) {
            let (t0, f0) = slot.fps_window;
            let fps = (frames - f0.min(frames)) as f64 / now.at.duration_since(t0).as_secs_f64();
            cam.fps_x100.store((fps * 100.0) as u32, Ordering::Relaxed);
            slot.fps_window = (now.at, frames);
        }
        let seen = seen(&cam, slot);
        let step = slot.health.tick(now, seen);
        apply(state, &cam, slot, index, step);
    }
}

/// Restarts a camera's bin (camera `index`) on its own thread: rtspsrc may take a while to let
/// go of a dead connection, and the other cameras must not wait for it. A new attempt.
pub(super) fn restart_bin(slot: &mut CameraSlot, index: usize) {
    slot.attempt += 1;
    let attempt = slot.attempt;
    let bin = slot.bin.clone();
    let busy = slot.restarting.clone();
    let stopping = slot.stopping.clone();
    busy.store(true, Ordering::Release);
    let _ = std::thread::Builder::new()
        .name("camwall-restart".into())
        .spawn(move || {
            let stopping = lock(&stopping);
            if *stopping {
                busy.store(false, Ordering::Release);
                return;
            }
            let _ = bin.set_state(gst::State::Null);
            // The session before is stopped: what the bus says of the camera from here on is
            // of the new attempt.
            let s = gst::Structure::builder(CAMERA_ATTEMPT)
                .field("camera", index as u32)
                .field("attempt", attempt)
                .build();
            let _ = bin.post_message(gst::message::Application::builder(s).src(&bin).build());
            // A pipeline on its way down (shutdown, rebuild) must not get a bin started behind
            // its back: the bin would be disposed in PLAYING, its threads still running.
            let parent = bin.parent().and_downcast::<gst::Element>().filter(|p| {
                let (_, current, pending) = p.state(gst::ClockTime::ZERO);
                current == gst::State::Playing
                    && matches!(pending, gst::State::VoidPending | gst::State::Playing)
            });
            // Same clock and base time as the pipeline, so its running times match the others'.
            match parent {
                Some(parent) => {
                    bin.set_clock(parent.clock().as_ref()).ok();
                    bin.set_base_time(parent.base_time().unwrap_or(gst::ClockTime::ZERO));
                    bin.set_start_time(gst::ClockTime::NONE);
                    if let Err(e) = bin.set_state(gst::State::Playing) {
                        warn!("cannot start {}: {e}", bin.name());
                    }
                }
                // Not a shutdown or a rebuild (those set `stopping` first): say so, rather
                // than leave the camera to time out with no word of why.
                None => warn!("not starting {}: the pipeline is not playing", bin.name()),
            }
            busy.store(false, Ordering::Release);
        });
}
