//! Counterfactual comparisons on common random numbers: paired effects with their intervals,
//! optionally forked at a policy date, and their CSV writer.
//!
//! Owns: `compare`, `Effects`, `write_effects`, `effects_frames`, `write_comparison`. Reads: the summaries of
//! `ensemble`, the runner, forks of a simulation. Never: the rules, the agents.

use super::ensemble::{
    cell_keys, key_columns, layout, values, Cell, Summary, SummaryWriter, TABLES,
};
use super::{feed, for_each_replicate, Plan, Progress};
use crate::error::{Error, Result};
use crate::month::Month;
use crate::record::{Format, Frame, Kind, MonthReport, Recorder, TableWriter, Value};
use crate::scenario::{Scenario, ValidScenario};
use crate::sim::Simulation;
use crate::stats::{welch_ci95, Moments};
use std::path::Path;

/// Paired differences `alternative − baseline` per replicate, with both sides' moments.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    /// The baseline's summary.
    pub baseline: Summary,
    /// The alternative's summary.
    pub alternative: Summary,
    diff: Vec<Moments>,
    a: Vec<f64>,
    b: Vec<f64>,
}

impl Effects {
    fn new(baseline: &str, alternative: &str) -> Effects {
        Effects {
            baseline: Summary::new(baseline),
            alternative: Summary::new(alternative),
            ..Effects::default()
        }
    }

    /// Adds one replicate's pair of runs (same seed).
    ///
    /// Two scenarios with different contexts (one without, one with three, say) are compared
    /// on every table but `defaults`, whose rows then do not pair.
    pub fn add_pair(&mut self, base: &[MonthReport], alt: &[MonthReport]) -> Result<()> {
        let (lb, la) = (layout(&base[0]), layout(&alt[0]));
        if lb != la {
            let others = |l: &[Cell]| -> Vec<Cell> {
                l.iter()
                    .filter(|c| c.table != "defaults")
                    .cloned()
                    .collect()
            };
            if others(&lb) == others(&la) {
                let strip = |rs: &[MonthReport]| -> Vec<MonthReport> {
                    rs.iter()
                        .map(|r| MonthReport {
                            defaults: Vec::new(),
                            ..r.clone()
                        })
                        .collect()
                };
                return self.add_pair(&strip(base), &strip(alt));
            }
        }
        self.baseline.add_run(base)?;
        self.alternative.add_run(alt)?;
        if layout(&base[0]) != layout(&alt[0]) || base.len() != alt.len() {
            return Err(Error::Config(format!(
                "{} and {} cannot be compared: they differ in months, platforms or channels",
                self.baseline.scenario, self.alternative.scenario
            )));
        }
        let nc = self.baseline.cells.len();
        if self.diff.is_empty() {
            self.diff = vec![Moments::default(); base.len() * nc];
        }
        for (t, (rb, ra)) in base.iter().zip(alt).enumerate() {
            values(rb, &mut self.b);
            values(ra, &mut self.a);
            for (k, m) in self.diff[t * nc..][..nc].iter_mut().enumerate() {
                m.add(self.a[k] - self.b[k]);
            }
        }
        Ok(())
    }

    /// The paired moments of `alternative − baseline` for cell `c` in month index `t`.
    pub fn at(&self, t: usize, c: usize) -> &Moments {
        &self.diff[t * self.baseline.cells.len() + c]
    }

    /// The paired moments of the named cell in month index `t`; `None` when there is no such
    /// cell or month.
    pub fn get(
        &self,
        t: usize,
        table: &str,
        key1: &str,
        key2: &str,
        metric: &str,
    ) -> Option<Moments> {
        self.baseline
            .cell(t, table, key1, key2, metric)
            .map(|c| *self.at(t, c))
    }

    /// The unpaired (Welch) interval for the same cell: what independent seeds would give.
    pub fn unpaired_ci95(&self, t: usize, c: usize) -> (f64, f64) {
        welch_ci95(self.baseline.at(t, c), self.alternative.at(t, c))
    }
}

