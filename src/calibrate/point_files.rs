//! The files of a point calibration's output set (see [`super::run`]): `fit.csv`,
//! `identification.csv`, `trace.csv`, the forecast's summaries, `fit.svg` and the calibrated
//! scenario with its header.
//!
//! Owns: `write_set`. Reads: the point calibration's report and its frames
//! ([`super::frames`]). Never: simulations.

use super::job::{begin_set, file_name, patch_calibrated};
use super::{Job, Report, Settings, Target};
use crate::error::Result;
use crate::month::Month;
use crate::record::{write_frame, Format};
use crate::scenario::Scenario;
use std::path::Path;

/// Writes the output set of a calibration: identity and inputs first, then `fit.csv`,
/// `identification.csv`, `trace.csv`, the forecast's summaries, `fit.svg` and the calibrated
/// scenario, and the manifest last. Returns the files written into the output directory.
pub(super) fn write_set(
    job: &Job,
    text: &str,
    base: &Scenario,
    r: &Report,
    dir: &Path,
    scenario_file: &Path,
) -> Result<Vec<String>> {
    let st = &job.settings;
    let mut set = begin_set(job, base)?;
    let mut files = Vec::new();
    for frame in r.frames()? {
        files.push(write_frame(dir, &frame, Format::Csv)?);
    }
    files.extend(write_fit_chart(
        dir,
        &r.forecast,
        &r.targets,
        st.window_end,
    )?);
    let patched = calibrated_text(job, text, base, &r.calibrated, r)?;
    crate::output::write_atomic(scenario_file, patched.as_bytes())?;
    if scenario_file.parent() == Some(dir) {
        if let Some(name) = scenario_file.file_name() {
            files.push(name.to_string_lossy().into_owned());
        }
    }
    set.add(files.iter().cloned());
    set.finish()?;
    Ok(files)
}

/// `fit.svg` (with the `charts` feature): the simulated shares with their bands and the
/// observed ones as dots.
fn write_fit_chart(
    dir: &Path,
    forecast: &crate::experiment::Summary,
    targets: &[Target],
    window_end: Month,
) -> Result<Vec<String>> {
    #[cfg(feature = "charts")]
    {
        let observed = observed_shares(targets);
        crate::chart::fit_chart(&dir.join("fit.svg"), forecast, &observed, window_end)?;
        Ok(vec!["fit.svg".to_string()])
    }
    #[cfg(not(feature = "charts"))]
    {
        let _ = (dir, forecast, targets, window_end);
        Ok(vec![])
    }
}

/// The calibrated scenario's text: the original file with the calibrated numbers rewritten in
/// place, its own name, and a header recording the command, seed, budget and fit; it must read
/// back as the calibrated scenario.
fn calibrated_text(
    job: &Job,
    text: &str,
    base: &Scenario,
    calibrated: &Scenario,
    r: &Report,
) -> Result<String> {
    let (st, targets, ps, fit) = (&job.settings, &r.targets, &r.parameters, &r.fit);
    let report = Settings {
        replicates: job.report_replicates.max(2),
        ..st.clone()
    };
    let (start_objective, calibration) = (r.start_objective, &r.calibration);
    let fitted = targets.iter().filter(|t| t.weight > 0.0).count();
    let header = [
        format!(
            "# Calibrated by paymarket {} from {}. Regenerate with:",
            env!("CARGO_PKG_VERSION"),
            file_name(&job.scenario_path)
        ),
        format!("#   {}", job.command),
        format!(
            "# Seed {}, budget {} evaluations ({} replicates of {} users and {} merchants per candidate),",
            st.seed, st.budget, st.replicates, st.users, st.merchants
        ),
        format!(
            "# window {} to {}: {fitted} of {} targets fitted; {} free parameters.",
            base.start,
            st.window_end,
            targets.len(),
            ps.len()
        ),
        format!(
            "# Objective (weighted RMSE, {} replicates): {:.3} (start {:.3}); value shares alone: {:.3} points.",
            report.replicates, fit.objective, start_objective, fit.share_rmse
        ),
        "# Calibrated numbers are marked \"calibrated, was ...\" below.".to_string(),
    ]
    .join("\n")
        + "\n\n";
    let values: Vec<(String, f64)> = ps
        .iter()
        .zip(&calibration.best)
        .map(|(p, v)| (p.path.clone(), *v))
        .collect();
    patch_calibrated(text, &values, calibrated, &header)
}

/// The share targets as a fit chart's published points (filled: the share of all value;
/// hollow: the share without p2p transfers). Both methods' `fit.svg` draw them.
#[cfg(feature = "charts")]
pub(super) fn observed_shares(targets: &[Target]) -> Vec<crate::chart::Observed> {
    use super::Measure;
    targets
        .iter()
        .filter(|t| matches!(t.measure, Measure::Share | Measure::ShareWithoutP2p))
        .map(|t| crate::chart::Observed {
            platform: t.platform.clone(),
            months: t.months,
            value: t.value,
            filled: t.measure == Measure::Share,
        })
        .collect()
}
