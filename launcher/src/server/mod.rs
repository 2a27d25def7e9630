// SPDX-License-Identifier: MIT OR Apache-2.0

//! The launcher's one HTTP port: the page, the control API, the event stream, `/healthz`, and
//! the viewers' WebSocket (`/ws`, with `/snapshot.jpg` and `/mjpeg`) served from the sink's
//! feed by `mjpegwssink`'s own routes.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | the page |
//! | `POST /api/login` `{"token"}` | `{"name","role","signed_in"}` and an HttpOnly, SameSite=Strict session cookie that stands for the token (open, same-origin pages only; 401 `wrong-token`) |
//! | `POST /api/logout` | ends the session |
//! | `GET /api/me` | who the request comes from: `{"name","role","signed_in"}` |
//! | `GET /api/cameras` | `[{"id","name","state","alarm","selected",...}]` |
//! | `GET /api/selection` | `{"camera","reason","user_choice"}` |
//! | `PUT /api/selection` `{"camera":id}` | the new selection; 404 unknown camera, 400 bad body |
//! | `POST /api/walls/{id}/ack` `{"camera":id}` (or no body: the alarm on screen) | `{"acknowledged","selection"}`: that alarm stops holding the wall until the camera's next alarm start |
//! | `POST /api/cameras/{id}/snooze` `{"minutes":N}`, `DELETE` | `{"camera","until"}`: its alarms take no wall until then (1 to 1440 minutes) |
//! | `GET /api/cameras?wall=ID` | that wall's cameras, `selected` on that wall |
//! | `GET /api/walls` | `[{"id","name","cameras","selection","viewers"}]` |
//! | `GET /api/walls/{id}/selection` | that wall's selection (`/api/selection` is the first wall's) |
//! | `PUT /api/walls/{id}/selection` `{"camera":id}` | the new selection of that wall; 404 unknown wall or camera |
//! | `GET /api/events` | server-sent events: `alarm`, `switch`, `camera` |
//! | `GET /healthz` | 200 while frames reach the viewers, else 503 (never needs the token) |
//! | `GET /ws/grid` | the overview: every camera's live thumbnail as `frame` messages, and every camera's events; `?cameras=a,b` for those only (a thumbnail is encoded only while a grid asks for it) |
//! | `GET /ws` | frames and events, see `gstcamwall::protocol`; `?wall=ID` for a wall other than the first (also on `/mjpeg`, `/snapshot.jpg` and `/`) |
//!
//! A request with an `Origin` header (a browser's) is refused with 403 unless the origin is
//! camwall's own host or listed in `server.allowed_origins`.
//!
//! With a token configured, everything but `/healthz` needs `Authorization: Bearer <token>` or
//! `?token=<token>`; otherwise 401. Errors are `{"error": code, "reason": sentence}`
//! ([`gstcamwall::http::ApiError`]), the same shape as the sink's own server.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use futures_util::stream;
use gstcamwall::http::{
    asset_reply, assets, json_error, recover, ApiError, Guard, Identity, Origins, Role,
};
use gstcamwall::mjpegwssink::web::Asset;
use gstcamwall::mjpegwssink::ClientSet;
use serde::Deserialize;
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use crate::control::{Control, SelectError};
use crate::state::AppState;

mod admin;
mod body;
mod grid;
mod login;
mod viewers;

pub use admin::reload;
pub use body::BODY_READ_TIMEOUT;
use body::{limited_body, RequestBody};
use viewers::wall_viewers;

/// The page, embedded in the binary; its code and style are [`PAGE_FILES`] and the player's
/// files (`gstcamwall::mjpegwssink::web::PLAYER`), ES modules served as they are.
pub const PAGE: &str = include_str!("../web/index.html");

/// The page's own modules and style (`launcher/src/web/`).
pub const PAGE_FILES: [Asset; 13] = [
    Asset::css("/style.css", include_str!("../web/style.css")),
    Asset::js("/app.js", include_str!("../web/app.js")),
    Asset::js("/api.js", include_str!("../web/api.js")),
    Asset::js("/link.js", include_str!("../web/link.js")),
    Asset::js("/model.js", include_str!("../web/model.js")),
    Asset::js("/views/cameras.js", include_str!("../web/views/cameras.js")),
    Asset::js("/views/status.js", include_str!("../web/views/status.js")),
    Asset::js(
        "/views/attention.js",
        include_str!("../web/views/attention.js"),
    ),
    Asset::js("/views/grid.js", include_str!("../web/views/grid.js")),
    Asset::js("/views/events.js", include_str!("../web/views/events.js")),
    Asset::js("/views/screen.js", include_str!("../web/views/screen.js")),
    Asset::js("/views/login.js", include_str!("../web/views/login.js")),
    Asset::js("/views/keys.js", include_str!("../web/views/keys.js")),
];