impl Effects {
    /// One line per platform: the paired effect on platform `metric` in month index `t` with its
    /// 95% interval (value shares in percentage points), e.g. for printing a headline.
    pub fn describe(&self, t: usize, metric: &str) -> Vec<String> {
        let scale = if metric == "value_share" { 100.0 } else { 1.0 };
        let unit = if metric == "value_share" {
            " points"
        } else {
            ""
        };
        let mut out = Vec::new();
        for c in self.baseline.cells() {
            if c.table == "platforms" && c.metric == metric {
                let d = match self.get(t, "platforms", &c.key1, "", metric) {
                    Some(d) if d.n() > 0 => d,
                    _ => continue,
                };
                let (lo, hi) = d.ci95();
                // Shares in points to two decimals; counts and money in whole units.
                let digits = if metric == "value_share" || d.mean().abs() < 10.0 {
                    2
                } else {
                    0
                };
                out.push(format!(
                    "{:<16} {:+.digits$}{unit} (95% CI {:+.digits$} to {:+.digits$}, {} paired runs)",
                    c.key1,
                    scale * d.mean(),
                    scale * lo,
                    scale * hi,
                    d.n()
                ));
            }
        }
        out
    }
}

/// Writes a comparison's files into `dir` in `format`: both sides' summaries
/// (`summary_*.csv`, told apart by the `scenario` column) and the paired effects
/// (`effects_*.csv`). Returns the file names.
pub fn write_comparison(dir: &Path, e: &Effects, format: Format) -> Result<Vec<String>> {
    let mut w = SummaryWriter::create(dir, &[], format)?;
    w.write(&e.baseline, &[])?;
    w.write(&e.alternative, &[])?;
    let mut names = w.finish()?;
    names.extend(write_effects(dir, e, format)?);
    Ok(names)
}

/// Runs a baseline and an alternative on the same replicate seeds (common random numbers) and
/// returns the paired effects `alternative − baseline`.
///
/// With `fork_at = Some(month)` each replicate runs the baseline up to the month before
/// `month` once, then continues both worlds from that state ([`Simulation::fork`]): the
/// alternative must agree with the baseline on everything dated before `month`. The per-run
/// reports of both go to `recorders` in replicate order, baseline first.
pub fn compare(
    baseline: &Scenario,
    alternative: &Scenario,
    plan: &Plan,
    fork_at: Option<Month>,
    recorders: &mut [&mut dyn Recorder],
) -> Result<Effects> {
    let (vb, va) = (
        baseline.clone().into_valid()?,
        alternative.clone().into_valid()?,
    );
    if baseline.name == alternative.name {
        return Err(Error::Config(format!(
            "both scenarios of the comparison are named {:?}, so their rows could not be told \
             apart: give the alternative a `name` of its own",
            baseline.name
        )));
    }
    if let Some(f) = fork_at {
        crate::sim::fork_compatible(baseline, alternative, f)?;
    }
    // Each side as large as it is (a side with several contexts takes 16 bytes a user).
    for side in [baseline, alternative] {
        plan.check_memory(side, if fork_at.is_some() { 2 } else { 1 })?;
    }
    let mut effects = Effects::new(&baseline.name, &alternative.name);
    let mut progress = Progress::for_plan(plan.replicates, plan);
    for_each_replicate(
        plan.replicates,
        plan.in_flight(),
        &mut progress,
        |r| match fork_at {
            None => Ok((plan.run_replicate(&vb, r)?, plan.run_replicate(&va, r)?)),
            Some(f) => forked_pair(
                plan.replicate_valid(&vb, r)?,
                plan.replicate_valid(&va, r)?,
                r,
                f,
                plan.watch.as_deref(),
            ),
        },
        |_, (b, a)| {
            feed(recorders, &b)?;
            feed(recorders, &a)?;
            effects.add_pair(&b, &a)
        },
    )?;
    for rec in recorders.iter_mut() {
        rec.finish()?;
    }
    Ok(effects)
}

/// Runs the shared past once, then both branches from the fork.
pub(crate) fn forked_pair(
    baseline: ValidScenario,
    alternative: ValidScenario,
    run: u64,
    fork_at: Month,
    watch: Option<&super::Watch>,
) -> Result<(Vec<MonthReport>, Vec<MonthReport>)> {
    let mut sim = Simulation::from_valid(baseline)?.with_run(run);
    let mut past = Vec::new();
    while sim.month() < fork_at {
        super::check(watch)?;
        match sim.step()? {
            Some(r) => past.push(r.clone()),
            None => break,
        }
    }
    let mut branch = sim.fork_valid(alternative)?;
    let mut alt: Vec<MonthReport> = past
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.scenario = branch.scenario().name.clone();
            r
        })
        .collect();
    for (world, rows) in [(&mut sim, &mut past), (&mut branch, &mut alt)] {
        loop {
            super::check(watch)?;
            match world.step()? {
                Some(r) => rows.push(r.clone()),
                None => break,
            }
        }
    }
    Ok((past, alt))
}

