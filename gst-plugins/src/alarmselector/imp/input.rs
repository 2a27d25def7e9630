// SPDX-License-Identifier: MIT OR Apache-2.0

//! What arrives on the sink pads: frames, events (alarms among them) and queries.

use gst::prelude::*;
use gst::subclass::prelude::*;

use super::{lock, AlarmSelector, Frame, CAT, PROP_CAMERA_ID};
use crate::alarmselector::AlarmSelectorSinkPad;
use crate::messages::Alarm;

impl AlarmSelector {
    pub(super) fn sink_chain(
        &self,
        pad: &AlarmSelectorSinkPad,
        buffer: gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let pad_imp = pad.imp();
        let (seq, running_time) = {
            let mut ps = lock(&pad_imp.state);
            let running_time = match (buffer.pts(), &ps.segment) {
                (Some(pts), Some(segment)) => match segment.to_running_time(pts) {
                    Some(rt) => Some(rt),
                    None => {
                        gst::log!(CAT, obj = pad, "dropping buffer outside the segment");
                        return Ok(gst::FlowSuccess::Ok);
                    }
                },
                _ => None,
            };
            ps.next_seq += 1;
            let seq = ps.next_seq;
            let caps = ps.caps.clone();
            ps.newest = Some(Frame {
                buffer,
                caps,
                running_time,
                seq,
            });
            (seq, running_time)
        };
        gst::trace!(CAT, obj = pad, "frame {} at {:?}", seq, running_time);

        let id = pad_imp.id();
        self.update(|state, _| {
            if let Some(rt) = running_time {
                state.last_input_rt = state.last_input_rt.max(rt.nseconds());
            }
            let now = self.now(state);
            state.selection.frame(id, now);
        });
        if !lock(&self.state).is_active(pad) {
            return Ok(gst::FlowSuccess::Ok);
        }

        let _stream = self.src_pad.stream_lock();
        if !lock(&self.state).is_active(pad) {
            return Ok(gst::FlowSuccess::Ok);
        }
        let frame = {
            let ps = lock(&pad_imp.state);
            match &ps.newest {
                Some(f) if f.seq == seq && ps.pushed_seq < seq => f.clone(),
                // Already pushed by a switch, or flushed away meanwhile.
                _ => return Ok(gst::FlowSuccess::Ok),
            }
        };
        self.push_frame(pad, frame)
    }

    pub(super) fn sink_event(&self, pad: &AlarmSelectorSinkPad, event: gst::Event) -> bool {
        use gst::EventView;
        let pad_imp = pad.imp();
        let id = pad_imp.id();

        if let Some(alarm) = Alarm::from_event(&event) {
            return match alarm {
                Ok(alarm) => self.handle_alarm(pad, alarm, event),
                Err(err) => {
                    gst::warning!(CAT, obj = pad, "ignoring malformed alarm event: {}", err);
                    true
                }
            };
        }

        match event.view() {
            EventView::Caps(c) => {
                gst::debug!(CAT, obj = pad, "input caps {}", c.caps());
                lock(&pad_imp.state).caps = Some(c.caps_owned());
                true
            }
            EventView::Segment(s) => match s.segment().downcast_ref::<gst::ClockTime>() {
                Some(segment) => {
                    lock(&pad_imp.state).segment = Some(segment.clone());
                    true
                }
                None => {
                    gst::element_imp_error!(
                        self,
                        gst::StreamError::Format,
                        ["input {} has a non-time segment", pad.name()]
                    );
                    false
                }
            },
            // A new stream on an input that ended (a camera reconnected after its source
            // sent EOS): the input is usable again, or the user's choice would never return.
            // The selector sends its own stream-start downstream.
            EventView::StreamStart(_) => {
                self.update(|state, _| state.selection.set_eos(id, false));
                true
            }
            // The selector sends its own segment and title.
            EventView::Tag(_) | EventView::Gap(_) => true,
            EventView::Eos(_) => {
                gst::debug!(CAT, obj = pad, "EOS");
                self.update(|state, _| state.selection.set_eos(id, true));
                true
            }
            EventView::FlushStart(_) => {
                lock(&pad_imp.state).newest = None;
                let forward = {
                    let mut state = lock(&self.state);
                    let forward = state.is_active(pad) && state.flushing_pad.is_none();
                    if forward {
                        state.flushing_pad = Some(pad.clone());
                    }
                    forward
                };
                if forward {
                    self.src_pad.push_event(event)
                } else {
                    true
                }
            }
            EventView::FlushStop(_) => {
                {
                    let mut ps = lock(&pad_imp.state);
                    ps.newest = None;
                    ps.segment = None;
                }
                let forward = {
                    let mut state = lock(&self.state);
                    if state.flushing_pad.as_ref() == Some(pad) {
                        state.flushing_pad = None;
                        state.eos_sent = false;
                        true
                    } else {
                        false
                    }
                };
                self.update(|state, _| state.selection.set_eos(id, false));
                if forward {
                    let _stream = self.src_pad.stream_lock();
                    {
                        let mut out = lock(&self.output);
                        out.segment_sent = false;
                        out.last_pts = None;
                    }
                    self.src_pad.push_event(event)
                } else {
                    true
                }
            }
            _ if event.is_serialized() => self.forward_serialized(pad, event),
            _ => {
                if lock(&self.state).is_active(pad) {
                    self.src_pad.push_event(event)
                } else {
                    true
                }
            }
        }
    }

