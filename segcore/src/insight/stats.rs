//! The statistics behind segment KPIs, as sufficient statistics that merge (so partitions of an
//! audience, on Dask workers say, combine exactly — never an average of averages) and the
//! intervals and tests computed from them. Distributions come from statrs.
//!
//! - a rate: successes of trials, with a Wilson score interval;
//! - a value: count, mean and sum of squared deviations (Welford's; merged with Chan's
//!   formula), with a Student t interval;
//! - two rates compared by the pooled two-proportion z test, two values by Welch's t test;
//! - many p-values adjusted by Benjamini–Hochberg;
//! - the sample a test needs per arm to detect a difference in rates.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::error::{Error, Result};

/// A confidence level or probability that must lie strictly between 0 and 1.
fn check_unit(x: f64, what: &str) -> Result<()> {
    if x > 0.0 && x < 1.0 {
        Ok(())
    } else {
        Err(Error::InvalidValue(format!(
            "{what} must lie strictly between 0 and 1, not {x}"
        )))
    }
}

/// The standard normal quantile at `p` (0 < p < 1, checked by the callers).
fn z(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// Two-sided p-value of a standard normal statistic.
fn normal_p(statistic: f64) -> f64 {
    (2.0 * Normal::standard().sf(statistic.abs())).min(1.0)
}

/// A closed interval around an estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// Successes out of trials: a conversion rate's sufficient statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Proportion {
    /// Trials that succeeded.
    pub successes: u64,
    /// Trials.
    pub trials: u64,
}

impl Proportion {
    /// `successes` of `trials`; refused when there are more successes than trials.
    pub fn new(successes: u64, trials: u64) -> Result<Proportion> {
        if successes > trials {
            return Err(Error::InvalidValue(format!(
                "{successes} successes of {trials} trials"
            )));
        }
        Ok(Proportion { successes, trials })
    }

    /// The rate, or `None` without trials.
    pub fn rate(&self) -> Option<f64> {
        (self.trials > 0).then(|| self.successes as f64 / self.trials as f64)
    }

    /// Both partitions' trials together.
    pub fn merge(&self, other: &Proportion) -> Proportion {
        Proportion {
            successes: self.successes + other.successes,
            trials: self.trials + other.trials,
        }
    }

    /// The Wilson score interval at `confidence` (e.g. 0.95): it stays inside [0, 1] and keeps
    /// its coverage for small samples and rates near 0 or 1, where the normal approximation
    /// does not. `None` without trials.
    ///
    /// ```
    /// let p = segcore::insight::Proportion::new(10, 100)?;
    /// let ci = p.wilson(0.95)?.unwrap();
    /// assert!((ci.low - 0.05523).abs() < 1e-5 && (ci.high - 0.17437).abs() < 1e-5);
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn wilson(&self, confidence: f64) -> Result<Option<Interval>> {
        check_unit(confidence, "the confidence level")?;
        let Some(p) = self.rate() else {
            return Ok(None);
        };
        let n = self.trials as f64;
        let z = z(0.5 + confidence / 2.0);
        let z2 = z * z;
        let denominator = 1.0 + z2 / n;
        let center = (p + z2 / (2.0 * n)) / denominator;
        let half = z / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
        Ok(Some(Interval {
            low: (center - half).max(0.0),
            high: (center + half).min(1.0),
        }))
    }
}

/// Count, mean and sum of squared deviations of a value: its sufficient statistics, updated
/// one value at a time (Welford) and merged exactly (Chan et al.).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// How many values.
    pub n: u64,
    /// Their mean (0 when there are none).
    pub mean: f64,
    /// The sum of their squared deviations from the mean.
    pub m2: f64,
}

