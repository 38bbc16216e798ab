//! Global sensitivity analysis of a scenario: which of its guesses an answer depends on.
//!
//! A [`Spec`] names the parameters (field paths with ranges), the outputs (a metric at a month
//! or its mean over a window, or with `vs` the paired effect of another scenario against this
//! one) and the method: Morris screening (elementary effects on optimised trajectories: μ*, μ,
//! σ) or Sobol indices (first order by Saltelli's estimator, total order by Jansen's). Every
//! design point runs `replicates` replicates on common seeds (replicate `r` of every point on
//! the same seed, as a sweep's); the estimators take the replicate means and report how much
//! of each output's variance is seed noise ([`estimate`]). Points and replicates run in
//! parallel (or over MPI ranks); the result is the same for a seed on any thread or rank count.
//!
//! [`Study`] takes the analysis as the tool and the Python package write it (ranges, outputs,
//! an alternative or a group of events) and writes its output set.
//!
//! Owns: [`Spec`], [`Output`], [`Method`], [`Report`], [`analyse`], [`write_files`]. Reads:
//! the estimators, field paths, the runner. Never: the rules.
//!
//! ```
//! use paymarket::experiment::sensitivity::{analyse, Method, Output, Spec};
//! let mut s = paymarket::Scenario::load("data/scenarios/duopoly.toml")?;
//! s.agents.users = 1_000;
//! s.agents.merchants = 100;
//! let spec = Spec {
//!     ranges: vec![("params.churn_rate".into(), 0.05, 0.2), ("params.loyalty".into(), 0.3, 0.9)],
//!     outputs: vec![Output::parse("platforms.alpha.value_share@2021-12", &s)?],
//!     method: Method::Morris { trajectories: 4, levels: 4 },
//!     replicates: 1,
//!     seed: 1,
//!     bootstrap: 100,
//!     vs: None,
//!     independent: false,
//!     watch: None,
//! };
//! let report = analyse(&s, &spec)?;
//! // μ*, μ and σ for each parameter and output.
//! assert_eq!(report.rows.len(), 2 * 3);
//! # Ok::<(), paymarket::Error>(())
//! ```

pub mod estimate;
pub mod morris;
pub mod study;

use super::Plan;
use crate::error::{Error, Result};
use crate::month::Month;
use crate::record::columns::{DEFAULT, MARKET, PLATFORM};
use crate::record::{Frame, Kind, MonthReport, Value};
use crate::scenario::path::set_paths_valid;
use crate::scenario::Scenario;
use estimate::{sobol, sobol_design, SobolDesign};
use morris::{morris, morris_design, MorrisDesign};
pub use study::{Prepared, Study};

/// An output of the model the indices are computed for: a metric of a table's row at a month,
/// or its mean over a window of months.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// As written: `platforms.tenpay.value_share@2020-12`.
    pub text: String,
    /// `platforms`, `market`, `channels` or `defaults`.
    pub table: String,
    /// The row's keys: none (market), a platform, or a channel or context then a platform.
    pub keys: Vec<String>,
    /// A number column of the table.
    pub metric: String,
    /// First month of the window.
    pub from: Month,
    /// Last month of the window.
    pub to: Month,
}

fn bad(text: &str, message: String) -> Error {
    Error::Config(format!("output {text:?}: {message}"))
}

