// SPDX-License-Identifier: MIT OR Apache-2.0

//! The `alarmselector` element: properties, pads and state changes here; its sink pad type in
//! `imp/sinkpad.rs`, what the sink pads receive in `imp/input.rs`, how a change becomes a
//! switch in `imp/switch.rs`, the stream out in `imp/output.rs`, the clock wait in
//! `imp/timer.rs`.
//!
//! Threads: every sink pad has its own streaming thread (chain and serialized events); the
//! application changes properties and requests/releases pads; the clock thread fires the one
//! timer (stall timeouts and alarm holds). Any of them may change the shown input, and the one
//! that does pushes the new input's newest frame at once.
//!
//! Serialisation of the output: everything that leaves the src pad (buffers, sticky and
//! serialized events) is pushed while holding the src pad's stream lock, a recursive lock, so
//! a re-entrant property change from downstream on the same thread cannot deadlock. The
//! mutexes below are never held while pushing, posting or notifying.
//!
//! Lock order (take left before right, never the other way round):
//! src stream lock → `settings` → `state` → pad `settings` → pad `state` → `output`

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

mod input;
mod output;
mod properties;
mod sinkpad;
mod switch;
mod timer;

pub use sinkpad::AlarmSelectorSinkPad;
use sinkpad::{Frame, PROP_ALARM, PROP_CAMERA_ID, PROP_STALLED};

use super::selection::{self, InputId, Selection};
use super::AlarmPolicy;
use crate::lock;
use crate::messages::SelectorSwitched;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "alarmselector",
        gst::DebugColorFlags::empty(),
        Some("camwall input selector: user choice, alarm override"),
    )
});

const PROP_SELECTED_PAD: &str = "selected-pad";
const PROP_ACTIVE_PAD: &str = "active-pad";
const PROP_ALARM_OVERRIDE: &str = "alarm-override";
const PROP_ALARM_HOLD_MS: &str = "alarm-hold-ms";
const PROP_ALARM_POLICY: &str = "alarm-policy";
const PROP_STALL_TIMEOUT_MS: &str = "stall-timeout-ms";
const PROP_KEEP_STALLED_CHOICE: &str = "keep-stalled-choice";
/// Action signal: `acknowledge(pad) -> bool`.
const SIGNAL_ACKNOWLEDGE: &str = "acknowledge";

const DEFAULT_ALARM_OVERRIDE: bool = true;
const DEFAULT_ALARM_HOLD_MS: u32 = 3_000;
const DEFAULT_ALARM_POLICY: AlarmPolicy = AlarmPolicy::Latest;
const DEFAULT_STALL_TIMEOUT_MS: u32 = 2_000;
/// One hour: longer holds or timeouts are surely a mistake.
const MAX_MS: u32 = 3_600_000;

fn ms_to_ns(ms: u32) -> u64 {
    u64::from(ms) * 1_000_000
}

// ---------------------------------------------------------------------------------------------
// Element
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Settings {
    alarm_override: bool,
    alarm_hold_ms: u32,
    alarm_policy: AlarmPolicy,
    stall_timeout_ms: u32,
    keep_stalled_choice: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            alarm_override: DEFAULT_ALARM_OVERRIDE,
            alarm_hold_ms: DEFAULT_ALARM_HOLD_MS,
            alarm_policy: DEFAULT_ALARM_POLICY,
            stall_timeout_ms: DEFAULT_STALL_TIMEOUT_MS,
            keep_stalled_choice: false,
        }
    }
}

impl Settings {
    fn selection_config(&self) -> selection::Config {
        selection::Config {
            alarm_override: self.alarm_override,
            alarm_hold_ns: ms_to_ns(self.alarm_hold_ms),
            stall_timeout_ns: (self.stall_timeout_ms > 0).then(|| ms_to_ns(self.stall_timeout_ms)),
            policy: self.alarm_policy.into(),
            keep_stalled_choice: self.keep_stalled_choice,
        }
    }
}

struct Timer {
    id: gst::SingleShotClockId,
    generation: u64,
}

