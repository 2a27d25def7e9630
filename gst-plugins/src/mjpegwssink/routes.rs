// SPDX-License-Identifier: MIT OR Apache-2.0

//! The HTTP side of the sink as reusable warp filters: `/ws` (or the configured path),
//! `/snapshot.jpg`, `/mjpeg` and the viewer page at `/`.
//!
//! The sink's own server serves exactly these routes; an application that runs its own warp server
//! mounts them with [`routes`] on a [`FrameFeed`] it owns.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{watch, Notify};
use warp::filters::path::FullPath;
use warp::filters::BoxedFilter;
use warp::http::{header, HeaderValue, Response, StatusCode};
use warp::ws::{Message, WebSocket, Ws};
use warp::{Filter, Reply};

use super::feed::{DirectViewer, EncodedFrame, FrameFeed, Subscription};
use super::web;
use super::web::viewer_page;
use super::Envelope;
use crate::lock;

/// Boundary between the parts of the `/mjpeg` stream.
pub const MJPEG_BOUNDARY: &str = "camwallframe";
/// Largest message or frame a viewer may send.
const INCOMING_LIMIT: usize = 16 * 1024;
/// How long a closing viewer gets to take its close frame before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// The viewers of one set of routes: counted for `max-clients`, and closed together when the
/// stream ends or the server stops. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ClientSet {
    active: Arc<AtomicUsize>,
    close: Arc<watch::Sender<Option<CloseFrame>>>,
}

/// The WebSocket close code and reason sent when viewers are closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    pub code: u16,
    pub reason: String,
}

impl Default for ClientSet {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientSet {
    pub fn new() -> Self {
        ClientSet {
            active: Arc::new(AtomicUsize::new(0)),
            close: Arc::new(watch::channel(None).0),
        }
    }

    /// Viewers (WebSocket and `/mjpeg`) currently connected through these routes.
    pub fn len(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes every viewer connected now: WebSocket viewers get a close frame with `code` and
    /// `reason`, `/mjpeg` streams end. Viewers connecting afterwards are served as usual.
    pub fn close_all(&self, code: u16, reason: &str) {
        self.close.send_replace(Some(CloseFrame {
            code,
            reason: reason.to_string(),
        }));
    }

    /// Takes a place for one viewer, unless `max` (0 = no limit) are already connected.
    fn try_join(&self, max: usize) -> Option<ClientSlot> {
        let before = self.active.fetch_add(1, Ordering::AcqRel);
        if max != 0 && before >= max {
            self.active.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let mut close = self.close.subscribe();
        // Only close requests made after this viewer joined concern it.
        close.mark_unchanged();
        Some(ClientSlot {
            set: self.clone(),
            close,
        })
    }
}

/// One viewer's place in a [`ClientSet`].
struct ClientSlot {
    set: ClientSet,
    close: watch::Receiver<Option<CloseFrame>>,
}

impl ClientSlot {
    /// Resolves when the viewers are to be closed. Cancel-safe.
    async fn closing(&mut self) -> CloseFrame {
        loop {
            if self.close.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
            if let Some(c) = self.close.borrow_and_update().clone() {
                return c;
            }
        }
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.set.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How the routes behave; the sink fills it from its properties.
#[derive(Debug, Clone)]
pub struct RouteOptions {
    /// WebSocket path, starting with `/`.
    pub path: String,
    pub envelope: Envelope,
    /// When set, every route needs `?token=` or `Authorization: Bearer` with this value.
    pub token: Option<String>,
    /// Most viewers at once (WebSocket and `/mjpeg`), 0 for no limit.
    pub max_clients: usize,
    /// Serve the viewer page at `/`.
    pub serve_viewer: bool,
    /// The viewers of these routes.
    pub clients: ClientSet,
}

impl Default for RouteOptions {
    fn default() -> Self {
        RouteOptions {
            path: "/ws".into(),
            envelope: Envelope::Json,
            token: None,
            max_clients: 0,
            serve_viewer: true,
            clients: ClientSet::new(),
        }
    }
}

/// Compares two secrets in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Whether a request presents `token` as `?token=` or as `Authorization: Bearer`.
pub fn is_authorized(
    token: Option<&str>,
    query: &HashMap<String, String>,
    authorization: Option<&str>,
) -> bool {
    let Some(token) = token else {
        return true;
    };
    let from_query = query
        .get("token")
        .is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()));
    let from_header = authorization
        .and_then(|h| {
            let (scheme, value) = h.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some(value.trim())
        })
        .is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()));
    // Both are checked so the time taken does not say which one was tried.
    from_query | from_header
}

fn error_response(status: StatusCode, error: &str, reason: &str) -> warp::reply::Response {
    crate::http::json_reply(
        status,
        &serde_json::json!({ "error": error, "reason": reason }),
    )
}

fn unauthorized() -> warp::reply::Response {
    error_response(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a valid token is required (?token= or Authorization: Bearer)",
    )
}

fn too_many_clients(max: usize) -> warp::reply::Response {
    error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "too-many-clients",
        &format!("this server accepts at most {max} viewers at once"),
    )
}

