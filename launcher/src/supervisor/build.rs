// SPDX-License-Identifier: MIT OR Apache-2.0

//! Building the pipeline: the tail once, one locked bin per camera, and the probes and
//! signal handlers that keep each camera's links, frame count and thread class right.

use super::*;
use crate::state::ENCODE_GRACE;

pub(super) fn build(state: &Arc<AppState>) -> anyhow::Result<Running> {
    let config = &state.config;
    let wall_configs = config.walls();
    // Every wall's tail in one description. async=false: the pipeline must reach PLAYING
    // (clock and base time chosen) before the camera bins start; nothing else can preroll the
    // sinks. forward-alarms=false: the launcher publishes every camera's alarms from the bus.
    let tails: Vec<String> = wall_configs
        .iter()
        .enumerate()
        .map(|(position, wall)| {
            let sink = pipeline::wall_names(position, wall).1;
            pipeline::wall_tail(
                config,
                position,
                wall,
                "",
                &format!(
                    "mjpegwssink name={sink} server-enabled=false async=false forward-alarms=false"
                ),
            )
        })
        .collect();
    let tail = tails.join("  ");
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
    let mut walls = Vec::new();
    for (position, wall) in wall_configs.iter().enumerate() {
        let (sel_name, sink_name) = pipeline::wall_names(position, wall);
        let selector = pipeline
            .by_name(&sel_name)
            .with_context(|| format!("no selector {sel_name}"))?;
        let sink = pipeline
            .by_name(&sink_name)
            .and_then(|s| s.downcast::<MjpegWsSink>().ok())
            .with_context(|| format!("no mjpegwssink {sink_name}"))?;
        let runtime = &state.walls[position];
        sink.set_feed(&runtime.feed);
        let out = selector.static_pad("src").context("selector without src")?;
        if config.stream.max_fps > 0 {
            limit_rate(&out, config.stream.max_fps, true);
        }
        // After the selector, a tee: the JPEG branch (in the description) and the H.264 one.
        let tee = pipeline
            .by_name(&pipeline::wall_tee_name(position))
            .context("no tee after the selector")?;
        let jpeg_pad = tee
            .src_pads()
            .into_iter()
            .next()
            .context("the tee has no JPEG branch")?;
        encode_while_watched(&jpeg_pad, runtime.feed.clone());
        let sink = pipeline::h264_sink_name(position);
        add_h264_branch(
            &pipeline,
            &tee,
            &pipeline::h264_branch(config, &sink, None),
            &sink,
            &runtime.h264,
        )?;
        walls.push(WallSlot {
            selector,
            pads: Vec::new(),
        });
    }

    let mut running = Running {
        pipeline,
        walls,
        cameras: Vec::new(),
        stopping: Arc::new(Mutex::new(false)),
    };
    for (index, _) in state.cameras.all() {
        add_camera(state, &mut running, index)?;
    }
    // Each wall starts on its user's choice (kept across rebuilds).
    for (slot, runtime) in running.walls.iter().zip(&state.walls) {
        let choice = runtime.selection().user_choice;
        if let Some(pad) = choice
            .as_deref()
            .and_then(|c| state.camera_index(c))
            .and_then(|i| slot.pad(i))
        {
            slot.selector.set_property("selected-pad", pad);
        }
    }
    running
        .pipeline
        .set_state(gst::State::Playing)
        .context("starting the pipeline")?;
    let (result, current, _) = running.pipeline.state(gst::ClockTime::from_seconds(2));
    if result.is_err() || current != gst::State::Playing {
        return Err(anyhow!("the pipeline did not reach PLAYING"));
    }
    for (index, slot) in running.cameras.iter_mut().enumerate() {
        if let Some(slot) = slot {
            restart_bin(slot, index);
        }
    }
    info!(cameras = state.cameras.count(), "pipeline playing");
    Ok(running)
}

