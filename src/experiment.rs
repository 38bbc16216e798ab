//! Experiments: replicates of a scenario, counterfactual comparisons with common random numbers,
//! and the summaries (mean, sd, 95% confidence interval) that turn runs into results.
//!
//! Replicate `r` of master seed `S` runs with seed [`replicate_seed`]`(S, r)` and writes `run = r`.
//! Runs are executed in parallel, a bounded number at a time (`in_flight`), and handed on in
//! replicate order: summaries are accumulated run after run with [`Moments`], so memory does not
//! grow with the number of replicates and every digit of the output is the same whatever order
//! the runs finish in and whatever the number of threads.
//!
//! ```
//! use paymarket::experiment::{ensemble, Plan};
//! use paymarket::Scenario;
//! let mut s = Scenario::load("data/scenarios/duopoly.toml")?;
//! s.agents.users = 2_000;
//! s.agents.merchants = 200;
//! let plan = Plan { replicates: 4, seed: 7, ..Plan::default() };
//! let summary = ensemble(&s, &plan, &mut [])?;
//! let last = summary.months().len() - 1;
//! let share = summary.get(last, "platforms", "alpha", "", "value_share").unwrap();
//! assert_eq!(share.n(), 4);
//! let (lo, hi) = share.ci95();
//! assert!(lo <= share.mean() && share.mean() <= hi);
//! # Ok::<(), paymarket::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::month::Month;
use crate::output::{number as num, StagedCsv};
use crate::record::{MonthReport, Recorder};
use crate::rng::replicate_seed;
use crate::scenario::Scenario;
use crate::sim::Simulation;
use crate::stats::{welch_ci95, Moments};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

/// How to run replicates.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Number of replicates `R`.
    pub replicates: u64,
    /// Master seed: replicate `r` runs with `replicate_seed(seed, r)`.
    pub seed: u64,
    /// Runs simulated at once (each also steps its agents in parallel). Bounds memory: at most
    /// this many worlds exist at a time. `0` means the number of threads.
    pub in_flight: usize,
    /// Show a progress line on stderr (only when stderr is a terminal).
    pub progress: bool,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            replicates: 10,
            seed: 1,
            in_flight: 0,
            progress: false,
        }
    }
}

impl Plan {
    /// Runs simulated at once: `in_flight`, or the number of threads when it is 0.
    pub fn in_flight(&self) -> usize {
        if self.in_flight == 0 {
            rayon::current_num_threads().max(1)
        } else {
            self.in_flight
        }
    }

    /// Refuses, before any run starts, a plan whose runs in flight would not fit in the memory
    /// available: `worlds_per_run` simulations of `scenario`'s size for each run at once (2 for
    /// a forked comparison, which holds the shared past and the branch).
    pub fn check_memory(&self, scenario: &Scenario, worlds_per_run: u64) -> Result<()> {
        let at_once = (self.in_flight() as u64).min(self.replicates.max(1)) * worlds_per_run;
        crate::world::check_memory(
            scenario.agents.users,
            scenario.agents.merchants,
            scenario.platforms.len(),
            at_once,
        )
    }

    /// The scenario of replicate `r`: the same scenario with the replicate's seed.
    pub fn replicate(&self, scenario: &Scenario, r: u64) -> Scenario {
        let mut s = scenario.clone();
        s.seed = replicate_seed(self.seed, r);
        s
    }
}

/// A progress line on stderr: runs done, rate and time left. Silent unless enabled and stderr
/// is a terminal, so logs and pipes stay clean.
pub struct Progress {
    total: u64,
    done: u64,
    start: Instant,
    on: bool,
}

impl Progress {
    /// A progress line for `total` runs, shown if `enabled` and stderr is a terminal.
    pub fn new(total: u64, enabled: bool) -> Progress {
        Progress {
            total,
            done: 0,
            start: Instant::now(),
            on: enabled && std::io::stderr().is_terminal() && crate::dist::is_root(),
        }
    }

