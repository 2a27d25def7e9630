// SPDX-License-Identifier: MIT OR Apache-2.0

//! One camera's health, without GStreamer: when a connection attempt has taken too long, when a
//! live camera has stalled, how long to wait before the next attempt, and what the camera's
//! state and last error are. The supervisor feeds it what the pipeline reports (an answer, a
//! frame count, a failure) and carries out what it decides (restart the camera's bin); the
//! tests drive it with a fake clock.
//!
//! ```text
//!            restart                 frames
//!  Waiting ───────────▶ Connecting ─────────▶ Live
//!     ▲                     │                  │
//!     └──── failure ────────┴──── failure ─────┘  (a stall is a failure too)
//! ```

use std::time::{Duration, Instant};

use serde::Serialize;

/// A camera's connection state, as the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CameraState {
    Connecting,
    Live,
    Offline,
}

impl CameraState {
    pub fn as_str(self) -> &'static str {
        match self {
            CameraState::Connecting => "connecting",
            CameraState::Live => "live",
            CameraState::Offline => "offline",
        }
    }
}

/// Why a camera is offline, as `GET /api/cameras` and the `camera` event name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The camera wants other credentials (RTSP 401).
    Auth,
    /// The camera has no such stream path (RTSP 404).
    NotFound,
    /// Nothing listens on the camera's port.
    Refused,
    /// The camera's host cannot be reached (no route, no answer to the connection).
    Unreachable,
    /// The camera accepted the connection but did not set a stream up or send a frame in time.
    Timeout,
    /// The camera sends a stream camwall cannot decode.
    Unsupported,
    /// The camera was live and stopped sending frames, or ended the session.
    Stalled,
    /// The camera answered something camwall does not understand.
    Protocol,
}

impl FailureKind {
    pub const ALL: [FailureKind; 8] = [
        FailureKind::Auth,
        FailureKind::NotFound,
        FailureKind::Refused,
        FailureKind::Unreachable,
        FailureKind::Timeout,
        FailureKind::Unsupported,
        FailureKind::Stalled,
        FailureKind::Protocol,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Auth => "auth",
            FailureKind::NotFound => "not_found",
            FailureKind::Refused => "refused",
            FailureKind::Unreachable => "unreachable",
            FailureKind::Timeout => "timeout",
            FailureKind::Unsupported => "unsupported",
            FailureKind::Stalled => "stalled",
            FailureKind::Protocol => "protocol",
        }
    }
}

/// A camera's last failure: `{"kind", "message", "since"}` in the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CameraError {
    pub kind: FailureKind,
    /// What the pipeline said, passwords masked.
    pub message: String,
    /// When this failure was first seen in the current outage (unix ms).
    pub since: u64,
}

/// A point in time on both clocks: the monotonic one for timeouts, the wall clock for what the
/// API reports.
#[derive(Debug, Clone, Copy)]
pub struct Moment {
    pub at: Instant,
    pub unix_ms: u64,
}

impl Moment {
    pub fn now() -> Moment {
        Moment {
            at: Instant::now(),
            unix_ms: gstcamwall::protocol::unix_ms_now(),
        }
    }
}

/// A camera live this long that fails is retried at once, without the backoff.
pub const SETTLED: Duration = Duration::from_secs(10);

/// The time limits of [`CameraHealth`].
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// An attempt that has not set its stream up (RTSP DESCRIBE, SETUP and PLAY answered) by
    /// then has failed: the camera accepted the connection and then sent half an answer, or
    /// nothing.
    pub answer_timeout: Duration,
    /// An attempt whose stream is set up but has brought no frame by then has failed (long
    /// enough for a keyframe interval of several seconds).
    pub frame_timeout: Duration,
    /// A live camera that has sent no frame for this long has stalled.
    pub stall_timeout: Duration,
    /// The wait before the first retry; it doubles with each failure in a row...
    pub initial_backoff: Duration,
    /// ...up to this, and the camera is retried at this pace forever.
    pub max_backoff: Duration,
}

