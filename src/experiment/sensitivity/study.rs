//! A sensitivity analysis as the tool and the Python package describe it: the scenario, its
//! alternative (a file, or the effect of a group of events), the ranges and outputs as written,
//! the method and its budget; made into an [`analyse`]-ready pair of scenario and [`Spec`],
//! and written as an output set that `paymarket rerun` makes again.
//!
//! Owns: [`Study`], [`Prepared`], [`Drawer`]. Reads: [`analyse`]'s types, the output sets.
//! Never: the charts (a caller that draws them passes a [`Drawer`]).

use super::{analyse, write_files, Method, Output, Report, Spec};
use crate::error::{Error, Result};
use crate::experiment::Watch;
use crate::month::Month;
use crate::output::{Identity, OutputSet, Provenance, ScenarioId};
use crate::scenario::Scenario;
use std::path::Path;
use std::sync::Arc;

/// The resolved scenario's file name in an output set.
pub const RESOLVED: &str = "scenario.resolved.toml";
/// The resolved alternative's file name in an output set (with `vs`).
pub const ALTERNATIVE: &str = "alternative.resolved.toml";

/// Draws charts of a report into a directory and returns their file names
/// (`paymarket::chart::sensitivity_chart`, with the `charts` feature).
pub type Drawer = fn(&Path, &Report) -> Result<Vec<String>>;

/// The arguments of `paymarket sensitivity` (and of `paymarket.sensitivity` in Python).
///
/// ```
/// use paymarket::experiment::sensitivity::Study;
/// let mut s = paymarket::Scenario::load("data/scenarios/duopoly.toml")?;
/// s.agents.users = 1_000;
/// s.agents.merchants = 100;
/// let study = Study {
///     ranges: vec!["params.loyalty=0.3:0.9".into()],
///     outputs: vec!["platforms.alpha.value_share@2021-12".into()],
///     budget: 4,
///     replicates: 1,
///     bootstrap: 50,
///     ..Study::new(s)
/// };
/// let prepared = study.prepare()?;
/// let report = paymarket::experiment::sensitivity::analyse(&prepared.scenario, &prepared.spec)?;
/// // 4 points: two Morris trajectories of 2 points each.
/// assert_eq!(report.points.len(), 4);
/// # Ok::<(), paymarket::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Study {
    /// The scenario, with the agent counts it is to run with.
    pub scenario: Scenario,
    /// An alternative: every output becomes its paired effect against the scenario.
    pub vs: Option<Scenario>,
    /// A group of the scenario's events (`group = "..."`): every output becomes the paired
    /// effect of the scenario with them against the scenario without them. Not with `vs`.
    pub effect_of: Option<String>,
    /// Extend the scenario (and the alternative) to this month.
    pub end: Option<Month>,
    /// Parameters as written: `PATH=LO:HI`.
    pub ranges: Vec<String>,
    /// Outputs as written (see [`Output::parse`]).
    pub outputs: Vec<String>,
    /// `morris` or `sobol`.
    pub method: String,
    /// Design points before replicates ([`Method::with_budget`]).
    pub budget: usize,
    /// Replicates per design point.
    pub replicates: u64,
    /// Master seed (the scenario's when `None`).
    pub seed: Option<u64>,
    /// Bootstrap resamples of the intervals.
    pub bootstrap: usize,
    /// Independent seeds at every design point instead of common ones.
    pub independent: bool,
    /// Counts the runs and stops them when asked ([`Spec::watch`]).
    pub watch: Option<Arc<Watch>>,
}

/// A study made ready: the scenario as given (extended by `end`), the scenario analysed (the
/// given one, or without the `effect_of` events) and the [`Spec`].
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The scenario as given, extended by `end`: the set's `scenario.resolved.toml`.
    pub given: Scenario,
    /// The scenario the outputs are computed on (for `effect_of`, without its events).
    pub scenario: Scenario,
    /// What [`analyse`] runs.
    pub spec: Spec,
}

impl Study {
    /// The tool's defaults for a scenario: Morris, a budget of 200 points, 2 replicates, 1,000
    /// bootstrap resamples, common seeds; no ranges or outputs yet.
    pub fn new(scenario: Scenario) -> Study {
        Study {
            scenario,
            vs: None,
            effect_of: None,
            end: None,
            ranges: Vec::new(),
            outputs: Vec::new(),
            method: "morris".into(),
            budget: 200,
            replicates: 2,
            seed: None,
            bootstrap: 1000,
            independent: false,
            watch: None,
        }
    }

