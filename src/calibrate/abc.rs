//! Approximate Bayesian computation: not one best point but the set of parameter vectors whose
//! simulations come within a tolerance of the data, a sample of the posterior of declared
//! priors.
//!
//! The sampler is the sequential Monte Carlo ABC with replenishment of Drovandi and Pettitt
//! (2011), after Del Moral, Doucet and Jasra (2012): every particle carries the same weight (an
//! importance-weighted sampler's weights degenerate with thirty parameters: a first version of
//! this module, adaptive population Monte Carlo, kept an effective sample of 2 out of 150), the
//! tolerance falls each generation to a quantile of the distances, and particles move by
//! Metropolis–Hastings steps that keep the prior as the target outside the tolerance.
//!
//! 1. Draw `N` particles from the prior and compute their distances.
//! 2. Each generation keeps the `N_α = ⌊α·N⌋` nearest; the tolerance `ε` is the largest distance
//!    kept. The other `N − N_α` slots are refilled with copies of kept particles (drawn
//!    uniformly), and each copy makes `R` Metropolis–Hastings moves: a Gaussian step, in the
//!    unbounded coordinates `logit((θ − lo)/(hi − lo))`, with the kept particles' covariance
//!    there times `min(2, 2.38²/d)`, refused with probability `1 − π̃(θ')/π̃(θ)` (`π̃`: the prior
//!    density in those coordinates, Jacobian included), else simulated and accepted if its
//!    distance is within `ε`. `R` is set so
//!    that a particle moves at least once with probability 99% at the last generation's
//!    acceptance rate (at most 10).
//! 3. Stop when the moves' acceptance rate falls below `min_acceptance` (the tolerance no longer
//!    falls usefully), or before a step would overspend the budget of simulations.
//!
//! Every draw is a counter-based function of `(seed, generation, slot, step, purpose)`, and
//! distances are computed in batches whose results do not depend on how they are scheduled, so
//! the posterior is identical on any thread or rank count.
//!
//! ```
//! use paymarket::calibrate::abc::{abc_smc, AbcSettings, Prior};
//! // One parameter with a uniform prior on [0, 1] and a distance that is its gap from 0.3:
//! // the particles close in on 0.3.
//! let priors = [Prior::uniform(0.0, 1.0)];
//! let st = AbcSettings { particles: 100, budget: 1000, ..AbcSettings::default() };
//! let post = abc_smc(&priors, &st, 7, |xs| Ok(xs.iter().map(|x| (x[0] - 0.3).abs()).collect()), |_| {})?;
//! let mean = post.mean()[0];
//! assert!((mean - 0.3).abs() < 0.05, "{mean}");
//! assert!(post.tolerance() < 0.05);
//! # Ok::<(), paymarket::Error>(())
//! ```
//!
//! Owns: `AbcSettings`, `Particle`, `Generation`, `Posterior`, `abc_smc`, `abc_smc_ordered`
//! (an ordered joint prior; `Prior` is in `calibrate::prior`, re-exported here). Reads: the
//! counter-based draws. Never: simulations (the caller's distance does them), files.

pub use super::prior::Prior;
use crate::error::{Error, Result};
use crate::rng::{mix64, std_normal, u01};

