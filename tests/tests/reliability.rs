// SPDX-License-Identifier: MIT OR Apache-2.0

//! Camera faults against the real launcher and real RTSP servers on loopback: a camera that
//! refuses connections, drops mid-stream, freezes, answers garbage or a truncated reply, asks for
//! credentials it was not given, or changes resolution. Each must be marked offline, retried
//! with capped backoff, come back on its own, never cost the healthy cameras a frame, and never
//! leave a frozen picture on screen pretending to be live. Each test prints a `RELIABILITY`
//! line with what it measured (RELIABILITY.md collects them).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use camwall::fakecam::{Credentials, FakeCamConfig};
use camwall::App;
use camwall_tests::viewer::{Received, Viewer};
use camwall_tests::{http, wait_for, FakeCamWithControl};
use serde_json::Value;

/// Upper bound of every wait: generous, the machine is shared.
const T: Duration = Duration::from_secs(15);
/// Frames a healthy camera may show as "missing" only because the two counters (painted at
/// the camera, counted in camwall) are read a few milliseconds apart: frames in flight.
const IN_FLIGHT: u64 = 6;

const HEALTHY: [&str; 2] = ["cam1", "cam2"];
const VICTIM: &str = "victim";

fn fakecam(n: usize, port: u16, auth: Option<Credentials>) -> FakeCamWithControl {
    let mut config = FakeCamConfig::with_cameras(n);
    config.width = 320;
    config.height = 192;
    config.port = port;
    config.auth = auth;
    FakeCamWithControl::start(config).unwrap()
}

/// A port on loopback that nothing listens on (for now).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The launcher on the healthy cameras and the victim. `on_offline = "next-live"`: this matrix
/// checks that a live camera stands in for a dead choice and that the choice comes back (the
/// default, where the dead camera stays on screen, is checked in `walls.rs`).
fn launcher(healthy: &FakeCamWithControl, victim_url: &str) -> App {
    let mut text = String::from(
        "[server]\nlisten = \"127.0.0.1:0\"\n\
         [selector]\nstall_timeout_ms = 1000\non_offline = \"next-live\"\n\
         [reconnect]\ninitial_ms = 250\nmax_ms = 1000\n",
    );
    let mut cams: Vec<(String, String)> = HEALTHY
        .iter()
        .map(|id| (id.to_string(), healthy.url(id)))
        .collect();
    cams.push((VICTIM.to_string(), victim_url.to_string()));
    for (id, url) in cams {
        text.push_str(&format!(
            "\n[[camera]]\nid = \"{id}\"\nurl = \"{url}\"\ncodec = \"h264\"\n\
             [camera.motion]\nenabled = false\n"
        ));
    }
    App::start(camwall::config::Config::parse("reliability", &text).unwrap()).unwrap()
}

