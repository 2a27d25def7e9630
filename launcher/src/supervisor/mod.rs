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
use gstcamwall::mjpegwssink::MjpegWsSink;
use gstcamwall::protocol::{self, unix_ms_now};
use tracing::{debug, error, info, warn};

use crate::control::{Command, Control, Requests, SelectError};
use crate::health::{CameraHealth, FailureKind, Moment, Seen, Step, Timing};
use crate::state::{AppState, CameraStatus, Selection, SelectionReason};
use crate::{pipeline, sched};

mod faults;

/// How often the supervisor looks at every camera.
const TICK: Duration = Duration::from_millis(100);
/// A camera that connected but sent no frame for this long is failed and retried (long enough
/// for a keyframe interval of several seconds).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(6);
/// A camera that has not set its stream up (RTSP DESCRIBE, SETUP and PLAY answered) this long
/// after the attempt started is failed and retried: it accepted the connection and then sent
/// half an answer, or nothing.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);
/// Posted by a camera's bin when its stream ended (EOS), and by the look at the network
/// after a connection failed; carries `camera` (index), `kind` and `message`.
const CAMERA_FAILED: &str = "camwall-camera-failed";
/// Time to wait for the pipeline to stop at shutdown.
const STOP_TIMEOUT: Duration = Duration::from_millis(800);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

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
    pad: gst::Pad,
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
}