/// The columns of `effects_{table}.csv`: `baseline, alternative, month`, the table's keys,
/// `metric, baseline_mean, alternative_mean, effect, sd, ci_low, ci_high, n,
/// unpaired_ci_low, unpaired_ci_high`.
fn effects_header(table: &str) -> Vec<(String, Kind)> {
    let text = |n: &str| (n.to_string(), Kind::Text);
    let number = |n: &str| (n.to_string(), Kind::Number);
    let mut header: Vec<(String, Kind)> = ["baseline", "alternative", "month"].map(text).to_vec();
    header.extend(key_columns(table).iter().map(|n| text(n)));
    header.push(text("metric"));
    header.extend(
        [
            "baseline_mean",
            "alternative_mean",
            "effect",
            "sd",
            "ci_low",
            "ci_high",
        ]
        .map(number),
    );
    header.push(("n".to_string(), Kind::Integer));
    header.extend(["unpaired_ci_low", "unpaired_ci_high"].map(number));
    header
}

/// Every row of the effects: `f(k, cells)` with `k` the index in [`TABLES`] of the row's
/// table. The one place the effects' rows are made, for the CSV files and the frames alike.
fn effects_rows(e: &Effects, mut f: impl FnMut(usize, Vec<Value>) -> Result<()>) -> Result<()> {
    let b = &e.baseline;
    for (t, month) in b.months.iter().enumerate() {
        let month = month.to_string();
        for (c, cell) in b.cells.iter().enumerate() {
            let k = TABLES.iter().position(|x| *x == cell.table).unwrap_or(2);
            let d = e.at(t, c);
            let (lo, hi) = d.ci95();
            let (ulo, uhi) = e.unpaired_ci95(t, c);
            let mut row = vec![
                Value::Text(b.scenario.clone()),
                Value::Text(e.alternative.scenario.clone()),
                Value::Text(month.clone()),
            ];
            row.extend(cell_keys(cell).iter().map(|x| Value::Text(x.to_string())));
            row.push(Value::Text(cell.metric.to_string()));
            row.extend(
                [
                    b.at(t, c).mean(),
                    e.alternative.at(t, c).mean(),
                    d.mean(),
                    d.sd(),
                    lo,
                    hi,
                ]
                .map(Value::number),
            );
            row.push(Value::Integer(d.n() as i64));
            row.extend([ulo, uhi].map(Value::number));
            f(k, row)?;
        }
    }
    Ok(())
}

/// The effects' tables' names, in the order of [`TABLES`].
pub const EFFECTS_FILES: [&str; 4] = [
    "effects_platforms",
    "effects_market",
    "effects_channels",
    "effects_defaults",
];

/// The paired effects as frames named `effects_platforms`, `effects_market`,
/// `effects_channels` and `effects_defaults`: the columns and values of [`write_effects`]'s
/// files.
pub fn effects_frames(e: &Effects) -> Result<Vec<Frame>> {
    let mut frames: Vec<Frame> = TABLES
        .iter()
        .zip(EFFECTS_FILES)
        .map(|(table, name)| Frame::with_columns(name, &effects_header(table)))
        .collect();
    effects_rows(e, |k, row| {
        frames[k].push(row);
        Ok(())
    })?;
    Ok(frames)
}

/// Writes the effect tables `effects_platforms`, `effects_market`, `effects_channels` and
/// `effects_defaults` in `format`: per month, keys and metric, both sides' means, the paired
/// effect `alternative − baseline` with its sd, 95% interval and `n`, and the unpaired (Welch)
/// interval for contrast. Returns the file names.
pub fn write_effects(dir: &Path, e: &Effects, format: Format) -> Result<Vec<String>> {
    let mut files = TABLES
        .iter()
        .zip(EFFECTS_FILES)
        .map(|(table, name)| TableWriter::open(dir, name, &effects_header(table), format))
        .collect::<Result<Vec<_>>>()?;
    effects_rows(e, |k, row| files[k].write(row))?;
    let mut names = Vec::new();
    for w in &mut files {
        w.commit()?;
        names.push(w.name());
    }
    Ok(names)
}
