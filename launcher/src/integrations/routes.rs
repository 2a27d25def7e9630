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
                // The events are stored as JSON texts: joined, not parsed again.
                let events = integrations.history.latest(limit);
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
        .and(with_integrations)
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

    snapshot.or(history).unify().or(metrics).unify()
}