impl Output {
    /// Reads `TABLE[.KEY…].METRIC@YYYY-MM` or `…@YYYY-MM:YYYY-MM` (the window's mean) and
    /// checks it against the scenario: `platforms.tenpay.value_share@2020-12`,
    /// `market.lost_value@2016-01:2016-12`, `channels.offline.tenpay.value@2019-06`,
    /// `defaults.shop.alipay.default_users@2021-12`.
    pub fn parse(text: &str, s: &Scenario) -> Result<Output> {
        let (left, window) = text.split_once('@').ok_or_else(|| {
            bad(
                text,
                "say when: TABLE.KEYS.METRIC@YYYY-MM or @YYYY-MM:YYYY-MM (a window's mean)".into(),
            )
        })?;
        let month = |m: &str| {
            m.parse::<Month>()
                .map_err(|_| bad(text, format!("{m:?} is not a month YYYY-MM")))
        };
        let (from, to) = match window.split_once(':') {
            Some((a, b)) => (month(a)?, month(b)?),
            None => (month(window)?, month(window)?),
        };
        if from > to || from < s.start || to > s.end {
            return Err(bad(
                text,
                format!(
                    "the window {from} to {to} is not within {} to {}",
                    s.start, s.end
                ),
            ));
        }
        let parts: Vec<&str> = left.split('.').collect();
        if parts.len() < 2 {
            return Err(bad(text, "write TABLE.KEYS.METRIC before the @".into()));
        }
        let (table, metric) = (parts[0], parts[parts.len() - 1]);
        let keys: Vec<String> = parts[1..parts.len().saturating_sub(1)]
            .iter()
            .map(|k| k.to_string())
            .collect();
        let platforms = s.platform_ids();
        let (want_keys, metrics, key_sets): (usize, Vec<&str>, Vec<Vec<String>>) = match table {
            "platforms" => (
                1,
                PLATFORM.iter().map(|c| c.name).collect(),
                vec![platforms.iter().map(|p| p.to_string()).collect()],
            ),
            "market" => (0, MARKET.iter().map(|c| c.name).collect(), vec![]),
            "channels" => (
                2,
                vec!["merchants_accepting", "value"],
                vec![
                    s.channel_ids().iter().map(|c| c.to_string()).collect(),
                    platforms
                        .iter()
                        .map(|p| p.to_string())
                        .chain(["cash".to_string(), "lost".to_string()])
                        .collect(),
                ],
            ),
            "defaults" => (
                2,
                DEFAULT.iter().map(|c| c.name).collect(),
                vec![
                    s.context_ids().iter().map(|c| c.to_string()).collect(),
                    platforms
                        .iter()
                        .map(|p| p.to_string())
                        .chain(["none".to_string()])
                        .collect(),
                ],
            ),
            _ => {
                return Err(bad(
                    text,
                    format!("no table {table:?}: choose platforms, market, channels or defaults"),
                ))
            }
        };
        if parts.len() != want_keys + 2 {
            return Err(bad(
                text,
                format!("{table} takes {want_keys} key(s) before the metric"),
            ));
        }
        for (key, set) in keys.iter().zip(&key_sets) {
            if !set.contains(key) {
                return Err(bad(
                    text,
                    format!("no {key:?} here: choose one of {}", set.join(", ")),
                ));
            }
        }
        if !metrics.contains(&metric) {
            return Err(bad(
                text,
                format!(
                    "{table} has no metric {metric:?}: choose one of {}",
                    metrics.join(", ")
                ),
            ));
        }
        Ok(Output {
            text: text.to_string(),
            table: table.to_string(),
            keys,
            metric: metric.to_string(),
            from,
            to,
        })
    }

    /// The output of one run: the mean of the metric over the window's months (NaN where it
    /// does not exist in any of them).
    pub fn value(&self, reports: &[MonthReport]) -> f64 {
        let mut m = crate::stats::Moments::default();
        for r in reports
            .iter()
            .filter(|r| r.month >= self.from && r.month <= self.to)
        {
            m.add(self.at(r).unwrap_or(f64::NAN));
        }
        if m.n() == 0 {
            f64::NAN
        } else {
            m.mean()
        }
    }

    fn at(&self, r: &MonthReport) -> Option<f64> {
        fn get<R>(cols: &[crate::record::columns::Column<R>], name: &str, row: &R) -> Option<f64> {
            cols.iter()
                .find(|c| c.name == name)
                .and_then(|c| (c.get)(row))
        }
        let name = self.metric.as_str();
        match self.table.as_str() {
            "platforms" => r
                .platforms
                .iter()
                .find(|p| p.platform == self.keys[0])
                .and_then(|p| get(PLATFORM, name, p)),
            "market" => get(MARKET, name, &r.market),
            "defaults" => r
                .defaults
                .iter()
                .find(|d| d.context == self.keys[0] && d.platform == self.keys[1])
                .and_then(|d| get(DEFAULT, name, d)),
            _ => {
                let ch = r.channels.iter().find(|c| c.channel == self.keys[0])?;
                match self.keys[1].as_str() {
                    "cash" if self.metric == "value" => Some(ch.cash),
                    "lost" if self.metric == "value" => Some(ch.lost),
                    "cash" | "lost" => None,
                    p => {
                        let j = r.platforms.iter().position(|x| x.platform == p)?;
                        match self.metric.as_str() {
                            "value" => Some(ch.value[j]),
                            _ => ch.merchants_accepting.as_ref().map(|a| a[j]),
                        }
                    }
                }
            }
        }
    }
}

/// The method and its design size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// Morris screening: `trajectories` trajectories (each `k + 1` points) on `levels` levels.
    Morris {
        /// Trajectories.
        trajectories: usize,
        /// Grid levels (4 is usual).
        levels: usize,
    },
    /// Sobol indices: `n` rows of `A` and `B` (`n (k + 2)` points).
    Sobol {
        /// Rows.
        n: usize,
    },
}

