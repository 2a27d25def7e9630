// SPDX-License-Identifier: MIT OR Apache-2.0

//! The fan-out between the sink and the viewers: newest frame wins, every frame encoded once.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use tokio::sync::{broadcast, watch};
use warp::ws::Message as WsMessage;

use crate::lock;
use crate::protocol::{self, unix_ms_now};

/// How many non-frame messages (alarms, switches, camera states) a client may lag behind before it
/// skips the oldest ones. They are small and rare; frames never go through this queue.
const MESSAGE_QUEUE: usize = 64;

/// How many viewers at most the publishing thread writes to itself (see [`DirectViewer`]); the
/// others are served by their own tasks, so that many viewers never hold up the stream.
pub const DIRECT_VIEWERS: usize = 4;

/// A viewer that the publishing thread hands each new frame to, on that thread, instead of
/// waking the viewer's task: see [`FrameFeed::attach_direct`].
pub trait DirectViewer: Send + Sync {
    /// Takes `frame`, the newest one. Called on the publishing thread: must not block.
    fn offer(&self, frame: &Arc<EncodedFrame>);
}

/// Keeps a [`DirectViewer`] attached to its feed until dropped.
pub struct DirectAttachment {
    feed: FrameFeed,
    viewer: Arc<dyn DirectViewer>,
}

impl std::fmt::Debug for DirectAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DirectAttachment")
    }
}

impl Drop for DirectAttachment {
    fn drop(&mut self) {
        lock(&self.feed.inner.direct).retain(|v| !Arc::ptr_eq(v, &self.viewer));
    }
}

/// What a frame's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// A JPEG image.
    Jpeg,
    /// An H.264 access unit, Annex B byte-stream (start codes; SPS and PPS before each IDR).
    H264,
}

/// An H.264 viewer that connects is sent the frames since the last keyframe when there are at
/// most this many (its decoder catches up in a burst); else a keyframe is asked for. The default
/// of the sink's `keyframe-replay` ([`FrameFeed::set_keyframe_replay`]).
pub const GOP_REPLAY_MAX: usize = 12;
/// Frames kept since the last keyframe at most; a longer GOP is not kept.
pub const GOP_KEEP_MAX: usize = 250;

/// One frame, encoded once and shared by every client.
#[derive(Debug)]
pub struct EncodedFrame {
    /// Sequence number in the feed, from 1; a gap seen by a client means it skipped frames.
    pub seq: u64,
    /// Unix milliseconds when the sink received the frame.
    pub ts: u64,
    /// Camera id from the stream's `title` tag, if any.
    pub camera: Option<Arc<str>>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub codec: Codec,
    /// Whether a decoder can start here: every JPEG, an H.264 IDR access unit.
    pub keyframe: bool,
    /// The frame's bytes as received: the JPEG (used by `/snapshot.jpg` and `/mjpeg`), or the
    /// H.264 access unit.
    pub data: Bytes,
    /// The JSON `frame` message, as the WebSocket text message every viewer is sent (a clone
    /// shares the text); the base64 of the JPEG is a slice of it. Empty for H.264, which goes
    /// out as binary messages only.
    json: WsMessage,
    base64: Base64Text,
    /// The bare base64 as a text message, made on first use (`envelope=none`).
    base64_message: OnceLock<WsMessage>,
    /// The binary message (see [`crate::protocol::binary`]), made on first use.
    binary_message: OnceLock<WsMessage>,
    _alive: AliveFrame,
}

/// Counts the frames held in memory by anyone (feed, viewers, responses), see
/// [`FrameFeed::frames_in_memory`].
#[derive(Debug)]
struct AliveFrame(Arc<AtomicUsize>);

impl Drop for AliveFrame {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Debug)]
enum Base64Text {
    InJson(Range<usize>),
    Own(Arc<str>),
}

impl EncodedFrame {
    /// The `{"type":"frame",...}` text message.
    pub fn json(&self) -> &str {
        self.json.to_str().unwrap_or_default()
    }

    /// The bare base64 of the JPEG (`envelope=none`).
    pub fn base64(&self) -> &str {
        match &self.base64 {
            Base64Text::InJson(r) => self.json().get(r.clone()).unwrap_or_default(),
            Base64Text::Own(s) => s,
        }
    }

