//! Medians and percentiles of durations.

use std::time::Duration;

#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub n: usize,
    pub median: Duration,
    pub p90: Duration,
    pub min: Duration,
    pub max: Duration,
}

impl Summary {
    /// `None` for no samples. Percentiles are nearest-rank.
    pub fn of(samples: &[Duration]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort();
        let rank = |p: f64| sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
        let median = if sorted.len() % 2 == 1 {
            sorted[sorted.len() / 2]
        } else {
            (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2
        };
        Some(Self { n: sorted.len(), median, p90: rank(0.9), min: sorted[0], max: sorted[sorted.len() - 1] })
    }
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p90() {
        let samples: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        let s = Summary::of(&samples).unwrap();
        assert_eq!(s.median, Duration::from_micros(5500));
        assert_eq!(s.p90, Duration::from_millis(9));
        assert_eq!((s.min, s.max, s.n), (Duration::from_millis(1), Duration::from_millis(10), 10));
        assert!(Summary::of(&[]).is_none());
    }
}