/// Extracts whether the request carries the token.
fn authorization(
    token: Option<Arc<str>>,
) -> impl Filter<Extract = (bool,), Error = warp::Rejection> + Clone {
    let query = warp::query::<HashMap<String, String>>()
        .or(warp::any().map(HashMap::new))
        .unify();
    query
        .and(warp::header::optional::<String>("authorization"))
        .map(move |q: HashMap<String, String>, auth: Option<String>| {
            is_authorized(token.as_deref(), &q, auth.as_deref())
        })
}

fn exact_path(path: Arc<str>) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::path::full()
        .and_then(move |p: FullPath| {
            let matches = p.as_str() == &*path;
            async move {
                if matches {
                    Ok(())
                } else {
                    Err(warp::reject::not_found())
                }
            }
        })
        .untuple_one()
}

/// All the routes of the sink on `feed`: the WebSocket at `opts.path`, `/snapshot.jpg`, `/mjpeg`
/// and, with `opts.serve_viewer`, the viewer page at `/`.
///
/// Requests for other paths are rejected as not found, so the result can be combined with an
/// application's own routes with `.or()`.
pub fn routes(feed: FrameFeed, opts: RouteOptions) -> BoxedFilter<(warp::reply::Response,)> {
    let path: Arc<str> = if opts.path.starts_with('/') {
        opts.path.as_str().into()
    } else {
        format!("/{}", opts.path).into()
    };
    let token: Option<Arc<str>> = opts
        .token
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(Into::into);
    let auth = authorization(token);

    let ws = {
        let feed = feed.clone();
        let clients = opts.clients.clone();
        let (envelope, max) = (opts.envelope, opts.max_clients);
        exact_path(path.clone())
            .and(warp::get())
            .and(auth.clone())
            // The upgrade is checked after the token, so a request without the token is told so
            // (401) whether or not it asked for a WebSocket.
            .and(warp::ws().map(Some).or(warp::any().map(|| None)).unify())
            .map(move |authorized: bool, ws: Option<Ws>| {
                if !authorized {
                    return unauthorized();
                }
                let Some(ws) = ws else {
                    return error_response(
                        StatusCode::BAD_REQUEST,
                        "websocket-required",
                        "this path serves a WebSocket: send an Upgrade: websocket request",
                    );
                };
                let Some(slot) = clients.try_join(max) else {
                    return too_many_clients(max);
                };
                let sub = feed.subscribe();
                // Viewers only listen; a few KB is plenty for anything they may send, and keeps
                // a hostile client from making the server buffer megabytes.
                ws.max_message_size(INCOMING_LIMIT)
                    .max_frame_size(INCOMING_LIMIT)
                    .on_upgrade(move |socket| serve_websocket(socket, sub, slot, envelope))
                    .into_response()
            })
    };

    let snapshot = {
        let feed = feed.clone();
        warp::path!("snapshot.jpg")
            .and(warp::get().or(warp::head()).unify())
            .and(auth.clone())
            .map(move |authorized: bool| {
                if !authorized {
                    return unauthorized();
                }
                match feed.latest() {
                    Some(f) => jpeg_response(&f),
                    None => error_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "no-frame",
                        "no frame has been received yet",
                    ),
                }
            })
    };

    let mjpeg = {
        let feed = feed.clone();
        let clients = opts.clients.clone();
        let max = opts.max_clients;
        warp::path!("mjpeg")
            .and(warp::get())
            .and(auth.clone())
            .map(move |authorized: bool| {
                if !authorized {
                    return unauthorized();
                }
                let Some(slot) = clients.try_join(max) else {
                    return too_many_clients(max);
                };
                mjpeg_response(feed.subscribe(), slot)
            })
    };

    let viewer = {
        let page: Arc<str> = viewer_page(&path).into();
        let enabled = opts.serve_viewer;
        warp::path::end()
            .and(warp::get())
            .and(auth)
            .and_then(move |authorized: bool| {
                let page = page.clone();
                async move {
                    if !enabled {
                        return Err(warp::reject::not_found());
                    }
                    if !authorized {
                        return Ok(unauthorized());
                    }
                    Ok(crate::http::asset_reply(
                        "text/html; charset=utf-8",
                        page.to_string(),
                    ))
                }
            })
    };
    // The viewer's code is public (it holds no data), so the page's module imports, which
    // carry no token, load; with serve-viewer off they are not served.
    let serve_files = opts.serve_viewer;
    let viewer_files = crate::http::assets(&web::PLAYER)
        .or(crate::http::assets(&web::VIEWER))
        .unify()
        .and_then(move |res| async move {
            if serve_files {
                Ok(res)
            } else {
                Err(warp::reject::not_found())
            }
        });

    ws.or(snapshot)
        .unify()
        .or(mjpeg)
        .unify()
        .or(viewer)
        .unify()
        .or(viewer_files)
        .unify()
        .boxed()
}

