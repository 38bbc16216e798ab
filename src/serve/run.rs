//! A request's runs, stepped month by month so the page sees the market answer as it goes:
//! every replicate (and, in a comparison, the served scenario on the same seeds) advances one
//! month, in parallel, then the month's series are summarised across replicates (mean and 95%
//! interval) and handed on as one line. One replicate is the run `paymarket run` makes of the
//! same scenario and seed; several are the runs of `paymarket ensemble --seed`.
//!
//! Owns: [`Series`], [`stream`], the explorer's result table. Reads: the simulation, the
//! experiment plan's replicate seeds. Never: sockets, files.

use super::api::Prepared;
use crate::error::Result;
use crate::experiment::Plan;
use crate::record::{Frame, Kind, MonthReport, Value};
use crate::sim::Simulation;
use crate::stats::Moments;
use rayon::prelude::*;
use serde_json::{json, Value as Json};
use std::sync::atomic::{AtomicBool, Ordering};

/// One series the page draws: a metric and its keys (`value_share` of `alipay`;
/// `default_users` of `shop` and `tenpay`; `lost_value`).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The metric, a column of the run tables.
    pub metric: &'static str,
    /// Platform, or context for `default_users`; empty for a market series.
    pub key1: String,
    /// Platform for `default_users`; else empty.
    pub key2: String,
}

/// The series of a month's report and their values, in a fixed order: value shares, holders and
/// merchants accepting per platform, default users per context and platform (and `none`),
/// then the market's lost value and HHI.
fn series(r: &MonthReport) -> Vec<(Series, f64)> {
    let s = |metric, key1: &str, key2: &str| Series {
        metric,
        key1: key1.to_string(),
        key2: key2.to_string(),
    };
    let mut out = Vec::new();
    for p in &r.platforms {
        out.push((
            s("value_share", &p.platform, ""),
            p.value_share.unwrap_or(f64::NAN),
        ));
    }
    for p in &r.platforms {
        out.push((s("users", &p.platform, ""), p.users));
    }
    for p in &r.platforms {
        out.push((s("merchants", &p.platform, ""), p.merchants));
    }
    for d in &r.defaults {
        out.push((s("default_users", &d.context, &d.platform), d.default_users));
    }
    out.push((s("lost_value", "", ""), r.market.lost_value));
    out.push((s("hhi", "", ""), r.market.hhi));
    out
}

/// The explorer's result table's columns: `month, side` (`edited`, `original` or `effect`),
/// `metric, key1, key2, mean, ci_low, ci_high, n`.
fn result_frame() -> Frame {
    let t = |n: &str| (n.to_string(), Kind::Text);
    let x = |n: &str| (n.to_string(), Kind::Number);
    Frame::with_columns(
        "explorer",
        &[
            t("month"),
            t("side"),
            t("metric"),
            t("key1"),
            t("key2"),
            x("mean"),
            x("ci_low"),
            x("ci_high"),
            ("n".to_string(), Kind::Integer),
        ],
    )
}

/// The replicates of one side: one run with the scenario's seed, or `replicates` runs with the
/// seeds `paymarket ensemble --seed` gives them.
fn simulations(s: &crate::Scenario, replicates: u64) -> Result<Vec<Simulation>> {
    if replicates == 1 {
        return Ok(vec![Simulation::new(s.clone())?]);
    }
    let valid = s.clone().into_valid()?;
    let plan = Plan {
        replicates,
        seed: s.seed,
        ..Plan::default()
    };
    (0..replicates)
        .map(|r| Ok(Simulation::from_valid(plan.replicate_valid(&valid, r)?)?.with_run(r)))
        .collect()
}

/// Summaries of one series over replicates: `[mean, ci_low, ci_high, n]` (`null` where none).
fn summary(m: &Moments) -> Json {
    let (lo, hi) = m.ci95();
    json!([finite(m.mean()), finite(lo), finite(hi), m.n()])
}

fn finite(x: f64) -> Json {
    if x.is_finite() {
        json!(x)
    } else {
        Json::Null
    }
}

