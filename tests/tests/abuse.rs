// SPDX-License-Identifier: MIT OR Apache-2.0

//! Hostile and broken clients against a running launcher: viewers that never read, a thousand
//! viewers that connect and leave, junk WebSocket messages, HTTP requests left half-sent. A
//! well-behaved viewer keeps getting frames, the API keeps answering, memory stays bounded and
//! nothing crashes. Prints an `ABUSE` line with what it measured.

use std::io::Write;
use std::time::{Duration, Instant};

use camwall_tests::viewer::Viewer;
use camwall_tests::{http, launcher_on, small_cameras, wait_for};
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite;

const T: Duration = Duration::from_secs(15);
/// What the abuse may cost in resident memory once it is over. Each viewer holds at most one
/// frame reference and its socket buffers; nothing queues per viewer.
const RSS_BOUND_KB: u64 = 64 * 1024;

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_cost_bounded_memory_and_never_starve_a_good_viewer() {
    let fc = small_cameras(1);
    let app = launcher_on(&fc, "");
    let addr = app.address();
    let mut good = Viewer::connect(&addr, None).await.unwrap();
    good.decode = false;
    good.next_frame(T).await.unwrap();
    let rss_before = rss_kb();

    // 20 viewers that connect and never read a byte: the server must not queue for them.
    let mut silent = Vec::new();
    for _ in 0..20 {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        silent.push(ws);
    }
    // 50 HTTP requests sent halfway and left hanging.
    let mut half = Vec::new();
    for _ in 0..50 {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.write_all(b"GET /api/cameras HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .unwrap();
        half.push(s);
    }

    // Meanwhile: 1,000 viewers connect and leave, some after sending junk, 10 at a time.
    let started = Instant::now();
    let mut good_frames = 0u64;
    for round in 0..100 {
        let mut tasks = Vec::new();
        for i in 0..10 {
            let addr = addr.clone();
            tasks.push(tokio::spawn(async move {
                let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
                    .await
                    .map_err(|e| e.to_string())?;
                match (round + i) % 4 {
                    0 => {
                        let _ = ws
                            .send(tungstenite::Message::Text("{\"type\":".into()))
                            .await;
                    }
                    1 => {
                        let _ = ws
                            .send(tungstenite::Message::Binary(vec![0xff; 1000].into()))
                            .await;
                    }
                    2 => {
                        let _ = ws.close(None).await;
                    }
                    // 3: just drop the connection, no close handshake.
                    _ => {}
                }
                Ok::<(), String>(())
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        // The good viewer keeps receiving while all this goes on.
        while let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(1), good.next_frame(T)).await
        {
            good_frames += 1;
        }
    }
    let churn = started.elapsed();
    let api = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || http("GET", &addr, "/api/cameras", None).map(|r| r.status)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(api, 200, "the API answers with 50 requests hanging");
    good.next_frame(T)
        .await
        .expect("the good viewer still gets frames");
    good_frames += 1;
    let rss_during = rss_kb();

    drop(silent);
    drop(half);
    // Closed connections are let go: memory comes back under the bound.
    let settled = wait_for(T, || {
        let now = rss_kb();
        (now < rss_before + RSS_BOUND_KB).then_some(now)
    });
    assert!(
        settled.is_some(),
        "resident memory {} KiB after the abuse, {} KiB before",
        rss_kb(),
        rss_before
    );
    let healthz = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || http("GET", &addr, "/healthz", None).map(|r| r.status)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(healthz, 200);
    println!(
        "ABUSE connect_leave=1000 silent_viewers=20 half_requests=50 churn_ms={} \
         good_viewer_frames_during={} rss_kb before={} during={} after={}",
        churn.as_millis(),
        good_frames,
        rss_before,
        rss_during,
        settled.unwrap_or(0)
    );
}

/// Sends `bytes` to `addr` as a client that then stalls, and reads until the server hangs up,
/// waiting `timeout` and 10 s more at most. Returns what it read and when the server hung up,
/// counted from `started`.
async fn stall_after(
    addr: String,
    bytes: &'static [u8],
    timeout: Duration,
    started: Instant,
) -> (std::io::Result<Vec<u8>>, Duration) {
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.write_all(bytes).unwrap();
        s.set_read_timeout(Some(timeout + Duration::from_secs(10)))
            .unwrap();
        let mut answer = Vec::new();
        let read = s.read_to_end(&mut answer).map(|_| answer);
        (read, started.elapsed())
    })
    .await
    .unwrap()
}

/// A client that sends half a request head and stalls is disconnected once the head timeout
/// passes, so such clients cannot pile up until the process runs out of file descriptors: on
/// camwall's server and on the fakecam's control endpoint, which uses the same server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_is_disconnected_after_the_head_timeout() {
    let fc = small_cameras(1);
    let app = launcher_on(&fc, "");
    let timeout = gstcamwall::http::HEADER_READ_TIMEOUT;
    let started = Instant::now();
    let half = |addr| {
        stall_after(
            addr,
            b"GET /cameras HTTP/1.1\r\nHost: x\r\nX-Slow: ",
            timeout,
            started,
        )
    };
    let (camwall, fakecam) = tokio::join!(half(app.address()), half(fc.control.clone()));
    for (server, (outcome, waited)) in [("camwall", camwall), ("fakecam control", fakecam)] {
        let rest =
            outcome.unwrap_or_else(|e| panic!("{server} kept the half-sent request open: {e}"));
        let text = String::from_utf8_lossy(&rest);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{server}: unexpected answer: {text}"
        );
        assert!(
            waited >= timeout,
            "{server}: cut off after {waited:?}, before the {timeout:?} timeout"
        );
        println!(
            "HEAD_TIMEOUT {server}: cut_off_after_ms={}",
            waited.as_millis()
        );
    }
}

