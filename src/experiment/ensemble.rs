//! Ensembles: replicates of one scenario summarised per month and cell (mean, sd, 95% interval),
//! the table layout of the summaries, and their CSV writer.
//!
//! Owns: `ensemble`, `Summary`, `Cell`, `SummaryWriter`, `SummaryFrames`, `visit_metrics`. Reads: the runner of
//! this folder, month reports. Never: the rules, the agents.

use super::{feed, for_each_replicate, Plan, Progress};
use crate::error::{Error, Result};
use crate::month::Month;
use crate::record::columns::{DEFAULT, MARKET, PLATFORM};
use crate::record::{Format, Frame, Kind, MonthReport, Recorder, TableWriter, Value};
use crate::scenario::Scenario;
use crate::stats::Moments;
use std::path::Path;

/// The tables of metrics summarised.
pub const TABLES: [&str; 4] = ["platforms", "market", "channels", "defaults"];

/// Calls `f(table, key1, key2, metric, value)` for every metric of a report, in a fixed order:
/// the platforms' columns of `platforms.csv`, the market's of `market.csv` and the channels'
/// value and acceptance per platform (and cash and lost) of `channels.csv`, and the defaults of
/// `defaults.csv` per context and platform. A value share that does not exist is NaN.
pub fn visit_metrics(
    r: &MonthReport,
    mut f: impl FnMut(&'static str, &str, &str, &'static str, f64),
) {
    for p in &r.platforms {
        for c in PLATFORM {
            let v = (c.get)(p).unwrap_or(f64::NAN);
            f("platforms", &p.platform, "", c.name, v);
        }
    }
    for c in MARKET {
        f(
            "market",
            "",
            "",
            c.name,
            (c.get)(&r.market).unwrap_or(f64::NAN),
        );
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
    for d in &r.defaults {
        for c in DEFAULT {
            if let Some(v) = (c.get)(d) {
                f("defaults", &d.context, &d.platform, c.name, v);
            }
        }
    }
}

/// One summarised quantity of a month: its table, keys and metric name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// `platforms`, `market`, `channels` or `defaults`.
    pub table: &'static str,
    /// Platform (platforms table), channel (channels table) or context (defaults table); empty
    /// for the market.
    pub key1: String,
    /// Platform, `cash` or `lost` in the channels table, platform or `none` in the defaults
    /// table; empty otherwise.
    pub key2: String,
    /// Column name in the per-run CSV.
    pub metric: &'static str,
}

pub(crate) fn layout(r: &MonthReport) -> Vec<Cell> {
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

pub(crate) fn values(r: &MonthReport, out: &mut Vec<f64>) {
    out.clear();
    visit_metrics(r, |_, _, _, _, v| out.push(v));
}

pub(crate) fn find(
    cells: &[Cell],
    table: &str,
    key1: &str,
    key2: &str,
    metric: &str,
) -> Option<usize> {
    cells
        .iter()
        .position(|c| c.table == table && c.key1 == key1 && c.key2 == key2 && c.metric == metric)
}

/// Replicate summaries of every metric of every month: a [`Moments`] per month and cell.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    pub(super) months: Vec<Month>,
    pub(super) cells: Vec<Cell>,
    pub(super) moments: Vec<Moments>,
    pub(super) scratch: Vec<f64>,
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
        self.cell(t, table, key1, key2, metric)
            .map(|c| *self.at(t, c))
    }

    /// The index of the named cell, when it exists and month index `t` is in the summary.
    pub(crate) fn cell(
        &self,
        t: usize,
        table: &str,
        key1: &str,
        key2: &str,
        metric: &str,
    ) -> Option<usize> {
        let c = find(&self.cells, table, key1, key2, metric)?;
        (t < self.months.len()).then_some(c)
    }
}