struct Running {
    pipeline: gst::Pipeline,
    selector: gst::Element,
    cameras: Vec<CameraSlot>,
    stopping: Arc<Mutex<bool>>,
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
                Some(Command::Select { camera, reply }) => {
                    let _ = reply.send(select(&state, running.as_ref(), &camera));
                }
                Some(Command::Rebuild) => {
                    stop(running.take());
                    next_build = Instant::now();
                }
                Some(Command::Element { name, reply }) => {
                    let _ = reply.send(running.as_ref().and_then(|r| {
                        r.pipeline
                            .by_name(&name)
                            .or_else(|| r.cameras.iter().find_map(|c| c.bin.by_name(&name)))
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
        }
    }
}

fn build(state: &Arc<AppState>) -> anyhow::Result<Running> {
    let config = &state.config;
    // async=false: the pipeline must reach PLAYING (clock and base time chosen) before the
    // camera bins start; nothing else can preroll the sink. forward-alarms=false: the
    // launcher publishes every camera's alarms from the bus, the shown camera's included.
    let tail = pipeline::tail(
        config,
        "",
        "mjpegwssink name=sink server-enabled=false async=false forward-alarms=false",
    );
    debug!(
        "pipeline (paste into gst-launch-1.0): {}",
        pipeline::launch_line(config, config.listen_addr().port(), false)
    );
    let pipeline = gst::parse::launch(&tail)
        .with_context(|| format!("parsing '{tail}'"))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| anyhow!("the tail is not a pipeline"))?;
    pipeline.set_property("name", "camwall");
    if let Some(bus) = pipeline.bus() {
        // Posted by a task's own thread as it ends, before the thread goes back to the pool.
        bus.set_sync_handler(|_, msg| {
            if let gst::MessageView::StreamStatus(s) = msg.view() {
                if s.get().0 == gst::StreamStatusType::Leave {
                    sched::leave();
                }
            }
            gst::BusSyncReply::Pass
        });
    }
    let selector = pipeline.by_name("sel").context("no selector")?;
    let sink = pipeline
        .by_name("sink")
        .and_then(|s| s.downcast::<MjpegWsSink>().ok())
        .context("no mjpegwssink")?;
    sink.set_feed(&state.feed);
    if config.stream.max_fps > 0 {
        limit_rate(&selector, config.stream.max_fps);
    }

    let mut cameras = Vec::new();
    let stopping = Arc::new(Mutex::new(false));
    for (index, cam) in config.enabled_cameras().enumerate() {
        // Only motionalarm's src pad is ghosted: the depayloader's sink pad must stay free for
        // the delayed link to rtspsrc's pad, which appears once the camera answers.
        let bin = gst::parse::bin_from_description(&pipeline::camera_branch(cam, index), false)
            .with_context(|| format!("camera '{}'", cam.id()))?;
        bin.set_property("name", format!("camera{index}"));
        // A decodebin inside posts ASYNC_START each time the bin restarts: the PLAYING
        // pipeline would take it as lost state and pause, and the camera would never be
        // started again. The bin commits its own async state changes instead.
        bin.set_property("async-handling", true);
        let motion_src = bin
            .by_name(&pipeline::motion_name(index))
            .and_then(|m| m.static_pad("src"))
            .context("camera branch without motionalarm")?;
        let src = gst::GhostPad::builder_with_target(&motion_src)?
            .name("src")
            .build();
        bin.add_pad(&src)?;
        let answered = Arc::new(AtomicBool::new(false));
        relink_on_reconnect(&bin, index, answered.clone())?;
        schedule_receivers(state, index, &bin);
        // A camera's bin lives its own life: a camera that cannot connect must not hold the
        // whole pipeline back from PLAYING, and restarting it must not touch the others.
        bin.set_locked_state(true);
        pipeline.add(&bin)?;
        let pad = selector
            .request_pad_simple("sink_%u")
            .context("selector gave no sink pad")?;
        pad.set_property("camera-id", cam.id());
        pad.set_property("priority", cam.priority);
        src.link(&pad)?;
        count_frames(state, index, src.upcast_ref(), bin.downgrade());
        let health = CameraHealth::new(
            timing(state),
            Moment::now(),
            state.cameras[index].frames.load(Ordering::Relaxed),
        );
        publish_status(state, index, &health);
        cameras.push(CameraSlot {
            bin,
            pad,
            health,
            answered,
            restarting: Arc::new(AtomicBool::new(false)),
            stopping: stopping.clone(),
            fps_window: (Instant::now(), 0),
        });
    }

    let running = Running {
        pipeline,
        selector,
        cameras,
        stopping,
    };
    let choice = state.selection().user_choice;
    if let Some(i) = choice.as_deref().and_then(|c| state.camera_index(c)) {
        running
            .selector
            .set_property("selected-pad", &running.cameras[i].pad);
    }
    running
        .pipeline
        .set_state(gst::State::Playing)
        .context("starting the pipeline")?;
    let (result, current, _) = running.pipeline.state(gst::ClockTime::from_seconds(2));
    if result.is_err() || current != gst::State::Playing {
        return Err(anyhow!("the pipeline did not reach PLAYING"));
    }
    for slot in &running.cameras {
        restart_bin(slot);
    }
    info!(cameras = running.cameras.len(), "pipeline playing");
    Ok(running)
}

/// Links every new pad of the camera's elements that make pads as streams appear (rtspsrc,
/// and decodebin for `codec = "auto"`) to the element after it. gst-launch's delayed link gives
/// up after its first success, and these elements make new pads each time the bin restarts:
/// without this, a camera that streamed once and dropped would come back to a dead end
/// (`not-linked`) forever.
fn relink_on_reconnect(
    bin: &gst::Bin,
    index: usize,
    answered: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let source = bin
        .by_name(&pipeline::source_name(index))
        .context("camera branch without rtspsrc")?;
    let decodebin = bin
        .iterate_elements()
        .into_iter()
        .flatten()
        .find(|e| e.type_().name() == "GstDecodeBin");
    // The sink pads left unlinked after parsing: the one rtspsrc feeds (the depayloader's or
    // decodebin's) and, after decodebin, the converter's.
    let free: Vec<gst::Pad> = bin
        .iterate_elements()
        .into_iter()
        .flatten()
        .filter(|e| e != &source)
        .filter_map(|e| e.static_pad("sink").filter(|p| !p.is_linked()))
        .collect();
    let sink = match &decodebin {
        Some(d) => {
            let d_sink = d.static_pad("sink").context("decodebin without sink pad")?;
            let after = free
                .iter()
                .find(|p| **p != d_sink)
                .context("nothing after decodebin")?
                .clone();
            link_each_new_pad(d, after);
            d_sink
        }
        None => match free.as_slice() {
            [one] => one.clone(),
            _ => anyhow::bail!("camera branch without one free sink pad for rtspsrc"),
        },
    };
    // Cameras send audio and metadata tracks too: set up the first video stream only, so
    // that nothing else reaches the decoder and no bandwidth goes to what is not shown.
    // Called on rtspsrc's thread for each stream of each session, in order.
    let picked: Arc<Mutex<Option<u32>>> = Arc::default();
    source.connect("select-stream", false, move |args| {
        let num = args[1].get::<u32>().unwrap_or(u32::MAX);
        let caps = args[2].get::<gst::Caps>().ok();
        let video = caps
            .as_ref()
            .and_then(|c| c.structure(0))
            .and_then(|s| s.get::<&str>("media").ok())
            .is_some_and(|m| m == "video");
        let mut picked = lock(&picked);
        // A new session numbers its streams from 0 again.
        if num == 0 || picked.is_some_and(|p| num < p) {
            *picked = None;
        }
        let take = video && picked.is_none_or(|p| p == num);
        if take {
            *picked = Some(num);
        }
        Some(take.to_value())
    });
    source.connect_pad_added(move |_, _| answered.store(true, Ordering::Release));
    link_each_new_pad(&source, sink);
    Ok(())
}

/// Links each new source pad of `element` to `sink` while `sink` is free.
fn link_each_new_pad(element: &gst::Element, sink: gst::Pad) {
    element.connect_pad_added(move |_, pad| {
        if pad.direction() == gst::PadDirection::Src && !sink.is_linked() {
            if let Err(e) = pad.link(&sink) {
                debug!("not linking {} ({e:?})", pad.name());
            }
        }
    });
}

/// Drops frames that come faster than `max_fps`, but never the first frame after a switch
/// (the `title` tag announces it), so a switch is never delayed.
fn limit_rate(selector: &gst::Element, max_fps: u32) {
    let Some(src) = selector.static_pad("src") else {
        return;
    };
    // 90 % of the interval, so jitter in a camera that runs at exactly max_fps drops nothing.
    let min_gap = gst::ClockTime::from_nseconds(900_000_000 / u64::from(max_fps));
    let last: Arc<Mutex<(Option<gst::ClockTime>, bool)>> = Arc::new(Mutex::new((None, true)));
    src.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |_, info| {
            let mut last = lock(&last);
            if let Some(ev) = info.event() {
                if matches!(
                    ev.view(),
                    gst::EventView::Tag(_) | gst::EventView::FlushStop(_)
                ) {
                    last.1 = true;
                }
                return gst::PadProbeReturn::Ok;
            }
            let Some(pts) = info.buffer().and_then(|b| b.pts()) else {
                return gst::PadProbeReturn::Ok;
            };
            match last.0 {
                Some(prev) if !last.1 && pts.saturating_sub(prev) < min_gap => {
                    gst::PadProbeReturn::Drop
                }
                _ => {
                    *last = (Some(pts), false);
                    gst::PadProbeReturn::Ok
                }
            }
        },
    );
}