fn cameras(addr: &str) -> Vec<Value> {
    http("GET", addr, "/api/cameras", None)
        .and_then(|r| r.json())
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

fn camera(addr: &str, id: &str) -> Value {
    cameras(addr)
        .into_iter()
        .find(|c| c["id"] == id)
        .unwrap_or(Value::Null)
}

/// What a WebSocket viewer saw: every event, and frames per camera.
#[derive(Default)]
struct Seen {
    events: Vec<Value>,
    frames: std::collections::HashMap<String, u64>,
    /// Frames of each camera after [`Recorder::mark`].
    frames_since_mark: std::collections::HashMap<String, u64>,
    closed: Option<String>,
}

/// A viewer on its own thread, recording what it receives until dropped.
struct Recorder {
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Recorder {
    fn start(addr: &str) -> Recorder {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (addr, s, st) = (addr.to_string(), seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut viewer = match Viewer::connect(&addr, None).await {
                    Ok(v) => v,
                    Err(e) => {
                        s.lock().unwrap().closed = Some(e.to_string());
                        return;
                    }
                };
                viewer.decode = false;
                while !st.load(Ordering::Relaxed) {
                    match viewer.next(Duration::from_millis(200)).await {
                        Ok(Received::Frame(f)) => {
                            let cam = f.camera.unwrap_or_default();
                            let mut s = s.lock().unwrap();
                            *s.frames.entry(cam.clone()).or_default() += 1;
                            *s.frames_since_mark.entry(cam).or_default() += 1;
                        }
                        Ok(Received::Event(e)) => s.lock().unwrap().events.push(e),
                        Err(e) if e.to_string().contains("nothing received") => {}
                        Err(e) => {
                            s.lock().unwrap().closed = Some(e.to_string());
                            return;
                        }
                    }
                }
            });
        });
        Recorder {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn mark(&self) {
        self.seen.lock().unwrap().frames_since_mark.clear();
    }

    fn frames_since_mark(&self, camera: &str) -> u64 {
        let s = self.seen.lock().unwrap();
        s.frames_since_mark.get(camera).copied().unwrap_or(0)
    }

    fn saw_event(&self, pred: impl Fn(&Value) -> bool) -> bool {
        self.seen.lock().unwrap().events.iter().any(pred)
    }

    fn closed(&self) -> Option<String> {
        self.seen.lock().unwrap().closed.clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Frames each healthy camera painted (at the camera) and delivered (counted by camwall).
fn healthy_counts(fc: &FakeCamWithControl, addr: &str) -> Vec<(u64, u64)> {
    let painted = fc.cams.cameras();
    let cams = cameras(addr);
    HEALTHY
        .iter()
        .map(|id| {
            let p = painted.iter().find(|c| c.id == *id).map_or(0, |c| c.frames);
            let d = cams
                .iter()
                .find(|c| c["id"] == *id)
                .and_then(|c| c["frames"].as_u64())
                .unwrap_or(0);
            (p, d)
        })
        .collect()
}

/// How a fault is injected and lifted.
struct Fault<'a> {
    name: &'a str,
    victim_url: String,
    /// The victim is faulty from the start (it never was live).
    from_start: bool,
    inject: Box<dyn FnOnce() + 'a>,
    lift: Box<dyn FnOnce() + 'a>,
    /// Checks the victim once it is back (e.g. its new size), given the launcher's address.
    check_back: Box<dyn Fn(&str) + 'a>,
}

/// Runs one fault against a launcher with two healthy cameras and the victim on screen.
fn run_fault(healthy: &FakeCamWithControl, fault: Fault<'_>) {
    let started = Instant::now();
    let app = launcher(healthy, &fault.victim_url);
    let addr = app.address();
    let viewer = Recorder::start(&addr);
    let put = http(
        "PUT",
        &addr,
        "/api/selection",
        Some(&format!(r#"{{"camera":"{VICTIM}"}}"#)),
    )
    .unwrap();
    assert_eq!(put.status, 200);

    let live = |id: &str| camera(&addr, id)["state"] == "live";
    let all_healthy_live = || HEALTHY.iter().all(|id| live(id));
    assert!(
        wait_for(T, || all_healthy_live().then_some(())).is_some(),
        "{}: the healthy cameras become live",
        fault.name
    );
    if !fault.from_start {
        assert!(
            wait_for(T, || live(VICTIM).then_some(())).is_some(),
            "{}: the victim becomes live",
            fault.name
        );
        viewer.mark();
        assert!(
            wait_for(T, || (viewer.frames_since_mark(VICTIM) > 0).then_some(())).is_some(),
            "{}: the victim is on screen",
            fault.name
        );
    }

    let before = healthy_counts(healthy, &addr);
    // A camera faulty from the start is detected from the launcher's start.
    let t0 = if fault.from_start {
        started
    } else {
        Instant::now()
    };
    (fault.inject)();
    let offline = wait_for(T, || {
        (camera(&addr, VICTIM)["state"] == "offline").then(|| t0.elapsed())
    });
    let detect = offline.unwrap_or_else(|| {
        panic!(
            "{}: the victim is marked offline: {}",
            fault.name,
            camera(&addr, VICTIM)
        )
    });
    // The viewer is told, and the picture on screen is not the dead camera's.
    assert!(
        wait_for(T, || viewer
            .saw_event(|e| e["type"] == "camera"
                && e["camera"] == VICTIM
                && e["state"] == "offline")
            .then_some(()))
        .is_some(),
        "{}: the viewer gets a camera-offline message",
        fault.name
    );
    let sel = wait_for(T, || {
        let s = http("GET", &addr, "/api/selection", None)
            .ok()?
            .json()
            .ok()?;
        (s["camera"] != VICTIM).then_some(s)
    })
    .unwrap_or_else(|| panic!("{}: the dead camera leaves the screen", fault.name));
    assert_eq!(
        sel["user_choice"], VICTIM,
        "{}: the user's choice is kept",
        fault.name
    );

    // Held down for a while: retried again and again, and the others stream on.
    let reconnects_at_fault = camera(&addr, VICTIM)["reconnects"].as_u64().unwrap_or(0);
    let hold_until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < hold_until {
        for id in HEALTHY {
            assert_eq!(
                camera(&addr, id)["state"],
                "live",
                "{}: {id} stays live",
                fault.name
            );
        }
        assert_ne!(camera(&addr, VICTIM)["state"], "live", "{}", fault.name);
        std::thread::sleep(Duration::from_millis(100));
    }
    let retries = camera(&addr, VICTIM)["reconnects"].as_u64().unwrap_or(0) - reconnects_at_fault;
    // A camera that accepts the connection and then sends nothing costs one connect timeout
    // per attempt; the others are retried every `max_ms`.
    assert!(
        retries >= 1,
        "{}: retried while down ({retries} retries in 3 s)",
        fault.name
    );

    let t1 = Instant::now();
    (fault.lift)();
    let back = wait_for(T, || live(VICTIM).then(|| t1.elapsed())).unwrap_or_else(|| {
        panic!(
            "{}: the victim comes back: {}",
            fault.name,
            camera(&addr, VICTIM)
        )
    });
    viewer.mark();
    let on_screen = wait_for(T, || {
        (viewer.frames_since_mark(VICTIM) > 0).then(|| t1.elapsed())
    })
    .unwrap_or_else(|| {
        panic!(
            "{}: the user's choice returns to the screen: {:?} {}",
            fault.name,
            http("GET", &addr, "/api/selection", None)
                .map(|r| String::from_utf8_lossy(&r.body).to_string())
                .ok(),
            camera(&addr, VICTIM)
        )
    });
    (fault.check_back)(&addr);

    let after = healthy_counts(healthy, &addr);
    let mut missed = Vec::new();
    for (i, id) in HEALTHY.iter().enumerate() {
        let painted = after[i].0 - before[i].0;
        let delivered = after[i].1 - before[i].1;
        assert!(
            delivered + IN_FLIGHT >= painted,
            "{}: {id} lost frames: painted {painted}, delivered {delivered}",
            fault.name
        );
        missed.push(format!("{id} {delivered}/{painted}"));
    }
    assert_eq!(
        viewer.closed(),
        None,
        "{}: the viewer stays connected",
        fault.name
    );
    println!(
        "RELIABILITY fault={} detect_ms={} retries_in_3s={} back_live_ms={} back_on_screen_ms={} \
         healthy_delivered/painted=[{}]",
        fault.name,
        detect.as_millis(),
        retries,
        back.as_millis(),
        on_screen.as_millis(),
        missed.join(", ")
    );
}

#[test]
fn a_camera_that_refuses_connections_is_retried_until_it_answers() {
    let healthy = fakecam(2, 0, None);
    let port = free_port();
    let revived = Mutex::new(None);
    run_fault(
        &healthy,
        Fault {
            name: "refused",
            victim_url: format!("rtsp://127.0.0.1:{port}/cam1"),
            from_start: true,
            inject: Box::new(|| {}),
            lift: Box::new(|| *revived.lock().unwrap() = Some(fakecam(1, port, None))),
            check_back: Box::new(|_| {}),
        },
    );
}

#[test]
fn a_camera_that_drops_mid_stream_comes_back() {
    let healthy = fakecam(2, 0, None);
    let victim = fakecam(1, 0, None);
    run_fault(
        &healthy,
        Fault {
            name: "dropped (offline: 404 and disconnect)",
            victim_url: victim.url("cam1"),
            from_start: false,
            inject: Box::new(|| victim.control("cam1", "offline").unwrap()),
            lift: Box::new(|| victim.control("cam1", "online").unwrap()),
            check_back: Box::new(|_| {}),
        },
    );
}

#[test]
fn a_camera_whose_server_dies_mid_stream_comes_back() {
    let healthy = fakecam(2, 0, None);
    let victim = Mutex::new(Some(fakecam(1, 0, None)));
    let url = victim.lock().unwrap().as_ref().unwrap().url("cam1");
    let port = victim.lock().unwrap().as_ref().unwrap().cams.port();
    run_fault(
        &healthy,
        Fault {
            name: "server killed",
            victim_url: url,
            from_start: false,
            inject: Box::new(|| drop(victim.lock().unwrap().take())),
            lift: Box::new(|| *victim.lock().unwrap() = Some(fakecam(1, port, None))),
            check_back: Box::new(|_| {}),
        },
    );
}

#[test]
fn a_frozen_camera_is_detected_and_comes_back() {
    let healthy = fakecam(2, 0, None);
    let victim = fakecam(1, 0, None);
    run_fault(
        &healthy,
        Fault {
            name: "frozen",
            victim_url: victim.url("cam1"),
            from_start: false,
            inject: Box::new(|| victim.control("cam1", "freeze").unwrap()),
            lift: Box::new(|| victim.control("cam1", "online").unwrap()),
            check_back: Box::new(|_| {}),
        },
    );
}

#[test]
fn a_camera_that_changes_resolution_comes_back_at_the_new_size() {
    let healthy = fakecam(2, 0, None);
    let victim = fakecam(1, 0, None);
    let cut = AtomicBool::new(false);
    run_fault(
        &healthy,
        Fault {
            name: "resolution change",
            victim_url: victim.url("cam1"),
            from_start: false,
            // Offline for the hold, so the change is seen as the fault it is; then the camera
            // comes back with another size.
            inject: Box::new(|| {
                victim.control("cam1", "resolution/480x270").unwrap();
                victim.control("cam1", "offline").unwrap();
                cut.store(true, Ordering::Relaxed);
            }),
            lift: Box::new(|| victim.control("cam1", "online").unwrap()),
            check_back: Box::new(|addr| {
                let size = wait_for(T, || {
                    let c = camera(addr, VICTIM);
                    (c["width"] == 480 && c["height"] == 270).then_some(())
                });
                assert!(
                    size.is_some(),
                    "the new size is reported: {}",
                    camera(addr, VICTIM)
                );
            }),
        },
    );
    assert!(cut.load(Ordering::Relaxed));
}

#[derive(Clone, Copy)]
enum Junk {
    /// Bytes that are not RTSP at all, then the connection is closed.
    Garbage,
    /// A reply cut off in the middle, then silence on an open connection.
    Truncated,
}

/// A TCP server on loopback that answers every connection with junk, until stopped.
struct JunkServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl JunkServer {
    fn start(kind: Junk) -> JunkServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let st = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut open = Vec::new();
            let mut served = 0u32;
            while !st.load(Ordering::Relaxed) && served < 1_000 {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        served += 1;
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
                        let mut buf = [0u8; 2048];
                        let _ = conn.read(&mut buf);
                        match kind {
                            Junk::Garbage => {
                                let junk: Vec<u8> = (0..4096u32)
                                    .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                                    .collect();
                                let _ = conn.write_all(&junk);
                            }
                            Junk::Truncated => {
                                let _ = conn.write_all(
                                    b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Type: application/sdp\r\n\
                                      Content-Length: 400\r\n\r\nv=0\r\no=- 0 0 IN IP4 127.0.0.1\r\nm=vid",
                                );
                                open.push(conn);
                            }
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        JunkServer {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for JunkServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn junk_then_camera(kind: Junk, name: &str) {
    let healthy = fakecam(2, 0, None);
    let junk = Mutex::new(Some(JunkServer::start(kind)));
    let port = junk.lock().unwrap().as_ref().unwrap().port;
    let revived = Mutex::new(None);
    run_fault(
        &healthy,
        Fault {
            name,
            victim_url: format!("rtsp://127.0.0.1:{port}/cam1"),
            from_start: true,
            inject: Box::new(|| {}),
            // The junk stops and a real camera answers on the same port.
            lift: Box::new(|| {
                drop(junk.lock().unwrap().take());
                *revived.lock().unwrap() = Some(fakecam(1, port, None));
            }),
            check_back: Box::new(|_| {}),
        },
    );
}

#[test]
fn a_camera_that_answers_garbage_is_offline_until_it_speaks_rtsp() {
    junk_then_camera(Junk::Garbage, "garbage");
}

#[test]
fn a_camera_that_sends_a_truncated_reply_is_offline_until_it_speaks_rtsp() {
    junk_then_camera(Junk::Truncated, "truncated reply");
}

#[test]
fn a_camera_that_wants_credentials_is_offline_and_its_password_never_leaks() {
    let creds = Credentials::parse("admin:hunter2-secret").unwrap();
    let healthy = fakecam(2, 0, None);
    let locked = fakecam(1, 0, Some(creds.clone()));
    let port = locked.cams.port();
    // Wrong password in the URL: refused with 401, retried, and the password never shows.
    let wrong = format!("rtsp://admin:wrong-pass-1234@127.0.0.1:{port}/cam1");
    let revived = Mutex::new(None);
    let unlocked = Mutex::new(Some(locked));
    run_fault(
        &healthy,
        Fault {
            name: "credentials refused (401)",
            victim_url: wrong,
            from_start: true,
            inject: Box::new(|| {}),
            // The camera's owner drops the password requirement.
            lift: Box::new(|| {
                drop(unlocked.lock().unwrap().take());
                *revived.lock().unwrap() = Some(fakecam(1, port, None));
            }),
            check_back: Box::new(|addr| {
                let text = camera(addr, VICTIM).to_string();
                assert!(!text.contains("wrong-pass-1234"), "{text}");
                assert!(text.contains("admin:***@"), "{text}");
            }),
        },
    );

    // With the right credentials the camera streams.
    let right = fakecam(1, 0, Some(creds));
    let url = right
        .url("cam1")
        .replace("rtsp://", "rtsp://admin:hunter2-secret@");
    let app = launcher(&healthy, &url);
    let addr = app.address();
    assert!(
        wait_for(T, || (camera(&addr, VICTIM)["state"] == "live")
            .then_some(()))
        .is_some(),
        "the right credentials let the camera in: {}",
        camera(&addr, VICTIM)
    );
    let all = http("GET", &addr, "/api/cameras", None).unwrap();
    assert!(!String::from_utf8_lossy(&all.body).contains("hunter2-secret"));
}

#[test]
fn an_element_error_outside_the_cameras_rebuilds_the_pipeline_and_viewers_stay() {
    use gst::prelude::*;
    let healthy = fakecam(2, 0, None);
    let victim = fakecam(1, 0, None);
    let app = launcher(&healthy, &victim.url("cam1"));
    let addr = app.address();
    let viewer = Recorder::start(&addr);
    assert!(
        wait_for(T, || HEALTHY
            .iter()
            .all(|id| camera(&addr, id)["state"] == "live")
            .then_some(()))
        .is_some(),
        "cameras live"
    );
    assert!(wait_for(T, || (viewer.frames_since_mark("cam1") > 0).then_some(())).is_some());
    assert_eq!(app.supervisor().builds(), 1);

    // The JPEG encoder fails, as it would on a real fault: an error message from the element.
    let sink = app.supervisor().element("sink").expect("the sink");
    let encoder = sink
        .static_pad("sink")
        .and_then(|p| p.peer())
        .and_then(|p| p.parent_element())
        .expect("the element before the sink");
    assert!(encoder.name().starts_with("jpegenc"), "{}", encoder.name());
    let t0 = Instant::now();
    encoder
        .post_message(
            gst::message::Error::builder(gst::CoreError::Failed, "injected encoder failure")
                .src(&encoder)
                .build(),
        )
        .unwrap();
    let rebuilt = wait_for(T, || (app.supervisor().builds() >= 2).then(|| t0.elapsed()))
        .expect("the pipeline is rebuilt");
    viewer.mark();
    let frames_again = wait_for(T, || {
        (viewer.frames_since_mark("cam1") > 0).then(|| t0.elapsed())
    })
    .expect("frames reach the same viewer after the rebuild");
    assert_eq!(viewer.closed(), None, "the viewer stayed connected");
    let new_sink = app.supervisor().element("sink").expect("a new sink");
    assert_ne!(new_sink, sink, "a new pipeline");
    println!(
        "RELIABILITY fault=element error (jpegenc) rebuilt_ms={} frames_again_ms={}",
        rebuilt.as_millis(),
        frames_again.as_millis()
    );
}