/// How the sampler runs.
#[derive(Debug, Clone, PartialEq)]
pub struct AbcSettings {
    /// `N`: particles (the posterior sample's size), all drawn from the prior first.
    pub particles: usize,
    /// `α`: the share of particles kept as they are each generation (the others are refilled
    /// and moved).
    pub alpha: f64,
    /// Stop when the share of accepted moves in a generation falls below this.
    pub min_acceptance: f64,
    /// Most simulations (candidates) in all, the first generation included.
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

/// One particle: a parameter vector, its weight and its distance.
#[derive(Debug, Clone, PartialEq)]
pub struct Particle {
    /// Parameter values, in parameter order.
    pub x: Vec<f64>,
    /// Weight (1 for every particle of this sampler; kept so that a weighted sample can be
    /// written and read in the same form).
    pub weight: f64,
    /// Distance to the data.
    pub distance: f64,
    /// The generation whose move produced it (0: drawn from the prior).
    pub generation: usize,
}

/// What one generation did.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// 0 for the draw from the prior.
    pub index: usize,
    /// Candidates simulated in it.
    pub candidates: usize,
    /// Candidates simulated so far, this generation's included.
    pub simulated: usize,
    /// The tolerance after it: every particle is within it.
    pub tolerance: f64,
    /// The share of its proposed moves accepted (1 for the first).
    pub acceptance: f64,
    /// Metropolis–Hastings steps planned per refilled particle (0 for the first; fewer are
    /// made when the budget runs out within the generation).
    pub moves: usize,
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

