// SPDX-License-Identifier: MIT OR Apache-2.0

//! Alarms leaving the box, against fakecam cameras over real RTSP: snapshots (on demand and on
//! alarm), the event history across a restart, MQTT against a real mosquitto broker that goes
//! away and comes back, webhooks against a small HTTP server, and the Prometheus metrics.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use camwall_tests::viewer::{decode_stamp, Viewer};
use camwall_tests::{
    http, http_with_headers, launcher_on, repo_root, small_cameras, wait_all_live, wait_for,
};

const T: Duration = Duration::from_secs(15);

fn get_json(addr: &str, path: &str) -> Option<serde_json::Value> {
    let res = http("GET", addr, path, None).ok()?;
    (res.status == 200).then(|| res.json().ok()).flatten()
}

fn wait_alarm(addr: &str, camera: &str, active: bool) {
    let seen = wait_for(T, || {
        let cams = get_json(addr, "/api/cameras")?;
        let cam = cams.as_array()?.iter().find(|c| c["id"] == camera)?.clone();
        (cam["alarm"] == active).then_some(())
    });
    assert!(seen.is_some(), "{camera}'s alarm becomes {active}");
}

fn toml_path(p: &Path) -> String {
    p.display().to_string().replace('\\', "\\\\")
}

#[test]
fn snapshots_of_any_camera_and_of_every_alarm() {
    let fc = small_cameras(2);
    let dir = tempfile::tempdir().unwrap();
    let shots = dir.path().join("snapshots");
    // The alarm must not take the screen: its snapshot is saved all the same.
    let app = launcher_on(
        &fc,
        &format!(
            "[selector]\nalarm_override = false\n[snapshots]\ndir = \"{}\"\nmax_count = 3\n",
            toml_path(&shots)
        ),
    );
    let addr = app.address();
    wait_all_live(&app.address(), 2);

    // cam2 is not on screen; its newest frame is there anyway.
    for (id, index) in [("cam2", 1u8), ("cam1", 0u8)] {
        let res = http(
            "GET",
            &addr,
            &format!("/api/cameras/{id}/snapshot.jpg"),
            None,
        )
        .unwrap();
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        let (w, h, stamp) = decode_stamp(&res.body).unwrap();
        assert_eq!((w, h), (320, 192));
        assert_eq!(stamp.expect("a readable stamp").camera, index, "{id}");
    }
    let res = http("GET", &addr, "/api/cameras/nope/snapshot.jpg", None).unwrap();
    assert_eq!(res.status, 404);
    assert!(res.json().unwrap()["error"].is_string());

    fc.control("cam2", "motion/on").unwrap();
    wait_alarm(&addr, "cam2", true);
    let saved = wait_for(T, || {
        let files: Vec<PathBuf> = std::fs::read_dir(&shots)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with("-cam2.jpg"))
            .collect();
        files.into_iter().next()
    })
    .expect("an alarm snapshot of cam2 is saved");
    let (_, _, stamp) = decode_stamp(&std::fs::read(&saved).unwrap()).unwrap();
    assert_eq!(stamp.expect("a readable stamp").camera, 1);
    let sel = get_json(&addr, "/api/selection").unwrap();
    assert_eq!(sel["camera"], "cam1", "the alarm did not take the screen");
    fc.control("cam2", "motion/off").unwrap();
}