impl Summary {
    /// The summary of `values`.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Summary {
        let mut s = Summary::default();
        for x in values {
            s.push(x);
        }
        s
    }

    /// Adds one value.
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// Both partitions' values together.
    pub fn merge(&self, other: &Summary) -> Summary {
        if self.n == 0 {
            return *other;
        }
        if other.n == 0 {
            return *self;
        }
        let n = self.n + other.n;
        let delta = other.mean - self.mean;
        let (a, b) = (self.n as f64, other.n as f64);
        Summary {
            n,
            mean: self.mean + delta * b / n as f64,
            m2: self.m2 + other.m2 + delta * delta * a * b / n as f64,
        }
    }

    /// The sample variance (n − 1 in the denominator), or `None` under two values.
    pub fn variance(&self) -> Option<f64> {
        (self.n >= 2).then(|| (self.m2 / (self.n - 1) as f64).max(0.0))
    }

    /// The Student t interval for the mean at `confidence`, or `None` under two values.
    ///
    /// ```
    /// let s = segcore::insight::Summary::of([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
    /// let ci = s.t_interval(0.95)?.unwrap();
    /// // mean 5, sd 2.138, t(0.975, 7) = 2.3646
    /// assert!((ci.low - 3.2125).abs() < 1e-3 && (ci.high - 6.7875).abs() < 1e-3);
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn t_interval(&self, confidence: f64) -> Result<Option<Interval>> {
        check_unit(confidence, "the confidence level")?;
        let Some(variance) = self.variance() else {
            return Ok(None);
        };
        let n = self.n as f64;
        let half = t_quantile(0.5 + confidence / 2.0, n - 1.0) * (variance / n).sqrt();
        Ok(Some(Interval {
            low: self.mean - half,
            high: self.mean + half,
        }))
    }
}

fn t_quantile(p: f64, freedom: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, freedom) {
        Ok(t) => t.inverse_cdf(p),
        Err(_) => z(p),
    }
}

/// A comparison of two groups: the difference of their estimates, the relative lift, the test
/// statistic and its two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Test {
    /// First group's estimate minus the second's.
    pub difference: f64,
    /// The difference relative to the second group's estimate (`None` when that is 0).
    pub relative_lift: Option<f64>,
    /// z for rates, Welch's t for values.
    pub statistic: f64,
    /// Degrees of freedom of Welch's t (`None` for the z test).
    pub freedom: Option<f64>,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// The pooled two-proportion z test of `a` against `b`; `None` when either has no trials.
/// Rates that are both 0 or both 1 do not differ: p = 1.
///
/// ```
/// use segcore::insight::{two_proportion_test, Proportion};
/// let t = two_proportion_test(&Proportion::new(60, 500)?, &Proportion::new(40, 500)?).unwrap();
/// assert!((t.statistic - 2.1082).abs() < 1e-4 && (t.p_value - 0.03501).abs() < 1e-5);
/// # Ok::<(), segcore::Error>(())
/// ```
pub fn two_proportion_test(a: &Proportion, b: &Proportion) -> Option<Test> {
    let (pa, pb) = (a.rate()?, b.rate()?);
    let pooled = (a.successes + b.successes) as f64 / (a.trials + b.trials) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / a.trials as f64 + 1.0 / b.trials as f64)).sqrt();
    let difference = pa - pb;
    let (statistic, p_value) = if se > 0.0 {
        let z = difference / se;
        (z, normal_p(z))
    } else {
        (0.0, 1.0)
    };
    Some(Test {
        difference,
        relative_lift: (pb != 0.0).then(|| difference / pb),
        statistic,
        freedom: None,
        p_value,
    })
}

