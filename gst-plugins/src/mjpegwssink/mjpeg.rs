// SPDX-License-Identifier: MIT OR Apache-2.0

//! `/snapshot.jpg` and `/mjpeg`: the newest JPEG, and a multipart stream of them.

use bytes::Bytes;
use warp::http::{header, HeaderValue, Response};
use warp::Reply;

use super::clients::ClientSlot;
use super::feed::{EncodedFrame, Subscription};

/// Boundary between the parts of the `/mjpeg` stream.
pub const MJPEG_BOUNDARY: &str = "camwallframe";

pub(super) fn jpeg_response(f: &EncodedFrame) -> warp::reply::Response {
    let mut res = Response::new(f.data.clone()).into_response();
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

pub(super) fn mjpeg_response(sub: Subscription, slot: ClientSlot) -> warp::reply::Response {
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
        st.pending = vec![Bytes::from_static(b"\r\n"), frame.data.clone()];
        let header = mjpeg_part_header(frame.data.len());
        st.sub
            .feed()
            .count_bytes_sent(header.len() + frame.data.len() + 2);
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
