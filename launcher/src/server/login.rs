// SPDX-License-Identifier: MIT OR Apache-2.0

//! Signing a page in and out: `POST /api/login {"token": ...}` answers who the token is and
//! sets the session cookie ([`crate::sessions`]); `POST /api/logout` ends the session;
//! `GET /api/me` says who the request comes from and what they may do.

use std::sync::Arc;
use std::time::Duration;

use gstcamwall::http::{cookie_value, json_reply, ApiError, Identity};
use serde::Deserialize;
use warp::http::{header, HeaderValue, StatusCode};
use warp::{Filter, Rejection};

use super::body::{limited_body, RequestBody};
use crate::sessions::{COOKIE, IDLE};
use crate::state::AppState;

/// A wrong token's answer waits this long: guessing costs time.
const WRONG_TOKEN_DELAY: Duration = Duration::from_millis(300);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    token: String,
}

/// Who the request is, for the page: `{"name", "role", "signed_in"}`; `name` is null when
/// nothing asks for a token (everyone is an admin then).
fn me(who: Option<&Identity>, signed_in: bool) -> serde_json::Value {
    serde_json::json!({
        "name": who.map(|w| w.name.to_string()),
        "role": who.map_or("admin", |w| w.role.as_str()),
        "signed_in": signed_in,
    })
}

fn with_cookie(mut res: warp::reply::Response, value: &str) -> warp::reply::Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `POST /api/login`, `POST /api/logout`, `GET /api/me`.
pub(super) fn routes(
    state: Arc<AppState>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    let guard = super::guard(&state);
    let cookie = || warp::header::optional::<String>("cookie");

    let login = {
        let state = state.clone();
        let guard = guard.clone();
        warp::path!("api" / "login")
            .and(warp::post())
            .and(warp::header::optional::<String>("origin"))
            .and(warp::header::optional::<String>("host"))
            .and(limited_body())
            .then(
                move |origin: Option<String>, host: Option<String>, body: RequestBody| {
                    let state = state.clone();
                    let guard = guard.clone();
                    async move {
                        // Open to anyone (there is no token yet), but only from camwall's own
                        // pages: another site must not sign a user's browser in.
                        if !guard.origin_allowed(origin.as_deref(), host.as_deref()) {
                            return ApiError::forbidden_origin().response();
                        }
                        let req = match body
                            .complete()
                            .map(|b| serde_json::from_slice::<LoginBody>(&b))
                        {
                            Ok(Ok(r)) => r,
                            Ok(Err(e)) => {
                                return ApiError::bad_request(format!(
                                    "expected {{\"token\": \"...\"}}: {e}"
                                ))
                                .response()
                            }
                            Err(e) => return e.response(),
                        };
                        if !guard.asks_for_credentials() {
                            return json_reply(StatusCode::OK, &me(None, false));
                        }
                        let Some(who) = guard.whose(req.token.trim()) else {
                            tokio::time::sleep(WRONG_TOKEN_DELAY).await;
                            tracing::info!("sign-in refused: wrong token");
                            return ApiError::new(
                                StatusCode::UNAUTHORIZED,
                                "wrong-token",
                                "that token is not one of camwall's",
                            )
                            .response();
                        };
                        let id = match state.sessions.open(who.clone()) {
                            Ok(id) => id,
                            Err(e) => {
                                return ApiError::new(
                                    StatusCode::INTERNAL_SERVER_ERROR,
                                    "no-session",
                                    format!("no session could be made: {e}"),
                                )
                                .response()
                            }
                        };
                        tracing::info!(user = %who.name, "signed in");
                        with_cookie(
                            json_reply(StatusCode::OK, &me(Some(&who), true)),
                            &format!(
                                "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
                                IDLE.as_secs()
                            ),
                        )
                    }
                },
            )
    };

    let logout = {
        let state = state.clone();
        warp::path!("api" / "logout")
            .and(warp::post())
            .and(cookie())
            .map(move |cookie: Option<String>| {
                if let Some(id) = cookie_value(cookie.as_deref(), COOKIE) {
                    state.sessions.close(id);
                }
                with_cookie(
                    json_reply(StatusCode::OK, &serde_json::json!({ "signed_in": false })),
                    &format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
                )
            })
    };

    let whoami = {
        let state = state.clone();
        warp::path!("api" / "me")
            .and(warp::get())
            .and(guard.identify())
            .and(cookie())
            .map(move |who: Option<Identity>, cookie: Option<String>| {
                let signed_in = cookie_value(cookie.as_deref(), COOKIE)
                    .and_then(|id| state.sessions.lookup(id))
                    .is_some();
                json_reply(StatusCode::OK, &me(who.as_ref(), signed_in))
            })
    };

    login.or(logout).unify().or(whoami).unify()
}
