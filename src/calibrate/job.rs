//! A calibration end to end, as the tool runs it: the default parameters, the job that reads the
//! inputs, searches, reports and writes `fit.csv`, `identification.csv`, `trace.csv`, the
//! forecast summaries, `fit.svg` and the calibrated scenario, and the printed report.
//!
//! Owns: `Job`, `Report`, `run`, `default_parameters`, `begin_set`, `patch_calibrated` (the
//! point method's files are written by `point_files`). Reads: every other calibration module,
//! output, chart. Never: the search's internals.

use super::{
    apply, calibrate, error, evaluate, identification, load_parameters, load_targets, Calibration,
    Fit, Parameter, Sensitivity, Settings, Target,
};
use crate::error::{Error, Result};
use crate::scenario::Scenario;

/// The parameters calibrated when no parameter file is given: for every third-party platform
/// (and any other a fitted target concerns), its innovation (0–0.05 a month), imitation weights (0–1 a month), initial
/// adopter share if launched by the start (0–0.5) and brand (±3; not for the first platform,
/// the reference of the logit) and its campaigns' multipliers (1–10); every merchant channel's
/// gross margin (0.05–0.5); and the shared primary-wallet, coverage, rescue and merchant-noise
/// parameters.
pub fn default_parameters(s: &Scenario, targets: &[Target]) -> Vec<Parameter> {
    let p = |path: String, lo: f64, hi: f64, why: &str| Parameter::new(path, lo, hi, why);
    let mut out = Vec::new();
    for (j, pl) in s.platforms.iter().enumerate() {
        // Every third-party platform's value moves the shares; others only if targeted.
        if !pl.third_party
            && !targets
                .iter()
                .any(|t| t.weight > 0.0 && t.platform == pl.id)
        {
            continue;
        }
        let id = &pl.id;
        out.push(p(
            format!("platform.{id}.innovation"),
            0.0,
            0.05,
            "Bass p per month",
        ));
        for net in pl.imitation.keys() {
            out.push(p(
                format!("platform.{id}.imitation.{net}"),
                0.0,
                1.0,
                "Bass q per month",
            ));
        }
        if pl.launch.is_none_or(|m| m <= s.start) {
            out.push(p(
                format!("platform.{id}.init_users"),
                0.0,
                0.5,
                "holders in 2012",
            ));
        }
        if j > 0 {
            out.push(p(
                format!("platform.{id}.brand"),
                -3.0,
                3.0,
                "logit utility",
            ));
        }
    }
    let fitted: Vec<String> = out
        .iter()
        .filter_map(|p| p.path.split('.').nth(1).map(String::from))
        .collect();
    for (k, e) in s.events.iter().enumerate() {
        if e.kind == crate::scenario::EventKind::Campaign
            && e.platform.as_ref().is_some_and(|id| fitted.contains(id))
        {
            out.push(p(format!("event[{k}].multiplier"), 1.0, 10.0, "campaign κ"));
        }
    }
    for ch in &s.channels {
        if ch.kind == crate::scenario::ChannelKind::Merchant && ch.shops > 0.0 {
            out.push(p(
                format!("channel.{}.margin", ch.id),
                0.05,
                0.5,
                "gross margin",
            ));
        }
    }
    for (name, lo, hi) in [
        ("loyalty", 0.0, 0.95),
        ("primary_review", 0.02, 0.5),
        ("balance_weight", 0.0, 5.0),
        ("social_weight", 0.0, 5.0),
        ("coverage_weight", 0.0, 0.3),
        ("rescue_weight", 0.0, 0.5),
        ("merchant_logit_scale", 0.002, 0.05),
    ] {
        out.push(p(format!("params.{name}"), lo, hi, "behavioural"));
    }
    out
}