/// Adds camera `index` of the state to `running`: its locked bin (not started: see
/// [`restart_bin`]), the tee after it, its peek and thumbnail branches, and a pad on each wall
/// that shows it. In a pipeline already playing, the new elements other than the bin start
/// at once.
pub(super) fn add_camera(
    state: &Arc<AppState>,
    running: &mut Running,
    index: usize,
) -> anyhow::Result<()> {
    let config = &state.config;
    let runtime = state
        .cameras
        .get(index)
        .with_context(|| format!("no camera at {index}"))?;
    let cam = &runtime.config;
    let pipeline = running.pipeline.clone();
    // Only motionalarm's src pad is ghosted: the depayloader's sink pad must stay free for
    // the delayed link to rtspsrc's pad, which appears once the camera answers.
    let bin = gst::parse::bin_from_description(&pipeline::camera_branch(cam, index), false)
        .with_context(|| format!("camera '{}'", cam.id()))?;
    bin.set_property("name", format!("camera{index}"));
    note_decoder(&runtime, cam, &bin);
    // A decodebin inside posts ASYNC_START each time the bin restarts: the PLAYING
    // pipeline would take it as lost state and pause, and the camera would never be
    // started again. The bin commits its own async state changes instead.
    bin.set_property("async-handling", true);
    let motion_src = bin
        .by_name(&pipeline::motion_name(index))
        .and_then(|m| m.static_pad("src"))
        .context("camera branch without motionalarm")?;
    let out = match bin.by_name(&pipeline::merge_name(index)) {
        Some(merge) => gate_main_stream(state, &runtime, index, &bin, &merge, &motion_src)?,
        None => motion_src,
    };
    let src = gst::GhostPad::builder_with_target(&out)?
        .name("src")
        .build();
    bin.add_pad(&src)?;
    let answered = Arc::new(AtomicBool::new(false));
    relink_on_reconnect(&bin, &pipeline::camera_links(cam, index), answered.clone())?;
    schedule_receivers(state, index, &bin);
    // A camera's bin lives its own life: a camera that cannot connect must not hold the
    // whole pipeline back from PLAYING, and restarting it must not touch the others.
    bin.set_locked_state(true);
    pipeline.add(&bin)?;
    // A tee hands each frame to every wall showing the camera and to its peek branch.
    let tee = gst::ElementFactory::make("tee")
        .name(pipeline::tee_name(index))
        .property("allow-not-linked", true)
        .build()?;
    pipeline.add(&tee)?;
    let mut elements = vec![tee.clone()];
    src.link(&tee.static_pad("sink").context("tee without sink pad")?)?;
    // Its peek (`/ws?camera=ID`) and its overview thumbnail (`/ws/grid`).
    elements.push(add_side_branch(
        &pipeline,
        &tee,
        index,
        SideBranch {
            what: "peek",
            description: pipeline::peek_branch(config, index, cam.id()),
            sink: pipeline::peek_name(index),
            feed: &runtime.peek,
            max_fps: config.stream.max_fps,
        },
    )?);
    // The peek in H.264 too (`/ws?camera=ID&video=h264`), encoded only while watched.
    let sink = pipeline::h264_peek_name(index);
    elements.push(add_h264_branch(
        &pipeline,
        &tee,
        &pipeline::h264_branch(config, &sink, Some(cam.id())),
        &sink,
        &runtime.peek_h264,
    )?);
    elements.push(add_side_branch(
        &pipeline,
        &tee,
        index,
        SideBranch {
            what: "thumb",
            description: pipeline::thumb_branch(config, index, cam.id()),
            sink: pipeline::thumb_name(index),
            feed: &runtime.thumb,
            max_fps: *config.stream.thumb_fps.get_ref(),
        },
    )?);
    count_frames(&runtime, state, index, src.upcast_ref(), bin.downgrade());
    let health = CameraHealth::new(
        timing(state),
        Moment::now(),
        runtime.frames.load(Ordering::Relaxed),
    );
    publish_status(state, index, &health);
    if running.cameras.len() <= index {
        running.cameras.resize_with(index + 1, || None);
    }
    running.cameras[index] = Some(CameraSlot {
        bin,
        tee,
        elements,
        health,
        answered,
        restarting: Arc::new(AtomicBool::new(false)),
        stopping: running.stopping.clone(),
        fps_window: (Instant::now(), 0),
        attempt: 0,
        bus_attempt: 0,
    });
    for position in 0..running.walls.len() {
        if state.walls[position].has(index) {
            link_to_wall(state, running, position, index)?;
        }
    }
    // A pipeline already playing: the new branches start now (the bin by `restart_bin`).
    let (_, current, _) = pipeline.state(gst::ClockTime::ZERO);
    if current == gst::State::Playing {
        if let Some(slot) = &running.cameras[index] {
            for element in &slot.elements {
                element.sync_state_with_parent()?;
            }
        }
    }
    Ok(())
}