/// Puts the threads that receive a camera's packets in the scheduling class for whether it is
/// on screen (see [`sched`]); its decoding thread is moved by [`count_frames`]. rtspsrc makes
/// new receivers on every reconnection, so each one is caught as it is added.
fn schedule_receivers(state: &Arc<AppState>, index: usize, bin: &gst::Bin) {
    let state = state.clone();
    bin.connect_deep_element_added(move |_, _, element| {
        if element.factory().is_none_or(|f| f.name() != "udpsrc") {
            return;
        }
        let Some(src) = element.static_pad("src") else {
            return;
        };
        let state = state.clone();
        src.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
            move |_, _| {
                sched::enter(sched::Role::of(state.is_shown(index)));
                gst::PadProbeReturn::Ok
            },
        );
    });
}

fn count_frames(state: &Arc<AppState>, index: usize, src: &gst::Pad, bin: glib::WeakRef<gst::Bin>) {
    let state = state.clone();
    src.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |pad, info| {
            let Some(cam) = state.cameras.get(index) else {
                return gst::PadProbeReturn::Remove;
            };
            if let Some(buffer) = info.buffer() {
                cam.taps.frame(pad, buffer);
                sched::enter(sched::Role::of(state.is_shown(index)));
            }
            if let Some(ev) = info.event() {
                // The camera ended its stream (its server closed the session): say so now,
                // not when the stall timer runs out.
                if let (gst::EventView::Eos(_), Some(bin)) = (ev.view(), bin.upgrade()) {
                    post_failure(
                        &bin,
                        index,
                        FailureKind::Stalled,
                        "the camera ended the stream",
                    );
                }
                if let gst::EventView::Caps(c) = ev.view() {
                    cam.taps.caps(c.caps_owned());
                    if let Ok(vi) = gst_video::VideoInfo::from_caps(c.caps()) {
                        cam.width.store(vi.width(), Ordering::Relaxed);
                        cam.height.store(vi.height(), Ordering::Relaxed);
                    }
                }
            } else {
                cam.frame_seen();
            }
            gst::PadProbeReturn::Ok
        },
    );
}

