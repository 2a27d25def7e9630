// SPDX-License-Identifier: MIT OR Apache-2.0

//! `mjpegwssink` with real sockets: WebSocket viewers (tokio-tungstenite), plain HTTP for
//! `/snapshot.jpg` and `/mjpeg`. Timeouts here only stop a broken build from hanging; nothing
//! asserts how fast anything is.

use std::sync::{Once, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use gst::prelude::*;
use gstcamwall::mjpegwssink::{routes, Envelope, FrameFeed, MjpegWsSink, RouteOptions};
use gstcamwall::protocol::{self, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const PATIENCE: Duration = Duration::from_secs(20);

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstcamwall::plugin_register_static().unwrap();
    });
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Real JPEGs from `videotestsrc ! jpegenc`.
fn encode_jpegs(pattern: &str, width: u32, height: u32, count: u32) -> Vec<Vec<u8>> {
    let desc = format!(
        "videotestsrc pattern={pattern} num-buffers={count} \
         ! video/x-raw,width={width},height={height} ! jpegenc quality=90 \
         ! appsink name=out sync=false"
    );
    let pipeline = gst::parse::launch(&desc)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let sink = pipeline
        .by_name("out")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut out = Vec::new();
    while let Ok(sample) = sink.pull_sample() {
        let buf = sample.buffer().unwrap();
        out.push(buf.map_readable().unwrap().to_vec());
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(out.len(), count as usize);
    out
}

fn small_jpegs() -> &'static [Vec<u8>] {
    static J: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    J.get_or_init(|| encode_jpegs("ball", 160, 120, 6))
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A harness around a sink with its own server on a free port.
fn harness(props: &[(&str, glib::Value)]) -> (gst_check::Harness, MjpegWsSink) {
    let sink = gst::ElementFactory::make("mjpegwssink")
        .property("port", 0u32)
        // The harness expects play() to complete at once, without prerolling.
        .property("async", false)
        .build()
        .unwrap();
    for (name, value) in props {
        sink.set_property_from_value(name, value);
    }
    let mut h = gst_check::Harness::with_element(&sink, Some("sink"), None);
    h.play();
    h.set_src_caps_str("image/jpeg");
    (h, sink.downcast().unwrap())
}

fn push_jpeg(h: &mut gst_check::Harness, data: &[u8]) {
    assert_eq!(
        h.push(gst::Buffer::from_slice(data.to_vec())),
        Ok(gst::FlowSuccess::Ok)
    );
}

fn port_of(sink: &MjpegWsSink) -> u16 {
    sink.bound_port().expect("the server runs")
}

async fn ws_connect(port: u16, path_and_query: &str) -> Ws {
    let url = format!("ws://127.0.0.1:{port}{path_and_query}");
    let (ws, _) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect in time")
        .expect("websocket handshake");
    ws
}

/// `n` viewers of `/ws`, once the sink counts them all.
async fn connect_viewers(sink: &MjpegWsSink, n: usize) -> Vec<Ws> {
    let port = port_of(sink);
    let mut viewers = Vec::new();
    for _ in 0..n {
        viewers.push(ws_connect(port, "/ws").await);
    }
    until("viewers counted", || {
        sink.property::<u32>("clients") == n as u32
    })
    .await;
    viewers
}

/// The next text message; panics on close or timeout.
async fn next_text(ws: &mut Ws) -> String {
    loop {
        let m = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("a message in time")
            .expect("socket open")
            .expect("no socket error");
        match m {
            tungstenite::Message::Text(t) => return t.to_string(),
            tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => continue,
            other => panic!("unexpected message {other:?}"),
        }
    }
}

/// (seq, camera, base64) of the next frame message, skipping other messages.
async fn next_frame(ws: &mut Ws) -> (u64, Option<String>, String) {
    loop {
        let text = next_text(ws).await;
        if let Message::Frame(f) = Message::from_json(&text).expect("valid protocol message") {
            return (f.seq, f.camera.map(|c| c.to_string()), f.jpeg.to_string());
        }
    }
}

/// A motion alarm of `cam2`, as motionalarm sends it downstream.
fn cam2_motion(active: bool, level: f64) -> gstcamwall::messages::Alarm {
    gstcamwall::messages::Alarm {
        camera_id: "cam2".into(),
        kind: "motion".into(),
        active,
        level,
        running_time: None,
    }
}

/// Waits (bounded) until `cond` holds.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The status line, headers and body of a plain HTTP/1.1 GET.
async fn http_get(port: u16, path: &str, extra: &str) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, s.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head[9..12].parse().unwrap();
    (status, head, raw[split + 4..].to_vec())
}

