//! A sensitivity analysis as the tool and the Python package describe it: the scenario, its
//! alternative (a file, or the effect of a group of events), the ranges and outputs as written,
//! the method and its budget; made into an [`analyse`](super::analyse)-ready pair of scenario and [`Spec`],
//! and written as an output set that `paymarket rerun` makes again.
//!
//! Owns: [`Study`], [`Prepared`], [`Drawer`]. Reads: [`analyse`](super::analyse)'s types, the output sets.
//! Never: the charts (a caller that draws them passes a [`Drawer`]).

use super::{analyse_reusing, design_ids, write_files, Known, Method, Output, Report, Spec};
use crate::error::{Error, Result};
use crate::experiment::Watch;
use crate::month::Month;
use crate::output::{Identity, OutputSet, Provenance, ScenarioId};
use crate::scenario::Scenario;
use std::path::{Path, PathBuf};
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
    /// Morris trajectories chosen for spread instead of at random (see [`Method::Morris`]).
    pub spread: bool,
    /// Counts the runs and stops them when asked ([`Spec::watch`]).
    pub watch: Option<Arc<Watch>>,
    /// An output set of the same analysis at another budget (the same scenarios, method,
    /// ranges, outputs, replicates, seed and seeding): its runs are taken for every design
    /// point the two designs share ([`analyse_reusing`]), so the files are those of the
    /// analysis run whole.
    pub extend: Option<PathBuf>,
}