/// Index of the camera whose bin holds `obj`, if any.
fn camera_of(running: &Running, obj: &gst::Object) -> Option<usize> {
    let mut cur = Some(obj.clone());
    while let Some(o) = cur {
        if let Some(i) = running
            .cameras
            .iter()
            .position(|c| c.bin.upcast_ref::<gst::Object>() == &o)
        {
            return Some(i);
        }
        cur = o.parent();
    }
    None
}

/// Handles one bus message. Returns `true` when the whole pipeline must be rebuilt.
fn handle_message(
    state: &Arc<AppState>,
    running: Option<&mut Running>,
    msg: &gst::Message,
) -> bool {
    let Some(running) = running else {
        return false;
    };
    crate::taps::count_decode_error(msg, |o| {
        camera_of(running, o)
            .and_then(|i| state.cameras.get(i))
            .map(|c| &c.taps)
    });
    match msg.view() {
        gst::MessageView::Error(e) => {
            let src = msg
                .src()
                .map(|s| s.path_string().to_string())
                .unwrap_or_default();
            let text = mask_urls_in(state, &format!("{} ({src})", e.error()));
            match msg.src().and_then(|s| camera_of(running, s)) {
                Some(i) => {
                    let debug = e.debug().map(|d| d.to_string());
                    match faults::classify_error(&e.error(), debug.as_deref()) {
                        Some(kind) => camera_failed(state, running, i, kind, &text),
                        None => look_at_network(state, running, i),
                    }
                    false
                }
                None => {
                    error!("pipeline error: {text}");
                    true
                }
            }
        }
        gst::MessageView::Warning(w) => {
            let text = mask_urls_in(state, &w.error().to_string());
            let debug = w.debug().map(|d| d.to_string());
            match msg.src().and_then(|s| camera_of(running, s)) {
                Some(i) if faults::warning_ends_session(&w.error(), debug.as_deref()) => {
                    let why = "the server closed the connection";
                    camera_failed(state, running, i, FailureKind::Stalled, why);
                }
                _ => warn!("{text}"),
            }
            false
        }
        gst::MessageView::Application(a) => {
            if let Some(s) = a.structure().filter(|s| s.name() == CAMERA_FAILED) {
                let index = s.get::<u32>("camera").ok().map(|i| i as usize);
                let kind = s
                    .get::<&str>("kind")
                    .ok()
                    .and_then(|k| FailureKind::ALL.into_iter().find(|f| f.as_str() == k));
                let message = s.get::<&str>("message").unwrap_or_default().to_string();
                if let (Some(i), Some(kind)) = (index.filter(|i| *i < running.cameras.len()), kind)
                {
                    camera_failed(state, running, i, kind, &message);
                }
            }
            false
        }
        gst::MessageView::Eos(_) => {
            warn!("the pipeline ended (every camera stopped); rebuilding");
            true
        }
        gst::MessageView::Element(_) => {
            if let Some(Ok(alarm)) = Alarm::from_message(msg) {
                on_alarm(state, &alarm);
            } else if let Some(Ok(sw)) = SelectorSwitched::from_message(msg) {
                on_switch(state, &sw);
            }
            false
        }
        _ => false,
    }
}

fn mask_urls_in(state: &AppState, text: &str) -> String {
    let mut out = text.to_string();
    for cam in state.config.enabled_cameras() {
        out = out.replace(cam.url(), &crate::config::mask_url(cam.url()));
    }
    out
}