/// Everything a calibration run needs, for [`run`].
pub struct Job {
    /// The scenario file.
    pub scenario_path: std::path::PathBuf,
    /// The scenario's text when it is not to be read from `scenario_path` (a scenario built or
    /// edited in memory): `scenario_path` then only names it, in the output set and in the
    /// calibrated scenario's header.
    pub scenario_text: Option<String>,
    /// The directory of `market_shares.csv`, `user_counts.csv` and (for the v2 mapping)
    /// `context_figures.csv`.
    pub targets_dir: std::path::PathBuf,
    /// A parameter file, or `None` for [`default_parameters`].
    pub parameters: Option<std::path::PathBuf>,
    /// Search settings.
    pub settings: Settings,
    /// Replicates of the final fit table and of the forecast.
    pub report_replicates: u64,
    /// Output directory, or `None` to write nothing (the reports and their
    /// [`Report::frames`] hold every table).
    pub out: Option<std::path::PathBuf>,
    /// Where to write the calibrated scenario (default `OUT/calibrated.toml`; with an output
    /// directory only).
    pub write_scenario: Option<std::path::PathBuf>,
    /// The command that produced it, recorded in the calibrated scenario's header.
    pub command: String,
    /// Show a progress line on stderr (when it is a terminal).
    pub progress: bool,
    /// How the output set was made (command line, threads), recorded in its manifest; the
    /// job fills in the arguments and inputs that make it again ([`Job::rerun_args`]).
    pub provenance: Option<crate::output::Provenance>,
    /// `Some` for the ABC method ([`super::run_abc`]), `None` for the point search ([`run`]).
    pub abc: Option<super::abc::AbcSettings>,
}

/// File name of a path, for names inside an output set.
pub(crate) fn file_name(p: &std::path::Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into())
}

/// What a calibration reads: the scenario's text and scenario, the targets, the parameters.
pub(crate) struct Inputs {
    pub text: String,
    pub base: Scenario,
    pub targets: Vec<Target>,
    pub parameters: Vec<Parameter>,
}

impl Job {
    /// Reads and checks the scenario (the window inside its horizon), the targets and the
    /// parameters (the file's, or [`default_parameters`]).
    pub(crate) fn load(&self) -> Result<Inputs> {
        let text = self.scenario_text()?;
        let origin = self.scenario_path.display().to_string();
        let base = Scenario::from_toml_str(&text, &origin)?;
        base.validate_as(&origin)?;
        let st = &self.settings;
        if st.window_end > base.end || st.window_end < base.start {
            return Err(Error::Config(format!(
                "the calibration window ends {}, outside {} ({} to {})",
                st.window_end, origin, base.start, base.end
            )));
        }
        let targets = load_targets(&self.targets_dir, &base, st.window_end)?;
        let parameters = match &self.parameters {
            Some(p) => load_parameters(p, &base)?,
            None => default_parameters(&base, &targets),
        };
        Ok(Inputs {
            text,
            base,
            targets,
            parameters,
        })
    }

    /// Checks the settings before any work: at least one replicate, candidate and report
    /// replicate, a users weight of 0 or more, and for ABC an `alpha` strictly between 0 and 1,
    /// a `min_acceptance` between 0 and 1 and at least 2 particles within the budget. [`run`]
    /// and [`super::run_abc`] call it first.
    pub fn check(&self) -> Result<()> {
        self.check_with(self.abc.as_ref())
    }

    /// [`Job::check`] with these ABC settings (`None`: the point search).
    pub(crate) fn check_with(&self, abc: Option<&super::abc::AbcSettings>) -> Result<()> {
        let st = &self.settings;
        let bad = |what: String| Err(Error::Config(what));
        if st.replicates == 0 || st.budget == 0 || self.report_replicates == 0 {
            return bad(format!(
                "replicates, budget and report_replicates must be at least 1, got {}, {} and {}",
                st.replicates, st.budget, self.report_replicates
            ));
        }
        if !(st.users_weight.is_finite() && st.users_weight >= 0.0) {
            return bad(format!(
                "users_weight must be 0 or more, got {}",
                st.users_weight
            ));
        }
        if let Some(abc) = abc {
            if !(abc.alpha > 0.0 && abc.alpha < 1.0) {
                return bad(format!(
                    "alpha must be between 0 and 1 (exclusive), got {}",
                    abc.alpha
                ));
            }
            if !(0.0..=1.0).contains(&abc.min_acceptance) {
                return bad(format!(
                    "min_acceptance must be between 0 and 1, got {}",
                    abc.min_acceptance
                ));
            }
            if abc.particles < 2 || abc.budget < abc.particles {
                return bad(format!(
                    "ABC needs at least 2 particles and a budget of at least the particles: got \
                     {} particles, budget {}",
                    abc.particles, abc.budget
                ));
            }
        }
        Ok(())
    }

