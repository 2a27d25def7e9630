// SPDX-License-Identifier: MIT OR Apache-2.0

//! The fakecam's HTTP control endpoint (loopback only):
//!
//! | request | effect |
//! |---|---|
//! | `GET /cameras` | status of every camera (JSON array) |
//! | `POST /cameras/{id}/motion/on`, `/off`, `/auto` | force motion on or off, or follow the schedule |
//! | `POST /cameras/{id}/offline`, `/online`, `/freeze` | cut the camera off, bring it back, or hang it |
//! | `POST /cameras/{id}/resolution/{W}x{H}` | restart the camera with another picture size |
//! | `GET /cameras/{id}/sent` | the newest frames' stamps and when each left the camera (JSON array of `{"stamp_ms", "sent_ms"}`) |
//!
//! Answers are JSON; errors are camwall's `{"error": code, "reason": sentence}` with 404
//! (unknown camera or path) or 400.

use std::convert::Infallible;

use warp::http::StatusCode;
use warp::{Filter, Reply};

use super::{CameraMode, FakeCam, FakeCamError};

fn error(status: StatusCode, msg: impl Into<String>) -> warp::reply::Response {
    let code = match status {
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::BAD_REQUEST => "bad-request",
        _ => "not-applied",
    };
    gstcamwall::http::json_error(status, code, msg)
}

fn apply(cams: &FakeCam, id: &str, action: &str) -> warp::reply::Response {
    let result = match action {
        "motion/on" => cams.set_motion(id, Some(true)),
        "motion/off" => cams.set_motion(id, Some(false)),
        "motion/auto" => cams.set_motion(id, None),
        "offline" => cams.set_mode(id, CameraMode::Offline),
        "online" => cams.set_mode(id, CameraMode::Online),
        "freeze" => cams.set_mode(id, CameraMode::Frozen),
        other if other.starts_with("resolution/") => {
            let size = other["resolution/".len()..]
                .split_once('x')
                .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)));
            match size {
                Some((w, h)) => cams.set_resolution(id, w, h),
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "resolution must be WIDTHxHEIGHT, e.g. resolution/640x360",
                    )
                }
            }
        }
        other => {
            return error(
                StatusCode::NOT_FOUND,
                format!("unknown action '{other}': motion/on, motion/off, motion/auto, offline, online, freeze"),
            )
        }
    };
    match result {
        Ok(()) => match cams.cameras().into_iter().find(|c| c.id == id) {
            Some(status) => warp::reply::json(&status).into_response(),
            None => error(StatusCode::NOT_FOUND, format!("no camera named '{id}'")),
        },
        Err(e @ FakeCamError::UnknownCamera(_)) => error(StatusCode::NOT_FOUND, e.to_string()),
        Err(e @ FakeCamError::Config(_)) => error(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The control routes for `cams`.
pub fn routes(
    cams: FakeCam,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Infallible> + Clone {
    let with_cams = warp::any().map(move || cams.clone());
    let list = warp::path!("cameras")
        .and(warp::get())
        .and(with_cams.clone())
        .map(|cams: FakeCam| warp::reply::json(&cams.cameras()).into_response());
    let sent = warp::path!("cameras" / String / "sent")
        .and(warp::get())
        .and(with_cams.clone())
        .map(|id: String, cams: FakeCam| match cams.sent(&id) {
            Ok(sent) => warp::reply::json(&sent).into_response(),
            Err(e) => error(StatusCode::NOT_FOUND, e.to_string()),
        });
    let action = warp::path!("cameras" / String / String)
        .and(warp::post())
        .and(with_cams.clone())
        .map(|id: String, action: String, cams: FakeCam| apply(&cams, &id, &action));
    let motion = warp::path!("cameras" / String / "motion" / String)
        .and(warp::post())
        .and(with_cams.clone())
        .map(|id: String, what: String, cams: FakeCam| {
            apply(&cams, &id, &format!("motion/{what}"))
        });
    let resolution = warp::path!("cameras" / String / "resolution" / String)
        .and(warp::post())
        .and(with_cams)
        .map(|id: String, size: String, cams: FakeCam| {
            apply(&cams, &id, &format!("resolution/{size}"))
        });
    list.or(sent)
        .unify()
        .or(motion)
        .unify()
        .or(resolution)
        .unify()
        .or(action)
        .unify()
        .recover(gstcamwall::http::recover)
        .unify()
}

/// Serves the control endpoint on `listener` until `shutdown` resolves, on the same server as
/// camwall's (a client that stalls in a request head is let go after its timeout).
pub async fn serve(
    cams: FakeCam,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    gstcamwall::http::serve(
        routes(cams).boxed(),
        listener,
        gstcamwall::http::HEADER_READ_TIMEOUT,
        shutdown,
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakecam::FakeCamConfig;

    #[tokio::test]
    async fn routes_answer_and_refuse() {
        let cams = FakeCam::start(FakeCamConfig::with_cameras(2)).unwrap();
        let api = routes(cams.clone());

        let res = warp::test::request().path("/cameras").reply(&api).await;
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(body.as_array().unwrap().len(), 2);
        assert_eq!(body[0]["id"], "cam1");
        assert_eq!(body[0]["mode"], "online");

        let res = warp::test::request()
            .method("POST")
            .path("/cameras/cam2/motion/on")
            .reply(&api)
            .await;
        assert_eq!(res.status(), 200);
        assert!(cams.cameras()[1].motion);

        let res = warp::test::request()
            .method("POST")
            .path("/cameras/cam1/offline")
            .reply(&api)
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(cams.cameras()[0].mode, CameraMode::Offline);

        let res = warp::test::request()
            .method("POST")
            .path("/cameras/cam2/resolution/12x9")
            .reply(&api)
            .await;
        assert_eq!(res.status(), 400);

        let res = warp::test::request()
            .path("/cameras/cam1/sent")
            .reply(&api)
            .await;
        assert_eq!(res.status(), 200);
        assert!(serde_json::from_slice::<serde_json::Value>(res.body())
            .unwrap()
            .is_array());

        for (method, path) in [
            ("GET", "/cameras/cam9/sent"),
            ("POST", "/cameras/cam9/offline"),
            ("POST", "/cameras/cam1/explode"),
            ("GET", "/nothing"),
        ] {
            let res = warp::test::request()
                .method(method)
                .path(path)
                .reply(&api)
                .await;
            assert_eq!(res.status(), 404, "{path}");
            let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
            assert!(body["error"].is_string());
        }
        cams.stop();
    }
}
