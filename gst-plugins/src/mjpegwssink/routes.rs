// SPDX-License-Identifier: MIT OR Apache-2.0

//! The HTTP side of the sink as reusable warp filters: `/ws` (or the configured path),
//! `/snapshot.jpg`, `/mjpeg` and the viewer page at `/`.
//!
//! The sink's own server serves exactly these routes; an application that runs its own warp server
//! mounts them with [`routes`] on a [`FrameFeed`] it owns.

use std::sync::Arc;
use std::time::Duration;

use warp::filters::path::FullPath;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::ws::Ws;
use warp::{Filter, Reply};

use super::clients::ClientSet;
use super::feed::{EncodedFrame, FrameFeed};
use super::mjpeg::{jpeg_response, mjpeg_response};
use super::web;
use super::web::viewer_page;
use super::ws::{serve_websocket, INCOMING_LIMIT};
use super::Envelope;
use crate::http::{ApiError, Guard, Origins};

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

fn too_many_clients(max: usize) -> warp::reply::Response {
    ApiError::unavailable(
        "too-many-clients",
        format!("this server accepts at most {max} viewers at once"),
    )
    .response()
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

/// A frame older than this is not served as a snapshot while a newer one may come.
const SNAPSHOT_FRESH: Duration = Duration::from_millis(1000);

/// The newest frame for a snapshot. The feed is told a frame is wanted (a publisher that skips
/// encoding while nobody watches starts again), and an old frame is served only when no newer
/// one comes within [`SNAPSHOT_FRESH`].
async fn fresh_frame(feed: &FrameFeed) -> Option<Arc<EncodedFrame>> {
    feed.want();
    let latest = feed.latest();
    let is_fresh = |f: &EncodedFrame| {
        crate::protocol::unix_ms_now().saturating_sub(f.ts) < SNAPSHOT_FRESH.as_millis() as u64
    };
    if latest.as_deref().is_some_and(is_fresh) {
        return latest;
    }
    let mut frames = feed.subscribe().frames;
    // What is there now counts as seen: wait for a newer one.
    frames.set_last_seq(latest.as_ref().map(|f| f.seq));
    tokio::time::timeout(SNAPSHOT_FRESH, frames.next_frame())
        .await
        .ok()
        .or(latest)
}

/// All the routes of the sink on `feed`: the WebSocket at `opts.path`, `/snapshot.jpg`, `/mjpeg`
/// and, with `opts.serve_viewer`, the viewer page at `/`.
///
/// Requests for other paths are rejected as not found, so the result can be combined with an
/// application's own routes with `.or()`.
pub fn routes(feed: FrameFeed, opts: RouteOptions) -> BoxedFilter<(warp::reply::Response,)> {
    routes_picking(Arc::new(move |_| Some(feed.clone())), opts)
}

/// Picks the feed a request is served from by its query (`?camera=`...); `None`: the request
/// is not for these routes (rejected as not found, for the application's other routes).
pub type PickFeed =
    Arc<dyn Fn(&std::collections::HashMap<String, String>) -> Option<FrameFeed> + Send + Sync>;

/// [`routes`] on feeds that come and go while the routes are served: each request's feed is
/// the one `pick` gives for its query.
pub fn routes_picking(pick: PickFeed, opts: RouteOptions) -> BoxedFilter<(warp::reply::Response,)> {
    let picked = || {
        let pick = pick.clone();
        warp::query::<std::collections::HashMap<String, String>>()
            .or(warp::any().map(Default::default))
            .unify()
            .and_then(move |q: std::collections::HashMap<String, String>| {
                let feed = pick(&q);
                async move { feed.ok_or_else(warp::reject::not_found) }
            })
    };
    let path: Arc<str> = if opts.path.starts_with('/') {
        opts.path.as_str().into()
    } else {
        format!("/{}", opts.path).into()
    };

    let ws = {
        let clients = opts.clients.clone();
        let (envelope, max) = (opts.envelope, opts.max_clients);
        exact_path(path.clone())
            .and(warp::get())
            .and(picked())
            .and(
                warp::query::<std::collections::HashMap<String, String>>()
                    .or(warp::any().map(Default::default))
                    .unify(),
            )
            .and(warp::ws().map(Some).or(warp::any().map(|| None)).unify())
            .map(
                move |feed: FrameFeed,
                      q: std::collections::HashMap<String, String>,
                      ws: Option<Ws>| {
                    // `?binary=1`: frames as binary messages (protocol::binary), no base64.
                    let binary = q.get("binary").is_some_and(|b| b == "1" || b == "true");
                    let Some(ws) = ws else {
                        return ApiError::new(
                            StatusCode::BAD_REQUEST,
                            "websocket-required",
                            "this path serves a WebSocket: send an Upgrade: websocket request",
                        )
                        .response();
                    };
                    let Some(slot) = clients.try_join(max) else {
                        return too_many_clients(max);
                    };
                    let sub = feed.subscribe();
                    // Viewers only listen; a few KB is plenty for anything they may send, and keeps
                    // a hostile client from making the server buffer megabytes.
                    ws.max_message_size(INCOMING_LIMIT)
                        .max_frame_size(INCOMING_LIMIT)
                        .on_upgrade(move |socket| {
                            serve_websocket(socket, sub, slot, envelope, binary)
                        })
                        .into_response()
                },
            )
    };

    let snapshot = {
        warp::path!("snapshot.jpg")
            .and(warp::get().or(warp::head()).unify())
            .and(picked())
            .then(move |feed: FrameFeed| async move {
                match fresh_frame(&feed).await {
                    Some(f) => jpeg_response(&f),
                    None => ApiError::unavailable("no-frame", "no frame has been received yet")
                        .response(),
                }
            })
    };

    let mjpeg = {
        let clients = opts.clients.clone();
        let max = opts.max_clients;
        warp::path!("mjpeg")
            .and(warp::get())
            .and(picked())
            .map(move |feed: FrameFeed| {
                let Some(slot) = clients.try_join(max) else {
                    return too_many_clients(max);
                };
                mjpeg_response(feed.subscribe(), slot)
            })
    };

    let viewer = {
        let page: Arc<str> = viewer_page(&path).into();
        let enabled = opts.serve_viewer;
        warp::path::end().and(warp::get()).and_then(move || {
            let page = page.clone();
            async move {
                if !enabled {
                    return Err(warp::reject::not_found());
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

    // One guard for the sink's own paths (the viewer's files hold no data and stay public);
    // any page may embed the stream, so every origin is accepted.
    let guarded_path = path.clone();
    let serve_viewer = opts.serve_viewer;
    let guard = Guard::new(opts.token.as_deref(), Origins::Any).covering(move |p| {
        p == &*guarded_path || p == "/snapshot.jpg" || p == "/mjpeg" || (serve_viewer && p == "/")
    });
    let data = ws.or(snapshot).unify().or(mjpeg).unify().or(viewer).unify();
    guard.wrap(data).or(viewer_files).unify().boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mjpegwssink::test_runtime as rt;

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

            feed.publish_frame(
                bytes::Bytes::from_static(b"\xFF\xD8x\xFF\xD9"),
                None,
                None,
                1,
            );
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
            let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
            assert_eq!(body["error"], "unauthorized");
            assert!(body["reason"].is_string());
            // The viewer's code is public; its page is not.
            let res = warp::test::request().path("/player.js").reply(&api).await;
            assert_eq!(res.status(), StatusCode::OK);
            let res = warp::test::request().path("/").reply(&api).await;
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