/// Runs `plan.replicates` replicates of a scenario; every run's reports go to the recorders in
/// replicate order (a [`crate::CsvRecorder`] there writes the per-run rows with their `run`
/// column), and into the returned summary.
pub fn ensemble(
    scenario: &Scenario,
    plan: &Plan,
    recorders: &mut [&mut dyn Recorder],
) -> Result<Summary> {
    let valid = scenario.clone().into_valid()?;
    plan.check_memory(scenario, 1)?;
    let mut summary = Summary::new(&scenario.name);
    let mut progress = Progress::for_plan(plan.replicates, plan);
    for_each_replicate(
        plan.replicates,
        plan.in_flight(),
        &mut progress,
        |r| plan.run_replicate(&valid, r),
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

pub(crate) fn key_columns(table: &str) -> &'static [&'static str] {
    match table {
        "platforms" => &["platform"],
        "market" => &[],
        "defaults" => &["context", "platform"],
        _ => &["channel", "platform"],
    }
}

pub(crate) fn cell_keys(c: &Cell) -> Vec<&str> {
    match c.table {
        "platforms" => vec![&c.key1],
        "market" => vec![],
        _ => vec![&c.key1, &c.key2],
    }
}

/// The columns of `summary_{table}.csv`: the `extra` ones, then `scenario, month`, the
/// table's keys, `metric, mean, sd, ci_low, ci_high, n`.
pub(crate) fn summary_header(table: &str, extra: &[(String, Kind)]) -> Vec<(String, Kind)> {
    let text = |n: &str| (n.to_string(), Kind::Text);
    let mut header: Vec<(String, Kind)> = extra.to_vec();
    header.extend(["scenario", "month"].map(text));
    header.extend(key_columns(table).iter().map(|n| text(n)));
    header.push(text("metric"));
    header.extend(["mean", "sd", "ci_low", "ci_high"].map(|n| (n.to_string(), Kind::Number)));
    header.push(("n".to_string(), Kind::Integer));
    header
}

/// Every row of a summary, led by the `extra` values: `f(k, cells)` with `k` the index in
/// [`TABLES`] of the row's table. The one place the summaries' rows are made, for the CSV
/// files and for the frames alike.
pub(crate) fn summary_rows(
    s: &Summary,
    extra: &[Value],
    mut f: impl FnMut(usize, Vec<Value>) -> Result<()>,
) -> Result<()> {
    for (t, month) in s.months.iter().enumerate() {
        let month = month.to_string();
        for (c, cell) in s.cells.iter().enumerate() {
            let k = TABLES.iter().position(|x| *x == cell.table).unwrap_or(2);
            let m = s.at(t, c);
            let (lo, hi) = m.ci95();
            let mut row: Vec<Value> = extra.to_vec();
            row.push(Value::Text(s.scenario.clone()));
            row.push(Value::Text(month.clone()));
            row.extend(cell_keys(cell).iter().map(|x| Value::Text(x.to_string())));
            row.push(Value::Text(cell.metric.to_string()));
            row.extend([m.mean(), m.sd(), lo, hi].map(Value::number));
            row.push(Value::Integer(m.n() as i64));
            f(k, row)?;
        }
    }
    Ok(())
}

/// Summaries gathered as frames named `summary_platforms`, `summary_market`,
/// `summary_channels` and `summary_defaults`: the columns and values of [`SummaryWriter`]'s
/// files, with leading columns of any kind (a sweep's setting and parameter values: numbers
/// here, where the files write them as text).
#[derive(Debug, Clone)]
pub struct SummaryFrames {
    frames: Vec<Frame>,
}

impl SummaryFrames {
    /// Empty tables whose rows will be led by the columns `extra` (names and kinds).
    pub fn new(extra: &[(String, Kind)]) -> SummaryFrames {
        let frames = TABLES
            .iter()
            .zip(SUMMARY_FILES)
            .map(|(table, name)| Frame::with_columns(name, &summary_header(table, extra)))
            .collect();
        SummaryFrames { frames }
    }

    /// Adds a summary's rows, led by `extra` (one value per leading column, of its kind).
    pub fn add(&mut self, s: &Summary, extra: &[Value]) -> Result<()> {
        let frames = &mut self.frames;
        summary_rows(s, extra, |k, row| {
            frames[k].push(row);
            Ok(())
        })
    }

    /// The four tables, in the order of [`TABLES`].
    pub fn into_frames(self) -> Vec<Frame> {
        self.frames
    }
}

/// The summary tables of `summaries` (the rows of each in turn, told apart by `scenario`):
/// [`SummaryFrames`] without leading columns.
pub fn summary_frames(summaries: &[&Summary]) -> Result<Vec<Frame>> {
    let mut frames = SummaryFrames::new(&[]);
    for s in summaries {
        frames.add(s, &[])?;
    }
    Ok(frames.into_frames())
}

/// The summary tables' names, in the order of [`TABLES`].
pub const SUMMARY_FILES: [&str; 4] = [
    "summary_platforms",
    "summary_market",
    "summary_channels",
    "summary_defaults",
];

/// Writes the summary tables `summary_platforms`, `summary_market`, `summary_channels` and
/// `summary_defaults` as CSV or Parquet files ([`Format`]): one row per scenario, month, keys
/// and metric with `mean, sd, ci_low, ci_high, n`. Extra leading columns (a sweep's setting and
/// parameter values) can be named at creation and given with each summary.
///
/// The files are staged and renamed into place by [`SummaryWriter::finish`] (see
/// [`crate::output`]).
pub struct SummaryWriter {
    files: Vec<TableWriter>,
}

impl SummaryWriter {
    /// Creates the four files in `dir` (created if needed) with `extra` leading columns.
    pub fn create(dir: &Path, extra: &[(String, Kind)], format: Format) -> Result<SummaryWriter> {
        let files = TABLES
            .iter()
            .zip(SUMMARY_FILES)
            .map(|(table, name)| {
                TableWriter::open(dir, name, &summary_header(table, extra), format)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SummaryWriter { files })
    }

    /// Writes one summary's rows, led by the `extra` values (one per leading column, of its
    /// kind).
    pub fn write(&mut self, s: &Summary, extra: &[Value]) -> Result<()> {
        let files = &mut self.files;
        summary_rows(s, extra, |k, row| files[k].write(row))
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