/// Every route the port serves, as `(method, path)` with `{id}` for a camera id: the page,
/// the API, the viewers' routes and the integrations'. All of them but the [`is_public`] ones sit
/// behind the [`guard`]; the security tests walk this list.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("POST", "/api/login"),
    ("POST", "/api/logout"),
    ("GET", "/api/me"),
    ("GET", "/api/cameras"),
    ("GET", "/api/selection"),
    ("PUT", "/api/selection"),
    ("GET", "/api/walls"),
    ("GET", "/api/walls/{wall}/selection"),
    ("PUT", "/api/walls/{wall}/selection"),
    ("POST", "/api/walls/{wall}/ack"),
    ("POST", "/api/cameras/{id}/snooze"),
    ("DELETE", "/api/cameras/{id}/snooze"),
    ("GET", "/api/events"),
    ("GET", "/api/events/history"),
    ("GET", "/api/events/picture.jpg"),
    ("GET", "/api/cameras/{id}/snapshot.jpg"),
    ("POST", "/api/cameras/test"),
    ("GET", "/api/cameras/config"),
    ("POST", "/api/cameras"),
    ("PUT", "/api/cameras/{id}"),
    ("DELETE", "/api/cameras/{id}"),
    ("PUT", "/api/walls/{wall}"),
    ("GET", "/api/users"),
    ("POST", "/api/users"),
    ("PUT", "/api/users/{id}"),
    ("DELETE", "/api/users/{id}"),
    ("POST", "/api/reload"),
    ("GET", "/metrics"),
    ("GET", "/healthz"),
    ("GET", "/ws"),
    ("GET", "/ws/grid"),
    ("GET", "/snapshot.jpg"),
    ("GET", "/mjpeg"),
    ("GET", "/style.css"),
    ("GET", "/app.js"),
    ("GET", "/api.js"),
    ("GET", "/link.js"),
    ("GET", "/model.js"),
    ("GET", "/views/cameras.js"),
    ("GET", "/views/status.js"),
    ("GET", "/views/attention.js"),
    ("GET", "/views/grid.js"),
    ("GET", "/views/events.js"),
    ("GET", "/views/screen.js"),
    ("GET", "/views/login.js"),
    ("GET", "/views/keys.js"),
    ("GET", "/player.js"),
    ("GET", "/decoder.worker.js"),
    ("GET", "/protocol.js"),
    ("GET", "/base64.js"),
];

/// Whether `path` answers without the token and from any origin: `/healthz`, and the page's
/// code and style, which hold no data (the page's module imports carry no token).
pub fn is_public(path: &str) -> bool {
    // The page itself holds no data either: without a token it opens on its sign-in form.
    // Signing in checks the origin itself.
    matches!(path, "/healthz" | "/" | "/api/login")
        || PAGE_FILES
            .iter()
            .chain(&gstcamwall::mjpegwssink::web::PLAYER)
            .any(|f| f.path == path)
}

/// The one guard in front of every route of the port, the integrations' and the viewers'
/// included: a route added later sits behind it too. A request needs the token (when one is
/// configured; else 401), then an allowed `Origin` (a page elsewhere must not drive the API or
/// read the cameras through a user's browser; else 403). Only [`is_public`] paths skip it.
pub fn guard(state: &AppState) -> Guard {
    let config = &state.config;
    let sessions = state.sessions.clone();
    Guard::with_credential_set(
        state.credentials.clone(),
        Origins::SameHostOr(config.allowed_origins().into()),
    )
    .covering(|path| !is_public(path))
    .requiring(required_role)
    .with_sessions(crate::sessions::COOKIE, move |id| sessions.lookup(id))
}

/// The role a request needs: reading anything is a viewer's; choosing what a wall shows,
/// acknowledging and snoozing an operator's; anything else that changes something an admin's.
pub fn required_role(method: &warp::http::Method, path: &str) -> Role {
    use warp::http::Method;
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if method == Method::GET || method == Method::HEAD {
        // The configuration's cameras (masked URLs, walls) and users are for who may change
        // them.
        if segments == ["api", "cameras", "config"] || segments.starts_with(&["api", "users"]) {
            return Role::Admin;
        }
        return Role::Viewer;
    }
    match (method, segments.as_slice()) {
        // Anyone signed in may sign out.
        (&Method::POST, ["api", "logout"]) => Role::Viewer,
        (&Method::PUT, ["api", "selection"])
        | (&Method::PUT, ["api", "walls", _, "selection"])
        | (&Method::POST, ["api", "walls", _, "ack"])
        | (&Method::POST | &Method::DELETE, ["api", "cameras", _, "snooze"]) => Role::Operator,
        _ => Role::Admin,
    }
}

