// SPDX-License-Identifier: MIT OR Apache-2.0

//! Behaviour of `alarmselector` as its users rely on it: harness inputs on a `TestClock` for the
//! selection rules, live pipelines for the real thing.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Once};
use std::time::Duration;

use gst::prelude::*;
use gst_check::{Harness, TestClock};
use gstcamwall::alarmselector::{AlarmPolicy, AlarmSelectorSinkPad};
use gstcamwall::messages::{Alarm, SelectorSwitched, SwitchReason};

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().expect("gst init");
        gstcamwall::plugin_register_static().expect("register camwall");
    });
}

const MS: u64 = 1_000_000;

fn caps(width: i32) -> String {
    format!("video/x-raw,format=GRAY8,width={width},height=1,framerate=25/1")
}

/// One selector with `n` harnessed inputs `sink_0..`; `hs[0]` also collects the output.
/// Camera ids are `cam0..`; the element runs on a `TestClock` and posts to `bus`.
struct Rig {
    sel: gst::Element,
    clock: TestClock,
    bus: gst::Bus,
    hs: Vec<Harness>,
}

impl Rig {
    fn new(n: usize, configure: impl FnOnce(&gst::Element)) -> Rig {
        Self::with_caps(&vec![caps(2); n], configure)
    }

    fn with_caps(input_caps: &[String], configure: impl FnOnce(&gst::Element)) -> Rig {
        init();
        let sel = gst::ElementFactory::make("alarmselector")
            .property("stall-timeout-ms", 0u32)
            .property("alarm-hold-ms", 1000u32)
            .build()
            .expect("alarmselector");
        configure(&sel);
        let clock = TestClock::new();
        sel.set_clock(Some(&clock)).expect("clock");
        let bus = gst::Bus::new();
        sel.set_bus(Some(&bus));

        let mut hs = Vec::new();
        for (i, c) in input_caps.iter().enumerate() {
            let mut h = Harness::with_element(
                &sel,
                Some("sink_%u"),
                if i == 0 { Some("src") } else { None },
            );
            h.set_src_caps_str(c);
            let pad = input_pad(&h);
            pad.set_property("camera-id", format!("cam{i}"));
            hs.push(h);
        }
        let mut rig = Rig {
            sel,
            clock,
            bus,
            hs,
        };
        rig.drain();
        rig
    }

    fn pad(&self, i: usize) -> AlarmSelectorSinkPad {
        input_pad(&self.hs[i])
    }

    /// Pushes a frame on input `i` stamped `at_ms`, its payload `[i, n]`, at clock time `at_ms`.
    fn frame(&mut self, i: usize, n: u8, at_ms: u64) {
        self.clock
            .set_time(gst::ClockTime::from_nseconds(at_ms * MS));
        let mut buf = gst::Buffer::from_slice(vec![i as u8, n]);
        buf.get_mut()
            .expect("new buffer")
            .set_pts(gst::ClockTime::from_nseconds(at_ms * MS));
        assert_eq!(self.hs[i].push(buf), Ok(gst::FlowSuccess::Ok));
    }

    /// Advances the clock to `at_ms`, firing every timer due by then.
    fn advance(&mut self, at_ms: u64) {
        let t = gst::ClockTime::from_nseconds(at_ms * MS);
        self.clock.set_time(t);
        while let Some(id) = self.clock.peek_next_pending_id() {
            if id.time() > t {
                break;
            }
            self.clock.process_next_clock_id();
        }
    }

    fn select(&self, i: usize) {
        self.sel.set_property("selected-pad", self.pad(i));
    }

    fn alarm(&mut self, i: usize, active: bool, at_ms: u64) {
        self.clock
            .set_time(gst::ClockTime::from_nseconds(at_ms * MS));
        let alarm = Alarm {
            camera_id: format!("cam{i}"),
            kind: "motion".into(),
            active,
            level: 0.5,
            running_time: Some(gst::ClockTime::from_nseconds(at_ms * MS)),
        };
        assert!(self.hs[i].push_event(alarm.to_event()));
    }

    fn active(&self) -> Option<String> {
        self.sel
            .property::<Option<gst::Pad>>("active-pad")
            .map(|p| p.name().to_string())
    }

    /// Output buffers so far, as (input, frame number, pts).
    fn out(&mut self) -> Vec<(u8, u8, gst::ClockTime)> {
        let mut v = Vec::new();
        while let Some(b) = self.hs[0].try_pull() {
            let map = b.map_readable().expect("readable");
            v.push((map[0], map[1], b.pts().expect("output pts")));
        }
        v
    }

    fn events(&mut self) -> Vec<gst::Event> {
        let mut v = Vec::new();
        while let Some(e) = self.hs[0].try_pull_event() {
            v.push(e);
        }
        v
    }

    fn switches(&self) -> Vec<SelectorSwitched> {
        let mut v = Vec::new();
        while let Some(msg) = self.bus.pop() {
            if let Some(sw) = SelectorSwitched::from_message(&msg) {
                v.push(sw.expect("well-formed switch message"));
            }
        }
        v
    }

    fn drain(&mut self) {
        self.out();
        self.events();
        self.switches();
    }
}

fn input_pad(h: &Harness) -> AlarmSelectorSinkPad {
    h.srcpad()
        .and_then(|p| p.peer())
        .and_downcast::<AlarmSelectorSinkPad>()
        .expect("harness linked to an alarmselector sink pad")
}