    fn handle_alarm(&self, pad: &AlarmSelectorSinkPad, alarm: Alarm, event: gst::Event) -> bool {
        gst::debug!(
            CAT,
            obj = pad,
            "alarm {} on '{}' ({}, level {})",
            if alarm.active { "start" } else { "end" },
            alarm.camera_id,
            alarm.kind,
            alarm.level
        );
        let learned = {
            let mut settings = lock(&pad.imp().settings);
            if settings.camera_id.is_none() && !alarm.camera_id.is_empty() {
                settings.camera_id = Some(alarm.camera_id.clone());
                true
            } else {
                false
            }
        };
        if learned {
            pad.notify(PROP_CAMERA_ID);
        }
        let id = pad.imp().id();
        let at = alarm.running_time.map(gst::ClockTime::nseconds);
        self.update(|state, now| {
            state.selection.alarm(id, alarm.active, at, now);
        });
        // Forwarded when its input is shown, including when this very alarm made it so.
        self.forward_serialized(pad, event)
    }

    pub(super) fn sink_query(&self, pad: &AlarmSelectorSinkPad, query: &mut gst::QueryRef) -> bool {
        use gst::QueryViewMut;
        match query.view_mut() {
            QueryViewMut::Caps(q) => {
                let caps = super::peer_caps(self.src_pad.peer(), q.filter());
                q.set_result(&caps);
                true
            }
            QueryViewMut::AcceptCaps(q) => {
                let accepted = self
                    .src_pad
                    .peer()
                    .is_none_or(|peer| peer.query_accept_caps(&q.caps().to_owned()));
                q.set_result(accepted);
                true
            }
            QueryViewMut::Allocation(q) => {
                // Only the shown input negotiates buffers with downstream. Hidden inputs are
                // told only whether downstream reads video metadata, as it said for the shown
                // input: a decoder then lays its frames out the same whether shown or hidden,
                // and what it sends is still readable downstream if its input is shown next.
                let hidden_answer = {
                    let state = lock(&self.state);
                    (!state.is_active(pad)).then_some(state.downstream_video_meta)
                };
                match hidden_answer {
                    Some(false) => return false,
                    Some(true) => {
                        q.add_allocation_meta::<gst_video::VideoMeta>(None);
                        return true;
                    }
                    None => {}
                }
                if !self.src_pad.peer_query(query) {
                    return false;
                }
                let video_meta = match query.view() {
                    gst::QueryView::Allocation(q) => {
                        q.find_allocation_meta::<gst_video::VideoMeta>().is_some()
                    }
                    _ => false,
                };
                self.set_downstream_video_meta(video_meta);
                true
            }
            _ => gst::Pad::query_default(pad, Some(&*self.obj()), query),
        }
    }

    /// Records whether downstream reads video metadata. When that changes, hidden inputs are
    /// asked to negotiate again, so none keeps sending what downstream cannot read.
    fn set_downstream_video_meta(&self, video_meta: bool) {
        let hidden: Vec<AlarmSelectorSinkPad> = {
            let mut state = lock(&self.state);
            if state.downstream_video_meta == video_meta {
                return;
            }
            state.downstream_video_meta = video_meta;
            state
                .pads
                .values()
                .filter(|p| !state.is_active(p))
                .cloned()
                .collect()
        };
        gst::debug!(
            CAT,
            imp = self,
            "downstream reads video metadata: {}",
            video_meta
        );
        for p in hidden {
            p.push_event(gst::event::Reconfigure::new());
        }
    }
}
