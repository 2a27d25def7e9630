// SPDX-License-Identifier: MIT OR Apache-2.0

//! Several walls on the same cameras, over real RTSP: each wall switches on its own, viewers
//! follow the wall they ask for, the old single-wall routes mean the first wall, and a wall
//! nobody watches encodes nothing.

use std::time::Duration;

use camwall_tests::viewer::Viewer;
use camwall_tests::{http, launcher_on, small_cameras, wait_all_live, wait_for};

const T: Duration = Duration::from_secs(15);

const WALLS: &str = "\n[[wall]]\nid = \"control\"\nname = \"Control room\"\n\
                     [[wall]]\nid = \"lobby\"\nname = \"Lobby TV\"\ncameras = [\"cam2\", \"cam3\"]\n\
                     alarm_override = false\n";

/// JPEGs encoded so far for wall `wall` (its place in the configuration).
fn frames_encoded(app: &camwall::App, wall: usize) -> u64 {
    app.state().walls[wall].feed.frames_encoded()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_wall_switches_on_its_own_and_its_viewers_follow_it() {
    let fc = small_cameras(3);
    let app = launcher_on(&fc, WALLS);
    let addr = app.address();
    wait_all_live(&addr, 3);

    let walls = http("GET", &addr, "/api/walls", None)
        .unwrap()
        .json()
        .unwrap();
    let walls = walls.as_array().unwrap();
    assert_eq!(walls.len(), 2);
    assert_eq!(walls[0]["id"], "control");
    assert_eq!(
        walls[0]["cameras"],
        serde_json::json!(["cam1", "cam2", "cam3"])
    );
    assert_eq!(walls[1]["name"], "Lobby TV");
    assert_eq!(walls[1]["cameras"], serde_json::json!(["cam2", "cam3"]));
    assert_eq!(walls[1]["selection"]["user_choice"], "cam2");

    let mut control = Viewer::connect(&addr, None).await.unwrap();
    let mut lobby = Viewer::connect_to(&addr, "?wall=lobby").await.unwrap();
    control.frame_of("cam1", 0, T).await.unwrap();
    lobby.frame_of("cam2", 1, T).await.unwrap();

    // The lobby switches; the control room does not move.
    let put = http(
        "PUT",
        &addr,
        "/api/walls/lobby/selection",
        Some(r#"{"camera":"cam3"}"#),
    )
    .unwrap();
    assert_eq!(put.status, 200, "{}", String::from_utf8_lossy(&put.body));
    let switch = lobby
        .event("switch", T, |e| e["camera"] == "cam3")
        .await
        .unwrap();
    assert_eq!(switch["wall"], "lobby");
    assert_eq!(switch["user_choice"], "cam3");
    lobby.frame_of("cam3", 2, T).await.unwrap();
    let f = control.frame_of("cam1", 0, T).await.unwrap();
    assert_eq!(f.width, 320);
    let sel = http("GET", &addr, "/api/selection", None)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        sel["camera"], "cam1",
        "the first wall is where it was: {sel}"
    );
    let lobby_sel = http("GET", &addr, "/api/walls/lobby/selection", None)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(lobby_sel["camera"], "cam3");

    // The old route moves the first wall only, and the lobby viewer hears nothing of it.
    let put = http("PUT", &addr, "/api/selection", Some(r#"{"camera":"cam2"}"#)).unwrap();
    assert_eq!(put.status, 200);
    let switch = control
        .event("switch", T, |e| e["camera"] == "cam2")
        .await
        .unwrap();
    assert_eq!(switch["wall"], "control");
    control.frame_of("cam2", 1, T).await.unwrap();
    let f = lobby.frame_of("cam3", 2, T).await.unwrap();
    assert_eq!(f.width, 320);

    // A wall's cameras per wall, `selected` on it.
    let cams = http("GET", &addr, "/api/cameras?wall=lobby", None)
        .unwrap()
        .json()
        .unwrap();
    let ids: Vec<_> = cams
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    assert_eq!(ids, [serde_json::json!("cam2"), serde_json::json!("cam3")]);
    assert_eq!(cams[1]["selected"], true);

    // Bad input: clear answers.
    for (method, path, body, status, code) in [
        (
            "PUT",
            "/api/walls/lobby/selection",
            r#"{"camera":"cam1"}"#,
            404,
            "unknown-camera",
        ),
        (
            "PUT",
            "/api/walls/attic/selection",
            r#"{"camera":"cam1"}"#,
            404,
            "unknown-wall",
        ),
        ("GET", "/api/walls/attic/selection", "", 404, "unknown-wall"),
        ("GET", "/api/cameras?wall=attic", "", 404, "unknown-wall"),
        ("GET", "/snapshot.jpg?wall=attic", "", 404, "unknown-wall"),
        ("PUT", "/api/walls/lobby/selection", "{", 400, "bad-request"),
    ] {
        let res = http(method, &addr, path, (!body.is_empty()).then_some(body)).unwrap();
        assert_eq!(res.status, status, "{method} {path}");
        assert_eq!(res.json().unwrap()["error"], code, "{method} {path}");
    }
    let snap = http("GET", &addr, "/snapshot.jpg?wall=lobby", None).unwrap();
    assert_eq!(snap.status, 200);
    assert!(snap.body.starts_with(b"\xFF\xD8"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_nobody_watches_encodes_nothing_and_starts_when_watched() {
    let fc = small_cameras(3);
    let app = launcher_on(&fc, WALLS);
    let addr = app.address();
    wait_all_live(&addr, 3);
    // Keep the first wall watched; leave the lobby alone past its grace.
    let mut control = Viewer::connect(&addr, None).await.unwrap();
    control.frame_of("cam1", 0, T).await.unwrap();
    let idle = wait_for(Duration::from_secs(20), || {
        let before = frames_encoded(&app, 1);
        std::thread::sleep(Duration::from_millis(600));
        (frames_encoded(&app, 1) == before).then_some(before)
    })
    .expect("the unwatched wall stops encoding");
    let watched_before = frames_encoded(&app, 0);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        frames_encoded(&app, 1),
        idle,
        "nothing encoded while unwatched"
    );
    assert!(
        frames_encoded(&app, 0) >= watched_before + 10,
        "the watched wall goes on"
    );

    // A viewer comes: its first frame comes within a camera frame or so.
    let started = std::time::Instant::now();
    let mut lobby = Viewer::connect_to(&addr, "?wall=lobby").await.unwrap();
    lobby.frame_of("cam2", 1, T).await.unwrap();
    println!("first frame of an idle wall after {:?}", started.elapsed());
    assert!(frames_encoded(&app, 1) > idle);
    drop(control);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_alarm_gives_the_wall_back_and_a_snoozed_camera_takes_none() {
    let fc = small_cameras(3);
    let app = launcher_on(&fc, WALLS);
    let addr = app.address();
    wait_all_live(&addr, 3);
    let mut control = Viewer::connect(&addr, None).await.unwrap();
    let mut lobby = Viewer::connect_to(&addr, "?wall=lobby").await.unwrap();
    control.frame_of("cam1", 0, T).await.unwrap();

    // A tree in the wind on cam3: it takes the control room over (the lobby does not take
    // alarms), until someone acknowledges it.
    fc.control("cam3", "motion/on").unwrap();
    let sw = control
        .event("switch", T, |e| e["camera"] == "cam3")
        .await
        .unwrap();
    assert_eq!(sw["reason"], "alarm");
    let ack = http(
        "POST",
        &addr,
        "/api/walls/control/ack",
        Some(r#"{"camera":"cam3"}"#),
    )
    .unwrap();
    assert_eq!(ack.status, 200, "{}", String::from_utf8_lossy(&ack.body));
    assert_eq!(ack.json().unwrap()["acknowledged"], true);
    let event = control
        .event("ack", T, |e| e["camera"] == "cam3")
        .await
        .unwrap();
    assert_eq!(event["wall"], "control");
    let back = control
        .event("switch", T, |e| e["camera"] == "cam1")
        .await
        .unwrap();
    assert_eq!(back["reason"], "acknowledged");
    control.frame_of("cam1", 0, T).await.unwrap();
    // The alarm is still known while it runs; a second acknowledge has nothing to take.
    let cams = http("GET", &addr, "/api/cameras", None)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(cams[2]["alarm"], true);
    let again = http(
        "POST",
        &addr,
        "/api/walls/control/ack",
        Some(r#"{"camera":"cam3"}"#),
    )
    .unwrap()
    .json()
    .unwrap();
    assert_eq!(again["acknowledged"], false);

    // Its next alarm start takes the wall again; a click on another camera then counts as
    // an acknowledge plus the choice, shown at once.
    fc.control("cam3", "motion/off").unwrap();
    control
        .event("alarm", T, |e| {
            e["camera"] == "cam3" && e["active"] == false
        })
        .await
        .unwrap();
    fc.control("cam3", "motion/on").unwrap();
    control
        .event("switch", T, |e| {
            e["camera"] == "cam3" && e["reason"] == "alarm"
        })
        .await
        .unwrap();
    let put = http("PUT", &addr, "/api/selection", Some(r#"{"camera":"cam2"}"#)).unwrap();
    assert_eq!(put.status, 200);
    assert_eq!(put.json().unwrap()["camera"], "cam2", "shown, not deferred");
    control
        .event("ack", T, |e| e["camera"] == "cam3")
        .await
        .unwrap();
    control.frame_of("cam2", 1, T).await.unwrap();

    // Snoozed: its alarms are still sent out, marked, but take no wall.
    fc.control("cam3", "motion/off").unwrap();
    control
        .event("alarm", T, |e| {
            e["camera"] == "cam3" && e["active"] == false
        })
        .await
        .unwrap();
    let snooze = http(
        "POST",
        &addr,
        "/api/cameras/cam3/snooze",
        Some(r#"{"minutes":5}"#),
    )
    .unwrap();
    assert_eq!(snooze.status, 200);
    let until = snooze.json().unwrap()["until"].as_u64().unwrap();
    let event = control
        .event("snooze", T, |e| e["camera"] == "cam3")
        .await
        .unwrap();
    assert_eq!(event["until"], until);
    let cams = http("GET", &addr, "/api/cameras", None)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(cams[2]["snoozed_until"], until);
    fc.control("cam3", "motion/on").unwrap();
    let alarm = control
        .event("alarm", T, |e| e["camera"] == "cam3" && e["active"] == true)
        .await
        .unwrap();
    assert_eq!(alarm["snoozed"], true);
    // Half a second on, the wall still shows the user's choice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sel = http("GET", &addr, "/api/selection", None)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sel["camera"], "cam2", "{sel}");
    // Woken while alarmed: it takes the wall.
    let wake = http("DELETE", &addr, "/api/cameras/cam3/snooze", None).unwrap();
    assert_eq!(wake.status, 200);
    control
        .event("switch", T, |e| {
            e["camera"] == "cam3" && e["reason"] == "alarm"
        })
        .await
        .unwrap();
    drop(lobby.frame_of("cam2", 1, T).await.unwrap());

    for (method, path, body, status, code) in [
        ("POST", "/api/walls/attic/ack", "", 404, "unknown-wall"),
        (
            "POST",
            "/api/walls/lobby/ack",
            r#"{"camera":"cam1"}"#,
            404,
            "unknown-camera",
        ),
        (
            "POST",
            "/api/walls/control/ack",
            r#"{"camera":3}"#,
            400,
            "bad-request",
        ),
        (
            "POST",
            "/api/cameras/cam3/snooze",
            r#"{"minutes":0}"#,
            400,
            "bad-request",
        ),
        (
            "POST",
            "/api/cameras/cam3/snooze",
            r#"{"minutes":100000}"#,
            400,
            "bad-request",
        ),
        (
            "POST",
            "/api/cameras/nope/snooze",
            r#"{"minutes":5}"#,
            404,
            "unknown-camera",
        ),
        (
            "DELETE",
            "/api/cameras/nope/snooze",
            "",
            404,
            "unknown-camera",
        ),
    ] {
        let res = http(method, &addr, path, (!body.is_empty()).then_some(body)).unwrap();
        assert_eq!(res.status, status, "{method} {path} {body}");
        assert_eq!(res.json().unwrap()["error"], code, "{method} {path} {body}");
    }
    fc.control("cam3", "motion/off").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peek_shows_one_camera_without_moving_any_wall_and_costs_nothing_unwatched() {
    let fc = small_cameras(3);
    let app = launcher_on(&fc, WALLS);
    let addr = app.address();
    wait_all_live(&addr, 3);
    let peeks = |i: usize| app.state().cameras.get(i).unwrap().peek.frames_encoded();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        (peeks(0), peeks(1), peeks(2)),
        (0, 0, 0),
        "nobody peeks: nothing encoded"
    );

    let mut control = Viewer::connect(&addr, None).await.unwrap();
    control.frame_of("cam1", 0, T).await.unwrap();
    // Two peekers of cam3 share one encoder; the control room stays on cam1.
    let mut peek_a = Viewer::connect_to(&addr, "?camera=cam3").await.unwrap();
    let mut peek_b = Viewer::connect_to(&addr, "?camera=cam3").await.unwrap();
    peek_a.frame_of("cam3", 2, T).await.unwrap();
    peek_b.frame_of("cam3", 2, T).await.unwrap();
    let f = control.frame_of("cam1", 0, T).await.unwrap();
    assert_eq!(f.width, 320);
    let sel = http("GET", &addr, "/api/selection", None)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sel["camera"], "cam1");
    assert_eq!(
        (peeks(0), peeks(1)),
        (0, 0),
        "only the peeked camera is encoded"
    );
    let before = peeks(2);
    std::thread::sleep(Duration::from_millis(1000));
    let per_second = peeks(2) - before;
    assert!(
        (15..=30).contains(&per_second),
        "one encoder for both peekers: {per_second}/s"
    );

    // An alarm on the peeked camera is heard, and takes over no peek.
    fc.control("cam2", "motion/on").unwrap();
    peek_a
        .event("alarm", T, |e| e["camera"] == "cam2" && e["active"] == true)
        .await
        .unwrap();
    let f = peek_a.frame_of("cam3", 2, T).await.unwrap();
    assert_eq!(f.width, 320);
    fc.control("cam2", "motion/off").unwrap();

    // Nobody peeks any more: it stops after the grace.
    drop(peek_a);
    drop(peek_b);
    let stopped = wait_for(Duration::from_secs(20), || {
        let before = peeks(2);
        std::thread::sleep(Duration::from_millis(600));
        (peeks(2) == before).then_some(())
    });
    assert!(
        stopped.is_some(),
        "the peek stops encoding once nobody peeks"
    );

    let res = http("GET", &addr, "/snapshot.jpg?camera=nope", None).unwrap();
    assert_eq!(res.status, 404);
    assert_eq!(res.json().unwrap()["error"], "unknown-camera");
    let snap = http("GET", &addr, "/snapshot.jpg?camera=cam2", None).unwrap();
    assert_eq!(
        snap.status, 200,
        "a snapshot asks the peek for a fresh frame"
    );
    drop(control);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_a_dead_choice_stays_on_its_wall_and_next_live_stands_in() {
    let fc = small_cameras(3);
    let walls = "\n[[wall]]\nid = \"control\"\n\
                 [[wall]]\nid = \"standin\"\non_offline = \"next-live\"\n";
    let app = launcher_on(&fc, walls);
    let addr = app.address();
    wait_all_live(&addr, 3);
    let mut control = Viewer::connect(&addr, None).await.unwrap();
    let mut standin = Viewer::connect_to(&addr, "?wall=standin").await.unwrap();
    for wall in ["control", "standin"] {
        let path = format!("/api/walls/{wall}/selection");
        let put = http("PUT", &addr, &path, Some(r#"{"camera":"cam2"}"#)).unwrap();
        assert_eq!(put.status, 200);
    }
    control.frame_of("cam2", 1, T).await.unwrap();
    standin.frame_of("cam2", 1, T).await.unwrap();

    fc.control("cam2", "freeze").unwrap();
    let offline = wait_for(T, || {
        let cams = http("GET", &addr, "/api/cameras", None).ok()?.json().ok()?;
        (cams[1]["state"] == "offline").then_some(())
    });
    assert!(offline.is_some(), "cam2 is marked offline");
    // The stand-in wall shows another camera; the control room keeps cam2.
    let moved = standin
        .event("switch", T, |e| {
            e["wall"] == "standin" && e["camera"] != "cam2"
        })
        .await
        .unwrap();
    assert_eq!(moved["reason"], "stalled");
    let sel = |wall: &str| -> serde_json::Value {
        http("GET", &addr, &format!("/api/walls/{wall}/selection"), None)
            .unwrap()
            .json()
            .unwrap()
    };
    assert_ne!(sel("standin")["camera"], "cam2");
    assert_eq!(
        sel("control")["camera"],
        "cam2",
        "the dead camera stays itself"
    );
    assert_eq!(sel("control")["user_choice"], "cam2");

    // Back: both walls show it again.
    fc.control("cam2", "online").unwrap();
    control.frame_of("cam2", 1, T).await.unwrap();
    standin.frame_of("cam2", 1, T).await.unwrap();
    assert_eq!(sel("standin")["camera"], "cam2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grid_shows_every_camera_small_and_live_and_encodes_only_while_watched() {
    let fc = small_cameras(3);
    let app = launcher_on(&fc, "");
    let addr = app.address();
    wait_all_live(&addr, 3);
    let thumbs = |i: usize| app.state().cameras.get(i).unwrap().thumb.frames_encoded();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        (thumbs(0), thumbs(1), thumbs(2)),
        (0, 0, 0),
        "no grid open: no thumbnail encoded"
    );

    // One socket brings every camera's thumbnail, each showing its own camera.
    let mut grid = Viewer::connect_to(&addr, "/grid").await.unwrap();
    for (i, id) in ["cam1", "cam2", "cam3"].iter().enumerate() {
        let f = grid.frame_of(id, i as u8, T).await.unwrap();
        assert!(f.width <= 320, "{id}: a thumbnail, {} wide", f.width);
    }
    // A few frames a second each (stream.thumb_fps = 4), not the camera's 25.
    let before = thumbs(1);
    std::thread::sleep(Duration::from_secs(2));
    let per_second = (thumbs(1) - before) as f64 / 2.0;
    assert!(
        (2.0..=6.0).contains(&per_second),
        "{per_second} thumbnails a second"
    );
    // The cameras' events come on it too.
    fc.control("cam1", "motion/on").unwrap();
    grid.event("alarm", T, |e| e["camera"] == "cam1" && e["active"] == true)
        .await
        .unwrap();
    fc.control("cam1", "motion/off").unwrap();

    // `?cameras=` asks for some only; the others are not encoded for it.
    drop(grid);
    let mut some = Viewer::connect_to(&addr, "/grid?cameras=cam2")
        .await
        .unwrap();
    some.frame_of("cam2", 1, T).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    while std::time::Instant::now() < deadline {
        let f = some.next_frame(T).await.unwrap();
        assert_eq!(f.camera.as_deref(), Some("cam2"));
    }
    assert!(
        Viewer::connect_to(&addr, "/grid?cameras=nope")
            .await
            .is_err(),
        "an unknown camera is refused"
    );
    let stopped = wait_for(Duration::from_secs(20), || {
        let (a, c) = (thumbs(0), thumbs(2));
        std::thread::sleep(Duration::from_millis(600));
        (thumbs(0) == a && thumbs(2) == c).then_some(())
    });
    assert!(stopped.is_some(), "cameras nobody asks for stop encoding");
    drop(some);
    let stopped = wait_for(Duration::from_secs(20), || {
        let b = thumbs(1);
        std::thread::sleep(Duration::from_millis(600));
        (thumbs(1) == b).then_some(())
    });
    assert!(
        stopped.is_some(),
        "the grid's thumbnails stop once it closes"
    );
}