fn titles(events: &[gst::Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e.view() {
            gst::EventView::Tag(t) => t
                .tag()
                .get::<gst::tags::Title>()
                .map(|v| v.get().to_string()),
            _ => None,
        })
        .collect()
}

fn caps_widths(events: &[gst::Event]) -> Vec<i32> {
    events
        .iter()
        .filter_map(|e| match e.view() {
            gst::EventView::Caps(c) => c.caps().structure(0)?.get::<i32>("width").ok(),
            _ => None,
        })
        .collect()
}

fn alarms(events: &[gst::Event]) -> Vec<Alarm> {
    events
        .iter()
        .filter_map(|e| Alarm::from_event(e)?.ok())
        .collect()
}

fn switch(cam: &str, prev: &str, reason: SwitchReason) -> (String, String, SwitchReason) {
    (cam.to_string(), prev.to_string(), reason)
}

fn summary(sw: &[SelectorSwitched]) -> Vec<(String, String, SwitchReason)> {
    sw.iter()
        .map(|s| (s.camera_id.clone(), s.previous.clone(), s.reason))
        .collect()
}

/// Frames from all three inputs at 40 ms intervals from `from_ms`; frame numbers start at `n0`.
fn feed(rig: &mut Rig, inputs: &[usize], n0: u8, from_ms: u64, count: u8) {
    for k in 0..count {
        for &i in inputs {
            rig.frame(i, n0 + k, from_ms + u64::from(k) * 40);
        }
    }
}

#[test]
fn only_the_first_input_is_forwarded_as_one_stream() {
    let mut rig = Rig::new(3, |_| {});
    assert_eq!(rig.active(), None, "nothing shown before a frame arrives");
    feed(&mut rig, &[0, 1, 2], 0, 0, 3);
    assert_eq!(rig.active().as_deref(), Some("sink_0"));
    assert_eq!(
        summary(&rig.switches()),
        vec![switch("cam0", "", SwitchReason::User)]
    );
    let out = rig.out();
    assert_eq!(
        out.iter().map(|(i, n, _)| (*i, *n)).collect::<Vec<_>>(),
        vec![(0, 0), (0, 1), (0, 2)]
    );
    let types: Vec<_> = rig.events().iter().map(|e| e.type_()).collect();
    assert_eq!(
        types,
        vec![
            gst::EventType::StreamStart,
            gst::EventType::Caps,
            gst::EventType::Segment,
            gst::EventType::Tag
        ]
    );
}

#[test]
fn user_switch_pushes_the_newest_frame_at_once() {
    let mut rig = Rig::new(3, |_| {});
    let notified = Arc::new(AtomicU64::new(0));
    let n = notified.clone();
    rig.sel.connect_notify(Some("active-pad"), move |_, _| {
        n.fetch_add(1, Ordering::SeqCst);
    });

    feed(&mut rig, &[0, 1, 2], 0, 0, 3);
    rig.switches();
    assert_eq!(notified.swap(0, Ordering::SeqCst), 1, "first input shown");
    let first = rig.out();
    let events = rig.events();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.type_() == gst::EventType::StreamStart)
            .count(),
        1
    );
    assert_eq!(titles(&events), vec!["cam0"]);
    assert_eq!(first.len(), 3);

    rig.clock.set_time(gst::ClockTime::from_nseconds(90 * MS));
    rig.select(2);
    // Without any new frame on input 2, its newest (number 2) is out already.
    let out = rig.out();
    assert_eq!(
        out.iter().map(|(i, n, _)| (*i, *n)).collect::<Vec<_>>(),
        vec![(2, 2)]
    );
    assert!(out[0].2 > first[2].2, "timestamps keep increasing");
    let events = rig.events();
    assert_eq!(titles(&events), vec!["cam2"]);
    assert!(caps_widths(&events).is_empty(), "same caps are not re-sent");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.type_() == gst::EventType::StreamStart)
            .count(),
        0,
        "one stream"
    );
    assert_eq!(
        summary(&rig.switches()),
        vec![switch("cam2", "cam0", SwitchReason::User)]
    );
    assert_eq!(rig.active().as_deref(), Some("sink_2"));
    assert_eq!(
        rig.sel
            .property::<Option<gst::Pad>>("selected-pad")
            .map(|p| p.name()),
        Some("sink_2".into())
    );
    assert_eq!(notified.load(Ordering::SeqCst), 1);

    feed(&mut rig, &[0, 1, 2], 3, 120, 2);
    let out = rig.out();
    assert_eq!(
        out.iter().map(|(i, n, _)| (*i, *n)).collect::<Vec<_>>(),
        vec![(2, 3), (2, 4)]
    );
}

#[test]
fn switch_frame_older_than_the_last_output_gets_a_later_timestamp() {
    let mut rig = Rig::new(2, |_| {});
    rig.select(0);
    rig.frame(1, 0, 0);
    rig.frame(0, 0, 100);
    let before = rig.out();
    assert_eq!(before.len(), 1);
    rig.select(1);
    let out = rig.out();
    assert_eq!((out[0].0, out[0].1), (1, 0));
    assert!(
        out[0].2 > before[0].2,
        "{:?} after {:?}",
        out[0].2,
        before[0].2
    );
    assert!(out[0].2 < before[0].2 + gst::ClockTime::MSECOND, "no gap");
    // The DISCONT flag marks the switch.
}