    /// The scenario's text: [`Job::scenario_text`], or the file's.
    fn scenario_text(&self) -> Result<String> {
        match &self.scenario_text {
            Some(text) => Ok(text.clone()),
            None => std::fs::read_to_string(&self.scenario_path).map_err(|source| Error::Io {
                path: self.scenario_path.clone(),
                source,
            }),
        }
    }

    /// Where the calibrated scenario goes: `write_scenario`, or `OUT/calibrated.toml`; none
    /// without an output directory.
    pub(crate) fn scenario_file(&self) -> Option<std::path::PathBuf> {
        let out = self.out.as_ref()?;
        Some(
            self.write_scenario
                .clone()
                .unwrap_or_else(|| out.join("calibrated.toml")),
        )
    }

    /// The name, inside the output set, of the copy of the scenario file.
    fn scenario_input(&self) -> String {
        format!("inputs/scenario/{}", file_name(&self.scenario_path))
    }

    /// The name of the copy of the parameter file, if one was given.
    fn parameters_input(&self) -> Option<String> {
        self.parameters
            .as_ref()
            .map(|p| format!("inputs/parameters/{}", file_name(p)))
    }

    /// The inputs the calibration reads, as `(name in the output set, text)`: verbatim copies
    /// of the scenario file, the targets and the parameter file, so that the set can be made
    /// again from its directory alone.
    pub fn inputs(&self) -> Result<Vec<(String, String)>> {
        let read = |p: &std::path::Path| {
            std::fs::read_to_string(p).map_err(|source| Error::Io {
                path: p.to_path_buf(),
                source,
            })
        };
        let mut out = vec![(self.scenario_input(), self.scenario_text()?)];
        for name in [
            "market_shares.csv",
            "user_counts.csv",
            "context_figures.csv",
        ] {
            let p = self.targets_dir.join(name);
            if p.exists() {
                out.push((format!("inputs/targets/{name}"), read(&p)?));
            }
        }
        if let (Some(p), Some(name)) = (&self.parameters, self.parameters_input()) {
            out.push((name, read(p)?));
        }
        Ok(out)
    }

    /// The arguments of `paymarket calibrate` (after the program name, without `--out`) that
    /// run this job again on the copies of [`Job::inputs`].
    pub fn rerun_args(&self) -> Vec<String> {
        let st = &self.settings;
        let mut a: Vec<String> = vec![
            "calibrate".into(),
            self.scenario_input(),
            "--targets".into(),
            "inputs/targets".into(),
            "--budget".into(),
            st.budget.to_string(),
        ];
        if let Some(p) = self.parameters_input() {
            a.extend(["--params".into(), p]);
        }
        for (flag, v) in [
            ("--seed", st.seed.to_string()),
            ("--replicates", st.replicates.to_string()),
            ("--report-replicates", self.report_replicates.to_string()),
            ("--window-end", st.window_end.to_string()),
            ("--users-weight", format!("{}", st.users_weight)),
            ("--users", st.users.to_string()),
            ("--merchants", st.merchants.to_string()),
        ] {
            a.extend([flag.to_string(), v]);
        }
        if let Some(abc) = &self.abc {
            for (flag, v) in [
                ("--method", "abc".to_string()),
                ("--particles", abc.particles.to_string()),
                ("--alpha", format!("{}", abc.alpha)),
                ("--min-acceptance", format!("{}", abc.min_acceptance)),
            ] {
                a.extend([flag.to_string(), v]);
            }
        }
        a
    }
}

