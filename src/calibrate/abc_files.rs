//! The files of an ABC calibration's output set (see [`super::run_abc`]): the posterior and
//! prior samples, the generations, the posterior summary and correlations, the noise check,
//! the predictive fit and bands, the probabilities, the fit chart and the calibrated scenario.
//!
//! Owns: `write_abc_set` and one writer per file. Reads: the ABC report. Never: simulations.

use super::abc::{AbcSettings, Particle, Posterior};
use super::bayes::AbcReport;
use super::job::file_name;
use super::{Job, Parameter};
use crate::error::{Error, Result};
use crate::month::Month;
use crate::record::{write_frame, Format};
use crate::scenario::Scenario;
use std::path::Path;

/// Where an ABC calibration's files go: the output directory, the calibrated scenario and the
/// posterior sample beside it.
pub(super) struct Destination<'a> {
    pub dir: &'a Path,
    pub file: &'a Path,
    pub beside: &'a Path,
}

pub(super) fn write_abc_set(
    job: &Job,
    abc: &AbcSettings,
    text: &str,
    base: &Scenario,
    r: &AbcReport,
    to: Destination<'_>,
) -> Result<Vec<String>> {
    let Destination { dir, file, beside } = to;
    let mut set = super::job::begin_set(job, base)?;
    let paths: Vec<String> = r.parameters.iter().map(|p| p.path.clone()).collect();
    let mut files = Vec::new();
    for frame in r.frames()? {
        files.push(write_frame(dir, &frame, Format::Csv)?);
    }
    files.extend(write_band_chart(dir, base, r, job.settings.window_end)?);
    // The posterior sample beside the calibrated scenario, and the scenario itself.
    if let Some(parent) = beside.parent() {
        crate::output::create_dir(parent)?;
    }
    let copy = std::fs::read(dir.join("posterior.csv")).map_err(|source| Error::Io {
        path: dir.join("posterior.csv"),
        source,
    })?;
    if beside.parent() != Some(dir) || file_name(beside) != "posterior.csv" {
        crate::output::write_atomic(beside, &copy)?;
        if beside.parent() == Some(dir) {
            files.push(file_name(beside));
        }
    }
    let header = abc_header(job, abc, base, r, beside);
    let values: Vec<(String, f64)> = paths.iter().cloned().zip(r.posterior.mean()).collect();
    let patched = super::job::patch_calibrated(text, &values, &r.calibrated, &header)?;
    crate::output::write_atomic(file, patched.as_bytes())?;
    if file.parent() == Some(dir) {
        files.push(file_name(file));
    }
    set.add(files.iter().cloned());
    set.finish()?;
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

fn abc_header(
    job: &Job,
    abc: &AbcSettings,
    base: &Scenario,
    r: &AbcReport,
    beside: &Path,
) -> String {
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
            file_name(beside)
        ),
    ]
    .join("\n")
        + "\n\n"
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
