//! Approximate Bayesian computation: not one best point but the set of parameter vectors whose
//! simulations come within a tolerance of the data, weighted so that they sample the posterior
//! of declared priors.
//!
//! The sampler is the adaptive population Monte Carlo ABC of Lenormand, Jabot and Deffuant
//! (2013), made for costly stochastic simulators such as agent-based models: a fixed number of
//! simulations a generation (so it parallelises and its cost is known in advance), the tolerance
//! set each generation as a quantile of the distances, and a stop when few new candidates beat
//! it.
//!
//! 1. Draw `N` candidates from the prior and compute their distances; keep the `N_α = ⌊α·N⌋`
//!    nearest, with weight 1. The tolerance `ε` is the largest distance kept.
//! 2. Each generation draws `N − N_α` new candidates: a kept particle picked by weight, moved
//!    by a Gaussian kernel whose variance is twice the particles' weighted variance in each
//!    coordinate (drawn again while outside the prior's bounds), and weighted
//!    `π(θ) / Σ_i w̄_i K_σ(θ − θ_i)` (prior density over the proposal density, both proper, so
//!    old and new weights compare). Old and new together, the `N_α` nearest are kept and `ε`
//!    becomes the largest of their distances.
//! 3. Stop when the share of new candidates within the new `ε` falls below
//!    `min_acceptance`, or when the budget of candidates is spent.
//!
//! Every draw is a counter-based function of `(seed, generation, candidate, attempt)`, and
//! distances are computed in batches whose results do not depend on how they are scheduled,
//! so the posterior is identical on any thread or rank count.
//!
//! ```
//! use paymarket::calibrate::abc::{apmc, AbcSettings, Prior};
//! // One parameter with a uniform prior on [0, 1] and a distance that is its gap from 0.3:
//! // the particles close in on 0.3.
//! let priors = [Prior::uniform(0.0, 1.0)];
//! let st = AbcSettings { particles: 100, budget: 1000, ..AbcSettings::default() };
//! let post = apmc(&priors, &st, 7, |xs| Ok(xs.iter().map(|x| (x[0] - 0.3).abs()).collect()), |_| {})?;
//! let mean = post.mean()[0];
//! assert!((mean - 0.3).abs() < 0.05, "{mean}");
//! assert!(post.tolerance() < 0.05);
//! # Ok::<(), paymarket::Error>(())
//! ```
//!
//! Owns: `Prior`, `AbcSettings`, `Particle`, `Generation`, `Posterior`, `apmc`. Reads: the
//! counter-based draws. Never: simulations (the caller's distance does them), files.

use crate::error::{Error, Result};
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
    /// the truncated normal's normalising constant cancels in the weights, as every weight
    /// carries the same one.
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
        match self.normal {
            None => (self.hi - self.lo) / 12f64.sqrt(),
            Some(_) => {
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
                (m2 / z - mean * mean).max(0.0).sqrt()
            }
        }
    }

    /// The prior's mean.
    pub fn mean(&self) -> f64 {
        match self.normal {
            None => 0.5 * (self.lo + self.hi),
            Some(_) => {
                let n = 2000;
                let h = (self.hi - self.lo) / n as f64;
                let (mut z, mut m1) = (0.0, 0.0);
                for k in 0..n {
                    let x = self.lo + h * (k as f64 + 0.5);
                    let d = self.density(x);
                    z += d;
                    m1 += d * x;
                }
                m1 / z
            }
        }
    }
}

/// How the sampler runs.
#[derive(Debug, Clone, PartialEq)]
pub struct AbcSettings {
    /// `N`: candidates in the first generation; `N − N_α` are drawn in each later one.
    pub particles: usize,
    /// `α`: the share of candidates kept each generation (`N_α = ⌊α·N⌋` particles form the
    /// posterior sample).
    pub alpha: f64,
    /// Stop when fewer than this share of a generation's new candidates fall within the new
    /// tolerance.
    pub min_acceptance: f64,
    /// Most candidates in all, the first generation included.
    pub budget: usize,
}

