// SPDX-License-Identifier: MIT OR Apache-2.0

//! Property tests of everything that parses outside input: the configuration file, motion zone
//! strings, the alarm and switch structures, the fakecam's motion schedules, and requests (method,
//! path, headers, body) against the launcher's routes. None may panic or hang; what parses must
//! make sense. (Coverage-guided fuzzing needs a nightly compiler; these run on stable, in CI.)

use std::time::Duration;

use camwall::config::Config;
use camwall::fakecam::schedule::{parse_camera_spec, MotionSchedule};
use gstcamwall::messages::{Alarm, SelectorSwitched};
use gstcamwall::motionalarm::parse_zones;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Pieces of TOML that hit the parser's keys, values and syntax.
fn toml_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[server]\n".to_string()),
        Just("[stream]\n".to_string()),
        Just("[selector]\n".to_string()),
        Just("[reconnect]\n".to_string()),
        Just("[[camera]]\n".to_string()),
        Just("[camera.motion]\n".to_string()),
        (
            prop::sample::select(vec![
                "listen",
                "token",
                "allowed_origins",
                "jpeg_quality",
                "max_width",
                "max_fps",
                "alarm_override",
                "alarm_hold_ms",
                "alarm_policy",
                "stall_timeout_ms",
                "initial_ms",
                "max_ms",
                "id",
                "name",
                "url",
                "codec",
                "transport",
                "priority",
                "enabled",
                "zones",
                "min_area",
                "threshold",
                "hold_ms",
                "nonsense",
            ]),
            prop_oneof![
                any::<i64>().prop_map(|v| v.to_string()),
                any::<f64>().prop_map(|v| format!("{v:?}")),
                any::<bool>().prop_map(|v| v.to_string()),
                "[a-z0-9:/@._ -]{0,30}".prop_map(|v| format!("\"{v}\"")),
                Just("\"rtsp://user:pw@127.0.0.1:1/x\"".to_string()),
                Just("[\"https://a.example\", \"HTTP://x\"]".to_string()),
                Just("\"ignore:0,0,1,0.1\"".to_string()),
                ".{0,12}",
            ],
        )
            .prop_map(|(k, v)| format!("{k} = {v}\n")),
        ".{0,20}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_a_config_or_a_clear_error(text in ".{0,300}") {
        if let Err(e) = Config::parse("fuzz.toml", &text) {
            prop_assert!(e.to_string().starts_with("fuzz.toml:"));
        }
    }

    #[test]
    fn configs_made_of_real_keys_parse_or_fail_cleanly(
        pieces in prop::collection::vec(toml_piece(), 0..24)
    ) {
        let text = pieces.concat();
        match Config::parse("fuzz.toml", &text) {
            Ok(c) => {
                prop_assert!(c.enabled_cameras().count() >= 1);
                let _ = (c.listen_addr(), c.allowed_origins(), c.token());
            }
            Err(e) => {
                let shown = e.to_string();
                prop_assert!(!shown.contains(":pw@"), "{}", shown);
                if let Some(line) = e.line {
                    prop_assert!(line >= 1 && line <= text.lines().count().max(1) + 1);
                }
            }
        }
    }

    #[test]
    fn zone_strings_parse_or_fail_and_masks_fit(
        text in prop_oneof![
            ".{0,80}",
            prop::collection::vec(
                prop::sample::select(vec![
                    "include:", "ignore:", "poly(", ")", ",", ";", " ", "0", "1", "0.5",
                    "-0", "nan", "inf", "1e309", "0.25 0.75", "2", "..", "(",
                ]),
                0..40,
            ).prop_map(|v| v.concat()),
        ],
        w in 0usize..64,
        h in 0usize..64,
    ) {
        if let Ok(zones) = parse_zones(&text) {
            let mask = zones.mask(w, h);
            prop_assert_eq!(mask.len(), w * h);
            // What parsed prints as something that parses again to the same zones.
            let again = parse_zones(&zones.to_string());
            prop_assert!(again.is_ok(), "{} -> {}", text, zones);
        }
    }

    #[test]
    fn motion_schedules_parse_or_fail_and_answer_any_time(
        text in prop_oneof![
            ".{0,60}",
            prop::collection::vec(
                prop::sample::select(vec![
                    "every:", "5s", "0s", "1.5s", "500ms", "2m", "..", ",", "@", ":",
                    "1e308s", "-1s", "nans", "cam2=", "=",
                ]),
                0..16,
            ).prop_map(|v| v.concat()),
        ],
        t in any::<u64>(),
    ) {
        if let Ok(s) = MotionSchedule::parse(&text) {
            let _ = s.active_at(Duration::from_nanos(t));
            let _ = s.active_at(Duration::MAX);
        }
        let _ = parse_camera_spec(&text);
    }
}