    /// The number of distinct particles (a refilled particle whose moves were all refused is a
    /// copy of a kept one).
    pub fn distinct(&self) -> usize {
        let mut xs: Vec<&Vec<f64>> = self.particles.iter().map(|p| &p.x).collect();
        xs.sort_by(|a, b| {
            a.iter()
                .zip(b.iter())
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        xs.dedup();
        xs.len()
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

/// A counter-based word for `(seed, generation, slot, purpose)`. The slot's low byte and the
/// purpose share one word; in the moves of a later generation, a slot from 256 on adds a hash
/// of its higher bits (else slot `s` and `s + 256` would draw alike in consecutive steps, as
/// `(s + 256) << 8` is `s << 8` plus a step's purpose offset). Slots below 256, and every slot
/// of the draw from the prior, keep the plain word (the committed calibration's draws).
fn word(seed: u64, generation: usize, slot: usize, purpose: u64) -> u64 {
    let high = if generation > 0 && slot >= 256 {
        mix64(((slot >> 8) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
    } else {
        0
    };
    let low = if generation > 0 { slot & 0xff } else { slot };
    mix64(
        mix64(seed ^ 0xabc0_0000_0000_0000)
            ^ mix64((generation as u64) << 40 ^ (low as u64) << 8 ^ purpose)
            ^ high,
    )
}

/// The indices of the `n` nearest particles, in index order (ties by position).
fn nearest(all: &[Particle], n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by(|&a, &b| all[a].distance.total_cmp(&all[b].distance).then(a.cmp(&b)));
    order.truncate(n);
    order.sort_unstable();
    order
}

/// The lower-triangular Cholesky factor of `s·Σ + ridge` for the covariance `Σ` of the
/// particles in the unbounded coordinates of [`Prior::free_of`],
/// with `s = min(2, 2.38²/d)`: twice the covariance in a few dimensions (Drovandi and Pettitt's
/// choice), the optimal random-walk scale of Roberts, Gelman and Gilks (1997) in many (with
/// thirty parameters twice the covariance leaves almost every step outside some bound). The
/// ridge keeps it positive definite when a coordinate has collapsed (a millionth, in the
/// unbounded coordinates).
fn proposal_factor(us: &[Vec<f64>], priors: &[Prior]) -> Vec<Vec<f64>> {
    let d = priors.len();
    let n = us.len() as f64;
    let mut m = vec![0.0; d];
    for u in us {
        for (mk, xk) in m.iter_mut().zip(u) {
            *mk += xk / n;
        }
    }
    let mut c = vec![vec![0.0; d]; d];
    for u in us {
        for i in 0..d {
            for j in 0..=i {
                c[i][j] += (u[i] - m[i]) * (u[j] - m[j]) / n;
            }
        }
    }
    let scale = (2.38f64 * 2.38 / d as f64).min(2.0);
    for i in 0..d {
        for j in 0..=i {
            c[i][j] *= scale;
        }
        c[i][i] += 1e-6;
    }
    let mut l = vec![vec![0.0; d]; d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                l[i][j] = (c[i][i] - s)
                    .max(1e-12 * (priors[i].hi - priors[i].lo).powi(2))
                    .sqrt();
            } else {
                l[i][j] = (c[i][j] - s) / l[j][j];
            }
        }
    }
    l
}

/// Runs the sampler. `distance` computes the distances of a batch of parameter vectors (in
/// parallel, if it likes; an infinite distance marks a failed candidate); `progress` is told
/// of each generation as it ends.
pub fn abc_smc(
    priors: &[Prior],
    st: &AbcSettings,
    seed: u64,
    distance: impl Fn(&[Vec<f64>]) -> Result<Vec<f64>>,
    progress: impl FnMut(&Generation),
) -> Result<Posterior> {
    abc_smc_ordered(priors, &[], st, seed, distance, progress)
}

/// Whether `x` keeps every order constraint `(a, b)`: `x[a] ≤ x[b]`.
fn in_order(x: &[f64], order: &[(usize, usize)]) -> bool {
    order.iter().all(|&(a, b)| x[a] <= x[b])
}

/// Tries of the draw from an ordered prior before it gives up.
const ORDER_TRIES: u64 = 1000;

/// [`abc_smc`] with a joint prior restricted to an ordered region: the product of the marginal
/// priors where `x[a] ≤ x[b]` for every pair `(a, b)` of `order`, zero elsewhere. The first
/// generation draws each particle again (from further counter-based words) until it is in
/// order; a move out of order is refused, as its prior density is zero. Without pairs it is
/// [`abc_smc`], draw for draw.
pub fn abc_smc_ordered(
    priors: &[Prior],
    order: &[(usize, usize)],
    st: &AbcSettings,
    seed: u64,
    distance: impl Fn(&[Vec<f64>]) -> Result<Vec<f64>>,
    mut progress: impl FnMut(&Generation),
) -> Result<Posterior> {
    let d = priors.len();
    if let Some(&(a, b)) = order.iter().find(|&&(a, b)| a >= d || b >= d || a == b) {
        return Err(Error::Config(format!(
            "an order constraint ({a}, {b}) must name two different parameters of the {d}"
        )));
    }
    let n = st.particles;
    if d == 0 || n < 2 || !(st.alpha > 0.0 && st.alpha < 1.0) || st.budget < n {
        return Err(Error::Config(format!(
            "ABC needs at least one parameter, 2 particles or more, 0 < alpha < 1 and a budget \
             of at least the particles: got {d} parameters, {n} particles, alpha {}, budget {}",
            st.alpha, st.budget
        )));
    }
    let n_keep = ((st.alpha * n as f64).floor() as usize).clamp(1, n - 1);
    // Generation 0: the prior (the first try of each particle from the plain words, so that an
    // unordered prior draws as it always has).
    let mut xs: Vec<Vec<f64>> = Vec::with_capacity(n);
    for i in 0..n {
        let x = (0..ORDER_TRIES)
            .map(|t| -> Vec<f64> {
                (0..d)
                    .map(|k| priors[k].draw(word(seed, 0, i, k as u64 | t << 32)))
                    .collect()
            })
            .find(|x| in_order(x, order))
            .ok_or_else(|| {
                Error::Config(format!(
                    "the ordered prior left no draw in order in {ORDER_TRIES} tries: the \
                     constraints `at_most`/`at_least` leave almost nothing of the bounds; widen \
                     the bounds or drop a constraint"
                ))
            })?;
        xs.push(x);
    }
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
    let finite = prior_sample
        .iter()
        .filter(|p| p.distance.is_finite())
        .count();
    if finite < n_keep {
        return Err(Error::Config(format!(
            "only {finite} of the {n} draws from the prior could be scored (the others failed \
             to run or gave no value for a fitted target), fewer than the {n_keep} the first \
             generation keeps: narrow the priors' bounds or check the targets"
        )));
    }
    let mut particles = prior_sample.clone();
    let mut simulated = n;
    let mut generations = vec![Generation {
        index: 0,
        candidates: n,
        simulated,
        tolerance: max_distance(&particles),
        acceptance: 1.0,
        moves: 0,
    }];
    progress(&generations[0]);
    let n_new = n - n_keep;
    let mut moves = 1usize;
    let mut g = 0;
    while simulated + n_new <= st.budget {
        g += 1;
        let keep = nearest(&particles, n_keep);
        let tolerance = keep
            .iter()
            .map(|&k| particles[k].distance)
            .fold(f64::NEG_INFINITY, f64::max);
        let kept: Vec<&Particle> = keep.iter().map(|&k| &particles[k]).collect();
        let free =
            |x: &[f64]| -> Vec<f64> { x.iter().zip(priors).map(|(x, p)| p.free_of(*x)).collect() };
        let l = proposal_factor(&kept.iter().map(|p| free(&p.x)).collect::<Vec<_>>(), priors);
        // Refill: copies of kept particles drawn uniformly.
        let mut fresh: Vec<Particle> = (0..n_new)
            .map(|j| {
                let u = u01(word(seed, g, j, 0xffff));
                kept[((u * n_keep as f64) as usize).min(n_keep - 1)].clone()
            })
            .collect();
        let (mut proposed, mut accepted, mut candidates) = (0usize, 0usize, 0usize);
        for step in 0..moves {
            if simulated + n_new > st.budget {
                break;
            }
            // Propose a move for every refilled particle (a Gaussian step in the unbounded
            // coordinates); only those that pass the prior ratio are simulated.
            let mut trial: Vec<(usize, Vec<f64>)> = Vec::new();
            for (j, p) in fresh.iter().enumerate() {
                let base = (step as u64 + 1) << 16;
                let z: Vec<f64> = (0..d)
                    .map(|k| std_normal(word(seed, g, j, base + k as u64)))
                    .collect();
                let u = free(&p.x);
                let x: Vec<f64> = (0..d)
                    .map(|i| {
                        priors[i].bounded_of(u[i] + (0..=i).map(|k| l[i][k] * z[k]).sum::<f64>())
                    })
                    .collect();
                proposed += 1;
                if !in_order(&x, order) {
                    continue;
                }
                let ratio: f64 = x
                    .iter()
                    .zip(&p.x)
                    .zip(priors)
                    .map(|((a, b), pr)| pr.free_density(*a) / pr.free_density(*b))
                    .product();
                if !ratio.is_finite() {
                    continue;
                }
                if u01(word(seed, g, j, base + 0xfff0)) >= ratio {
                    continue;
                }
                trial.push((j, x));
            }
            let xs: Vec<Vec<f64>> = trial.iter().map(|(_, x)| x.clone()).collect();
            // Every move refused by the prior ratio: nothing to simulate.
            let ds = if xs.is_empty() {
                Vec::new()
            } else {
                distance(&xs)?
            };
            simulated += xs.len();
            candidates += xs.len();
            for ((j, x), dist) in trial.into_iter().zip(ds) {
                if dist.is_finite() && dist <= tolerance {
                    fresh[j] = Particle {
                        x,
                        weight: 1.0,
                        distance: dist,
                        generation: g,
                    };
                    accepted += 1;
                }
            }
        }
        let acceptance = if proposed == 0 {
            0.0
        } else {
            accepted as f64 / proposed as f64
        };
        let mut next: Vec<Particle> = keep.iter().map(|&k| particles[k].clone()).collect();
        next.extend(fresh);
        particles = next;
        generations.push(Generation {
            index: g,
            candidates,
            simulated,
            tolerance,
            acceptance,
            moves,
        });
        progress(generations.last().expect("pushed"));
        if acceptance < st.min_acceptance {
            break;
        }
        // Enough moves that a particle moves at least once with probability 99%.
        moves = if acceptance >= 0.99 {
            1
        } else if acceptance <= 0.0 {
            10
        } else {
            ((0.01f64.ln() / (1.0 - acceptance).ln()).ceil() as usize).clamp(1, 10)
        };
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
#[cfg(test)]
mod tests;