fn on_alarm(state: &Arc<AppState>, alarm: &Alarm) {
    let Some(i) = state.camera_index(&alarm.camera_id) else {
        return;
    };
    info!(camera = %alarm.camera_id, active = alarm.active, level = alarm.level, "alarm");
    state.set_alarm(i, alarm.active);
    state.publish(&protocol::Message::Alarm(protocol::Alarm::from(alarm)));
}

fn on_switch(state: &Arc<AppState>, sw: &SelectorSwitched) {
    let camera = (!sw.camera_id.is_empty()).then(|| sw.camera_id.clone());
    info!(camera = %sw.camera_id, previous = %sw.previous, reason = %sw.reason, "switched");
    state.update_selection(|s| {
        s.camera = camera;
        s.reason = if sw.reason == SwitchReason::Alarm {
            SelectionReason::Alarm
        } else {
            SelectionReason::User
        };
        s.detail = Some(sw.reason.as_str().to_string());
    });
    state.publish(&protocol::Message::Switch(protocol::Switch {
        camera: Cow::Borrowed(&sw.camera_id),
        previous: Cow::Borrowed(&sw.previous),
        reason: Cow::Borrowed(sw.reason.as_str()),
        ts: unix_ms_now(),
    }));
}

fn select(
    state: &Arc<AppState>,
    running: Option<&Running>,
    camera: &str,
) -> Result<Selection, SelectError> {
    let index = state
        .camera_index(camera)
        .ok_or_else(|| SelectError::UnknownCamera(camera.to_string()))?;
    state.update_selection(|s| s.user_choice = Some(camera.to_string()));
    let running = running.ok_or(SelectError::NotRunning)?;
    running
        .selector
        .set_property("selected-pad", &running.cameras[index].pad);
    // The switch (if any) has happened by now; its bus message comes later, the answer now.
    let active = running.selector.property::<Option<gst::Pad>>("active-pad");
    let active_index = active.and_then(|a| running.cameras.iter().position(|c| c.pad == a));
    Ok(state.update_selection(|s| {
        if let Some(i) = active_index {
            let id = state.cameras[i].id.clone();
            if i == index {
                s.reason = SelectionReason::User;
            }
            s.camera = Some(id);
        }
    }))
}

