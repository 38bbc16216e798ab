//! The files of an ABC calibration's output set (see [`super::run_abc`]): the posterior and
//! prior samples, the generations, the posterior summary and correlations, the noise check,
//! the predictive fit and bands, the probabilities, the fit chart and the calibrated scenario.
//!
//! Owns: `write_abc_set` and one writer per file. Reads: the ABC report. Never: simulations.

use super::abc::{AbcSettings, Particle, Posterior};
use super::bayes::{AbcReport, Noise};
use super::job::file_name;
use super::posterior::write_posterior;
use super::predictive::{probabilities, Predictive};
use super::{error, Job, Parameter, Target};
use crate::error::{Error, Result};
use crate::month::Month;
use crate::output::{number as num, StagedCsv};
use crate::scenario::Scenario;
use std::path::Path;

pub(super) fn write_abc_set(
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
        let observed = super::point_files::observed_shares(&r.targets);
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
            "# Seed {}, {} particles (alpha {}), {} candidates, each {} replicate{} of {} users and {} merchants,",
            st.seed,
            abc.particles,
            abc.alpha,
            last.map_or(0, |g| g.simulated),
            st.replicates,
            if st.replicates == 1 { "" } else { "s" },
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
        let (prior_mean, prior_sd) = prior_moments(ps, k, post);
        w.write([
            p.path.clone(),
            num(p.lo),
            num(p.hi),
            num(prior_mean),
            num(prior_sd),
            num(mean[k]),
            num(sd[k]),
            num(post.quantile(k, 0.025)),
            num(post.quantile(k, 0.5)),
            num(post.quantile(k, 0.975)),
            num(sd[k] / prior_sd),
        ])?;
    }
    w.commit()?;
    Ok(w.name())
}

/// Parameter `k`'s prior mean and standard deviation: the declared prior's, or, for a
/// parameter in an order constraint, the prior sample's (its prior is then the ordered joint
/// prior's marginal, whose moments the declared prior's are not).
pub(super) fn prior_moments(ps: &[Parameter], k: usize, post: &Posterior) -> (f64, f64) {
    let ordered = super::order(ps).unwrap_or_default();
    if ordered.iter().any(|&(a, b)| a == k || b == k) {
        prior_sample_moments(&post.prior_sample, k)
    } else {
        let prior = ps[k].prior();
        (prior.mean(), prior.sd())
    }
}

/// Mean and standard deviation of parameter `k` over the draws from the prior.
fn prior_sample_moments(sample: &[Particle], k: usize) -> (f64, f64) {
    let n = sample.len() as f64;
    let mean = sample.iter().map(|p| p.x[k]).sum::<f64>() / n;
    let var = sample.iter().map(|p| (p.x[k] - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
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
