//! The ABC calibration end to end (`paymarket calibrate --method abc`): the posterior sample
//! from declared priors, a check that seed noise does not decide it, the prior and posterior
//! predictive bands over the window and the forecast, and the calibrated scenario with its
//! posterior file beside it.
//!
//! Writes `posterior.csv` (the particles, see [`super::posterior`]), `prior_sample.csv` (the
//! first generation, drawn from the prior), `abc_generations.csv`, `posterior_summary.csv` (per
//! parameter: prior and posterior mean, spread, quantiles and the ratio of posterior to prior
//! spread), `posterior_correlations.csv`, `noise.csv`, `fit.csv` (each target with its prior and
//! posterior predictive mean and 95% band), `predictive.csv` (the bands of value shares,
//! holders and defaults by context, month by month, prior and posterior), `probabilities.csv`
//! (which way the market goes), the posterior predictive ensemble's `summary_*.csv`, and the
//! calibrated scenario (the posterior mean).
//!
//! Owns: `AbcReport`, `Noise`, `run_abc`, the noise check, the report's text. The files are
//! written by `abc_files`, the bands computed by `predictive`. Reads: the sampler, the
//! objective, the experiment runner. Never: the rules.

use super::abc::{abc_smc_ordered, AbcSettings, Particle, Posterior};
use super::posterior::Draws;
use super::predictive::{probabilities, Predictive, Quantity};
use super::{apply, evaluate, Job, Parameter, Settings, Target};
use crate::error::{Error, Result};
use crate::experiment::{Plan, Summary};
use crate::record::Collect;
use crate::scenario::Scenario;
use std::path::Path;
use std::sync::Arc;

/// The seed-noise check: the distance at the first particles under other replicate seeds.
#[derive(Debug, Clone)]
pub struct Noise {
    /// Per point checked: its particle index and its distances under each other seed set.
    pub points: Vec<(usize, Vec<f64>)>,
    /// The median over the points of the standard deviation of their distances.
    pub median_sd: f64,
    /// The final tolerance over `median_sd`: at least 2 means noise does not decide acceptance.
    pub ratio: f64,
}

/// What [`run_abc`] found.
pub struct AbcReport {
    /// The targets.
    pub targets: Vec<Target>,
    /// The parameters, with their priors.
    pub parameters: Vec<Parameter>,
    /// The sampler's result.
    pub posterior: Posterior,
    /// The seed-noise check.
    pub noise: Noise,
    /// Prior predictive runs over the whole horizon.
    pub prior: Predictive,
    /// Posterior predictive runs over the whole horizon.
    pub post: Predictive,
    /// The posterior predictive ensemble's summary.
    pub forecast: Summary,
    /// The calibrated scenario: the posterior mean.
    pub calibrated: Scenario,
    /// Its fit (replicate means at the posterior mean, with `report_replicates` replicates).
    pub fit: super::Fit,
    /// Where the calibrated scenario was written (`None` without an output directory).
    pub scenario_file: Option<std::path::PathBuf>,
    /// Where its posterior sample was written beside it (`None` without an output directory).
    pub posterior_file: Option<std::path::PathBuf>,
    /// Files written into the output directory.
    pub files: Vec<String>,
}

/// The distance of a candidate (infinite when it fails): the objective of the replicate means.
fn distance(
    base: &Scenario,
    ps: &[Parameter],
    x: &[f64],
    targets: &[Target],
    st: &Settings,
) -> f64 {
    match apply(base, ps, x).and_then(|s| evaluate(&s, targets, st)) {
        Ok(f) if f.objective.is_finite() => f.objective,
        _ => f64::INFINITY,
    }
}

/// Distances of a batch of candidates, in parallel (or over MPI ranks).
fn distances(
    base: &Scenario,
    ps: &[Parameter],
    xs: &[Vec<f64>],
    targets: &[Target],
    st: &Settings,
) -> Result<Vec<f64>> {
    st.check_watch()?;
    let out: Vec<Option<f64>> = crate::experiment::dist::map_all(xs.len() as u64, |k| {
        Ok(Some(distance(base, ps, &xs[k as usize], targets, st)).filter(|v| v.is_finite()))
    })?;
    Ok(out
        .into_iter()
        .map(|v| v.unwrap_or(f64::INFINITY))
        .collect())
}

/// Points and seed sets of the noise check.
const NOISE_POINTS: usize = 8;
const NOISE_SEEDS: u64 = 4;