#[test]
fn event_history_survives_a_restart() {
    let fc = small_cameras(2);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let extra = format!(
        "[selector]\nalarm_hold_ms = 200\n[history]\nfile = \"{}\"\n",
        toml_path(&file)
    );
    let mut app = launcher_on(&fc, &extra);
    let addr = app.address();
    wait_all_live(&app.address(), 2);
    fc.control("cam2", "motion/on").unwrap();
    wait_alarm(&addr, "cam2", true);
    fc.control("cam2", "motion/off").unwrap();
    wait_alarm(&addr, "cam2", false);

    let events = wait_for(T, || {
        let h = get_json(&addr, "/api/events/history?limit=100")?;
        let has = |f: &dyn Fn(&serde_json::Value) -> bool| h.as_array().unwrap().iter().any(f);
        (has(&|e| e["type"] == "alarm" && e["camera"] == "cam2" && e["active"] == false)
            && has(&|e| e["type"] == "switch" && e["camera"] == "cam2")
            && has(&|e| e["type"] == "camera" && e["state"] == "live"))
        .then_some(h)
    })
    .expect("alarm, switch and camera events in the history");
    let events = events.as_array().unwrap().clone();
    let alarm_on = events
        .iter()
        .find(|e| e["type"] == "alarm" && e["active"] == true)
        .expect("the alarm's start")
        .clone();
    let ts: Vec<u64> = events.iter().map(|e| e["ts"].as_u64().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "oldest first: {ts:?}");

    let two = get_json(&addr, "/api/events/history?limit=2").unwrap();
    assert_eq!(two.as_array().unwrap().len(), 2);
    assert_eq!(two[1], *events.last().unwrap());
    for bad in ["0", "abc", "-1", "100000000"] {
        let res = http(
            "GET",
            &addr,
            &format!("/api/events/history?limit={bad}"),
            None,
        )
        .unwrap();
        assert_eq!(res.status, 400, "limit={bad}");
    }

    app.stop().unwrap();
    let lines = std::fs::read_to_string(&file).unwrap();
    assert!(lines.lines().count() >= events.len());

    let app = launcher_on(&fc, &extra);
    let h = get_json(&app.address(), "/api/events/history?limit=1000").unwrap();
    assert!(
        h.as_array().unwrap().contains(&alarm_on),
        "the alarm from before the restart is still there"
    );
}