struct State {
    selection: Selection,
    pads: BTreeMap<InputId, super::AlarmSelectorSinkPad>,
    active: Option<super::AlarmSelectorSinkPad>,
    playing: bool,
    /// Newest input running time seen: the time base when there is no running clock.
    last_input_rt: u64,
    timer: Option<Timer>,
    timer_generation: u64,
    eos_sent: bool,
    /// The input whose flush is in progress downstream; its flush-stop must follow.
    flushing_pad: Option<super::AlarmSelectorSinkPad>,
    /// Whether downstream's answer to the shown input's allocation query had video metadata.
    downstream_video_meta: bool,
}

impl State {
    fn new(config: selection::Config) -> Self {
        State {
            selection: Selection::new(config),
            pads: BTreeMap::new(),
            active: None,
            playing: false,
            last_input_rt: 0,
            timer: None,
            timer_generation: 0,
            eos_sent: false,
            flushing_pad: None,
            downstream_video_meta: false,
        }
    }

    fn is_active(&self, pad: &super::AlarmSelectorSinkPad) -> bool {
        self.active.as_ref() == Some(pad)
    }

    fn cancel_timer(&mut self) {
        if let Some(timer) = self.timer.take() {
            timer.id.unschedule();
        }
    }
}

/// What went downstream; only changed with the src stream lock held.
#[derive(Debug, Default)]
struct Output {
    stream_id: String,
    stream_start_sent: bool,
    caps: Option<gst::Caps>,
    segment_sent: bool,
    /// The input whose frames go out now (its caps and title were sent).
    current: Option<super::AlarmSelectorSinkPad>,
    last_pts: Option<gst::ClockTime>,
}

/// What a state change asks for once the locks are released.
#[derive(Default)]
struct Effects {
    switch: Option<(
        selection::Switch,
        Option<super::AlarmSelectorSinkPad>,
        Option<super::AlarmSelectorSinkPad>,
    )>,
    running_time: Option<gst::ClockTime>,
    push_now: bool,
    notify_pads: Vec<(super::AlarmSelectorSinkPad, &'static str)>,
    send_eos: bool,
}

pub struct AlarmSelector {
    src_pad: gst::Pad,
    settings: Mutex<Settings>,
    state: Mutex<State>,
    output: Mutex<Output>,
    pad_serial: AtomicU32,
}

impl AlarmSelector {
    /// Acknowledges the alarm of `pad`'s input (`None`: the alarm on screen). Returns whether
    /// there was an unacknowledged alarm to take; the screen goes back at once if it held it.
    pub(super) fn acknowledge(&self, pad: Option<&gst::Pad>) -> bool {
        let id = pad.and_then(|p| self.sink_pad_of(p)).map(|p| p.imp().id());
        if pad.is_some() && id.is_none() {
            gst::warning!(
                CAT,
                imp = self,
                "acknowledge: not a sink pad of this selector"
            );
            return false;
        }
        let taken =
            self.update(
                |state, _| match id.or_else(|| state.selection.alarm_on_screen()) {
                    Some(id) => state.selection.acknowledge(id),
                    None => false,
                },
            );
        gst::info!(CAT, imp = self, "acknowledge {:?}: {}", id, taken);
        taken
    }

    fn sink_pad_of(&self, pad: &gst::Pad) -> Option<super::AlarmSelectorSinkPad> {
        let pad = pad.downcast_ref::<super::AlarmSelectorSinkPad>()?;
        (pad.parent().as_ref() == Some(self.obj().upcast_ref::<gst::Object>())).then(|| pad.clone())
    }

    fn settings_changed(&self) {
        let config = lock(&self.settings).selection_config();
        self.update(|state, _| state.selection.set_config(config));
    }
}

#[glib::object_subclass]
impl ObjectSubclass for AlarmSelector {
    const NAME: &'static str = "GstAlarmSelector";
    type Type = super::AlarmSelector;
    type ParentType = gst::Element;
    type Interfaces = (gst::ChildProxy,);

