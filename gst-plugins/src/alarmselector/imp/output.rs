// SPDX-License-Identifier: MIT OR Apache-2.0

//! The stream out: the shown input's frames, the stored frame pushed at a switch with its
//! caps and `title` tag, serialized events, and the source pad's queries and events.

use super::*;

impl AlarmSelector {
    /// Pushes the newest frame of `pad`, which just became the shown input.
    pub(super) fn push_switch_frame(&self, pad: &crate::alarmselector::AlarmSelectorSinkPad) {
        let _stream = self.src_pad.stream_lock();
        if !lock(&self.state).is_active(pad) {
            return; // another switch came in between; it pushes its own frame
        }
        let frame = {
            let ps = lock(&pad.imp().state);
            match &ps.newest {
                Some(f) if f.seq > ps.pushed_seq => f.clone(),
                _ => return,
            }
        };
        if let Err(err) = self.push_frame(pad, frame) {
            gst::debug!(CAT, imp = self, "switch frame not pushed: {:?}", err);
        }
    }

    /// Pushes `frame` of `pad`, preceded by stream-start, caps, segment and title as needed.
    /// Call with the src stream lock held.
    pub(super) fn push_frame(
        &self,
        pad: &crate::alarmselector::AlarmSelectorSinkPad,
        frame: Frame,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        lock(&pad.imp().state).pushed_seq = frame.seq;
        let label = pad.camera_label();

        let mut events = Vec::new();
        // Set when this input's frames start going out, or its new caps do.
        let mut renegotiate = false;
        let (pts, discont) = {
            let mut out = lock(&self.output);
            if !out.stream_start_sent {
                events.push(gst::event::StreamStart::builder(&out.stream_id).build());
                out.stream_start_sent = true;
            }
            if let Some(caps) = &frame.caps {
                if out.caps.as_ref() != Some(caps) {
                    gst::debug!(CAT, obj = pad, "caps now {}", caps);
                    events.push(gst::event::Caps::new(caps));
                    out.caps = Some(caps.clone());
                    renegotiate = true;
                }
            }
            if !out.segment_sent {
                let segment = gst::FormattedSegment::<gst::ClockTime>::new();
                events.push(gst::event::Segment::new(&segment));
                out.segment_sent = true;
            }
            let switched = out.current.as_ref() != Some(pad);
            if switched {
                let mut tags = gst::TagList::new();
                if let Some(tags) = tags.get_mut() {
                    tags.add::<gst::tags::Title>(&label.as_str(), gst::TagMergeMode::Replace);
                }
                events.push(gst::event::Tag::new(tags));
                out.current = Some(pad.clone());
                renegotiate = true;
            }
            // Strictly increasing timestamps across inputs.
            let pts = match (frame.running_time, out.last_pts) {
                (Some(rt), Some(last)) if rt <= last => Some(last + gst::ClockTime::NSECOND),
                (Some(rt), _) => Some(rt),
                (None, last) => last.map(|l| l + gst::ClockTime::NSECOND),
            };
            if pts.is_some() {
                out.last_pts = pts;
            }
            (pts, switched)
        };

        for event in events {
            if !self.src_pad.push_event(event) {
                gst::debug!(
                    CAT,
                    imp = self,
                    "downstream refused an event; resending later"
                );
                let mut out = lock(&self.output);
                out.stream_start_sent = false;
                out.caps = None;
                out.segment_sent = false;
                out.current = None;
                renegotiate = false;
            }
        }
        if renegotiate {
            // Its producer negotiated buffers while hidden (without downstream's pool and
            // parameters), or asked before downstream had these caps and was refused: let it
            // ask downstream again now.
            pad.push_event(gst::event::Reconfigure::new());
        }

        let mut buffer = frame.buffer;
        // The frame is shared (the input keeps it as its newest), and a decoder's pooled
        // memory may not be shared, so a writable buffer is a copy of the whole picture. A live
        // input's timestamps are usually its running time already: then it goes out as it is.
        let as_is = buffer.pts() == pts
            && buffer.dts().is_none()
            && (!discont || buffer.flags().contains(gst::BufferFlags::DISCONT));
        if !as_is {
            let buffer = buffer.make_mut();
            buffer.set_pts(pts);
            buffer.set_dts(gst::ClockTime::NONE);
            if discont {
                buffer.set_flags(gst::BufferFlags::DISCONT);
            }
        }
        gst::log!(CAT, obj = pad, "pushing {:?} as {}", buffer.pts(), label);
        self.src_pad.push(buffer)
    }

    /// Pushes a serialized event of the shown input downstream, in order with its buffers.
    pub(super) fn forward_serialized(
        &self,
        pad: &crate::alarmselector::AlarmSelectorSinkPad,
        event: gst::Event,
    ) -> bool {
        let _stream = self.src_pad.stream_lock();
        if !lock(&self.state).is_active(pad) {
            return true;
        }
        self.src_pad.push_event(event)
    }

    pub(super) fn reset_output(&self) {
        let mut out = lock(&self.output);
        *out = Output {
            stream_id: format!("alarmselector-{:08x}", glib::random_int()),
            ..Default::default()
        };
    }

    pub(super) fn src_query(&self, pad: &gst::Pad, query: &mut gst::QueryRef) -> bool {
        use gst::QueryViewMut;
        match query.view_mut() {
            QueryViewMut::Latency(q) => {
                // Any input may be shown next: report the worst of them.
                let pads: Vec<_> = lock(&self.state).pads.values().cloned().collect();
                let mut live = false;
                let mut min = gst::ClockTime::ZERO;
                let mut max = gst::ClockTime::NONE;
                for sink in pads {
                    let mut peer_q = gst::query::Latency::new();
                    if sink.peer_query(&mut peer_q) {
                        let (l, mn, mx) = peer_q.result();
                        if l {
                            live = true;
                            min = min.max(mn);
                            max = match (max, mx) {
                                (Some(a), Some(b)) => Some(a.min(b)),
                                (a, b) => a.or(b),
                            };
                        }
                    }
                }
                gst::debug!(
                    CAT,
                    imp = self,
                    "latency live {} min {} max {:?}",
                    live,
                    min,
                    max
                );
                q.set(live, min, max);
                true
            }
            QueryViewMut::Caps(q) => {
                let active = lock(&self.state).active.clone();
                let caps = peer_caps(active.and_then(|a| a.peer()), q.filter());
                q.set_result(&caps);
                true
            }
            _ => gst::Pad::query_default(pad, Some(&*self.obj()), query),
        }
    }

    pub(super) fn src_event(&self, event: gst::Event) -> bool {
        let (active, all): (Option<crate::alarmselector::AlarmSelectorSinkPad>, Vec<_>) = {
            let state = lock(&self.state);
            (state.active.clone(), state.pads.values().cloned().collect())
        };
        if let gst::EventView::Reconfigure(_) = event.view() {
            let mut ok = true;
            for pad in all {
                ok &= pad.push_event(event.clone());
            }
            return ok;
        }
        match active {
            Some(pad) => pad.push_event(event),
            None => false,
        }
    }
}
