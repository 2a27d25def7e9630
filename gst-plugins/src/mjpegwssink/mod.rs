// SPDX-License-Identifier: MIT OR Apache-2.0

//! `mjpegwssink`: JPEG frames to every browser over WebSocket, newest frame first.
//!
//! The sink takes `image/jpeg` and sends each frame to every connected viewer as one WebSocket
//! text message: with `envelope=json` (the default) the `frame` message of [`crate::protocol`]
//!
//! ```json
//! {"type":"frame","camera":"cam1","seq":42,"ts":1763731200123,"width":1920,"height":1080,"jpeg":"/9j/4AAQ..."}
//! ```
//!
//! and, with `envelope=none`, the bare base64 string only. Each frame is encoded once (base64 and
//! JSON) and shared by all viewers. A viewer that is slower than the stream skips to the newest
//! frame (`frames-dropped` counts the skips); a new viewer is sent the newest frame as soon as
//! it connects. `camera` is the latest `title` tag on the stream, and `camwall-alarm` events
//! become `{"type":"alarm",...}` messages.
//!
//! The same server also serves `GET /snapshot.jpg` (the newest frame), `GET /mjpeg`
//! (`multipart/x-mixed-replace`, for `<img>` tags, VLC and ffmpeg) and, with `serve-viewer`, a
//! minimal page at `/` that shows the stream with the player camwall's own page uses (its ES
//! modules at `/viewer.js`, `/player.js`, `/base64.js`, `/decoder.worker.js`, `/protocol.js`, `/viewer.css`,
//! under a Content-Security-Policy of `default-src 'self'`; see [`web`]).
//!
//! ## H.264
//!
//! The sink also takes `video/x-h264,stream-format=byte-stream,alignment=au` (one access unit a
//! buffer, SPS and PPS before each keyframe: `h264parse config-interval=-1`). Each access unit
//! goes to every viewer as one binary message ([`crate::protocol::binary`]); none is skipped, and
//! every viewer starts at a keyframe: the frames since the last one when there are at most
//! `keyframe-replay` ([`GOP_REPLAY_MAX`] by default), else a keyframe asked of the encoder upstream
//! (a force-key-unit event, at most every 250 ms). A viewer that falls behind waits for the next keyframe, asked for the
//! same way. JPEG viewers may ask for binary messages too (`/ws?binary=1`: no base64).
//!
//! ```text
//! gst-launch-1.0 videotestsrc is-live=true ! video/x-raw,width=1280,height=720,framerate=25/1 \
//!     ! x264enc tune=zerolatency speed-preset=ultrafast bframes=0 key-int-max=250 \
//!     ! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au \
//!     ! mjpegwssink port=8080
//! ```
//!
//! The sink does not synchronise on the clock by default (`sync=false`): it is meant for live
//! viewing, where a frame is best shown as soon as it exists.
//!
//! ## Example pipeline
//!
//! ```text
//! gst-launch-1.0 videotestsrc is-live=true ! video/x-raw,width=1280,height=720,framerate=25/1 \
//!     ! jpegenc quality=70 ! mjpegwssink port=8080
//! # then open http://127.0.0.1:8080/
//! ```
//!
//! ## Serving the frames from an application's own server
//!
//! An application that already runs a warp server keeps one [`FrameFeed`] for its lifetime, gives
//! it to each pipeline's sink with [`MjpegWsSink::set_feed`] (with `server-enabled=false`), and
//! mounts [`routes`] on it. Viewers stay connected while pipelines are rebuilt:
//!
//! ```no_run
//! use gstcamwall::mjpegwssink::{routes, FrameFeed, MjpegWsSink, RouteOptions};
//! use gst::prelude::*;
//! # async fn serve() {
//! let feed = FrameFeed::new();
//! let api = routes(feed.clone(), RouteOptions::default());
//! tokio::spawn(warp::serve(api).run(([127, 0, 0, 1], 8080)));
//!
//! // For every (re)built pipeline:
//! let sink = gst::ElementFactory::make("mjpegwssink")
//!     .property("server-enabled", false)
//!     .build()
//!     .unwrap()
//!     .downcast::<MjpegWsSink>()
//!     .unwrap();
//! sink.set_feed(&feed);
//!
//! // Events for the viewers that do not come from the stream:
//! feed.publish_message(&gstcamwall::protocol::Message::Camera(gstcamwall::protocol::CameraState {
//!     camera: "cam3".into(),
//!     state: "offline".into(),
//!     ts: gstcamwall::protocol::unix_ms_now(),
//!     offline_since: None,
//!     error: None,
//! }));
//! # }
//! ```

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

mod clients;
mod feed;
mod imp;
pub mod jpeg;
mod mjpeg;
mod routes;
mod server;
pub mod web;
mod ws;

/// A single-threaded runtime for the unit tests of the feed and the routes.
#[cfg(test)]
pub(crate) fn test_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub use crate::http::{constant_time_eq, is_authorized};
pub use clients::{ClientSet, ClientSlot, CloseFrame};
pub use feed::{
    ClientGuard, Codec, DirectAttachment, DirectViewer, EncodedFrame, EncodedMessage, FrameFeed,
    FrameReceiver, MessageReceiver, Subscription, DIRECT_VIEWERS, GOP_KEEP_MAX, GOP_REPLAY_MAX,
};
pub use mjpeg::{mjpeg_part_header, MJPEG_BOUNDARY};
pub use routes::{routes, routes_picking, PickFeed, RouteOptions};
pub use web::viewer_page;

/// What a WebSocket frame message looks like (`envelope` property).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstMjpegWsSinkEnvelope")]
pub enum Envelope {
    /// `{"type":"frame",...}` JSON messages, plus alarm messages.
    #[default]
    #[enum_value(name = "JSON frame and alarm messages", nick = "json")]
    Json = 0,
    /// The bare base64 of each JPEG, nothing else (the original camwall page).
    #[enum_value(
        name = "Bare base64 string per frame, no other messages",
        nick = "none"
    )]
    None = 1,
}

glib::wrapper! {
    /// The `mjpegwssink` element.
    pub struct MjpegWsSink(ObjectSubclass<imp::MjpegWsSink>)
        @extends gst_base::BaseSink, gst::Element, gst::Object;
}

impl MjpegWsSink {
    /// The feed the sink publishes into: its own, or the one given with [`Self::set_feed`].
    pub fn feed(&self) -> FrameFeed {
        self.imp().feed()
    }

    /// Makes the sink publish into `feed` (for instance an application's long-lived feed).
    /// Takes effect at once for frames; the sink's own server, if enabled, serves the feed that
    /// was set when it started.
    pub fn set_feed(&self, feed: &FrameFeed) {
        self.imp().set_feed(feed.clone());
    }

    /// The port the sink's own server listens on, while it runs.
    pub fn bound_port(&self) -> Option<u16> {
        let port = self.property::<u32>("bound-port");
        u16::try_from(port).ok().filter(|p| *p != 0)
    }
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "mjpegwssink",
        gst::Rank::NONE,
        MjpegWsSink::static_type(),
    )
}