/// Gives camera `index` a pad on wall `position`'s selector, fed by the camera's tee.
pub(super) fn link_to_wall(
    state: &AppState,
    running: &mut Running,
    position: usize,
    index: usize,
) -> anyhow::Result<()> {
    let (Some(slot), Some(runtime)) = (
        running.cameras.get(index).and_then(Option::as_ref),
        state.cameras.get(index),
    ) else {
        return Ok(());
    };
    let wall = &mut running.walls[position];
    if wall.pad(index).is_some() {
        return Ok(());
    }
    let pad = wall
        .selector
        .request_pad_simple("sink_%u")
        .context("selector gave no sink pad")?;
    pad.set_property("camera-id", runtime.id.as_str());
    pad.set_property("priority", runtime.priority);
    pad.set_property("snoozed", runtime.snoozed_until().is_some());
    slot.tee
        .request_pad_simple("src_%u")
        .context("tee gave no src pad")?
        .link(&pad)?;
    if wall.pads.len() <= index {
        wall.pads.resize(index + 1, None);
    }
    wall.pads[index] = Some(pad);
    Ok(())
}

/// Takes camera `index`'s pad off wall `position`'s selector (and its tee's pad with it).
pub(super) fn unlink_from_wall(running: &mut Running, position: usize, index: usize) {
    let wall = &mut running.walls[position];
    let Some(pad) = wall.pads.get_mut(index).and_then(Option::take) else {
        return;
    };
    let from = pad.peer();
    if let Some(from) = &from {
        let _ = from.unlink(&pad);
    }
    wall.selector.release_request_pad(&pad);
    if let (Some(from), Some(tee)) = (from, running.cameras.get(index).and_then(Option::as_ref)) {
        tee.tee.release_request_pad(&from);
    }
}

/// A camera with a sub-stream: sets up its main stream's gate (see [`gate`]) in `bin`, whose
/// main and sub-stream meet in the funnel `merge`; `detection` is the sub-stream's
/// `motionalarm`'s output. Answers the funnel's output.
fn gate_main_stream(
    state: &Arc<AppState>,
    runtime: &Arc<CameraRuntime>,
    index: usize,
    bin: &gst::Bin,
    merge: &gst::Element,
    detection: &gst::Pad,
) -> anyhow::Result<gst::Pad> {
    let gate = gate::MainGate::new();
    let at_gate = bin
        .by_name(&pipeline::gate_name(index))
        .and_then(|g| g.static_pad("src"))
        .context("camera branch without its main stream's gate")?;
    let weak = Arc::downgrade(state);
    gate.guard(&at_gate, move || {
        weak.upgrade().is_some_and(|s| s.main_wanted(index))
    });
    let decoded = merge
        .sink_pads()
        .into_iter()
        .filter_map(|p| p.peer())
        .find(|p| p != detection)
        .context("the funnel has no main stream")?;
    let cam = Arc::downgrade(runtime);
    gate.after_decoder(&decoded, move |width, height| {
        if let Some(cam) = cam.upgrade() {
            cam.main_width.store(width, Ordering::Relaxed);
            cam.main_height.store(height, Ordering::Relaxed);
        }
    });
    gate.after_detection(detection, merge);
    merge.static_pad("src").context("funnel without src pad")
}

/// Links every new pad of the camera's elements that make pads as streams appear (rtspsrc,
/// and decodebin or parsebin for `codec = "auto"`: `links` names each with the element after
/// it) to the element after it. gst-launch's delayed link gives up after its first success,
/// and these elements make new pads each time the bin restarts: without this, a camera that
/// streamed once and dropped would come back to a dead end (`not-linked`) forever.
fn relink_on_reconnect(
    bin: &gst::Bin,
    links: &[(String, String)],
    answered: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    for (from, to) in links {
        let element = bin
            .by_name(from)
            .with_context(|| format!("camera branch without {from}"))?;
        let sink = bin
            .by_name(to)
            .and_then(|e| e.static_pad("sink"))
            .with_context(|| format!("camera branch without {to}"))?;
        if element.type_().name() == "GstRTSPSrc" {
            pick_video_only(&element);
            let answered = answered.clone();
            element.connect_pad_added(move |_, _| answered.store(true, Ordering::Release));
        }
        link_each_new_pad(&element, sink);
    }
    Ok(())
}

