// SPDX-License-Identifier: MIT OR Apache-2.0

//! Request bodies: at most `MAX_BODY` bytes, all there within [`BODY_READ_TIMEOUT`].

use bytes::BufMut;
use futures_util::TryStreamExt;
use gstcamwall::http::ApiError;
use warp::http::StatusCode;
use warp::{Filter, Rejection};

/// Largest request body accepted.
pub(super) const MAX_BODY: u64 = 4 * 1024;
/// Time a client has to send a whole request body once its head is in (the head has
/// [`gstcamwall::http::HEADER_READ_TIMEOUT`]); a client that trickles a body holds a task
/// and a socket no longer than this.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What became of a request body.
pub(super) enum RequestBody {
    Complete(bytes::Bytes),
    /// Over `MAX_BODY` bytes.
    TooLarge,
    /// Not all there within `BODY_READ_TIMEOUT`.
    TooSlow,
    /// The connection failed while it was read.
    Broken(String),
}

impl RequestBody {
    /// The body, or the answer that says why there is none.
    pub(super) fn complete(self) -> Result<bytes::Bytes, ApiError> {
        match self {
            RequestBody::Complete(body) => Ok(body),
            RequestBody::TooLarge => Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                format!("request body over {MAX_BODY} bytes"),
            )),
            RequestBody::TooSlow => Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!(
                    "request body not sent within {} s",
                    BODY_READ_TIMEOUT.as_secs()
                ),
            )),
            RequestBody::Broken(err) => Err(ApiError::bad_request(format!(
                "request body could not be read: {err}"
            ))),
        }
    }
}

/// Reads a whole body within `BODY_READ_TIMEOUT`.
async fn read_body<B: bytes::Buf>(
    body: impl futures_util::Stream<Item = Result<B, warp::Error>>,
) -> RequestBody {
    let read = async move {
        let mut body = std::pin::pin!(body);
        let mut all = bytes::BytesMut::new();
        while let Some(chunk) = body.try_next().await? {
            all.put(chunk);
        }
        Ok::<_, warp::Error>(all.freeze())
    };
    match tokio::time::timeout(BODY_READ_TIMEOUT, read).await {
        Ok(Ok(body)) => RequestBody::Complete(body),
        Ok(Err(err)) => RequestBody::Broken(err.to_string()),
        Err(_) => RequestBody::TooSlow,
    }
}

/// The request body, read within `BODY_READ_TIMEOUT` and at most `MAX_BODY` bytes.
pub(super) fn limited_body() -> impl Filter<Extract = (RequestBody,), Error = Rejection> + Clone {
    warp::body::content_length_limit(MAX_BODY)
        .and(warp::body::stream())
        .then(read_body)
        .or_else(|err: Rejection| async move {
            if err.find::<warp::reject::PayloadTooLarge>().is_some() {
                Ok((RequestBody::TooLarge,))
            } else {
                Err(err)
            }
        })
        // No Content-Length and no chunked body (`curl -X POST` sends neither): an empty body,
        // answered by the route rather than with a 411.
        .or(
            warp::header::optional::<String>("transfer-encoding").and_then(
                |te: Option<String>| async move {
                    match te {
                        None => Ok(RequestBody::Complete(bytes::Bytes::new())),
                        Some(_) => Err(warp::reject::custom(ApiError::new(
                            StatusCode::LENGTH_REQUIRED,
                            "length-required",
                            "request body needs a Content-Length",
                        ))),
                    }
                },
            ),
        )
        .unify()
}
