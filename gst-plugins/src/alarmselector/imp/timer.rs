// SPDX-License-Identifier: MIT OR Apache-2.0

//! The clock wait that ends an alarm's hold and notices stalled inputs when no frame comes to
//! wake the element.

use super::*;

impl AlarmSelector {
    /// Keeps one clock wait for the next stall timeout or end of hold.
    pub(super) fn reschedule(&self, state: &mut State) {
        let deadline = if state.playing {
            state.selection.next_deadline()
        } else {
            None
        };
        let obj = self.obj();
        let target = match (deadline, obj.clock(), obj.base_time()) {
            (Some(d), Some(clock), Some(base)) => {
                Some((clock, base.saturating_add(gst::ClockTime::from_nseconds(d))))
            }
            _ => None,
        };
        // A deadline that moved later (every frame moves its input's stall deadline) keeps the
        // armed wait: it fires early, finds nothing due and arms the next one. Re-arming on
        // every frame would wake the clock thread once per frame per camera.
        if let (Some(timer), Some((_, at))) = (&state.timer, &target) {
            if timer.id.time() <= *at {
                return;
            }
        }
        state.cancel_timer();
        let Some((clock, at)) = target else {
            return;
        };
        state.timer_generation += 1;
        let generation = state.timer_generation;
        let id = clock.new_single_shot_id(at);
        let weak = obj.downgrade();
        let res = id.wait_async(move |_clock, _time, _id| {
            if let Some(obj) = weak.upgrade() {
                obj.imp().on_timer(generation);
            }
        });
        match res {
            Ok(_) => state.timer = Some(Timer { id, generation }),
            Err(err) => gst::warning!(CAT, imp = self, "cannot wait on the clock: {:?}", err),
        }
    }

    pub(super) fn on_timer(&self, generation: u64) {
        gst::trace!(CAT, imp = self, "timer {} fired", generation);
        self.update(|state, _| {
            if state
                .timer
                .as_ref()
                .is_some_and(|t| t.generation == generation)
            {
                state.timer = None;
            }
        });
    }
}