    /// Counts `n` more runs done and redraws the line.
    pub fn advance(&mut self, n: u64) {
        self.done += n;
        if !self.on {
            return;
        }
        let secs = self.start.elapsed().as_secs_f64();
        let rate = self.done as f64 / secs.max(1e-9);
        let left = (self.total - self.done.min(self.total)) as f64 / rate.max(1e-12);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r  runs {}/{} · {:.2} runs/s · {:.0} s left   ",
            self.done, self.total, rate, left
        );
        if self.done >= self.total {
            let _ = writeln!(err);
        }
    }
}

/// Runs `work(r)` for `r` in `0..count`, `in_flight` at a time in parallel (or over MPI ranks,
/// see [`crate::dist`]), and hands each result to `take` in replicate order. The first error
/// (in replicate order) stops the loop.
pub fn for_each_replicate<T>(
    count: u64,
    in_flight: usize,
    progress: &mut Progress,
    work: impl Fn(u64) -> Result<T> + Sync,
    mut take: impl FnMut(u64, T) -> Result<()>,
) -> Result<()>
where
    T: Send + serde::Serialize + serde::de::DeserializeOwned,
{
    crate::dist::for_each_ordered(count, in_flight, work, |r, t| {
        take(r, t)?;
        progress.advance(1);
        Ok(())
    })
}

/// Runs one scenario to its end and keeps the reports.
///
/// For testing the failure paths, the environment variable `PAYMARKET_FAIL_RUN=r` makes run
/// `r` fail with an error instead of running.
pub fn run_reports(scenario: Scenario, run: u64) -> Result<Vec<MonthReport>> {
    if std::env::var("PAYMARKET_FAIL_RUN")
        .ok()
        .and_then(|v| v.parse().ok())
        == Some(run)
    {
        return Err(Error::Config(format!(
            "run {run} failed on purpose (PAYMARKET_FAIL_RUN={run})"
        )));
    }
    let mut sim = Simulation::new(scenario)?.with_run(run);
    let mut out = Vec::with_capacity(sim.scenario().months());
    while let Some(r) = sim.step()? {
        out.push(r.clone());
    }
    Ok(out)
}

/// The three tables of metrics summarised.
pub const TABLES: [&str; 3] = ["platforms", "market", "channels"];

/// Calls `f(table, key1, key2, metric, value)` for every metric of a report, in a fixed order:
/// the platforms' columns of `platforms.csv`, the market's of `market.csv` and the channels'
/// value and acceptance per platform (and cash and lost) of `channels.csv`. A value share that
/// does not exist is NaN.
pub fn visit_metrics(
    r: &MonthReport,
    mut f: impl FnMut(&'static str, &str, &str, &'static str, f64),
) {
    for p in &r.platforms {
        let k = p.platform.as_str();
        for (name, v) in [
            ("users", p.users),
            ("active_users", p.active_users),
            ("primary_users", p.primary_users),
            ("merchants", p.merchants),
            ("value", p.value()),
            ("merchant_value", p.merchant_value),
            ("p2p_value", p.p2p_value),
            ("own_value", p.own_value),
            ("value_share", p.value_share.unwrap_or(f64::NAN)),
            ("fee_revenue", p.fee_revenue),
            ("subsidy_cost", p.subsidy_cost),
        ] {
            f("platforms", k, "", name, v);
        }
    }
    let m = &r.market;
    for (name, v) in [
        ("spend", m.spend),
        ("platform_value", m.platform_value),
        ("cash_value", m.cash_value),
        ("lost_value", m.lost_value),
        ("hhi", m.hhi),
        ("multihoming_users", m.multihoming_users),
        ("multihoming_merchants", m.multihoming_merchants),
        ("adopters", m.adopters),
    ] {
        f("market", "", "", name, v);
    }
    for ch in &r.channels {
        for (j, p) in r.platforms.iter().enumerate() {
            f("channels", &ch.channel, &p.platform, "value", ch.value[j]);
            if let Some(a) = &ch.merchants_accepting {
                f(
                    "channels",
                    &ch.channel,
                    &p.platform,
                    "merchants_accepting",
                    a[j],
                );
            }
        }
        f("channels", &ch.channel, "cash", "value", ch.cash);
        f("channels", &ch.channel, "lost", "value", ch.lost);
    }
}

