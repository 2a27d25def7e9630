// SPDX-License-Identifier: MIT OR Apache-2.0

//! What the pipeline hands the rest of the launcher for each camera, without copying or
//! encoding anything: its newest decoded frame (a [`gst::Sample`] reference, for snapshots)
//! and its decode errors (for metrics). Written from the camera's streaming thread and the
//! supervisor's bus handling; read by the integrations.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use gst::prelude::*;
use gstcamwall::lock;

/// What the pipeline hands the launcher for one camera, written from its streaming thread.
#[derive(Debug, Default)]
pub struct CameraTaps {
    latest: Mutex<Latest>,
    decode_errors: AtomicU64,
}

/// The newest frame and the caps it came with (kept apart: a frame costs one reference, and
/// the sample is only made when someone asks for it).
#[derive(Debug, Default)]
struct Latest {
    caps: Option<gst::Caps>,
    buffer: Option<gst::Buffer>,
}

impl CameraTaps {
    /// Keeps `buffer` (a reference, not a copy) as the newest frame; counts frames the decoder
    /// marked as corrupted.
    pub fn frame(&self, pad: &gst::Pad, buffer: &gst::BufferRef) {
        if buffer.flags().contains(gst::BufferFlags::CORRUPTED) {
            self.decode_errors.fetch_add(1, Ordering::Relaxed);
        }
        let buffer = buffer.to_owned();
        let mut latest = self.lock();
        if latest.caps.is_none() {
            // Caps that were set before the tap was.
            latest.caps = pad.current_caps();
        }
        // The previous frame is released after the lock.
        let _previous = latest.buffer.replace(buffer);
        drop(latest);
    }

    /// New caps: frames from now on have this format; the newest frame, in the old one, goes.
    pub fn caps(&self, caps: gst::Caps) {
        let mut latest = self.lock();
        latest.caps = Some(caps);
        latest.buffer = None;
    }

    /// The newest decoded frame with its caps.
    pub fn latest(&self) -> Option<gst::Sample> {
        let latest = self.lock();
        let (caps, buffer) = (latest.caps.as_ref()?, latest.buffer.as_ref()?);
        Some(gst::Sample::builder().buffer(buffer).caps(caps).build())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Latest> {
        lock(&self.latest)
    }

    /// Frames the decoder marked as corrupted, plus decoder errors seen on the bus.
    pub fn decode_errors(&self) -> u64 {
        self.decode_errors.load(Ordering::Relaxed)
    }

    /// Counts a decoder error reported on the bus.
    pub fn decode_error(&self) {
        self.decode_errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts an error or warning posted by a camera's decoder as a decode error of that camera;
/// `camera_of` finds the camera whose bin holds an object. A decoding bin's own messages (a
/// decodebin's "Delayed linking failed", its missing plugins) are not decode errors unless they
/// say so (a `StreamError::Decode`).
pub(crate) fn count_decode_error<T: std::ops::Deref<Target = CameraTaps>>(
    msg: &gst::Message,
    taps_of: impl Fn(&gst::Object) -> Option<T>,
) {
    let error = match msg.view() {
        gst::MessageView::Error(e) => e.error(),
        gst::MessageView::Warning(w) => w.error(),
        _ => return,
    };
    let Some(src) = msg.src() else { return };
    let Some(element) = src.downcast_ref::<gst::Element>() else {
        return;
    };
    let is_decoder = element
        .factory()
        .is_some_and(|f| f.klass().contains("Decoder"));
    let counts =
        is_decoder && (!element.is::<gst::Bin>() || error.matches(gst::StreamError::Decode));
    if let Some(taps) = counts.then(|| taps_of(src)).flatten() {
        taps.decode_error();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_errors_count_for_their_camera_only() {
        crate::init_gst();
        let (a, b) = (CameraTaps::default(), CameraTaps::default());
        let decoder = gst::ElementFactory::make("avdec_h264").build().unwrap();
        let source = gst::ElementFactory::make("rtspsrc").build().unwrap();
        let error = |src: &gst::Element| {
            gst::message::Error::builder(gst::StreamError::Decode, "broken slice")
                .src(src)
                .build()
        };
        let on_b = |_: &gst::Object| Some(&b);
        count_decode_error(&error(&decoder), on_b);
        count_decode_error(
            &gst::message::Warning::builder(gst::StreamError::Decode, "concealed")
                .src(&decoder)
                .build(),
            on_b,
        );
        // Not a decoder, not a camera's, not an error: not counted.
        count_decode_error(&error(&source), on_b);
        // A decodebin's linking warning is not a decode error; its decode error is.
        let decodebin = gst::ElementFactory::make("decodebin").build().unwrap();
        count_decode_error(
            &gst::message::Warning::builder(gst::CoreError::Pad, "Delayed linking failed")
                .src(&decodebin)
                .build(),
            on_b,
        );
        count_decode_error(&error(&decodebin), on_b);
        count_decode_error(&error(&decoder), |_| None::<&CameraTaps>);
        count_decode_error(&gst::message::Eos::builder().src(&decoder).build(), on_b);
        assert_eq!(a.decode_errors(), 0);
        assert_eq!(b.decode_errors(), 3);
    }
}
