// SPDX-License-Identifier: MIT OR Apache-2.0

//! A WebSocket viewer's task, and the socket the publishing thread writes frames to directly.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::Notify;
use warp::ws::{Message, WebSocket};

use super::clients::{ClientSlot, CloseFrame};
use super::feed::{Codec, DirectViewer, EncodedFrame, FrameFeed, Subscription};
use super::Envelope;
use crate::lock;

/// Largest message or frame a viewer may send.
pub(super) const INCOMING_LIMIT: usize = 16 * 1024;
/// How long a closing viewer gets to take its close frame before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

type WsSink = SplitSink<WebSocket, Message>;

/// A WebSocket viewer's socket, which the publishing thread writes each new frame to itself
/// while the viewer's task is idle: a frame then costs one write on that thread, with no task
/// to wake on another. Whatever else there is to do (messages, closing, a socket that cannot
/// take the whole frame at once, or fails) is the task's: the publishing thread hands over.
struct DirectSocket {
    state: Mutex<DirectState>,
    handover: Notify,
    envelope: Envelope,
    binary: bool,
    feed: FrameFeed,
}

/// The message a viewer is sent for `frame`: binary when it asked for it (H.264 always is).
fn frame_message(frame: &EncodedFrame, envelope: Envelope, binary: bool) -> Message {
    if binary || frame.codec == Codec::H264 {
        frame.binary_message()
    } else {
        frame.message(envelope)
    }
}

/// Whether a viewer whose last frame was `last` can decode `frame`: any JPEG; an H.264 keyframe,
/// or the access unit right after the last one it was sent.
fn decodable(frame: &EncodedFrame, last: Option<u64>) -> bool {
    frame.codec == Codec::Jpeg || frame.keyframe || last.is_some_and(|s| frame.seq == s + 1)
}

struct DirectState {
    /// The socket, while the task is idle.
    sink: Option<WsSink>,
    /// The newest frame written (or left to the task to finish writing).
    last_seq: Option<u64>,
    /// The task has been asked to take over: nothing more is written here meanwhile.
    handed_over: bool,
}

impl DirectViewer for DirectSocket {
    fn offer(&self, frame: &Arc<EncodedFrame>) {
        let mut state = lock(&self.state);
        if state.handed_over || state.last_seq.is_some_and(|s| frame.seq <= s) {
            return;
        }
        // Without the socket the task is busy; it sends the newest frame itself when done.
        if state.sink.is_none() {
            return;
        }
        // An H.264 frame this viewer cannot decode: the task waits for a keyframe.
        if !decodable(frame, state.last_seq) {
            state.handed_over = true;
            drop(state);
            self.handover.notify_one();
            return;
        }
        let Some(sink) = state.sink.as_mut() else {
            return;
        };
        let message = frame_message(frame, self.envelope, self.binary);
        let len = message.as_bytes().len();
        // Polled once, never waited on: nothing is ever woken through this waker. A write
        // that is not done at once is the task's to finish, with its own waker.
        let mut cx = Context::from_waker(Waker::noop());
        let taken = match sink.poll_ready_unpin(&mut cx) {
            Poll::Ready(Ok(())) => sink.start_send_unpin(message).is_ok(),
            _ => false,
        };
        let written = taken && matches!(sink.poll_flush_unpin(&mut cx), Poll::Ready(Ok(())));
        if taken {
            self.feed.count_bytes_sent(len);
            self.feed.count_frame_sent(state.last_seq, frame.seq);
            state.last_seq = Some(frame.seq);
        }
        if !written {
            state.handed_over = true;
            drop(state);
            self.handover.notify_one();
        }
    }
}