fn jpeg_response(f: &EncodedFrame) -> warp::reply::Response {
    let mut res = Response::new(f.jpeg.clone()).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&f.seq.to_string()) {
        h.insert("x-frame-seq", v);
    }
    res
}

/// The part header that precedes each JPEG in `/mjpeg`.
pub fn mjpeg_part_header(len: usize) -> Bytes {
    Bytes::from(format!(
        "--{MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len}\r\n\r\n"
    ))
}

fn mjpeg_response(sub: Subscription, slot: ClientSlot) -> warp::reply::Response {
    struct Stream {
        sub: Subscription,
        slot: ClientSlot,
        pending: Vec<Bytes>,
        _guard: super::feed::ClientGuard,
    }
    let guard = sub.feed().client_guard();
    let state = Stream {
        sub,
        slot,
        pending: Vec::new(),
        _guard: guard,
    };
    // The body asks for the next chunk only once the previous one is written, so a slow
    // viewer holds at most one frame and gets the newest one next.
    let body = futures_util::stream::unfold(state, |mut st| async move {
        if let Some(chunk) = st.pending.pop() {
            return Some((Ok::<_, std::convert::Infallible>(chunk), st));
        }
        let frame = tokio::select! {
            biased;
            _ = st.slot.closing() => return None,
            f = st.sub.next_frame() => f,
        };
        st.sub.sent(&frame);
        st.pending = vec![Bytes::from_static(b"\r\n"), frame.jpeg.clone()];
        let header = mjpeg_part_header(frame.jpeg.len());
        st.sub
            .feed()
            .count_bytes_sent(header.len() + frame.jpeg.len() + 2);
        Some((Ok(header), st))
    });
    let mut res = warp::reply::stream(body).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "multipart/x-mixed-replace; boundary={MJPEG_BOUNDARY}"
    )) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

type WsSink = SplitSink<WebSocket, Message>;

