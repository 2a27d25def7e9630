// SPDX-License-Identifier: MIT OR Apache-2.0

//! The overview's live thumbnails on one WebSocket: `GET /ws/grid` (every camera) or
//! `/ws/grid?cameras=a,b` (those only). Each camera's newest thumbnail goes out as a `frame`
//! message (the same shape as a wall's, `camera` set), newest wins per camera; the events of
//! every camera (`alarm`, `camera`, `ack`, `snooze`; not the walls' `switch`) go out as they
//! come. A camera's thumbnail is encoded only while a grid socket asks for it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gstcamwall::http::json_error;
use gstcamwall::mjpegwssink::{ClientSet, EncodedFrame, FrameReceiver};
use gstcamwall::protocol::Message as Event;
use tokio::sync::broadcast::error::RecvError;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::ws::{Message, WebSocket};
use warp::{Filter, Reply};

use crate::state::AppState;

/// Largest message a grid viewer may send (it sends nothing but pings).
const INCOMING_LIMIT: usize = 16 * 1024;
/// How long a closing viewer gets to take its close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// `GET /ws/grid[?cameras=ID,ID]`.
pub(super) fn grid(
    state: Arc<AppState>,
    clients: ClientSet,
) -> BoxedFilter<(warp::reply::Response,)> {
    warp::path!("ws" / "grid")
        .and(warp::get())
        .and(
            warp::query::<HashMap<String, String>>()
                .or(warp::any().map(HashMap::new))
                .unify(),
        )
        .and(warp::ws())
        .map(move |q: HashMap<String, String>, ws: warp::ws::Ws| {
            let cameras = match pick_cameras(&state, q.get("cameras").map(String::as_str)) {
                Ok(c) => c,
                Err(id) => {
                    return json_error(
                        StatusCode::NOT_FOUND,
                        "unknown-camera",
                        format!("no camera '{id}'"),
                    )
                }
            };
            let Some(slot) = clients.try_join(0) else {
                return json_error(StatusCode::SERVICE_UNAVAILABLE, "busy", "too many viewers");
            };
            let state = state.clone();
            ws.max_message_size(INCOMING_LIMIT)
                .max_frame_size(INCOMING_LIMIT)
                .on_upgrade(move |socket| serve_grid(socket, state, cameras, slot))
                .into_response()
        })
        .boxed()
}

/// The cameras `?cameras=` names (comma-separated, each once, in the configuration's order), or
/// every camera without it; the first unknown id is the error.
fn pick_cameras(state: &AppState, asked: Option<&str>) -> Result<Vec<usize>, String> {
    let Some(asked) = asked else {
        return Ok(state.cameras.all().into_iter().map(|(i, _)| i).collect());
    };
    let mut picked = Vec::new();
    for id in asked.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let index = state.camera_index(id).ok_or_else(|| id.to_string())?;
        if !picked.contains(&index) {
            picked.push(index);
        }
    }
    picked.sort_unstable();
    Ok(picked)
}

/// The newest unsent thumbnail of any of `frames`, with the index of its camera in `frames`.
async fn next_thumbnail(frames: &mut [FrameReceiver]) -> (usize, Arc<EncodedFrame>) {
    if frames.is_empty() {
        return std::future::pending().await;
    }
    let (frame, i, _) =
        futures_util::future::select_all(frames.iter_mut().map(|f| Box::pin(f.next_frame()))).await;
    (i, frame)
}

async fn serve_grid(
    socket: WebSocket,
    state: Arc<AppState>,
    cameras: Vec<usize>,
    mut slot: gstcamwall::mjpegwssink::ClientSlot,
) {
    // Each camera asked for is watched (its thumbnail encoded) while this socket lives.
    let thumbs: Vec<_> = cameras
        .iter()
        .filter_map(|&i| Some(state.cameras.get(i)?.thumb.clone()))
        .collect();
    let _watching: Vec<_> = thumbs.iter().map(|t| t.client_guard()).collect();
    let mut frames: Vec<FrameReceiver> = thumbs.iter().map(|t| t.subscribe().frames).collect();
    let mut events = state.subscribe_events();
    let (mut tx, mut rx) = socket.split();

    enum Next {
        Frame(usize, Arc<EncodedFrame>),
        Text(Arc<str>),
        Close(gstcamwall::mjpegwssink::CloseFrame),
        Nothing,
        Gone,
    }
    loop {
        let next = tokio::select! {
            biased;
            c = slot.closing() => Next::Close(c),
            incoming = rx.next() => match incoming {
                // Pings are answered by the socket itself; the page sends nothing else.
                Some(Ok(m)) if !m.is_close() => Next::Nothing,
                _ => Next::Gone,
            },
            e = events.recv() => match e {
                Ok(e) if !matches!(e.message(), Event::Switch(_)) => Next::Text(e.json().clone()),
                Ok(_) | Err(RecvError::Lagged(_)) => Next::Nothing,
                Err(RecvError::Closed) => Next::Gone,
            },
            (i, f) = next_thumbnail(&mut frames) => Next::Frame(i, f),
        };
        let (message, frame) = match next {
            Next::Frame(i, f) => (f.json_message(), Some((i, f))),
            Next::Text(t) => (Message::text(&*t), None),
            Next::Nothing => continue,
            Next::Close(c) => {
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
                    tx.send(Message::close_with(c.code, c.reason)).await?;
                    tx.close().await
                })
                .await;
                return;
            }
            Next::Gone => {
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, tx.close()).await;
                return;
            }
        };
        // A viewer that does not read blocks here; each camera keeps only its newest
        // thumbnail for it meanwhile.
        let len = message.as_bytes().len();
        let sent = tokio::select! {
            biased;
            _ = slot.closing() => return,
            r = tx.send(message) => r.is_ok(),
        };
        if !sent {
            return;
        }
        if let Some((i, f)) = frame {
            frames[i].feed().count_bytes_sent(len);
            frames[i].sent(&f);
        }
    }
}
