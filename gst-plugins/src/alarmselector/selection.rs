// SPDX-License-Identifier: MIT OR Apache-2.0

//! Which input `alarmselector` forwards, and why: the policy without any GStreamer type.
//!
//! Inputs are identified by a number (the pad's serial). Times are running times in nanoseconds.
//! The element feeds in what happens (frames, alarms, user choice, EOS, pads coming and going)
//! and calls [`Selection::evaluate`] with the current running time; it gets back the switch to
//! perform, if any, and asks [`Selection::next_deadline`] when to evaluate again.
//!
//! The rules, in order:
//! 1. With alarm override on, the usable inputs that are alarmed (or still within the hold time
//!    after their alarm ended) compete; the [`Policy`] picks the winner.
//! 2. Otherwise the user's choice, when it is usable (or, with `keep_stalled_choice`, whenever
//!    it has shown something: a dead camera stays itself, its last frame on screen).
//! 3. Otherwise the usable input with the highest priority that has delivered a frame (a new
//!    input is not shown before it has something to show); on ties the input shown before the
//!    alarms, then the one shown now, then the lowest serial.
//! 4. When nothing is usable the current input stays (its last frame remains on screen).
//!
//! "Usable" means not stalled (a frame within the stall timeout) and not at EOS. An alarm that
//! has been acknowledged no longer competes until its input's next alarm start; a snoozed
//! input's alarms never compete while the snooze lasts (they are still known).

use std::collections::BTreeMap;
use std::fmt;

/// Why `alarmselector` changed the forwarded input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SwitchReason {
    /// The user chose another camera (`selected-pad`).
    User,
    /// An alarm took the screen.
    Alarm,
    /// The alarm (and its hold) ended; the user's choice came back.
    AlarmEnded,
    /// The forwarded input stopped delivering frames.
    Stalled,
    /// The forwarded input's pad was released.
    PadRemoved,
    /// The alarm on screen was acknowledged (or its input snoozed); the user's choice came back.
    Acknowledged,
}

impl SwitchReason {
    pub const ALL: [SwitchReason; 6] = [
        SwitchReason::User,
        SwitchReason::Alarm,
        SwitchReason::AlarmEnded,
        SwitchReason::Stalled,
        SwitchReason::PadRemoved,
        SwitchReason::Acknowledged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SwitchReason::User => "user",
            SwitchReason::Alarm => "alarm",
            SwitchReason::AlarmEnded => "alarm-ended",
            SwitchReason::Stalled => "stalled",
            SwitchReason::PadRemoved => "pad-removed",
            SwitchReason::Acknowledged => "acknowledged",
        }
    }
}

impl fmt::Display for SwitchReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies one input (the serial of its pad).
pub type InputId = u32;

/// Which alarm wins when several inputs are alarmed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// The most recent alarm start wins.
    #[default]
    Latest,
    /// The highest input priority wins; the most recent alarm start breaks ties.
    Priority,
    /// The oldest alarm still running (or held) keeps the screen.
    First,
}

/// The element's settings, as far as the selection needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub alarm_override: bool,
    pub alarm_hold_ns: u64,
    /// `None`: stall detection is off.
    pub stall_timeout_ns: Option<u64>,
    pub policy: Policy,
    /// The user's choice stays on screen (its last frame) when it stalls, instead of another
    /// input standing in for it.
    pub keep_stalled_choice: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            alarm_override: true,
            alarm_hold_ns: 0,
            stall_timeout_ns: None,
            policy: Policy::Latest,
            keep_stalled_choice: false,
        }
    }
}

/// A change of the forwarded input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switch {
    pub from: Option<InputId>,
    pub to: Option<InputId>,
    pub reason: SwitchReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Basis {
    Alarm,
    User,
    Fallback,
}

