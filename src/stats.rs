//! Summary statistics over replicates: streaming mean and variance, and Student-t confidence
//! intervals.
//!
//! Values are added in replicate order (the experiment runners guarantee it), so the sums, and
//! every digit of the output, do not depend on which run finished first.
//!
//! Owns: `Moments`, t quantiles, Welch intervals. Reads: nothing in the crate. Never: anything
//! above it.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Streaming mean and variance (Welford's update): constant memory whatever the number of
/// replicates. Non-finite values (a share that does not exist in some run) are skipped and
/// not counted.
///
/// ```
/// use paymarket::stats::Moments;
/// let mut m = Moments::default();
/// for x in [1.0, 2.0, 3.0, 4.0, 5.0] {
///     m.add(x);
/// }
/// assert_eq!(m.mean(), 3.0);
/// assert!((m.sd() - 2.5f64.sqrt()).abs() < 1e-12);
/// let (lo, hi) = m.ci95();
/// // t(0.975, 4 df) = 2.776: 3 ± 2.776 · sqrt(2.5 / 5)
/// assert!((hi - 3.0 - 2.7764451 * 0.5f64.sqrt()).abs() < 1e-6);
/// assert!((3.0 - lo - (hi - 3.0)).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    /// Adds one observation (ignored unless finite).
    #[inline]
    pub fn add(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Multiplies every observation by `k` (a change of units).
    pub fn scale(&mut self, k: f64) {
        self.mean *= k;
        self.m2 *= k * k;
    }

    /// Number of observations.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// Sample mean (NaN when empty).
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.mean
        }
    }

    /// Sample variance with `n − 1` in the denominator (NaN below two observations).
    pub fn var(&self) -> f64 {
        if self.n < 2 {
            f64::NAN
        } else {
            self.m2 / (self.n - 1) as f64
        }
    }

    /// Sample standard deviation (NaN below two observations).
    pub fn sd(&self) -> f64 {
        self.var().sqrt()
    }

    /// The 95% confidence interval of the mean, `mean ± t(0.975, n−1)·sd/√n` (NaN below two
    /// observations).
    pub fn ci95(&self) -> (f64, f64) {
        if self.n < 2 {
            return (f64::NAN, f64::NAN);
        }
        let half = t975(self.n - 1) * (self.var() / self.n as f64).sqrt();
        (self.mean - half, self.mean + half)
    }
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom (`df` ≥ 1; fractional degrees
/// of freedom are allowed through [`t975_f`]).
pub fn t975(df: u64) -> f64 {
    t975_f(df as f64)
}

/// [`t975`] for real-valued degrees of freedom (Welch's interval).
pub fn t975_f(df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(t) => t.inverse_cdf(0.975),
        Err(_) => f64::NAN,
    }
}

/// The unpaired (Welch) 95% interval of `mean(b) − mean(a)` for two independent samples: what
/// a comparison without common random numbers would report.
pub fn welch_ci95(a: &Moments, b: &Moments) -> (f64, f64) {
    if a.n() < 2 || b.n() < 2 {
        return (f64::NAN, f64::NAN);
    }
    let (va, vb) = (a.var() / a.n() as f64, b.var() / b.n() as f64);
    let se2 = va + vb;
    let d = b.mean() - a.mean();
    if se2 == 0.0 {
        return (d, d);
    }
    let df = se2 * se2 / (va * va / (a.n() - 1) as f64 + vb * vb / (b.n() - 1) as f64);
    let half = t975_f(df) * se2.sqrt();
    (d - half, d + half)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_table() {
        // Standard t-table values (two-sided 95%).
        for (df, t) in [
            (1, 12.706),
            (4, 2.776),
            (9, 2.262),
            (19, 2.093),
            (49, 2.010),
        ] {
            assert!((t975(df) - t).abs() < 5e-4, "df {df}: {}", t975(df));
        }
    }

    #[test]
    fn moments_of_a_hand_made_sample() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32, variance 32/7.
        let mut m = Moments::default();
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0, f64::NAN] {
            m.add(x);
        }
        assert_eq!(m.n(), 8);
        assert!((m.mean() - 5.0).abs() < 1e-15);
        assert!((m.var() - 32.0 / 7.0).abs() < 1e-12);
        let (lo, hi) = m.ci95();
        // t(0.975, 7) = 2.3646
        let half = 2.364_624_251_6 * (32.0 / 7.0 / 8.0f64).sqrt();
        assert!((lo - (5.0 - half)).abs() < 1e-8 && (hi - (5.0 + half)).abs() < 1e-8);
    }

    #[test]
    fn welch_interval_by_hand() {
        // a: 1..=5 (mean 3, var 2.5); b: 2, 4, 6, 8, 10 (mean 6, var 10).
        let (mut a, mut b) = (Moments::default(), Moments::default());
        for x in 1..=5 {
            a.add(x as f64);
            b.add(2.0 * x as f64);
        }
        // se² = 0.5 + 2 = 2.5; df = 2.5² / (0.25/4 + 4/4) = 6.25 / 1.0625 = 5.882.
        let (lo, hi) = welch_ci95(&a, &b);
        let half = t975_f(6.25 / 1.0625) * 2.5f64.sqrt();
        assert!((lo - (3.0 - half)).abs() < 1e-12 && (hi - (3.0 + half)).abs() < 1e-12);
        assert!(half > 2.447 * 2.5f64.sqrt() && half < 2.571 * 2.5f64.sqrt());
    }

    #[test]
    fn fewer_than_two_observations_give_no_interval() {
        let mut m = Moments::default();
        assert!(m.mean().is_nan());
        m.add(1.0);
        assert_eq!(m.mean(), 1.0);
        assert!(m.sd().is_nan() && m.ci95().0.is_nan());
    }
}
