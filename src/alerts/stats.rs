//! The statistics of "is this more than usual?", for small counts.
//!
//! Complaints about one aspect arrive a few a day, so normal approximations do not
//! hold. The test is the Poisson upper tail: how likely is it to see at least `observed`
//! voices when `expected` is the usual rate for this window? A signal needs that tail
//! below `alpha`, at least `min_voices`, and at least `min_ratio` times the expected
//! count — the last two keep a quiet aspect (expected 0.1) from alarming on two posts.

/// P(X ≥ k) for X ~ Poisson(λ).
pub fn poisson_upper_tail(k: u64, lambda: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if lambda <= 0.0 {
        return 0.0;
    }
    // pmf(k) in log space, then the terms upwards by the recurrence pmf(i+1) = pmf(i)·λ/(i+1)
    // until they no longer matter.
    let k_f = k as f64;
    let log_pmf = -lambda + k_f * lambda.ln() - ln_factorial(k);
    let mut term = log_pmf.exp();
    let mut sum = 0.0;
    let mut i = k_f;
    for _ in 0..10_000 {
        sum += term;
        i += 1.0;
        term *= lambda / i;
        if term < sum * 1e-12 {
            break;
        }
    }
    sum.min(1.0)
}

/// P(X ≥ k) for X ~ Binomial(n, p).
pub fn binomial_upper_tail(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    // pmf(k) in log space, then the terms upwards by the recurrence
    // pmf(i+1) = pmf(i)·(n−i)/(i+1)·p/(1−p) until they no longer matter.
    let log_pmf = ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
        + k as f64 * p.ln()
        + (n - k) as f64 * (1.0 - p).ln();
    let odds = p / (1.0 - p);
    let mean = n as f64 * p;
    let mut term = log_pmf.exp();
    let mut sum = 0.0;
    for i in k..=n {
        sum += term;
        term *= (n - i) as f64 / (i + 1) as f64 * odds;
        // Past the mean the terms only fall.
        if i as f64 > mean && term < sum * 1e-12 {
            break;
        }
    }
    sum.min(1.0)
}

/// A word's recent voices against its voices in a baseline sample: the exact test of
/// two counts (given that `observed + background` voices used the word, how likely
/// `observed` or more of them fall in the recent sample, whose share of all voices is
/// `recent / (recent + baseline)`). A plug-in expectation from the baseline alone would
/// take a word that the baseline missed by chance for a new one: among thousands of
/// rare words, dozens. `expected` is what the baseline's share predicts, for the ratio.
pub fn compare_samples(
    observed: u64,
    background: u64,
    (recent, baseline): (u64, u64),
    expected: f64,
    t: &Thresholds,
) -> Comparison {
    let expected = expected.max(EXPECTED_FLOOR);
    let share = recent as f64 / (recent + baseline).max(1) as f64;
    let p_value = binomial_upper_tail(observed, observed + background, share);
    judged(observed, expected, p_value, t)
}

/// ln(n!), exact summation for small n, Stirling's series beyond.
fn ln_factorial(n: u64) -> f64 {
    if n < 64 {
        return (2..=n).map(|i| (i as f64).ln()).sum();
    }
    let n = n as f64;
    n * n.ln() - n + 0.5 * (2.0 * std::f64::consts::PI * n).ln() + 1.0 / (12.0 * n)
        - 1.0 / (360.0 * n.powi(3))
}

/// The thresholds a window must pass to be a signal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub alpha: f64,
    pub min_voices: u64,
    pub min_ratio: f64,
}

/// How a window compares with its baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    pub observed: u64,
    pub expected: f64,
    pub p_value: f64,
    pub signal: bool,
}

/// The least expected count assumed: a key never seen before still has some chance.
const EXPECTED_FLOOR: f64 = 0.2;

/// Compares `observed` voices in a window with `expected` ones.
pub fn compare(observed: u64, expected: f64, t: &Thresholds) -> Comparison {
    let expected = expected.max(EXPECTED_FLOOR);
    judged(
        observed,
        expected,
        poisson_upper_tail(observed, expected),
        t,
    )
}