    fn with_class(klass: &Self::Class) -> Self {
        let templ = klass
            .pad_template("src")
            .expect("the src template is registered in pad_templates()");
        let src_pad = gst::Pad::builder_from_template(&templ)
            .query_function(|pad, parent, query| {
                AlarmSelector::catch_panic_pad_function(
                    parent,
                    || false,
                    |sel| sel.src_query(pad, query),
                )
            })
            .event_function(|_pad, parent, event| {
                AlarmSelector::catch_panic_pad_function(
                    parent,
                    || false,
                    |sel| sel.src_event(event),
                )
            })
            .build();
        let settings = Settings::default();
        AlarmSelector {
            src_pad,
            state: Mutex::new(State::new(settings.selection_config())),
            settings: Mutex::new(settings),
            output: Mutex::new(Output::default()),
            pad_serial: AtomicU32::new(0),
        }
    }
}

impl ObjectImpl for AlarmSelector {
    fn signals() -> &'static [glib::subclass::Signal] {
        Self::signal_specs()
    }

    fn properties() -> &'static [glib::ParamSpec] {
        Self::specs()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        self.set(value, pspec)
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        self.get(pspec)
    }

    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        if let Err(err) = obj.add_pad(&self.src_pad) {
            gst::error!(CAT, imp = self, "cannot add the src pad: {}", err);
        }
        obj.set_element_flags(gst::ElementFlags::REQUIRE_CLOCK);
        self.reset_output();
    }
}

impl GstObjectImpl for AlarmSelector {}

