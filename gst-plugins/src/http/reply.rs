// SPDX-License-Identifier: MIT OR Apache-2.0

//! What camwall's HTTP routes answer: pages and their files under one Content-Security-Policy,
//! JSON, and the one error shape `{"error": code, "reason": sentence}`.

use std::convert::Infallible;

use warp::http::{header, HeaderValue, StatusCode};
use warp::Reply;

/// The Content-Security-Policy of camwall's pages: their own origin only (scripts as ES
/// module files, no inline script or style, the WebSocket and the decoder worker from the same
/// host), `data:` images for the empty favicon, and no framing by other sites.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
    object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/// A page or one of its files, with its type, never cached stale, under the pages'
/// Content-Security-Policy.
pub fn asset_reply(mime: &'static str, body: impl Into<bytes::Bytes>) -> warp::reply::Response {
    let mut res = warp::reply::Response::new(body.into().into());
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    res
}

/// `GET` (and `HEAD`) of each of `files` at its path.
pub fn assets(
    files: &'static [crate::mjpegwssink::web::Asset],
) -> impl warp::Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    use warp::Filter;
    warp::get()
        .or(warp::head())
        .unify()
        .and(warp::path::full())
        .and_then(move |path: warp::path::FullPath| async move {
            files
                .iter()
                .find(|f| f.path == path.as_str())
                .map(|f| asset_reply(f.mime, f.body))
                .ok_or_else(warp::reject::not_found)
        })
}

/// A JSON answer with `status`; a 401 also says how to authenticate (`WWW-Authenticate`).
pub fn json_reply(status: StatusCode, body: &serde_json::Value) -> warp::reply::Response {
    let mut res = warp::reply::with_status(warp::reply::json(body), status).into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"camwall\""),
        );
    }
    res
}

/// An error answer: `{"error": code, "reason": sentence}` with its status. The code is short,
/// stable and meant for programs (`unauthorized`, `not-found`, `too-many-clients`, ...); the
/// reason is a sentence for a person. Every route of the sink's server and of the launcher
/// answers errors this way. It is also a rejection, so a filter can refuse with it and
/// [`recover`] answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub reason: String,
}

impl warp::reject::Reject for ApiError {}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            reason: reason.into(),
        }
    }

    /// 401: no token, or the wrong one.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid token is required: give it as Authorization: Bearer <token> or ?token=<token>",
        )
    }

    /// 403: a browser page of another origin.
    pub fn forbidden_origin() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden-origin",
            "this page's origin is not allowed (server.allowed_origins)",
        )
    }

    /// 404 with what was not found.
    pub fn not_found(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", reason)
    }

    /// 400 with what is wrong with the request.
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", reason)
    }

    /// 503 with what is missing.
    pub fn unavailable(code: &'static str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, reason)
    }

    pub fn response(&self) -> warp::reply::Response {
        json_reply(
            self.status,
            &serde_json::json!({ "error": self.code, "reason": self.reason }),
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.status.as_u16(),
            self.code,
            self.reason
        )
    }
}

impl Reply for ApiError {
    fn into_response(self) -> warp::reply::Response {
        self.response()
    }
}

/// An [`ApiError`] answer.
pub fn json_error(
    status: StatusCode,
    code: &'static str,
    reason: impl Into<String>,
) -> warp::reply::Response {
    ApiError::new(status, code, reason).response()
}

/// The answer to a request no route took, in the one error shape: the [`ApiError`] a filter
/// refused with, or what warp's own rejection means.
pub async fn recover(err: warp::Rejection) -> Result<warp::reply::Response, Infallible> {
    Ok(rejection_error(&err).response())
}

fn rejection_error(err: &warp::Rejection) -> ApiError {
    use warp::reject::{LengthRequired, MethodNotAllowed, PayloadTooLarge};
    if let Some(e) = err.find::<ApiError>() {
        e.clone()
    } else if err.is_not_found() {
        ApiError::not_found("no such path")
    } else if err.find::<MethodNotAllowed>().is_some() {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "this path does not take that method",
        )
    } else if err.find::<PayloadTooLarge>().is_some() {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "request body too large",
        )
    } else if err.find::<LengthRequired>().is_some() {
        ApiError::new(
            StatusCode::LENGTH_REQUIRED,
            "length-required",
            "request body needs a Content-Length",
        )
    } else {
        ApiError::bad_request("bad request")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_one_shape() {
        let res = ApiError::unauthorized().response();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.headers().contains_key(header::WWW_AUTHENTICATE));
        let res = json_error(StatusCode::NOT_FOUND, "unknown-camera", "unknown camera: x");
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(!res.headers().contains_key(header::WWW_AUTHENTICATE));
    }

    #[test]
    fn warp_rejections_become_the_same_shape() {
        use warp::Filter;
        let routes = warp::path!("here")
            .and(warp::get())
            .map(|| warp::reply().into_response())
            .or(warp::path!("denied").and_then(|| async {
                Err::<warp::reply::Response, _>(warp::reject::custom(ApiError::forbidden_origin()))
            }))
            .unify()
            .recover(recover)
            .unify();
        crate::mjpegwssink::test_runtime().block_on(async {
            for (method, path, status, code) in [
                ("GET", "/nowhere", 404, "not-found"),
                ("POST", "/here", 405, "method-not-allowed"),
                ("GET", "/denied", 403, "forbidden-origin"),
            ] {
                let res = warp::test::request()
                    .method(method)
                    .path(path)
                    .reply(&routes)
                    .await;
                assert_eq!(res.status().as_u16(), status, "{method} {path}");
                let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
                assert_eq!(body["error"], code, "{body}");
                assert!(
                    body["reason"].as_str().is_some_and(|r| !r.is_empty()),
                    "{body}"
                );
            }
        });
    }
}