/// A WebSocket viewer's socket, which the publishing thread writes each new frame to itself
/// while the viewer's task is idle: a frame then costs one write on that thread, with no task
/// to wake on another. Whatever else there is to do (messages, closing, a socket that cannot
/// take the whole frame at once, or fails) is the task's: the publishing thread hands over.
struct DirectSocket {
    state: Mutex<DirectState>,
    handover: Notify,
    envelope: Envelope,
    feed: FrameFeed,
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
        let Some(sink) = state.sink.as_mut() else {
            return;
        };
        let message = frame.message(self.envelope);
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

async fn serve_websocket(
    socket: WebSocket,
    mut sub: Subscription,
    mut slot: ClientSlot,
    envelope: Envelope,
) {
    let _guard = sub.feed().client_guard();
    let (tx, mut rx) = socket.split();
    let with_messages = envelope == Envelope::Json;
    let direct = Arc::new(DirectSocket {
        state: Mutex::new(DirectState {
            sink: None,
            last_seq: None,
            handed_over: false,
        }),
        handover: Notify::new(),
        envelope,
        feed: sub.feed().clone(),
    });
    let attachment = sub.feed().attach_direct(direct.clone());
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
                Some(f) => waiting = Some(f),
                None => {
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
            Next::Frame(f) => (f.message(envelope), Some(f)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mjpegwssink::test_runtime as rt;

    #[test]
    fn token_is_accepted_from_query_or_bearer_only() {
        let mut q = HashMap::new();
        assert!(is_authorized(None, &q, None));
        assert!(!is_authorized(Some("s3cret"), &q, None));
        assert!(is_authorized(Some("s3cret"), &q, Some("Bearer s3cret")));
        assert!(is_authorized(Some("s3cret"), &q, Some("bearer  s3cret ")));
        assert!(!is_authorized(Some("s3cret"), &q, Some("Basic s3cret")));
        assert!(!is_authorized(Some("s3cret"), &q, Some("Bearer s3cre")));
        q.insert("token".into(), "s3cret".into());
        assert!(is_authorized(Some("s3cret"), &q, None));
        q.insert("token".into(), "S3cret".into());
        assert!(!is_authorized(Some("s3cret"), &q, None));
    }

    #[test]
    fn constant_time_eq_compares_whole_secrets() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn client_set_enforces_the_limit_and_frees_places() {
        let set = ClientSet::new();
        let a = set.try_join(2).unwrap();
        let _b = set.try_join(2).unwrap();
        assert!(set.try_join(2).is_none());
        assert_eq!(set.len(), 2);
        drop(a);
        assert!(set.try_join(2).is_some());
        assert!(set.try_join(0).is_some());
    }

    #[test]
    fn snapshot_and_viewer_routes_without_sockets() {
        rt().block_on(async {
            let feed = FrameFeed::new();
            let opts = RouteOptions {
                token: Some("t".into()),
                path: "/live".into(),
                ..Default::default()
            };
            let api = routes(feed.clone(), opts);
            let res = warp::test::request()
                .path("/snapshot.jpg?token=t")
                .reply(&api)
                .await;
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);

            feed.publish_frame(Bytes::from_static(b"\xFF\xD8x\xFF\xD9"), None, None, 1);
            let res = warp::test::request()
                .path("/snapshot.jpg")
                .header("authorization", "Bearer t")
                .reply(&api)
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.headers()["content-type"], "image/jpeg");
            assert_eq!(&res.body()[..], b"\xFF\xD8x\xFF\xD9");

            let res = warp::test::request()
                .path("/snapshot.jpg")
                .reply(&api)
                .await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

            let res = warp::test::request().path("/?token=t").reply(&api).await;
            assert_eq!(res.status(), StatusCode::OK);
            let page = String::from_utf8_lossy(res.body());
            assert!(page.contains("\"/live\""), "{page}");

            // Unknown paths are left to the application's other routes.
            let res = warp::test::request().path("/elsewhere").reply(&api).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND);
        });
    }
}