/// The camera time limits the configuration sets.
fn timing(state: &AppState) -> Timing {
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

fn publish_status(state: &AppState, index: usize, health: &CameraHealth) {
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
fn post_failure(bin: &gst::Bin, index: usize, kind: FailureKind, message: &str) {
    let s = gst::Structure::builder(CAMERA_FAILED)
        .field("camera", index as u32)
        .field("kind", kind.as_str())
        .field("message", message)
        .build();
    let _ = bin.post_message(gst::message::Application::builder(s).src(bin).build());
}

/// A connection to camera `index` could not be made: looks at the network on its own thread
/// (it may take a second) to tell a refused port from an unreachable host, then reports.
fn look_at_network(state: &AppState, running: &Running, index: usize) {
    let Some(cam) = state.config.enabled_cameras().nth(index) else {
        return;
    };
    let url = cam.url().to_string();
    let bin = running.cameras[index].bin.clone();
    let _ = std::thread::Builder::new()
        .name("camwall-probe".into())
        .spawn(move || {
            let (kind, message) = faults::reachability(&url);
            post_failure(&bin, index, kind, &message);
        });
}

fn seen(state: &AppState, slot: &CameraSlot, index: usize) -> Seen {
    let cam = &state.cameras[index];
    let age = cam.last_frame_age_ms().map(Duration::from_millis);
    Seen {
        frames: cam.frames.load(Ordering::Relaxed),
        last_frame: age.and_then(|a| Instant::now().checked_sub(a)),
        answered: slot.answered.load(Ordering::Acquire),
        restarting: slot.restarting.load(Ordering::Acquire),
    }
}

fn camera_failed(
    state: &Arc<AppState>,
    running: &mut Running,
    index: usize,
    kind: FailureKind,
    why: &str,
) {
    let seen = seen(state, &running.cameras[index], index);
    let step = running.cameras[index]
        .health
        .failed(Moment::now(), kind, why, seen);
    apply(state, &mut running.cameras[index], index, step);
}

/// Carries out what a camera's health decided.
fn apply(state: &AppState, slot: &mut CameraSlot, index: usize, step: Step) {
    let cam = &state.cameras[index];
    match step {
        Step::Stay => return,
        Step::Live => info!(camera = %cam.id, "camera live"),
        Step::Offline { retry_in } => {
            let (kind, why) = slot
                .health
                .error()
                .map(|e| (e.kind.as_str(), e.message.as_str()))
                .unwrap_or_default();
            if let Some(e) = slot.health.error() {
                cam.count_failure(e.kind);
            }
            warn!(
                camera = %cam.id,
                kind,
                retry_in_ms = retry_in.as_millis() as u64,
                "camera failed: {why}"
            );
        }
        Step::Restart => {
            slot.answered.store(false, Ordering::Release);
            cam.reconnects.fetch_add(1, Ordering::Relaxed);
            restart_bin(slot);
        }
    }
    publish_status(state, index, &slot.health);
}

fn watch_cameras(state: &Arc<AppState>, running: &mut Running) {
    let now = Moment::now();
    for (index, slot) in running.cameras.iter_mut().enumerate() {
        let cam = &state.cameras[index];
        let frames = cam.frames.load(Ordering::Relaxed);
        if now.at.duration_since(slot.fps_window.0) >= Duration::from_secs(1) {
            let (t0, f0) = slot.fps_window;
            let fps = (frames - f0.min(frames)) as f64 / now.at.duration_since(t0).as_secs_f64();
            cam.fps_x100.store((fps * 100.0) as u32, Ordering::Relaxed);
            slot.fps_window = (now.at, frames);
        }
        let seen = seen(state, slot, index);
        let step = slot.health.tick(now, seen);
        apply(state, slot, index, step);
    }
}

/// Restarts a camera's bin on its own thread: rtspsrc may take a while to let go of a dead
/// connection, and the other cameras must not wait for it.
fn restart_bin(slot: &CameraSlot) {
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
            // A pipeline on its way down (shutdown, rebuild) must not get a bin started behind
            // its back: the bin would be disposed in PLAYING, its threads still running.
            let parent = bin.parent().and_downcast::<gst::Element>().filter(|p| {
                let (_, current, pending) = p.state(gst::ClockTime::ZERO);
                current == gst::State::Playing
                    && matches!(pending, gst::State::VoidPending | gst::State::Playing)
            });
            // Same clock and base time as the pipeline, so its running times match the others'.
            if let Some(parent) = parent {
                bin.set_clock(parent.clock().as_ref()).ok();
                bin.set_base_time(parent.base_time().unwrap_or(gst::ClockTime::ZERO));
                bin.set_start_time(gst::ClockTime::NONE);
                if let Err(e) = bin.set_state(gst::State::Playing) {
                    warn!("cannot start {}: {e}", bin.name());
                }
            }
            busy.store(false, Ordering::Release);
        });
}

fn stop(running: Option<Running>) {
    let Some(r) = running else {
        return;
    };
    let (done, wait) = mpsc::channel();
    let pipeline = r.pipeline.clone();
    let bins: Vec<gst::Bin> = r.cameras.iter().map(|c| c.bin.clone()).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_camera_a_switch_names_counts_as_shown() {
        let config = crate::config::Config::parse(
            "t.toml",
            "[[camera]]\nid = \"a\"\nurl = \"rtsp://x/a\"\n\
             [[camera]]\nid = \"b\"\nurl = \"rtsp://x/b\"\n\
             [[camera]]\nid = \"c\"\nurl = \"rtsp://x/c\"\n",
        )
        .unwrap();
        let state = AppState::new(config);
        let shown = || (0..3).map(|i| state.is_shown(i)).collect::<Vec<_>>();
        assert_eq!(shown(), [false, false, false]);
        let switch = |camera_id: &str, reason| SelectorSwitched {
            camera_id: camera_id.to_string(),
            previous: String::new(),
            reason,
            running_time: None,
        };
        on_switch(&state, &switch("b", SwitchReason::User));
        assert_eq!(shown(), [false, true, false]);
        on_switch(&state, &switch("c", SwitchReason::Alarm));
        assert_eq!(shown(), [false, false, true]);
        // Nothing forwarded (the last pad went away): every camera's threads are hidden ones.
        on_switch(&state, &switch("", SwitchReason::PadRemoved));
        assert_eq!(shown(), [false, false, false]);
    }
}