    /// [`EncodedFrame::json`] as a WebSocket message. Every viewer's message shares one text.
    pub fn json_message(&self) -> WsMessage {
        self.json.clone()
    }

    /// The message a viewer with `envelope` is sent for this frame.
    pub fn message(&self, envelope: super::Envelope) -> WsMessage {
        match envelope {
            super::Envelope::Json => self.json_message(),
            super::Envelope::None => self.base64_message(),
        }
    }

    /// The binary frame message ([`crate::protocol::binary`]): a header, then the bytes as
    /// received. Made once, shared by every viewer that asked for binary frames.
    pub fn binary_message(&self) -> WsMessage {
        self.binary_message
            .get_or_init(|| {
                let camera = self.camera.as_deref().unwrap_or("");
                let mut out = Vec::with_capacity(
                    protocol::binary::HEADER_LEN + camera.len() + self.data.len(),
                );
                protocol::binary::write_header(
                    &mut out,
                    &protocol::binary::Header {
                        kind: match self.codec {
                            Codec::Jpeg => protocol::binary::Kind::Jpeg,
                            Codec::H264 => protocol::binary::Kind::H264,
                        },
                        keyframe: self.keyframe,
                        seq: self.seq,
                        ts: self.ts,
                        width: self.width.unwrap_or(0),
                        height: self.height.unwrap_or(0),
                        camera,
                    },
                );
                out.extend_from_slice(&self.data);
                WsMessage::binary(out)
            })
            .clone()
    }

    /// [`EncodedFrame::base64`] as a WebSocket message, shared the same way.
    pub fn base64_message(&self) -> WsMessage {
        self.base64_message
            .get_or_init(|| WsMessage::text(self.base64()))
            .clone()
    }
}

/// The JSON text of a frame message, and where in it the base64 of the JPEG is. The base64 is
/// written straight into the text: it needs no escaping, so the message is serialised with an
/// empty `jpeg` (always the last field; `frame.jpeg` is not read) and the base64 goes between
/// its quotes.
fn frame_json(frame: protocol::Frame<'_>, jpeg: &[u8]) -> (String, Base64Text) {
    const CLOSE: &str = "\"}";
    let head = protocol::Message::Frame(protocol::Frame {
        jpeg: "".into(),
        ..frame.clone()
    })
    .to_json();
    if let Some(prefix) = head.strip_suffix(CLOSE) {
        if prefix.ends_with("\"jpeg\":\"") {
            let mut json = String::with_capacity(prefix.len() + jpeg.len().div_ceil(3) * 4 + 2);
            json.push_str(prefix);
            let start = json.len();
            base64_simd::STANDARD.encode_append(jpeg, &mut json);
            let range = start..json.len();
            json.push_str(CLOSE);
            return (json, Base64Text::InJson(range));
        }
    }
    // Should the protocol struct change so that `jpeg` is not last: serialise it plainly.
    let b64 = base64_simd::STANDARD.encode_to_string(jpeg);
    let json = protocol::Message::Frame(protocol::Frame {
        jpeg: b64.as_str().into(),
        ..frame
    })
    .to_json();
    (json, Base64Text::Own(b64.into()))
}

/// What a frame is, besides its bytes and text.
struct Head {
    seq: u64,
    ts: u64,
    camera: Option<Arc<str>>,
    size: Option<(u32, u32)>,
    codec: Codec,
    keyframe: bool,
}

/// A message other than a frame, serialised once.
#[derive(Debug, Clone)]
pub struct EncodedMessage {
    pub json: Arc<str>,
}

#[derive(Debug, Default)]
struct Counters {
    seq: AtomicU64,
    encoded: AtomicU64,
    clients: AtomicUsize,
    frames_sent: AtomicU64,
    frames_dropped: AtomicU64,
    bytes_sent: AtomicU64,
}