#[derive(Debug, Clone)]
struct Input {
    priority: i32,
    alarm: bool,
    /// Order of the latest alarm start (higher = more recent).
    alarm_seq: u64,
    /// While set, the input counts as alarmed although its alarm has ended.
    hold_until: Option<u64>,
    last_frame: u64,
    /// Delivered at least one frame: only such inputs are picked as a fallback.
    has_frame: bool,
    stalled: bool,
    eos: bool,
    /// The current alarm (or its hold) was acknowledged: it no longer competes. Cleared by
    /// the input's next alarm start.
    acked: bool,
    /// The input's alarms do not compete while set.
    snoozed: bool,
}

impl Input {
    fn usable(&self) -> bool {
        !self.stalled && !self.eos
    }

    /// Alarmed or held, acknowledged or not.
    fn alarmed_or_held(&self) -> bool {
        self.alarm || self.hold_until.is_some()
    }

    fn alarm_candidate(&self) -> bool {
        self.usable() && self.alarmed_or_held() && !self.acked && !self.snoozed
    }
}

/// The selection state of one `alarmselector`.
#[derive(Debug, Clone)]
pub struct Selection {
    config: Config,
    inputs: BTreeMap<InputId, Input>,
    user: Option<InputId>,
    active: Option<InputId>,
    basis: Basis,
    /// The input shown before an alarm took the screen: it returns when the alarms end and the
    /// user has made no choice.
    resting: Option<InputId>,
    alarm_seq: u64,
}

impl Selection {
    pub fn new(config: Config) -> Self {
        Selection {
            config,
            inputs: BTreeMap::new(),
            user: None,
            active: None,
            basis: Basis::Fallback,
            resting: None,
            alarm_seq: 0,
        }
    }

    pub fn config(&self) -> Config {
        self.config
    }

    pub fn set_config(&mut self, config: Config) {
        self.config = config;
    }

    /// The input forwarded now.
    pub fn active(&self) -> Option<InputId> {
        self.active
    }

    /// The user's choice.
    pub fn user(&self) -> Option<InputId> {
        self.user
    }

    pub fn contains(&self, id: InputId) -> bool {
        self.inputs.contains_key(&id)
    }

    /// A new input; it counts as live from `now` on.
    pub fn add_input(&mut self, id: InputId, priority: i32, now: u64) {
        self.inputs.insert(
            id,
            Input {
                priority,
                alarm: false,
                alarm_seq: 0,
                hold_until: None,
                last_frame: now,
                has_frame: false,
                stalled: false,
                eos: false,
                acked: false,
                snoozed: false,
            },
        );
    }

    /// Forgets an input. Returns whether it was the user's choice (which is then cleared).
    pub fn remove_input(&mut self, id: InputId) -> bool {
        self.inputs.remove(&id);
        if self.user == Some(id) {
            self.user = None;
            true
        } else {
            false
        }
    }

    pub fn set_priority(&mut self, id: InputId, priority: i32) {
        if let Some(input) = self.inputs.get_mut(&id) {
            input.priority = priority;
        }
    }

    /// The user's choice; refused (returns `false`) for an unknown input.
    pub fn select(&mut self, id: Option<InputId>) -> bool {
        match id {
            Some(id) if !self.inputs.contains_key(&id) => false,
            _ => {
                self.user = id;
                true
            }
        }
    }

    /// An alarm started (`active`) or ended on `id`, at running time `at` (`None`: unknown).
    /// Returns whether the input's alarm state changed (a repeated start or end changes nothing).
    pub fn alarm(&mut self, id: InputId, active: bool, at: Option<u64>, now: u64) -> bool {
        let hold = self.config.alarm_hold_ns;
        let Some(input) = self.inputs.get_mut(&id) else {
            return false;
        };
        if input.alarm == active {
            return false;
        }
        input.alarm = active;
        if active {
            self.alarm_seq += 1;
            input.alarm_seq = self.alarm_seq;
            input.hold_until = None;
            // A new alarm takes over again, whatever was acknowledged before.
            input.acked = false;
        } else {
            // A timestamp from the future must not stretch the hold.
            let ended = at.map_or(now, |at| at.min(now));
            input.hold_until = Some(ended.saturating_add(hold));
        }
        true
    }