impl ElementImpl for AlarmSelector {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "camwall alarm selector",
                "Generic/Video",
                "Forwards one of many camera inputs: the user's choice, overridden by \
                 camwall-alarm events; switches instantly by re-sending the new input's \
                 newest frame",
                "camwall developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst::Caps::new_any();
            let sink = gst::PadTemplate::with_gtype(
                "sink_%u",
                gst::PadDirection::Sink,
                gst::PadPresence::Request,
                &caps,
                super::AlarmSelectorSinkPad::static_type(),
            )
            .expect("valid sink template");
            let src = gst::PadTemplate::new(
                "src",
                gst::PadDirection::Src,
                gst::PadPresence::Always,
                &caps,
            )
            .expect("valid src template");
            vec![sink, src]
        });
        TEMPLATES.as_ref()
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        gst::debug!(CAT, imp = self, "{:?}", transition);
        match transition {
            gst::StateChange::ReadyToPaused => {
                self.reset_output();
                let mut state = lock(&self.state);
                state.eos_sent = false;
                state.flushing_pad = None;
                for pad in state.pads.values() {
                    let mut ps = lock(&pad.imp().state);
                    ps.newest = None;
                    ps.pushed_seq = ps.next_seq;
                }
            }
            gst::StateChange::PausedToPlaying => {
                self.update(|state, _| {
                    state.playing = true;
                    let now = self.now(state);
                    state.selection.restart(now);
                });
            }
            gst::StateChange::PlayingToPaused => {
                let mut state = lock(&self.state);
                state.playing = false;
                state.cancel_timer();
            }
            _ => (),
        }

        let ret = self.parent_change_state(transition)?;

        if transition == gst::StateChange::PausedToReady {
            let mut state = lock(&self.state);
            state.playing = false;
            state.cancel_timer();
            for pad in state.pads.values() {
                let mut ps = lock(&pad.imp().state);
                ps.newest = None;
                ps.segment = None;
            }
        }
        Ok(ret)
    }

    fn request_new_pad(
        &self,
        templ: &gst::PadTemplate,
        name: Option<&str>,
        _caps: Option<&gst::Caps>,
    ) -> Option<gst::Pad> {
        let obj = self.obj();
        let serial = match name.and_then(|n| n.strip_prefix("sink_")?.parse::<u32>().ok()) {
            Some(n) => {
                if obj.static_pad(&format!("sink_{n}")).is_some() {
                    gst::warning!(CAT, imp = self, "pad sink_{} exists already", n);
                    return None;
                }
                self.pad_serial
                    .fetch_max(n.saturating_add(1), Ordering::SeqCst);
                n
            }
            None => self.pad_serial.fetch_add(1, Ordering::SeqCst),
        };

        let pad = gst::PadBuilder::<super::AlarmSelectorSinkPad>::from_template(templ)
            .name(format!("sink_{serial}").as_str())
            .chain_function(|pad, parent, buffer| {
                AlarmSelector::catch_panic_pad_function(
                    parent,
                    || Err(gst::FlowError::Error),
                    |sel| sel.sink_chain(pad, buffer),
                )
            })
            .event_function(|pad, parent, event| {
                AlarmSelector::catch_panic_pad_function(
                    parent,
                    || false,
                    |sel| sel.sink_event(pad, event),
                )
            })
            .query_function(|pad, parent, query| {
                AlarmSelector::catch_panic_pad_function(
                    parent,
                    || false,
                    |sel| sel.sink_query(pad, query),
                )
            })
            .build();
        pad.imp().serial.store(serial, Ordering::Relaxed);

        if let Err(err) = obj.add_pad(&pad) {
            gst::warning!(CAT, imp = self, "cannot add {}: {}", pad.name(), err);
            return None;
        }
        // Announced before it takes part, so that properties gst-launch sets on child-added
        // (camera-id, priority) are in place for the first selection and its message.
        obj.child_added(&pad, &pad.name());
        gst::info!(CAT, imp = self, "added input {}", pad.name());
        self.update(|state, now| {
            let (priority, snoozed) = {
                let settings = lock(&pad.imp().settings);
                (settings.priority, settings.snoozed)
            };
            state.pads.insert(serial, pad.clone());
            state.selection.add_input(serial, priority, now);
            state.selection.set_snoozed(serial, snoozed);
            state.eos_sent = false;
        });
        let _ = obj.post_message(gst::message::Latency::builder().src(&*obj).build());
        Some(pad.upcast())
    }

    fn release_pad(&self, pad: &gst::Pad) {
        let obj = self.obj();
        let Some(sink) = self.sink_pad_of(pad) else {
            return;
        };
        let id = sink.imp().id();
        gst::info!(CAT, imp = self, "releasing input {}", pad.name());
        // Switch away first, so the pad's streaming thread is not the one pushing.
        let (user_cleared, was_flushing) = self.update(|state, _| {
            state.pads.remove(&id);
            let was_flushing = state.flushing_pad.as_ref() == Some(&sink);
            if was_flushing {
                state.flushing_pad = None;
            }
            (state.selection.remove_input(id), was_flushing)
        });
        if was_flushing {
            self.src_pad.push_event(gst::event::FlushStop::new(true));
        }
        {
            let mut out = lock(&self.output);
            if out.current.as_ref() == Some(&sink) {
                out.current = None;
            }
        }
        if user_cleared {
            obj.notify(PROP_SELECTED_PAD);
        }
        let _ = pad.set_active(false);
        if let Err(err) = obj.remove_pad(pad) {
            gst::warning!(CAT, imp = self, "cannot remove {}: {}", pad.name(), err);
        }
        obj.child_removed(pad, &pad.name());
        let _ = obj.post_message(gst::message::Latency::builder().src(&*obj).build());
    }
}

impl ChildProxyImpl for AlarmSelector {
    fn children_count(&self) -> u32 {
        u32::try_from(self.obj().sink_pads().len()).unwrap_or(u32::MAX)
    }

    fn child_by_name(&self, name: &str) -> Option<glib::Object> {
        self.obj()
            .sink_pads()
            .into_iter()
            .find(|p| p.name() == name)
            .map(|p| p.upcast())
    }

    fn child_by_index(&self, index: u32) -> Option<glib::Object> {
        self.obj()
            .sink_pads()
            .into_iter()
            .nth(index as usize)
            .map(|p| p.upcast())
    }
}

/// What `peer` accepts within `filter`; with no peer, anything the filter allows.
fn peer_caps(peer: Option<gst::Pad>, filter: Option<&gst::CapsRef>) -> gst::Caps {
    match (peer, filter) {
        (Some(peer), filter) => peer.query_caps(filter.map(|f| f.to_owned()).as_ref()),
        (None, Some(filter)) => filter.to_owned(),
        (None, None) => gst::Caps::new_any(),
    }
}