struct Inner {
    frames: watch::Sender<Option<Arc<EncodedFrame>>>,
    messages: broadcast::Sender<EncodedMessage>,
    counters: Counters,
    alive: Arc<AtomicUsize>,
    direct: Mutex<Vec<Arc<dyn DirectViewer>>>,
    /// Unix ms when a viewer last left or a frame was last asked for ([`FrameFeed::want`]).
    wanted_ms: AtomicU64,
    /// H.264: the frames since the last keyframe, for viewers that connect.
    gop: Mutex<Vec<Arc<EncodedFrame>>>,
    /// H.264: a viewer needs a keyframe; the sink asks its encoder for one.
    keyframe_wanted: std::sync::atomic::AtomicBool,
    /// H.264: the most frames replayed to a viewer that connects.
    replay_max: AtomicUsize,
    /// H.264: called when a viewer asks for a keyframe (the sink asks its encoder at once).
    keyframe_hook: Mutex<Option<KeyframeHook>>,
    /// H.264: the sequence number of the newest keyframe (0 before the first).
    last_keyframe: AtomicU64,
}

/// What a publisher does when a viewer asks for a keyframe ([`FrameFeed::set_keyframe_hook`]).
pub type KeyframeHook = Arc<dyn Fn(&FrameFeed) + Send + Sync>;

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("counters", &self.counters)
            .field("direct", &lock(&self.direct).len())
            .finish_non_exhaustive()
    }
}

/// Where frames and viewer messages are published and where viewers subscribe.
///
/// Cheap to clone: every clone is the same feed. A feed outlives any sink that publishes into it,
/// so an application can keep one feed (and its viewers) across pipeline rebuilds.
#[derive(Debug, Clone)]
pub struct FrameFeed {
    inner: Arc<Inner>,
}

impl Default for FrameFeed {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for FrameFeed {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for FrameFeed {}

impl FrameFeed {
    pub fn new() -> Self {
        let (frames, _) = watch::channel(None);
        let (messages, _) = broadcast::channel(MESSAGE_QUEUE);
        FrameFeed {
            inner: Arc::new(Inner {
                frames,
                messages,
                counters: Counters::default(),
                alive: Arc::new(AtomicUsize::new(0)),
                direct: Mutex::new(Vec::new()),
                wanted_ms: AtomicU64::new(unix_ms_now()),
                gop: Mutex::new(Vec::new()),
                keyframe_wanted: std::sync::atomic::AtomicBool::new(false),
                replay_max: AtomicUsize::new(GOP_REPLAY_MAX),
                keyframe_hook: Mutex::new(None),
                last_keyframe: AtomicU64::new(0),
            }),
        }
    }

    /// Encodes a JPEG once (base64 and JSON text) and makes it the newest frame.
    ///
    /// `ts` is the Unix time in milliseconds at which the frame was received. The JPEG is not
    /// checked here: the sink checks it before publishing.
    pub fn publish_frame(
        &self,
        jpeg: Bytes,
        camera: Option<Arc<str>>,
        size: Option<(u32, u32)>,
        ts: u64,
    ) -> Arc<EncodedFrame> {
        let c = &self.inner.counters;
        let seq = c.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let (json, base64) = frame_json(
            protocol::Frame {
                camera: camera.as_deref().map(Into::into),
                seq,
                ts,
                width: size.map(|s| s.0),
                height: size.map(|s| s.1),
                jpeg: "".into(),
            },
            &jpeg,
        );
        // Takes the text over without a copy.
        let frame = self.frame(
            Head {
                seq,
                ts,
                camera,
                size,
                codec: Codec::Jpeg,
                keyframe: true,
            },
            jpeg,
            (WsMessage::text(json), base64),
        );
        self.publish(frame)
    }

    /// A frame of this feed (counted as encoded and as held in memory).
    fn frame(
        &self,
        h: Head,
        data: Bytes,
        (json, base64): (WsMessage, Base64Text),
    ) -> Arc<EncodedFrame> {
        self.inner.counters.encoded.fetch_add(1, Ordering::Relaxed);
        self.inner.alive.fetch_add(1, Ordering::Relaxed);
        Arc::new(EncodedFrame {
            seq: h.seq,
            ts: h.ts,
            camera: h.camera,
            width: h.size.map(|s| s.0),
            height: h.size.map(|s| s.1),
            codec: h.codec,
            keyframe: h.keyframe,
            data,
            json,
            base64,
            base64_message: OnceLock::new(),
            binary_message: OnceLock::new(),
            _alive: AliveFrame(self.inner.alive.clone()),
        })
    }