fn refused_status(err: tungstenite::Error) -> (u16, String) {
    match err {
        tungstenite::Error::Http(res) => (
            res.status().as_u16(),
            String::from_utf8_lossy(res.body().as_deref().unwrap_or_default()).to_string(),
        ),
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

#[test]
fn new_viewer_gets_the_newest_frame_at_once() {
    init();
    rt().block_on(async {
        let (mut h, sink) = harness(&[]);
        let jpegs = small_jpegs();
        for j in &jpegs[..3] {
            push_jpeg(&mut h, j);
        }
        // Nothing is pushed after the viewer connects: it must get frame 3 without waiting.
        let mut ws = ws_connect(port_of(&sink), "/ws").await;
        let text = next_text(&mut ws).await;
        let Message::Frame(f) = Message::from_json(&text).unwrap() else {
            panic!("expected a frame, got {text}");
        };
        assert_eq!(f.seq, 3);
        assert_eq!(f.jpeg, b64(&jpegs[2]));
        assert_eq!((f.width, f.height), (Some(160), Some(120)));
        assert_eq!(f.camera, None);
        assert!(f.ts > 0);
    });
}

#[test]
fn many_viewers_get_the_same_frames_encoded_once() {
    init();
    rt().block_on(async {
        let (mut h, sink) = harness(&[]);
        let mut viewers = connect_viewers(&sink, 6).await;

        let jpegs = small_jpegs();
        let mut seen = vec![Vec::new(); viewers.len()];
        for (i, j) in jpegs.iter().enumerate() {
            push_jpeg(&mut h, j);
            for (v, ws) in viewers.iter_mut().enumerate() {
                let (seq, _, data) = next_frame(ws).await;
                assert_eq!(seq, i as u64 + 1);
                seen[v].push(data);
            }
        }
        let expected: Vec<String> = jpegs.iter().map(|j| b64(j)).collect();
        for s in &seen {
            assert_eq!(s, &expected);
        }
        let feed = sink.feed();
        assert_eq!(feed.frames_encoded(), jpegs.len() as u64);
        // A viewer may read a frame a moment before the server counts it as sent.
        let expected_sent = (jpegs.len() * viewers.len()) as u64;
        until("every frame counted", || {
            sink.property::<u64>("frames-sent") == expected_sent
        })
        .await;
        assert_eq!(sink.property::<u64>("frames-dropped"), 0);
    });
}

/// More viewers than the publishing thread writes to itself, so that both ways of serving run:
/// frames come in order and never twice, messages in order and all of them, and everyone ends
/// on the newest frame, with alarms pushed between the frames.
#[test]
fn frames_and_messages_interleaved_reach_every_viewer_in_order() {
    init();
    rt().block_on(async {
        let (mut h, sink) = harness(&[]);
        let sockets = connect_viewers(&sink, gstcamwall::mjpegwssink::DIRECT_VIEWERS + 2).await;

        // Fewer alarms than a viewer's message queue holds: none may be skipped.
        const ROUNDS: usize = 40;
        let jpegs = small_jpegs();
        let readers: Vec<_> = sockets
            .into_iter()
            .map(|mut ws| {
                tokio::spawn(async move {
                    let (mut seqs, mut levels, mut last) = (Vec::new(), Vec::new(), None);
                    while levels.len() < ROUNDS || seqs.last() != Some(&(ROUNDS as u64)) {
                        match Message::from_json(&next_text(&mut ws).await).unwrap() {
                            Message::Frame(f) => {
                                seqs.push(f.seq);
                                last = Some(f.jpeg.to_string());
                            }
                            Message::Alarm(a) => levels.push(a.level),
                            _ => {}
                        }
                    }
                    (seqs, levels, last)
                })
            })
            .collect();
        for i in 0..ROUNDS {
            push_jpeg(&mut h, &jpegs[i % jpegs.len()]);
            assert!(h.push_event(cam2_motion(i % 2 == 0, i as f64 / 100.0).to_event()));
            if i % 8 == 0 {
                tokio::task::yield_now().await;
            }
        }
        let expected_levels: Vec<f64> = (0..ROUNDS).map(|i| i as f64 / 100.0).collect();
        for reader in readers {
            let (seqs, levels, last) = tokio::time::timeout(PATIENCE, reader)
                .await
                .expect("every viewer done in time")
                .unwrap();
            assert!(
                seqs.windows(2).all(|w| w[0] < w[1]),
                "frames out of order or twice: {seqs:?}"
            );
            assert_eq!(levels, expected_levels);
            assert_eq!(last, Some(b64(&jpegs[(ROUNDS - 1) % jpegs.len()])));
        }
    });
}

#[test]
fn base64_is_computed_once_per_frame_whatever_the_viewers() {
    init();
    rt().block_on(async {
        let (mut h, sink) = harness(&[("envelope", Envelope::None.to_value())]);
        let port = port_of(&sink);
        let mut viewers = Vec::new();
        for _ in 0..4 {
            viewers.push(ws_connect(port, "/ws").await);
        }
        until("4 viewers counted", || sink.property::<u32>("clients") == 4).await;
        let jpegs = small_jpegs();
        for j in &jpegs[..3] {
            push_jpeg(&mut h, j);
            for ws in viewers.iter_mut() {
                // envelope=none: the bare base64, nothing else.
                assert_eq!(next_text(ws).await, b64(j));
            }
        }
        assert_eq!(sink.feed().frames_encoded(), 3);
        until("every frame counted", || {
            sink.property::<u64>("frames-sent") == 12
        })
        .await;
    });
}

#[test]
fn a_viewer_that_never_reads_holds_no_backlog_and_delays_no_one() {
    init();
    // Noise compresses badly: big frames fill the socket buffers quickly.
    let jpegs = encode_jpegs("snow", 640, 480, 4);
    rt().block_on(async {
        let (mut h, sink) = harness(&[]);
        let port = port_of(&sink);

        // A viewer with a tiny receive buffer that completes the handshake, then never reads.
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.set_recv_buffer_size(4096).unwrap();
        let stream = sock.connect(([127, 0, 0, 1], port).into()).await.unwrap();
        let req = format!("ws://127.0.0.1:{port}/ws")
            .into_client_request()
            .unwrap();
        let (mut stalled, _) = tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(stream))
            .await
            .unwrap();

        let mut reader = ws_connect(port, "/ws").await;
        until("2 viewers", || sink.property::<u32>("clients") == 2).await;

        const FRAMES: u64 = 120;
        let reading = tokio::spawn(async move {
            let mut last = 0;
            while last < FRAMES {
                last = next_frame(&mut reader).await.0;
            }
            last
        });
        let feed = sink.feed();
        let mut most_in_memory = 0;
        for i in 0..FRAMES {
            push_jpeg(&mut h, &jpegs[i as usize % jpegs.len()]);
            most_in_memory = most_in_memory.max(feed.frames_in_memory());
        }
        // The reading viewer reaches the last frame while the other one still sleeps.
        assert_eq!(
            tokio::time::timeout(PATIENCE, reading)
                .await
                .unwrap()
                .unwrap(),
            FRAMES
        );
        // No queue per viewer: at any moment the newest frame plus at most the one frame each
        // viewer is sending (the stalled one is stuck on one; the reader may be mid-send).
        assert!(
            most_in_memory <= 1 + 2,
            "{most_in_memory} frames held by 2 viewers"
        );
        // Once the reader is idle: the newest frame and the one the stalled viewer is stuck on.
        assert!(
            feed.frames_in_memory() <= 2,
            "{} frames held",
            feed.frames_in_memory()
        );

        // When it wakes up it skips to the newest frame instead of replaying the backlog.
        let mut received = 0;
        loop {
            let (seq, _, _) = next_frame(&mut stalled).await;
            received += 1;
            if seq == FRAMES {
                break;
            }
        }
        assert!(
            received < FRAMES / 2,
            "stalled viewer replayed {received} frames"
        );
        assert!(sink.property::<u64>("frames-dropped") >= FRAMES / 2);
    });
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn viewers_coming_and_going_leave_nothing_behind() {
    init();
    rt().block_on(async {
        let (mut h, sink) = harness(&[]);
        let port = port_of(&sink);
        push_jpeg(&mut h, &small_jpegs()[0]);
        // Warm up the runtime threads and allocations before counting.
        let mut ws = ws_connect(port, "/ws").await;
        next_frame(&mut ws).await;
        ws.close(None).await.unwrap();
        drop(ws);
        until("no viewer", || sink.property::<u32>("clients") == 0).await;
        let fds_before = open_fds();

        for i in 0..40 {
            let mut ws = ws_connect(port, "/ws").await;
            next_frame(&mut ws).await;
            if i % 2 == 0 {
                ws.close(None).await.unwrap();
                while let Some(Ok(_)) = ws.next().await {}
            }
            // Odd rounds drop the TCP connection without a close frame.
            drop(ws);

            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            s.write_all(b"GET /mjpeg HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut buf = [0u8; 256];
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0);
            drop(s);
            push_jpeg(&mut h, &small_jpegs()[i % 6]);
        }
        until("every viewer gone", || sink.property::<u32>("clients") == 0).await;
        until("sockets closed", || open_fds() <= fds_before).await;
        assert!(sink.feed().frames_in_memory() <= 1);

        // And the server still serves.
        let mut ws = ws_connect(port, "/ws").await;
        assert_eq!(next_frame(&mut ws).await.0, 41);
    });
}

#[test]
fn max_clients_refuses_extra_viewers_with_503() {
    init();
    rt().block_on(async {
        let (_h, sink) = harness(&[("max-clients", 2u32.to_value())]);
        let port = port_of(&sink);
        let a = ws_connect(port, "/ws").await;
        let _b = ws_connect(port, "/ws").await;
        let err = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws"))
            .await
            .unwrap_err();
        let (status, body) = refused_status(err);
        assert_eq!(status, 503);
        assert!(body.contains("too-many-clients"), "{body}");
        // /mjpeg viewers count too.
        let (status, _, _) = http_get(port, "/mjpeg", "").await;
        assert_eq!(status, 503);

        drop(a);
        until("a place is free", || sink.property::<u32>("clients") == 1).await;
        let _c = ws_connect(port, "/ws").await;
    });
}

#[test]
fn token_is_required_when_set() {
    init();
    rt().block_on(async {
        let (mut h, sink) = harness(&[("token", "s3cret".to_value())]);
        let port = port_of(&sink);
        push_jpeg(&mut h, &small_jpegs()[0]);

        for q in ["/ws", "/ws?token=wrong", "/ws?token=s3cre"] {
            let err = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}{q}"))
                .await
                .unwrap_err();
            let (status, body) = refused_status(err);
            assert_eq!(status, 401, "{q}");
            assert!(body.contains("unauthorized"), "{body}");
        }
        let mut ws = ws_connect(port, "/ws?token=s3cret").await;
        assert_eq!(next_frame(&mut ws).await.0, 1);

        let mut req = format!("ws://127.0.0.1:{port}/ws")
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("authorization", "Bearer s3cret".parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        assert_eq!(next_frame(&mut ws).await.0, 1);

        let (status, head, _) = http_get(port, "/snapshot.jpg", "").await;
        assert_eq!(status, 401);
        assert!(head
            .to_ascii_lowercase()
            .contains("www-authenticate: bearer"));
        let (status, _, body) =
            http_get(port, "/snapshot.jpg", "Authorization: Bearer s3cret\r\n").await;
        assert_eq!(status, 200);
        assert_eq!(body, small_jpegs()[0]);
        let (status, _, _) = http_get(port, "/mjpeg?token=nope", "").await;
        assert_eq!(status, 401);
    });
}

fn appsrc_pipeline(extra: &str) -> (gst::Pipeline, gst_app::AppSrc, MjpegWsSink) {
    let pipeline = gst::parse::launch(&format!(
        "appsrc name=src caps=image/jpeg format=time ! mjpegwssink name=sink port=0 {extra}"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let src = pipeline
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<MjpegWsSink>()
        .unwrap();
    (pipeline, src, sink)
}

/// Waits for the close frame and the end of the socket.
async fn expect_close(ws: &mut Ws) -> (u16, String) {
    loop {
        let m = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("close in time")
            .expect("a close frame before the end")
            .expect("a clean close, not a socket error");
        if let tungstenite::Message::Close(frame) = m {
            let frame = frame.expect("a close code");
            // The server completes the closing handshake and ends the connection.
            let end = tokio::time::timeout(PATIENCE, ws.next()).await.unwrap();
            assert!(end.is_none(), "socket still open after close: {end:?}");
            return (u16::from(frame.code), frame.reason.to_string());
        }
    }
}

#[test]
fn eos_closes_viewers_cleanly() {
    init();
    rt().block_on(async {
        let (pipeline, src, sink) = appsrc_pipeline("");
        pipeline.set_state(gst::State::Playing).unwrap();
        let port = port_of(&sink);
        src.push_buffer(gst::Buffer::from_slice(small_jpegs()[0].clone()))
            .unwrap();
        let mut ws = ws_connect(port, "/ws").await;
        assert_eq!(next_frame(&mut ws).await.0, 1);

        src.end_of_stream().unwrap();
        assert_eq!(expect_close(&mut ws).await, (1000, "end of stream".into()));
        let bus = pipeline.bus().unwrap();
        let msg = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(20),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            )
            .unwrap();
        assert!(matches!(msg.view(), gst::MessageView::Eos(_)));
        pipeline.set_state(gst::State::Null).unwrap();
    });
}

#[test]
fn stop_closes_viewers_and_the_port_is_free_again_at_once() {
    init();
    rt().block_on(async {
        let (pipeline, src, sink) = appsrc_pipeline("");
        pipeline.set_state(gst::State::Playing).unwrap();
        let port = port_of(&sink);
        src.push_buffer(gst::Buffer::from_slice(small_jpegs()[0].clone()))
            .unwrap();
        let mut ws = ws_connect(port, "/ws").await;
        assert_eq!(next_frame(&mut ws).await.0, 1);
        let mut mjpeg = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        mjpeg
            .write_all(b"GET /mjpeg HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        until("the /mjpeg viewer is served", || {
            sink.property::<u32>("clients") == 2
        })
        .await;

        // `set_state` blocks until stop() returned; run it off the runtime.
        let p = pipeline.clone();
        tokio::task::spawn_blocking(move || p.set_state(gst::State::Null).unwrap())
            .await
            .unwrap();
        assert_eq!(sink.bound_port(), None);
        assert_eq!(expect_close(&mut ws).await, (1001, "server stopped".into()));
        // The /mjpeg response ends (chunked terminator) and the connection closes.
        let mut rest = Vec::new();
        tokio::time::timeout(PATIENCE, mjpeg.read_to_end(&mut rest))
            .await
            .unwrap()
            .unwrap();
        assert!(rest.ends_with(b"0\r\n\r\n"), "mjpeg did not end cleanly");

        // The same port again, at once, in a new pipeline.
        let (pipeline2, _src2, sink2) = appsrc_pipeline("");
        sink2.set_property("port", u32::from(port));
        pipeline2.set_state(gst::State::Playing).unwrap();
        assert_eq!(sink2.bound_port(), Some(port));
        let _ws = ws_connect(port, "/ws").await;
        pipeline2.set_state(gst::State::Null).unwrap();
    });
}

#[test]
fn a_port_in_use_is_an_error_from_start() {
    init();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (pipeline, _src, sink) = appsrc_pipeline("");
    sink.set_property("port", u32::from(port));
    assert!(pipeline.set_state(gst::State::Playing).is_err());
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(gst::ClockTime::from_seconds(5), &[gst::MessageType::Error])
        .unwrap();
    let gst::MessageView::Error(err) = msg.view() else {
        unreachable!()
    };
    assert!(err.error().matches(gst::ResourceError::OpenReadWrite));
    pipeline.set_state(gst::State::Null).unwrap();
}

#[test]
fn an_invalid_jpeg_is_dropped_with_a_warning_and_the_stream_goes_on() {
    init();
    rt().block_on(async {
        let (pipeline, src, sink) = appsrc_pipeline("");
        let bus = pipeline.bus().unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let port = port_of(&sink);
        let mut ws = ws_connect(port, "/ws").await;
        let jpegs = small_jpegs();

        src.push_buffer(gst::Buffer::from_slice(jpegs[0].clone()))
            .unwrap();
        assert_eq!(next_frame(&mut ws).await, (1, None, b64(&jpegs[0])));

        let mut truncated = jpegs[1].clone();
        truncated.truncate(truncated.len() / 2);
        for bad in [b"not a jpeg at all".to_vec(), truncated, Vec::new()] {
            src.push_buffer(gst::Buffer::from_slice(bad)).unwrap();
        }
        src.push_buffer(gst::Buffer::from_slice(jpegs[2].clone()))
            .unwrap();
        // The bad frames never reach the viewer; the next good one does.
        assert_eq!(next_frame(&mut ws).await, (2, None, b64(&jpegs[2])));

        let msg = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(20),
                &[gst::MessageType::Warning, gst::MessageType::Error],
            )
            .expect("a warning on the bus");
        let gst::MessageView::Warning(w) = msg.view() else {
            panic!("expected a warning, got {msg:?}");
        };
        assert!(w.error().matches(gst::StreamError::Decode));
        assert_eq!(msg.src().map(|s| s.name()), Some("sink".into()));
        let (_, state, _) = pipeline.state(gst::ClockTime::ZERO);
        assert_eq!(state, gst::State::Playing);
        pipeline.set_state(gst::State::Null).unwrap();
    });
}

#[test]
fn snapshot_and_mjpeg_serve_the_newest_frame() {
    init();
    rt().block_on(async {
        let (mut h, sink) = harness(&[]);
        let port = port_of(&sink);
        let jpegs = small_jpegs();

        let (status, _, _) = http_get(port, "/snapshot.jpg", "").await;
        assert_eq!(status, 503, "no frame yet");
        push_jpeg(&mut h, &jpegs[0]);
        push_jpeg(&mut h, &jpegs[1]);
        let (status, head, body) = http_get(port, "/snapshot.jpg", "").await;
        assert_eq!(status, 200);
        assert!(head
            .to_ascii_lowercase()
            .contains("content-type: image/jpeg"));
        assert_eq!(body, jpegs[1], "{head}");

        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        // HTTP/1.0: the parts come as they are, without chunked transfer encoding.
        s.write_all(b"GET /mjpeg HTTP/1.0\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        let head = read_until(&mut s, &mut got, b"\r\n\r\n").await;
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        assert!(head.starts_with("http/1.0 200") || head.starts_with("http/1.1 200"));
        assert!(
            head.contains("content-type: multipart/x-mixed-replace; boundary=camwallframe"),
            "{head}"
        );
        // The newest frame comes at once, as a complete part; then each new frame.
        assert_eq!(read_part(&mut s, &mut got).await, jpegs[1]);
        push_jpeg(&mut h, &jpegs[2]);
        assert_eq!(read_part(&mut s, &mut got).await, jpegs[2]);
    });
}

/// Reads until `needle`; returns what came before it and keeps the rest in `got`.
async fn read_until(s: &mut TcpStream, got: &mut Vec<u8>, needle: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; 65536];
    loop {
        if let Some(p) = got.windows(needle.len()).position(|w| w == needle) {
            let before = got[..p].to_vec();
            got.drain(..p + needle.len());
            return before;
        }
        let n = tokio::time::timeout(PATIENCE, s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "stream ended");
        got.extend_from_slice(&buf[..n]);
    }
}

/// Reads the next `multipart/x-mixed-replace` part and returns its body.
async fn read_part(s: &mut TcpStream, got: &mut Vec<u8>) -> Vec<u8> {
    let headers = read_until(s, got, b"\r\n\r\n").await;
    let headers = String::from_utf8_lossy(&headers).to_string();
    let mut lines = headers.lines().filter(|l| !l.is_empty());
    assert_eq!(lines.next(), Some("--camwallframe"));
    let mut len = None;
    for l in lines {
        let (k, v) = l.split_once(':').unwrap();
        match k.to_ascii_lowercase().as_str() {
            "content-type" => assert_eq!(v.trim(), "image/jpeg"),
            "content-length" => len = Some(v.trim().parse::<usize>().unwrap()),
            _ => {}
        }
    }
    let len = len.expect("content-length in every part");
    let mut buf = [0u8; 65536];
    while got.len() < len + 2 {
        let n = tokio::time::timeout(PATIENCE, s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "stream ended");
        got.extend_from_slice(&buf[..n]);
    }
    let body = got[..len].to_vec();
    assert_eq!(&got[len..len + 2], b"\r\n");
    got.drain(..len + 2);
    body
}

#[test]
fn camera_title_and_alarm_events_reach_viewers() {
    init();
    rt().block_on(async {
        let (mut h, sink) = harness(&[]);
        let mut ws = ws_connect(port_of(&sink), "/ws").await;
        until("viewer counted", || sink.property::<u32>("clients") == 1).await;

        let mut tags = gst::TagList::new();
        tags.make_mut()
            .add::<gst::tags::Title>(&"cam7", gst::TagMergeMode::Replace);
        assert!(h.push_event(gst::event::Tag::new(tags)));
        push_jpeg(&mut h, &small_jpegs()[0]);
        let (_, camera, _) = next_frame(&mut ws).await;
        assert_eq!(camera.as_deref(), Some("cam7"));

        assert!(h.push_event(cam2_motion(true, 0.25).to_event()));
        let text = next_text(&mut ws).await;
        let Message::Alarm(a) = Message::from_json(&text).unwrap() else {
            panic!("expected an alarm, got {text}");
        };
        assert_eq!(
            (&*a.camera, &*a.kind, a.active, a.level),
            ("cam2", "motion", true, 0.25)
        );
    });
}

#[test]
fn alarms_are_not_forwarded_when_the_application_publishes_them() {
    init();
    rt().block_on(async {
        let (mut h, sink) = harness(&[]);
        sink.set_property("forward-alarms", false);
        let mut ws = ws_connect(port_of(&sink), "/ws").await;
        until("viewer counted", || sink.property::<u32>("clients") == 1).await;
        assert!(h.push_event(cam2_motion(true, 0.25).to_event()));
        push_jpeg(&mut h, &small_jpegs()[0]);
        // The next message is the frame: the alarm was not sent.
        let text = next_text(&mut ws).await;
        assert!(
            matches!(Message::from_json(&text).unwrap(), Message::Frame(_)),
            "expected the frame, got {text}"
        );
    });
}

#[test]
fn an_application_serves_the_feed_from_its_own_server_across_rebuilds() {
    init();
    rt().block_on(async {
        // The application's server, on its own listener, with its own routes beside ours.
        let feed = FrameFeed::new();
        let api = routes(feed.clone(), RouteOptions::default());
        let app = warp::path!("health").map(|| "ok");
        use warp::Filter as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(warp::serve(api.or(app)).incoming(listener).run());

        let mut ws = ws_connect(port, "/ws").await;
        let jpegs = small_jpegs();
        for round in 0..2u64 {
            // A pipeline rebuilt each round; the viewer stays connected.
            let sink = gst::ElementFactory::make("mjpegwssink")
                .property("server-enabled", false)
                .property("async", false)
                .build()
                .unwrap()
                .downcast::<MjpegWsSink>()
                .unwrap();
            sink.set_feed(&feed);
            let mut h = gst_check::Harness::with_element(&sink, Some("sink"), None);
            h.play();
            h.set_src_caps_str("image/jpeg");
            assert_eq!(sink.bound_port(), None);
            assert_eq!(sink.feed(), feed);
            push_jpeg(&mut h, &jpegs[round as usize]);
            let (seq, _, data) = next_frame(&mut ws).await;
            assert_eq!((seq, data), (round + 1, b64(&jpegs[round as usize])));
        }
        feed.publish_message(&Message::Switch(protocol::Switch {
            camera: "cam2".into(),
            previous: "cam1".into(),
            reason: "user".into(),
            ts: protocol::unix_ms_now(),
            user_choice: Some("cam2".into()),
            wall: None,
            by: None,
        }));
        let text = next_text(&mut ws).await;
        assert!(
            matches!(Message::from_json(&text).unwrap(), Message::Switch(s) if s.camera == "cam2")
        );
        let (status, _, body) = http_get(port, "/health", "").await;
        assert_eq!((status, body), (200, b"ok".to_vec()));
        ws.send(tungstenite::Message::Close(None)).await.unwrap();
    });
}

#[test]
fn invalid_property_values_are_refused_and_the_old_value_kept() {
    init();
    let sink = gst::ElementFactory::make("mjpegwssink").build().unwrap();
    assert!(
        !sink.property::<bool>("sync"),
        "a live viewer sink does not sync"
    );
    sink.set_property("path", "no-slash");
    assert_eq!(sink.property::<String>("path"), "/ws");
    sink.set_property("path", "/live");
    assert_eq!(sink.property::<String>("path"), "/live");
    sink.set_property("address", "not an address");
    assert_eq!(sink.property::<String>("address"), "127.0.0.1");
    sink.set_property("address", "::1");
    assert_eq!(sink.property::<String>("address"), "::1");
    assert_eq!(sink.property::<u32>("bound-port"), 0);
}

#[test]
fn a_viewer_sending_huge_messages_is_cut_off_and_others_go_on() {
    init();
    rt().block_on(async {
        let (mut h, sink) = harness(&[]);
        let port = port_of(&sink);
        let mut other = ws_connect(port, "/ws").await;
        let mut hostile = ws_connect(port, "/ws").await;
        until("2 viewers", || sink.property::<u32>("clients") == 2).await;
        let _ = hostile
            .send(tungstenite::Message::binary(vec![0u8; 1 << 20]))
            .await;
        until("hostile viewer dropped", || {
            sink.property::<u32>("clients") == 1
        })
        .await;
        push_jpeg(&mut h, &small_jpegs()[0]);
        assert_eq!(next_frame(&mut other).await.0, 1);
    });
}

/// The next binary frame message, parsed; text messages (events) are skipped.
async fn next_binary(ws: &mut Ws) -> (protocol::binary::Kind, bool, u64, u32, Vec<u8>) {
    loop {
        let m = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("a message in time")
            .expect("the socket stays open")
            .expect("a good message");
        if let tungstenite::Message::Binary(data) = m {
            let (h, payload) = protocol::binary::parse(&data).expect("a binary frame message");
            return (h.kind, h.keyframe, h.seq, h.width, payload.to_vec());
        }
    }
}

#[test]
fn h264_goes_out_as_binary_and_every_viewer_starts_at_a_keyframe() {
    init();
    // A low-latency encoder whose keyframes come only when asked for (or every 10 s).
    let pipeline = gst::parse::launch(
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=25/1 \
         ! x264enc tune=zerolatency speed-preset=ultrafast bframes=0 key-int-max=250 \
         ! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au \
         ! taginject tags=\"title=cam7\" ! mjpegwssink name=sink port=0",
    )
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<MjpegWsSink>()
        .unwrap();
    rt().block_on(async {
        until("the server runs", || sink.bound_port().is_some()).await;
        let port = port_of(&sink);
        let mut first = ws_connect(port, "/ws").await;
        let (kind, key, seq, width, data) = next_binary(&mut first).await;
        assert_eq!(kind, protocol::binary::Kind::H264);
        assert!(key, "the first frame a viewer gets is a keyframe");
        assert_eq!(width, 320);
        assert!(data.starts_with(&[0, 0, 0, 1]) || data.starts_with(&[0, 0, 1]));
        // Then access units in order, none skipped.
        let mut last = seq;
        for _ in 0..20 {
            let (_, _, seq, _, _) = next_binary(&mut first).await;
            assert_eq!(seq, last + 1, "H.264 frames are never skipped");
            last = seq;
        }
        // A viewer joining two seconds into a 10 s GOP starts at once on a keyframe made for it.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut second = ws_connect(port, "/ws").await;
        let (_, key, seq, _, _) = next_binary(&mut second).await;
        assert!(key, "the joining viewer starts at a keyframe (seq {seq})");
        let (_, _, next, _, _) = next_binary(&mut second).await;
        assert_eq!(next, seq + 1);

        // keyframe-replay: a viewer joining a second after that keyframe is sent it and every
        // frame since, in order, at once (no keyframe is made for it) ...
        assert_eq!(sink.property::<u32>("keyframe-replay"), 12);
        sink.set_property("keyframe-replay", 250u32);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut third = ws_connect(port, "/ws").await;
        let (_, key, replayed, _, _) = next_binary(&mut third).await;
        assert!(key);
        assert_eq!(replayed, seq, "the replay starts at the last keyframe");
        let mut last = replayed;
        for _ in 0..30 {
            let (_, key, n, _, _) = next_binary(&mut third).await;
            assert_eq!(n, last + 1, "the replay and what follows are in order");
            assert!(!key, "no keyframe was made for a replay");
            last = n;
        }
        // ... and with 0, a keyframe is always made.
        sink.set_property("keyframe-replay", 0u32);
        let mut fourth = ws_connect(port, "/ws").await;
        let (_, key, made, _, _) = next_binary(&mut fourth).await;
        assert!(
            key && made > last,
            "a keyframe made for the viewer (seq {made})"
        );
    });
    pipeline.set_state(gst::State::Null).unwrap();
}