/// Welch's t test of the means of `a` and `b` (unequal variances); `None` when either has
/// fewer than two values. Two constant groups with different means differ certainly (p = 0),
/// with equal means not at all (p = 1).
pub fn welch_test(a: &Summary, b: &Summary) -> Option<Test> {
    let (va, vb) = (a.variance()?, b.variance()?);
    let (na, nb) = (a.n as f64, b.n as f64);
    let difference = a.mean - b.mean;
    let relative_lift = (b.mean != 0.0).then(|| difference / b.mean);
    let (sa, sb) = (va / na, vb / nb);
    let se2 = sa + sb;
    if se2 <= 0.0 {
        let differ = difference != 0.0;
        return Some(Test {
            difference,
            relative_lift,
            statistic: if differ {
                f64::INFINITY.copysign(difference)
            } else {
                0.0
            },
            freedom: None,
            p_value: if differ { 0.0 } else { 1.0 },
        });
    }
    let t = difference / se2.sqrt();
    let freedom = se2 * se2 / (sa * sa / (na - 1.0) + sb * sb / (nb - 1.0));
    let p_value = match StudentsT::new(0.0, 1.0, freedom) {
        Ok(dist) => (2.0 * dist.sf(t.abs())).min(1.0),
        Err(_) => normal_p(t),
    };
    Some(Test {
        difference,
        relative_lift,
        statistic: t,
        freedom: Some(freedom),
        p_value,
    })
}

/// Benjamini–Hochberg adjusted p-values, in the order given: comparing many segments at once,
/// the segments whose adjusted p-value is below α keep the expected share of false findings
/// among them at most α.
///
/// ```
/// let adjusted = segcore::insight::benjamini_hochberg(&[0.01, 0.04, 0.03, 0.2]);
/// assert_eq!(adjusted, [0.04, 0.05333333333333334, 0.05333333333333334, 0.2]);
/// ```
pub fn benjamini_hochberg(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![0.0; m];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        let scaled = p_values[i] * m as f64 / (rank + 1) as f64;
        running = running.min(scaled).min(1.0);
        adjusted[i] = running;
    }
    adjusted
}

