// SPDX-License-Identifier: MIT OR Apache-2.0

//! `alarmselector`'s properties and its `acknowledge` action signal: their specs (what
//! `gst-inspect-1.0` shows), and reading and writing them.

use super::*;

impl AlarmSelector {
    pub(super) fn signal_specs() -> &'static [glib::subclass::Signal] {
        static SIGNALS: LazyLock<Vec<glib::subclass::Signal>> = LazyLock::new(|| {
            vec![glib::subclass::Signal::builder(SIGNAL_ACKNOWLEDGE)
                .param_types([gst::Pad::static_type()])
                .return_type::<bool>()
                .action()
                .class_handler(|args| {
                    let sel = args[0].get::<crate::alarmselector::AlarmSelector>().ok()?;
                    let pad = args[1].get::<Option<gst::Pad>>().ok().flatten();
                    Some(sel.imp().acknowledge(pad.as_ref()).to_value())
                })
                .build()]
        });
        SIGNALS.as_ref()
    }

    pub(super) fn specs() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecObject::builder::<gst::Pad>(PROP_SELECTED_PAD)
                    .nick("Selected pad")
                    .blurb(
                        "The user's choice of input (a sink pad of this element). Shown unless \
                         an alarm overrides it or it is stalled",
                    )
                    .mutable_playing()
                    .build(),
                glib::ParamSpecObject::builder::<gst::Pad>(PROP_ACTIVE_PAD)
                    .nick("Active pad")
                    .blurb("The input forwarded now (read-only; notified on every switch)")
                    .read_only()
                    .build(),
                glib::ParamSpecBoolean::builder(PROP_ALARM_OVERRIDE)
                    .nick("Alarm override")
                    .blurb("Whether an alarmed input takes the screen over the selected pad")
                    .default_value(DEFAULT_ALARM_OVERRIDE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder(PROP_ALARM_HOLD_MS)
                    .nick("Alarm hold")
                    .blurb(
                        "How long (ms of running time) an alarmed input stays on screen after \
                         its alarm ends",
                    )
                    .maximum(MAX_MS)
                    .default_value(DEFAULT_ALARM_HOLD_MS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default(PROP_ALARM_POLICY, DEFAULT_ALARM_POLICY)
                    .nick("Alarm policy")
                    .blurb("Which alarm takes the screen when several inputs are alarmed")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder(PROP_STALL_TIMEOUT_MS)
                    .nick("Stall timeout")
                    .blurb(
                        "An input without frames for this long (ms of running time) is stalled \
                         and passed over until it delivers again; 0 disables the check",
                    )
                    .maximum(MAX_MS)
                    .default_value(DEFAULT_STALL_TIMEOUT_MS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder(PROP_KEEP_STALLED_CHOICE)
                    .nick("Keep stalled choice")
                    .blurb(
                        "When the selected input stalls, keep it on screen (its last frame) \
                         instead of showing another input in its place; alarms still override",
                    )
                    .default_value(false)
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    pub(super) fn set(&self, value: &glib::Value, pspec: &glib::ParamSpec) {
        match pspec.name() {
            PROP_SELECTED_PAD => {
                let requested = value.get::<Option<gst::Pad>>().ok().flatten();
                let target = match &requested {
                    None => None,
                    Some(p) => match self.sink_pad_of(p) {
                        Some(sink) => Some(sink.imp().id()),
                        None => {
                            gst::warning!(
                                CAT,
                                imp = self,
                                "selected-pad {} is not a sink pad of this element; kept the \
                                 previous choice",
                                p.name()
                            );
                            return;
                        }
                    },
                };
                gst::info!(
                    CAT,
                    imp = self,
                    "user selects {:?}",
                    requested.as_ref().map(|p| p.name())
                );
                let accepted = self.update(|state, _| state.selection.select(target));
                if !accepted {
                    gst::warning!(
                        CAT,
                        imp = self,
                        "selected-pad refused: pad is being released"
                    );
                }
            }
            PROP_ALARM_OVERRIDE => {
                if let Ok(v) = value.get() {
                    lock(&self.settings).alarm_override = v;
                    gst::info!(CAT, imp = self, "alarm-override {}", v);
                    self.settings_changed();
                }
            }
            PROP_ALARM_HOLD_MS => {
                if let Ok(v) = value.get() {
                    lock(&self.settings).alarm_hold_ms = v;
                    gst::info!(CAT, imp = self, "alarm-hold-ms {}", v);
                    self.settings_changed();
                }
            }
            PROP_ALARM_POLICY => {
                if let Ok(v) = value.get::<AlarmPolicy>() {
                    lock(&self.settings).alarm_policy = v;
                    gst::info!(CAT, imp = self, "alarm-policy {:?}", v);
                    self.settings_changed();
                }
            }
            PROP_STALL_TIMEOUT_MS => {
                if let Ok(v) = value.get() {
                    lock(&self.settings).stall_timeout_ms = v;
                    gst::info!(CAT, imp = self, "stall-timeout-ms {}", v);
                    self.settings_changed();
                }
            }
            PROP_KEEP_STALLED_CHOICE => {
                if let Ok(v) = value.get() {
                    lock(&self.settings).keep_stalled_choice = v;
                    gst::info!(CAT, imp = self, "keep-stalled-choice {}", v);
                    self.settings_changed();
                }
            }
            other => gst::warning!(CAT, imp = self, "property {} is read-only", other),
        }
    }

    pub(super) fn get(&self, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            PROP_SELECTED_PAD => {
                let state = lock(&self.state);
                let pad = state
                    .selection
                    .user()
                    .and_then(|id| state.pads.get(&id))
                    .map(|p| p.clone().upcast::<gst::Pad>());
                pad.to_value()
            }
            PROP_ACTIVE_PAD => lock(&self.state)
                .active
                .clone()
                .map(|p| p.upcast::<gst::Pad>())
                .to_value(),
            PROP_ALARM_OVERRIDE => lock(&self.settings).alarm_override.to_value(),
            PROP_ALARM_HOLD_MS => lock(&self.settings).alarm_hold_ms.to_value(),
            PROP_ALARM_POLICY => lock(&self.settings).alarm_policy.to_value(),
            PROP_STALL_TIMEOUT_MS => lock(&self.settings).stall_timeout_ms.to_value(),
            PROP_KEEP_STALLED_CHOICE => lock(&self.settings).keep_stalled_choice.to_value(),
            _ => pspec.default_value().clone(),
        }
    }
}
