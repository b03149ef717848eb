//! Medians and the like over per-pod samples.

use std::time::Duration;

/// The median of a set of durations, in milliseconds (0 for none).
pub fn median_ms(samples: &[Duration]) -> f64 {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    if n == 0 {
        return 0.0;
    }
    let mid = n / 2;
    let upper = ms.get(mid).copied().unwrap_or(0.0);
    if n % 2 == 1 {
        upper
    } else {
        (ms.get(mid - 1).copied().unwrap_or(upper) + upper) / 2.0
    }
}

/// The first and last `share` of the samples (at least one each), to compare an empty node
/// with a full one.
pub fn ends(samples: &[Duration], share: f64) -> (&[Duration], &[Duration]) {
    let n = samples.len();
    // Truncation is the point: a whole number of pods, at least one.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let k = ((n as f64 * share) as usize).clamp(1, n.max(1));
    let first = samples.get(..k.min(n)).unwrap_or_default();
    let last = samples.get(n.saturating_sub(k)..).unwrap_or_default();
    (first, last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|m| Duration::from_millis(*m)).collect()
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median_ms(&ms(&[5, 1, 3])), 3.0);
        assert_eq!(median_ms(&ms(&[4, 1, 3, 2])), 2.5);
        assert_eq!(median_ms(&[]), 0.0);
    }

    #[test]
    fn ends_take_a_share_from_each_side() {
        let s = ms(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        let (a, b) = ends(&s, 0.2);
        assert_eq!(a, &ms(&[1, 2])[..]);
        assert_eq!(b, &ms(&[9, 10])[..]);
        let one = ms(&[7]);
        let (a, b) = ends(&one, 0.1);
        assert_eq!((a.len(), b.len()), (1, 1));
    }
}