#[test]
fn alarm_overrides_the_user_and_the_user_returns_after_the_hold() {
    let mut rig = Rig::new(3, |_| {});
    feed(&mut rig, &[0, 1, 2], 0, 0, 2);
    rig.select(1);
    rig.drain();

    rig.alarm(2, true, 50);
    assert_eq!(rig.active().as_deref(), Some("sink_2"));
    assert!(rig.pad(2).property::<bool>("alarm"));
    let out = rig.out();
    assert_eq!(
        out.iter().map(|(i, n, _)| (*i, *n)).collect::<Vec<_>>(),
        vec![(2, 1)]
    );
    let events = rig.events();
    assert_eq!(titles(&events), vec!["cam2"]);
    let fwd = alarms(&events);
    assert_eq!(fwd.len(), 1, "the alarm of the shown input goes downstream");
    assert!(fwd[0].active);
    let sw = rig.switches();
    assert_eq!(
        summary(&sw),
        vec![switch("cam2", "cam1", SwitchReason::Alarm)]
    );
    assert_eq!(sw[0].running_time, Some(gst::ClockTime::from_mseconds(50)));

    // A click during the alarm is remembered, not shown.
    rig.select(0);
    assert_eq!(rig.active().as_deref(), Some("sink_2"));
    feed(&mut rig, &[0, 1, 2], 2, 80, 2);
    assert!(rig.out().iter().all(|(i, _, _)| *i == 2));

    rig.alarm(2, false, 200);
    assert!(!rig.pad(2).property::<bool>("alarm"));
    assert_eq!(
        alarms(&rig.events()).len(),
        1,
        "the alarm end goes downstream too"
    );
    rig.advance(1199);
    assert_eq!(rig.active().as_deref(), Some("sink_2"), "held");
    assert!(rig.switches().is_empty());
    rig.advance(1200);
    assert_eq!(rig.active().as_deref(), Some("sink_0"));
    assert_eq!(
        summary(&rig.switches()),
        vec![switch("cam0", "cam2", SwitchReason::AlarmEnded)]
    );
    let out = rig.out();
    assert_eq!(
        out.iter().map(|(i, n, _)| (*i, *n)).collect::<Vec<_>>(),
        vec![(0, 3)]
    );
}

#[test]
fn an_acknowledged_alarm_gives_the_screen_back_at_once_until_its_next_start() {
    let mut rig = Rig::new(3, |_| {});
    feed(&mut rig, &[0, 1, 2], 0, 0, 2);
    rig.select(1);
    rig.alarm(2, true, 50);
    assert_eq!(rig.active().as_deref(), Some("sink_2"));
    rig.drain();

    // The application acknowledges the alarm on screen (no pad: the one holding it).
    let taken = rig
        .sel
        .emit_by_name::<bool>("acknowledge", &[&None::<gst::Pad>]);
    assert!(taken);
    assert_eq!(rig.active().as_deref(), Some("sink_1"), "at once, no hold");
    assert_eq!(
        summary(&rig.switches()),
        vec![switch("cam1", "cam2", SwitchReason::Acknowledged)]
    );
    assert!(
        rig.pad(2).property::<bool>("alarm"),
        "the alarm itself is still known"
    );
    let again = rig
        .sel
        .emit_by_name::<bool>("acknowledge", &[&rig.pad(2).upcast::<gst::Pad>()]);
    assert!(!again, "nothing left to acknowledge");

    // Its end and hold change nothing; its next start takes over again.
    rig.alarm(2, false, 100);
    rig.advance(300);
    assert_eq!(rig.active().as_deref(), Some("sink_1"));
    rig.alarm(2, true, 400);
    assert_eq!(rig.active().as_deref(), Some("sink_2"));
    assert_eq!(
        summary(&rig.switches()),
        vec![switch("cam2", "cam1", SwitchReason::Alarm)]
    );
}

#[test]
fn a_snoozed_input_takes_no_screen_and_snoozing_the_one_on_screen_gives_it_back() {
    let mut rig = Rig::new(3, |_| {});
    feed(&mut rig, &[0, 1, 2], 0, 0, 2);
    rig.select(0);
    rig.drain();
    rig.pad(2).set_property("snoozed", true);
    rig.alarm(2, true, 50);
    assert_eq!(rig.active().as_deref(), Some("sink_0"));
    assert!(rig.pad(2).property::<bool>("alarm"));
    assert!(rig.pad(2).property::<bool>("snoozed"));

    rig.alarm(1, true, 60);
    assert_eq!(
        rig.active().as_deref(),
        Some("sink_1"),
        "others still take over"
    );
    rig.pad(1).set_property("snoozed", true);
    assert_eq!(rig.active().as_deref(), Some("sink_0"));
    rig.pad(2).set_property("snoozed", false);
    assert_eq!(
        rig.active().as_deref(),
        Some("sink_2"),
        "woken while alarmed"
    );
    assert_eq!(
        summary(&rig.switches()),
        vec![
            switch("cam1", "cam0", SwitchReason::Alarm),
            switch("cam0", "cam1", SwitchReason::Acknowledged),
            switch("cam2", "cam0", SwitchReason::Alarm),
        ]
    );
}