/// A mosquitto broker on loopback, stopped on drop.
struct Broker {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

fn mosquitto_binary() -> PathBuf {
    let find = || {
        ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
    };
    if let Some(p) = find() {
        return p;
    }
    let status = Command::new("bash")
        .arg(repo_root().join("scripts/setup.sh"))
        .arg("mosquitto")
        .stdin(Stdio::null())
        .status()
        .expect("running scripts/setup.sh");
    assert!(status.success(), "scripts/setup.sh mosquitto failed");
    find().expect("mosquitto is installed")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Broker {
    fn start(port: u16) -> Broker {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("mosquitto.conf");
        // No persistence: a restarted broker has lost every retained message.
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
        )
        .unwrap();
        let child = Command::new(mosquitto_binary())
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto starts");
        let up = wait_for(T, || TcpStream::connect(("127.0.0.1", port)).ok());
        assert!(up.is_some(), "mosquitto listens on {port}");
        Broker {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A subscriber that collects the latest payload of every topic it sees.
struct Subscriber {
    client: rumqttc::Client,
    seen: mpsc::Receiver<(String, String, bool)>,
    latest: HashMap<String, (String, bool)>,
}

impl Subscriber {
    fn connect(port: u16, topics: &[&str]) -> Subscriber {
        let id = format!("camwall-test-{}", free_port());
        let mut opts = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
        opts.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut connection) = rumqttc::Client::new(opts, 64);
        for t in topics {
            client.subscribe(*t, rumqttc::QoS::AtLeastOnce).unwrap();
        }
        let (tx, seen) = mpsc::channel();
        std::thread::spawn(move || {
            for event in connection.iter() {
                match event {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                        let payload = String::from_utf8_lossy(&p.payload).to_string();
                        if tx.send((p.topic.clone(), payload, p.retain)).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        });
        Subscriber {
            client,
            seen,
            latest: HashMap::new(),
        }
    }

    /// Waits until `topic`'s latest payload satisfies `f`.
    fn wait(&mut self, topic: &str, f: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + T;
        loop {
            if let Some((p, _)) = self.latest.get(topic) {
                if f(p) {
                    return p.clone();
                }
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.seen.recv_timeout(left) {
                Ok((t, p, retain)) => {
                    self.latest.insert(t, (p, retain));
                }
                Err(_) => panic!(
                    "{topic}: no matching payload; latest: {:?}",
                    self.latest.get(topic)
                ),
            }
        }
    }

    fn publish(&self, topic: &str, payload: &[u8]) {
        self.client
            .publish(topic, rumqttc::QoS::AtLeastOnce, false, payload.to_vec())
            .unwrap();
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.client.disconnect();
    }
}

#[test]
fn mqtt_state_commands_discovery_and_a_broker_restart() {
    let broker = Broker::start(free_port());
    let port = broker.port;
    let fc = small_cameras(2);
    let mut app = launcher_on(
        &fc,
        &format!(
            "[selector]\nalarm_override = false\n[mqtt]\nbroker = \"127.0.0.1:{port}\"\nprefix = \"test/wall\"\nclient_id = \"camwall-{port}\"\n"
        ),
    );
    let addr = app.address();
    wait_all_live(&app.address(), 2);

    let mut sub = Subscriber::connect(port, &["test/wall/#", "homeassistant/#"]);
    sub.wait("test/wall/status", |p| p == "online");
    sub.wait("test/wall/camera/cam1/state", |p| p == "live");
    sub.wait("test/wall/camera/cam2/state", |p| p == "live");
    sub.wait("test/wall/camera/cam2/alarm", |p| p == "OFF");
    sub.wait("test/wall/selection", |p| p == "cam1");
    for cam in ["cam1", "cam2"] {
        let config = sub.wait(
            &format!("homeassistant/binary_sensor/camwall_test_wall/{cam}_alarm/config"),
            |_| true,
        );
        let config: serde_json::Value = serde_json::from_str(&config).unwrap();
        assert_eq!(
            config["state_topic"],
            format!("test/wall/camera/{cam}/alarm")
        );
        assert_eq!(config["device_class"], "motion");
        assert_eq!(config["availability_topic"], "test/wall/status");
        let state = sub.wait(
            &format!("homeassistant/sensor/camwall_test_wall/{cam}_state/config"),
            |_| true,
        );
        let state: serde_json::Value = serde_json::from_str(&state).unwrap();
        assert_eq!(
            state["state_topic"],
            format!("test/wall/camera/{cam}/state")
        );
    }
    let select = sub.wait(
        "homeassistant/select/camwall_test_wall/selection/config",
        |_| true,
    );
    let select: serde_json::Value = serde_json::from_str(&select).unwrap();
    assert_eq!(select["command_topic"], "test/wall/selection/set");
    assert_eq!(select["options"], serde_json::json!(["cam1", "cam2"]));
    assert!(sub.latest["test/wall/status"].1, "the status is retained");

    // Bad commands are ignored; a good one selects.
    sub.publish("test/wall/selection/set", b"nope");
    sub.publish("test/wall/selection/set", &[b'x'; 4000]);
    sub.publish("test/wall/selection/set", b"cam2");
    sub.wait("test/wall/selection", |p| p == "cam2");
    assert_eq!(get_json(&addr, "/api/selection").unwrap()["camera"], "cam2");

    fc.control("cam1", "motion/on").unwrap();
    sub.wait("test/wall/camera/cam1/alarm", |p| p == "ON");
    let event = sub.wait("test/wall/events", |p| p.contains("\"alarm\""));
    assert!(event.contains("\"camera\":\"cam1\""), "{event}");

    // The broker goes away; meanwhile the alarm ends. The restarted broker has lost every
    // retained message, and gets the latest state again.
    drop(sub);
    drop(broker);
    fc.control("cam1", "motion/off").unwrap();
    wait_alarm(&addr, "cam1", false);
    let broker = Broker::start(port);
    let mut sub = Subscriber::connect(port, &["test/wall/#", "homeassistant/#"]);
    sub.wait("test/wall/camera/cam1/alarm", |p| p == "OFF");
    sub.wait("test/wall/selection", |p| p == "cam2");
    sub.wait("test/wall/status", |p| p == "online");
    sub.wait(
        "homeassistant/select/camwall_test_wall/selection/config",
        |_| true,
    );
    // What a newcomer gets is the retained state.
    drop(sub);
    let mut sub = Subscriber::connect(port, &["test/wall/#"]);
    sub.wait("test/wall/camera/cam1/alarm", |p| p == "OFF");
    sub.wait("test/wall/selection", |p| p == "cam2");
    assert!(sub.latest["test/wall/camera/cam1/alarm"].1, "retained");
    assert!(sub.latest["test/wall/selection"].1, "retained");

    // Commands work on the new connection too.
    sub.publish("test/wall/selection/set", b"cam1");
    sub.wait("test/wall/selection", |p| p == "cam1");

    // camwall going away leaves its last will.
    app.stop().unwrap();
    sub.wait("test/wall/status", |p| p == "offline");
    drop(broker);
}

/// A tiny HTTP server that answers 503 to the first request and 200 to the others, and hands
/// out each request's JSON body.
fn webhook_receiver() -> (String, mpsc::Receiver<serde_json::Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            stream.set_read_timeout(Some(T)).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0u8; len];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let status = if n == 0 {
                "503 Service Unavailable"
            } else {
                "200 OK"
            };
            let _ = stream.write_all(
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
            let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            assert!(request_line.starts_with("POST /hook "), "{request_line}");
            if tx.send((n, json)).is_err() {
                return;
            }
        }
    });
    let (out_tx, out) = mpsc::channel();
    std::thread::spawn(move || {
        for (n, json) in rx {
            // The first (refused) delivery is retried: only delivered ones count.
            if n > 0 && out_tx.send(json).is_err() {
                return;
            }
        }
    });
    (url, out)
}

/// A receiver that accepts connections and never answers.
fn silent_receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/silent", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(16) {
            held.push(stream);
        }
    });
    url
}

