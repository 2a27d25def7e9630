// SPDX-License-Identifier: MIT OR Apache-2.0

//! A camera's sub-stream (`detect_url`): motion is detected on the small stream, the main one is
//! decoded only while something shows the camera, and a switch to it still shows a picture at
//! once (the sub-stream's) and full resolution as soon as the main stream decodes from its last
//! keyframe. Both streams are the same scene made with ffmpeg at two sizes, each served by its
//! own VLC process, as a camera serves its main and sub-streams.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use camwall_tests::clips::{Clip, VlcServer};
use camwall_tests::viewer::{Received, Viewer, ViewerFrame};
use camwall_tests::{camera_view, http, wait_for, wait_n_live};

static DIR: LazyLock<tempfile::TempDir> = LazyLock::new(|| tempfile::tempdir().unwrap());

/// The scene at `width` x `height`, 60 s, a keyframe a second.
fn serve(name: &str, width: u32, height: u32) -> VlcServer {
    let mut clip = Clip::realistic(width, height, 25);
    clip.seconds = 60;
    let path = clip
        .make(&DIR.path().join(format!("{name}.mp4")))
        .expect("ffmpeg makes the clip");
    VlcServer::start(&path, name).expect("VLC serves the clip")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The next frame the viewer receives, skipping events.
async fn next_frame(viewer: &mut Viewer) -> ViewerFrame {
    loop {
        match viewer.next(Duration::from_secs(5)).await.expect("a frame") {
            Received::Frame(f) => return f,
            Received::Event(_) => {}
        }
    }
}

#[test]
fn the_main_stream_is_decoded_only_while_shown_and_a_switch_shows_a_picture_at_once() {
    camwall_tests::init();
    let main = serve("main", 1280, 720);
    let sub = serve("sub", 320, 180);
    let other = serve("other", 320, 180);
    // The camera with a sub-stream is second: the wall shows `other` first. Alarms do not take
    // the wall over, so that the test decides what it shows.
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\
         [[camera]]\nid = \"other\"\nurl = \"{}\"\ncodec = \"h264\"\n[camera.motion]\nenabled = false\n\
         [[camera]]\nid = \"cam\"\nurl = \"{}\"\ndetect_url = \"{}\"\ncodec = \"h264\"\n\
         [[wall]]\nid = \"main\"\ncameras = [\"other\", \"cam\"]\nalarm_override = false\n",
        other.url(),
        main.url(),
        sub.url()
    );
    let config = camwall::config::Config::parse("sub.toml", &text).expect("valid config");
    let mut app = camwall::App::start(config).expect("camwall starts");
    let addr = app.address();
    wait_n_live(&addr, 2, Duration::from_secs(30));

    rt().block_on(async {
        let mut viewer = Viewer::connect(&addr, None).await.unwrap();
        // Hidden: the camera goes on with its sub-stream alone, and its motion is seen there.
        let hidden = wait_for(Duration::from_secs(15), || {
            let cam = camera_view(&addr, "cam");
            (cam["alarm"] == true).then_some(cam)
        })
        .expect("the walker in the sub-stream raises an alarm on the hidden camera");
        assert_eq!(
            hidden["width"], 320,
            "hidden, only the sub-stream: {hidden}"
        );
        assert_eq!(hidden["detect"]["main_decoding"], false, "{hidden}");
        assert!(
            hidden["detect"]["main_width"].is_null(),
            "never decoded: {hidden}"
        );
        assert!(
            hidden["detect"]["url"]
                .as_str()
                .is_some_and(|u| u.contains("/sub")),
            "{hidden}"
        );
        let fps = wait_for(Duration::from_secs(10), || {
            let fps = camera_view(&addr, "cam")["fps"].as_f64()?;
            (fps > 20.0).then_some(fps)
        });
        assert!(
            fps.is_some(),
            "the sub-stream is analysed at its rate: {}",
            camera_view(&addr, "cam")
        );

        // The switch: the sub-stream's picture at once, then the main stream's.
        while next_frame(&mut viewer).await.camera.as_deref() != Some("other") {}
        let asked = Instant::now();
        let res = http("PUT", &addr, "/api/selection", Some(r#"{"camera":"cam"}"#)).unwrap();
        assert_eq!(res.status, 200);
        let mut first = None;
        let full = loop {
            let f = next_frame(&mut viewer).await;
            if f.camera.as_deref() != Some("cam") {
                continue;
            }
            first.get_or_insert((asked.elapsed(), f.width));
            if f.width == 1280 {
                break asked.elapsed();
            }
            assert!(
                asked.elapsed() < Duration::from_secs(5),
                "the main stream is shown within a GOP's decoding: {}x{} after {:?}",
                f.width,
                f.height,
                asked.elapsed()
            );
        };
        let (first_at, first_width) = first.unwrap();
        println!(
            "switch: first picture after {first_at:?} ({first_width} wide), full resolution \
             after {full:?}"
        );
        // Once the main stream shows, the sub-stream's pictures never come between its own.
        let window = Instant::now();
        let mut frames = 0;
        while window.elapsed() < Duration::from_secs(4) {
            let f = next_frame(&mut viewer).await;
            assert_eq!(
                (f.width, f.height),
                (1280, 720),
                "only main-stream pictures while shown"
            );
            frames += 1;
        }
        assert!(
            frames >= 80,
            "about 25 fps from the main stream: {frames} in 4 s"
        );
        let shown = camera_view(&addr, "cam");
        assert_eq!(shown["detect"]["main_decoding"], true, "{shown}");
        assert_eq!(shown["detect"]["main_width"], 1280, "{shown}");

        // Away again: the main stream stops being decoded, the sub-stream carries on.
        http(
            "PUT",
            &addr,
            "/api/selection",
            Some(r#"{"camera":"other"}"#),
        )
        .unwrap();
        let back = wait_for(Duration::from_secs(5), || {
            let cam = camera_view(&addr, "cam");
            (cam["width"] == 320 && cam["detect"]["main_decoding"] == false).then_some(cam)
        });
        assert!(
            back.is_some(),
            "hidden again: {}",
            camera_view(&addr, "cam")
        );
    });

    // A snapshot is at full resolution: the main stream is decoded for it.
    let snap = http("GET", &addr, "/api/cameras/cam/snapshot.jpg", None).unwrap();
    assert_eq!(snap.status, 200);
    let (w, h, _) = camwall_tests::viewer::decode_stamp(&snap.body).unwrap();
    assert_eq!((w, h), (1280, 720), "a snapshot of the main stream");
    app.stop().unwrap();
    drop((main, sub, other));
}