impl Method {
    /// `morris` or `sobol`.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Morris { .. } => "morris",
            Method::Sobol { .. } => "sobol",
        }
    }

    /// Design points for `k` parameters (before replicates).
    pub fn points(&self, k: usize) -> usize {
        match *self {
            Method::Morris { trajectories, .. } => trajectories.max(2) * (k + 1),
            Method::Sobol { n } => n.max(2) * (k + 2),
        }
    }

    /// The method of this name with as many design points as fit in `budget` for `k`
    /// parameters (at least 2 trajectories, or 2 rows).
    pub fn with_budget(name: &str, budget: usize, k: usize) -> Result<Method> {
        match name {
            "morris" => Ok(Method::Morris {
                trajectories: (budget / (k + 1)).max(2),
                levels: 4,
            }),
            "sobol" => Ok(Method::Sobol {
                n: (budget / (k + 2)).max(2),
            }),
            _ => Err(Error::Config(format!(
                "unknown method {name:?}: choose morris or sobol"
            ))),
        }
    }
}

/// What to analyse.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Parameters: field path, low and high end of its range.
    pub ranges: Vec<(String, f64, f64)>,
    /// Outputs.
    pub outputs: Vec<Output>,
    /// Method and design size.
    pub method: Method,
    /// Replicates per design point (common seeds across points).
    pub replicates: u64,
    /// Master seed of the design, the replicate seeds and the bootstrap.
    pub seed: u64,
    /// Bootstrap resamples of the intervals.
    pub bootstrap: usize,
    /// An alternative: each output becomes the paired effect `alternative − scenario` on the
    /// same seeds, the parameters set in both.
    pub vs: Option<Scenario>,
    /// Independent seeds at every design point instead of common ones (replicate `r` of every
    /// point on the same seed): then all of an output's seed noise reaches the estimators,
    /// which take out what the replicates measure.
    pub independent: bool,
    /// Counts the runs taken and stops the analysis between months once stopped
    /// ([`Error::Stopped`]): for progress and Ctrl-C.
    pub watch: Option<std::sync::Arc<super::Watch>>,
}

/// One index of one parameter for one output: a row of `sensitivity.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `morris` or `sobol`.
    pub method: &'static str,
    /// The output as written.
    pub output: String,
    /// The parameter's path.
    pub parameter: String,
    /// `mu_star`, `mu`, `sigma`, `first` or `total`.
    pub index: &'static str,
    /// The estimate and its 95% bootstrap interval.
    pub estimate: estimate::Estimate,
    /// Trajectories (Morris) or rows (Sobol) behind it.
    pub n: usize,
}

/// The result of [`analyse`].
#[derive(Debug, Clone)]
pub struct Report {
    /// The design's points in the parameters' units, in evaluation order.
    pub points: Vec<Vec<f64>>,
    /// Every replicate's output: `values[point][output][replicate]`.
    pub values: Vec<Vec<Vec<f64>>>,
    /// The indices.
    pub rows: Vec<Row>,
    /// Per output: the variance of every run's output and the part of it that is seed noise.
    pub noise: Vec<estimate::Noise>,
}

/// The design drawn for a method.
enum Drawn {
    Morris(MorrisDesign),
    Sobol(SobolDesign),
}

