// SPDX-License-Identifier: MIT OR Apache-2.0

//! Percentiles of a set of samples (nearest rank, so a reported figure is a measured sample).

/// p50/p95/p99 and the extremes of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub min: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// The nearest-rank percentile `p` (0..=100) of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Summarises samples; `None` when there are none.
pub fn summarize(samples: &[f64]) -> Option<Summary> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    Some(Summary {
        n: sorted.len(),
        min: sorted[0],
        p50: percentile(&sorted, 50.0),
        p95: percentile(&sorted, 95.0),
        p99: percentile(&sorted, 99.0),
        max: sorted[sorted.len() - 1],
    })
}

/// Receipt minus capture time from a stamp, when the stamp is believable: of the expected
/// camera (if given) and from the last minute, not the future. The stamp's 4-bit check lets one
/// in sixteen garbled strips through (a peer drawing over it, say); this catches those.
pub fn plausible_latency(
    received_unix_ms: u64,
    stamp: Option<camwall::framestamp::Stamp>,
    camera: Option<u8>,
) -> Option<f64> {
    let s = stamp?;
    if camera.is_some_and(|c| c != s.camera) {
        return None;
    }
    let ms = received_unix_ms as f64 - s.unix_ms as f64;
    // The clock is shared, but rounding to ms on both ends allows a millisecond either way.
    (-2.0..60_000.0).contains(&ms).then_some(ms)
}

/// The mean of samples (0 for none).
pub fn mean(samples: &[f64]) -> f64 {
    samples.iter().sum::<f64>() / samples.len().max(1) as f64
}

/// The standard error of the mean of samples; `None` for fewer than two.
pub fn standard_error(samples: &[f64]) -> Option<f64> {
    let n = samples.len();
    if n < 2 {
        return None;
    }
    let m = mean(samples);
    let var = samples.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64;
    Some((var / n as f64).sqrt())
}

/// A number for a table: `-` when missing.
pub fn fmt(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "-".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_standard_error() {
        assert_eq!(mean(&[]), 0.0);
        assert_eq!(mean(&[1.0, 2.0, 6.0]), 3.0);
        assert_eq!(standard_error(&[5.0]), None);
        // Sample variance of 1, 2, 6 is 7; the error of the mean is sqrt(7 / 3).
        let e = standard_error(&[1.0, 2.0, 6.0]).expect("three samples");
        assert!((e - (7.0f64 / 3.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let s = summarize(&samples).unwrap();
        assert_eq!((s.n, s.min, s.max), (100, 1.0, 100.0));
        assert_eq!((s.p50, s.p95, s.p99), (50.0, 95.0, 99.0));
        let s = summarize(&[7.0, 3.0, f64::NAN]).unwrap();
        assert_eq!((s.n, s.p50, s.p95), (2, 3.0, 7.0));
    }

    #[test]
    fn implausible_stamps_are_refused() {
        use camwall::framestamp::Stamp;
        let s = |camera, unix_ms| Some(Stamp { camera, unix_ms });
        assert_eq!(
            plausible_latency(1_000_040, s(0, 1_000_000), Some(0)),
            Some(40.0)
        );
        assert_eq!(plausible_latency(1_000_040, s(1, 1_000_000), Some(0)), None);
        assert_eq!(
            plausible_latency(1_000_040, s(1, 1_000_000), None),
            Some(40.0)
        );
        assert_eq!(plausible_latency(1_000_000, s(0, 9_000_000), None), None);
        assert_eq!(plausible_latency(9_000_000, s(0, 1_000_000), None), None);
        assert_eq!(plausible_latency(1_000_000, None, None), None);
    }

    #[test]
    fn nothing_to_summarise() {
        assert_eq!(summarize(&[]), None);
        assert_eq!(fmt(None, 1), "-");
        assert_eq!(fmt(Some(1.26), 1), "1.3");
    }
}