#[test]
fn alarms_of_inputs_not_shown_are_not_forwarded_and_override_can_be_off() {
    let mut rig = Rig::new(2, |sel| sel.set_property("alarm-override", false));
    feed(&mut rig, &[0, 1], 0, 0, 1);
    rig.drain();
    rig.alarm(1, true, 10);
    assert_eq!(rig.active().as_deref(), Some("sink_0"));
    assert!(rig.pad(1).property::<bool>("alarm"));
    assert!(alarms(&rig.events()).is_empty());
    assert!(rig.switches().is_empty());
    rig.sel.set_property("alarm-override", true);
    assert_eq!(rig.active().as_deref(), Some("sink_1"));
}

fn two_alarms(policy: AlarmPolicy) -> Vec<(String, String, SwitchReason)> {
    let mut rig = Rig::new(3, |sel| sel.set_property("alarm-policy", policy));
    rig.pad(1).set_property("priority", 5i32);
    rig.select(0);
    feed(&mut rig, &[0, 1, 2], 0, 0, 1);
    rig.drain();
    rig.alarm(1, true, 10);
    rig.alarm(2, true, 20);
    rig.alarm(2, false, 30);
    rig.alarm(1, false, 40);
    // Keep everyone live while the holds run out.
    feed(&mut rig, &[0, 1, 2], 1, 500, 1);
    rig.advance(1030);
    rig.advance(1040);
    assert_eq!(rig.active().as_deref(), Some("sink_0"));
    summary(&rig.switches())
}

#[test]
fn two_alarms_latest_policy_the_newer_alarm_wins() {
    assert_eq!(
        two_alarms(AlarmPolicy::Latest),
        vec![
            switch("cam1", "cam0", SwitchReason::Alarm),
            switch("cam2", "cam1", SwitchReason::Alarm),
            // 2 is held until 1030; 1 (ended at 40) is held until 1040.
            switch("cam1", "cam2", SwitchReason::Alarm),
            switch("cam0", "cam1", SwitchReason::AlarmEnded),
        ]
    );
}

#[test]
fn two_alarms_priority_policy_the_higher_priority_wins() {
    assert_eq!(
        two_alarms(AlarmPolicy::Priority),
        vec![
            switch("cam1", "cam0", SwitchReason::Alarm),
            switch("cam0", "cam1", SwitchReason::AlarmEnded),
        ]
    );
}

#[test]
fn two_alarms_first_policy_the_older_alarm_keeps_the_screen() {
    assert_eq!(
        two_alarms(AlarmPolicy::First),
        vec![
            switch("cam1", "cam0", SwitchReason::Alarm),
            switch("cam0", "cam1", SwitchReason::AlarmEnded),
        ]
    );
}

#[test]
fn alarm_on_the_camera_already_shown_keeps_the_stream_untouched() {
    let mut rig = Rig::new(2, |_| {});
    feed(&mut rig, &[0, 1], 0, 0, 2);
    rig.drain();
    rig.alarm(0, true, 50);
    assert_eq!(rig.active().as_deref(), Some("sink_0"));
    assert!(rig.switches().is_empty(), "no switch message");
    assert!(rig.out().is_empty(), "no frame repeated");
    let events = rig.events();
    assert!(titles(&events).is_empty());
    assert_eq!(alarms(&events).len(), 1);
    // The alarm holds the screen against the user.
    rig.select(1);
    assert_eq!(rig.active().as_deref(), Some("sink_0"));
    feed(&mut rig, &[0, 1], 2, 80, 1);
    assert_eq!(
        rig.out()
            .iter()
            .map(|(i, n, _)| (*i, *n))
            .collect::<Vec<_>>(),
        vec![(0, 2)]
    );
}

#[test]
fn stalled_selected_input_is_replaced_and_returns_on_recovery() {
    let mut rig = Rig::new(3, |sel| sel.set_property("stall-timeout-ms", 500u32));
    rig.pad(2).set_property("priority", 1i32);
    feed(&mut rig, &[0, 1, 2], 0, 0, 1);
    rig.select(1);
    rig.drain();
    // Input 1 goes silent; the others keep delivering.
    feed(&mut rig, &[0, 2], 1, 40, 10);
    rig.advance(499);
    assert_eq!(rig.active().as_deref(), Some("sink_1"));
    rig.advance(500);
    assert!(rig.pad(1).property::<bool>("stalled"));
    assert_eq!(
        rig.active().as_deref(),
        Some("sink_2"),
        "highest priority live input"
    );
    assert_eq!(
        summary(&rig.switches()),
        vec![switch("cam2", "cam1", SwitchReason::Stalled)]
    );
    assert_eq!(
        rig.out()
            .iter()
            .map(|(i, n, _)| (*i, *n))
            .collect::<Vec<_>>(),
        vec![(2, 10)]
    );

    rig.frame(1, 1, 600);
    assert!(!rig.pad(1).property::<bool>("stalled"));
    assert_eq!(rig.active().as_deref(), Some("sink_1"));
    assert_eq!(
        summary(&rig.switches()),
        vec![switch("cam1", "cam2", SwitchReason::User)]
    );
    assert_eq!(
        rig.out()
            .iter()
            .map(|(i, n, _)| (*i, *n))
            .collect::<Vec<_>>(),
        vec![(1, 1)]
    );
}