/// What [`run`] found.
pub struct Report {
    /// The targets.
    pub targets: Vec<Target>,
    /// The parameters calibrated.
    pub parameters: Vec<Parameter>,
    /// The search.
    pub calibration: Calibration,
    /// The objective of the scenario as it was (first point of the search).
    pub start_objective: f64,
    /// The calibrated scenario's fit with `report_replicates` replicates.
    pub fit: Fit,
    /// The identification report: the objective at the calibrated point and per parameter.
    pub identification: (f64, Vec<Sensitivity>),
    /// The calibrated scenario over its whole horizon, `report_replicates` replicates.
    pub forecast: crate::experiment::Summary,
    /// The calibrated scenario (named `NAME_calibrated`).
    pub calibrated: Scenario,
    /// Where the calibrated scenario was written (`None` without an output directory).
    pub scenario_file: Option<std::path::PathBuf>,
    /// Files written into the output directory.
    pub files: Vec<String>,
}

/// Calibrates a scenario file end to end: reads the targets and parameters, searches, measures
/// the fit and the identification with more replicates, runs the calibrated scenario over its
/// whole horizon (the forecast past the window), and writes `fit.csv`, `identification.csv`,
/// `trace.csv`, the forecast's `summary_*.csv`, `fit.svg` (with the `charts` feature) and the
/// calibrated scenario: the original file with the calibrated numbers rewritten in place and a
/// header recording the command, seed and budget.
pub fn run(job: &Job) -> Result<Report> {
    job.check()?;
    let Inputs {
        text,
        base,
        targets,
        parameters: ps,
    } = job.load()?;
    let st = &job.settings;
    let mut bar = crate::experiment::Progress::new(st.budget as u64, job.progress);
    let calibration = calibrate(&base, &ps, &targets, st, |_, _, _| bar.advance(1))?;
    let start_objective = calibration.trace[0].objective;
    let mut calibrated = apply(&base, &ps, &calibration.best)?;
    // A name of its own, so that its rows are never taken for the original's.
    calibrated.name = format!("{}_calibrated", base.name);
    let report = Settings {
        replicates: job.report_replicates.max(2),
        ..st.clone()
    };
    let fit = evaluate(&calibrated, &targets, &report)?;
    let identification = identification(&base, &ps, &calibration.best, &targets, st)?;
    st.check_watch()?;
    let forecast =
        crate::experiment::ensemble(&st.sized(&calibrated), &st.plan(report.replicates), &mut [])?;

    let mut report = Report {
        targets,
        parameters: ps,
        calibration,
        start_objective,
        fit,
        identification,
        forecast,
        calibrated,
        scenario_file: job.scenario_file(),
        files: Vec::new(),
    };
    // Under MPI only rank 0 writes.
    if let (Some(dir), Some(file), true) = (
        &job.out,
        &report.scenario_file,
        crate::experiment::dist::is_root(),
    ) {
        report.files = super::point_files::write_set(job, &text, &base, &report, dir, file)?;
    }
    Ok(report)
}

/// Starts a calibration's output set: the identity, the provenance and the copies of the inputs.
pub(crate) fn begin_set(job: &Job, base: &Scenario) -> Result<crate::output::OutputSet> {
    let st = &job.settings;
    let identity = crate::output::Identity {
        command: "calibrate".into(),
        scenarios: vec![crate::output::ScenarioId::new(
            &base.name,
            base.fingerprint(),
        )],
        seed: st.seed,
        panel: None,
    };
    let provenance = job
        .provenance
        .clone()
        .map(|p| crate::output::Provenance {
            rerun: job.rerun_args(),
            ..p
        })
        .unwrap_or_else(|| crate::output::Provenance {
            command: vec![job.command.clone()],
            seed: st.seed,
            threads: rayon::current_num_threads(),
            rerun: job.rerun_args(),
            inputs: vec![],
        });
    let dir = job.out.as_deref().ok_or_else(|| {
        Error::Config("a calibration without an output directory writes no files".into())
    })?;
    crate::output::OutputSet::begin(dir, &identity, provenance, &job.inputs()?)
}