/// What [`stream`] ended with.
#[derive(Debug, Clone, PartialEq)]
pub enum Ended {
    /// Every month ran.
    Done,
    /// The cancel flag was raised.
    Cancelled,
    /// The client went away (`emit` returned `false`).
    Gone,
}

/// Runs a prepared request month by month. First `emit` gets a `start` line (months,
/// replicates, the series' names and keys), then one `month` line a month (`edited`: every
/// series' `[mean, ci_low, ci_high, n]` across replicates; with `compare`, `original` and the
/// paired `effect` too), and the run ends at the last month, when `cancel` is raised (checked
/// between months) or when `emit` returns `false`. Returns how it ended and the table of every
/// value emitted.
pub fn stream(
    job: &Prepared,
    id: u64,
    cancel: &AtomicBool,
    mut emit: impl FnMut(&Json) -> bool,
) -> Result<(Ended, Frame)> {
    let mut sides = vec![simulations(&job.edited, job.replicates)?];
    if job.compare {
        sides.push(simulations(&job.original, job.replicates)?);
    }
    let mut table = result_frame();
    let mut names: Option<Vec<Series>> = None;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Ok((Ended::Cancelled, table));
        }
        // Every simulation of every side one month on, in parallel.
        let mut reports: Vec<Vec<MonthReport>> = Vec::with_capacity(sides.len());
        for side in sides.iter_mut() {
            let stepped: Vec<Option<MonthReport>> = side
                .par_iter_mut()
                .map(|sim| sim.step().map(|r| r.cloned()))
                .collect::<Result<_>>()?;
            match stepped.into_iter().collect::<Option<Vec<_>>>() {
                Some(r) => reports.push(r),
                None => return Ok((Ended::Done, table)),
            }
        }
        let values: Vec<Vec<Vec<f64>>> = reports
            .iter()
            .map(|side| {
                side.iter()
                    .map(|r| series(r).into_iter().map(|(_, v)| v).collect())
                    .collect()
            })
            .collect();
        let month = reports[0][0].month.to_string();
        if names.is_none() {
            let list: Vec<Series> = series(&reports[0][0]).into_iter().map(|(s, _)| s).collect();
            let keys: Vec<Json> = list
                .iter()
                .map(|s| json!([s.metric, s.key1, s.key2]))
                .collect();
            let start = json!({
                "type": "start",
                "id": id,
                "months": job.edited.months(),
                "replicates": job.replicates,
                "compare": job.compare,
                "series": keys,
            });
            if !emit(&start) {
                return Ok((Ended::Gone, table));
            }
            names = Some(list);
        }
        let list = names.as_deref().unwrap_or_default();
        let mut line = json!({"type": "month", "month": month});
        let sides_named = ["edited", "original"];
        for (side, vals) in values.iter().enumerate() {
            let cells: Vec<Json> = (0..list.len())
                .map(|c| {
                    let mut m = Moments::default();
                    vals.iter().for_each(|run| m.add(run[c]));
                    record(&mut table, &month, sides_named[side], &list[c], &m);
                    summary(&m)
                })
                .collect();
            line[sides_named[side]] = Json::Array(cells);
        }
        if job.compare {
            let cells: Vec<Json> = (0..list.len())
                .map(|c| {
                    let mut m = Moments::default();
                    for (a, b) in values[0].iter().zip(&values[1]) {
                        m.add(a[c] - b[c]);
                    }
                    record(&mut table, &month, "effect", &list[c], &m);
                    summary(&m)
                })
                .collect();
            line["effect"] = Json::Array(cells);
        }
        if !emit(&line) {
            return Ok((Ended::Gone, table));
        }
    }
}

fn record(table: &mut Frame, month: &str, side: &str, s: &Series, m: &Moments) {
    let (lo, hi) = m.ci95();
    table.push([
        Value::Text(month.to_string()),
        Value::Text(side.to_string()),
        Value::Text(s.metric.to_string()),
        Value::Text(s.key1.clone()),
        Value::Text(s.key2.clone()),
        Value::number(m.mean()),
        Value::number(lo),
        Value::number(hi),
        Value::Integer(m.n() as i64),
    ]);
}