    /// Makes an H.264 access unit (Annex B) the newest frame; `keyframe` when a decoder can
    /// start at it (an IDR with its SPS and PPS). It goes to viewers as a binary message only.
    pub fn publish_h264(
        &self,
        data: Bytes,
        keyframe: bool,
        camera: Option<Arc<str>>,
        size: Option<(u32, u32)>,
        ts: u64,
    ) -> Arc<EncodedFrame> {
        let seq = self.inner.counters.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let frame = self.frame(
            Head {
                seq,
                ts,
                camera,
                size,
                codec: Codec::H264,
                keyframe,
            },
            data,
            (WsMessage::text(""), Base64Text::Own("".into())),
        );
        {
            let mut gop = lock(&self.inner.gop);
            if keyframe {
                // Whoever asked for a keyframe before this one has it now.
                self.inner.last_keyframe.store(seq, Ordering::Relaxed);
                self.inner.keyframe_wanted.store(false, Ordering::Relaxed);
                gop.clear();
                gop.push(frame.clone());
            } else if !gop.is_empty() && gop.len() < GOP_KEEP_MAX {
                gop.push(frame.clone());
            } else {
                gop.clear();
            }
        }
        self.publish(frame)
    }

    /// H.264: the frames from the last keyframe to the newest, in order (empty when there is no
    /// keyframe kept).
    pub fn gop(&self) -> Vec<Arc<EncodedFrame>> {
        lock(&self.inner.gop).clone()
    }

    /// H.264: asks the publisher for a keyframe (a viewer joined, or fell behind).
    /// H.264: a viewer that connects is sent the frames since the last keyframe when there are
    /// at most `frames` (at most [`GOP_KEEP_MAX`]); else, and always with 0, a keyframe is
    /// asked for.
    pub fn set_keyframe_replay(&self, frames: usize) {
        self.inner
            .replay_max
            .store(frames.min(GOP_KEEP_MAX), Ordering::Relaxed);
    }

    /// What a viewer that connects is sent: the frames since the last keyframe, or nothing when
    /// a keyframe must be asked for instead (which this asks for).
    pub fn replay_or_request_keyframe(&self) -> Vec<Arc<EncodedFrame>> {
        let gop = self.gop();
        if gop.is_empty() {
            return gop;
        }
        if gop.len() <= self.inner.replay_max.load(Ordering::Relaxed) {
            gop
        } else {
            self.request_keyframe();
            Vec::new()
        }
    }

    /// H.264: a viewer needs a keyframe. The publisher's hook, when it set one, asks its encoder
    /// at once; otherwise it does at its next frame ([`FrameFeed::take_keyframe_request`]).
    pub fn request_keyframe(&self) {
        self.inner.keyframe_wanted.store(true, Ordering::Relaxed);
        let hook = lock(&self.inner.keyframe_hook).clone();
        if let Some(hook) = hook {
            hook(self);
        }
    }

    /// H.264: a viewer that could not decode frame `seq` needs a keyframe after it; nothing is
    /// asked when one was published since (it is on its way to the viewer).
    pub fn request_keyframe_after(&self, seq: u64) {
        if self.inner.last_keyframe.load(Ordering::Relaxed) <= seq {
            self.request_keyframe();
        }
    }

    /// H.264: keeps a keyframe request for the publisher's next frame, without calling the hook
    /// (the hook's own way to say "not yet").
    pub fn defer_keyframe_request(&self) {
        self.inner.keyframe_wanted.store(true, Ordering::Relaxed);
    }

    /// H.264: what the publisher does when a viewer asks for a keyframe; `None` to remove it.
    pub fn set_keyframe_hook(&self, hook: Option<KeyframeHook>) {
        *lock(&self.inner.keyframe_hook) = hook;
    }

    /// H.264: whether a keyframe was asked for since the last call (the publisher then asks its
    /// encoder for one).
    pub fn take_keyframe_request(&self) -> bool {
        self.inner.keyframe_wanted.swap(false, Ordering::Relaxed)
    }

