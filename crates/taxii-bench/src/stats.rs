//! Latency percentiles (nearest rank) over recorded durations in microseconds.

/// The nearest-rank `q`-quantile (0 < q ≤ 1) of `sorted` (ascending); `None` when empty.
pub fn percentile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = (q * n as f64).ceil() as usize;
    let index = rank.clamp(1, n) - 1;
    Some(sorted[index])
}

/// Summary of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Summary {
    /// Sorts `micros` and summarises it; zeros when empty.
    pub fn of(micros: &mut [u64]) -> Self {
        micros.sort_unstable();
        let ms = |q: f64| percentile(micros, q).map_or(0.0, |v| v as f64 / 1000.0);
        Self {
            p50_ms: ms(0.50),
            p90_ms: ms(0.90),
            p99_ms: ms(0.99),
            max_ms: ms(1.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.50), Some(50));
        assert_eq!(percentile(&v, 0.99), Some(99));
        assert_eq!(percentile(&v, 1.0), Some(100));
        assert_eq!(percentile(&v, 0.001), Some(1));
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7], 0.99), Some(7));
        let w = [10, 20, 30, 40];
        assert_eq!(percentile(&w, 0.5), Some(20));
        assert_eq!(percentile(&w, 0.51), Some(30));
        assert_eq!(percentile(&w, 0.99), Some(40));
    }

    #[test]
    fn summary_sorts_and_converts() {
        let mut v = vec![3000, 1000, 2000];
        let s = Summary::of(&mut v);
        assert_eq!(s.p50_ms, 2.0);
        assert_eq!(s.p99_ms, 3.0);
        assert_eq!(s.max_ms, 3.0);
        assert_eq!(Summary::of(&mut []).p50_ms, 0.0);
    }
}