/// One summarised quantity of a month: its table, keys and metric name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// `platforms`, `market` or `channels`.
    pub table: &'static str,
    /// Platform (platforms table) or channel (channels table); empty for the market.
    pub key1: String,
    /// Platform, `cash` or `lost` in the channels table; empty otherwise.
    pub key2: String,
    /// Column name in the per-run CSV.
    pub metric: &'static str,
}

fn layout(r: &MonthReport) -> Vec<Cell> {
    let mut cells = Vec::new();
    visit_metrics(r, |table, k1, k2, metric, _| {
        cells.push(Cell {
            table,
            key1: k1.to_string(),
            key2: k2.to_string(),
            metric,
        })
    });
    cells
}

fn values(r: &MonthReport, out: &mut Vec<f64>) {
    out.clear();
    visit_metrics(r, |_, _, _, _, v| out.push(v));
}

fn find(cells: &[Cell], table: &str, key1: &str, key2: &str, metric: &str) -> Option<usize> {
    cells
        .iter()
        .position(|c| c.table == table && c.key1 == key1 && c.key2 == key2 && c.metric == metric)
}

/// Replicate summaries of every metric of every month: a [`Moments`] per month and cell.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    months: Vec<Month>,
    cells: Vec<Cell>,
    moments: Vec<Moments>,
    scratch: Vec<f64>,
}

impl Summary {
    /// An empty summary for scenario `name`.
    pub fn new(name: &str) -> Summary {
        Summary {
            scenario: name.to_string(),
            ..Summary::default()
        }
    }

    /// Adds one run's reports (all runs must cover the same months).
    pub fn add_run(&mut self, reports: &[MonthReport]) -> Result<()> {
        if self.months.is_empty() && !reports.is_empty() {
            self.months = reports.iter().map(|r| r.month).collect();
            self.cells = layout(&reports[0]);
            self.moments = vec![Moments::default(); self.months.len() * self.cells.len()];
        }
        if reports.len() != self.months.len() {
            return Err(Error::Config(format!(
                "a run of {} has {} months where earlier runs had {}",
                self.scenario,
                reports.len(),
                self.months.len()
            )));
        }
        let nc = self.cells.len();
        for (t, r) in reports.iter().enumerate() {
            values(r, &mut self.scratch);
            for (m, &v) in self.moments[t * nc..][..nc].iter_mut().zip(&self.scratch) {
                m.add(v);
            }
        }
        Ok(())
    }

    /// The months summarised.
    pub fn months(&self) -> &[Month] {
        &self.months
    }

    /// The cells summarised each month.
    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    /// The moments of cell `c` in month index `t`.
    pub fn at(&self, t: usize, c: usize) -> &Moments {
        &self.moments[t * self.cells.len() + c]
    }