    /// A frame arrived on `id`. Returns whether the input was stalled and has recovered.
    pub fn frame(&mut self, id: InputId, now: u64) -> bool {
        match self.inputs.get_mut(&id) {
            Some(input) => {
                input.last_frame = input.last_frame.max(now);
                input.has_frame = true;
                std::mem::replace(&mut input.stalled, false)
            }
            None => false,
        }
    }

    pub fn set_eos(&mut self, id: InputId, eos: bool) {
        if let Some(input) = self.inputs.get_mut(&id) {
            input.eos = eos;
            if !eos {
                input.stalled = false;
            }
        }
    }

    /// All inputs are at EOS (and there is at least one).
    pub fn all_eos(&self) -> bool {
        !self.inputs.is_empty() && self.inputs.values().all(|i| i.eos)
    }

    /// Acknowledges the alarm of `id` (running or held): it stops holding the screen until the
    /// input's next alarm start. Returns whether there was an unacknowledged alarm to take.
    pub fn acknowledge(&mut self, id: InputId) -> bool {
        match self.inputs.get_mut(&id) {
            Some(input) if input.alarmed_or_held() && !input.acked => {
                input.acked = true;
                true
            }
            _ => false,
        }
    }

    /// Snoozes (or wakes) `id`: while snoozed its alarms take no screen. Returns whether it
    /// changed.
    pub fn set_snoozed(&mut self, id: InputId, snoozed: bool) -> bool {
        match self.inputs.get_mut(&id) {
            Some(input) if input.snoozed != snoozed => {
                input.snoozed = snoozed;
                true
            }
            _ => false,
        }
    }

    pub fn is_snoozed(&self, id: InputId) -> bool {
        self.inputs.get(&id).is_some_and(|i| i.snoozed)
    }

    /// The input whose alarm holds the screen now, if an alarm does.
    pub fn alarm_on_screen(&self) -> Option<InputId> {
        (self.basis == Basis::Alarm)
            .then_some(self.active)
            .flatten()
    }

    /// The input's alarm is running (the hold does not count).
    pub fn is_alarmed(&self, id: InputId) -> bool {
        self.inputs.get(&id).is_some_and(|i| i.alarm)
    }

    pub fn is_stalled(&self, id: InputId) -> bool {
        self.inputs.get(&id).is_some_and(|i| i.stalled)
    }

    /// The running time restarted (e.g. after a pause): every input counts as live from `now`.
    pub fn restart(&mut self, now: u64) {
        for input in self.inputs.values_mut() {
            input.last_frame = now;
            input.stalled = false;
            if input.hold_until.is_some() {
                input.hold_until = Some(now.saturating_add(self.config.alarm_hold_ns));
            }
        }
    }

    /// The earliest running time at which [`Self::evaluate`] may decide differently without any
    /// new input: a stall timeout or the end of a hold.
    pub fn next_deadline(&self) -> Option<u64> {
        let stall = self.config.stall_timeout_ns;
        self.inputs
            .values()
            .flat_map(|i| {
                let stall_at = match stall {
                    Some(t) if i.usable() => Some(i.last_frame.saturating_add(t)),
                    _ => None,
                };
                [stall_at, i.hold_until]
            })
            .flatten()
            .min()
    }

    /// Applies timeouts reached at `now` and decides which input to forward. Returns the switch
    /// when the forwarded input changes.
    pub fn evaluate(&mut self, now: u64) -> Option<Switch> {
        let stall = self.config.stall_timeout_ns;
        for input in self.inputs.values_mut() {
            if let Some(t) = stall {
                if input.usable() && now >= input.last_frame.saturating_add(t) {
                    input.stalled = true;
                }
            }
            if input.hold_until.is_some_and(|h| now >= h) {
                input.hold_until = None;
            }
        }

        let (to, basis) = self.choose();
        let from = self.active;
        let previous_basis = self.basis;
        self.basis = basis;
        if basis != Basis::Alarm && to.is_some() {
            self.resting = to;
        }
        if to == from {
            return None;
        }
        self.active = to;

        let reason = if basis == Basis::Alarm {
            SwitchReason::Alarm
        } else {
            match from.map(|f| self.inputs.get(&f)) {
                Some(None) => SwitchReason::PadRemoved,
                Some(Some(input)) if !input.usable() => SwitchReason::Stalled,
                Some(Some(input)) if previous_basis == Basis::Alarm && input.alarmed_or_held() => {
                    // Still alarmed, yet no longer on screen: acknowledged or snoozed.
                    SwitchReason::Acknowledged
                }
                _ if previous_basis == Basis::Alarm => SwitchReason::AlarmEnded,
                _ => SwitchReason::User,
            }
        };
        Some(Switch { from, to, reason })
    }