    fn publish(&self, frame: Arc<EncodedFrame>) -> Arc<EncodedFrame> {
        // The newest frame first: a viewer that stops taking frames directly looks there.
        self.inner.frames.send_replace(Some(frame.clone()));
        for viewer in lock(&self.inner.direct).iter() {
            viewer.offer(&frame);
        }
        frame
    }

    /// Has the publishing thread hand each new frame to `viewer` itself, until the returned
    /// attachment is dropped; `None` when [`DIRECT_VIEWERS`] are attached already.
    pub fn attach_direct(&self, viewer: Arc<dyn DirectViewer>) -> Option<DirectAttachment> {
        let mut direct = lock(&self.inner.direct);
        if direct.len() >= DIRECT_VIEWERS {
            return None;
        }
        direct.push(viewer.clone());
        Some(DirectAttachment {
            feed: self.clone(),
            viewer,
        })
    }

    /// Counts frame `seq` as sent to a viewer whose previous frame was `prev`, and the frames
    /// it skipped in between.
    pub fn count_frame_sent(&self, prev: Option<u64>, seq: u64) {
        let c = &self.inner.counters;
        c.frames_sent.fetch_add(1, Ordering::Relaxed);
        if let Some(prev) = prev {
            let skipped = seq.saturating_sub(prev).saturating_sub(1);
            if skipped > 0 {
                c.frames_dropped.fetch_add(skipped, Ordering::Relaxed);
            }
        }
    }

    /// Sends a message (alarm, switch, camera state) to every WebSocket viewer with the JSON
    /// envelope. Frames go through [`FrameFeed::publish_frame`] instead; a `Frame` given here is
    /// forwarded as is, outside the newest-frame-wins path.
    pub fn publish_message(&self, msg: &protocol::Message<'_>) {
        self.publish_json(msg.to_json().into());
    }

    /// Sends a message already serialised (the JSON text of a [`protocol::Message`]) to every
    /// viewer, for a caller that needs the text itself too.
    pub fn publish_json(&self, json: Arc<str>) {
        // No receiver is not an error: nobody is watching.
        let _ = self.inner.messages.send(EncodedMessage { json });
    }

    /// The newest frame, if any was published.
    pub fn latest(&self) -> Option<Arc<EncodedFrame>> {
        self.inner.frames.borrow().clone()
    }

    /// Forgets the newest frame, so that new viewers wait for the next one.
    pub fn clear(&self) {
        self.inner.frames.send_replace(None);
        lock(&self.inner.gop).clear();
    }

    /// A subscription for one viewer: the newest frame (seen as changed, so the first `next_frame`
    /// returns it at once) and the message queue.
    pub fn subscribe(&self) -> Subscription {
        let mut frames = self.inner.frames.subscribe();
        frames.mark_changed();
        Subscription {
            frames: FrameReceiver {
                frames,
                last_seq: None,
                feed: self.clone(),
            },
            messages: MessageReceiver {
                messages: self.inner.messages.subscribe(),
            },
        }
    }

    /// Viewers currently connected (WebSocket and `/mjpeg`).
    pub fn clients(&self) -> usize {
        self.inner.counters.clients.load(Ordering::Relaxed)
    }

    /// Frames sent, summed over all viewers.
    pub fn frames_sent(&self) -> u64 {
        self.inner.counters.frames_sent.load(Ordering::Relaxed)
    }

    /// Frames viewers skipped because they were slower than the stream.
    pub fn frames_dropped(&self) -> u64 {
        self.inner.counters.frames_dropped.load(Ordering::Relaxed)
    }

    /// Bytes written to viewers (WebSocket messages and `/mjpeg` parts), summed over all viewers.
    pub fn bytes_sent(&self) -> u64 {
        self.inner.counters.bytes_sent.load(Ordering::Relaxed)
    }

