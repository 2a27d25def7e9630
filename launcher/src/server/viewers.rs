// SPDX-License-Identifier: MIT OR Apache-2.0

//! The viewers' routes of every wall and of every camera alone, picked by `?wall=` and
//! `?camera=`.

use std::collections::HashMap;
use std::sync::Arc;

use gstcamwall::http::json_error;
use gstcamwall::mjpegwssink::{self, ClientSet, FrameFeed, RouteOptions};
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::Filter;

use super::unknown_wall;
use crate::state::AppState;

/// What picks a viewer route's feed: the path and `?wall=`, `?camera=`, `?video=`.
struct Asked<'a> {
    path: &'a str,
    wall: Option<&'a str>,
    camera: Option<&'a str>,
    h264: bool,
}

/// Whether a feed's routes take a request.
type Takes = dyn Fn(&Asked<'_>) -> bool + Send + Sync;

/// The viewers' routes (`/ws`, `/mjpeg`, `/snapshot.jpg`) of every wall, picked by `?wall=ID`
/// (without it, the first wall's), and of every camera alone, picked by `?camera=ID` (a peek: no
/// wall moves, no alarm takes over, encoded only while someone peeks). `/ws?video=h264` is the
/// H.264 stream (binary messages) of a wall or a peek.
pub(super) fn wall_viewers(
    state: &Arc<AppState>,
    clients: ClientSet,
) -> BoxedFilter<(warp::reply::Response,)> {
    let param = |name: &'static str| {
        warp::query::<HashMap<String, String>>()
            .or(warp::any().map(HashMap::new))
            .unify()
            .map(move |q: HashMap<String, String>| q.get(name).cloned())
    };
    let wall_param = || param("wall");
    // The sink's routes on `feed`, for the requests whose `?wall=` and `?camera=` `takes` says.
    let on_feed = |feed: &FrameFeed, takes: Box<Takes>| {
        let takes = Arc::new(takes);
        warp::path::full()
            .and(wall_param())
            .and(param("camera"))
            .and(param("video"))
            .and_then(
                move |path: warp::path::FullPath,
                      wall: Option<String>,
                      camera: Option<String>,
                      video: Option<String>| {
                    let mine = takes(&Asked {
                        path: path.as_str(),
                        wall: wall.as_deref(),
                        camera: camera.as_deref(),
                        h264: video.as_deref() == Some("h264"),
                    });
                    async move {
                        if mine {
                            Ok(())
                        } else {
                            Err(warp::reject::not_found())
                        }
                    }
                },
            )
            .untuple_one()
            .and(mjpegwssink::routes(
                feed.clone(),
                RouteOptions {
                    // The guard in front of every route checks the token.
                    token: None,
                    serve_viewer: false,
                    clients: clients.clone(),
                    ..RouteOptions::default()
                },
            ))
            .boxed()
    };
    let mut all: Vec<BoxedFilter<(warp::reply::Response,)>> = Vec::new();
    // Peeks first: one camera alone, whatever the walls do (`?camera=ID` wins over `?wall=`).
    // Cameras come and go while camwall runs: each request's camera is looked up as it comes.
    let peek = |h264_ws: bool| -> mjpegwssink::PickFeed {
        let state = state.clone();
        Arc::new(move |q: &HashMap<String, String>| {
            let camera = state.cameras.get(state.camera_index(q.get("camera")?)?)?;
            let h264 = q.get("video").is_some_and(|v| v == "h264");
            Some(if h264_ws && h264 {
                camera.peek_h264.clone()
            } else {
                camera.peek.clone()
            })
        })
    };
    let route_options = RouteOptions {
        // The guard in front of every route checks the token.
        token: None,
        serve_viewer: false,
        clients: clients.clone(),
        ..RouteOptions::default()
    };
    // `/ws` picks JPEG or H.264 by `?video=`; `/mjpeg` and `/snapshot.jpg` are JPEG.
    let ws_path = warp::path::full()
        .and_then(|p: warp::path::FullPath| async move {
            if p.as_str() == "/ws" {
                Ok(())
            } else {
                Err(warp::reject::not_found())
            }
        })
        .untuple_one();
    all.push(
        ws_path
            .and(mjpegwssink::routes_picking(
                peek(true),
                route_options.clone(),
            ))
            .boxed(),
    );
    all.push(mjpegwssink::routes_picking(peek(false), route_options));
    for (position, wall) in state.walls.iter().enumerate() {
        let id = wall.id.clone();
        // Without `?wall=` (and without `?camera=`): the first wall.
        let is_this = move |a: &Asked<'_>| match a.wall {
            Some(asked) => asked == id,
            None => position == 0 && a.camera.is_none(),
        };
        let is_this_too = is_this.clone();
        all.push(on_feed(
            &wall.h264,
            Box::new(move |a| a.h264 && a.path == "/ws" && is_this(a)),
        ));
        all.push(on_feed(
            &wall.feed,
            Box::new(move |a| !(a.h264 && a.path == "/ws") && is_this_too(a)),
        ));
    }
    // A wall or camera that is not there is said so, on the viewers' paths only.
    let unknown = warp::path::full()
        .and(param("camera"))
        .and(wall_param())
        .and_then(
            |path: warp::path::FullPath, camera: Option<String>, wall: Option<String>| async move {
                if !matches!(path.as_str(), "/ws" | "/mjpeg" | "/snapshot.jpg") {
                    return Err(warp::reject::not_found());
                }
                match (camera, wall) {
                    (Some(id), _) => Ok(json_error(
                        StatusCode::NOT_FOUND,
                        "unknown-camera",
                        format!("no camera '{id}'"),
                    )),
                    (None, Some(id)) => Ok(unknown_wall(&id)),
                    (None, None) => Err(warp::reject::not_found()),
                }
            },
        );
    all.push(unknown.boxed());
    all.into_iter()
        .reduce(|a, b| a.or(b).unify().boxed())
        .unwrap_or_else(|| {
            warp::any()
                .and_then(|| async { Err(warp::reject::not_found()) })
                .boxed()
        })
}