    fn choose(&self) -> (Option<InputId>, Basis) {
        let usable = |id: &InputId| self.inputs.get(id).is_some_and(Input::usable);

        if self.config.alarm_override {
            let candidates = self.inputs.iter().filter(|(_, i)| i.alarm_candidate());
            let winner = match self.config.policy {
                Policy::Latest => candidates.max_by_key(|(_, i)| i.alarm_seq),
                Policy::Priority => candidates.max_by_key(|(_, i)| (i.priority, i.alarm_seq)),
                Policy::First => candidates.min_by_key(|(_, i)| i.alarm_seq),
            };
            if let Some((id, _)) = winner {
                return (Some(*id), Basis::Alarm);
            }
        }

        // Kept: the choice has shown something (a last frame to stay on screen).
        let kept = |id: &InputId| {
            self.config.keep_stalled_choice && self.inputs.get(id).is_some_and(|i| i.has_frame)
        };
        if let Some(user) = self.user.filter(|u| usable(u) || kept(u)) {
            return (Some(user), Basis::User);
        }
        // No choice made or possible: the highest priority wins; on ties the input shown before
        // the alarms, then the one shown now (no needless switch), then the lowest serial.
        let best = |only_usable: bool| {
            self.inputs
                .iter()
                .filter(|(_, i)| i.has_frame && (!only_usable || i.usable()))
                .max_by_key(|(id, i)| {
                    (
                        i.priority,
                        self.resting == Some(**id),
                        self.active == Some(**id),
                        std::cmp::Reverse(**id),
                    )
                })
                .map(|(id, _)| *id)
        };
        if let Some(id) = best(true) {
            return (Some(id), Basis::Fallback);
        }
        // Nothing is usable: keep what is on screen, or show any input rather than none.
        if let Some(active) = self.active.filter(|a| self.inputs.contains_key(a)) {
            return (Some(active), Basis::Fallback);
        }
        let fallback = self.user.filter(|u| self.inputs.contains_key(u));
        (fallback.or_else(|| best(false)), Basis::Fallback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn config(policy: Policy) -> Config {
        Config {
            alarm_override: true,
            alarm_hold_ns: 1000 * MS,
            stall_timeout_ns: Some(500 * MS),
            policy,
            keep_stalled_choice: false,
        }
    }

    /// Three inputs 0, 1, 2 added at time 0; input 0 shown.
    fn three(policy: Policy) -> Selection {
        let mut s = Selection::new(config(policy));
        s.add_input(0, 0, 0);
        assert_eq!(s.evaluate(0), None, "nothing to show yet");
        s.frame(0, 0);
        assert_eq!(
            s.evaluate(0),
            Some(Switch {
                from: None,
                to: Some(0),
                reason: SwitchReason::User
            })
        );
        s.add_input(1, 0, 0);
        s.add_input(2, 0, 0);
        s.frame(1, 0);
        s.frame(2, 0);
        assert_eq!(s.evaluate(0), None);
        s
    }

    fn feed_all(s: &mut Selection, now: u64) {
        for id in 0..3 {
            s.frame(id, now);
        }
    }

    fn sw(from: InputId, to: InputId, reason: SwitchReason) -> Option<Switch> {
        Some(Switch {
            from: Some(from),
            to: Some(to),
            reason,
        })
    }

    #[test]
    fn first_input_is_shown_and_user_choice_switches() {
        let mut s = three(Policy::Latest);
        assert_eq!(s.active(), Some(0));
        assert!(s.select(Some(2)));
        assert_eq!(s.evaluate(10 * MS), sw(0, 2, SwitchReason::User));
        assert_eq!(s.evaluate(20 * MS), None);
        assert!(!s.select(Some(9)), "unknown input refused");
        assert_eq!(s.user(), Some(2));
    }

    #[test]
    fn alarm_overrides_user_and_user_returns_after_hold() {
        let mut s = three(Policy::Latest);
        s.select(Some(1));
        s.evaluate(0);
        assert!(s.alarm(2, true, Some(100 * MS), 100 * MS));
        assert_eq!(s.evaluate(100 * MS), sw(1, 2, SwitchReason::Alarm));
        assert!(s.is_alarmed(2));

        // The user clicks during the alarm: remembered, not shown.
        s.select(Some(0));
        assert_eq!(s.evaluate(150 * MS), None);

        feed_all(&mut s, 300 * MS);
        assert!(s.alarm(2, false, Some(300 * MS), 300 * MS));
        assert!(!s.is_alarmed(2));
        assert_eq!(s.evaluate(300 * MS), None, "held");
        assert_eq!(
            s.next_deadline(),
            Some(800 * MS),
            "stall comes before hold end"
        );
        feed_all(&mut s, 1200 * MS);
        assert_eq!(s.next_deadline(), Some(1300 * MS));
        assert_eq!(s.evaluate(1299 * MS), None);
        assert_eq!(s.evaluate(1300 * MS), sw(2, 0, SwitchReason::AlarmEnded));
    }

    #[test]
    fn zero_hold_returns_at_once_and_future_timestamps_do_not_stretch_it() {
        let mut s = three(Policy::Latest);
        s.set_config(Config {
            alarm_hold_ns: 0,
            ..config(Policy::Latest)
        });
        s.alarm(1, true, None, 10 * MS);
        assert_eq!(s.evaluate(10 * MS), sw(0, 1, SwitchReason::Alarm));
        s.alarm(1, false, Some(u64::MAX - 1), 20 * MS);
        assert_eq!(s.evaluate(20 * MS), sw(1, 0, SwitchReason::AlarmEnded));
    }

    #[test]
    fn latest_policy_latest_alarm_wins_then_the_older_one_returns() {
        let mut s = three(Policy::Latest);
        s.alarm(1, true, None, 10 * MS);
        assert_eq!(s.evaluate(10 * MS), sw(0, 1, SwitchReason::Alarm));
        s.alarm(2, true, None, 20 * MS);
        assert_eq!(s.evaluate(20 * MS), sw(1, 2, SwitchReason::Alarm));
        // A repeated start on 1 is not a new alarm.
        assert!(!s.alarm(1, true, None, 30 * MS));
        assert_eq!(s.evaluate(30 * MS), None);
        feed_all(&mut s, 100 * MS);
        s.alarm(2, false, None, 100 * MS);
        assert_eq!(s.evaluate(100 * MS), None);
        feed_all(&mut s, 1100 * MS);
        // 2's hold is over; 1 is still alarmed.
        assert_eq!(s.evaluate(1100 * MS), sw(2, 1, SwitchReason::Alarm));
    }

    #[test]
    fn priority_policy_highest_priority_wins_ties_go_to_latest() {
        let mut s = three(Policy::Priority);
        s.set_priority(1, 5);
        s.alarm(1, true, None, 10 * MS);
        assert_eq!(s.evaluate(10 * MS), sw(0, 1, SwitchReason::Alarm));
        s.alarm(2, true, None, 20 * MS);
        assert_eq!(s.evaluate(20 * MS), None, "lower priority loses");
        s.set_priority(2, 5);
        assert_eq!(s.evaluate(30 * MS), sw(1, 2, SwitchReason::Alarm), "tie");
        s.set_priority(1, 7);
        assert_eq!(s.evaluate(40 * MS), sw(2, 1, SwitchReason::Alarm));
    }

    #[test]
    fn first_policy_keeps_the_oldest_alarm() {
        let mut s = three(Policy::First);
        s.alarm(1, true, None, 10 * MS);
        s.alarm(2, true, None, 20 * MS);
        assert_eq!(s.evaluate(20 * MS), sw(0, 1, SwitchReason::Alarm));
        s.alarm(1, false, None, 30 * MS);
        assert_eq!(s.evaluate(30 * MS), None);
        feed_all(&mut s, 1030 * MS);
        assert_eq!(s.evaluate(1030 * MS), sw(1, 2, SwitchReason::Alarm));
    }

    #[test]
    fn alarm_on_the_shown_input_changes_nothing_but_blocks_user_switches() {
        let mut s = three(Policy::Latest);
        s.alarm(0, true, None, 10 * MS);
        assert_eq!(s.evaluate(10 * MS), None);
        s.select(Some(2));
        assert_eq!(s.evaluate(20 * MS), None, "alarm keeps the screen");
        s.alarm(0, false, None, 30 * MS);
        feed_all(&mut s, 1030 * MS);
        assert_eq!(s.evaluate(1030 * MS), sw(0, 2, SwitchReason::AlarmEnded));
    }

    #[test]
    fn override_off_ignores_alarms() {
        let mut s = three(Policy::Latest);
        s.set_config(Config {
            alarm_override: false,
            ..config(Policy::Latest)
        });
        s.alarm(2, true, None, 10 * MS);
        assert_eq!(s.evaluate(10 * MS), None);
        assert!(s.is_alarmed(2));
        s.set_config(config(Policy::Latest));
        assert_eq!(s.evaluate(20 * MS), sw(0, 2, SwitchReason::Alarm));
    }

    #[test]
    fn stalled_selection_falls_back_and_returns_on_recovery() {
        let mut s = three(Policy::Latest);
        s.set_priority(2, 1);
        s.select(Some(1));
        assert_eq!(s.evaluate(0), sw(0, 1, SwitchReason::User));
        s.frame(0, 400 * MS);
        s.frame(2, 400 * MS);
        assert_eq!(s.next_deadline(), Some(500 * MS));
        assert_eq!(s.evaluate(500 * MS), sw(1, 2, SwitchReason::Stalled));
        assert!(s.is_stalled(1));
        assert!(!s.frame(2, 600 * MS), "not stalled, no recovery");
        assert!(s.frame(1, 600 * MS), "recovered");
        assert!(!s.is_stalled(1));
        assert_eq!(s.evaluate(600 * MS), sw(2, 1, SwitchReason::User));
    }

    #[test]
    fn stalled_alarm_gives_the_screen_back_and_takes_it_on_recovery() {
        let mut s = three(Policy::Latest);
        s.alarm(2, true, None, 10 * MS);
        assert_eq!(s.evaluate(10 * MS), sw(0, 2, SwitchReason::Alarm));
        s.frame(0, 450 * MS);
        s.frame(1, 450 * MS);
        assert_eq!(s.evaluate(500 * MS), sw(2, 0, SwitchReason::Stalled));
        assert!(s.frame(2, 520 * MS));
        assert_eq!(s.evaluate(520 * MS), sw(0, 2, SwitchReason::Alarm));
    }

    #[test]
    fn nothing_usable_keeps_the_current_input() {
        let mut s = three(Policy::Latest);
        assert_eq!(s.evaluate(600 * MS), None);
        assert!(s.is_stalled(0) && s.is_stalled(1) && s.is_stalled(2));
        assert_eq!(s.active(), Some(0));
        assert_eq!(s.next_deadline(), None);
    }

    #[test]
    fn eos_behaves_like_a_stall_and_all_eos_is_reported() {
        let mut s = three(Policy::Latest);
        s.set_eos(0, true);
        assert_eq!(s.evaluate(10 * MS), sw(0, 1, SwitchReason::Stalled));
        assert!(!s.all_eos());
        s.set_eos(1, true);
        s.set_eos(2, true);
        assert!(s.all_eos());
        s.set_eos(0, false);
        assert!(!s.all_eos());
    }

    #[test]
    fn removing_the_shown_input_switches_and_clears_the_user_choice() {
        let mut s = three(Policy::Latest);
        s.select(Some(1));
        s.evaluate(0);
        assert!(s.remove_input(1));
        assert_eq!(s.user(), None);
        assert_eq!(s.evaluate(10 * MS), sw(1, 0, SwitchReason::PadRemoved));
        assert!(!s.remove_input(2));
        assert_eq!(s.evaluate(10 * MS), None);
        s.remove_input(0);
        assert_eq!(
            s.evaluate(20 * MS),
            Some(Switch {
                from: Some(0),
                to: None,
                reason: SwitchReason::PadRemoved
            })
        );
        assert!(!s.all_eos(), "no inputs is not EOS");
    }

    #[test]
    fn restart_revives_stalled_inputs() {
        let mut s = three(Policy::Latest);
        s.evaluate(600 * MS);
        assert!(s.is_stalled(1));
        s.restart(0);
        assert!(!s.is_stalled(1));
        assert_eq!(s.next_deadline(), Some(500 * MS));
    }

    #[test]
    fn stall_detection_off_never_stalls() {
        let mut s = three(Policy::Latest);
        s.set_config(Config {
            stall_timeout_ns: None,
            ..config(Policy::Latest)
        });
        assert_eq!(s.evaluate(u64::MAX), None);
        assert!(!s.is_stalled(0));
        assert_eq!(s.next_deadline(), None);
    }

    #[test]
    fn a_new_input_is_not_a_fallback_before_its_first_frame() {
        let mut s = Selection::new(config(Policy::Latest));
        s.add_input(0, 0, 0);
        s.add_input(1, 9, 0);
        assert_eq!(s.evaluate(0), None);
        s.frame(0, 10 * MS);
        assert_eq!(
            s.evaluate(10 * MS),
            Some(Switch {
                from: None,
                to: Some(0),
                reason: SwitchReason::User
            })
        );
        s.set_eos(0, true);
        assert_eq!(s.evaluate(20 * MS), None, "1 has nothing to show");
        s.frame(1, 30 * MS);
        assert_eq!(s.evaluate(30 * MS), sw(0, 1, SwitchReason::Stalled));
        // The user may still choose an input that has not delivered yet.
        s.add_input(2, 0, 30 * MS);
        s.select(Some(2));
        assert_eq!(s.evaluate(40 * MS), sw(1, 2, SwitchReason::User));
    }

    #[test]
    fn without_a_user_choice_priority_picks_the_default_input() {
        let mut s = three(Policy::Latest);
        s.set_priority(1, 3);
        assert_eq!(s.evaluate(10 * MS), sw(0, 1, SwitchReason::User));
        s.set_priority(2, 3);
        assert_eq!(s.evaluate(20 * MS), None, "a tie keeps the input shown");
        s.alarm(2, true, None, 30 * MS);
        assert_eq!(s.evaluate(30 * MS), sw(1, 2, SwitchReason::Alarm));
        s.alarm(2, false, None, 40 * MS);
        feed_all(&mut s, 1040 * MS);
        assert_eq!(
            s.evaluate(1040 * MS),
            sw(2, 1, SwitchReason::AlarmEnded),
            "back to the input shown before the alarm"
        );
    }

    #[test]
    fn an_acknowledged_alarm_gives_the_screen_back_until_the_next_alarm_start() {
        let mut s = three(Policy::Latest);
        s.select(Some(1));
        s.evaluate(0);
        s.alarm(2, true, Some(100 * MS), 100 * MS);
        assert_eq!(s.evaluate(100 * MS), sw(1, 2, SwitchReason::Alarm));
        assert_eq!(s.alarm_on_screen(), Some(2));
        assert!(s.acknowledge(2));
        assert!(!s.acknowledge(2), "once is enough");
        assert!(!s.acknowledge(0), "no alarm on 0");
        assert_eq!(s.evaluate(110 * MS), sw(2, 1, SwitchReason::Acknowledged));
        assert_eq!(s.alarm_on_screen(), None);
        // The alarm ends and starts again: it takes over again.
        s.alarm(2, false, Some(200 * MS), 200 * MS);
        assert_eq!(
            s.evaluate(200 * MS),
            None,
            "the acknowledged hold does not come back"
        );
        s.alarm(2, true, Some(300 * MS), 300 * MS);
        assert_eq!(s.evaluate(300 * MS), sw(1, 2, SwitchReason::Alarm));
    }

    #[test]
    fn an_acknowledged_hold_ends_at_once_and_another_alarm_still_wins() {
        let mut s = three(Policy::Latest);
        s.select(Some(0));
        s.evaluate(0);
        s.alarm(1, true, Some(10 * MS), 10 * MS);
        s.alarm(2, true, Some(20 * MS), 20 * MS);
        assert_eq!(s.evaluate(20 * MS), sw(0, 2, SwitchReason::Alarm));
        s.alarm(2, false, Some(30 * MS), 30 * MS);
        assert_eq!(s.evaluate(30 * MS), None, "held");
        s.acknowledge(2);
        // 1 is still alarmed and unacknowledged: it takes the screen.
        assert_eq!(s.evaluate(40 * MS), sw(2, 1, SwitchReason::Alarm));
        s.acknowledge(1);
        feed_all(&mut s, 50 * MS);
        assert_eq!(s.evaluate(50 * MS), sw(1, 0, SwitchReason::Acknowledged));
    }

    #[test]
    fn a_snoozed_input_alarms_but_takes_no_screen_until_woken() {
        let mut s = three(Policy::Latest);
        s.select(Some(0));
        s.evaluate(0);
        assert!(s.set_snoozed(2, true));
        assert!(!s.set_snoozed(2, true));
        s.alarm(2, true, Some(10 * MS), 10 * MS);
        assert!(s.is_alarmed(2), "still known");
        assert_eq!(s.evaluate(10 * MS), None);
        // Woken while its alarm runs: it takes over.
        s.set_snoozed(2, false);
        assert_eq!(s.evaluate(20 * MS), sw(0, 2, SwitchReason::Alarm));
        // Snoozed while on screen: the user's choice comes back.
        s.set_snoozed(2, true);
        assert_eq!(s.evaluate(30 * MS), sw(2, 0, SwitchReason::Acknowledged));
    }

    #[test]
    fn with_keep_stalled_choice_a_dead_choice_stays_and_alarms_still_win() {
        let mut s = three(Policy::Latest);
        s.set_config(Config {
            keep_stalled_choice: true,
            ..s.config()
        });
        s.select(Some(1));
        assert_eq!(s.evaluate(0), sw(0, 1, SwitchReason::User));
        // 1 stops; the others go on.
        s.frame(0, 600 * MS);
        s.frame(2, 600 * MS);
        assert_eq!(s.evaluate(600 * MS), None, "no stand-in");
        assert!(s.is_stalled(1));
        // An alarm still takes the screen, and gives it back to the dead choice.
        s.alarm(2, true, Some(700 * MS), 700 * MS);
        assert_eq!(s.evaluate(700 * MS), sw(1, 2, SwitchReason::Alarm));
        s.alarm(2, false, Some(800 * MS), 800 * MS);
        s.frame(0, 1900 * MS);
        s.frame(2, 1900 * MS);
        assert_eq!(s.evaluate(1900 * MS), sw(2, 1, SwitchReason::AlarmEnded));
    }

    #[test]
    fn a_choice_that_never_showed_anything_is_stood_in_for_even_when_kept() {
        let mut s = Selection::new(Config {
            keep_stalled_choice: true,
            ..config(Policy::Latest)
        });
        s.add_input(0, 0, 0);
        s.add_input(1, 0, 0);
        s.frame(0, 0);
        assert_eq!(s.evaluate(0).map(|w| w.to), Some(Some(0)));
        s.frame(0, 600 * MS);
        s.evaluate(600 * MS);
        assert!(s.is_stalled(1));
        s.select(Some(1));
        assert_eq!(s.evaluate(610 * MS), None, "1 has nothing to show");
    }
}