    /// Adds `n` bytes written to a viewer to [`FrameFeed::bytes_sent`].
    pub fn count_bytes_sent(&self, n: usize) {
        self.inner
            .counters
            .bytes_sent
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Frames encoded to base64 and JSON: one per published frame, however many viewers.
    pub fn frames_encoded(&self) -> u64 {
        self.inner.counters.encoded.load(Ordering::Relaxed)
    }

    /// Frames of this feed still in memory: the newest one, plus any a viewer is still sending.
    /// Stays at one or two however many viewers there are and however slow they are.
    pub fn frames_in_memory(&self) -> usize {
        self.inner.alive.load(Ordering::Relaxed)
    }

    /// Counts a viewer until the returned guard is dropped.
    pub fn client_guard(&self) -> ClientGuard {
        self.inner.counters.clients.fetch_add(1, Ordering::Relaxed);
        ClientGuard { feed: self.clone() }
    }

    /// Says that someone wants a frame now, without staying (a snapshot): the feed is
    /// [`in demand`](Self::in_demand) for a while.
    pub fn want(&self) {
        self.inner.wanted_ms.store(unix_ms_now(), Ordering::Relaxed);
    }

    /// Forgets that frames were wanted: until a viewer comes or [`Self::want`] is called, the
    /// feed is not [`in demand`](Self::in_demand) (a feed starts wanted for the grace time).
    pub fn forget_demand(&self) {
        self.inner.wanted_ms.store(0, Ordering::Relaxed);
    }

    /// Whether frames are wanted: a viewer is connected, or one left or a frame was asked for
    /// (or the feed was made) within `grace`. A publisher may skip encoding while it is not.
    pub fn in_demand(&self, grace: std::time::Duration) -> bool {
        self.clients() > 0
            || unix_ms_now().saturating_sub(self.inner.wanted_ms.load(Ordering::Relaxed))
                <= grace.as_millis() as u64
    }
}

/// Counts one connected viewer in [`FrameFeed::clients`] while it lives.
#[derive(Debug)]
pub struct ClientGuard {
    feed: FrameFeed,
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.feed.want();
        self.feed
            .inner
            .counters
            .clients
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// What one viewer receives: frames and other messages, awaited independently.
#[derive(Debug)]
pub struct Subscription {
    pub frames: FrameReceiver,
    pub messages: MessageReceiver,
}

impl Subscription {
    /// See [`FrameReceiver::next_frame`].
    pub async fn next_frame(&mut self) -> Arc<EncodedFrame> {
        self.frames.next_frame().await
    }

    /// See [`FrameReceiver::sent`].
    pub fn sent(&mut self, frame: &EncodedFrame) {
        self.frames.sent(frame)
    }

    /// See [`MessageReceiver::next_message`].
    pub async fn next_message(&mut self) -> EncodedMessage {
        self.messages.next_message().await
    }

    pub fn feed(&self) -> &FrameFeed {
        &self.frames.feed
    }
}

/// The frames for one viewer: newest wins.
#[derive(Debug)]
pub struct FrameReceiver {
    frames: watch::Receiver<Option<Arc<EncodedFrame>>>,
    last_seq: Option<u64>,
    feed: FrameFeed,
}

impl FrameReceiver {
    /// Waits for a frame newer than the last one returned; the newest is returned, older ones
    /// are skipped. Cancel-safe.
    pub async fn next_frame(&mut self) -> Arc<EncodedFrame> {
        loop {
            // The feed (and so the sender) lives as long as this receiver: this never fails.
            if self.frames.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
            let newest = self.frames.borrow_and_update().clone();
            if let Some(f) = newest {
                if self.last_seq.is_none_or(|s| f.seq > s) {
                    return f;
                }
            }
        }
    }

    /// Records that `frame` reached the viewer: counts it, and counts the frames skipped since
    /// the previous one.
    pub fn sent(&mut self, frame: &EncodedFrame) {
        self.feed.count_frame_sent(self.last_seq, frame.seq);
        self.last_seq = Some(frame.seq);
    }

    /// The newest frame if it is newer than the last one sent, without waiting.
    pub fn newest_unsent(&mut self) -> Option<Arc<EncodedFrame>> {
        let newest = self.frames.borrow_and_update().clone()?;
        self.last_seq
            .is_none_or(|s| newest.seq > s)
            .then_some(newest)
    }

    /// The feed these frames come from.
    pub fn feed(&self) -> &FrameFeed {
        &self.feed
    }

