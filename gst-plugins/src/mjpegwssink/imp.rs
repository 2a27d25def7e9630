// SPDX-License-Identifier: MIT OR Apache-2.0

//! Lock order: `settings`, then `state`, then `feed`; never held while posting, notifying or
//! waiting for the server.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock, Mutex};

use bytes::Bytes;
use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;

use super::clients::ClientSet;
use super::feed::{FrameFeed, GOP_KEEP_MAX, GOP_REPLAY_MAX};
use super::jpeg;
use super::routes::{routes, RouteOptions};
use super::server::ServerHandle;
use super::Envelope;
use crate::lock;
use crate::messages::Alarm;
use crate::protocol;
use warp::Filter;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "mjpegwssink",
        gst::DebugColorFlags::empty(),
        Some("JPEG frames to browsers over WebSocket"),
    )
});

const DEFAULT_ADDRESS: &str = "127.0.0.1";
const DEFAULT_PORT: u32 = 8080;
const DEFAULT_PATH: &str = "/ws";
const DEFAULT_ENVELOPE: Envelope = Envelope::Json;
const DEFAULT_MAX_CLIENTS: u32 = 0;
const DEFAULT_SERVE_VIEWER: bool = true;
const DEFAULT_SERVER_ENABLED: bool = true;
const DEFAULT_FORWARD_ALARMS: bool = true;

/// WebSocket close codes: normal closure at EOS, "going away" when the server stops.
const CLOSE_EOS: u16 = 1000;
const CLOSE_STOP: u16 = 1001;

#[derive(Debug, Clone)]
struct Settings {
    address: IpAddr,
    port: u16,
    path: String,
    envelope: Envelope,
    max_clients: u32,
    token: Option<String>,
    serve_viewer: bool,
    server_enabled: bool,
    forward_alarms: bool,
    keyframe_replay: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            address: DEFAULT_ADDRESS.parse().expect("default address is valid"),
            port: DEFAULT_PORT as u16,
            path: DEFAULT_PATH.into(),
            envelope: DEFAULT_ENVELOPE,
            max_clients: DEFAULT_MAX_CLIENTS,
            token: None,
            serve_viewer: DEFAULT_SERVE_VIEWER,
            server_enabled: DEFAULT_SERVER_ENABLED,
            forward_alarms: DEFAULT_FORWARD_ALARMS,
            keyframe_replay: GOP_REPLAY_MAX as u32,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    server: Option<ServerHandle>,
    clients: Option<ClientSet>,
    bound_port: u16,
    camera: Option<Arc<str>>,
    /// Whether the previous buffer was refused, so a run of bad frames posts one warning.
    in_bad_run: bool,
    /// H.264 in (else JPEG), and its size from the caps.
    h264: Option<(u32, u32)>,
    /// When the encoder was last asked for a keyframe.
    keyframe_asked: Option<std::time::Instant>,
}

/// Keyframes asked of the encoder for new or lagging H.264 viewers at most this often.
const KEYFRAME_REQUEST_GAP: std::time::Duration = std::time::Duration::from_millis(250);

struct FeedSlot {
    feed: FrameFeed,
    /// Whether the feed was created by the sink (then it forgets its last frame on stop).
    own: bool,
}

pub struct MjpegWsSink {
    settings: Mutex<Settings>,
    state: Mutex<State>,
    feed: Mutex<FeedSlot>,
}

impl Default for MjpegWsSink {
    fn default() -> Self {
        MjpegWsSink {
            settings: Mutex::default(),
            state: Mutex::default(),
            feed: Mutex::new(FeedSlot {
                feed: FrameFeed::new(),
                own: true,
            }),
        }
    }
}

/// A WebSocket path: absolute, without query or fragment, without spaces.
fn valid_path(p: &str) -> bool {
    p.starts_with('/') && !p.contains(['?', '#', ' ', '\t', '\r', '\n'])
}