pub(super) async fn serve_websocket(
    socket: WebSocket,
    mut sub: Subscription,
    mut slot: ClientSlot,
    envelope: Envelope,
    binary: bool,
) {
    let _guard = sub.feed().client_guard();
    let (mut tx, mut rx) = socket.split();
    let with_messages = envelope == Envelope::Json;
    // H.264: a viewer starts at a keyframe. A short run since the last one is sent at once (its
    // decoder catches up in a burst); otherwise the encoder is asked for a keyframe.
    for f in &sub.feed().replay_or_request_keyframe() {
        let message = f.binary_message();
        let len = message.as_bytes().len();
        if tx.send(message).await.is_err() {
            return;
        }
        sub.feed().count_bytes_sent(len);
        sub.sent(f);
    }
    let direct = Arc::new(DirectSocket {
        state: Mutex::new(DirectState {
            sink: None,
            last_seq: None,
            handed_over: false,
        }),
        handover: Notify::new(),
        envelope,
        binary,
        feed: sub.feed().clone(),
    });
    let attachment = sub.feed().attach_direct(direct.clone());
    // The newest H.264 frame passed over for want of a keyframe: not offered again.
    let mut skipped_to = 0;
    let is_direct = attachment.is_some();
    let mut tx = Some(tx);

    enum Next {
        Frame(Arc<EncodedFrame>),
        Text(Arc<str>),
        Close(CloseFrame),
        Gone,
        /// Nothing to send: a message from the viewer, or the publishing thread handing over.
        Nothing,
    }

    loop {
        // Idle: a direct viewer lends its socket to the publishing thread, unless a frame it
        // has not sent is waiting already (checked with the socket's lock held, so that a
        // frame published meanwhile is either seen here or written there).
        let mut waiting = None;
        if is_direct {
            let mut state = lock(&direct.state);
            match sub.frames.newest_unsent() {
                Some(f) if f.seq > skipped_to => waiting = Some(f),
                _ => {
                    state.sink = tx.take();
                    state.last_seq = sub.frames.last_seq();
                    state.handed_over = false;
                }
            }
        }
        let next = match waiting {
            Some(f) => Next::Frame(f),
            None => tokio::select! {
                biased;
                c = slot.closing() => Next::Close(c),
                incoming = rx.next() => match incoming {
                    // Pings are answered by the socket itself; the page sends nothing else.
                    Some(Ok(m)) if !m.is_close() => Next::Nothing,
                    _ => Next::Gone,
                },
                m = sub.messages.next_message(), if with_messages => Next::Text(m.json),
                _ = direct.handover.notified(), if is_direct => Next::Nothing,
                f = sub.frames.next_frame(), if !is_direct => Next::Frame(f),
            },
        };
        // Take the socket back, with what was written to it meanwhile.
        if tx.is_none() {
            let mut state = lock(&direct.state);
            tx = state.sink.take();
            sub.frames.set_last_seq(state.last_seq);
        }
        let Some(sink) = tx.as_mut() else {
            return;
        };
        // Finish a frame the publishing thread could not write whole.
        if is_direct {
            let flushed = tokio::select! {
                biased;
                _ = slot.closing() => return,
                r = sink.flush() => r.is_ok(),
            };
            if !flushed {
                return;
            }
        }
        let (text, frame) = match next {
            Next::Frame(f) if !decodable(&f, sub.frames.last_seq()) => {
                // Behind on an H.264 stream: nothing until a keyframe, which is asked for.
                sub.feed().request_keyframe_after(f.seq);
                skipped_to = f.seq;
                continue;
            }
            Next::Frame(f) => (frame_message(&f, envelope, binary), Some(f)),
            Next::Text(t) => (Message::text(&*t), None),
            Next::Nothing => continue,
            Next::Close(c) => {
                let close = Message::close_with(c.code, c.reason);
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
                    sink.send(close).await?;
                    // Wait for the viewer's close frame so the socket closes cleanly.
                    while let Some(Ok(m)) = rx.next().await {
                        if m.is_close() {
                            break;
                        }
                    }
                    sink.close().await
                })
                .await;
                return;
            }
            Next::Gone => {
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await;
                return;
            }
        };
        // A viewer that does not read blocks here, holding only this message; the feed keeps
        // only the newest frame for it meanwhile.
        let len = text.as_bytes().len();
        let sent = tokio::select! {
            biased;
            _ = slot.closing() => return,
            r = sink.send(text) => r.is_ok(),
        };
        if !sent {
            return;
        }
        sub.feed().count_bytes_sent(len);
        if let Some(f) = frame {
            sub.sent(&f);
        }
    }
}
