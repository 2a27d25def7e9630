// SPDX-License-Identifier: MIT OR Apache-2.0

//! Who may talk to camwall and what leaks: the `Origin` check on the API and the WebSocket,
//! camera credentials kept out of the logs, the API and errors, and capped request bodies and
//! WebSocket messages.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use camwall::fakecam::FakeCamConfig;
use camwall::App;
use camwall_tests::{http, http_with_headers, wait_for, FakeCamWithControl};

const T: Duration = Duration::from_secs(15);

/// Everything the launcher logs, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Captured {
    static LOGS: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        logs
    })
    .clone()
}

fn fakecam(n: usize) -> FakeCamWithControl {
    let mut config = FakeCamConfig::with_cameras(n);
    config.width = 320;
    config.height = 192;
    FakeCamWithControl::start(config).unwrap()
}

#[test]
fn camera_passwords_never_reach_logs_api_or_errors() {
    let logs = capture_logs();
    let fc = fakecam(1);
    // One camera that works, one whose server refuses (errors carry its URL), both with
    // passwords; the second also with a password in the query, as some cameras take it.
    let good = fc
        .url("cam1")
        .replace("rtsp://", "rtsp://admin:S3cretPass1@");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bad = format!("rtsp://viewer:S3cretPass2@127.0.0.1:{port}/stream");
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\
         [[camera]]\nid = \"good\"\nurl = \"{good}\"\ncodec = \"h264\"\n\
         [[camera]]\nid = \"bad\"\nurl = \"{bad}\"\ncodec = \"h264\"\n"
    );
    let config = camwall::config::Config::parse("t.toml", &text).unwrap();
    let app = App::start(config).unwrap();
    let addr = app.address();
    let states = || {
        http("GET", &addr, "/api/cameras", None)
            .ok()
            .and_then(|r| r.json().ok())
            .map(|v| {
                (
                    v[0]["state"].clone(),
                    v[1]["state"].clone(),
                    v[1]["reconnects"].clone(),
                )
            })
    };
    assert!(
        wait_for(T, || {
            let (g, b, r) = states()?;
            (g == "live" && b == "offline" && r.as_u64()? >= 1).then_some(())
        })
        .is_some(),
        "{:?}",
        states()
    );
    let mut seen = String::new();
    for path in ["/api/cameras", "/api/selection", "/healthz", "/nothing"] {
        seen.push_str(&String::from_utf8_lossy(
            &http("GET", &addr, path, None).unwrap().body,
        ));
    }
    // A configuration error shows the URL masked too.
    let err = camwall::config::Config::parse(
        "t.toml",
        "[[camera]]\nid = \"x\"\nurl = \"rtsp://u:S3cretPass3@h/\"\npriority = \"high\"\n",
    )
    .unwrap_err()
    .to_string();
    seen.push_str(&err);
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(
        logged.contains("camera failed"),
        "the failures were logged: {logged}"
    );
    for secret in ["S3cretPass1", "S3cretPass2", "S3cretPass3"] {
        assert!(!logged.contains(secret), "{secret} in the logs");
        assert!(!seen.contains(secret), "{secret} in answers: {seen}");
    }
    assert!(seen.contains("admin:***@"), "{seen}");
}

