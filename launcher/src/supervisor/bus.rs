// SPDX-License-Identifier: MIT OR Apache-2.0

//! What the pipeline's bus says, turned into camera failures, alarms and switches.

use super::*;

/// Index of the camera whose bin holds `obj`, if any.
pub(super) fn camera_of(running: &Running, obj: &gst::Object) -> Option<usize> {
    let mut cur = Some(obj.clone());
    while let Some(o) = cur {
        if let Some(i) = running.cameras.iter().position(|c| {
            c.as_ref()
                .is_some_and(|c| c.bin.upcast_ref::<gst::Object>() == &o)
        }) {
            return Some(i);
        }
        cur = o.parent();
    }
    None
}

/// A camera's taps, held by its runtime.
struct TapsOf(Arc<crate::state::CameraRuntime>);

impl std::ops::Deref for TapsOf {
    type Target = crate::taps::CameraTaps;
    fn deref(&self) -> &Self::Target {
        &self.0.taps
    }
}

/// Handles one bus message. Returns `true` when the whole pipeline must be rebuilt.
pub(super) fn handle_message(
    state: &Arc<AppState>,
    running: Option<&mut Running>,
    msg: &gst::Message,
) -> bool {
    let Some(running) = running else {
        return false;
    };
    crate::taps::count_decode_error(msg, |o| {
        let camera = state.cameras.get(camera_of(running, o)?)?;
        Some(TapsOf(camera))
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
                        Some(kind) => camera_failed(state, running, i, None, kind, &text),
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
                    camera_failed(state, running, i, None, FailureKind::Stalled, why);
                }
                Some(i) => {
                    let camera = state
                        .cameras
                        .get(i)
                        .map(|c| c.id.clone())
                        .unwrap_or_default();
                    let element = msg.src().map(|s| s.name().to_string()).unwrap_or_default();
                    warn!(camera = %camera, element, "{text}");
                }
                None => warn!("{text}"),
            }
            false
        }
        gst::MessageView::Application(a) => {
            let Some(s) = a.structure() else {
                return false;
            };
            // Posted by camera `camera`'s bin: the one at that index now, not one taken down.
            let index = s
                .get::<u32>("camera")
                .ok()
                .map(|i| i as usize)
                .filter(|&i| msg.src().and_then(|o| camera_of(running, o)) == Some(i));
            let Some(i) = index else {
                return false;
            };
            if s.name() == CAMERA_ATTEMPT {
                let frames = state
                    .cameras
                    .get(i)
                    .map(|c| c.frames.load(Ordering::Relaxed));
                if let (Ok(attempt), Some(slot)) = (s.get::<u64>("attempt"), running.camera_mut(i))
                {
                    slot.bus_attempt = slot.bus_attempt.max(attempt);
                    if attempt == slot.attempt {
                        slot.health.session_stopped(frames.unwrap_or_default());
                    }
                }
            } else if s.name() == CAMERA_FAILED {
                let kind = s
                    .get::<&str>("kind")
                    .ok()
                    .and_then(|k| FailureKind::ALL.into_iter().find(|f| f.as_str() == k));
                let message = s.get::<&str>("message").unwrap_or_default().to_string();
                if let Some(kind) = kind {
                    let attempt = s.get::<u64>("attempt").ok();
                    camera_failed(state, running, i, attempt, kind, &message);
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
                let wall = msg.src().and_then(|src| {
                    running
                        .walls
                        .iter()
                        .position(|w| w.selector.upcast_ref::<gst::Object>() == src)
                });
                if let Some(wall) = wall {
                    on_switch(state, wall, &sw);
                }
            }
            false
        }
        _ => false,
    }
}

fn mask_urls_in(state: &AppState, text: &str) -> String {
    let mut out = text.to_string();
    for (_, cam) in state.cameras.all() {
        out = out.replace(cam.config.url(), &cam.url);
        if let Some(detect) = cam.config.detect_url() {
            out = out.replace(detect, &crate::config::mask_url(detect));
        }
    }
    out
}

fn on_alarm(state: &Arc<AppState>, alarm: &Alarm) {
    let Some(i) = state.camera_index(&alarm.camera_id) else {
        return;
    };
    info!(camera = %alarm.camera_id, active = alarm.active, level = alarm.level, "alarm");
    state.set_alarm(i, alarm.active);
    let mut message = protocol::Alarm::from(alarm);
    message.snoozed = state
        .cameras
        .get(i)
        .is_some_and(|c| c.snoozed_until().is_some());
    state.publish(&protocol::Message::Alarm(message));
}

fn on_switch(state: &Arc<AppState>, wall: usize, sw: &SelectorSwitched) {
    let Some(runtime) = state.walls.get(wall) else {
        return;
    };
    let camera = (!sw.camera_id.is_empty()).then(|| sw.camera_id.clone());
    info!(wall = %runtime.id, camera = %sw.camera_id, previous = %sw.previous, reason = %sw.reason, "switched");
    let selection = runtime.update_selection(&state.cameras, |s| {
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
        // The selection has one owner, here: viewers are told the user's choice, not left
        // to guess it.
        user_choice: selection.user_choice.as_deref().map(Cow::Borrowed),
        wall: Some(Cow::Borrowed(&runtime.id)),
        // A switch to the user's choice says who chose.
        by: (sw.reason == SwitchReason::User)
            .then(|| runtime.take_chosen_by())
            .flatten()
            .map(Cow::Owned),
    }));
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
        on_switch(&state, 0, &switch("b", SwitchReason::User));
        assert_eq!(shown(), [false, true, false]);
        on_switch(&state, 0, &switch("c", SwitchReason::Alarm));
        assert_eq!(shown(), [false, false, true]);
        // Nothing forwarded (the last pad went away): every camera's threads are hidden ones.
        on_switch(&state, 0, &switch("", SwitchReason::PadRemoved));
        assert_eq!(shown(), [false, false, false]);
    }
}