/// The noise check: the distances of the heaviest particles (with equal weights, the first
/// `NOISE_POINTS` in order) under `NOISE_SEEDS` other seed sets.
fn noise(
    base: &Scenario,
    ps: &[Parameter],
    post: &Posterior,
    targets: &[Target],
    st: &Settings,
) -> Result<Noise> {
    let mut order: Vec<usize> = (0..post.particles.len()).collect();
    order.sort_by(|&a, &b| {
        post.particles[b]
            .weight
            .total_cmp(&post.particles[a].weight)
            .then(a.cmp(&b))
    });
    order.truncate(NOISE_POINTS);
    let jobs: Vec<(usize, u64)> = order
        .iter()
        .flat_map(|&k| (0..NOISE_SEEDS).map(move |s| (k, s)))
        .collect();
    let out: Vec<Option<f64>> = crate::experiment::dist::map_all(jobs.len() as u64, |i| {
        let (k, s) = jobs[i as usize];
        let other = Settings {
            seed: st.seed.wrapping_add(1 + s).wrapping_mul(0x9e37_79b9),
            ..st.clone()
        };
        Ok(
            Some(distance(base, ps, &post.particles[k].x, targets, &other))
                .filter(|v| v.is_finite()),
        )
    })?;
    let mut points = Vec::new();
    let mut sds = Vec::new();
    for (n, &k) in order.iter().enumerate() {
        let d: Vec<f64> = out[n * NOISE_SEEDS as usize..][..NOISE_SEEDS as usize]
            .iter()
            .map(|v| v.unwrap_or(f64::INFINITY))
            .collect();
        let mut m = crate::stats::Moments::default();
        d.iter().for_each(|x| m.add(*x));
        sds.push(m.sd());
        points.push((k, d));
    }
    sds.sort_by(f64::total_cmp);
    let median_sd = if sds.is_empty() {
        f64::NAN
    } else if sds.len() % 2 == 1 {
        sds[sds.len() / 2]
    } else {
        0.5 * (sds[sds.len() / 2 - 1] + sds[sds.len() / 2])
    };
    Ok(Noise {
        points,
        median_sd,
        ratio: post.tolerance() / median_sd,
    })
}

/// Runs `replicates` predictive runs over the whole horizon with parameter vectors drawn from
/// `draws`; returns the runs and their summary.
fn predictive(
    base: &Scenario,
    draws: Draws,
    replicates: u64,
    st: &Settings,
) -> Result<(Predictive, Summary)> {
    let plan = Plan {
        replicates,
        seed: st.seed,
        posterior: Some(Arc::new(draws)),
        watch: st.watch.clone(),
        ..Plan::default()
    };
    let mut collect = Collect::default();
    let summary = crate::experiment::ensemble(&st.sized(base), &plan, &mut [&mut collect])?;
    Ok((Predictive::new(collect.reports), summary))
}

/// Particles as a [`Draws`] over `ps` (weights normalised).
fn draws_of(ps: &[Parameter], particles: &[Particle], origin: &str) -> Draws {
    let total: f64 = particles.iter().map(|p| p.weight).sum();
    Draws {
        paths: ps.iter().map(|p| p.path.clone()).collect(),
        weights: particles.iter().map(|p| p.weight / total).collect(),
        vectors: particles.iter().map(|p| p.x.clone()).collect(),
        origin: origin.to_string(),
        text: String::new(),
    }
}

/// Calibrates a scenario file by ABC end to end (see the module's documentation).
pub fn run_abc(job: &Job, abc: &AbcSettings) -> Result<AbcReport> {
    job.check_with(Some(abc))?;
    let super::job::Inputs {
        text,
        base,
        targets,
        parameters: ps,
    } = job.load()?;
    let st = &job.settings;
    if !targets.iter().any(|t| t.weight > 0.0) {
        return Err(Error::Config(
            "no target has a positive weight: nothing to fit".into(),
        ));
    }
    Plan {
        replicates: abc.particles as u64 * st.replicates,
        ..Plan::default()
    }
    .check_memory(&st.sized(&base), 1)?;
    let priors: Vec<_> = ps.iter().map(Parameter::prior).collect();
    let mut bar = crate::experiment::Progress::new(abc.budget as u64, job.progress);
    let posterior = abc_smc_ordered(
        &priors,
        &super::order(&ps)?,
        abc,
        st.seed,
        |xs| distances(&base, &ps, xs, &targets, st),
        |g| bar.advance(g.candidates as u64),
    )?;
    drop(bar);
    st.check_watch()?;
    let noise = noise(&base, &ps, &posterior, &targets, st)?;
    st.check_watch()?;
    let mean = posterior.mean();
    let mut calibrated = apply(&base, &ps, &mean)?;
    calibrated.name = format!("{}_calibrated", base.name);
    let report = Settings {
        replicates: job.report_replicates.max(2),
        ..st.clone()
    };
    let fit = evaluate(&calibrated, &targets, &report)?;
    let n_pred = job.report_replicates.max(2);
    let (post, forecast) = predictive(
        &base,
        draws_of(&ps, &posterior.particles, "posterior"),
        n_pred,
        st,
    )?;
    // The prior predictive draws from the prior sample, less any vector that does not make a
    // valid scenario (it could not be run).
    let prior_particles: Vec<Particle> = posterior
        .prior_sample
        .iter()
        .filter(|p| apply(&base, &ps, &p.x).and_then(|s| s.into_valid()).is_ok())
        .map(|p| Particle {
            weight: 1.0,
            ..p.clone()
        })
        .collect();
    let (prior, _) = predictive(&base, draws_of(&ps, &prior_particles, "prior"), n_pred, st)?;
    let scenario_file = job.scenario_file();
    let posterior_file = scenario_file.as_deref().map(beside);
    let mut r = AbcReport {
        targets,
        parameters: ps,
        posterior,
        noise,
        prior,
        post,
        forecast,
        calibrated,
        fit,
        scenario_file,
        posterior_file,
        files: Vec::new(),
    };
    if let (Some(dir), Some(file), Some(beside), true) = (
        &job.out,
        &r.scenario_file,
        &r.posterior_file,
        crate::experiment::dist::is_root(),
    ) {
        let to = super::abc_files::Destination { dir, file, beside };
        r.files = super::abc_files::write_abc_set(job, abc, &text, &base, &r, to)?;
    }
    Ok(r)
}