    /// The moments of the named cell in month index `t`; `None` when there is no such cell
    /// (a misspelt platform or metric) or month.
    pub fn get(
        &self,
        t: usize,
        table: &str,
        key1: &str,
        key2: &str,
        metric: &str,
    ) -> Option<Moments> {
        let c = find(&self.cells, table, key1, key2, metric)?;
        (t < self.months.len()).then(|| *self.at(t, c))
    }
}

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
    pub fn add_pair(&mut self, base: &[MonthReport], alt: &[MonthReport]) -> Result<()> {
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
        let c = find(&self.baseline.cells, table, key1, key2, metric)?;
        (t < self.baseline.months.len()).then(|| *self.at(t, c))
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

/// Writes a comparison's files into `dir`: both sides' `summary_*.csv` (told apart by the
/// `scenario` column) and the paired `effects_*.csv`. Returns the file names.
pub fn write_comparison(dir: &Path, e: &Effects) -> Result<Vec<String>> {
    let mut w = SummaryWriter::create(dir, &[])?;
    w.write(&e.baseline, &[])?;
    w.write(&e.alternative, &[])?;
    let mut names = w.finish()?;
    names.extend(write_effects(dir, e)?);
    Ok(names)
}

/// Runs `plan.replicates` replicates of a scenario; every run's reports go to the recorders in
/// replicate order (a [`crate::CsvRecorder`] there writes the per-run rows with their `run`
/// column), and into the returned summary.
pub fn ensemble(
    scenario: &Scenario,
    plan: &Plan,
    recorders: &mut [&mut dyn Recorder],
) -> Result<Summary> {
    scenario.validate()?;
    plan.check_memory(scenario, 1)?;
    let mut summary = Summary::new(&scenario.name);
    let mut progress = Progress::new(plan.replicates, plan.progress);
    for_each_replicate(
        plan.replicates,
        plan.in_flight(),
        &mut progress,
        |r| run_reports(plan.replicate(scenario, r), r),
        |_, reports| {
            feed(recorders, &reports)?;
            summary.add_run(&reports)
        },
    )?;
    for rec in recorders.iter_mut() {
        rec.finish()?;
    }
    Ok(summary)
}

fn feed(recorders: &mut [&mut dyn Recorder], reports: &[MonthReport]) -> Result<()> {
    for rep in reports {
        for rec in recorders.iter_mut() {
            rec.record(rep)?;
        }
    }
    Ok(())
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
    baseline.validate()?;
    alternative.validate()?;
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
    let larger = if alternative.agents.users > baseline.agents.users {
        alternative
    } else {
        baseline
    };
    plan.check_memory(larger, if fork_at.is_some() { 2 } else { 1 })?;
    let mut effects = Effects::new(&baseline.name, &alternative.name);
    let mut progress = Progress::new(plan.replicates, plan.progress);
    for_each_replicate(
        plan.replicates,
        plan.in_flight(),
        &mut progress,
        |r| match fork_at {
            None => Ok((
                run_reports(plan.replicate(baseline, r), r)?,
                run_reports(plan.replicate(alternative, r), r)?,
            )),
            Some(f) => forked_pair(
                plan.replicate(baseline, r),
                plan.replicate(alternative, r),
                r,
                f,
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
fn forked_pair(
    baseline: Scenario,
    alternative: Scenario,
    run: u64,
    fork_at: Month,
) -> Result<(Vec<MonthReport>, Vec<MonthReport>)> {
    let mut sim = Simulation::new(baseline)?.with_run(run);
    let mut past = Vec::new();
    while sim.month() < fork_at {
        match sim.step()? {
            Some(r) => past.push(r.clone()),
            None => break,
        }
    }
    let mut branch = sim.fork(alternative)?;
    let mut alt: Vec<MonthReport> = past
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.scenario = branch.scenario().name.clone();
            r
        })
        .collect();
    while let Some(r) = sim.step()? {
        past.push(r.clone());
    }
    while let Some(r) = branch.step()? {
        alt.push(r.clone());
    }
    Ok((past, alt))
}

fn key_columns(table: &str) -> &'static [&'static str] {
    match table {
        "platforms" => &["platform"],
        "market" => &[],
        _ => &["channel", "platform"],
    }
}

fn cell_keys(c: &Cell) -> Vec<&str> {
    match c.table {
        "platforms" => vec![&c.key1],
        "market" => vec![],
        _ => vec![&c.key1, &c.key2],
    }
}

/// Writes `summary_platforms.csv`, `summary_market.csv` and `summary_channels.csv`: one row per
/// scenario, month, keys and metric with `mean, sd, ci_low, ci_high, n`. Extra leading columns
/// (a sweep's setting) can be named at creation and given with each summary.
///
/// The files are staged and renamed into place by [`SummaryWriter::finish`] (see
/// [`crate::output`]).
pub struct SummaryWriter {
    files: Vec<StagedCsv>,
}

impl SummaryWriter {
    /// Creates the three files in `dir` (created if needed) with `extra` leading columns.
    pub fn create(dir: &Path, extra: &[String]) -> Result<SummaryWriter> {
        let mut files = Vec::new();
        for table in TABLES {
            let mut header: Vec<String> = extra.to_vec();
            header.extend(["scenario", "month"].map(String::from));
            header.extend(key_columns(table).iter().map(|s| s.to_string()));
            header.extend(["metric", "mean", "sd", "ci_low", "ci_high", "n"].map(String::from));
            files.push(open(dir, &format!("summary_{table}.csv"), &header)?);
        }
        Ok(SummaryWriter { files })
    }

    /// Writes one summary's rows, led by the `extra` values.
    pub fn write(&mut self, s: &Summary, extra: &[String]) -> Result<()> {
        for (t, month) in s.months.iter().enumerate() {
            let month = month.to_string();
            for (c, cell) in s.cells.iter().enumerate() {
                let k = TABLES.iter().position(|x| *x == cell.table).unwrap_or(2);
                let w = &mut self.files[k];
                let m = s.at(t, c);
                let (lo, hi) = m.ci95();
                let mut row: Vec<String> = extra.to_vec();
                row.push(s.scenario.clone());
                row.push(month.clone());
                row.extend(cell_keys(cell).iter().map(|x| x.to_string()));
                row.push(cell.metric.to_string());
                row.extend([
                    num(m.mean()),
                    num(m.sd()),
                    num(lo),
                    num(hi),
                    m.n().to_string(),
                ]);
                w.write(&row)?;
            }
        }
        Ok(())
    }

    /// Renames the files into place and returns their names.
    pub fn finish(mut self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for w in &mut self.files {
            w.commit()?;
            names.push(w.name());
        }
        Ok(names)
    }
}

fn open(dir: &Path, name: &str, header: &[String]) -> Result<StagedCsv> {
    crate::output::create_dir(dir)?;
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    StagedCsv::open(dir, name, &header)
}

/// Writes `effects_platforms.csv`, `effects_market.csv` and `effects_channels.csv`: per month,
/// keys and metric, both sides' means, the paired effect `alternative − baseline` with its sd,
/// 95% interval and `n`, and the unpaired (Welch) interval for contrast. Returns the file names.
pub fn write_effects(dir: &Path, e: &Effects) -> Result<Vec<String>> {
    let b = &e.baseline;
    let mut files = Vec::new();
    for table in TABLES {
        let mut header: Vec<String> = ["baseline", "alternative", "month"]
            .map(String::from)
            .to_vec();
        header.extend(key_columns(table).iter().map(|s| s.to_string()));
        header.extend(
            [
                "metric",
                "baseline_mean",
                "alternative_mean",
                "effect",
                "sd",
                "ci_low",
                "ci_high",
                "n",
                "unpaired_ci_low",
                "unpaired_ci_high",
            ]
            .map(String::from),
        );
        files.push(open(dir, &format!("effects_{table}.csv"), &header)?);
    }
    for (t, month) in b.months.iter().enumerate() {
        let month = month.to_string();
        for (c, cell) in b.cells.iter().enumerate() {
            let k = TABLES.iter().position(|x| *x == cell.table).unwrap_or(2);
            let w = &mut files[k];
            let d = e.at(t, c);
            let (lo, hi) = d.ci95();
            let (ulo, uhi) = e.unpaired_ci95(t, c);
            let mut row = vec![
                b.scenario.clone(),
                e.alternative.scenario.clone(),
                month.clone(),
            ];
            row.extend(cell_keys(cell).iter().map(|x| x.to_string()));
            row.push(cell.metric.to_string());
            row.extend([
                num(b.at(t, c).mean()),
                num(e.alternative.at(t, c).mean()),
                num(d.mean()),
                num(d.sd()),
                num(lo),
                num(hi),
                d.n().to_string(),
                num(ulo),
                num(uhi),
            ]);
            w.write(&row)?;
        }
    }
    let mut names = Vec::new();
    for w in &mut files {
        w.commit()?;
        names.push(w.name());
    }
    Ok(names)
}