/// A study made ready: the scenario as given (extended by `end`), the scenario analysed (the
/// given one, or without the `effect_of` events) and the [`Spec`].
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The scenario as given, extended by `end`: the set's `scenario.resolved.toml`.
    pub given: Scenario,
    /// The scenario the outputs are computed on (for `effect_of`, without its events).
    pub scenario: Scenario,
    /// What [`analyse`](super::analyse) runs.
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
            spread: false,
            watch: None,
            extend: None,
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
                        "the end {end} (--end, end=) is before the scenario's start {}",
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
                    "--effect-of {group}: no event of the scenario {:?} has group = {group:?}; \
                     the groups it has: {}",
                    s.name,
                    groups(&s)
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
            method: self.method(self.budget, ranges.len())?,
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

    /// The method and its design for a budget and `k` parameters, trajectories chosen for
    /// spread if asked.
    fn method(&self, budget: usize, k: usize) -> Result<Method> {
        let mut method = Method::with_budget(&self.method, budget, k)?;
        match (&mut method, self.spread) {
            (Method::Morris { spread, .. }, true) => *spread = true,
            (Method::Sobol { .. }, true) => {
                return Err(Error::Config(
                    "--spread chooses Morris trajectories: a Sobol design has none".into(),
                ))
            }
            _ => {}
        }
        Ok(method)
    }

    /// [`Study::prepare`] then [`super::analyse`], reusing the runs of the set it extends.
    pub fn run(&self) -> Result<(Prepared, Report)> {
        let p = self.prepare()?;
        let known = match &self.extend {
            Some(dir) => self.known(dir, &p)?,
            None => Known::default(),
        };
        let report = analyse_reusing(&p.scenario, &p.spec, &known)?;
        Ok((p, report))
    }

    /// The runs of the output set in `dir`, once it is shown to be this analysis at another
    /// budget: a complete set (its manifest), the same arguments but `--budget` and
    /// `--bootstrap`, the same scenarios (fingerprints) and seed; its `design.csv` and
    /// `outputs.csv` as the design of its budget has them.
    pub fn known(&self, dir: &Path, p: &Prepared) -> Result<Known> {
        let refuse = |why: String| {
            Error::Config(format!(
                "--extend {}: {why}; extend an output set of `paymarket sensitivity` written by \
                 this paymarket with the same scenario (and alternative or --effect-of), method, \
                 ranges, outputs, replicates, seed, --independent-seeds and --spread (only \
                 --budget and --bootstrap may differ)",
                dir.display()
            ))
        };
        let manifest = crate::output::check_manifest(dir).map_err(|e| refuse(e.to_string()))?;
        let here = env!("CARGO_PKG_VERSION");
        if manifest.paymarket != here {
            return Err(refuse(format!(
                "it was written by paymarket {}, this is {here}: its runs may not be this \
                 version's",
                manifest.paymarket
            )));
        }
        let old = manifest
            .provenance
            .map(|p| p.rerun)
            .ok_or_else(|| refuse("its manifest records no command".into()))?;
        let new = self.rerun_args(p);
        let (old_rest, old_budget) = without_budget(&old);
        let (new_rest, _) = without_budget(&new);
        if old_rest != new_rest {
            let k = old_rest
                .iter()
                .zip(&new_rest)
                .position(|(a, b)| a != b)
                .unwrap_or(old_rest.len().min(new_rest.len()));
            return Err(refuse(format!(
                "it was made by `paymarket {}`, which differs at {:?} (here {:?})",
                old.join(" "),
                old_rest.get(k).map(String::as_str).unwrap_or("its end"),
                new_rest.get(k).map(String::as_str).unwrap_or("the end")
            )));
        }
        let identity = crate::output::read_identity(dir).map_err(|e| refuse(e.to_string()))?;
        if identity.as_ref() != Some(&self.identity(p)) {
            return Err(refuse(
                "its scenarios are not these (their fingerprints differ: another file, or \
                 other agent counts)"
                    .into(),
            ));
        }
        let budget: usize = old_budget
            .and_then(|b| b.parse().ok())
            .ok_or_else(|| refuse("its command has no --budget".into()))?;
        let method = self.method(budget, p.spec.ranges.len())?;
        let ids = design_ids(method, p.spec.ranges.len(), p.spec.seed);
        let paths: Vec<&str> = p.spec.ranges.iter().map(|(q, _, _)| q.as_str()).collect();
        let design = read_csv(&dir.join("design.csv")).map_err(|e| refuse(e.to_string()))?;
        let mut header = vec!["point"];
        header.extend(&paths);
        if design.0 != header || design.1.len() != ids.len() {
            return Err(refuse(format!(
                "its design.csv has the columns {:?} and {} points, where the design of budget \
                 {budget} has {header:?} and {} points",
                design.0,
                design.1.len(),
                ids.len()
            )));
        }
        let outputs: Vec<String> = p.spec.outputs.iter().map(|o| o.text.clone()).collect();
        let r_n = p.spec.replicates as usize;
        let mut values = vec![vec![vec![f64::NAN; r_n]; outputs.len()]; ids.len()];
        let runs = read_csv(&dir.join("outputs.csv")).map_err(|e| refuse(e.to_string()))?;
        if runs.0 != ["point", "replicate", "output", "value"] {
            return Err(refuse(format!(
                "its outputs.csv has the columns {:?}",
                runs.0
            )));
        }
        let bad = |line: usize| {
            refuse(format!(
                "outputs.csv line {}: not a run of this design",
                line + 2
            ))
        };
        for (line, row) in runs.1.iter().enumerate() {
            let (pt, r, o) = match (row[0].parse::<usize>(), row[1].parse::<usize>()) {
                (Ok(pt), Ok(r)) => (pt, r, outputs.iter().position(|o| *o == row[2])),
                _ => return Err(bad(line)),
            };
            let slot = o.and_then(|o| values.get_mut(pt)?.get_mut(o)?.get_mut(r));
            match (slot, row[3].parse::<f64>()) {
                (Some(slot), Ok(v)) => *slot = v,
                _ => return Err(bad(line)),
            }
        }
        let mut known = Known {
            outputs,
            ..Known::default()
        };
        for ((row, id), v) in design.1.iter().zip(ids).zip(values) {
            let x: Vec<f64> = row[1..]
                .iter()
                .map(|c| {
                    c.parse()
                        .map_err(|_| refuse(format!("design.csv: {c:?} is not a number")))
                })
                .collect::<Result<_>>()?;
            if v.iter().flatten().all(|x| x.is_finite()) {
                known.points.insert(id, (x, v));
            }
        }
        Ok(known)
    }

    /// The set's identity: the command, the scenarios written into it, the seed.
    fn identity(&self, p: &Prepared) -> Identity {
        Identity {
            command: "sensitivity".into(),
            scenarios: self
                .written(p)
                .iter()
                .map(|(_, s)| ScenarioId::new(&s.name, s.fingerprint()))
                .collect(),
            seed: p.spec.seed,
            panel: None,
        }
    }

    /// The scenarios the set holds, by file name: the one given, and an alternative file.
    fn written<'a>(&self, p: &'a Prepared) -> Vec<(&'static str, &'a Scenario)> {
        let mut scenarios = vec![(RESOLVED, &p.given)];
        if let (None, Some(v)) = (&self.effect_of, &p.spec.vs) {
            scenarios.push((ALTERNATIVE, v));
        }
        scenarios
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
        if self.spread {
            a.push("--spread".into());
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
        let identity = self.identity(p);
        let inputs = self
            .written(p)
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

/// The arguments without `--budget` and `--bootstrap` and their values, and the budget.
fn without_budget(args: &[String]) -> (Vec<String>, Option<String>) {
    let (mut rest, mut budget) = (Vec::new(), None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--budget" => budget = it.next().cloned(),
            "--bootstrap" => {
                it.next();
            }
            _ => rest.push(a.clone()),
        }
    }
    (rest, budget)
}

/// A CSV file's header and rows.
fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let csv_err = |e: csv::Error| Error::Csv {
        path: path.to_path_buf(),
        source: e,
    };
    let mut r = csv::Reader::from_path(path).map_err(csv_err)?;
    let header = r
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|rec| rec.map(|r| r.iter().map(String::from).collect()))
        .collect::<std::result::Result<_, _>>()
        .map_err(csv_err)?;
    Ok((header, rows))
}

/// The scenario's event groups, for a message.
fn groups(s: &Scenario) -> String {
    let mut g: Vec<&str> = s.events.iter().filter_map(|e| e.group.as_deref()).collect();
    g.sort_unstable();
    g.dedup();
    if g.is_empty() {
        "none".into()
    } else {
        g.join(", ")
    }
}