impl MjpegWsSink {
    /// One H.264 access unit: published as is; a keyframe is asked of the encoder upstream when
    /// a viewer needs one (at most every [`KEYFRAME_REQUEST_GAP`]).
    fn render_h264(
        &self,
        buffer: &gst::Buffer,
        size: (u32, u32),
        ts: u64,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let map = buffer.clone().into_mapped_buffer_readable().map_err(|_| {
            gst::element_imp_error!(self, gst::StreamError::Failed, ["Could not map buffer"]);
            gst::FlowError::Error
        })?;
        let keyframe = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
        let feed = self.feed();
        let camera = lock(&self.state).camera.clone();
        let size = (size.0 > 0 && size.1 > 0).then_some(size);
        let frame = feed.publish_h264(Bytes::from_owner(map), keyframe, camera, size, ts);
        gst::log!(
            CAT,
            imp = self,
            "published H.264 frame {} ({} bytes{})",
            frame.seq,
            frame.data.len(),
            if keyframe { ", keyframe" } else { "" }
        );
        if !keyframe && feed.take_keyframe_request() {
            self.ask_keyframe(&feed);
        }
        Ok(gst::FlowSuccess::Ok)
    }

    /// Asks the encoder upstream for a keyframe now, unless one was asked for less than
    /// [`KEYFRAME_REQUEST_GAP`] ago: then the request waits in the feed for a later frame.
    fn ask_keyframe(&self, feed: &FrameFeed) {
        let now = std::time::Instant::now();
        let due = {
            let mut state = lock(&self.state);
            let due = state
                .keyframe_asked
                .is_none_or(|t| now.duration_since(t) >= KEYFRAME_REQUEST_GAP);
            if due {
                state.keyframe_asked = Some(now);
            }
            due
        };
        if due {
            gst::debug!(CAT, imp = self, "asking upstream for a keyframe");
            let event = gst_video::UpstreamForceKeyUnitEvent::builder()
                .all_headers(true)
                .build();
            self.obj().sink_pad().push_event(event);
        } else {
            feed.defer_keyframe_request();
        }
    }

    /// Lets the feed's viewers ask for a keyframe at once, from their own thread, rather than at
    /// the next frame the sink renders (which would add up to a frame's interval).
    fn hook_keyframe_requests(&self, feed: &FrameFeed) {
        let sink = self.obj().downgrade();
        feed.set_keyframe_hook(Some(std::sync::Arc::new(move |feed: &FrameFeed| {
            if let Some(sink) = sink.upgrade() {
                if feed.take_keyframe_request() {
                    sink.imp().ask_keyframe(feed);
                }
            }
        })));
    }

    pub(super) fn feed(&self) -> FrameFeed {
        lock(&self.feed).feed.clone()
    }

    pub(super) fn set_feed(&self, feed: FrameFeed) {
        gst::info!(CAT, imp = self, "publishing into an external feed");
        feed.set_keyframe_replay(lock(&self.settings).keyframe_replay as usize);
        self.hook_keyframe_requests(&feed);
        *lock(&self.feed) = FeedSlot { feed, own: false };
    }

    fn refuse(&self, what: &str, why: &str) {
        gst::warning!(
            CAT,
            imp = self,
            "refusing {what}: {why}; keeping the old value"
        );
    }
}

#[glib::object_subclass]
impl ObjectSubclass for MjpegWsSink {
    const NAME: &'static str = "GstMjpegWsSink";
    type Type = super::MjpegWsSink;
    type ParentType = gst_base::BaseSink;
}