    /// Reads the ranges and outputs, extends the scenarios to `end`, takes out the `effect_of`
    /// events: every mistake is an error that names the argument and says what to write.
    pub fn prepare(&self) -> Result<Prepared> {
        if self.effect_of.is_some() && self.vs.is_some() {
            return Err(Error::Config(
                "give an alternative scenario or a group of events whose effect to analyse, \
                 not both"
                    .into(),
            ));
        }
        let mut s = self.scenario.clone();
        let mut vs = self.vs.clone();
        if let Some(end) = self.end {
            for x in std::iter::once(&mut s).chain(vs.as_mut()) {
                if end < x.start {
                    return Err(Error::Config(format!(
                        "--end {end} is before the scenario's start {}",
                        x.start
                    )));
                }
                x.end = end;
                x.validate_as("the scenario extended by --end")?;
            }
        }
        let ranges: Vec<(String, f64, f64)> = self
            .ranges
            .iter()
            .map(|text| {
                let parsed = text.split_once('=').and_then(|(p, r)| {
                    let (lo, hi) = r.split_once(':')?;
                    Some((p.to_string(), lo.parse().ok()?, hi.parse().ok()?))
                });
                parsed.ok_or_else(|| {
                    Error::Config(format!(
                        "--range {text:?}: write PATH=LO:HI, e.g. params.churn_rate=0.05:0.2"
                    ))
                })
            })
            .collect::<Result<_>>()?;
        let given = s.clone();
        if let Some(group) = &self.effect_of {
            let without: Vec<_> = s
                .events
                .iter()
                .filter(|e| e.group.as_deref() != Some(group.as_str()))
                .cloned()
                .collect();
            if without.len() == s.events.len() {
                return Err(Error::Config(format!(
                    "--effect-of {group}: no event of {} has group = {group:?}",
                    s.name
                )));
            }
            vs = Some(s.clone());
            s.events = without;
            s.name = format!("{}_without_{group}", s.name);
        }
        let outputs: Vec<Output> = self
            .outputs
            .iter()
            .map(|o| Output::parse(o, &s))
            .collect::<Result<_>>()?;
        let spec = Spec {
            method: Method::with_budget(&self.method, self.budget, ranges.len())?,
            ranges,
            outputs,
            replicates: self.replicates,
            seed: self.seed.unwrap_or(s.seed),
            bootstrap: self.bootstrap,
            vs,
            independent: self.independent,
            watch: self.watch.clone(),
        };
        Ok(Prepared {
            given,
            scenario: s,
            spec,
        })
    }

    /// [`Study::prepare`] then [`analyse`].
    pub fn run(&self) -> Result<(Prepared, Report)> {
        let p = self.prepare()?;
        let report = analyse(&p.scenario, &p.spec)?;
        Ok((p, report))
    }

    /// The arguments (after `paymarket`, without `--out`) that make the study again from its
    /// output set: the set's copies of the scenarios, the seed made explicit.
    pub fn rerun_args(&self, p: &Prepared) -> Vec<String> {
        let mut a = vec![
            "sensitivity".to_string(),
            RESOLVED.into(),
            "--method".into(),
            p.spec.method.name().into(),
        ];
        for r in &self.ranges {
            a.extend(["--range".into(), r.clone()]);
        }
        for o in &self.outputs {
            a.extend(["--output".into(), o.clone()]);
        }
        for (flag, v) in [
            ("--budget", self.budget.to_string()),
            ("--replicates", p.spec.replicates.to_string()),
            ("--seed", p.spec.seed.to_string()),
            ("--bootstrap", self.bootstrap.to_string()),
        ] {
            a.extend([flag.to_string(), v]);
        }
        if self.independent {
            a.push("--independent-seeds".into());
        }
        if let Some(group) = &self.effect_of {
            a.extend(["--effect-of".into(), group.clone()]);
        } else if p.spec.vs.is_some() {
            a.extend(["--vs".into(), ALTERNATIVE.into()]);
        }
        a
    }

    /// Writes the output set into `dir` (on the root rank only; nothing elsewhere): the
    /// identity and the resolved scenarios, `sensitivity.csv`, `design.csv`, `outputs.csv`,
    /// `noise.csv`, the charts `draw` makes, and the manifest with `command` (the command line
    /// to record, program first) and the arguments of `rerun`. Returns the files written.
    pub fn write(
        &self,
        dir: &Path,
        p: &Prepared,
        report: &Report,
        command: Vec<String>,
        draw: Option<Drawer>,
    ) -> Result<Vec<String>> {
        if !crate::experiment::dist::is_root() {
            return Ok(Vec::new());
        }
        let mut scenarios = vec![(RESOLVED, &p.given)];
        if let (None, Some(v)) = (&self.effect_of, &p.spec.vs) {
            scenarios.push((ALTERNATIVE, v));
        }
        let identity = Identity {
            command: "sensitivity".into(),
            scenarios: scenarios
                .iter()
                .map(|(_, s)| ScenarioId::new(&s.name, s.fingerprint()))
                .collect(),
            seed: p.spec.seed,
            panel: None,
        };
        let inputs = scenarios
            .iter()
            .map(|(name, s)| Ok((name.to_string(), s.to_toml()?)))
            .collect::<Result<Vec<_>>>()?;
        let provenance = Provenance {
            command,
            seed: p.spec.seed,
            threads: rayon::current_num_threads(),
            rerun: self.rerun_args(p),
            inputs: vec![],
        };
        let mut set = OutputSet::begin(dir, &identity, provenance, &inputs)?;
        let mut files = write_files(dir, report, &p.spec)?;
        if let Some(draw) = draw {
            files.extend(draw(dir, report)?);
        }
        set.add(files.iter().cloned());
        set.finish()?;
        Ok(files)
    }
}