/// A field value of any type a structure may carry.
fn field_value() -> impl Strategy<Value = Option<glib::SendValue>> {
    use glib::prelude::*;
    prop_oneof![
        Just(None),
        any::<bool>().prop_map(|v| Some(v.to_send_value())),
        any::<i32>().prop_map(|v| Some(v.to_send_value())),
        any::<u64>().prop_map(|v| Some(v.to_send_value())),
        any::<f64>().prop_map(|v| Some(v.to_send_value())),
        // Any text a C string can hold (GStreamer's strings end at a NUL).
        "[^\\x00]{0,10}".prop_map(|v| Some(v.to_send_value())),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn alarm_and_switch_structures_from_anyone_never_panic(
        name in prop::sample::select(vec!["camwall-alarm", "camwall-selector-switched", "other"]),
        fields in prop::collection::vec(
            (
                prop::sample::select(vec![
                    "camera-id", "kind", "active", "level", "running-time", "previous",
                    "reason", "extra",
                ]),
                field_value(),
            ),
            0..8,
        ),
    ) {
        gst::init().unwrap();
        let mut s = gst::Structure::new_empty(name);
        for (k, v) in fields.into_iter() {
            if let Some(v) = v {
                s.set_value(k, v);
            }
        }
        let _ = Alarm::try_from(s.as_ref());
        let _ = SelectorSwitched::try_from(s.as_ref());
    }

    #[test]
    fn alarms_survive_a_round_trip(
        camera in "[a-z0-9_-]{1,16}",
        kind in "[a-z]{1,8}",
        active in any::<bool>(),
        level in 0.0f64..=1.0,
        rt in prop::option::of(any::<u64>().prop_map(|n| n % (1u64 << 62))),
    ) {
        gst::init().unwrap();
        let alarm = Alarm {
            camera_id: camera,
            kind,
            active,
            level,
            running_time: rt.map(gst::ClockTime::from_nseconds),
        };
        let back = Alarm::try_from(alarm.to_structure().as_ref()).unwrap();
        prop_assert_eq!(back.camera_id, alarm.camera_id);
        prop_assert_eq!(back.active, alarm.active);
        prop_assert_eq!(back.level, alarm.level);
        prop_assert_eq!(back.running_time, alarm.running_time);
    }
}

/// Requests against the real routes (a real supervisor, whose one camera is unreachable).
#[test]
fn requests_of_any_shape_get_an_answer_never_a_panic() {
    use camwall::state::AppState;
    use camwall::supervisor::Supervisor;
    use std::sync::Arc;

    camwall::init_gst();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = Config::parse(
        "fuzz.toml",
        &format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ntoken = \"tok\"\n\
             [[camera]]\nid = \"cam1\"\nurl = \"rtsp://127.0.0.1:{port}/x\"\n\
             [[camera]]\nid = \"cam2\"\nurl = \"rtsp://127.0.0.1:{port}/y\"\n"
        ),
    )
    .unwrap();
    let state = AppState::new(config);
    let (control, requests) = camwall::control::channel();
    let supervisor = Arc::new(Supervisor::start(state.clone(), control, requests).unwrap());
    let routes = camwall::server::guarded(
        &state.clone(),
        camwall::server::routes(
            state,
            supervisor.control().clone(),
            gstcamwall::mjpegwssink::ClientSet::new(),
        ),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let strategy = (
        prop::sample::select(vec![
            "GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH",
        ]),
        prop_oneof![
            prop::sample::select(vec![
                "/",
                "/api/cameras",
                "/api/selection",
                "/api/events",
                "/healthz",
                "/ws",
                "/snapshot.jpg",
                "/mjpeg",
                "/api/selection?token=tok",
                "/api/cameras?token=",
                "/api//selection",
                "/api/selection/..",
                "/%2e%2e/etc/passwd",
                "/?token=tok&token=x",
            ])
            .prop_map(str::to_string),
            "/[a-zA-Z0-9/._%?=&-]{0,40}",
        ],
        prop::option::of(prop::sample::select(vec![
            "Bearer tok",
            "Bearer",
            "bearer tok",
            "Basic dG9rOg==",
            "Bearer tokx",
            "",
        ])),
        prop::option::of(prop::sample::select(vec![
            "http://localhost",
            "null",
            "https://evil.example",
            "",
        ])),
        prop_oneof![
            Just(Vec::new()),
            Just(br#"{"camera":"cam2"}"#.to_vec()),
            Just(br#"{"camera":"nope"}"#.to_vec()),
            prop::collection::vec(any::<u8>(), 0..64),
            Just(vec![b'{'; 5000]),
        ],
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&strategy, |(method, path, auth, origin, body)| {
            let mut req = warp::test::request()
                .method(method)
                .path(&path)
                .header("host", "localhost");
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            let req = req.body(body);
            let routes = routes.clone();
            let res = rt.block_on(async move {
                // Streams (/api/events, /mjpeg) never end by design: their headers come at once.
                tokio::time::timeout(
                    Duration::from_secs(5),
                    async move { req.reply(&routes).await },
                )
                .await
            });
            match res {
                Ok(res) => {
                    prop_assert!(
                        !res.status().is_server_error() || res.status() == 503,
                        "{} {} -> {}",
                        method,
                        path,
                        res.status()
                    );
                }
                // Only an endless stream may keep the request open, and only when authorised.
                Err(_) => prop_assert!(
                    path.contains("events") || path.contains("mjpeg"),
                    "{} {} did not answer",
                    method,
                    path
                ),
            }
            Ok(())
        })
        .unwrap();
    supervisor.shutdown();
}