/// A comparison with its p-value, and whether it is a signal by `t`.
fn judged(observed: u64, expected: f64, p_value: f64, t: &Thresholds) -> Comparison {
    Comparison {
        observed,
        expected,
        p_value,
        signal: observed >= t.min_voices
            && p_value < t.alpha
            && observed as f64 >= t.min_ratio * expected,
    }
}

/// The expected count for a window, from the same window on earlier weeks (weekday and
/// time of day alike) blended with the overall rate of the baseline period: the first
/// follows the weekly rhythm, the second keeps one odd week from deciding alone.
pub fn expected_count(same_window_earlier_weeks: &[u64], baseline_rate_per_window: f64) -> f64 {
    if same_window_earlier_weeks.is_empty() {
        return baseline_rate_per_window;
    }
    let weekly = same_window_earlier_weeks.iter().sum::<u64>() as f64
        / same_window_earlier_weeks.len() as f64;
    0.5 * weekly + 0.5 * baseline_rate_per_window
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_tail_matches_known_values() {
        // P(X >= 3 | 5, 0.5) = (10 + 5 + 1) / 32
        assert!((binomial_upper_tail(3, 5, 0.5) - 0.5).abs() < 1e-12);
        // P(X >= 8 | 8, 0.6) = 0.6^8
        assert!((binomial_upper_tail(8, 8, 0.6) - 0.6f64.powi(8)).abs() < 1e-12);
        // P(X >= 1 | 10, 0.1) = 1 - 0.9^10
        let p = binomial_upper_tail(1, 10, 0.1);
        assert!((p - (1.0 - 0.9f64.powi(10))).abs() < 1e-12, "{p}");
        // Large n: P(X >= 600 | 1000, 0.5) is about 1.4e-10.
        let p = binomial_upper_tail(600, 1000, 0.5);
        assert!((1e-10..2e-10).contains(&p), "{p}");
        assert_eq!(binomial_upper_tail(0, 4, 0.3), 1.0);
        assert_eq!(binomial_upper_tail(5, 4, 0.3), 0.0);
    }

    #[test]
    fn poisson_tail_matches_known_values() {
        // P(X >= 1 | 1) = 1 - e^-1
        assert!((poisson_upper_tail(1, 1.0) - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
        // P(X >= 10 | 2) ≈ 4.6498e-5
        let p = poisson_upper_tail(10, 2.0);
        assert!((p - 4.6498e-5).abs() < 1e-8, "{p}");
        // Large counts stay finite and tiny (below what f64 holds: zero).
        let p = poisson_upper_tail(500, 20.0);
        assert!((0.0..1e-100).contains(&p), "{p}");
        assert_eq!(poisson_upper_tail(0, 3.0), 1.0);
        assert_eq!(poisson_upper_tail(3, 0.0), 0.0);
        let p = poisson_upper_tail(100, 100.0);
        assert!((p - 0.5133).abs() < 1e-3, "{p}");
    }

    #[test]
    fn small_counts_need_all_three_thresholds() {
        let t = Thresholds {
            alpha: 0.001,
            min_voices: 5,
            min_ratio: 3.0,
        };
        // 14 voices where 2 are usual: a signal.
        assert!(compare(14, 2.0, &t).signal);
        // Two posts on a quiet aspect: improbable, but too few.
        assert!(!compare(2, 0.01, &t).signal);
        // 60 where 40 are usual: significant, but not three times as many.
        assert!(!compare(60, 40.0, &t).signal);
        // 6 where 2 are usual: not improbable enough.
        assert!(!compare(6, 2.0, &t).signal);
    }

    #[test]
    fn expected_count_blends_weekly_and_overall() {
        assert_eq!(expected_count(&[], 2.0), 2.0);
        assert_eq!(expected_count(&[4, 6], 2.0), 3.5);
    }
}