impl ObjectImpl for MjpegWsSink {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("address")
                    .nick("Address")
                    .blurb("IP address the server listens on (applies at the next start)")
                    .default_value(Some(DEFAULT_ADDRESS))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("port")
                    .nick("Port")
                    .blurb("TCP port the server listens on, 0 for any free port (see bound-port)")
                    .maximum(u16::MAX as u32)
                    .default_value(DEFAULT_PORT)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("bound-port")
                    .nick("Bound port")
                    .blurb("TCP port the server actually listens on, 0 when it does not run")
                    .maximum(u16::MAX as u32)
                    .read_only()
                    .build(),
                glib::ParamSpecString::builder("path")
                    .nick("WebSocket path")
                    .blurb("Path of the WebSocket endpoint, starting with '/'")
                    .default_value(Some(DEFAULT_PATH))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("envelope", DEFAULT_ENVELOPE)
                    .nick("Envelope")
                    .blurb(
                        "json: one {\"type\":\"frame\",...} message per frame plus alarm \
                         messages; none: the bare base64 string per frame, nothing else",
                    )
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("max-clients")
                    .nick("Maximum clients")
                    .blurb(
                        "Most viewers at once (WebSocket and /mjpeg), 0 for no limit; \
                         extra viewers are refused with 503",
                    )
                    .default_value(DEFAULT_MAX_CLIENTS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("token")
                    .nick("Token")
                    .blurb(
                        "When set, viewers must present it as ?token= or \
                         'Authorization: Bearer', else they get 401 (write-only)",
                    )
                    // A secret: never read back, so it does not show up in logs or dumps.
                    .write_only()
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("serve-viewer")
                    .nick("Serve viewer")
                    .blurb("Serve a minimal page showing the stream at / (and its scripts: /viewer.js, /player.js, /decoder.worker.js, /protocol.js, /viewer.css)")
                    .default_value(DEFAULT_SERVE_VIEWER)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("server-enabled")
                    .nick("Server enabled")
                    .blurb(
                        "Run the sink's own HTTP server; disable when the application serves \
                         the sink's feed from its own server",
                    )
                    .default_value(DEFAULT_SERVER_ENABLED)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("forward-alarms")
                    .nick("Forward alarms")
                    .blurb(
                        "Send the camwall-alarm events that travel with the stream to the viewers \
                         as alarm messages; disable when the application publishes alarms itself",
                    )
                    .default_value(DEFAULT_FORWARD_ALARMS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("keyframe-replay")
                    .nick("Keyframe replay")
                    .blurb(
                        "H.264: a viewer that connects is sent the frames since the last \
                         keyframe when there are at most this many (its decoder catches up in a \
                         burst); otherwise, and always with 0, a keyframe is asked of the \
                         encoder upstream (at most one each 250 ms)",
                    )
                    .maximum(GOP_KEEP_MAX as u32)
                    .default_value(GOP_REPLAY_MAX as u32)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("clients")
                    .nick("Clients")
                    .blurb("Viewers currently connected (WebSocket and /mjpeg)")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("frames-sent")
                    .nick("Frames sent")
                    .blurb("Frames sent to viewers, summed over all viewers")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("frames-dropped")
                    .nick("Frames dropped")
                    .blurb("Frames viewers skipped because they were slower than the stream")
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = lock(&self.settings);
        match pspec.name() {
            "address" => {
                let text: Option<String> = value.get().unwrap_or_default();
                let text = text.unwrap_or_else(|| DEFAULT_ADDRESS.into());
                match text.trim().parse::<IpAddr>() {
                    Ok(a) => settings.address = a,
                    Err(_) => self.refuse("address", &format!("'{text}' is not an IP address")),
                }
            }
            "port" => {
                let port: u32 = value.get().unwrap_or(DEFAULT_PORT);
                match u16::try_from(port) {
                    Ok(p) => settings.port = p,
                    Err(_) => self.refuse("port", &format!("{port} is out of range")),
                }
            }
            "path" => {
                let path: Option<String> = value.get().unwrap_or_default();
                let path = path.unwrap_or_else(|| DEFAULT_PATH.into());
                if valid_path(&path) {
                    settings.path = path;
                } else {
                    self.refuse(
                        "path",
                        &format!("'{path}' must start with '/' and have no query or spaces"),
                    );
                }
            }
            "envelope" => {
                settings.envelope = value.get().unwrap_or(DEFAULT_ENVELOPE);
            }
            "max-clients" => {
                settings.max_clients = value.get().unwrap_or(DEFAULT_MAX_CLIENTS);
            }
            "token" => {
                let token: Option<String> = value.get().unwrap_or_default();
                settings.token = token.filter(|t| !t.is_empty());
            }
            "serve-viewer" => {
                settings.serve_viewer = value.get().unwrap_or(DEFAULT_SERVE_VIEWER);
            }
            "server-enabled" => {
                settings.server_enabled = value.get().unwrap_or(DEFAULT_SERVER_ENABLED);
            }
            "forward-alarms" => {
                settings.forward_alarms = value.get().unwrap_or(DEFAULT_FORWARD_ALARMS);
            }
            "keyframe-replay" => {
                settings.keyframe_replay = value.get().unwrap_or(GOP_REPLAY_MAX as u32);
                self.feed()
                    .set_keyframe_replay(settings.keyframe_replay as usize);
            }
            other => {
                gst::warning!(CAT, imp = self, "unknown writable property '{other}'");
            }
        }
        gst::info!(CAT, imp = self, "property '{}' set", pspec.name());
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "address" => lock(&self.settings).address.to_string().to_value(),
            "port" => u32::from(lock(&self.settings).port).to_value(),
            "bound-port" => u32::from(lock(&self.state).bound_port).to_value(),
            "path" => lock(&self.settings).path.to_value(),
            "envelope" => lock(&self.settings).envelope.to_value(),
            "max-clients" => lock(&self.settings).max_clients.to_value(),
            "serve-viewer" => lock(&self.settings).serve_viewer.to_value(),
            "server-enabled" => lock(&self.settings).server_enabled.to_value(),
            "forward-alarms" => lock(&self.settings).forward_alarms.to_value(),
            "keyframe-replay" => lock(&self.settings).keyframe_replay.to_value(),
            "clients" => (u32::try_from(self.feed().clients()).unwrap_or(u32::MAX)).to_value(),
            "frames-sent" => self.feed().frames_sent().to_value(),
            "frames-dropped" => self.feed().frames_dropped().to_value(),
            // GObject only asks for the properties registered above.
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        // A live viewer wants each frame as soon as it exists, not at its presentation time.
        self.obj().set_sync(false);
    }
}

impl GstObjectImpl for MjpegWsSink {}

impl ElementImpl for MjpegWsSink {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "MJPEG WebSocket sink",
                "Sink/Network/Video",
                "Sends each JPEG frame as base64 (or binary) over WebSocket to every connected \
                 browser, newest frame first; also serves /snapshot.jpg, /mjpeg and a viewer \
                 page. Takes H.264 (byte-stream, one access unit a buffer) too: sent as binary \
                 messages, each viewer starting at a keyframe",
                "camwall developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let mut caps = gst::Caps::builder("image/jpeg").build();
            caps.merge(
                gst::Caps::builder("video/x-h264")
                    .field("stream-format", "byte-stream")
                    .field("alignment", "au")
                    .build(),
            );
            vec![gst::PadTemplate::new(
                "sink",
                gst::PadDirection::Sink,
                gst::PadPresence::Always,
                &caps,
            )
            .expect("the sink pad template is valid")]
        });
        TEMPLATES.as_ref()
    }
}

