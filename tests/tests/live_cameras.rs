// SPDX-License-Identifier: MIT OR Apache-2.0

//! Cameras added, changed, tested and removed through the API while camwall runs, the way a
//! site's installer does it: camwall and the cameras' server are processes of their own, a
//! viewer watches the wall all along, and the configuration file is the one camwall was started
//! with. Ten cameras added one by one leave the viewer's pictures without a gap of 100 ms; the
//! camera on screen gets another URL and then goes; the other cameras never reconnect; the file
//! keeps its comments and stays whole when camwall is SIGKILLed in the middle of its writes;
//! bad input and a storm of requests are answered with 4xx and nothing half-done.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use camwall::config::Config;
use camwall_tests::viewer::{Received, Viewer};
use camwall_tests::{free_port, http, wait_for};
use serde_json::{json, Value};

/// A process stopped (SIGKILL) on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn camwall_bin() -> PathBuf {
    camwall_tests::profile_dir().join("camwall")
}

/// `camwall fakecam` with `n` small cameras (`cam1`...) in its own process; its RTSP port.
fn fakecam(n: usize) -> (Proc, u16) {
    let (port, control) = (free_port(), free_port());
    let child = Command::new(camwall_bin())
        .args(["fakecam", "--cameras", &n.to_string()])
        .args(["--port", &port.to_string()])
        .args(["--control-port", &control.to_string()])
        .args(["--width", "320", "--height", "192", "--fps", "25"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the fakecam starts");
    let up = wait_for(Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    assert!(up.is_some(), "the fakecam listens on {port}");
    (Proc(child), port)
}

/// `camwall run` on `config` in its own process; its address once it answers.
fn camwall(config: &Path, port: u16) -> (Proc, String) {
    let child = Command::new(camwall_bin())
        .args(["run", "--config"])
        .arg(config)
        .env("CAMWALL_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("camwall starts");
    let addr = format!("127.0.0.1:{port}");
    let up = wait_for(Duration::from_secs(20), || {
        http("GET", &addr, "/api/cameras", None).ok()
    });
    assert!(up.is_some(), "camwall answers on {addr}");
    (Proc(child), addr)
}

/// A file as a site has it: comments above and beside keys, sections in its own order.
fn site_file(dir: &Path, port: u16, rtsp: u16) -> PathBuf {
    let path = dir.join("camwall.toml");
    std::fs::write(
        &path,
        format!(
            "# The lobby's camera wall. Edited by hand and by the page.\n\
             [server]\n\
             listen = \"127.0.0.1:{port}\"   # loopback only\n\
             \n\
             [selector]\n\
             alarm_override = false   # the guard chooses; no alarm takes over\n\
             \n\
             # The entrance, always on screen first.\n\
             [[camera]]\n\
             id = \"cam1\"\n\
             name = \"Entrance\"   # as the guards call it\n\
             url = \"rtsp://127.0.0.1:{rtsp}/cam1\"\n\
             codec = \"h264\"\n"
        ),
    )
    .unwrap();
    path
}

fn api(method: &str, addr: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    let res = http(method, addr, path, body.as_deref()).expect("camwall answers");
    (res.status, res.json().unwrap_or(Value::Null))
}

fn cameras(addr: &str) -> Vec<Value> {
    api("GET", addr, "/api/cameras", None)
        .1
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn camera(addr: &str, id: &str) -> Value {
    cameras(addr)
        .into_iter()
        .find(|c| c["id"] == id)
        .unwrap_or_default()
}

/// What the viewer received: each frame's sink time (camwall's clock), the fakecam camera
/// index its stamp carries, and each event.
#[derive(Default)]
struct Watched {
    frames: Vec<(u64, Option<u8>)>,
    events: Vec<Value>,
}

/// Watches the wall on a thread of its own until `stop` is set.
fn watch(addr: &str, stop: Arc<std::sync::atomic::AtomicBool>) -> Arc<Mutex<Watched>> {
    let seen = Arc::new(Mutex::new(Watched::default()));
    let (addr, out) = (addr.to_string(), seen.clone());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut viewer = Viewer::connect(&addr, None)
                .await
                .expect("the viewer connects");
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match viewer.next(Duration::from_secs(5)).await {
                    Ok(Received::Frame(f)) => out
                        .lock()
                        .unwrap()
                        .frames
                        .push((f.ts, f.stamp.map(|s| s.camera))),
                    Ok(Received::Event(e)) => out.lock().unwrap().events.push(e),
                    // camwall stopped at the end of the test.
                    Err(_) if stop.load(std::sync::atomic::Ordering::Relaxed) => return,
                    Err(e) => panic!("the viewer lost the wall: {e}"),
                }
            }
        });
    });
    seen
}