/// Runs the design and estimates the indices (see the module's documentation).
pub fn analyse(s: &Scenario, spec: &Spec) -> Result<Report> {
    let k = spec.ranges.len();
    if k == 0 || spec.outputs.is_empty() || spec.replicates == 0 {
        return Err(Error::Config(
            "a sensitivity analysis needs at least one --range, one --output and one replicate"
                .into(),
        ));
    }
    for (path, lo, hi) in &spec.ranges {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(Error::Config(format!(
                "{path}: the range {lo}:{hi} must have its low end below its high end"
            )));
        }
    }
    let design = match spec.method {
        Method::Morris {
            trajectories,
            levels,
        } => Drawn::Morris(morris_design(
            k,
            trajectories.max(2),
            levels,
            morris::candidates(trajectories.max(2)),
            spec.seed,
        )),
        Method::Sobol { n } => Drawn::Sobol(sobol_design(k, n.max(2), spec.seed)),
    };
    let unit = match &design {
        Drawn::Morris(d) => d.points(),
        Drawn::Sobol(d) => d.points(),
    };
    let points: Vec<Vec<f64>> = unit
        .iter()
        .map(|u| {
            u.iter()
                .zip(&spec.ranges)
                .map(|(v, (_, lo, hi))| lo + (hi - lo) * v)
                .collect()
        })
        .collect();
    let paths: Vec<&str> = spec.ranges.iter().map(|(p, _, _)| p.as_str()).collect();
    let set = |base: &Scenario, x: &[f64]| {
        let values: Vec<(&str, f64)> = paths.iter().copied().zip(x.iter().copied()).collect();
        set_paths_valid(base, &values)
    };
    // Every point checked before the first run: a range that leaves the model's bounds is an
    // error naming the path, not a failed run later.
    for x in &points {
        set(s, x)?;
        if let Some(alt) = &spec.vs {
            set(alt, x)?;
        }
    }
    let plan = Plan {
        replicates: spec.replicates,
        seed: spec.seed,
        watch: spec.watch.clone(),
        ..Plan::default()
    };
    let r_n = spec.replicates;
    let jobs = points.len() as u64 * r_n;
    let outputs = &spec.outputs;
    let runs: Vec<Vec<Option<f64>>> = super::dist::map_all(jobs, |job| {
        let (p, r) = ((job / r_n) as usize, job % r_n);
        let independent;
        let plan = if spec.independent {
            independent = Plan {
                seed: crate::rng::replicate_seed(spec.seed, 1 + p as u64),
                ..plan.clone()
            };
            &independent
        } else {
            &plan
        };
        let counted = |runs: Result<Vec<MonthReport>>| {
            if let (Ok(_), Some(w)) = (&runs, &spec.watch) {
                w.count(1);
            }
            runs
        };
        let base = counted(plan.run_replicate(&set(s, &points[p])?, r))?;
        let mut v: Vec<f64> = outputs.iter().map(|o| o.value(&base)).collect();
        if let Some(alt) = &spec.vs {
            let other = counted(plan.run_replicate(&set(alt, &points[p])?, r))?;
            for (x, o) in v.iter_mut().zip(outputs) {
                *x = o.value(&other) - *x;
            }
        }
        Ok(v.into_iter()
            .map(|x| Some(x).filter(|x| x.is_finite()))
            .collect())
    })?;
    let mut values = vec![vec![Vec::with_capacity(r_n as usize); outputs.len()]; points.len()];
    for (job, v) in runs.into_iter().enumerate() {
        let p = job / r_n as usize;
        for (o, x) in v.into_iter().enumerate() {
            values[p][o].push(x.unwrap_or(f64::NAN));
        }
    }
    let mut rows = Vec::new();
    let mut noise = Vec::new();
    for (o, out) in outputs.iter().enumerate() {
        let per_point: Vec<Vec<f64>> = values.iter().map(|v| v[o].clone()).collect();
        if let Some((p, _)) = per_point
            .iter()
            .enumerate()
            .find(|(_, v)| v.iter().any(|x| !x.is_finite()))
        {
            return Err(Error::Config(format!(
                "output {:?} does not exist at design point {p} ({}): choose an output every \
                 run has (a value share exists only for the platforms with published shares, and \
                 in months with third-party value)",
                out.text,
                paths
                    .iter()
                    .zip(&points[p])
                    .map(|(q, v)| format!("{q} = {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let seed = spec.seed ^ (o as u64 + 1);
        noise.push(estimate::noise(&per_point));
        match &design {
            Drawn::Morris(d) => {
                let means: Vec<f64> = per_point.iter().map(|v| mean(v)).collect();
                // Elementary effects over each parameter's whole range (the unit cube's), so
                // that parameters of different units compare.
                let indices = morris(d, &means, spec.bootstrap, seed);
                for (i, m) in indices.into_iter().enumerate() {
                    for (name, e) in [("mu_star", m.mu_star), ("mu", m.mu), ("sigma", m.sigma)] {
                        rows.push(Row {
                            method: "morris",
                            output: out.text.clone(),
                            parameter: spec.ranges[i].0.clone(),
                            index: name,
                            estimate: e,
                            n: m.n,
                        });
                    }
                }
            }
            Drawn::Sobol(d) => {
                let idx = sobol(d, &per_point, spec.bootstrap, seed, spec.independent);
                for (i, x) in idx.into_iter().enumerate() {
                    for (name, e) in [("first", x.first), ("total", x.total)] {
                        rows.push(Row {
                            method: "sobol",
                            output: out.text.clone(),
                            parameter: spec.ranges[i].0.clone(),
                            index: name,
                            estimate: e,
                            n: x.n,
                        });
                    }
                }
            }
        }
    }
    Ok(Report {
        points,
        values,
        rows,
        noise,
    })
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

impl Report {
    /// `sensitivity`: `method, output, parameter, index, estimate, ci_low, ci_high, n`. Morris
    /// effects are in the output's units over each parameter's whole range (the change over a
    /// step of Δ of the range, divided by Δ), so parameters of different units compare.
    pub fn frame(&self) -> Frame {
        let t = |n: &str| (n.to_string(), Kind::Text);
        let x = |n: &str| (n.to_string(), Kind::Number);
        let mut f = Frame::with_columns(
            "sensitivity",
            &[
                t("method"),
                t("output"),
                t("parameter"),
                t("index"),
                x("estimate"),
                x("ci_low"),
                x("ci_high"),
                ("n".to_string(), Kind::Integer),
            ],
        );
        for r in &self.rows {
            f.push([
                Value::Text(r.method.to_string()),
                Value::Text(r.output.clone()),
                Value::Text(r.parameter.clone()),
                Value::Text(r.index.to_string()),
                Value::number(r.estimate.estimate),
                Value::number(r.estimate.lo),
                Value::number(r.estimate.hi),
                Value::Integer(r.n as i64),
            ]);
        }
        f
    }

    /// `design`: every point (`point`, then one column per parameter) so it can be run again
    /// or extended.
    pub fn design_frame(&self, spec: &Spec) -> Frame {
        let mut header = vec![("point".to_string(), Kind::Integer)];
        header.extend(
            spec.ranges
                .iter()
                .map(|(p, _, _)| (p.clone(), Kind::Number)),
        );
        let mut f = Frame::with_columns("design", &header);
        for (k, x) in self.points.iter().enumerate() {
            let mut row = vec![Value::Integer(k as i64)];
            row.extend(x.iter().map(|v| Value::number(*v)));
            f.push(row);
        }
        f
    }

    /// `outputs`: every run's output (`point, replicate, output, value`).
    pub fn outputs_frame(&self, spec: &Spec) -> Frame {
        let mut f = Frame::with_columns(
            "outputs",
            &[
                ("point".to_string(), Kind::Integer),
                ("replicate".to_string(), Kind::Integer),
                ("output".to_string(), Kind::Text),
                ("value".to_string(), Kind::Number),
            ],
        );
        for (p, per) in self.values.iter().enumerate() {
            for (o, reps) in per.iter().enumerate() {
                for (r, v) in reps.iter().enumerate() {
                    f.push([
                        Value::Integer(p as i64),
                        Value::Integer(r as i64),
                        Value::Text(spec.outputs[o].text.clone()),
                        Value::number(*v),
                    ]);
                }
            }
        }
        f
    }

    /// `noise`: per output, the variance of every run's output, its seed-noise part (the mean
    /// variance among one point's replicates) and share.
    pub fn noise_frame(&self, spec: &Spec) -> Frame {
        let x = |n: &str| (n.to_string(), Kind::Number);
        let mut f = Frame::with_columns(
            "noise",
            &[
                ("output".to_string(), Kind::Text),
                x("variance"),
                x("seed_noise"),
                x("seed_noise_share"),
            ],
        );
        for (o, n) in self.noise.iter().enumerate() {
            f.push([
                Value::Text(spec.outputs[o].text.clone()),
                Value::number(n.variance),
                Value::number(n.noise),
                Value::number(n.share()),
            ]);
        }
        f
    }

    /// The account the tool prints: one line per index (its interval, and whether it includes
    /// 0), then each output's share of seed noise.
    pub fn text(&self, spec: &Spec) -> String {
        let mut t = String::new();
        for r in &self.rows {
            let zero = if r.estimate.includes_zero() {
                "  (interval includes 0)"
            } else {
                ""
            };
            t += &format!(
                "{:<44} {:<32} {:<8} {:>11.4} [{:.4}, {:.4}]{zero}\n",
                r.output, r.parameter, r.index, r.estimate.estimate, r.estimate.lo, r.estimate.hi
            );
        }
        for (o, n) in spec.outputs.iter().zip(&self.noise) {
            t += &format!(
                "{}: seed noise is {:.1}% of its variance\n",
                o.text,
                100.0 * n.share()
            );
        }
        t
    }
}

/// Writes `sensitivity.csv`, `design.csv`, `outputs.csv` and `noise.csv` into `dir`; returns
/// the file names.
pub fn write_files(dir: &std::path::Path, report: &Report, spec: &Spec) -> Result<Vec<String>> {
    [
        report.frame(),
        report.design_frame(spec),
        report.outputs_frame(spec),
        report.noise_frame(spec),
    ]
    .iter()
    .map(|f| crate::record::write_frame(dir, f, crate::record::Format::Csv))
    .collect()
}