impl Timing {
    /// The wait before the attempt after `failures` failures in a row.
    pub fn backoff(&self, failures: u32) -> Duration {
        let doubled = self
            .initial_backoff
            .saturating_mul(1u32 << failures.saturating_sub(1).min(16));
        doubled.min(self.max_backoff)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// An attempt is under way (its restart may still be running).
    Connecting {
        started: Instant,
        frames_at: u64,
    },
    Live {
        since: Instant,
    },
    /// Failed; the next attempt starts at `retry_at`.
    Waiting {
        retry_at: Instant,
    },
}

/// What the pipeline shows of a camera at a tick.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seen {
    /// Frames counted since the camera was built.
    pub frames: u64,
    /// When the newest frame came.
    pub last_frame: Option<Instant>,
    /// The current attempt has set its stream up (its source made a pad).
    pub answered: bool,
    /// The bin's restart is still running on its own thread.
    pub restarting: bool,
}

/// What the supervisor has to do after an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing changed.
    Stay,
    /// The camera went live: publish its state.
    Live,
    /// The camera failed: publish its state and error; it is retried after `retry_in`.
    Offline { retry_in: Duration },
    /// Start a new attempt now: restart the bin and publish `connecting`.
    Restart,
}

/// One camera's health.
#[derive(Debug)]
pub struct CameraHealth {
    timing: Timing,
    phase: Phase,
    /// Failures in a row, for the backoff.
    failures: u32,
    /// Since when the camera has been without pictures (unix ms), `None` while live.
    offline_since: Option<u64>,
    error: Option<CameraError>,
    /// A failure of the current attempt that came while its restart was still running: it is
    /// acted on as soon as the restart is over.
    deferred: Option<(FailureKind, String)>,
}

impl CameraHealth {
    /// A camera whose first attempt starts at `now` (the supervisor starts its bin).
    pub fn new(timing: Timing, now: Moment, frames: u64) -> CameraHealth {
        CameraHealth {
            timing,
            phase: Phase::Connecting {
                started: now.at,
                frames_at: frames,
            },
            failures: 0,
            offline_since: Some(now.unix_ms),
            error: None,
            deferred: None,
        }
    }

    pub fn state(&self) -> CameraState {
        match self.phase {
            Phase::Live { .. } => CameraState::Live,
            Phase::Waiting { .. } => CameraState::Offline,
            Phase::Connecting { .. } => CameraState::Connecting,
        }
    }

    pub fn error(&self) -> Option<&CameraError> {
        self.error.as_ref()
    }

    pub fn offline_since(&self) -> Option<u64> {
        self.offline_since
    }

    /// The pipeline reported a failure of this camera.
    pub fn failed(&mut self, now: Moment, kind: FailureKind, message: &str, seen: Seen) -> Step {
        match self.phase {
            // Already down: what its dying pipeline says next changes nothing.
            Phase::Waiting { .. } => Step::Stay,
            // The new attempt failed before its restart returned (a refused connection does
            // that): act on it as soon as the restart is over.
            Phase::Connecting { .. } if seen.restarting => {
                self.deferred = Some((kind, message.to_string()));
                Step::Stay
            }
            _ => self.fail(now, kind, message),
        }
    }

    fn fail(&mut self, now: Moment, kind: FailureKind, message: &str) -> Step {
        // A camera that had been live a while lost its stream (its server ended the session or
        // restarted it, the camera rebooted): it is tried again at once. The backoff is for a
        // camera that keeps failing; one that fails again soon after it came up waits as ever.
        let settled = matches!(self.phase, Phase::Live { since }
            if now.at.saturating_duration_since(since) >= SETTLED);
        let retry_in = if settled {
            Duration::ZERO
        } else {
            self.failures = self.failures.saturating_add(1);
            self.timing.backoff(self.failures)
        };
        self.phase = Phase::Waiting {
            retry_at: now.at + retry_in,
        };
        self.offline_since.get_or_insert(now.unix_ms);
        let since = match &self.error {
            Some(e) if e.kind == kind => e.since,
            _ => now.unix_ms,
        };
        self.error = Some(CameraError {
            kind,
            message: message.to_string(),
            since,
        });
        Step::Offline { retry_in }
    }

    /// The attempt's restart has stopped the session before: frames counted until now were that
    /// session's, and do not make the new attempt live.
    pub fn session_stopped(&mut self, frames: u64) {
        if let Phase::Connecting { frames_at, .. } = &mut self.phase {
            *frames_at = frames;
        }
    }

