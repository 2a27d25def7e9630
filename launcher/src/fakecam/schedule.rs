// SPDX-License-Identifier: MIT OR Apache-2.0

//! When a fakecam camera shows motion: fixed intervals (`5s..8s,20s..25s`), a periodic burst
//! (`every:20s:4s`, optionally with a first start `every:20s:4s@10s`), or both, separated by commas.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("'{0}' is not a duration: use a number with ms, s or m (e.g. 500ms, 5s, 1.5m)")]
    Duration(String),
    #[error("'{0}' is not an interval: use START..END, e.g. 5s..8s")]
    Interval(String),
    #[error("interval '{0}' ends before it starts")]
    Backwards(String),
    #[error("'{0}' is not a periodic burst: use every:PERIOD:LENGTH[@FIRST], e.g. every:20s:4s")]
    Periodic(String),
    #[error(
        "'{0}' is not a camera motion spec: use CAMERA=SCHEDULE, e.g. cam2=5s..8s,every:20s:4s"
    )]
    Spec(String),
}

/// Parses `500ms`, `5s`, `1.5s`, `2m`.
pub fn parse_duration(s: &str) -> Result<Duration, ScheduleError> {
    let s = s.trim();
    let err = || ScheduleError::Duration(s.to_string());
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        return Err(err());
    };
    let v: f64 = num.trim().parse().map_err(|_| err())?;
    if !v.is_finite() || v < 0.0 || v * scale > 1e9 {
        return Err(err());
    }
    Ok(Duration::from_secs_f64(v * scale))
}

/// A periodic burst of motion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Periodic {
    pub every: Duration,
    pub length: Duration,
    pub first: Duration,
}

/// When a camera shows motion, measured from the fakecam's start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MotionSchedule {
    pub intervals: Vec<(Duration, Duration)>,
    pub periodic: Vec<Periodic>,
}

impl MotionSchedule {
    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty() && self.periodic.is_empty()
    }

    /// Whether the schedule has motion at `t` after start.
    pub fn active_at(&self, t: Duration) -> bool {
        self.intervals.iter().any(|&(a, b)| t >= a && t < b)
            || self.periodic.iter().any(|p| {
                if t < p.first || p.every.is_zero() {
                    return false;
                }
                let phase = (t - p.first).as_nanos() % p.every.as_nanos();
                phase < p.length.as_nanos()
            })
    }

    /// Parses `5s..8s,20s..25s,every:20s:4s@10s`.
    pub fn parse(s: &str) -> Result<Self, ScheduleError> {
        let mut sched = MotionSchedule::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some(rest) = part.strip_prefix("every:") {
                let err = || ScheduleError::Periodic(part.to_string());
                let (body, first) = match rest.split_once('@') {
                    Some((b, f)) => (b, parse_duration(f)?),
                    None => (rest, Duration::ZERO),
                };
                let (every, length) = body.split_once(':').ok_or_else(err)?;
                let (every, length) = (parse_duration(every)?, parse_duration(length)?);
                if every.is_zero() || length > every {
                    return Err(err());
                }
                sched.periodic.push(Periodic {
                    every,
                    length,
                    first,
                });
            } else {
                let (a, b) = part
                    .split_once("..")
                    .ok_or_else(|| ScheduleError::Interval(part.to_string()))?;
                let (a, b) = (parse_duration(a)?, parse_duration(b)?);
                if b < a {
                    return Err(ScheduleError::Backwards(part.to_string()));
                }
                sched.intervals.push((a, b));
            }
        }
        Ok(sched)
    }
}

/// Parses a `--motion` argument: `cam2=5s..8s,every:20s:4s`.
pub fn parse_camera_spec(s: &str) -> Result<(String, MotionSchedule), ScheduleError> {
    let (cam, sched) = s
        .split_once('=')
        .ok_or_else(|| ScheduleError::Spec(s.to_string()))?;
    let cam = cam.trim();
    if cam.is_empty() {
        return Err(ScheduleError::Spec(s.to_string()));
    }
    Ok((cam.to_string(), MotionSchedule::parse(sched)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: f64) -> Duration {
        Duration::from_secs_f64(secs)
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), s(0.5));
        assert_eq!(parse_duration("5s").unwrap(), s(5.0));
        assert_eq!(parse_duration("1.5m").unwrap(), s(90.0));
        for bad in ["", "5", "s", "-1s", "xs", "NaNs", "1e300s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn intervals_and_periodic() {
        let sched = MotionSchedule::parse("5s..8s, 20s..25s,every:20s:4s@100s").unwrap();
        assert!(!sched.active_at(s(4.9)));
        assert!(sched.active_at(s(5.0)));
        assert!(sched.active_at(s(7.9)));
        assert!(!sched.active_at(s(8.0)));
        assert!(sched.active_at(s(21.0)));
        assert!(!sched.active_at(s(99.0)));
        assert!(sched.active_at(s(101.0)));
        assert!(!sched.active_at(s(105.0)));
        assert!(sched.active_at(s(121.0)));
        assert!(MotionSchedule::parse("").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_bad_part() {
        assert_eq!(
            MotionSchedule::parse("8s..5s"),
            Err(ScheduleError::Backwards("8s..5s".into()))
        );
        assert!(matches!(
            MotionSchedule::parse("5s-8s"),
            Err(ScheduleError::Interval(_))
        ));
        assert!(matches!(
            MotionSchedule::parse("every:4s:20s"),
            Err(ScheduleError::Periodic(_))
        ));
        assert!(matches!(
            parse_camera_spec("5s..8s"),
            Err(ScheduleError::Spec(_))
        ));
        let (cam, sched) = parse_camera_spec("cam2=5s..8s").unwrap();
        assert_eq!(cam, "cam2");
        assert_eq!(sched.intervals, vec![(s(5.0), s(8.0))]);
    }
}
