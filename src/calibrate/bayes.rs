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
//! Owns: `AbcReport`, `run_abc`, the predictive bands. Reads: the sampler, the objective, the
//! experiment runner, output. Never: the rules.

use super::abc::{abc_smc, AbcSettings, Particle, Posterior};
use super::job::file_name;
use super::posterior::{write_posterior, Draws};
use super::{apply, error, evaluate, simulated, Job, Parameter, Settings, Target};
use crate::error::{Error, Result};
use crate::experiment::{Plan, Summary};
use crate::month::Month;
use crate::output::{number as num, StagedCsv};
use crate::record::{Collect, MonthReport};
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

/// A band over predictive runs: mean, 2.5% and 97.5% quantiles, runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    /// Mean.
    pub mean: f64,
    /// 2.5% quantile.
    pub lo: f64,
    /// Median.
    pub median: f64,
    /// 97.5% quantile.
    pub hi: f64,
    /// Runs with a value.
    pub n: usize,
}

impl Band {
    /// The band of `values` (non-finite ones left out; quantiles by linear interpolation).
    pub fn of(values: &[f64]) -> Band {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n == 0 {
            return Band {
                mean: f64::NAN,
                lo: f64::NAN,
                median: f64::NAN,
                hi: f64::NAN,
                n,
            };
        }
        let q = |p: f64| {
            let x = p * (n - 1) as f64;
            let (i, f) = (x.floor() as usize, x - x.floor());
            v[i] + (v[(i + 1).min(n - 1)] - v[i]) * f
        };
        Band {
            mean: v.iter().sum::<f64>() / n as f64,
            lo: q(0.025),
            median: q(0.5),
            hi: q(0.975),
            n,
        }
    }
}

/// One predictive quantity: a month, a table (`platforms`, `defaults`), its keys and metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    /// The month.
    pub month: Month,
    /// `platforms` or `defaults`.
    pub table: &'static str,
    /// Platform (platforms) or context (defaults).
    pub key1: String,
    /// Platform (defaults) or empty.
    pub key2: String,
    /// `value_share`, `users` (holders) or `default_share` (of the holders of any wallet).
    pub metric: &'static str,
}

/// Prior and posterior predictive runs, by run.
#[derive(Debug, Clone, Default)]
pub struct Predictive {
    /// Each run's reports.
    pub runs: Vec<Vec<MonthReport>>,
}

impl Predictive {
    /// The runs of an ensemble's reports (as a [`Collect`] recorder gathers them).
    pub fn new(reports: Vec<MonthReport>) -> Predictive {
        let mut runs: Vec<Vec<MonthReport>> = Vec::new();
        for r in reports {
            let k = r.run as usize;
            if runs.len() <= k {
                runs.resize(k + 1, Vec::new());
            }
            runs[k].push(r);
        }
        Predictive { runs }
    }

    /// The band of target `t` over the runs.
    pub fn target(&self, t: &Target) -> Band {
        Band::of(
            &self
                .runs
                .iter()
                .map(|r| simulated(r, t))
                .collect::<Vec<_>>(),
        )
    }

    /// The band of a quantity over the runs.
    pub fn quantity(&self, q: &Quantity) -> Band {
        Band::of(
            &self
                .runs
                .iter()
                .map(|run| value_of(run, q))
                .collect::<Vec<_>>(),
        )
    }

    /// Every quantity the reports carry: each platform's value share and holders, and each
    /// context's default shares, every month.
    pub fn quantities(&self) -> Vec<Quantity> {
        let Some(run) = self.runs.first() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for r in run {
            for p in &r.platforms {
                if p.value_share.is_some() {
                    out.push(Quantity {
                        month: r.month,
                        table: "platforms",
                        key1: p.platform.clone(),
                        key2: String::new(),
                        metric: "value_share",
                    });
                }
                out.push(Quantity {
                    month: r.month,
                    table: "platforms",
                    key1: p.platform.clone(),
                    key2: String::new(),
                    metric: "users",
                });
            }
            for d in r.defaults.iter().filter(|d| d.platform != "none") {
                out.push(Quantity {
                    month: r.month,
                    table: "defaults",
                    key1: d.context.clone(),
                    key2: d.platform.clone(),
                    metric: "default_share",
                });
            }
        }
        out
    }
}