/// The largest interval between frames received from `from` (unix ms) on.
fn largest_gap(frames: &[(u64, Option<u8>)], from: u64) -> u64 {
    let times: Vec<u64> = frames.iter().map(|f| f.0).filter(|&t| t >= from).collect();
    times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0)
}

#[test]
fn cameras_added_changed_and_removed_while_a_viewer_watches() {
    camwall_tests::init();
    let dir = tempfile::tempdir().unwrap();
    let (_cams, rtsp) = fakecam(12);
    let port = free_port();
    let file = site_file(dir.path(), port, rtsp);
    let original = std::fs::read_to_string(&file).unwrap();
    let (_camwall, addr) = camwall(&file, port);
    let live = |id: &str| camera(&addr, id)["state"] == "live";
    assert!(wait_for(Duration::from_secs(15), || live("cam1").then_some(())).is_some());

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = watch(&addr, stop.clone());
    assert!(
        wait_for(Duration::from_secs(10), || {
            (seen.lock().unwrap().frames.len() >= 25).then_some(())
        })
        .is_some(),
        "the viewer gets the wall's pictures"
    );
    let started = gstcamwall::protocol::unix_ms_now();

    // Ten cameras, one by one, each live before the next.
    for n in 2..=11 {
        let id = format!("cam{n}");
        let (status, body) = api(
            "POST",
            &addr,
            "/api/cameras",
            Some(json!({"id": id, "name": format!("Camera {n}"),
                        "url": format!("rtsp://127.0.0.1:{rtsp}/cam{n}"), "codec": "h264"})),
        );
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["applied"]["added"], json!([id]), "{body}");
        assert!(
            wait_for(Duration::from_secs(10), || live(&id).then_some(())).is_some(),
            "{id} is live within 10 s: {}",
            camera(&addr, &id)
        );
    }
    let added = gstcamwall::protocol::unix_ms_now();
    std::thread::sleep(Duration::from_millis(500));
    {
        let seen = seen.lock().unwrap();
        let gap = largest_gap(&seen.frames, started);
        let shown: Vec<_> = seen.frames.iter().filter(|f| f.0 >= started).collect();
        println!(
            "LIVE-EDIT 10 cameras added one by one in {} ms: the viewer got {} frames, largest gap {gap} ms",
            added - started,
            shown.len()
        );
        assert!(
            gap < 100,
            "the viewer's largest gap while cameras were added: {gap} ms"
        );
        assert!(
            shown.iter().all(|f| f.1 == Some(0)),
            "the wall kept showing cam1 (stamp index 0)"
        );
        let events: Vec<_> = seen
            .events
            .iter()
            .filter(|e| e["type"] == "cameras")
            .collect();
        assert_eq!(
            events.len(),
            10,
            "one cameras event per addition: {events:?}"
        );
    }
    assert_eq!(cameras(&addr).len(), 11);
    let (_, walls) = api("GET", &addr, "/api/walls", None);
    assert_eq!(
        walls[0]["cameras"].as_array().map(Vec::len),
        Some(11),
        "{walls}"
    );
    let reconnects = |addr: &str| -> Vec<(String, u64)> {
        cameras(addr)
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap().to_string(),
                    c["reconnects"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert!(
        reconnects(&addr).iter().all(|(_, r)| *r == 0),
        "{:?}",
        reconnects(&addr)
    );

    // The camera on screen gets another URL (the twelfth stream): the wall shows the new
    // stream, the other cameras go on.
    let frames_of = |id: &str| camera(&addr, id)["frames"].as_u64().unwrap_or(0);
    let cam2_before = frames_of("cam2");
    let changed_at = gstcamwall::protocol::unix_ms_now();
    let (status, body) = api(
        "PUT",
        &addr,
        "/api/cameras/cam1",
        Some(json!({"url": format!("rtsp://127.0.0.1:{rtsp}/cam12")})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["applied"]["changed"], json!(["cam1"]), "{body}");
    assert_eq!(body["name"], "Entrance", "fields left out are kept: {body}");
    let shown_new = wait_for(Duration::from_secs(10), || {
        let seen = seen.lock().unwrap();
        seen.frames
            .iter()
            .find(|f| f.0 > changed_at && f.1 == Some(11))
            .map(|f| f.0 - changed_at)
    });
    let shown_new = shown_new.expect("the wall shows cam1's new stream (stamp index 11)");
    println!("LIVE-EDIT the camera on screen got a new URL: its new pictures on the wall after {shown_new} ms");
    assert!(frames_of("cam2") > cam2_before, "the other cameras go on");

    // The camera on screen goes: the wall shows another one, with an event.
    let removed_at = gstcamwall::protocol::unix_ms_now();
    let (status, body) = api("DELETE", &addr, "/api/cameras/cam1", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["applied"]["removed"], json!(["cam1"]), "{body}");
    let other = wait_for(Duration::from_secs(10), || {
        let seen = seen.lock().unwrap();
        seen.frames
            .iter()
            .find(|f| f.0 > removed_at + 200 && f.1.is_some_and(|c| c != 11))
            .copied()
    });
    assert!(
        other.is_some(),
        "the wall shows another camera once cam1 is gone"
    );
    {
        let seen = seen.lock().unwrap();
        assert!(
            seen.events
                .iter()
                .any(|e| e["type"] == "cameras" && e["removed"] == json!(["cam1"])),
            "the viewers are told"
        );
    }
    let selection = api("GET", &addr, "/api/selection", None).1;
    assert_ne!(selection["user_choice"], "cam1", "{selection}");
    assert_ne!(selection["camera"], "cam1", "{selection}");
    assert_eq!(cameras(&addr).len(), 10);
    assert!(
        reconnects(&addr).iter().all(|(_, r)| *r == 0),
        "{:?}",
        reconnects(&addr)
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);

    // The file: the cameras as the API left them, every comment of the original kept.
    let text = std::fs::read_to_string(&file).unwrap();
    let config = Config::parse("camwall.toml", &text).expect("the file is valid");
    let ids: Vec<&str> = config.cameras.iter().map(|c| c.id()).collect();
    assert_eq!(ids, (2..=11).map(|n| format!("cam{n}")).collect::<Vec<_>>());
    // (cam1's own comments went with its section.)
    for line in original
        .lines()
        .filter(|l| l.starts_with('#') || l.contains(" # "))
    {
        if !line.contains("ntrance") && !line.contains("as the guards") {
            assert!(text.contains(line), "kept '{line}':\n{text}");
        }
    }
    assert!(text.starts_with("# The lobby's camera wall."), "{text}");
    let backup = std::fs::read_to_string(dir.path().join("camwall.toml.bak")).unwrap();
    assert!(
        backup.contains("cam12"),
        "the version before the last edit is kept"
    );
}

#[test]
fn the_file_is_whole_when_camwall_is_killed_in_the_middle_of_its_writes() {
    camwall_tests::init();
    let dir = tempfile::tempdir().unwrap();
    let (_cams, rtsp) = fakecam(1);
    for round in 0..6u64 {
        let port = free_port();
        let file = site_file(dir.path(), port, rtsp);
        let (mut proc, addr) = camwall(&file, port);
        // Adds and removes as fast as the API takes them; camwall is killed meanwhile.
        let writer = {
            let addr = addr.clone();
            std::thread::spawn(move || {
                for k in 0.. {
                    let id = format!("w{}", k % 3);
                    let body = json!({"id": id, "url": format!("rtsp://127.0.0.1:{rtsp}/cam1"),
                                      "enabled": false});
                    if http("POST", &addr, "/api/cameras", Some(&body.to_string())).is_err() {
                        return k;
                    }
                    if http("DELETE", &addr, &format!("/api/cameras/{id}"), None).is_err() {
                        return k;
                    }
                }
                unreachable!()
            })
        };
        std::thread::sleep(Duration::from_millis(300 + round * 137));
        let _ = proc.0.kill();
        let _ = proc.0.wait();
        let edits = writer.join().unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        let config = Config::parse("camwall.toml", &text).unwrap_or_else(|e| {
            panic!("round {round}: the file is broken after a SIGKILL: {e}\n{text}")
        });
        let ids: Vec<&str> = config.cameras.iter().map(|c| c.id()).collect();
        assert!(
            ids == ["cam1"] || (ids.len() == 2 && ids[0] == "cam1" && ids[1].starts_with('w')),
            "round {round}: the old file or the new one: {ids:?}"
        );
        assert!(text.starts_with("# The lobby's camera wall."));
        println!("LIVE-EDIT killed after {edits} edits: the file has {ids:?}");
        // camwall starts again on what was left.
        drop(camwall(&file, port));
    }
}

#[test]
fn bad_input_and_request_storms_get_4xx_and_change_nothing() {
    camwall_tests::init();
    let dir = tempfile::tempdir().unwrap();
    let (_cams, rtsp) = fakecam(2);
    let port = free_port();
    let file = site_file(dir.path(), port, rtsp);
    let original = std::fs::read_to_string(&file).unwrap();
    let (_camwall, addr) = camwall(&file, port);
    let live = |addr: &str| {
        wait_for(Duration::from_secs(15), || {
            (camera(addr, "cam1")["state"] == "live").then_some(())
        })
    };
    assert!(
        live(&addr).is_some(),
        "cam1 is live: {}",
        camera(&addr, "cam1")
    );
    let url = format!("rtsp://127.0.0.1:{rtsp}/cam2");
    let field_of = |body: &Value| body["errors"][0]["field"].as_str().map(str::to_string);
    for (body, status, field) in [
        (
            json!({"id": "x", "url": "http://host/stream"}),
            400,
            Some("url"),
        ),
        (json!({"id": "x", "url": "rtsp://"}), 400, Some("url")),
        (
            json!({"id": "x", "url": "rtsp://host/a b"}),
            400,
            Some("url"),
        ),
        (
            json!({"id": "x", "url": "rtsp://host/\u{1b}[31m"}),
            400,
            Some("url"),
        ),
        (
            json!({"id": "../../etc/passwd", "url": url}),
            400,
            Some("id"),
        ),
        (json!({"id": "a b", "url": url}), 400, Some("id")),
        (json!({"id": "x".repeat(65), "url": url}), 400, Some("id")),
        (
            json!({"id": "x", "url": url, "name": "n".repeat(101)}),
            400,
            Some("name"),
        ),
        (
            json!({"id": "x", "url": url, "name": "bell\u{7}"}),
            400,
            Some("name"),
        ),
        (
            json!({"id": "x", "url": url, "codec": "h266"}),
            400,
            Some("codec"),
        ),
        (
            json!({"id": "x", "url": url, "priority": "high"}),
            400,
            Some("priority"),
        ),
        (
            json!({"id": "x", "url": url, "motion": {"min_area": 2.0}}),
            400,
            Some("motion.min_area"),
        ),
        (
            json!({"id": "x", "url": url, "motion": {"zones": "everywhere"}}),
            400,
            Some("motion.zones"),
        ),
        (
            json!({"id": "x", "url": url, "colour": "red"}),
            400,
            Some("colour"),
        ),
        (json!({"url": url}), 400, Some("id")),
        (json!({"id": "cam1", "url": url}), 409, None),
    ] {
        let (got, answer) = api("POST", &addr, "/api/cameras", Some(body.clone()));
        assert_eq!(got, status, "{body} -> {answer}");
        assert!(answer["reason"].is_string(), "{answer}");
        if let Some(field) = field {
            assert_eq!(
                field_of(&answer).as_deref(),
                Some(field),
                "{body} -> {answer}"
            );
        }
    }
    // Not JSON, too big, unknown cameras and walls.
    let res = http("POST", &addr, "/api/cameras", Some("{not json")).unwrap();
    assert_eq!(res.status, 400);
    let huge = json!({"id": "x", "url": url, "name": "n".repeat(10_000)}).to_string();
    assert_eq!(
        http("POST", &addr, "/api/cameras", Some(&huge))
            .unwrap()
            .status,
        413
    );
    assert_eq!(
        api(
            "PUT",
            &addr,
            "/api/cameras/nope",
            Some(json!({"name": "x"}))
        )
        .0,
        404
    );
    assert_eq!(api("DELETE", &addr, "/api/cameras/nope", None).0, 404);
    assert_eq!(
        api(
            "PUT",
            &addr,
            "/api/walls/nope",
            Some(json!({"cameras": []}))
        )
        .0,
        404
    );
    let (got, answer) = api(
        "PUT",
        &addr,
        "/api/cameras/cam1",
        Some(json!({"id": "other"})),
    );
    assert_eq!(
        (got, field_of(&answer).as_deref()),
        (400, Some("id")),
        "{answer}"
    );
    // The last camera cannot go.
    assert_eq!(api("DELETE", &addr, "/api/cameras/cam1", None).0, 400);
    // Nothing was half-done.
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    assert_eq!(cameras(&addr).len(), 1);

    // Thousands of cameras: 64 at most, the rest refused; a storm of them at once.
    let handles: Vec<_> = (0..200)
        .map(|k| {
            let (addr, url) = (addr.clone(), url.clone());
            std::thread::spawn(move || {
                let body = json!({"id": format!("s{k}"), "url": url, "enabled": false});
                http("POST", &addr, "/api/cameras", Some(&body.to_string()))
                    .map(|r| r.status)
                    .unwrap_or(0)
            })
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let count = |s: u16| statuses.iter().filter(|&&x| x == s).count();
    println!(
        "LIVE-EDIT a storm of 200 additions: {} added, {} refused (400), {} told to wait (429)",
        count(201),
        count(400),
        count(429)
    );
    assert_eq!(count(201) + count(400) + count(429), 200, "{statuses:?}");
    assert!(count(201) >= 1, "{statuses:?}");
    let text = std::fs::read_to_string(&file).unwrap();
    let config = Config::parse("camwall.toml", &text).expect("the file is valid");
    assert_eq!(config.cameras.len(), 1 + count(201));
    assert!(config.cameras.len() <= 64);
    // camwall still answers and still streams.
    assert!(
        live(&addr).is_some(),
        "cam1 is live: {}",
        camera(&addr, "cam1")
    );
}