impl Default for AbcSettings {
    fn default() -> Self {
        AbcSettings {
            particles: 200,
            alpha: 0.5,
            min_acceptance: 0.05,
            budget: 1200,
        }
    }
}

/// One particle: a parameter vector, its importance weight and its distance.
#[derive(Debug, Clone, PartialEq)]
pub struct Particle {
    /// Parameter values, in parameter order.
    pub x: Vec<f64>,
    /// Importance weight (not normalised).
    pub weight: f64,
    /// Distance to the data.
    pub distance: f64,
    /// The generation that drew it (0: the prior).
    pub generation: usize,
}

/// What one generation did.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// 0 for the draw from the prior.
    pub index: usize,
    /// New candidates simulated in it.
    pub candidates: usize,
    /// Candidates simulated so far, this generation's included.
    pub simulated: usize,
    /// The tolerance after it: the largest distance kept.
    pub tolerance: f64,
    /// The share of its new candidates within that tolerance (1 for the first).
    pub acceptance: f64,
}

/// The sampler's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    /// The kept particles: the posterior sample.
    pub particles: Vec<Particle>,
    /// The first generation's candidates, drawn from the prior, with their distances.
    pub prior_sample: Vec<Particle>,
    /// Each generation.
    pub generations: Vec<Generation>,
}

impl Posterior {
    /// The weights, normalised to sum to 1.
    pub fn normalised_weights(&self) -> Vec<f64> {
        let total: f64 = self.particles.iter().map(|p| p.weight).sum();
        self.particles.iter().map(|p| p.weight / total).collect()
    }

    /// The weighted mean of each parameter.
    pub fn mean(&self) -> Vec<f64> {
        weighted_mean(&self.particles, &self.normalised_weights())
    }

    /// The weighted standard deviation of each parameter.
    pub fn sd(&self) -> Vec<f64> {
        weighted_var(&self.particles, &self.normalised_weights())
            .into_iter()
            .map(f64::sqrt)
            .collect()
    }

    /// The final tolerance.
    pub fn tolerance(&self) -> f64 {
        self.generations.last().map_or(f64::NAN, |g| g.tolerance)
    }

    /// The weighted quantile `q` of parameter `k`.
    pub fn quantile(&self, k: usize, q: f64) -> f64 {
        let w = self.normalised_weights();
        let mut v: Vec<(f64, f64)> = self.particles.iter().map(|p| p.x[k]).zip(w).collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut acc = 0.0;
        for (x, w) in &v {
            acc += w;
            if acc >= q {
                return *x;
            }
        }
        v.last().map_or(f64::NAN, |x| x.0)
    }

    /// The weighted correlation of parameters `a` and `b`.
    pub fn correlation(&self, a: usize, b: usize) -> f64 {
        let w = self.normalised_weights();
        let m = self.mean();
        let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
        for (p, w) in self.particles.iter().zip(&w) {
            let (da, db) = (p.x[a] - m[a], p.x[b] - m[b]);
            sab += w * da * db;
            saa += w * da * da;
            sbb += w * db * db;
        }
        sab / (saa * sbb).sqrt()
    }

    /// The effective sample size of the weights, `1 / Σ w̄²`.
    pub fn effective_size(&self) -> f64 {
        1.0 / self.normalised_weights().iter().map(|w| w * w).sum::<f64>()
    }
}

fn weighted_mean(ps: &[Particle], w: &[f64]) -> Vec<f64> {
    let d = ps.first().map_or(0, |p| p.x.len());
    let mut m = vec![0.0; d];
    for (p, w) in ps.iter().zip(w) {
        for (mk, xk) in m.iter_mut().zip(&p.x) {
            *mk += w * xk;
        }
    }
    m
}

fn weighted_var(ps: &[Particle], w: &[f64]) -> Vec<f64> {
    let m = weighted_mean(ps, w);
    let mut v = vec![0.0; m.len()];
    for (p, w) in ps.iter().zip(w) {
        for ((vk, xk), mk) in v.iter_mut().zip(&p.x).zip(&m) {
            *vk += w * (xk - mk) * (xk - mk);
        }
    }
    v
}