/// `routes` behind the [`guard`], with every rejection answered in the one error shape.
pub fn guarded(
    state: &AppState,
    routes: impl Filter<Extract = (warp::reply::Response,), Error = Rejection>
        + Clone
        + Send
        + Sync
        + 'static,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Infallible> + Clone {
    guard(state).filter().and(routes).recover(recover).unify()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SelectBody {
    camera: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AckBody {
    /// Leave it out for the alarm on screen.
    camera: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnoozeBody {
    minutes: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestBody {
    url: String,
    /// The camera being edited: a URL with its password masked (`user:***@`) is tested with
    /// that camera's stored password.
    camera: Option<String>,
}

/// Camera tests running at once at most; more are answered 429.
const MAX_CAMERA_TESTS: usize = 4;

/// `POST /api/cameras/test {"url"}`: connects to a camera without adding it and answers within
/// 5 s with what it sends or why it fails ([`crate::probe`]); passwords masked in the answer.
async fn test_camera(
    state: Arc<AppState>,
    body: RequestBody,
    running: Arc<tokio::sync::Semaphore>,
) -> warp::reply::Response {
    let url = match body
        .complete()
        .map(|b| serde_json::from_slice::<TestBody>(&b))
    {
        Ok(Ok(TestBody { url, camera: None })) => url,
        Ok(Ok(TestBody {
            url,
            camera: Some(id),
        })) => {
            // The camera's main stream or its sub-stream: the stored URL whose user it names.
            let mut stored = state
                .config_file
                .get()
                .and_then(|f| f.document().ok())
                .map(|doc| crate::config::edit::stored_urls(&doc, &id))
                .unwrap_or_default();
            if stored.is_empty() {
                if let Some(cam) = state.camera_index(&id).and_then(|i| state.cameras.get(i)) {
                    stored.push(cam.config.url().to_string());
                    stored.extend(cam.config.detect_url().map(str::to_string));
                }
            }
            match crate::config::edit::unmask_url_among(&url, &stored) {
                Ok(url) => url,
                Err(why) => return ApiError::bad_request(why).response(),
            }
        }
        Ok(Err(e)) => {
            return ApiError::bad_request(format!("expected {{\"url\": \"rtsp://...\"}}: {e}"))
                .response()
        }
        Err(e) => return e.response(),
    };
    if let Err(why) = crate::config::check_camera_url(&url) {
        return ApiError::bad_request(why).response();
    }
    let Ok(_permit) = running.try_acquire_owned() else {
        return json_error(
            StatusCode::TOO_MANY_REQUESTS,
            "busy",
            format!("{MAX_CAMERA_TESTS} camera tests are running; try again when one ends"),
        );
    };
    let masked = crate::config::mask_url(&url);
    let found = tokio::task::spawn_blocking(move || {
        let mut found = crate::probe::probe(&url, std::time::Duration::from_secs(5));
        found.reason = found.reason.map(|r| r.replace(&url, &masked));
        found
    })
    .await;
    match found {
        Ok(found) => warp::reply::json(&found).into_response(),
        Err(_) => ApiError::unavailable("test-failed", "the camera test could not run").response(),
    }
}

/// The longest snooze: a day.
pub const MAX_SNOOZE_MINUTES: u32 = 24 * 60;

/// The launcher's own routes, to be served behind the [`guard`] (see [`guarded`]).
pub fn routes(
    state: Arc<AppState>,
    control: Control,
    clients: ClientSet,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    let with_state = {
        let state = state.clone();
        warp::any().map(move || state.clone())
    };
    // Who acts, for the events that say so.
    let who = guard(&state).identify();
    let by = move || {
        who.clone()
            .map(|w: Option<Identity>| w.map(|w| w.name.to_string()))
    };

    let healthz = warp::path!("healthz")
        .and(warp::get())
        .and(with_state.clone())
        .map(|state: Arc<AppState>| {
            if state.streaming() {
                warp::reply::json(&serde_json::json!({ "status": "streaming" })).into_response()
            } else {
                ApiError::unavailable("not-streaming", "no frames are reaching the viewers")
                    .response()
            }
        });

    // The page says which picture path it asks for unless its address says otherwise.
    let page_html = {
        let video = match state.config.stream.default_video {
            crate::config::Video::H264 => "h264",
            crate::config::Video::Jpeg => "jpeg",
        };
        bytes::Bytes::from(PAGE.replace(
            "<meta name=\"camwall-default-video\" content=\"h264\">",
            &format!("<meta name=\"camwall-default-video\" content=\"{video}\">"),
        ))
    };
    let page = warp::path::end()
        .and(warp::get())
        .map(move || asset_reply("text/html; charset=utf-8", page_html.clone()))
        .or(assets(&PAGE_FILES))
        .unify()
        .or(assets(&gstcamwall::mjpegwssink::web::PLAYER))
        .unify();

    let cameras = warp::path!("api" / "cameras")
        .and(warp::get())
        .and(
            warp::query::<HashMap<String, String>>()
                .or(warp::any().map(HashMap::new))
                .unify(),
        )
        .and(with_state.clone())
        .map(
            |q: HashMap<String, String>, state: Arc<AppState>| match q.get("wall") {
                None => warp::reply::json(&state.camera_views()).into_response(),
                Some(id) => match state.wall(id) {
                    Some((_, wall)) => {
                        warp::reply::json(&state.wall_camera_views(wall)).into_response()
                    }
                    None => unknown_wall(id),
                },
            },
        );

    let admin = admin::routes(state.clone(), control.clone());

    let get_selection = warp::path!("api" / "selection")
        .and(warp::get())
        .and(with_state.clone())
        .map(|state: Arc<AppState>| warp::reply::json(&state.selection()).into_response());

    // Once the method and path match, every outcome is a response, never a rejection: warp
    // would otherwise rank another route's 405 above this route's 400, 404 or 413.
    let put_selection = {
        let control = control.clone();
        warp::path!("api" / "selection")
            .and(warp::put())
            .and(limited_body())
            .and(by())
            .then(move |body: RequestBody, by: Option<String>| {
                select_reply(control.clone(), 0, body, by)
            })
    };

    let ack = {
        let state = state.clone();
        let control = control.clone();
        warp::path!("api" / "walls" / String / "ack")
            .and(warp::post())
            .and(limited_body())
            .and(by())
            .then(move |id: String, body: RequestBody, by: Option<String>| {
                let wall = state.wall(&id).map(|(i, _)| i);
                let control = control.clone();
                async move {
                    let Some(wall) = wall else {
                        return unknown_wall(&id);
                    };
                    // An empty body means the alarm on screen.
                    let req = match body.complete() {
                        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => AckBody { camera: None },
                        Ok(b) => match serde_json::from_slice::<AckBody>(&b) {
                            Ok(r) => r,
                            Err(e) => {
                                return ApiError::bad_request(format!(
                                    "expected {{\"camera\": \"<id>\"}} or nothing: {e}"
                                ))
                                .response()
                            }
                        },
                        Err(e) => return e.response(),
                    };
                    match control.ack(wall, req.camera, by).await {
                        Ok(acked) => warp::reply::json(&acked).into_response(),
                        Err(e) => select_error(e),
                    }
                }
            })
    };

    let snooze = {
        let control = control.clone();
        warp::path!("api" / "cameras" / String / "snooze")
            .and(warp::post())
            .and(limited_body())
            .and(by())
            .then(move |id: String, body: RequestBody, by: Option<String>| {
                let control = control.clone();
                async move {
                    let minutes = match body
                        .complete()
                        .map(|b| serde_json::from_slice::<SnoozeBody>(&b))
                    {
                        Ok(Ok(r)) if (1..=MAX_SNOOZE_MINUTES).contains(&r.minutes) => r.minutes,
                        Ok(Ok(_)) => {
                            return ApiError::bad_request(format!(
                                "minutes must be from 1 to {MAX_SNOOZE_MINUTES}"
                            ))
                            .response()
                        }
                        Ok(Err(e)) => {
                            return ApiError::bad_request(format!(
                                "expected {{\"minutes\": N}}: {e}"
                            ))
                            .response()
                        }
                        Err(e) => return e.response(),
                    };
                    let until = gstcamwall::protocol::unix_ms_now() + u64::from(minutes) * 60_000;
                    snooze_reply(control, id, Some(until), by).await
                }
            })
    };

    let camera_test = {
        let running = Arc::new(tokio::sync::Semaphore::new(MAX_CAMERA_TESTS));
        warp::path!("api" / "cameras" / "test")
            .and(warp::post())
            .and(limited_body())
            .and(with_state.clone())
            .then(move |body: RequestBody, state: Arc<AppState>| {
                test_camera(state, body, running.clone())
            })
    };

    let wake = {
        let control = control.clone();
        warp::path!("api" / "cameras" / String / "snooze")
            .and(warp::delete())
            .and(by())
            .then(move |id: String, by: Option<String>| snooze_reply(control.clone(), id, None, by))
    };

    let walls = warp::path!("api" / "walls")
        .and(warp::get())
        .and(with_state.clone())
        .map(|state: Arc<AppState>| warp::reply::json(&state.wall_views()).into_response());

    let get_wall_selection = warp::path!("api" / "walls" / String / "selection")
        .and(warp::get())
        .and(with_state.clone())
        .map(|id: String, state: Arc<AppState>| match state.wall(&id) {
            Some((_, wall)) => warp::reply::json(&wall.selection()).into_response(),
            None => unknown_wall(&id),
        });

    let put_wall_selection = {
        let state = state.clone();
        warp::path!("api" / "walls" / String / "selection")
            .and(warp::put())
            .and(limited_body())
            .and(by())
            .then(move |id: String, body: RequestBody, by: Option<String>| {
                let wall = state.wall(&id).map(|(i, _)| i);
                let control = control.clone();
                async move {
                    match wall {
                        Some(i) => select_reply(control, i, body, by).await,
                        None => unknown_wall(&id),
                    }
                }
            })
    };

    let events = warp::path!("api" / "events")
        .and(warp::get())
        .and(with_state.clone())
        .map(|state: Arc<AppState>| {
            let rx = state.subscribe_events();
            let events = stream::unfold(rx, |mut rx| async move {
                loop {
                    match rx.recv().await {
                        Ok(event) => {
                            let ev = warp::sse::Event::default()
                                .event(event.kind())
                                .data(&**event.json());
                            return Some((Ok::<_, Infallible>(ev), rx));
                        }
                        // A slow reader skips what it missed rather than holding memory.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                    }
                }
            });
            warp::sse::reply(warp::sse::keep_alive().stream(events)).into_response()
        });

    let grid = grid::grid(state.clone(), clients.clone());
    let login = login::routes(state.clone());
    let viewer = wall_viewers(&state, clients);

    healthz
        .or(page)
        .unify()
        .or(admin)
        .unify()
        .or(cameras)
        .unify()
        .or(get_selection)
        .unify()
        .or(put_selection)
        .unify()
        .or(walls)
        .unify()
        .or(get_wall_selection)
        .unify()
        .or(put_wall_selection)
        .unify()
        .or(ack)
        .unify()
        .or(camera_test)
        .unify()
        .or(snooze)
        .unify()
        .or(wake)
        .unify()
        .or(events)
        .unify()
        .or(grid)
        .unify()
        .or(login)
        .unify()
        .or(viewer)
        .unify()
}

/// 404 for a wall that does not exist.
fn unknown_wall(id: &str) -> warp::reply::Response {
    json_error(
        StatusCode::NOT_FOUND,
        "unknown-wall",
        format!("no wall '{id}'"),
    )
}

/// Makes the camera `body` names the user's choice on wall `wall`, answering with the new
/// selection. Every outcome is a response, never a rejection: warp would otherwise rank
/// another route's 405 above this route's 400, 404 or 413.
async fn select_reply(
    control: Control,
    wall: usize,
    body: RequestBody,
    by: Option<String>,
) -> warp::reply::Response {
    let body = match body.complete() {
        Ok(body) => body,
        Err(e) => return e.response(),
    };
    let req: SelectBody = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return ApiError::bad_request(format!("expected {{\"camera\": \"<id>\"}}: {e}"))
                .response()
        }
    };
    match control.select_on(wall, req.camera, by).await {
        Ok(sel) => warp::reply::json(&sel).into_response(),
        Err(e) => select_error(e),
    }
}

/// Snoozes camera `id` until `until` (unix ms), or wakes it (`None`), for `by`; answers
/// `{"camera", "until"}`, or 404 for a camera that is not there.
async fn snooze_reply(
    control: Control,
    id: String,
    until: Option<u64>,
    by: Option<String>,
) -> warp::reply::Response {
    match control.snooze(id.clone(), until, by).await {
        Ok(()) => {
            warp::reply::json(&serde_json::json!({ "camera": id, "until": until })).into_response()
        }
        Err(e) => select_error(e),
    }
}

/// The answer to a refused control command.
fn select_error(e: SelectError) -> warp::reply::Response {
    match e {
        SelectError::UnknownCamera(_) => {
            json_error(StatusCode::NOT_FOUND, "unknown-camera", e.to_string())
        }
        SelectError::UnknownWall(_) => {
            json_error(StatusCode::NOT_FOUND, "unknown-wall", e.to_string())
        }
        SelectError::NotRunning => ApiError::unavailable("not-applied", e.to_string()).response(),
    }
}
