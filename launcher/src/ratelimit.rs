// SPDX-License-Identifier: MIT OR Apache-2.0

//! At most `max_fps` frames a second out of a stream, chosen by the frames' timestamps, without
//! dropping any frame of a stream that is not faster than that, however jittered its timestamps.
//!
//! A camera at 25 fps whose frames arrive 20 ms and 60 ms apart (B-frames reordered by a server,
//! a bursty network) is a 25 fps stream: every frame passes. Only a stream that is faster than
//! `max_fps` over the last second, or that comes in a burst (more than three frames within two
//! intervals), is thinned, and then on a fixed schedule of one frame per
//! interval (a frame passes when it is at most a quarter of an interval early), so a 30 or 50
//! fps camera gives `max_fps`, evenly spaced, and a burst after a pause gives a few frames, not a
//! backlog. GStreamer-free: the launcher applies it in a pad probe.

use std::collections::VecDeque;

const SECOND: u64 = 1_000_000_000;

/// The limiter of one stream.
#[derive(Debug, Clone)]
pub struct RateLimit {
    max_fps: u32,
    interval: u64,
    /// When the next frame is due while thinning (ns of the stream's timestamps).
    due: Option<u64>,
    /// The timestamps of the stream's frames in the last second, passed or not.
    arrivals: VecDeque<u64>,
}

impl RateLimit {
    /// A limiter to `max_fps` (at least 1).
    pub fn new(max_fps: u32) -> RateLimit {
        let max_fps = max_fps.max(1);
        RateLimit {
            max_fps,
            interval: SECOND / u64::from(max_fps),
            due: None,
            arrivals: VecDeque::with_capacity(max_fps as usize * 2),
        }
    }

    /// The next frame passes whatever its time (after a switch of the stream's source).
    pub fn restart(&mut self) {
        self.due = None;
    }

    /// Forgets the stream (after a flush): its rate is learnt again.
    pub fn flush(&mut self) {
        self.due = None;
        self.arrivals.clear();
    }

    /// Whether the frame with timestamp `ts` (ns) passes.
    pub fn admit(&mut self, ts: u64) -> bool {
        if self.arrivals.back().is_some_and(|&last| ts < last) {
            // Timestamps went back: a restarted camera or server. A new stream.
            self.flush();
        }
        while self.arrivals.front().is_some_and(|&t| t + SECOND <= ts) {
            self.arrivals.pop_front();
        }
        self.arrivals.push_back(ts);
        // Faster than allowed over the last second, with room for jitter at the window's edges;
        // or a burst: more than three frames within two intervals (a jittered stream at the
        // rate has two, three at most).
        let burst = self
            .arrivals
            .iter()
            .rev()
            .take_while(|&&t| t + 2 * self.interval > ts)
            .count()
            > 3;
        let fast = burst || self.arrivals.len() as u64 > u64::from(self.max_fps) * 11 / 10 + 1;
        let early = self.interval / 4;
        let pass = match self.due {
            Some(due) if fast => ts + early >= due,
            _ => true,
        };
        if pass {
            self.due = Some(match self.due {
                // Thinning: keep the schedule, but never let it fall behind into a backlog.
                Some(due) if fast => (due + self.interval).max(ts + self.interval - early),
                _ => ts + self.interval,
            });
        }
        pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// Frames passed out of `times` (ms).
    fn passed(limit: &mut RateLimit, times: impl IntoIterator<Item = u64>) -> usize {
        times.into_iter().filter(|&t| limit.admit(t * MS)).count()
    }

    /// A small deterministic jitter in `-range..=range` ms.
    fn jitter(i: u64, range: u64) -> i64 {
        let x = (i.wrapping_mul(2654435761) >> 7) % (2 * range + 1);
        x as i64 - range as i64
    }

    #[test]
    fn a_stream_at_the_limit_keeps_every_frame_however_jittered() {
        for range in [0u64, 5, 15, 19] {
            let mut limit = RateLimit::new(25);
            let times = (0..1500u64).map(|i| (1000 + i as i64 * 40 + jitter(i, range)) as u64);
            // Timestamps stay in order: jitter under half an interval.
            assert_eq!(passed(&mut limit, times), 1500, "jitter ±{range} ms");
        }
        // Reordered B-frames as a server sent them: 20 ms and 60 ms apart, alternately.
        let mut limit = RateLimit::new(25);
        let times = (0..1500u64).map(|i| 1000 + i * 40 + if i % 2 == 1 { 20 } else { 0 });
        assert_eq!(passed(&mut limit, times), 1500);
        // A camera slightly slower or faster than nominal.
        let mut limit = RateLimit::new(25);
        assert_eq!(passed(&mut limit, (0..1500u64).map(|i| i * 401 / 10)), 1500);
    }

    #[test]
    fn a_faster_stream_is_thinned_to_the_limit_evenly() {
        for (fps, max) in [(50u64, 25u32), (30, 25), (60, 25), (25, 4), (25, 10)] {
            let mut limit = RateLimit::new(max);
            let n = fps * 60;
            let mut kept = Vec::new();
            for i in 0..n {
                let t = i * 1000 / fps;
                if limit.admit(t * MS) {
                    kept.push(t);
                }
            }
            // Over a minute, max_fps a second (the first second passes what it learns from).
            let rate = kept.len() as f64 / 60.0;
            assert!(
                (rate - f64::from(max)).abs() <= 1.0 + f64::from(max) * 0.05,
                "{fps} fps to {max}: {rate:.2}/s"
            );
            // Never closer than 3/4 of an interval after the first second.
            let min_gap = 750 / u64::from(max);
            let close = kept
                .windows(2)
                .filter(|w| w[0] > 1000 && w[1] - w[0] < min_gap)
                .count();
            assert_eq!(close, 0, "{fps} fps to {max}");
        }
    }

    #[test]
    fn a_burst_after_a_pause_is_not_a_backlog() {
        let mut limit = RateLimit::new(25);
        // A second at 50 fps, so the limiter is thinning, then a pause, then 30 frames at once.
        passed(&mut limit, (0..50u64).map(|i| i * 20));
        let burst = passed(&mut limit, std::iter::repeat_n(3000, 30));
        // At most the three a jittered stream could bring so close together.
        assert!(burst <= 3, "{burst} frames of a burst");
    }

    #[test]
    fn a_restart_or_timestamps_going_back_let_the_next_frame_through() {
        let mut limit = RateLimit::new(25);
        passed(&mut limit, (0..100u64).map(|i| i * 10));
        assert!(!limit.admit(995 * MS) || !limit.admit(1001 * MS));
        limit.restart();
        assert!(limit.admit(1002 * MS), "a switch's first frame passes");
        // A camera that restarts its stream starts from 0 again.
        assert!(limit.admit(5 * MS));
        assert!(limit.admit(45 * MS));
    }
}