/// Cameras send audio and metadata tracks too: `source` (an rtspsrc) sets up the first video
/// stream only, so that nothing else reaches the decoder and no bandwidth goes to what is not
/// shown. Called on rtspsrc's thread for each stream of each session, in order.
fn pick_video_only(source: &gst::Element) {
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

/// A branch of camera `index` off its tee that encodes into a feed of its own (a peek, a
/// thumbnail): `description` ends in the mjpegwssink `sink`; at most `max_fps` frames a second
/// (0: all) go in, and only while the feed is watched.
struct SideBranch<'a> {
    what: &'static str,
    description: String,
    sink: String,
    feed: &'a FrameFeed,
    max_fps: u32,
}

fn add_side_branch(
    pipeline: &gst::Pipeline,
    tee: &gst::Element,
    index: usize,
    branch: SideBranch<'_>,
) -> anyhow::Result<gst::Element> {
    let SideBranch {
        what,
        description,
        sink,
        feed,
        max_fps,
    } = branch;
    let bin = gst::parse::bin_from_description(&description, true)
        .with_context(|| format!("{what} branch '{description}'"))?;
    bin.set_property("name", format!("{what}bin{index}"));
    pipeline.add(&bin)?;
    bin.by_name(&sink)
        .and_then(|s| s.downcast::<MjpegWsSink>().ok())
        .with_context(|| format!("{what} branch without mjpegwssink"))?
        .set_feed(feed);
    let from_tee = tee
        .request_pad_simple("src_%u")
        .context("tee gave no src pad")?;
    if max_fps > 0 {
        // One camera, no switches: nothing lets a frame through early (a decoder's tags would).
        limit_rate(&from_tee, max_fps, false);
    }
    encode_while_watched(&from_tee, feed.clone());
    from_tee.link(
        &bin.static_pad("sink")
            .with_context(|| format!("{what} branch without sink pad"))?,
    )?;
    Ok(bin.upcast())
}

/// Wall `position`'s H.264 branch off the tee after its selector (`description`, ending in its
/// sink), encoding only while its feed is watched. Its encoder makes a keyframe at each switch
/// (the selector's `title` tag) and when it starts again after an idle spell, so a viewer never
/// waits for one; its sink asks for one when a viewer joins or falls behind.
fn add_h264_branch(
    pipeline: &gst::Pipeline,
    tee: &gst::Element,
    description: &str,
    sink: &str,
    feed: &FrameFeed,
) -> anyhow::Result<gst::Element> {
    let bin = gst::parse::bin_from_description(description, true)
        .with_context(|| format!("H.264 branch '{description}'"))?;
    bin.set_property("name", format!("{sink}-bin"));
    pipeline.add(&bin)?;
    bin.by_name(sink)
        .and_then(|s| s.downcast::<MjpegWsSink>().ok())
        .context("H.264 branch without mjpegwssink")?
        .set_feed(feed);
    let encoder = bin
        .iterate_elements()
        .into_iter()
        .flatten()
        .find(|e| e.factory().is_some_and(|f| f.klass().contains("Encoder")))
        .context("H.264 branch without an encoder")?;
    let from_tee = tee
        .request_pad_simple("src_%u")
        .context("tee gave no src pad")?;
    let feed = feed.clone();
    let idle = AtomicBool::new(true);
    let weak = encoder.downgrade();
    let key = move || {
        if let Some(encoder) = weak.upgrade() {
            encoder.send_event(
                gst_video::DownstreamForceKeyUnitEvent::builder()
                    .all_headers(true)
                    .build(),
            );
        }
    };
    from_tee.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |_, info| {
            if let Some(ev) = info.event() {
                // A switch: the new camera's first frame is a keyframe.
                if is_switch(ev) {
                    key();
                }
                return gst::PadProbeReturn::Ok;
            }
            if feed.in_demand(ENCODE_GRACE) {
                if idle.swap(false, Ordering::Relaxed) {
                    key();
                }
                gst::PadProbeReturn::Ok
            } else {
                if !idle.swap(true, Ordering::Relaxed) {
                    feed.clear();
                }
                gst::PadProbeReturn::Drop
            }
        },
    );
    from_tee.link(
        &bin.static_pad("sink")
            .context("H.264 branch without sink pad")?,
    )?;
    Ok(bin.upcast())
}