#[test]
fn stalled_alarmed_input_gives_the_screen_back_until_it_recovers() {
    let mut rig = Rig::new(2, |sel| sel.set_property("stall-timeout-ms", 500u32));
    feed(&mut rig, &[0, 1], 0, 0, 1);
    rig.alarm(1, true, 10);
    assert_eq!(rig.active().as_deref(), Some("sink_1"));
    rig.drain();
    feed(&mut rig, &[0], 1, 40, 12);
    rig.advance(500);
    assert_eq!(rig.active().as_deref(), Some("sink_0"));
    assert_eq!(
        summary(&rig.switches()),
        vec![switch("cam0", "cam1", SwitchReason::Stalled)]
    );
    rig.frame(1, 1, 520);
    assert_eq!(rig.active().as_deref(), Some("sink_1"));
    assert_eq!(
        summary(&rig.switches()),
        vec![switch("cam1", "cam0", SwitchReason::Alarm)]
    );
}

#[test]
fn an_input_that_ended_and_starts_a_new_stream_gets_the_screen_back() {
    let mut rig = Rig::new(2, |_| {});
    feed(&mut rig, &[0, 1], 0, 0, 1);
    rig.select(0);
    rig.drain();
    assert!(rig.hs[0].push_event(gst::event::Eos::new()));
    assert_eq!(rig.active().as_deref(), Some("sink_1"));
    rig.drain();
    // The camera reconnects: a new stream, then frames.
    assert!(rig.hs[0].push_event(gst::event::StreamStart::new("reconnected")));
    let segment = gst::FormattedSegment::<gst::ClockTime>::new();
    assert!(rig.hs[0].push_event(gst::event::Segment::new(&segment)));
    rig.frame(0, 7, 80);
    assert_eq!(rig.active().as_deref(), Some("sink_0"), "the user's choice");
    assert_eq!(
        summary(&rig.switches()),
        vec![switch("cam0", "cam1", SwitchReason::User)]
    );
}

#[test]
fn eos_on_one_input_does_not_end_the_stream() {
    let mut rig = Rig::new(2, |_| {});
    feed(&mut rig, &[0, 1], 0, 0, 1);
    rig.drain();
    assert!(rig.hs[0].push_event(gst::event::Eos::new()));
    assert_eq!(rig.active().as_deref(), Some("sink_1"));
    assert_eq!(
        summary(&rig.switches()),
        vec![switch("cam1", "cam0", SwitchReason::Stalled)]
    );
    let events = rig.events();
    assert!(events.iter().all(|e| e.type_() != gst::EventType::Eos));
    feed(&mut rig, &[1], 1, 40, 2);
    assert_eq!(
        rig.out()
            .iter()
            .map(|(i, n, _)| (*i, *n))
            .collect::<Vec<_>>(),
        vec![(1, 0), (1, 1), (1, 2)]
    );
    assert!(rig.hs[1].push_event(gst::event::Eos::new()));
    let events = rig.events();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.type_() == gst::EventType::Eos)
            .count(),
        1,
        "EOS once every input ended"
    );
}

#[test]
fn pads_are_added_and_removed_while_playing() {
    let mut rig = Rig::new(2, |_| {});
    assert_eq!(rig.sel.current_state(), gst::State::Playing);
    feed(&mut rig, &[0, 1], 0, 0, 1);
    rig.drain();

    let mut late = Harness::with_element(&rig.sel, Some("sink_%u"), None);
    late.set_src_caps_str(&caps(2));
    let late_pad = input_pad(&late);
    assert_eq!(late_pad.name(), "sink_2");
    late_pad.set_property("camera-id", "late");
    rig.hs.push(late);
    rig.frame(2, 7, 40);
    rig.select(2);
    assert_eq!(
        rig.out()
            .iter()
            .map(|(i, n, _)| (*i, *n))
            .collect::<Vec<_>>(),
        vec![(2, 7)]
    );
    rig.switches();

    // Dropping the harness releases its pad.
    drop(rig.hs.pop());
    assert!(rig.sel.static_pad("sink_2").is_none());
    assert_eq!(rig.sel.current_state(), gst::State::Playing);
    assert_eq!(
        summary(&rig.switches()),
        vec![switch("cam0", "late", SwitchReason::PadRemoved)]
    );
    assert_eq!(rig.sel.property::<Option<gst::Pad>>("selected-pad"), None);
    assert_eq!(
        rig.out()
            .iter()
            .map(|(i, n, _)| (*i, *n))
            .collect::<Vec<_>>(),
        vec![(0, 0)],
        "the replacement's newest frame at once"
    );
    feed(&mut rig, &[0, 1], 1, 80, 1);
    assert_eq!(rig.out().len(), 1);
}

#[test]
fn caps_change_at_a_switch_and_only_then() {
    let mut rig = Rig::with_caps(&[caps(2), caps(4), caps(2)], |_| {});
    feed(&mut rig, &[0, 1, 2], 0, 0, 1);
    assert_eq!(caps_widths(&rig.events()), vec![2]);
    rig.select(1);
    let events = rig.events();
    assert_eq!(caps_widths(&events), vec![4]);
    assert_eq!(titles(&events), vec!["cam1"]);
    rig.select(2);
    assert_eq!(caps_widths(&rig.events()), vec![2]);
    rig.select(0);
    let events = rig.events();
    assert!(caps_widths(&events).is_empty(), "same caps as before");
    assert_eq!(titles(&events), vec!["cam0"]);
}