/// How many profiles each arm of an A/B test needs to detect a change of a rate from
/// `baseline` by `minimum_effect` (absolute: 0.02 for two points), with a two-sided test at
/// significance `alpha` and the given `power` (the normal approximation without continuity
/// correction, as in Fleiss):
///
/// n = (z₁₋α/₂·√(2·p̄·(1−p̄)) + z₁₋β·√(p₁(1−p₁) + p₂(1−p₂)))² / (p₂ − p₁)²
///
/// ```
/// // 10% to 15%, α = 0.05, power 0.8: 686 a group (685.6 before rounding up)
/// assert_eq!(segcore::insight::sample_size_per_arm(0.10, 0.05, 0.05, 0.8)?, 686);
/// # Ok::<(), segcore::Error>(())
/// ```
pub fn sample_size_per_arm(
    baseline: f64,
    minimum_effect: f64,
    alpha: f64,
    power: f64,
) -> Result<u64> {
    check_unit(baseline, "the baseline rate")?;
    check_unit(alpha, "alpha")?;
    check_unit(power, "the power")?;
    let target = baseline + minimum_effect;
    if minimum_effect == 0.0 || !(target > 0.0 && target < 1.0) {
        return Err(Error::InvalidValue(format!(
            "a minimum effect of {minimum_effect} from a baseline of {baseline} does not give \
             a rate strictly between 0 and 1 that differs from it"
        )));
    }
    let mean = (baseline + target) / 2.0;
    let numerator = z(1.0 - alpha / 2.0) * (2.0 * mean * (1.0 - mean)).sqrt()
        + z(power) * (baseline * (1.0 - baseline) + target * (1.0 - target)).sqrt();
    let n = (numerator / minimum_effect).powi(2);
    Ok(n.ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn wilson_matches_textbook_values() {
        // Newcombe (1998), Statistics in Medicine 17, table I: 81/263 → 0.2553 to 0.3662;
        // 15/148 → 0.0624 to 0.1605; 0/20 → 0 to 0.1611; 1/29 → 0.0061 to 0.1718.
        for (x, n, low, high) in [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
        ] {
            let ci = Proportion::new(x, n)
                .unwrap()
                .wilson(0.95)
                .unwrap()
                .unwrap();
            assert!(
                close(ci.low, low, 1e-4) && close(ci.high, high, 1e-4),
                "{x}/{n}: {ci:?}"
            );
        }
        assert_eq!(Proportion::new(0, 0).unwrap().wilson(0.95).unwrap(), None);
        assert_eq!(Proportion::new(3, 2).unwrap_err().kind(), "invalid_value");
        for bad in [0.0, 1.0, -0.5, f64::NAN] {
            assert_eq!(
                Proportion::new(1, 2)
                    .unwrap()
                    .wilson(bad)
                    .unwrap_err()
                    .kind(),
                "invalid_value"
            );
        }
    }

    #[test]
    fn summaries_merge_exactly() {
        let values: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1013) as f64 * 0.37 + 1e6)
            .collect();
        let whole = Summary::of(values.iter().copied());
        for cut in [0, 1, 500, 999, 1000] {
            let merged = Summary::of(values[..cut].iter().copied())
                .merge(&Summary::of(values[cut..].iter().copied()));
            assert_eq!(merged.n, whole.n);
            assert!(close(merged.mean, whole.mean, 1e-6), "{cut}");
            assert!(close(merged.m2, whole.m2, whole.m2 * 1e-9), "{cut}");
        }
        let mean = values.iter().sum::<f64>() / 1000.0;
        let variance = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 999.0;
        assert!(close(whole.variance().unwrap(), variance, variance * 1e-9));
    }

    #[test]
    fn welch_matches_a_worked_example() {
        // scipy.stats.ttest_ind(a, b, equal_var=False) on these samples gives
        // t = -3.535130, df = 11.548999, p = 0.004345533.
        let a = Summary::of([19.1, 20.2, 18.5, 21.0, 19.7, 20.4, 18.9, 20.0]);
        let b = Summary::of([21.4, 20.9, 23.1, 19.8, 22.5, 21.7, 24.0, 20.6]);
        let t = welch_test(&a, &b).unwrap();
        assert!(close(t.statistic, -3.535130, 1e-6), "{t:?}");
        assert!(close(t.freedom.unwrap(), 11.548999, 1e-6), "{t:?}");
        assert!(close(t.p_value, 0.004345533, 1e-8), "{t:?}");
        let constant = Summary::of([1.0, 1.0]);
        assert_eq!(welch_test(&constant, &constant).unwrap().p_value, 1.0);
        assert_eq!(
            welch_test(&constant, &Summary::of([2.0, 2.0]))
                .unwrap()
                .p_value,
            0.0
        );
        assert_eq!(welch_test(&Summary::of([1.0]), &constant), None);
    }

    #[test]
    fn benjamini_hochberg_is_monotone_and_capped() {
        let p = [
            0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216,
        ];
        let adjusted = benjamini_hochberg(&p);
        // Benjamini & Hochberg's procedure by hand: p(i) · m / i, then running minima from the top.
        let expected = [
            0.01,
            0.04,
            0.084,
            0.084,
            0.084,
            0.1,
            0.10571428571428572,
            0.216,
            0.216,
            0.216,
        ];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!(close(*a, e, 1e-12), "{adjusted:?}");
        }
        assert_eq!(benjamini_hochberg(&[]), Vec::<f64>::new());
        assert_eq!(benjamini_hochberg(&[0.9, 0.9]), [0.9, 0.9]);
    }

    #[test]
    fn sample_sizes_refuse_what_cannot_be_tested() {
        assert_eq!(sample_size_per_arm(0.5, 0.1, 0.05, 0.8).unwrap(), 388);
        for (b, e, a, p) in [
            (0.0, 0.1, 0.05, 0.8),
            (0.5, 0.0, 0.05, 0.8),
            (0.95, 0.1, 0.05, 0.8),
            (0.5, 0.1, 1.0, 0.8),
        ] {
            assert_eq!(
                sample_size_per_arm(b, e, a, p).unwrap_err().kind(),
                "invalid_value"
            );
        }
    }
}