#[test]
fn origins_other_than_our_own_host_are_refused() {
    let fc = fakecam(1);
    let config = camwall::demo::config_for(
        &fc.cams,
        "127.0.0.1:0",
        "allowed_origins = [\"https://wall.example.com\"]",
    )
    .unwrap();
    let app = App::start(config).unwrap();
    let addr = app.address();
    let own = format!("http://{addr}");
    for (origin, path, status) in [
        (None, "/api/cameras", 200),
        (Some(own.as_str()), "/api/cameras", 200),
        (Some("https://wall.example.com"), "/api/cameras", 200),
        (Some("https://evil.example.net"), "/api/cameras", 403),
        (Some("null"), "/api/selection", 403),
        (Some("http://127.0.0.1:1"), "/api/me", 403),
        (Some("https://evil.example.net"), "/ws", 403),
        (Some("https://evil.example.net"), "/snapshot.jpg", 403),
        // Health checks come from anywhere.
        (Some("https://evil.example.net"), "/healthz", 0),
    ] {
        let headers: Vec<(&str, &str)> = origin.map(|o| vec![("Origin", o)]).unwrap_or_default();
        let res = http_with_headers("GET", &addr, path, &headers, None).unwrap();
        if status == 0 {
            assert_ne!(res.status, 403, "{origin:?} {path}");
        } else {
            assert_eq!(res.status, status, "{origin:?} {path}");
        }
        if res.status == 403 {
            // The one error shape, the same as the sink's own server's.
            let body = res.json().unwrap();
            assert_eq!(body["error"], "forbidden-origin", "{body}");
            assert!(body["reason"].is_string(), "{body}");
        }
    }
    let put = http_with_headers(
        "PUT",
        &addr,
        "/api/selection",
        &[("Origin", "https://evil.example.net")],
        Some(r#"{"camera":"cam1"}"#),
    )
    .unwrap();
    assert_eq!(put.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_from_a_foreign_origin_is_refused_and_huge_messages_close_it() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
    let fc = fakecam(1);
    let config = camwall::demo::config_for(&fc.cams, "127.0.0.1:0", "").unwrap();
    let app = App::start(config).unwrap();
    let addr = app.address();

    let mut req = format!("ws://{addr}/ws").into_client_request().unwrap();
    req.headers_mut()
        .insert("Origin", "https://evil.example.net".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_err());

    // A message over the cap closes that viewer; another viewer carries on.
    let (mut hostile, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    let mut other = camwall_tests::viewer::Viewer::connect(&addr, None)
        .await
        .unwrap();
    let _ = hostile
        .send(tungstenite::Message::Text("x".repeat(1 << 20).into()))
        .await;
    let closed = tokio::time::timeout(T, async {
        while let Some(msg) = hostile.next().await {
            match msg {
                Ok(tungstenite::Message::Close(_)) | Err(_) => return true,
                _ => {}
            }
        }
        true
    })
    .await;
    assert_eq!(closed, Ok(true), "the hostile viewer is closed");
    other.frame_of("cam1", 0, T).await.unwrap();
}

/// The status of a request, read from the status line alone (streaming routes never end).
fn status_of(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> u16 {
    use std::io::{BufRead, BufReader};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(T)).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no status in {line:?}"))
}

#[test]
fn one_guard_covers_every_route_token_first_then_origin() {
    let fc = fakecam(1);
    let app = camwall_tests::launcher_on(
        &fc,
        "token = \"s3cret\"\nallowed_origins = [\"https://wall.example.com\"]",
    );
    let addr = app.address();
    let live = camwall_tests::wait_for(T, || {
        let res = http("GET", &addr, "/api/cameras?token=s3cret", None).ok()?;
        (res.json().ok()?[0]["state"] == "live").then_some(())
    });
    assert!(live.is_some(), "the camera is live");
    let own = format!("http://{addr}");
    let bearer = "Bearer s3cret";
    let foreign = "https://evil.example.net";
    // Every route the server has, and paths it does not have: the guard stands before routing.
    let unknown = [
        ("GET", "/nothing/here"),
        ("POST", "/api/nothing"),
        ("DELETE", "/api"),
    ];
    let routes = camwall::server::ROUTES.iter().chain(unknown.iter());
    let mut walked = 0;
    for &(method, path) in routes {
        let path = path.replace("{id}", "cam1").replace("{wall}", "main");
        let open = camwall::server::is_public(&path);
        let st = |headers: &[(&str, &str)]| status_of(&addr, method, &path, headers);
        let (none, wrong) = (st(&[]), st(&[("Authorization", "Bearer nope")]));
        let foreign_with_token = st(&[("Authorization", bearer), ("Origin", foreign)]);
        // The token is looked at first: a foreign page without it learns nothing more.
        let foreign_without = st(&[("Origin", foreign)]);
        let own_with_token = st(&[("Authorization", bearer), ("Origin", own.as_str())]);
        let query_token = status_of(&addr, method, &format!("{path}?token=s3cret"), &[]);
        if path == "/api/login" {
            // Open (there is no token yet to sign in with), but only to camwall's own pages.
            assert_eq!((foreign_with_token, foreign_without), (403, 403), "{path}");
            assert!(![401, 403].contains(&none), "{path}: {none}");
        } else if open {
            for s in [none, wrong, foreign_with_token, foreign_without] {
                assert!(![401, 403].contains(&s), "{method} {path}: {s}");
            }
        } else {
            assert_eq!(
                (none, wrong),
                (401, 401),
                "{method} {path} without the token"
            );
            assert_eq!(foreign_without, 401, "{method} {path}: token before origin");
            assert_eq!(
                foreign_with_token, 403,
                "{method} {path} from a foreign origin"
            );
            for s in [own_with_token, query_token] {
                assert!(
                    ![401, 403].contains(&s),
                    "{method} {path} with the token: {s}"
                );
            }
        }
        walked += 1;
    }
    assert_eq!(walked, camwall::server::ROUTES.len() + unknown.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_may_do_what_their_role_allows_and_events_say_who_acted() {
    let fc = fakecam(2);
    let users = "token = \"the-admin-token\"\n\
                 [[user]]\nname = \"val\"\ntoken = \"viewer-token\"\nrole = \"viewer\"\n\
                 [[user]]\nname = \"olga\"\ntoken = \"operator-token\"\nrole = \"operator\"\n";
    let config = camwall::demo::config_for(&fc.cams, "127.0.0.1:0", users).unwrap();
    let app = App::start(config).unwrap();
    let addr = app.address();
    let as_user = |token: &str| format!("Bearer {token}");
    let call = |method: &str, path: &str, token: &str, body: Option<&str>| {
        http_with_headers(
            method,
            &addr,
            path,
            &[("Authorization", &as_user(token))],
            body,
        )
        .unwrap()
    };

    let mut viewer = camwall_tests::viewer::Viewer::connect(&addr, Some("viewer-token"))
        .await
        .unwrap();
    viewer.next_frame(T).await.unwrap();

    // A viewer watches, and may not choose: told which role it needs.
    assert_eq!(
        call("GET", "/api/cameras", "viewer-token", None).status,
        200
    );
    let refused = call(
        "PUT",
        "/api/selection",
        "viewer-token",
        Some(r#"{"camera":"cam2"}"#),
    );
    assert_eq!(refused.status, 403);
    let body = refused.json().unwrap();
    assert_eq!(body["error"], "forbidden-role");
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("operator role; val is a viewer"),
        "{body}"
    );
    let refused = call(
        "POST",
        "/api/cameras/cam2/snooze",
        "viewer-token",
        Some(r#"{"minutes":5}"#),
    );
    assert_eq!(refused.status, 403);

    // An operator chooses and snoozes; the events say it was olga.
    let put = call(
        "PUT",
        "/api/selection",
        "operator-token",
        Some(r#"{"camera":"cam2"}"#),
    );
    assert_eq!(put.status, 200);
    let switch = viewer
        .event("switch", T, |e| e["camera"] == "cam2")
        .await
        .unwrap();
    assert_eq!(switch["by"], "olga", "a switch to a choice says who chose");
    let snooze = call(
        "POST",
        "/api/cameras/cam1/snooze",
        "operator-token",
        Some(r#"{"minutes":5}"#),
    );
    assert_eq!(snooze.status, 200);
    let event = viewer
        .event("snooze", T, |e| e["camera"] == "cam1")
        .await
        .unwrap();
    assert_eq!(event["by"], "olga");
    // The history keeps it, with who it was.
    let history = call("GET", "/api/events/history", "viewer-token", None)
        .json()
        .unwrap();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "snooze" && e["by"] == "olga"),
        "{history}"
    );
    // Changing anything else is an admin's.
    let refused = call("POST", "/api/cameras", "operator-token", Some("{}"));
    assert_eq!(refused.status, 403);
    assert!(refused.json().unwrap()["reason"]
        .as_str()
        .unwrap()
        .contains("admin role"));
    // server.token is an admin; a wrong token is nobody.
    let wake = call(
        "DELETE",
        "/api/cameras/cam1/snooze",
        "the-admin-token",
        None,
    );
    assert_eq!(wake.status, 200);
    let event = viewer
        .event("snooze", T, |e| {
            e["camera"] == "cam1" && e["until"].is_null()
        })
        .await
        .unwrap();
    assert_eq!(event["by"], "admin");
    assert_eq!(
        call("GET", "/api/cameras", "nobody-at-all", None).status,
        401
    );
}
