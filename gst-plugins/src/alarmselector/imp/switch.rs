// SPDX-License-Identifier: MIT OR Apache-2.0

//! Every change goes through one place: the state is updated under its lock, the selection
//! rules settle what is shown, and the effects (a switch pushed, messages posted, notify) are
//! carried out after the lock is dropped.

use super::*;

impl AlarmSelector {
    /// Current running time: from the clock while playing, else the newest input time.
    pub(super) fn now(&self, state: &State) -> u64 {
        if state.playing {
            let obj = self.obj();
            if let (Some(clock), Some(base)) = (obj.clock(), obj.base_time()) {
                return clock.time().saturating_sub(base).nseconds();
            }
        }
        state.last_input_rt
    }

    /// Changes the state with `f`, re-evaluates the selection, then (without locks) posts,
    /// notifies and pushes what the change asks for.
    pub(super) fn update<R>(&self, f: impl FnOnce(&mut State, u64) -> R) -> R {
        let (ret, effects) = {
            let mut state = lock(&self.state);
            let now = self.now(&state);
            let ret = f(&mut state, now);
            // `f` may have moved the time base (a new input timestamp, the start of playback).
            let now = self.now(&state).max(now);
            (ret, self.settle(&mut state, now))
        };
        self.apply(effects);
        ret
    }

    pub(super) fn settle(&self, state: &mut State, now: u64) -> Effects {
        let mut effects = Effects {
            running_time: Some(gst::ClockTime::from_nseconds(now)),
            push_now: state.playing,
            ..Default::default()
        };
        if let Some(switch) = state.selection.evaluate(now) {
            let from = state.active.take();
            state.active = switch.to.and_then(|id| state.pads.get(&id).cloned());
            gst::debug!(
                CAT,
                imp = self,
                "switch {:?} -> {:?} ({})",
                from.as_ref().map(|p| p.name()),
                state.active.as_ref().map(|p| p.name()),
                switch.reason
            );
            if let Some(to) = &state.active {
                // The newest frame goes out again even if it was shown before the last switch.
                lock(&to.imp().state).pushed_seq = 0;
            }
            effects.switch = Some((switch, from, state.active.clone()));
        }

        for (id, pad) in &state.pads {
            let alarm = state.selection.is_alarmed(*id);
            let stalled = state.selection.is_stalled(*id);
            let mut ps = lock(&pad.imp().state);
            if ps.alarm != alarm {
                ps.alarm = alarm;
                effects.notify_pads.push((pad.clone(), PROP_ALARM));
            }
            if ps.stalled != stalled {
                ps.stalled = stalled;
                effects.notify_pads.push((pad.clone(), PROP_STALLED));
            }
        }

        if state.selection.all_eos() && !state.eos_sent {
            state.eos_sent = true;
            effects.send_eos = true;
        }

        self.reschedule(state);
        effects
    }

    pub(super) fn apply(&self, effects: Effects) {
        if let Some((switch, from, to)) = effects.switch {
            if let (Some(pad), true) = (&to, effects.push_now) {
                self.push_switch_frame(pad);
            }
            let label = |p: &Option<crate::alarmselector::AlarmSelectorSinkPad>| {
                p.as_ref().map(|p| p.camera_label()).unwrap_or_default()
            };
            let msg = SelectorSwitched {
                camera_id: label(&to),
                previous: label(&from),
                reason: switch.reason,
                running_time: effects.running_time,
            };
            gst::info!(
                CAT,
                imp = self,
                "showing '{}' (was '{}'): {}",
                msg.camera_id,
                msg.previous,
                msg.reason
            );
            // Fails only without a bus (element outside a pipeline): nobody to tell.
            let _ = self.obj().post_message(msg.to_message(&*self.obj()));
            self.obj().notify(PROP_ACTIVE_PAD);
        }
        for (pad, prop) in effects.notify_pads {
            pad.notify(prop);
        }
        if effects.send_eos {
            gst::info!(CAT, imp = self, "all inputs at EOS");
            let _stream = self.src_pad.stream_lock();
            self.src_pad.push_event(gst::event::Eos::new());
        }
    }
}