impl BaseSinkImpl for MjpegWsSink {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = lock(&self.settings).clone();
        let feed = self.feed();
        self.hook_keyframe_requests(&feed);
        {
            let mut state = lock(&self.state);
            state.camera = None;
            state.in_bad_run = false;
        }
        if !settings.server_enabled {
            gst::info!(CAT, imp = self, "started without a server of its own");
            return Ok(());
        }

        let clients = ClientSet::new();
        let opts = RouteOptions {
            path: settings.path.clone(),
            envelope: settings.envelope,
            token: settings.token.clone(),
            max_clients: settings.max_clients as usize,
            serve_viewer: settings.serve_viewer,
            clients: clients.clone(),
        };
        let addr = SocketAddr::new(settings.address, settings.port);
        // Whatever the routes do not answer is answered in the one error shape.
        let filter = routes(feed, opts)
            .recover(crate::http::recover)
            .unify()
            .boxed();
        let server = ServerHandle::start(addr, filter, clients.clone()).map_err(|e| {
            gst::error_msg!(
                gst::ResourceError::OpenReadWrite,
                ["Could not listen on {addr}: {e}"]
            )
        })?;
        let bound = server.addr;
        {
            let mut state = lock(&self.state);
            state.bound_port = bound.port();
            state.server = Some(server);
            state.clients = Some(clients);
        }
        gst::info!(
            CAT,
            imp = self,
            "serving ws://{bound}{} , /snapshot.jpg, /mjpeg",
            settings.path
        );
        self.obj().notify("bound-port");
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        let server = {
            let mut state = lock(&self.state);
            state.clients = None;
            state.bound_port = 0;
            state.server.take()
        };
        if let Some(server) = server {
            server.stop(CLOSE_STOP, "server stopped");
            gst::info!(CAT, imp = self, "server stopped");
            self.obj().notify("bound-port");
        }
        let slot = lock(&self.feed);
        if slot.own {
            // A later start must not show a picture from this run.
            slot.feed.clear();
        }
        Ok(())
    }

    fn set_caps(&self, caps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let s = caps
            .structure(0)
            .ok_or_else(|| gst::loggable_error!(CAT, "empty caps"))?;
        let h264 = (s.name() == "video/x-h264").then(|| {
            let dim = |k: &str| s.get::<i32>(k).ok().map_or(0, |v| v.max(0) as u32);
            (dim("width"), dim("height"))
        });
        lock(&self.state).h264 = h264;
        self.parent_set_caps(caps)
    }

    fn render(&self, buffer: &gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let ts = protocol::unix_ms_now();
        let h264 = lock(&self.state).h264;
        if let Some(size) = h264 {
            return self.render_h264(buffer, size, ts);
        }
        let map = buffer.clone().into_mapped_buffer_readable().map_err(|_| {
            gst::element_imp_error!(self, gst::StreamError::Failed, ["Could not map buffer"]);
            gst::FlowError::Error
        })?;
        let info = match jpeg::inspect(map.as_slice()) {
            Ok(info) => info,
            Err(e) => {
                let first_of_run = !std::mem::replace(&mut lock(&self.state).in_bad_run, true);
                gst::warning!(
                    CAT,
                    imp = self,
                    "dropping a frame that is not a valid JPEG: {e}"
                );
                if first_of_run {
                    gst::element_imp_warning!(
                        self,
                        gst::StreamError::Decode,
                        ("Dropping frames that are not valid JPEG images"),
                        ["first refused frame: {e} ({} bytes)", map.len()]
                    );
                }
                return Ok(gst::FlowSuccess::Ok);
            }
        };
        let camera = {
            let mut state = lock(&self.state);
            state.in_bad_run = false;
            state.camera.clone()
        };
        let frame = self.feed().publish_frame(
            Bytes::from_owner(map),
            camera,
            Some((info.width, info.height)),
            ts,
        );
        gst::log!(
            CAT,
            imp = self,
            "published frame {} ({} bytes, {}x{})",
            frame.seq,
            frame.data.len(),
            info.width,
            info.height
        );
        Ok(gst::FlowSuccess::Ok)
    }

    fn event(&self, event: gst::Event) -> bool {
        if let gst::EventView::FlushStop(_) = event.view() {
            // Frames after a flush need not follow the ones before: viewers start again at a
            // keyframe.
            lock(&self.state).keyframe_asked = None;
        }
        match event.view() {
            gst::EventView::Tag(tag) => {
                let title = tag
                    .tag()
                    .get::<gst::tags::Title>()
                    .map(|v| v.get().to_string());
                if let Some(title) = title {
                    gst::debug!(CAT, imp = self, "camera is now '{title}'");
                    lock(&self.state).camera = Some(title.into());
                }
            }
            gst::EventView::CustomDownstream(_) => match Alarm::from_event(&event) {
                Some(Ok(_)) if !lock(&self.settings).forward_alarms => {}
                Some(Ok(alarm)) => {
                    gst::debug!(CAT, imp = self, "forwarding alarm {alarm:?}");
                    let msg = protocol::Message::Alarm((&alarm).into());
                    self.feed().publish_message(&msg);
                }
                Some(Err(e)) => {
                    gst::warning!(CAT, imp = self, "ignoring a malformed alarm event: {e}");
                }
                None => {}
            },
            gst::EventView::Eos(_) => {
                let clients = lock(&self.state).clients.clone();
                if let Some(clients) = clients {
                    gst::info!(CAT, imp = self, "end of stream: closing viewers");
                    clients.close_all(CLOSE_EOS, "end of stream");
                }
            }
            _ => {}
        }
        self.parent_event(event)
    }
}