/// The posterior file beside a calibrated scenario: `NAME.toml` → `NAME_posterior.csv`.
pub fn beside(scenario_file: &Path) -> std::path::PathBuf {
    let stem = scenario_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "calibrated".into());
    scenario_file.with_file_name(format!("{stem}_posterior.csv"))
}

impl AbcReport {
    /// A plain-text account: the sampler, the noise check, the posterior per parameter, the
    /// fit with its bands, the forecast each December and which way the market goes.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let p = &self.posterior;
        let _ = writeln!(
            o,
            "ABC: {} generations, {} candidates, final tolerance {:.3} (objective: weighted RMSE); \
             {} particles, {} distinct.",
            p.generations.len(),
            p.generations.last().map_or(0, |g| g.simulated),
            p.tolerance(),
            p.particles.len(),
            p.distinct()
        );
        let _ = writeln!(
            o,
            "Seed noise: the distance's sd under other seeds is {:.3} (median of {} points): the \
             tolerance is {:.1} times it{}.\n",
            self.noise.median_sd,
            self.noise.points.len(),
            self.noise.ratio,
            if self.noise.ratio >= 2.0 {
                ""
            } else {
                " (below 2: noise decides too much; add replicates)"
            }
        );
        let _ = writeln!(
            o,
            "{:<44} {:>9} {:>9} {:>9} {:>9} {:>19} {:>6}",
            "parameter", "prior", "prior sd", "mean", "sd", "95%", "ratio"
        );
        let (mean, sd) = (p.mean(), p.sd());
        for (k, par) in self.parameters.iter().enumerate() {
            let (prior_mean, prior_sd) = super::abc_files::prior_moments(&self.parameters, k, p);
            let _ = writeln!(
                o,
                "{:<44} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>19} {:>6.2}",
                par.path,
                prior_mean,
                prior_sd,
                mean[k],
                sd[k],
                format!("[{:.3}, {:.3}]", p.quantile(k, 0.025), p.quantile(k, 0.975)),
                sd[k] / prior_sd
            );
        }
        let _ = writeln!(
            o,
            "\n{:<8} {:<46} {:>9} {:>26} {:>26}",
            "period", "series (measure)", "observed", "prior mean [95%]", "posterior mean [95%]"
        );
        for t in self.targets.iter().filter(|t| t.weight > 0.0) {
            let (a, b) = (self.prior.target(t), self.post.target(t));
            let _ = writeln!(
                o,
                "{:<8} {:<46} {:>9.1} {:>26} {:>26}",
                t.period,
                format!("{} ({})", t.series, t.measure.name()),
                t.value,
                format!("{:.1} [{:.1}, {:.1}]", a.mean, a.lo, a.hi),
                format!("{:.1} [{:.1}, {:.1}]", b.mean, b.lo, b.hi)
            );
        }
        for (name, p) in [("\nPrior", &self.prior), ("Posterior", &self.post)] {
            let sims: Vec<f64> = self.targets.iter().map(|t| p.target(t).mean).collect();
            let f = super::fit_summary(&self.targets, &sims);
            let _ = writeln!(
                o,
                "{name} predictive mean: share error {:.2} points (weighted RMSE of the fitted \
                 value and default shares); user counts' RMS log error {:.3}, the worst off by a factor \
                 {:.2} ({} counts).",
                f.share_rmse, f.count_rms_log, f.worst_factor, f.counts
            );
        }
        let _ = writeln!(
            o,
            "\nValue share (%) each December, posterior predictive mean and 95% band:"
        );
        let qs: Vec<Quantity> = self
            .post
            .quantities()
            .into_iter()
            .filter(|q| q.metric == "value_share" && q.month.month_of_year() == 12)
            .collect();
        let mut year = 0;
        for q in &qs {
            if q.month.year() != year {
                year = q.month.year();
                let _ = write!(o, "\n  {year}");
            }
            let b = self.post.quantity(q);
            let _ = write!(
                o,
                "   {} {:.1} [{:.1}, {:.1}]",
                q.key1,
                100.0 * b.mean,
                100.0 * b.lo,
                100.0 * b.hi
            );
        }
        let _ = writeln!(o, "\n");
        let ids: Vec<&str> = self
            .calibrated
            .platforms
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        if ids.len() >= 2 {
            for (s, pr, n) in probabilities(&self.post, ids[0], ids[1]) {
                let _ = writeln!(o, "  P({s}) = {pr:.2} ({n} runs)");
            }
        }
        o
    }
}