/// Asks input `i` for buffers as its decoder would: `Some(has video meta)` if answered.
fn allocation(rig: &Rig, i: usize) -> Option<bool> {
    let caps = gst::Caps::from_str(&caps(2)).expect("caps");
    let mut q = gst::query::Allocation::new(Some(&caps), true);
    rig.pad(i)
        .query(&mut q)
        .then(|| q.find_allocation_meta::<gst_video::VideoMeta>().is_some())
}

fn needs_reconfigure(rig: &Rig, i: usize) -> bool {
    rig.hs[i].srcpad().expect("harness src").check_reconfigure()
}

#[test]
fn hidden_inputs_are_told_whether_downstream_reads_video_meta() {
    let mut rig = Rig::new(3, |_| {});
    feed(&mut rig, &[0, 1, 2], 0, 0, 1);
    rig.drain();
    for i in 0..3 {
        needs_reconfigure(&rig, i);
    }
    // Downstream without video metadata: hidden inputs get no answer, so their decoders lay
    // frames out plainly.
    assert_eq!(
        allocation(&rig, 0),
        Some(false),
        "the shown input asks downstream"
    );
    assert_eq!(allocation(&rig, 1), None);
    assert!(
        !needs_reconfigure(&rig, 1),
        "nothing changed for hidden inputs"
    );

    // Downstream starts reading video metadata (say a new sink was linked): once the shown input
    // learns it, the hidden ones are asked to negotiate again and are told.
    rig.hs[0].add_propose_allocation_meta(gst_video::VideoMeta::meta_api(), None);
    assert_eq!(allocation(&rig, 0), Some(true));
    assert!(needs_reconfigure(&rig, 1) && needs_reconfigure(&rig, 2));
    assert!(!needs_reconfigure(&rig, 0));
    assert_eq!(allocation(&rig, 1), Some(true));
    assert_eq!(allocation(&rig, 2), Some(true));

    // A switch asks the input now shown to negotiate with downstream itself.
    rig.select(2);
    assert!(needs_reconfigure(&rig, 2));
    assert!(!needs_reconfigure(&rig, 1));
    assert_eq!(allocation(&rig, 2), Some(true));
    assert_eq!(allocation(&rig, 0), Some(true), "now hidden, still told");
}

#[test]
fn the_input_chosen_before_any_frame_negotiates_again_once_downstream_has_its_caps() {
    // Its decoder asks for buffers before its first frame, when downstream has no caps yet and
    // cannot answer; it must ask again once the selector has sent the caps.
    let mut rig = Rig::new(2, |_| {});
    rig.select(1);
    for i in 0..2 {
        needs_reconfigure(&rig, i);
    }
    feed(&mut rig, &[0, 1], 0, 0, 1);
    assert_eq!(caps_widths(&rig.events()), vec![2]);
    assert!(needs_reconfigure(&rig, 1));
    assert!(!needs_reconfigure(&rig, 0));
    feed(&mut rig, &[0, 1], 1, 40, 1);
    assert!(!needs_reconfigure(&rig, 1), "only when the caps go out");
}

#[test]
fn inputs_not_shown_are_never_blocked() {
    let mut rig = Rig::new(2, |_| {});
    feed(&mut rig, &[0, 1], 0, 0, 1);
    rig.drain();

    // Downstream stops taking data: the shown input's next push blocks.
    let src = rig.sel.static_pad("src").expect("src pad");
    let (blocked_tx, blocked_rx) = mpsc::channel();
    let probe = src
        .add_probe(gst::PadProbeType::BLOCK_DOWNSTREAM, move |_, _| {
            let _ = blocked_tx.send(());
            gst::PadProbeReturn::Ok
        })
        .expect("probe");
    let shown = rig.hs[0].srcpad().expect("harness src");
    let pusher = std::thread::spawn(move || {
        let mut buf = gst::Buffer::from_slice(vec![0u8, 1]);
        buf.get_mut()
            .expect("new")
            .set_pts(gst::ClockTime::from_mseconds(40));
        shown.push(buf)
    });
    blocked_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the shown input blocks downstream");

    // The other input keeps flowing meanwhile (a hang here fails via the watchdog below).
    let other = rig.hs[1].srcpad().expect("harness src");
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for n in 0..50u8 {
            let mut buf = gst::Buffer::from_slice(vec![1u8, n]);
            buf.get_mut()
                .expect("new")
                .set_pts(gst::ClockTime::from_mseconds(40 + u64::from(n)));
            if other.push(buf) != Ok(gst::FlowSuccess::Ok) {
                let _ = done_tx.send(false);
                return;
            }
        }
        let _ = done_tx.send(true);
    });
    assert_eq!(done_rx.recv_timeout(Duration::from_secs(30)), Ok(true));

    src.remove_probe(probe);
    assert_eq!(pusher.join().expect("pusher"), Ok(gst::FlowSuccess::Ok));
}