/// A counter-based word for `(seed, generation, candidate, purpose)`.
fn word(seed: u64, generation: usize, candidate: usize, purpose: u64) -> u64 {
    mix64(
        mix64(seed ^ 0xabc0_0000_0000_0000)
            ^ mix64((generation as u64) << 40 ^ (candidate as u64) << 8 ^ purpose),
    )
}

/// Keeps the `n` nearest particles (ties by position, so the order of equal distances is the
/// order of the candidates).
fn keep_nearest(mut all: Vec<Particle>, n: usize) -> Vec<Particle> {
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| all[a].distance.total_cmp(&all[b].distance).then(a.cmp(&b)));
    order.truncate(n);
    order.sort_unstable();
    let mut out = Vec::with_capacity(n);
    for (k, p) in all.drain(..).enumerate() {
        if order.binary_search(&k).is_ok() {
            out.push(p);
        }
    }
    out
}

/// Runs the sampler. `distance` computes the distances of a batch of parameter vectors (in
/// parallel, if it likes; an infinite distance marks a failed candidate); `progress` is told
/// of each generation as it ends.
pub fn apmc(
    priors: &[Prior],
    st: &AbcSettings,
    seed: u64,
    distance: impl Fn(&[Vec<f64>]) -> Result<Vec<f64>>,
    mut progress: impl FnMut(&Generation),
) -> Result<Posterior> {
    let d = priors.len();
    let n = st.particles;
    let n_keep = ((st.alpha * n as f64).floor() as usize).clamp(1, n.saturating_sub(1));
    if d == 0 || n < 2 || !(st.alpha > 0.0 && st.alpha < 1.0) || st.budget < n {
        return Err(Error::Config(format!(
            "ABC needs at least one parameter, 2 particles or more, 0 < alpha < 1 and a budget \
             of at least the particles: got {d} parameters, {n} particles, alpha {}, budget {}",
            st.alpha, st.budget
        )));
    }
    // Generation 0: the prior.
    let xs: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..d)
                .map(|k| priors[k].draw(word(seed, 0, i, k as u64)))
                .collect()
        })
        .collect();
    let ds = distance(&xs)?;
    let prior_sample: Vec<Particle> = xs
        .into_iter()
        .zip(ds)
        .map(|(x, distance)| Particle {
            x,
            weight: 1.0,
            distance,
            generation: 0,
        })
        .collect();
    let mut particles = keep_nearest(prior_sample.clone(), n_keep);
    let mut simulated = n;
    let mut generations = vec![Generation {
        index: 0,
        candidates: n,
        simulated,
        tolerance: max_distance(&particles),
        acceptance: 1.0,
    }];
    progress(&generations[0]);
    let n_new = n - n_keep;
    let mut g = 0;
    while simulated + n_new <= st.budget {
        g += 1;
        let w: Vec<f64> = {
            let total: f64 = particles.iter().map(|p| p.weight).sum();
            particles.iter().map(|p| p.weight / total).collect()
        };
        // Twice the weighted variance, with a floor so that a collapsed coordinate still moves.
        let sigma: Vec<f64> = weighted_var(&particles, &w)
            .iter()
            .zip(priors)
            .map(|(v, pr)| (2.0 * v).sqrt().max(1e-6 * (pr.hi - pr.lo)))
            .collect();
        let cumulative: Vec<f64> = w
            .iter()
            .scan(0.0, |acc, x| {
                *acc += x;
                Some(*acc)
            })
            .collect();
        let proposals: Vec<Vec<f64>> = (0..n_new)
            .map(|j| propose(&particles, &cumulative, &sigma, priors, seed, g, j))
            .collect();
        let ds = distance(&proposals)?;
        simulated += n_new;
        let new: Vec<Particle> = proposals
            .into_iter()
            .zip(ds)
            .map(|(x, distance)| {
                let prior: f64 = x.iter().zip(priors).map(|(x, p)| p.density(*x)).product();
                let q: f64 = particles
                    .iter()
                    .zip(&w)
                    .map(|(p, wi)| wi * kernel(&x, &p.x, &sigma))
                    .sum();
                Particle {
                    x,
                    weight: if q > 0.0 { prior / q } else { 0.0 },
                    distance,
                    generation: g,
                }
            })
            .collect();
        let mut all = std::mem::take(&mut particles);
        all.extend(new);
        particles = keep_nearest(all, n_keep);
        let tolerance = max_distance(&particles);
        // New candidates within the new tolerance: the kept ones drawn this generation.
        let fresh = particles.iter().filter(|p| p.generation == g).count();
        let acceptance = fresh as f64 / n_new as f64;
        generations.push(Generation {
            index: g,
            candidates: n_new,
            simulated,
            tolerance,
            acceptance,
        });
        progress(generations.last().expect("pushed"));
        if acceptance < st.min_acceptance {
            break;
        }
    }
    Ok(Posterior {
        particles,
        prior_sample,
        generations,
    })
}