/// A client that sends a request head and then trickles its body (slower than
/// `BODY_READ_TIMEOUT` allows) is answered 408 and let go, and the API keeps answering others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_body_sent_too_slowly_is_answered_408() {
    let fc = small_cameras(1);
    let app = launcher_on(&fc, "");
    let addr = app.address();
    let timeout = camwall::server::BODY_READ_TIMEOUT;
    let started = Instant::now();
    let slow = tokio::spawn(stall_after(
        addr.clone(),
        b"PUT /api/selection HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 30\r\n\r\n{\"camera\":",
        timeout,
        started,
    ));
    // Meanwhile the API answers.
    let res = tokio::task::spawn_blocking(move || http("GET", &addr, "/api/cameras", None))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let (outcome, waited) = slow.await.unwrap();
    let answer = outcome.expect("the server kept the half-sent body open");
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with("HTTP/1.1 408"),
        "unexpected answer: {text}"
    );
    assert!(text.contains("request body not sent within"), "{text}");
    assert!(
        waited >= timeout,
        "answered after {waited:?}, before the {timeout:?} timeout"
    );
    println!("BODY_TIMEOUT answered_after_ms={}", waited.as_millis());
}

/// The service restarts (systemd's `Restart=always`, compose's restart policy): the viewer is
/// told the server is going away, and connecting again to the same address gets frames.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_viewer_reconnects_to_the_same_address() {
    let fc = small_cameras(1);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("camwall-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("camwall.toml");
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n\n[[camera]]\nid = \"cam1\"\nurl = \"{}\"\ncodec = \"h264\"\n",
        fc.url("cam1")
    );
    std::fs::write(&config, text).unwrap();
    let bin = camwall_tests::profile_dir().join("camwall");
    let start = || {
        std::process::Command::new(&bin)
            .args(["run", "--config"])
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let addr = format!("127.0.0.1:{port}");
    let connect = |addr: String| async move {
        let deadline = Instant::now() + T;
        loop {
            match Viewer::connect(&addr, None).await {
                Ok(v) => return v,
                Err(e) if Instant::now() > deadline => panic!("cannot connect: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    };

    let mut first = start();
    let mut viewer = connect(addr.clone()).await;
    viewer.decode = false;
    viewer.next_frame(T).await.unwrap();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    // The page sees a close (1001, going away) or the end of the connection, then retries.
    while viewer.next_frame(T).await.is_ok() {}
    let status = first.wait().unwrap();
    assert!(status.success(), "a clean exit on SIGTERM: {status}");

    let mut second = start();
    let mut again = connect(addr.clone()).await;
    again.decode = false;
    let frame = again.next_frame(T).await;
    let _ = second.kill();
    let _ = second.wait();
    let _ = std::fs::remove_dir_all(&dir);
    frame.expect("frames after the restart");
}