#[test]
fn flush_on_the_shown_input_goes_downstream_flush_elsewhere_does_not() {
    let mut rig = Rig::new(2, |_| {});
    feed(&mut rig, &[0, 1], 0, 0, 1);
    rig.drain();

    assert!(rig.hs[1].push_event(gst::event::FlushStart::new()));
    assert!(rig.hs[1].push_event(gst::event::FlushStop::new(true)));
    let events = rig.events();
    assert!(events.iter().all(|e| !matches!(
        e.type_(),
        gst::EventType::FlushStart | gst::EventType::FlushStop
    )));
    // The flushed input's stored frame is gone: selecting it pushes nothing until it delivers.
    rig.hs[1].push_event(gst::event::Segment::new(&gst::FormattedSegment::<
        gst::ClockTime,
    >::new()));
    rig.select(1);
    assert!(rig.out().is_empty());
    rig.frame(1, 5, 80);
    assert_eq!(
        rig.out()
            .iter()
            .map(|(i, n, _)| (*i, *n))
            .collect::<Vec<_>>(),
        vec![(1, 5)]
    );
    rig.drain();

    assert!(rig.hs[1].push_event(gst::event::FlushStart::new()));
    assert!(rig.hs[1].push_event(gst::event::FlushStop::new(true)));
    rig.hs[1].push_event(gst::event::Segment::new(&gst::FormattedSegment::<
        gst::ClockTime,
    >::new()));
    let types: Vec<_> = rig.events().iter().map(|e| e.type_()).collect();
    assert_eq!(
        types,
        vec![gst::EventType::FlushStart, gst::EventType::FlushStop]
    );
    rig.frame(1, 6, 120);
    let types: Vec<_> = rig.events().iter().map(|e| e.type_()).collect();
    assert!(
        types.contains(&gst::EventType::Segment),
        "a new segment after the flush: {types:?}"
    );
    assert_eq!(rig.out().len(), 1);
}

#[test]
fn invalid_selection_is_refused_and_the_old_one_kept() {
    let rig = Rig::new(2, |_| {});
    rig.select(1);
    let foreign = gst::Pad::builder(gst::PadDirection::Sink).name("x").build();
    rig.sel.set_property("selected-pad", &foreign);
    assert_eq!(
        rig.sel
            .property::<Option<gst::Pad>>("selected-pad")
            .map(|p| p.name()),
        Some("sink_1".into())
    );
    let src = rig.sel.static_pad("src");
    rig.sel.set_property("selected-pad", src);
    assert_eq!(rig.active().as_deref(), Some("sink_1"));
}

#[test]
fn camera_id_is_learned_from_alarm_events() {
    init();
    let sel = gst::ElementFactory::make("alarmselector")
        .build()
        .expect("alarmselector");
    let mut h = Harness::with_element(&sel, Some("sink_%u"), Some("src"));
    h.set_src_caps_str(&caps(2));
    let pad = input_pad(&h);
    assert_eq!(pad.property::<Option<String>>("camera-id"), None);
    let alarm = Alarm {
        camera_id: "porch".into(),
        kind: "motion".into(),
        active: true,
        level: 0.1,
        running_time: None,
    };
    assert!(h.push_event(alarm.to_event()));
    assert_eq!(
        pad.property::<Option<String>>("camera-id").as_deref(),
        Some("porch")
    );
    // A malformed alarm is dropped, not fatal.
    let bad = gst::event::CustomDownstream::new(
        gst::Structure::builder("camwall-alarm")
            .field("camera-id", 3i32)
            .build(),
    );
    assert!(h.push_event(bad));
}

// --- live pipelines --------------------------------------------------------------------------

fn wait_switch(bus: &gst::Bus, reason: SwitchReason) -> SelectorSwitched {
    loop {
        let msg = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(20),
                &[gst::MessageType::Element, gst::MessageType::Error],
            )
            .expect("bus message within 20 s (hang guard)");
        if let gst::MessageView::Error(e) = msg.view() {
            panic!("pipeline error: {} ({:?})", e.error(), e.debug());
        }
        if let Some(Ok(sw)) = SelectorSwitched::from_message(&msg) {
            if sw.reason == reason {
                return sw;
            }
        }
    }
}

fn counter(pad: &gst::Pad) -> Arc<AtomicU64> {
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        c.fetch_add(1, Ordering::SeqCst);
        gst::PadProbeReturn::Ok
    });
    count
}