fn max_distance(ps: &[Particle]) -> f64 {
    ps.iter()
        .map(|p| p.distance)
        .fold(f64::NEG_INFINITY, f64::max)
}

/// `Π_k φ((x_k − y_k) / σ_k) / σ_k`: the proposal kernel's density, constants included.
fn kernel(x: &[f64], y: &[f64], sigma: &[f64]) -> f64 {
    let mut q = 1.0;
    for ((a, b), s) in x.iter().zip(y).zip(sigma) {
        let z = (a - b) / s;
        q *= (-0.5 * z * z).exp() / (s * (std::f64::consts::TAU).sqrt());
    }
    q
}

/// New candidate `j` of generation `g`: a particle picked by weight, moved by the kernel,
/// drawn again (up to 1,000 attempts) while outside the prior's bounds.
fn propose(
    particles: &[Particle],
    cumulative: &[f64],
    sigma: &[f64],
    priors: &[Prior],
    seed: u64,
    g: usize,
    j: usize,
) -> Vec<f64> {
    let d = priors.len();
    for attempt in 0..1000u64 {
        let base = attempt * (d as u64 + 1);
        let u = u01(word(seed, g, j, base));
        let i = cumulative
            .iter()
            .position(|c| u < *c)
            .unwrap_or(particles.len() - 1);
        let x: Vec<f64> = (0..d)
            .map(|k| {
                particles[i].x[k] + sigma[k] * std_normal(word(seed, g, j, base + 1 + k as u64))
            })
            .collect();
        if x.iter().zip(priors).all(|(x, p)| p.contains(*x)) {
            return x;
        }
    }
    // Practically unreachable (each attempt lands inside with probability near 1/2^d at
    // worst): clamp the last parent's move into the bounds.
    particles[0]
        .x
        .iter()
        .zip(priors)
        .map(|(x, p)| x.clamp(p.lo, p.hi))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(priors: &[Prior], n: usize, budget: usize, f: impl Fn(&[f64]) -> f64) -> Posterior {
        let st = AbcSettings {
            particles: n,
            budget,
            min_acceptance: 0.02,
            ..AbcSettings::default()
        };
        apmc(
            priors,
            &st,
            11,
            |xs| Ok(xs.iter().map(|x| f(x)).collect()),
            |_| {},
        )
        .unwrap()
    }

    /// With a uniform prior and the distance `|θ − 0.3|`, the ABC posterior at tolerance `ε` is
    /// uniform on `[0.3 − ε, 0.3 + ε]`: mean 0.3, standard deviation `ε / √3`.
    #[test]
    fn a_uniform_prior_gives_the_uniform_window_of_the_tolerance() {
        let post = run(&[Prior::uniform(0.0, 1.0)], 1000, 6000, |x| {
            (x[0] - 0.3).abs()
        });
        let eps = post.tolerance();
        assert!(eps < 0.02, "tolerance {eps}");
        assert!(
            (post.mean()[0] - 0.3).abs() < 0.1 * eps,
            "{:?}",
            post.mean()
        );
        let sd = post.sd()[0];
        let want = eps / 3f64.sqrt();
        assert!((sd / want - 1.0).abs() < 0.15, "sd {sd} against {want}");
        assert!(post.particles.iter().all(|p| p.distance <= eps));
    }

    /// A normal prior `N(0, 0.5²)` and the distance `|θ − 1|`: the posterior at tolerance `ε` is
    /// the prior restricted to `[1 − ε, 1 + ε]`, skewed towards 0. Its mean, by quadrature, is
    /// what the importance weights must reproduce (equal weights would not).
    #[test]
    fn importance_weights_recover_the_prior_inside_the_window() {
        let prior = Prior {
            lo: -3.0,
            hi: 3.0,
            normal: Some((0.0, 0.5)),
        };
        let st = AbcSettings {
            particles: 2000,
            budget: 4000,
            min_acceptance: 0.0,
            ..AbcSettings::default()
        };
        let post = apmc(
            &[prior],
            &st,
            5,
            |xs| Ok(xs.iter().map(|x| (x[0] - 1.0).abs()).collect()),
            |_| {},
        )
        .unwrap();
        let eps = post.tolerance();
        assert!(eps > 0.1 && eps < 0.6, "tolerance {eps}");
        let (mut z, mut m) = (0.0, 0.0);
        for k in 0..10_000 {
            let x = 1.0 - eps + 2.0 * eps * (k as f64 + 0.5) / 10_000.0;
            let d = prior.density(x);
            z += d;
            m += d * x;
        }
        let want = m / z;
        let got = post.mean()[0];
        assert!(
            (got - want).abs() < 0.015,
            "mean {got} against {want} (ε {eps})"
        );
        let plain: f64 =
            post.particles.iter().map(|p| p.x[0]).sum::<f64>() / post.particles.len() as f64;
        assert!(
            plain > got,
            "the weights move the mean towards the prior's centre: {plain} vs {got}"
        );
    }

    /// Only the sum is identified: the posterior lies along `a + b = 1`, so the two parameters
    /// are almost perfectly negatively correlated and each keeps most of its prior spread.
    #[test]
    fn an_unidentified_pair_shows_as_a_correlation() {
        let u = Prior::uniform(0.0, 1.0);
        let post = run(&[u, u], 600, 3000, |x| (x[0] + x[1] - 1.0).abs());
        let r = post.correlation(0, 1);
        assert!(r < -0.95, "correlation {r}");
        let ratio = post.sd()[0] / u.sd();
        assert!(ratio > 0.6, "posterior/prior spread {ratio}");
    }

    #[test]
    fn the_posterior_is_the_same_however_the_distances_are_batched() {
        let u = Prior::uniform(-1.0, 1.0);
        let st = AbcSettings {
            particles: 100,
            budget: 600,
            ..AbcSettings::default()
        };
        let f = |x: &[f64]| (x[0] * x[0] + 0.5 * x[1]).abs();
        let serial = apmc(
            &[u, u],
            &st,
            3,
            |xs| Ok(xs.iter().map(|x| f(x)).collect()),
            |_| {},
        )
        .unwrap();
        let parallel = apmc(
            &[u, u],
            &st,
            3,
            |xs| {
                use rayon::prelude::*;
                Ok(xs.par_iter().map(|x| f(x)).collect())
            },
            |_| {},
        )
        .unwrap();
        assert_eq!(serial, parallel);
        let other = apmc(
            &[u, u],
            &st,
            4,
            |xs| Ok(xs.iter().map(|x| f(x)).collect()),
            |_| {},
        )
        .unwrap();
        assert_ne!(
            serial.particles, other.particles,
            "another seed, other draws"
        );
        // Each generation spends its share of the budget and tightens the tolerance.
        for w in serial.generations.windows(2) {
            assert_eq!(w[1].candidates, 50);
            assert!(w[1].tolerance <= w[0].tolerance);
        }
    }

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
