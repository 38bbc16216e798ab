//! A calibrated parameter's prior: uniform on its bounds or a truncated normal, its draws,
//! density and moments, and the unbounded coordinates in which the ABC sampler moves.
//!
//! Owns: `Prior`. Reads: the counter-based draws. Never: simulations.

use crate::rng::{mix64, std_normal, u01};

/// A parameter's prior: uniform on `[lo, hi]`, or a normal of `mean` and `sd` truncated to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
    /// `Some((mean, sd))` for a truncated normal.
    pub normal: Option<(f64, f64)>,
}

impl Prior {
    /// A uniform prior on `[lo, hi]`.
    pub fn uniform(lo: f64, hi: f64) -> Prior {
        Prior {
            lo,
            hi,
            normal: None,
        }
    }

    /// Whether `x` is inside the bounds.
    pub fn contains(&self, x: f64) -> bool {
        x >= self.lo && x <= self.hi
    }

    /// The density at `x` up to a constant factor common to every `x` (0 outside the bounds):
    /// the truncated normal's normalising constant cancels in the moves' prior ratio.
    pub fn density(&self, x: f64) -> f64 {
        if !self.contains(x) {
            return 0.0;
        }
        match self.normal {
            None => 1.0 / (self.hi - self.lo),
            Some((m, s)) => (-0.5 * ((x - m) / s).powi(2)).exp() / s,
        }
    }

    /// A draw from the prior, from the counter-based word `w` and further words derived from it
    /// (a truncated normal is drawn by rejection, at most 64 tries, then uniformly).
    pub fn draw(&self, w: u64) -> f64 {
        match self.normal {
            None => self.lo + (self.hi - self.lo) * u01(w),
            Some((m, s)) => {
                for k in 0..64u64 {
                    let x = m + s * std_normal(mix64(w ^ mix64(k + 1)));
                    if self.contains(x) {
                        return x;
                    }
                }
                self.lo + (self.hi - self.lo) * u01(w)
            }
        }
    }

    /// The prior's standard deviation (a uniform's, or the truncated normal's by quadrature),
    /// against which the posterior's spread is compared.
    pub fn sd(&self) -> f64 {
        self.moments().1
    }

    /// The prior's mean.
    pub fn mean(&self) -> f64 {
        self.moments().0
    }

    /// Mean and standard deviation: in closed form for a uniform, by the midpoint rule over
    /// 2,000 steps for a truncated normal.
    fn moments(&self) -> (f64, f64) {
        if self.normal.is_none() {
            return (
                0.5 * (self.lo + self.hi),
                (self.hi - self.lo) / 12f64.sqrt(),
            );
        }
        let n = 2000;
        let h = (self.hi - self.lo) / n as f64;
        let (mut z, mut m1, mut m2) = (0.0, 0.0, 0.0);
        for k in 0..n {
            let x = self.lo + h * (k as f64 + 0.5);
            let d = self.density(x);
            z += d;
            m1 += d * x;
            m2 += d * x * x;
        }
        let mean = m1 / z;
        (mean, (m2 / z - mean * mean).max(0.0).sqrt())
    }

    /// A bounded coordinate's unbounded image, `logit((x − lo)/(hi − lo))`: the sampler's
    /// moves are a Gaussian random walk there, so that no step leaves the bounds (with thirty
    /// bounded parameters, steps in the parameters themselves almost always left one).
    pub(crate) fn free_of(&self, x: f64) -> f64 {
        let q = ((x - self.lo) / (self.hi - self.lo)).clamp(1e-12, 1.0 - 1e-12);
        (q / (1.0 - q)).ln()
    }

    /// The inverse of [`Prior::free_of`].
    pub(crate) fn bounded_of(&self, u: f64) -> f64 {
        self.lo + (self.hi - self.lo) / (1.0 + (-u).exp())
    }

    /// The density in the unbounded coordinates at `x` (up to a constant): the density times
    /// the Jacobian `dx/du = (x − lo)(hi − x)/(hi − lo)`.
    pub(crate) fn free_density(&self, x: f64) -> f64 {
        self.density(x) * (x - self.lo) * (self.hi - x) / (self.hi - self.lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prior_moments_match_their_formulas() {
        let u = Prior::uniform(2.0, 4.0);
        assert!((u.mean() - 3.0).abs() < 1e-12);
        assert!((u.sd() - 2.0 / 12f64.sqrt()).abs() < 1e-12);
        // A normal truncated far out is the normal.
        let n = Prior {
            lo: -10.0,
            hi: 10.0,
            normal: Some((1.0, 0.5)),
        };
        assert!((n.mean() - 1.0).abs() < 1e-6);
        assert!((n.sd() - 0.5).abs() < 1e-4);
        // Truncated at the mean: the half-normal's mean m + s·√(2/π).
        let h = Prior {
            lo: 1.0,
            hi: 20.0,
            normal: Some((1.0, 0.5)),
        };
        assert!((h.mean() - (1.0 + 0.5 * (2.0 / std::f64::consts::PI).sqrt())).abs() < 1e-3);
        for k in 0..1000u64 {
            assert!(h.contains(h.draw(mix64(k))));
        }
    }
}