    /// The last frame sent, by sequence number.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// Records frames sent elsewhere (by the publishing thread): `seq` is the last of them.
    pub fn set_last_seq(&mut self, seq: Option<u64>) {
        self.last_seq = seq;
    }
}

/// The non-frame messages for one viewer.
#[derive(Debug)]
pub struct MessageReceiver {
    messages: broadcast::Receiver<EncodedMessage>,
}

impl MessageReceiver {
    /// Waits for the next non-frame message. Cancel-safe. A viewer that lagged behind skips the
    /// oldest messages.
    pub async fn next_message(&mut self) -> EncodedMessage {
        loop {
            match self.messages.recv().await {
                Ok(m) => return m,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mjpegwssink::test_runtime as rt;

    #[test]
    fn a_keyframe_answers_every_request_made_before_it() {
        let feed = FrameFeed::new();
        let asked = Arc::new(AtomicUsize::new(0));
        let counter = asked.clone();
        feed.set_keyframe_hook(Some(Arc::new(move |feed: &FrameFeed| {
            if feed.take_keyframe_request() {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        })));
        let au = || Bytes::from_static(&[0, 0, 0, 1, 0x65]);
        let key = feed.publish_h264(au(), true, None, None, 1);
        let delta = feed.publish_h264(au(), false, None, None, 2);
        // Behind at the delta frame: asked at once, through the hook.
        feed.request_keyframe_after(delta.seq);
        assert_eq!(asked.load(Ordering::Relaxed), 1);
        // Behind at a frame older than the newest keyframe: it is on its way, nothing is asked.
        feed.request_keyframe_after(key.seq - 1);
        assert_eq!(asked.load(Ordering::Relaxed), 1);
        // A request the publisher deferred is answered by the next keyframe.
        feed.defer_keyframe_request();
        feed.publish_h264(au(), true, None, None, 3);
        assert!(!feed.take_keyframe_request());
        // Replay: a GOP of two frames is replayed with the default limit, not with 0.
        feed.publish_h264(au(), false, None, None, 4);
        assert_eq!(feed.replay_or_request_keyframe().len(), 2);
        feed.set_keyframe_replay(0);
        assert!(feed.replay_or_request_keyframe().is_empty());
        assert_eq!(asked.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn frame_is_encoded_once_into_json_and_base64() {
        let feed = FrameFeed::new();
        let f = feed.publish_frame(
            Bytes::from_static(b"\xFF\xD8abc\xFF\xD9"),
            Some("cam1".into()),
            Some((4, 2)),
            77,
        );
        assert_eq!(f.seq, 1);
        assert_eq!(f.base64(), "/9hhYmP/2Q==");
        assert_eq!(
            f.json(),
            r#"{"type":"frame","camera":"cam1","seq":1,"ts":77,"width":4,"height":2,"jpeg":"/9hhYmP/2Q=="}"#
        );
        assert_eq!(feed.frames_encoded(), 1);
        assert_eq!(feed.latest().unwrap().seq, 1);
    }

    #[test]
    fn new_subscriber_gets_the_newest_frame_at_once_and_slow_ones_skip() {
        rt().block_on(async {
            let feed = FrameFeed::new();
            for i in 0..3u8 {
                feed.publish_frame(Bytes::from(vec![i]), None, None, 0);
            }
            let mut sub = feed.subscribe();
            let f = sub.next_frame().await;
            assert_eq!(f.seq, 3);
            sub.sent(&f);
            for i in 0..4u8 {
                feed.publish_frame(Bytes::from(vec![i]), None, None, 0);
            }
            let f = sub.next_frame().await;
            assert_eq!(f.seq, 7);
            sub.sent(&f);
            assert_eq!(feed.frames_sent(), 2);
            assert_eq!(feed.frames_dropped(), 3);
        });
    }

    #[test]
    fn messages_reach_subscribers_and_clients_are_counted() {
        rt().block_on(async {
            let feed = FrameFeed::new();
            let mut sub = feed.subscribe();
            let g = feed.client_guard();
            assert_eq!(feed.clients(), 1);
            feed.publish_message(&protocol::Message::Camera(protocol::CameraState {
                camera: "c".into(),
                state: "live".into(),
                ts: 1,
                offline_since: None,
                error: None,
            }));
            assert!(sub.next_message().await.json.contains("\"live\""));
            drop(g);
            assert_eq!(feed.clients(), 0);
        });
    }
}