#[test]
fn live_pipeline_alarm_takes_over_and_every_input_keeps_flowing() {
    init();
    let pipeline = gst::parse::launch(
        "alarmselector name=sel alarm-hold-ms=0 sink_0::priority=5 \
             sink_0::camera-id=yard sink_1::camera-id=gate ! fakesink name=out sync=true \
         videotestsrc is-live=true pattern=ball ! video/x-raw,width=64,height=48,framerate=25/1 ! sel.sink_0 \
         videotestsrc is-live=true ! video/x-raw,width=32,height=24,framerate=25/1 ! sel.sink_1",
    )
    .expect("pipeline")
    .downcast::<gst::Pipeline>()
    .expect("a pipeline");
    let sel = pipeline.by_name("sel").expect("sel");
    let sink_0 = sel.static_pad("sink_0").expect("sink_0");
    let sink_1 = sel.static_pad("sink_1").expect("sink_1");
    assert_eq!(
        sink_0.property::<i32>("priority"),
        5,
        "set through ChildProxy"
    );
    let shown = counter(&sel.static_pad("src").expect("src"));
    let in0 = counter(&sink_0);
    let in1 = counter(&sink_1);
    let bus = pipeline.bus().expect("bus");

    pipeline.set_state(gst::State::Playing).expect("playing");
    // gst-launch sets the pad properties before the pad takes part; the higher priority makes
    // yard the default camera, whichever input delivers first.
    while wait_switch(&bus, SwitchReason::User).camera_id != "yard" {}
    while in1.load(Ordering::SeqCst) < 3 || shown.load(Ordering::SeqCst) < 3 {
        std::thread::sleep(Duration::from_millis(10));
    }

    let alarm = Alarm {
        camera_id: "gate".into(),
        kind: "motion".into(),
        active: true,
        level: 0.3,
        running_time: None,
    };
    assert!(sink_1.send_event(alarm.to_event()));
    let sw = wait_switch(&bus, SwitchReason::Alarm);
    assert_eq!(
        (sw.camera_id.as_str(), sw.previous.as_str()),
        ("gate", "yard")
    );
    assert!(sink_1.property::<bool>("alarm"));

    // The input no longer shown keeps flowing, and the output carries the new camera.
    let (a, b) = (in0.load(Ordering::SeqCst), shown.load(Ordering::SeqCst));
    while in0.load(Ordering::SeqCst) < a + 5 || shown.load(Ordering::SeqCst) < b + 5 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let sink = pipeline.by_name("out").expect("fakesink");
    let caps = sink
        .static_pad("sink")
        .and_then(|p| p.current_caps())
        .expect("negotiated");
    assert_eq!(
        caps.structure(0).and_then(|s| s.get::<i32>("width").ok()),
        Some(32)
    );

    let end = Alarm {
        active: false,
        ..alarm
    };
    assert!(sink_1.send_event(end.to_event()));
    let back = wait_switch(&bus, SwitchReason::AlarmEnded);
    assert_eq!(back.camera_id, "yard");

    pipeline.set_state(gst::State::Null).expect("null");
}

#[test]
fn concurrent_switches_keep_time_order_and_titles_consistent() {
    let rig = Rig::new(3, |sel| sel.set_property("alarm-hold-ms", 0u32));
    rig.switches();
    #[derive(Debug)]
    enum Out {
        Title(String),
        Frame(u8, gst::ClockTime),
    }
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    rig.sel.static_pad("src").expect("src").add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |_, info| {
            let item = match &info.data {
                Some(gst::PadProbeData::Buffer(b)) => b
                    .map_readable()
                    .ok()
                    .and_then(|m| Some(Out::Frame(m[0], b.pts()?))),
                Some(gst::PadProbeData::Event(e)) => match e.view() {
                    gst::EventView::Tag(t) => t
                        .tag()
                        .get::<gst::tags::Title>()
                        .map(|v| Out::Title(v.get().to_string())),
                    _ => None,
                },
                _ => None,
            };
            if let Some(item) = item {
                s.lock().expect("seen").push(item);
            }
            gst::PadProbeReturn::Ok
        },
    );

    let pushers: Vec<_> = (0..3u8)
        .map(|i| {
            let src = rig.hs[usize::from(i)].srcpad().expect("harness src");
            std::thread::spawn(move || {
                for n in 0..300u16 {
                    let mut buf = gst::Buffer::from_slice(vec![i, (n % 256) as u8]);
                    buf.get_mut()
                        .expect("new")
                        .set_pts(gst::ClockTime::from_mseconds(
                            u64::from(n) * 40 + u64::from(i),
                        ));
                    assert_eq!(src.push(buf), Ok(gst::FlowSuccess::Ok));
                }
            })
        })
        .collect();
    let pads: Vec<_> = (0..3).map(|i| rig.pad(i)).collect();
    let event_pads: Vec<_> = (0..3)
        .map(|i| rig.hs[i].srcpad().expect("harness src"))
        .collect();
    for k in 0..300usize {
        let i = (k * 7 + k / 3) % 3;
        match k % 4 {
            0 | 1 => rig.sel.set_property("selected-pad", &pads[i]),
            _ => {
                let alarm = Alarm {
                    camera_id: format!("cam{i}"),
                    kind: "motion".into(),
                    active: k % 4 == 2,
                    level: 0.5,
                    running_time: None,
                };
                assert!(event_pads[i].push_event(alarm.to_event()));
            }
        }
    }
    for p in pushers {
        p.join().expect("pusher");
    }

    let switches = rig.switches().len();
    let seen = seen.lock().expect("seen");
    let titles = seen.iter().filter(|o| matches!(o, Out::Title(_))).count();
    // A frame of an input that is no longer shown would bring its title back unasked.
    assert!(
        titles <= switches,
        "{titles} titles for {switches} switches"
    );
    let mut title = None;
    let mut last_pts = None;
    let mut frames = 0;
    for item in seen.iter() {
        match item {
            Out::Title(t) => title = Some(t.clone()),
            Out::Frame(input, pts) => {
                assert_eq!(title.as_deref(), Some(format!("cam{input}").as_str()));
                assert!(last_pts < Some(*pts), "{last_pts:?} then {pts}");
                last_pts = Some(*pts);
                frames += 1;
            }
        }
    }
    assert!(frames > 0);
}