/// A wall (or a peek) nobody watches encodes nothing: what comes through `pad` (a selector's
/// output, a peek branch's input) is dropped before scaling and encoding while its feed is not
/// in demand (no viewer, none within [`ENCODE_GRACE`], no snapshot asked for). Caps and other
/// events pass.
fn encode_while_watched(pad: &gst::Pad, feed: FrameFeed) {
    let src = pad;
    let idle = AtomicBool::new(false);
    src.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        if feed.in_demand(ENCODE_GRACE) {
            idle.store(false, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        } else {
            if !idle.swap(true, Ordering::Relaxed) {
                // The last frame grows old from here: a viewer who comes later waits for a
                // fresh one rather than see an old picture as if it were live.
                feed.clear();
            }
            gst::PadProbeReturn::Drop
        }
    });
}

/// Tells the camera's state which decoder its video goes through: the one chosen for its codec,
/// or, for `codec = "auto"`, the one decodebin takes (on every reconnection).
fn note_decoder(runtime: &Arc<CameraRuntime>, cam: &crate::config::CameraConfig, bin: &gst::Bin) {
    let chosen = pipeline::decoder_for(cam);
    *lock(&runtime.decoder) = chosen.map(str::to_string);
    if chosen.is_some() {
        return;
    }
    let runtime = Arc::downgrade(runtime);
    bin.connect_deep_element_added(move |_, _, element| {
        let Some(factory) = element.factory() else {
            return;
        };
        let klass = factory.klass();
        let picture = klass.contains("Video") || klass.contains("Image");
        if klass.contains("Decoder") && picture && !element.is::<gst::Bin>() {
            if let Some(runtime) = runtime.upgrade() {
                *lock(&runtime.decoder) = Some(factory.name().to_string());
            }
        }
    });
}

/// Whether `ev` announces a switch: a tag event with a title (a selector's camera id). Decoders
/// send tags of their own (bitrate, codec) all the time; those are not switches.
fn is_switch(ev: &gst::EventRef) -> bool {
    match ev.view() {
        gst::EventView::Tag(t) => t.tag().get::<gst::tags::Title>().is_some(),
        _ => false,
    }
}

/// Keeps at most `max_fps` frames a second ([`crate::ratelimit`]: a stream at or under the rate
/// keeps every frame, however jittered); with `after_switch`, never drops the first frame after
/// a switch (a title tag announces it), so a switch is never delayed.
fn limit_rate(src: &gst::Pad, max_fps: u32, after_switch: bool) {
    let limit = Mutex::new(crate::ratelimit::RateLimit::new(max_fps));
    src.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |_, info| {
            let mut limit = lock(&limit);
            if let Some(ev) = info.event() {
                if matches!(ev.view(), gst::EventView::FlushStop(_)) {
                    limit.flush();
                } else if after_switch && is_switch(ev) {
                    limit.restart();
                }
                return gst::PadProbeReturn::Ok;
            }
            match info.buffer().and_then(|b| b.pts()) {
                Some(pts) if !limit.admit(pts.nseconds()) => gst::PadProbeReturn::Drop,
                _ => gst::PadProbeReturn::Ok,
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

fn count_frames(
    cam: &Arc<CameraRuntime>,
    state: &Arc<AppState>,
    index: usize,
    src: &gst::Pad,
    bin: glib::WeakRef<gst::Bin>,
) {
    // The camera's own runtime: the probe goes with its bin, and a changed camera gets a new
    // bin and a new runtime.
    let cam = cam.clone();
    let state = Arc::downgrade(state);
    src.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |pad, info| {
            let Some(state) = state.upgrade() else {
                return gst::PadProbeReturn::Remove;
            };
            if let Some(buffer) = info.buffer() {
                cam.taps.frame(pad, buffer);
                sched::enter(sched::Role::of(state.is_shown(index)));
            }
            if let Some(ev) = info.event() {
                // The camera ended its stream (its server closed the session): say so now,
                // not when the stall timer runs out. The supervisor connects again; the EOS
                // goes no further (motionalarm has seen it and cleared its alarm): the walls
                // and branches after it stay open, and a wall of this one camera does not end
                // the pipeline.
                if let gst::EventView::Eos(_) = ev.view() {
                    if let Some(bin) = bin.upgrade() {
                        post_failure(
                            &bin,
                            index,
                            None,
                            FailureKind::Stalled,
                            "the camera ended the stream",
                        );
                    }
                    // Handled, not Drop: the binding has taken the event from the probe's
                    // info, and GStreamer 1.22 unrefs a dropped event's (now empty) slot.
                    return gst::PadProbeReturn::Handled;
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