/// The scenario text with `values` rewritten in place (each marked "calibrated, was ..."),
/// `calibrated`'s name and `header` on top; it must read back as `calibrated`.
pub(crate) fn patch_calibrated(
    text: &str,
    values: &[(String, f64)],
    calibrated: &Scenario,
    header: &str,
) -> Result<String> {
    let mut patched = crate::scenario::path::patch_toml(text, values, "calibrated")?;
    patched = crate::scenario::path::patch_name(&patched, &calibrated.name)?;
    patched.insert_str(0, header);
    // The file must read back as the calibrated scenario.
    let back = Scenario::from_toml_str(&patched, "the calibrated scenario")?;
    if back != *calibrated {
        return Err(Error::Config(
            "the rewritten scenario does not read back as the calibrated one: a bug".into(),
        ));
    }
    Ok(patched)
}

impl Report {
    /// A plain-text account: the fit, the identification, the forecast each December.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let fitted = self.targets.iter().filter(|t| t.weight > 0.0).count();
        let _ = writeln!(
            o,
            "Objective (weighted RMSE): {:.3} (the scenario as written: {:.3}); value shares \
             alone: {:.2} percentage points; {} free parameters, {fitted} fitted data points \
             ({} evaluations).\n",
            self.fit.objective,
            self.start_objective,
            self.fit.share_rmse,
            self.parameters.len(),
            self.calibration.trace.len()
        );
        let _ = writeln!(
            o,
            "{:<8} {:<12} {:<34} {:>9} {:>9} {:>17} {:>8} {:>6}",
            "period", "publisher", "series", "observed", "simulated", "95% CI", "error", "weight"
        );
        for (t, m) in self.targets.iter().zip(&self.fit.simulated) {
            let (lo, hi) = m.ci95();
            let _ = writeln!(
                o,
                "{:<8} {:<12} {:<34} {:>9.2} {:>9.2} {:>17} {:>8.2} {:>6}",
                t.period,
                t.publisher,
                format!("{} ({})", t.series, t.measure.name()),
                t.value,
                m.mean(),
                format!("[{lo:.2}, {hi:.2}]"),
                error(t, m.mean()),
                t.weight
            );
        }
        let _ = writeln!(
            o,
            "\nIdentification: the objective ({:.3}) when each parameter moves ±10%:",
            self.identification.0
        );
        let mut ids = self.identification.1.clone();
        ids.sort_by(|a, b| b.rise.total_cmp(&a.rise));
        for s in &ids {
            let _ = writeln!(
                o,
                "  {:<40} {:>10.4}   {:>8.3} / {:>8.3}   rise {:+.3}",
                s.path, s.value, s.objective.0, s.objective.1, s.rise
            );
        }
        let f = &self.forecast;
        let _ = writeln!(
            o,
            "\nValue share (%) each December, mean and 95% CI over {} replicates (after {}: \
             forecast, not fitted):",
            f.get(0, "market", "", "", "spend")
                .map(|m| m.n())
                .unwrap_or(0),
            self.targets
                .iter()
                .filter(|t| t.weight > 0.0)
                .map(|t| t.months.1)
                .max()
                .map(|m| m.to_string())
                .unwrap_or_default()
        );
        let ids: Vec<String> = f
            .cells()
            .iter()
            .filter(|c| c.table == "platforms" && c.metric == "value_share")
            .map(|c| c.key1.clone())
            .collect();
        for (t, m) in f.months().iter().enumerate() {
            if m.month_of_year() != 12 {
                continue;
            }
            let _ = write!(o, "  {}", m.year());
            for id in &ids {
                if let Some(v) = f.get(t, "platforms", id, "", "value_share") {
                    if v.n() > 0 {
                        let (lo, hi) = v.ci95();
                        let _ = write!(
                            o,
                            "   {id} {:.1} [{:.1}, {:.1}]",
                            100.0 * v.mean(),
                            100.0 * lo,
                            100.0 * hi
                        );
                    }
                }
            }
            let _ = writeln!(o);
        }
        o
    }
}