/// Waits for the delivery of `camera`'s alarm event with `active`, in any order: `seen` keeps
/// the deliveries received so far.
fn wait_alarm_event(
    received: &mpsc::Receiver<serde_json::Value>,
    seen: &mut Vec<serde_json::Value>,
    camera: &str,
    active: bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + T;
    loop {
        if let Some(e) = seen
            .iter()
            .find(|e| e["camera"] == camera && e["active"] == active)
        {
            return e.clone();
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let e = received
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("{camera} active={active} is delivered; got {seen:?}"));
        seen.push(e);
    }
}

#[test]
fn webhooks_get_alarm_start_and_end_with_retries() {
    let (url, received) = webhook_receiver();
    let dead = format!("http://127.0.0.1:{}/nobody", free_port());
    let silent = silent_receiver();
    let fc = small_cameras(2);
    let app = launcher_on(
        &fc,
        &format!(
            "token = \"t0k\"\n\
             [[webhook]]\nurl = \"{url}\"\nretries = 2\ntimeout_ms = 2000\n\
             [[webhook]]\nurl = \"{dead}\"\nretries = 1\n\
             [[webhook]]\nurl = \"{silent}\"\nretries = 0\ntimeout_ms = 60000\nqueue = 1\n"
        ),
    );
    let addr = app.address();
    let cams = || {
        let res = http("GET", &addr, "/api/cameras?token=t0k", None).ok()?;
        let v = res.json().ok()?;
        Some(v.as_array()?.clone())
    };
    let live = wait_for(T, || {
        (cams()?.iter().filter(|c| c["state"] == "live").count() == 2).then_some(())
    });
    assert!(live.is_some(), "both cameras live");

    fc.control("cam2", "motion/on").unwrap();
    fc.control("cam1", "motion/on").unwrap();
    let mut seen = Vec::new();
    let start = wait_alarm_event(&received, &mut seen, "cam2", true);
    assert_eq!(start["event"], "alarm");
    assert_eq!(start["name"], "Camera 2");
    assert_eq!(start["kind"], "motion");
    assert_eq!(start["snapshot"], "/api/cameras/cam2/snapshot.jpg");
    wait_alarm_event(&received, &mut seen, "cam1", true);
    fc.control("cam2", "motion/off").unwrap();
    fc.control("cam1", "motion/off").unwrap();
    let end = wait_alarm_event(&received, &mut seen, "cam2", false);
    assert!(end["ts"].as_u64() > start["ts"].as_u64());
    wait_alarm_event(&received, &mut seen, "cam1", false);

    // The dead receiver's events failed after their tries; the silent one holds one event in
    // flight and one in its queue, and the rest were dropped; nothing else was held up.
    let counted = wait_for(T, || {
        let res = http("GET", &addr, "/metrics?token=t0k", None).ok()?;
        let text = String::from_utf8(res.body).ok()?;
        let s = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).ok()?;
        let count = |u: &str, r: &str| {
            metric(
                &s,
                "camwall_webhook_events_total",
                &[("url", u), ("result", r)],
            )
        };
        (count(&url, "delivered")? == 4.0
            && count(&dead, "failed")? == 4.0
            && count(&silent, "dropped")? == 2.0)
            .then_some(())
    });
    assert!(
        counted.is_some(),
        "deliveries, failures and drops are counted"
    );
    assert_eq!(cams().unwrap().len(), 2);
}

