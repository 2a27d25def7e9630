// SPDX-License-Identifier: MIT OR Apache-2.0

//! The launcher against fakecam cameras over real RTSP: the API contract, switching as a
//! WebSocket viewer sees it, alarms taking the screen over and giving it back, cameras that are
//! offline at start, and the token.

use std::time::Duration;

use camwall::fakecam::CameraMode;
use camwall::App;
use camwall_tests::viewer::Viewer;
use camwall_tests::{http, http_with_headers, launcher_on, small_cameras, wait_all_live, wait_for};

const T: Duration = Duration::from_secs(15);

/// A launcher on `fc`'s cameras; `extra` is TOML added after `listen` in `[server]`.

#[test]
fn api_contract() {
    let fc = small_cameras(2);
    let app = launcher_on(&fc, "");
    let addr = app.address();
    wait_all_live(&app.address(), 2);

    let cams = http("GET", &addr, "/api/cameras", None).unwrap();
    assert_eq!(cams.status, 200);
    let cams = cams.json().unwrap();
    let cams = cams.as_array().unwrap();
    assert_eq!(cams.len(), 2);
    for (i, c) in cams.iter().enumerate() {
        assert_eq!(c["id"], format!("cam{}", i + 1));
        assert_eq!(c["name"], format!("Camera {}", i + 1));
        assert_eq!(c["state"], "live");
        assert_eq!(c["alarm"], false);
        assert_eq!(c["selected"], i == 0);
        assert_eq!(c["width"], 320);
    }

    let sel = http("GET", &addr, "/api/selection", None).unwrap();
    assert_eq!(sel.status, 200);
    let sel = sel.json().unwrap();
    assert_eq!(sel["camera"], "cam1");
    assert_eq!(sel["reason"], "user");
    assert_eq!(sel["user_choice"], "cam1");

    let put = http("PUT", &addr, "/api/selection", Some(r#"{"camera":"cam2"}"#)).unwrap();
    assert_eq!(put.status, 200);
    assert_eq!(put.json().unwrap()["user_choice"], "cam2");
    let sel = wait_for(T, || {
        let s = http("GET", &addr, "/api/selection", None)
            .ok()?
            .json()
            .ok()?;
        (s["camera"] == "cam2").then_some(s)
    })
    .expect("the selection becomes cam2");
    assert_eq!(sel["reason"], "user");

    for (body, status) in [
        (r#"{"camera":"nope"}"#, 404),
        (r#"{"camera":5}"#, 400),
        ("not json", 400),
        (r#"{"cam":"cam1"}"#, 400),
        ("", 400),
    ] {
        let res = http("PUT", &addr, "/api/selection", Some(body)).unwrap();
        assert_eq!(res.status, status, "{body}");
        assert!(res.json().unwrap()["error"].is_string(), "{body}");
    }
    let big = format!(r#"{{"camera":"{}"}}"#, "x".repeat(10_000));
    assert_eq!(
        http("PUT", &addr, "/api/selection", Some(&big))
            .unwrap()
            .status,
        413
    );
    assert_eq!(
        http("GET", &addr, "/api/nothing", None).unwrap().status,
        404
    );
    assert_eq!(
        http("DELETE", &addr, "/api/selection", None)
            .unwrap()
            .status,
        405
    );

    assert_eq!(http("GET", &addr, "/healthz", None).unwrap().status, 200);
    let page = http("GET", &addr, "/", None).unwrap();
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("<canvas id=\"view\""));
}

#[test]
fn camera_passwords_never_leave_the_process() {
    let fc = small_cameras(1);
    let url = fc.url("cam1").replace("rtsp://", "rtsp://admin:hunter2@");
    let config = camwall::config::Config::parse(
        "t.toml",
        &format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[[camera]]\nid = \"cam1\"\nurl = \"{url}\"\n"
        ),
    )
    .unwrap();
    let app = App::start(config).unwrap();
    wait_all_live(&app.address(), 1);
    let body = http("GET", &app.address(), "/api/cameras", None)
        .unwrap()
        .body;
    let text = String::from_utf8_lossy(&body);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("admin:***@"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_switch_reaches_the_viewer_as_frames_of_the_new_camera() {
    let fc = small_cameras(3);
    let app = launcher_on(&fc, "");
    let addr = app.address();
    let mut viewer = Viewer::connect(&addr, None).await.unwrap();
    viewer.frame_of("cam1", 0, T).await.unwrap();

    for (id, index) in [("cam3", 2), ("cam2", 1), ("cam1", 0)] {
        let res = http(
            "PUT",
            &addr,
            "/api/selection",
            Some(&format!(r#"{{"camera":"{id}"}}"#)),
        )
        .unwrap();
        assert_eq!(res.status, 200);
        let switch = viewer
            .event("switch", T, |e| e["camera"] == id)
            .await
            .unwrap();
        assert_eq!(switch["reason"], "user");
        let f = viewer.frame_of(id, index, T).await.unwrap();
        assert_eq!((f.width, f.height), (320, 192));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_motion_burst_takes_the_screen_over_and_gives_it_back() {
    let fc = small_cameras(2);
    let app = launcher_on(&fc, "[selector]\nalarm_hold_ms = 500");
    let addr = app.address();
    let mut viewer = Viewer::connect(&addr, None).await.unwrap();
    viewer.frame_of("cam1", 0, T).await.unwrap();

    fc.control("cam2", "motion/on").unwrap();
    let alarm = viewer
        .event("alarm", T, |e| e["camera"] == "cam2" && e["active"] == true)
        .await
        .unwrap();
    assert_eq!(alarm["kind"], "motion");
    let switch = viewer
        .event("switch", T, |e| e["camera"] == "cam2")
        .await
        .unwrap();
    assert_eq!(switch["reason"], "alarm");
    // Viewers are told whose choice waits behind the alarm, not left to guess it.
    assert_eq!(switch["user_choice"], "cam1");
    viewer.frame_of("cam2", 1, T).await.unwrap();
    let sel = http("GET", &addr, "/api/selection", None)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sel["camera"], "cam2");
    assert_eq!(sel["reason"], "alarm");
    assert_eq!(sel["user_choice"], "cam1");
    let cams = http("GET", &addr, "/api/cameras", None)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(cams[1]["alarm"], true);

    fc.control("cam2", "motion/off").unwrap();
    viewer
        .event("alarm", T, |e| {
            e["camera"] == "cam2" && e["active"] == false
        })
        .await
        .unwrap();
    let back = viewer
        .event("switch", T, |e| e["camera"] == "cam1")
        .await
        .unwrap();
    assert_eq!(back["reason"], "alarm-ended");
    assert_eq!(back["user_choice"], "cam1");
    viewer.frame_of("cam1", 0, T).await.unwrap();
    let sel = http("GET", &addr, "/api/selection", None)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sel["reason"], "user");
}

#[test]
fn a_camera_offline_at_start_does_not_stop_the_others_and_joins_later() {
    let fc = small_cameras(3);
    fc.cams.set_mode("cam3", CameraMode::Offline).unwrap();
    let app = launcher_on(&fc, "");
    let addr = app.address();
    let states = |addr: &str| -> Vec<String> {
        http("GET", addr, "/api/cameras", None)
            .and_then(|r| r.json())
            .map(|v| {
                v.as_array()
                    .map(|a| {
                        a.iter()
                            .map(|c| c["state"].as_str().unwrap_or("").to_string())
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    };
    let seen = wait_for(T, || {
        let s = states(&addr);
        (s == ["live", "live", "offline"]).then_some(())
    });
    assert!(
        seen.is_some(),
        "cam1 and cam2 live, cam3 offline: {:?}",
        states(&addr)
    );
    assert_eq!(http("GET", &addr, "/healthz", None).unwrap().status, 200);

    fc.control("cam3", "online").unwrap();
    let joined = wait_for(T, || {
        (states(&addr) == ["live", "live", "live"]).then_some(())
    });
    assert!(joined.is_some(), "cam3 joins: {:?}", states(&addr));
    let cams = http("GET", &addr, "/api/cameras", None)
        .unwrap()
        .json()
        .unwrap();
    assert!(cams[2]["reconnects"].as_u64().unwrap() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_everything_but_healthz_needs_it() {
    let fc = small_cameras(1);
    let app = launcher_on(&fc, "token = \"s3cret\"");
    let addr = app.address();
    // The page holds no data: it opens on its sign-in form.
    assert_eq!(http("GET", &addr, "/", None).unwrap().status, 200);
    for path in [
        "/api/me",
        "/ws/grid",
        "/api/cameras",
        "/api/selection",
        "/api/events",
        "/ws",
        "/snapshot.jpg",
    ] {
        let res = http("GET", &addr, path, None).unwrap();
        assert_eq!(res.status, 401, "{path}");
        let res = http_with_headers(
            "GET",
            &addr,
            path,
            &[("Authorization", "Bearer wrong")],
            None,
        )
        .unwrap();
        assert_eq!(res.status, 401, "{path} with a wrong token");
    }
    let ok = http_with_headers(
        "GET",
        &addr,
        "/api/cameras",
        &[("Authorization", "Bearer s3cret")],
        None,
    )
    .unwrap();
    assert_eq!(ok.status, 200);
    assert_eq!(
        http("GET", &addr, "/?token=s3cret", None).unwrap().status,
        200
    );
    assert!(Viewer::connect(&addr, None).await.is_err());
    let mut viewer = Viewer::connect(&addr, Some("s3cret")).await.unwrap();
    viewer.frame_of("cam1", 0, T).await.unwrap();
    let health = wait_for(T, || {
        let s = http("GET", &addr, "/healthz", None).ok()?.status;
        (s == 200).then_some(s)
    });
    assert_eq!(health, Some(200), "/healthz needs no token");
}

#[test]
fn events_stream_as_server_sent_events() {
    use std::io::{BufRead, BufReader, Write};
    let fc = small_cameras(2);
    let app = launcher_on(&fc, "");
    let addr = app.address();
    wait_all_live(&app.address(), 2);
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(T)).unwrap();
    write!(stream, "GET /api/events HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.contains("200"), "{status}");
    let put = http("PUT", &addr, "/api/selection", Some(r#"{"camera":"cam2"}"#)).unwrap();
    assert_eq!(
        put.json().unwrap()["camera"],
        "cam2",
        "the answer is the new selection"
    );
    let mut saw = (false, false);
    for line in reader.lines() {
        let line = line.unwrap();
        saw.0 |= line.replace(' ', "") == "event:switch";
        saw.1 |= line.starts_with("data:") && line.contains(r#""camera":"cam2""#);
        if saw == (true, true) {
            break;
        }
    }
    assert_eq!(saw, (true, true));
}

#[test]
fn bad_config_files_give_clear_errors() {
    let dir = std::env::temp_dir().join(format!("camwall-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = camwall_tests::profile_dir().join("camwall");
    for (text, expect) in [
        (
            "[[camera]]\nid = \"a\"\nurl = \"http://x\"\n",
            "bad.toml:3: camera[0].url",
        ),
        (
            "[stream]\njpeg_quality = 0\n[[camera]]\nid = \"a\"\nurl = \"rtsp://x\"\n",
            "bad.toml:2: stream.jpeg_quality",
        ),
        (
            "[stream]\nh264_replay = 251\n[[camera]]\nid = \"a\"\nurl = \"rtsp://x\"\n",
            "bad.toml:2: stream.h264_replay",
        ),
        ("[server\n", "bad.toml:1:"),
        (
            "[[camera]]\nid = \"a\"\nurl = \"rtsp://x\"\ncolour = 1\n",
            "bad.toml:4:",
        ),
    ] {
        let path = dir.join("bad.toml");
        std::fs::write(&path, text).unwrap();
        for cmd in ["check", "run"] {
            let out = std::process::Command::new(&bin)
                .args([cmd, "--config"])
                .arg(&path)
                .current_dir(&dir)
                .output()
                .unwrap();
            assert!(!out.status.success(), "{cmd}: {text}");
            let err = String::from_utf8_lossy(&out.stderr).replace(&*dir.to_string_lossy(), "");
            assert!(
                err.contains(expect.trim_start_matches('/')),
                "{cmd}: expected '{expect}' in: {err}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
