// SPDX-License-Identifier: MIT OR Apache-2.0

//! When motion becomes an alarm and when the alarm ends; no GStreamer, times in nanoseconds of
//! running time.

/// A change of the alarm state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmChange {
    Started,
    Ended,
}

/// Starts an alarm after `min_frames` consecutive motion frames; ends it once no motion frame
/// was seen for `hold` nanoseconds of running time.
#[derive(Debug, Default, Clone)]
pub struct Hysteresis {
    active: bool,
    consecutive: u32,
    last_motion: Option<u64>,
    last_time: Option<u64>,
}

impl Hysteresis {
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Running time of the latest frame that had one.
    pub fn last_time(&self) -> Option<u64> {
        self.last_time
    }

    /// Feeds one frame. Frames without a running time count as happening at the last known one.
    pub fn update(
        &mut self,
        motion: bool,
        now: Option<u64>,
        min_frames: u32,
        hold: u64,
    ) -> Option<AlarmChange> {
        if now.is_some() {
            self.last_time = now;
        }
        let now = self.last_time;
        if motion {
            self.consecutive = self.consecutive.saturating_add(1);
            if self.active {
                self.last_motion = now;
            } else if self.consecutive >= min_frames.max(1) {
                self.active = true;
                self.last_motion = now;
                return Some(AlarmChange::Started);
            }
            return None;
        }

        self.consecutive = 0;
        if !self.active {
            return None;
        }
        match (now, self.last_motion) {
            // Time went backwards (a new segment): count the hold from here.
            (Some(n), Some(last)) if n < last => self.last_motion = Some(n),
            (Some(n), Some(last)) if n - last >= hold => {
                self.active = false;
                self.last_motion = None;
                return Some(AlarmChange::Ended);
            }
            (Some(n), None) => self.last_motion = Some(n),
            _ => (),
        }
        None
    }

    /// Restarts the count of consecutive motion frames (new background, new stream).
    pub fn restart_count(&mut self) {
        self.consecutive = 0;
    }

    /// Ends an active alarm at once; `true` if there was one.
    pub fn end(&mut self) -> bool {
        let was = self.active;
        self.active = false;
        self.consecutive = 0;
        self.last_motion = None;
        was
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn starts_on_the_min_frames_th_consecutive_motion_frame() {
        let mut p = Hysteresis::default();
        assert_eq!(p.update(true, Some(0), 3, 1000 * MS), None);
        assert_eq!(p.update(true, Some(40 * MS), 3, 1000 * MS), None);
        assert_eq!(
            p.update(true, Some(80 * MS), 3, 1000 * MS),
            Some(AlarmChange::Started)
        );
        assert!(p.is_active());
        assert_eq!(p.update(true, Some(120 * MS), 3, 1000 * MS), None);
    }

    #[test]
    fn a_quiet_frame_breaks_the_run() {
        let mut p = Hysteresis::default();
        p.update(true, Some(0), 3, 0);
        p.update(true, Some(1), 3, 0);
        p.update(false, Some(2), 3, 0);
        p.update(true, Some(3), 3, 0);
        assert_eq!(p.update(true, Some(4), 3, 0), None);
        assert_eq!(p.update(true, Some(5), 3, 0), Some(AlarmChange::Started));
    }

    #[test]
    fn ends_hold_after_the_last_motion_frame() {
        let mut p = Hysteresis::default();
        p.update(true, Some(0), 1, 500 * MS);
        assert!(p.is_active());
        p.update(true, Some(100 * MS), 1, 500 * MS);
        for t in (140..600).step_by(40) {
            assert_eq!(
                p.update(false, Some(t * MS), 1, 500 * MS),
                None,
                "at {t} ms"
            );
        }
        assert_eq!(
            p.update(false, Some(600 * MS), 1, 500 * MS),
            Some(AlarmChange::Ended)
        );
        assert!(!p.is_active());
    }

    #[test]
    fn motion_during_hold_extends_it() {
        let mut p = Hysteresis::default();
        p.update(true, Some(0), 1, 100 * MS);
        p.update(false, Some(90 * MS), 1, 100 * MS);
        p.update(true, Some(95 * MS), 1, 100 * MS);
        assert_eq!(p.update(false, Some(150 * MS), 1, 100 * MS), None);
        assert_eq!(
            p.update(false, Some(195 * MS), 1, 100 * MS),
            Some(AlarmChange::Ended)
        );
    }

    #[test]
    fn time_going_backwards_restarts_the_hold() {
        let mut p = Hysteresis::default();
        p.update(true, Some(10_000 * MS), 1, 100 * MS);
        assert_eq!(p.update(false, Some(0), 1, 100 * MS), None);
        assert_eq!(
            p.update(false, Some(100 * MS), 1, 100 * MS),
            Some(AlarmChange::Ended)
        );
    }

    #[test]
    fn untimed_frames_use_the_last_known_time_and_end_forces() {
        let mut p = Hysteresis::default();
        p.update(true, None, 1, 0);
        assert!(p.is_active());
        // No time known at all: the hold cannot be measured yet, the alarm stays.
        assert_eq!(p.update(false, None, 1, 10), None);
        assert_eq!(p.update(false, Some(5), 1, 10), None);
        assert_eq!(p.update(false, Some(15), 1, 10), Some(AlarmChange::Ended));
        p.update(true, Some(20), 1, 10);
        assert!(p.end());
        assert!(!p.end());
        assert_eq!(p.last_time(), Some(20));
    }
}