    /// Looks at the camera; call it often (the supervisor does every 100 ms).
    pub fn tick(&mut self, now: Moment, seen: Seen) -> Step {
        match self.phase {
            Phase::Waiting { retry_at } => {
                if now.at < retry_at || seen.restarting {
                    return Step::Stay;
                }
                self.deferred = None;
                self.phase = Phase::Connecting {
                    started: now.at,
                    frames_at: seen.frames,
                };
                Step::Restart
            }
            _ if seen.restarting => Step::Stay,
            Phase::Connecting { started, frames_at } => {
                if let Some((kind, message)) = self.deferred.take() {
                    return self.fail(now, kind, &message);
                }
                if seen.frames > frames_at {
                    self.phase = Phase::Live { since: now.at };
                    self.failures = 0;
                    self.offline_since = None;
                    self.error = None;
                    return Step::Live;
                }
                let waited = now.at.saturating_duration_since(started);
                if !seen.answered && waited > self.timing.answer_timeout {
                    let s = self.timing.answer_timeout.as_secs_f32();
                    return self.fail(
                        now,
                        FailureKind::Timeout,
                        &format!("no stream set up {s} s after connecting"),
                    );
                }
                if waited > self.timing.frame_timeout {
                    let s = self.timing.frame_timeout.as_secs_f32();
                    return self.fail(
                        now,
                        FailureKind::Timeout,
                        &format!("no frame {s} s after the stream was set up"),
                    );
                }
                Step::Stay
            }
            Phase::Live { .. } => {
                let age = seen.last_frame.map(|t| now.at.saturating_duration_since(t));
                if age.is_some_and(|a| a > self.timing.stall_timeout) {
                    let ms = age.unwrap_or_default().as_millis();
                    return self.fail(now, FailureKind::Stalled, &format!("no frame for {ms} ms"));
                }
                Step::Stay
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clock the test moves by hand.
    struct FakeClock {
        start: Instant,
        elapsed: Duration,
    }

    impl FakeClock {
        fn new() -> FakeClock {
            FakeClock {
                start: Instant::now(),
                elapsed: Duration::ZERO,
            }
        }
        fn now(&self) -> Moment {
            Moment {
                at: self.start + self.elapsed,
                unix_ms: 1_700_000_000_000 + self.elapsed.as_millis() as u64,
            }
        }
        fn advance_ms(&mut self, ms: u64) -> Moment {
            self.elapsed += Duration::from_millis(ms);
            self.now()
        }
        fn at(&self, ms_ago: u64) -> Instant {
            self.now().at - Duration::from_millis(ms_ago)
        }
    }

    fn timing() -> Timing {
        Timing {
            answer_timeout: Duration::from_secs(3),
            frame_timeout: Duration::from_secs(6),
            stall_timeout: Duration::from_secs(2),
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_millis(1000),
        }
    }

    fn answered(frames: u64) -> Seen {
        Seen {
            frames,
            answered: true,
            ..Seen::default()
        }
    }

    #[test]
    fn failure_kinds_are_listed_in_declaration_order() {
        for (i, kind) in FailureKind::ALL.into_iter().enumerate() {
            assert_eq!(kind as usize, i, "{kind:?}");
        }
    }

    #[test]
    fn backoff_doubles_from_initial_up_to_the_cap_and_never_gives_up() {
        let t = Timing {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1500),
            ..timing()
        };
        let ms = |n| t.backoff(n).as_millis() as u64;
        assert_eq!(
            [ms(1), ms(2), ms(3), ms(4), ms(5), ms(6)],
            [100, 200, 400, 800, 1500, 1500]
        );
        for n in [20, 64, 1_000, u32::MAX] {
            assert_eq!(ms(n), 1500);
        }
    }

    #[test]
    fn a_camera_goes_live_on_its_first_frame_and_stays_while_frames_come() {
        let mut clock = FakeClock::new();
        let mut h = CameraHealth::new(timing(), clock.now(), 0);
        assert_eq!(h.state(), CameraState::Connecting);
        assert_eq!(h.tick(clock.advance_ms(100), answered(0)), Step::Stay);
        assert_eq!(h.tick(clock.advance_ms(100), answered(1)), Step::Live);
        assert_eq!(
            (h.state(), h.error(), h.offline_since()),
            (CameraState::Live, None, None)
        );
        for n in 2..100 {
            let seen = Seen {
                last_frame: Some(clock.at(0)),
                ..answered(n)
            };
            assert_eq!(h.tick(clock.advance_ms(40), seen), Step::Stay);
        }
    }

    #[test]
    fn a_live_camera_that_stops_sending_stalls_after_the_timeout_only() {
        let mut clock = FakeClock::new();
        let mut h = CameraHealth::new(timing(), clock.now(), 0);
        h.tick(clock.advance_ms(100), answered(5));
        let last = clock.at(0);
        let seen = Seen {
            last_frame: Some(last),
            ..answered(5)
        };
        assert_eq!(h.tick(clock.advance_ms(2000), seen), Step::Stay);
        let step = h.tick(clock.advance_ms(1), seen);
        assert_eq!(
            step,
            Step::Offline {
                retry_in: Duration::from_millis(250)
            }
        );
        let e = h.error().unwrap();
        assert_eq!(
            (e.kind, e.since),
            (FailureKind::Stalled, clock.now().unix_ms)
        );
        assert_eq!(h.offline_since(), Some(clock.now().unix_ms));
        assert_eq!(h.state(), CameraState::Offline);
    }

    #[test]
    fn failures_wait_the_backoff_then_restart_and_a_frame_brings_the_camera_back() {
        let mut clock = FakeClock::new();
        let start = clock.now();
        let mut h = CameraHealth::new(timing(), start, 0);
        // Never live yet: without pictures since it was set up.
        assert_eq!(h.offline_since(), Some(start.unix_ms));
        let down = clock.advance_ms(10);
        let step = h.failed(down, FailureKind::Refused, "refused", Seen::default());
        assert_eq!(
            step,
            Step::Offline {
                retry_in: Duration::from_millis(250)
            }
        );
        // Repeated reports of the same outage change nothing.
        assert_eq!(
            h.failed(
                clock.advance_ms(1),
                FailureKind::Protocol,
                "x",
                Seen::default()
            ),
            Step::Stay
        );
        assert_eq!(h.tick(clock.advance_ms(200), Seen::default()), Step::Stay);
        assert_eq!(h.tick(clock.advance_ms(50), Seen::default()), Step::Restart);
        // Still refused: the wait doubles, and the error keeps the time it was first seen.
        let step = h.failed(
            clock.advance_ms(5),
            FailureKind::Refused,
            "refused",
            Seen::default(),
        );
        assert_eq!(
            step,
            Step::Offline {
                retry_in: Duration::from_millis(500)
            }
        );
        assert_eq!(h.error().unwrap().since, down.unix_ms);
        assert_eq!(h.offline_since(), Some(start.unix_ms));
        // Another cause: its own since.
        assert_eq!(
            h.tick(clock.advance_ms(500), Seen::default()),
            Step::Restart
        );
        let auth = clock.advance_ms(5);
        h.failed(auth, FailureKind::Auth, "401", Seen::default());
        assert_eq!(h.error().unwrap().since, auth.unix_ms);
        assert_eq!(h.error().unwrap().kind, FailureKind::Auth);
        // A retry reads as connecting and keeps the error until the camera is live.
        let before = Seen {
            frames: 7,
            ..Seen::default()
        };
        assert_eq!(h.tick(clock.advance_ms(1000), before), Step::Restart);
        assert_eq!(h.state(), CameraState::Connecting);
        assert_eq!(h.error().unwrap().kind, FailureKind::Auth);
        assert_eq!(h.tick(clock.advance_ms(100), answered(7)), Step::Stay);
        assert_eq!(h.tick(clock.advance_ms(100), answered(8)), Step::Live);
        assert_eq!((h.error(), h.offline_since()), (None, None));
        // The backoff starts over after a success.
        let step = h.failed(
            clock.advance_ms(10),
            FailureKind::Stalled,
            "eos",
            answered(8),
        );
        assert_eq!(
            step,
            Step::Offline {
                retry_in: Duration::from_millis(250)
            }
        );
    }

    #[test]
    fn a_camera_that_ran_a_while_is_retried_at_once_and_backs_off_if_it_fails_again() {
        let mut clock = FakeClock::new();
        let mut h = CameraHealth::new(timing(), clock.now(), 0);
        assert_eq!(h.tick(clock.advance_ms(100), answered(1)), Step::Live);
        // Live for 10 s, then the server ends the session (VLC does at each loop of a clip).
        clock.advance_ms(SETTLED.as_millis() as u64);
        let ended = h.failed(clock.now(), FailureKind::Stalled, "ended", answered(250));
        assert_eq!(
            ended,
            Step::Offline {
                retry_in: Duration::ZERO
            }
        );
        assert_eq!(h.state(), CameraState::Offline);
        assert_eq!(h.error().unwrap().kind, FailureKind::Stalled);
        assert_eq!(h.tick(clock.now(), answered(250)), Step::Restart);
        // The server's port is closed for a moment: that failure waits the first backoff...
        let refused = h.failed(
            clock.advance_ms(5),
            FailureKind::Refused,
            "r",
            Seen::default(),
        );
        assert_eq!(
            refused,
            Step::Offline {
                retry_in: Duration::from_millis(250)
            }
        );
        assert_eq!(
            h.tick(clock.advance_ms(250), Seen::default()),
            Step::Restart
        );
        assert_eq!(h.tick(clock.advance_ms(100), answered(251)), Step::Live);
        // ...and a camera that fails again soon after it came up backs off as ever.
        let again = h.failed(
            clock.advance_ms(9_000),
            FailureKind::Stalled,
            "x",
            answered(400),
        );
        assert_eq!(
            again,
            Step::Offline {
                retry_in: Duration::from_millis(250)
            }
        );
        // A stall of a camera that ran a while is retried at once too.
        h.tick(clock.advance_ms(250), Seen::default());
        h.tick(clock.advance_ms(100), answered(401));
        let last = clock.advance_ms(SETTLED.as_millis() as u64).at;
        let seen = Seen {
            last_frame: Some(last),
            ..answered(650)
        };
        assert_eq!(
            h.tick(clock.advance_ms(2001), seen),
            Step::Offline {
                retry_in: Duration::ZERO
            }
        );
    }

    #[test]
    fn frames_of_the_session_before_do_not_make_the_new_attempt_live() {
        let mut clock = FakeClock::new();
        let mut h = CameraHealth::new(timing(), clock.now(), 0);
        assert_eq!(h.tick(clock.advance_ms(100), answered(1)), Step::Live);
        clock.advance_ms(SETTLED.as_millis() as u64);
        h.failed(clock.now(), FailureKind::Stalled, "closed", answered(250));
        assert_eq!(h.tick(clock.now(), answered(250)), Step::Restart);
        // The old session still decodes a frame or two before the restart stops it.
        h.session_stopped(252);
        assert_eq!(h.tick(clock.advance_ms(100), answered(252)), Step::Stay);
        assert_eq!(h.state(), CameraState::Connecting);
        assert_eq!(h.tick(clock.advance_ms(100), answered(253)), Step::Live);
    }

    #[test]
    fn an_attempt_that_never_sets_its_stream_up_or_never_brings_a_frame_times_out() {
        let mut clock = FakeClock::new();
        let mut h = CameraHealth::new(timing(), clock.now(), 0);
        assert_eq!(h.tick(clock.advance_ms(3000), Seen::default()), Step::Stay);
        assert!(matches!(
            h.tick(clock.advance_ms(1), Seen::default()),
            Step::Offline { .. }
        ));
        assert_eq!(h.error().unwrap().kind, FailureKind::Timeout);
        assert!(h.error().unwrap().message.contains("no stream set up"));
        assert_eq!(
            h.tick(clock.advance_ms(250), Seen::default()),
            Step::Restart
        );
        // Set up, but no frame.
        assert_eq!(h.tick(clock.advance_ms(5999), answered(0)), Step::Stay);
        assert!(matches!(
            h.tick(clock.advance_ms(2), answered(0)),
            Step::Offline { .. }
        ));
        assert!(h.error().unwrap().message.contains("no frame"));
    }

    #[test]
    fn a_failure_during_a_restart_waits_for_the_restart_and_the_next_attempt_forgets_it() {
        let mut clock = FakeClock::new();
        let mut h = CameraHealth::new(timing(), clock.now(), 0);
        let restarting = Seen {
            restarting: true,
            ..Seen::default()
        };
        assert_eq!(
            h.failed(clock.advance_ms(1), FailureKind::Refused, "r", restarting),
            Step::Stay
        );
        assert_eq!(h.tick(clock.advance_ms(100), restarting), Step::Stay);
        assert!(matches!(
            h.tick(clock.advance_ms(1), Seen::default()),
            Step::Offline { .. }
        ));
        assert_eq!(h.error().unwrap().kind, FailureKind::Refused);
        // The next attempt does not start while a restart still runs, and starts clean.
        assert_eq!(h.tick(clock.advance_ms(300), restarting), Step::Stay);
        assert_eq!(h.tick(clock.advance_ms(1), Seen::default()), Step::Restart);
        assert_eq!(h.tick(clock.advance_ms(100), answered(3)), Step::Live);
    }
}