fn value_of(run: &[MonthReport], q: &Quantity) -> f64 {
    let Some(r) = run.iter().find(|r| r.month == q.month) else {
        return f64::NAN;
    };
    match q.table {
        "platforms" => r
            .platforms
            .iter()
            .find(|p| p.platform == q.key1)
            .and_then(|p| {
                if q.metric == "users" {
                    Some(p.users)
                } else {
                    p.value_share
                }
            })
            .unwrap_or(f64::NAN),
        _ => r
            .defaults
            .iter()
            .find(|d| d.context == q.key1 && d.platform == q.key2)
            .filter(|_| r.market.adopters > 0.0)
            .map_or(f64::NAN, |d| d.default_users / r.market.adopters),
    }
}

/// A platform's mean value share over the months `from..=to` of one run.
fn mean_share(run: &[MonthReport], platform: &str, from: Month, to: Month) -> f64 {
    let v: Vec<f64> = run
        .iter()
        .filter(|r| r.month >= from && r.month <= to)
        .filter_map(|r| r.platforms.iter().find(|p| p.platform == platform))
        .filter_map(|p| p.value_share)
        .collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Which way the market goes, over the posterior predictive runs: each statement with the
/// share of runs where it holds.
pub fn probabilities(p: &Predictive, a: &str, b: &str) -> Vec<(String, f64, usize)> {
    let m = |s: &str| s.parse::<Month>().expect("a literal month");
    let (q4a, q4b) = (m("2016-10"), m("2016-12"));
    let (q1a, q1b) = (m("2020-01"), m("2020-03"));
    /// Per run: the change of each share and both shares in 2020Q1.
    struct Move {
        d_a: f64,
        d_b: f64,
        a_later: f64,
        b_later: f64,
    }
    let mut moves = Vec::new();
    for run in &p.runs {
        let d_a = mean_share(run, a, q1a, q1b) - mean_share(run, a, q4a, q4b);
        let d_b = mean_share(run, b, q1a, q1b) - mean_share(run, b, q4a, q4b);
        if d_a.is_finite() && d_b.is_finite() {
            moves.push(Move {
                d_a,
                d_b,
                a_later: mean_share(run, a, q1a, q1b),
                b_later: mean_share(run, b, q1a, q1b),
            });
        }
    }
    let n = moves.len();
    let share = |f: &dyn Fn(&Move) -> bool| {
        if n == 0 {
            f64::NAN
        } else {
            moves.iter().filter(|x| f(x)).count() as f64 / n as f64
        }
    };
    vec![
        (
            format!("neither {a} nor {b} moves by more than 10 points of value share between 2016Q4 and 2020Q1"),
            share(&|x| x.d_a.abs() <= 0.1 && x.d_b.abs() <= 0.1),
            n,
        ),
        (
            format!("{a} gains more than 10 points between 2016Q4 and 2020Q1"),
            share(&|x| x.d_a > 0.1),
            n,
        ),
        (
            format!("{b} gains more than 10 points between 2016Q4 and 2020Q1"),
            share(&|x| x.d_b > 0.1),
            n,
        ),
        (
            format!("{a} has the larger value share in 2020Q1"),
            share(&|x| x.a_later > x.b_later),
            n,
        ),
    ]
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
    /// Where the calibrated scenario was written.
    pub scenario_file: std::path::PathBuf,
    /// Where its posterior sample was written beside it.
    pub posterior_file: std::path::PathBuf,
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
    let posterior = abc_smc(
        &priors,
        abc,
        st.seed,
        |xs| distances(&base, &ps, xs, &targets, st),
        |g| bar.advance(g.candidates as u64),
    )?;
    drop(bar);
    let noise = noise(&base, &ps, &posterior, &targets, st)?;
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
    let scenario_file = job
        .write_scenario
        .clone()
        .unwrap_or_else(|| job.out.join("calibrated.toml"));
    let posterior_file = beside(&scenario_file);
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
    if crate::experiment::dist::is_root() {
        r.files = write_abc_set(job, abc, &text, &base, &r)?;
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

fn write_abc_set(
    job: &Job,
    abc: &AbcSettings,
    text: &str,
    base: &Scenario,
    r: &AbcReport,
) -> Result<Vec<String>> {
    let st = &job.settings;
    let mut set = super::job::begin_set(job, base)?;
    let dir = job.out.as_path();
    let paths: Vec<String> = r.parameters.iter().map(|p| p.path.clone()).collect();
    let mut files = vec![
        write_posterior(dir, "posterior.csv", &paths, &r.posterior.particles)?,
        write_posterior(dir, "prior_sample.csv", &paths, &r.posterior.prior_sample)?,
        write_generations(dir, &r.posterior)?,
        write_summary(dir, &r.parameters, &r.posterior)?,
        write_correlations(dir, &r.parameters, &r.posterior)?,
        write_noise(dir, &r.posterior, &r.noise)?,
        write_bands(dir, &r.targets, r)?,
        write_predictive(dir, r)?,
        write_probabilities(dir, base, &r.post)?,
    ];
    let mut sw = crate::experiment::SummaryWriter::create(dir, &[])?;
    sw.write(&r.forecast, &[])?;
    files.extend(sw.finish()?);
    files.extend(write_band_chart(dir, base, r, st.window_end)?);
    // The posterior sample beside the calibrated scenario, and the scenario itself.
    if let Some(parent) = r.posterior_file.parent() {
        crate::output::create_dir(parent)?;
    }
    let copy = std::fs::read(dir.join("posterior.csv")).map_err(|source| Error::Io {
        path: dir.join("posterior.csv"),
        source,
    })?;
    if r.posterior_file.parent() != Some(dir) || file_name(&r.posterior_file) != "posterior.csv" {
        crate::output::write_atomic(&r.posterior_file, &copy)?;
        if r.posterior_file.parent() == Some(dir) {
            files.push(file_name(&r.posterior_file));
        }
    }
    let header = abc_header(job, abc, base, r);
    let values: Vec<(String, f64)> = paths.iter().cloned().zip(r.posterior.mean()).collect();
    let patched = super::job::patch_calibrated(text, &values, &r.calibrated, &header)?;
    crate::output::write_atomic(&r.scenario_file, patched.as_bytes())?;
    if r.scenario_file.parent() == Some(dir) {
        files.push(file_name(&r.scenario_file));
    }
    set.add(files.iter().cloned());
    set.finish()?;
    let _ = st;
    Ok(files)
}

/// `fit.svg` (with the `charts` feature): the posterior predictive value shares with their
/// 95% bands and the observed shares.
fn write_band_chart(
    dir: &Path,
    base: &Scenario,
    r: &AbcReport,
    window_end: Month,
) -> Result<Vec<String>> {
    #[cfg(feature = "charts")]
    {
        use super::Measure;
        let mut series: Vec<crate::chart::BandSeries> = Vec::new();
        for q in r
            .post
            .quantities()
            .into_iter()
            .filter(|q| q.metric == "value_share")
        {
            let b = r.post.quantity(&q);
            let point = (q.month, 100.0 * b.mean, 100.0 * b.lo, 100.0 * b.hi);
            match series.iter_mut().find(|(id, _)| *id == q.key1) {
                Some((_, pts)) => pts.push(point),
                None => series.push((q.key1.clone(), vec![point])),
            }
        }
        let observed: Vec<crate::chart::Observed> = r
            .targets
            .iter()
            .filter(|t| matches!(t.measure, Measure::Share | Measure::ShareWithoutP2p))
            .map(|t| crate::chart::Observed {
                platform: t.platform.clone(),
                months: t.months,
                value: t.value,
                filled: t.measure == Measure::Share,
            })
            .collect();
        let title = format!(
            "{}: value share, % (posterior predictive mean and 95% band of {} runs; dots observed, hollow = without p2p)",
            base.name,
            r.post.runs.len()
        );
        crate::chart::band_fit_chart(&dir.join("fit.svg"), &title, &series, &observed, window_end)?;
        Ok(vec!["fit.svg".to_string()])
    }
    #[cfg(not(feature = "charts"))]
    {
        let _ = (dir, base, r, window_end);
        Ok(vec![])
    }
}

fn abc_header(job: &Job, abc: &AbcSettings, base: &Scenario, r: &AbcReport) -> String {
    let st = &job.settings;
    let fitted = r.targets.iter().filter(|t| t.weight > 0.0).count();
    let last = r.posterior.generations.last();
    [
        format!(
            "# Calibrated by paymarket {} from {} (ABC). Regenerate with:",
            env!("CARGO_PKG_VERSION"),
            file_name(&job.scenario_path)
        ),
        format!("#   {}", job.command),
        format!(
            "# Seed {}, {} particles (alpha {}), {} candidates, each {} replicates of {} users and {} merchants,",
            st.seed,
            abc.particles,
            abc.alpha,
            last.map_or(0, |g| g.simulated),
            st.replicates,
            st.users,
            st.merchants
        ),
        format!(
            "# window {} to {}: {fitted} of {} targets fitted; {} free parameters; final tolerance {:.3} \
             (seed-noise sd of the distance {:.3}).",
            base.start,
            st.window_end,
            r.targets.len(),
            r.parameters.len(),
            r.posterior.tolerance(),
            r.noise.median_sd
        ),
        format!(
            "# The numbers marked \"calibrated, was ...\" are the posterior mean; the posterior sample is {}.",
            file_name(&r.posterior_file)
        ),
    ]
    .join("\n")
        + "\n\n"
}

fn write_generations(dir: &Path, post: &Posterior) -> Result<String> {
    let mut w = StagedCsv::open(
        dir,
        "abc_generations.csv",
        &[
            "generation",
            "candidates",
            "simulated",
            "tolerance",
            "acceptance",
        ],
    )?;
    for g in &post.generations {
        w.write([
            g.index.to_string(),
            g.candidates.to_string(),
            g.simulated.to_string(),
            num(g.tolerance),
            num(g.acceptance),
        ])?;
    }
    w.commit()?;
    Ok(w.name())
}

fn write_summary(dir: &Path, ps: &[Parameter], post: &Posterior) -> Result<String> {
    let mut w = StagedCsv::open(
        dir,
        "posterior_summary.csv",
        &[
            "parameter",
            "lo",
            "hi",
            "prior_mean",
            "prior_sd",
            "mean",
            "sd",
            "q025",
            "q50",
            "q975",
            "sd_ratio",
        ],
    )?;
    let (mean, sd) = (post.mean(), post.sd());
    for (k, p) in ps.iter().enumerate() {
        let prior = p.prior();
        w.write([
            p.path.clone(),
            num(p.lo),
            num(p.hi),
            num(prior.mean()),
            num(prior.sd()),
            num(mean[k]),
            num(sd[k]),
            num(post.quantile(k, 0.025)),
            num(post.quantile(k, 0.5)),
            num(post.quantile(k, 0.975)),
            num(sd[k] / prior.sd()),
        ])?;
    }
    w.commit()?;
    Ok(w.name())
}

fn write_correlations(dir: &Path, ps: &[Parameter], post: &Posterior) -> Result<String> {
    let mut w = StagedCsv::open(
        dir,
        "posterior_correlations.csv",
        &["parameter_a", "parameter_b", "correlation"],
    )?;
    for a in 0..ps.len() {
        for b in a + 1..ps.len() {
            w.write([
                ps[a].path.clone(),
                ps[b].path.clone(),
                num(post.correlation(a, b)),
            ])?;
        }
    }
    w.commit()?;
    Ok(w.name())
}

fn write_noise(dir: &Path, post: &Posterior, noise: &Noise) -> Result<String> {
    let mut w = StagedCsv::open(
        dir,
        "noise.csv",
        &[
            "particle",
            "seed_set",
            "distance",
            "sampled_distance",
            "tolerance",
        ],
    )?;
    for (k, ds) in &noise.points {
        for (s, d) in ds.iter().enumerate() {
            w.write([
                k.to_string(),
                s.to_string(),
                num(*d),
                num(post.particles[*k].distance),
                num(post.tolerance()),
            ])?;
        }
    }
    w.commit()?;
    Ok(w.name())
}

fn write_bands(dir: &Path, targets: &[Target], r: &AbcReport) -> Result<String> {
    let mut w = StagedCsv::open(
        dir,
        "fit.csv",
        &[
            "period",
            "publisher",
            "series",
            "platform",
            "measure",
            "at_least",
            "observed",
            "weight",
            "draws",
            "mean",
            "q025",
            "q50",
            "q975",
            "error",
            "runs",
        ],
    )?;
    for t in targets {
        for (draws, p) in [("prior", &r.prior), ("posterior", &r.post)] {
            let b = p.target(t);
            w.write([
                t.period.clone(),
                t.publisher.clone(),
                t.series.clone(),
                t.platform.clone(),
                t.measure.name().to_string(),
                t.at_least.to_string(),
                num(t.value),
                num(t.weight),
                draws.to_string(),
                num(b.mean),
                num(b.lo),
                num(b.median),
                num(b.hi),
                num(error(t, b.mean)),
                b.n.to_string(),
            ])?;
        }
    }
    w.commit()?;
    Ok(w.name())
}

fn write_predictive(dir: &Path, r: &AbcReport) -> Result<String> {
    let mut w = StagedCsv::open(
        dir,
        "predictive.csv",
        &[
            "draws", "month", "table", "key1", "key2", "metric", "mean", "q025", "q50", "q975",
            "runs",
        ],
    )?;
    for (draws, p) in [("prior", &r.prior), ("posterior", &r.post)] {
        for q in p.quantities() {
            let b = p.quantity(&q);
            w.write([
                draws.to_string(),
                q.month.to_string(),
                q.table.to_string(),
                q.key1.clone(),
                q.key2.clone(),
                q.metric.to_string(),
                num(b.mean),
                num(b.lo),
                num(b.median),
                num(b.hi),
                b.n.to_string(),
            ])?;
        }
    }
    w.commit()?;
    Ok(w.name())
}

fn write_probabilities(dir: &Path, base: &Scenario, post: &Predictive) -> Result<String> {
    let mut w = StagedCsv::open(
        dir,
        "probabilities.csv",
        &["statement", "probability", "runs"],
    )?;
    let ids = base.platform_ids();
    if ids.len() >= 2 {
        for (s, p, n) in probabilities(post, ids[0], ids[1]) {
            w.write([s, num(p), n.to_string()])?;
        }
    }
    w.commit()?;
    Ok(w.name())
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
            let pr = par.prior();
            let _ = writeln!(
                o,
                "{:<44} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>19} {:>6.2}",
                par.path,
                pr.mean(),
                pr.sd(),
                mean[k],
                sd[k],
                format!("[{:.3}, {:.3}]", p.quantile(k, 0.025), p.quantile(k, 0.975)),
                sd[k] / pr.sd()
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