fn metric(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(h) => h.iter().map(|c| c.count).fold(0.0, f64::max),
            prometheus_parse::Value::Summary(_) => f64::NAN,
        })
}

fn scrape(addr: &str, token: &str) -> prometheus_parse::Scrape {
    let res = http_with_headers(
        "GET",
        addr,
        "/metrics",
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    )
    .unwrap();
    assert_eq!(res.status, 200);
    let text = String::from_utf8(res.body).unwrap();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    // Every sample line is one the parser understood.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap();
        let base = name.strip_suffix("_bucket").unwrap_or(name);
        assert!(
            scrape
                .samples
                .iter()
                .any(|s| s.metric == name || s.metric == base),
            "{line}"
        );
    }
    scrape
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_count_what_happens() {
    let fc = small_cameras(2);
    let app = launcher_on(&fc, "token = \"t0k\"\n");
    let addr = app.address();
    let mut viewer = Viewer::connect(&addr, Some("t0k")).await.unwrap();
    viewer.frame_of("cam1", 0, T).await.unwrap();

    for path in [
        "/metrics",
        "/api/events/history",
        "/api/cameras/cam1/snapshot.jpg",
    ] {
        let res = http("GET", &addr, path, None).unwrap();
        assert_eq!(res.status, 401, "{path}");
        let ok = http("GET", &addr, &format!("{path}?token=t0k"), None).unwrap();
        assert_eq!(ok.status, 200, "{path}");
    }

    let res = http_with_headers(
        "PUT",
        &addr,
        "/api/selection",
        &[("Authorization", "Bearer t0k")],
        Some(r#"{"camera":"cam2"}"#),
    )
    .unwrap();
    assert_eq!(res.status, 200);
    viewer.frame_of("cam2", 1, T).await.unwrap();

    let s = tokio::task::spawn_blocking(move || {
        wait_for(T, || {
            let s = scrape(&addr, "t0k");
            let timed = metric(&s, "camwall_switch_latency_seconds_count", &[])?;
            let live = metric(
                &s,
                "camwall_camera_state",
                &[("camera", "cam2"), ("state", "live")],
            )?;
            // The frame rate is measured over a second: the first window may still be empty.
            let fps = ["cam1", "cam2"]
                .map(|c| metric(&s, "camwall_camera_fps", &[("camera", c)]).unwrap_or(0.0));
            (timed >= 1.0 && live == 1.0 && fps.iter().all(|f| *f > 0.0)).then_some(s)
        })
    })
    .await
    .unwrap()
    .expect("the switch is timed and both cameras are live and measured");

    for cam in ["cam1", "cam2"] {
        let l = [("camera", cam)];
        assert!(
            metric(&s, "camwall_camera_fps", &l).unwrap() > 0.0,
            "{cam} fps"
        );
        assert!(metric(&s, "camwall_camera_frames_total", &l).unwrap() > 0.0);
        assert_eq!(
            metric(&s, "camwall_camera_decode_errors_total", &l),
            Some(0.0)
        );
        assert_eq!(metric(&s, "camwall_camera_reconnects_total", &l), Some(0.0));
        assert_eq!(metric(&s, "camwall_camera_alarms_total", &l), Some(0.0));
        assert_eq!(metric(&s, "camwall_camera_alarm", &l), Some(0.0));
        assert_eq!(
            metric(
                &s,
                "camwall_camera_state",
                &[("camera", cam), ("state", "offline")]
            ),
            Some(0.0)
        );
    }
    assert!(metric(&s, "camwall_switches_total", &[("reason", "user")]).unwrap() >= 1.0);
    assert_eq!(metric(&s, "camwall_viewers", &[]), Some(1.0));
    assert!(metric(&s, "camwall_frames_sent_total", &[]).unwrap() >= 2.0);
    assert!(metric(&s, "camwall_frames_dropped_total", &[]).is_some());
    assert!(metric(&s, "camwall_bytes_sent_total", &[]).unwrap() > 1000.0);
    drop(viewer);
}
