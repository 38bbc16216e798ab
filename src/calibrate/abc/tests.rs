//! The sampler against analytic posteriors.

use super::*;

fn run(priors: &[Prior], n: usize, budget: usize, f: impl Fn(&[f64]) -> f64) -> Posterior {
    let st = AbcSettings {
        particles: n,
        budget,
        min_acceptance: 0.02,
        ..AbcSettings::default()
    };
    abc_smc(
        priors,
        &st,
        11,
        |xs| Ok(xs.iter().map(|x| f(x)).collect()),
        |_| {},
    )
    .unwrap()
}

/// Two uniform priors on [0, 1] ordered `x₀ ≤ x₁`, and the distance `|x₁ − 0.3|`. The prior
/// is the pair's order statistics (`E[x₀] = 1/3`, `E[x₁] = 2/3`). At tolerance `ε` the
/// posterior has `x₁` near 0.3 and `x₀` uniform on `[0, x₁]`, so `E[x₀] ≈ 0.15`; without
/// the order `x₀` would keep its prior mean of 0.5.
#[test]
fn an_ordered_prior_keeps_its_order_and_its_conditional() {
    let st = AbcSettings {
        particles: 1000,
        budget: 20_000,
        min_acceptance: 0.02,
        ..AbcSettings::default()
    };
    let u = Prior::uniform(0.0, 1.0);
    let post = abc_smc_ordered(
        &[u, u],
        &[(0, 1)],
        &st,
        11,
        |xs| Ok(xs.iter().map(|x| (x[1] - 0.3).abs()).collect()),
        |_| {},
    )
    .unwrap();
    assert!(post.prior_sample.iter().all(|p| p.x[0] <= p.x[1]));
    assert!(post.particles.iter().all(|p| p.x[0] <= p.x[1]));
    let n = post.prior_sample.len() as f64;
    let prior_x0 = post.prior_sample.iter().map(|p| p.x[0]).sum::<f64>() / n;
    assert!(
        (prior_x0 - 1.0 / 3.0).abs() < 0.03,
        "prior E[x0] {prior_x0}"
    );
    let eps = post.generations.last().unwrap().tolerance;
    assert!(eps < 0.05, "tolerance {eps}");
    let m = post.mean();
    assert!((m[1] - 0.3).abs() < 0.02, "E[x1] {}", m[1]);
    assert!(
        (m[0] - m[1] / 2.0).abs() < 0.03,
        "E[x0] {} against {}",
        m[0],
        m[1] / 2.0
    );
    // A constraint that names a parameter twice, or one that is not there, is refused.
    let bad = abc_smc_ordered(
        &[u],
        &[(0, 0)],
        &st,
        11,
        |xs| Ok(vec![0.0; xs.len()]),
        |_| {},
    );
    assert!(bad
        .unwrap_err()
        .to_string()
        .contains("two different parameters"));
}

/// With a uniform prior and the distance `|θ − 0.3|`, the ABC posterior at tolerance `ε` is
/// uniform on `[0.3 − ε, 0.3 + ε]`: mean 0.3, standard deviation `ε / √3`.
#[test]
fn a_uniform_prior_gives_the_uniform_window_of_the_tolerance() {
    let post = run(&[Prior::uniform(0.0, 1.0)], 1000, 20_000, |x| {
        (x[0] - 0.3).abs()
    });
    let eps = post.tolerance();
    assert!(eps < 0.03, "tolerance {eps}");
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
/// what the moves' prior ratio must reproduce (moves accepted by distance alone would give a
/// flat window, whose mean is 1).
#[test]
fn the_moves_keep_the_prior_inside_the_window() {
    let prior = Prior {
        lo: -3.0,
        hi: 3.0,
        normal: Some((0.0, 0.5)),
    };
    let st = AbcSettings {
        particles: 2000,
        budget: 12_000,
        min_acceptance: 0.0,
        ..AbcSettings::default()
    };
    let post = abc_smc(
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
    let serial = abc_smc(
        &[u, u],
        &st,
        3,
        |xs| Ok(xs.iter().map(|x| f(x)).collect()),
        |_| {},
    )
    .unwrap();
    let parallel = abc_smc(
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
    let other = abc_smc(
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
    // Each generation tightens the tolerance, every particle is within it, and the budget
    // holds.
    for w in serial.generations.windows(2) {
        assert!(w[1].tolerance <= w[0].tolerance);
    }
    let eps = serial.tolerance();
    assert!(serial.particles.iter().all(|p| p.distance <= eps));
    assert!(serial.generations.last().unwrap().simulated <= 600);
    assert_eq!(serial.particles.len(), 100);
}
