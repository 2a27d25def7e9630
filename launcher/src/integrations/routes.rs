// SPDX-License-Identifier: MIT OR Apache-2.0

//! The integrations' HTTP routes, with the same token as the rest of the API. Once a route's
//! method and path match, every outcome is a response (never a rejection), so the launcher's
//! own routes and their error handling stay as they are.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use warp::http::{header, HeaderValue, StatusCode};
use warp::{Filter, Rejection};

use super::snapshots::{camera_jpeg, SnapshotError};
use super::Integrations;
use crate::state::AppState;
use gstcamwall::http::json_error;

/// Events `GET /api/events/history` returns without `limit`.
const DEFAULT_LIMIT: usize = 100;

/// The query parameters (none when the query does not parse).
fn query() -> impl Filter<Extract = (HashMap<String, String>,), Error = Infallible> + Clone {
    warp::query::<HashMap<String, String>>()
        .or(warp::any().map(HashMap::new))
        .unify()
}

/// `GET /api/cameras/{id}/snapshot.jpg`, `GET /api/events/history`, `GET /metrics`.
pub fn routes(
    state: Arc<AppState>,
    integrations: Arc<Integrations>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    let metrics_enabled = state.config.metrics.enabled;
    let with_state = warp::any().map(move || state.clone());
    let with_integrations = warp::any().map(move || integrations.clone());

    let snapshot = warp::path!("api" / "cameras" / String / "snapshot.jpg")
        .and(warp::get())
        .and(with_state.clone())
        .then(|id: String, state: Arc<AppState>| async move {
            match camera_jpeg(&state, &id).await {
                Ok(jpeg) => {
                    let mut res = warp::reply::Response::new(jpeg.into());
                    let h = res.headers_mut();
                    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
                    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                    res
                }
                Err(e @ SnapshotError::UnknownCamera(_)) => {
                    json_error(StatusCode::NOT_FOUND, "unknown-camera", e.to_string())
                }
                Err(e @ SnapshotError::NoFrame(_)) => {
                    json_error(StatusCode::SERVICE_UNAVAILABLE, "no-frame", e.to_string())
                }
                Err(e @ SnapshotError::Encode(_)) => {
                    tracing::warn!(camera = %id, "snapshot: {e}");
                    json_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "encode-failed",
                        e.to_string(),
                    )
                }
            }
        });

    let history = warp::path!("api" / "events" / "history")
        .and(warp::get())
        .and(query())
        .and(with_integrations.clone())
        .map(
            |q: HashMap<String, String>, integrations: Arc<Integrations>| {
                let max = integrations.history.capacity();
                let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
                    None => DEFAULT_LIMIT.min(max),
                    Some(Ok(n)) if (1..=max).contains(&n) => n,
                    Some(_) => {
                        return json_error(
                            StatusCode::BAD_REQUEST,
                            "bad-request",
                            format!("limit must be a number from 1 to {max}"),
                        )
                    }
                };
                // `?type=alarm,ack`: those types only (the newest `limit` of them).
                let types: Option<Vec<&str>> = q.get("type").map(|t| {
                    t.split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .collect()
                });
                // The events are stored as JSON texts: joined, not parsed again (only their
                // type is read when a type is asked for).
                let events = match &types {
                    None => integrations.history.latest(limit),
                    Some(types) => integrations.history.latest_of(limit, |json| {
                        serde_json::from_str::<Typed>(json)
                            .is_ok_and(|t| types.contains(&t.kind.as_ref()))
                    }),
                };
                let mut body = String::with_capacity(events.iter().map(|e| e.len() + 1).sum());
                body.push('[');
                for (i, e) in events.iter().enumerate() {
                    if i > 0 {
                        body.push(',');
                    }
                    body.push_str(e);
                }
                body.push(']');
                let mut res = warp::reply::Response::new(body.into());
                res.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                res
            },
        );

    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(warp::any().and_then(move || async move {
            if metrics_enabled {
                Ok(())
            } else {
                Err(warp::reject::not_found())
            }
        }))
        .untuple_one()
        .and(with_integrations.clone())
        .map(
            |integrations: Arc<Integrations>| match integrations.metrics.encode() {
                Ok(text) => {
                    let mut res = warp::reply::Response::new(text.into());
                    res.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        ),
                    );
                    res
                }
                Err(_) => json_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "encode-failed",
                    "encoding the metrics failed",
                ),
            },
        );

    let picture =
        warp::path!("api" / "events" / "picture.jpg")
            .and(warp::get())
            .and(query())
            .and(with_state.clone())
            .and(with_integrations.clone())
            .then(
                |q: HashMap<String, String>,
                 state: Arc<AppState>,
                 integrations: Arc<Integrations>| async move {
                    let (Some(camera), Some(Ok(ts))) = (
                        q.get("camera").cloned(),
                        q.get("ts").map(|t| t.parse::<u64>()),
                    ) else {
                        return json_error(
                            StatusCode::BAD_REQUEST,
                            "bad-request",
                            "expected ?camera=ID&ts=MS (an event's camera and time)",
                        );
                    };
                    if state.camera_index(&camera).is_none() {
                        return json_error(
                            StatusCode::NOT_FOUND,
                            "unknown-camera",
                            format!("no camera '{camera}'"),
                        );
                    }
                    // An event of the last seconds may still have its picture being made (the
                    // page asks as soon as the event reaches it): that is waited for, briefly.
                    let fresh = gstcamwall::protocol::unix_ms_now().saturating_sub(ts) < 10_000;
                    let mut found = None;
                    for _ in 0..if fresh { 30 } else { 1 } {
                        let (camera, integrations) = (camera.clone(), integrations.clone());
                        found = tokio::task::spawn_blocking(move || {
                            integrations.pictures.get(&camera, ts)
                        })
                        .await
                        .ok()
                        .flatten();
                        if found.is_some() || !fresh {
                            break;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                    match found {
                        Some(jpeg) => {
                            let mut res = warp::reply::Response::new(jpeg.into());
                            let h = res.headers_mut();
                            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
                            // The picture of an event never changes.
                            h.insert(
                                header::CACHE_CONTROL,
                                HeaderValue::from_static("private, max-age=86400, immutable"),
                            );
                            res
                        }
                        None => json_error(
                            StatusCode::NOT_FOUND,
                            "no-picture",
                            format!("no picture kept for the event of '{camera}' at {ts}"),
                        ),
                    }
                },
            );

    snapshot
        .or(history)
        .unify()
        .or(picture)
        .unify()
        .or(metrics)
        .unify()
}

/// An event's type, read from its JSON text.
#[derive(serde::Deserialize)]
struct Typed<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
}
