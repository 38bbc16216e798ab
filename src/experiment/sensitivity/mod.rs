//! Global sensitivity analysis of a scenario: which of its guesses an answer depends on.
//!
//! A [`Spec`] names the parameters (field paths with ranges), the outputs (a metric at a month
//! or its mean over a window, or with `vs` the paired effect of another scenario against this
//! one) and the method: Morris screening (elementary effects on random trajectories, or ones
//! chosen for spread: μ*, μ, σ) or Sobol indices (first order by Saltelli's estimator, total order by Jansen's). Every
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
//!     method: Method::Morris { trajectories: 4, levels: 4, spread: false },
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
mod output;
pub mod study;

use super::Plan;
use crate::error::{Error, Result};
use crate::record::{Frame, Kind, MonthReport, Value};
use crate::scenario::path::set_paths_valid;
use crate::scenario::Scenario;
use estimate::{sobol, sobol_design, SobolDesign};
use morris::{morris, morris_design, MorrisDesign};
pub use output::Output;
pub use study::{Prepared, Study};

/// The method and its design size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// Morris screening: `trajectories` trajectories (each `k + 1` points) on `levels` levels.
    Morris {
        /// Trajectories.
        trajectories: usize,
        /// Grid levels (4 is usual).
        levels: usize,
        /// Choose the trajectories for spread from [`morris::candidates`] random ones
        /// (Campolongo et al. 2007) instead of drawing them at random. The choice favours the
        /// cube's corners: the edge levels come twice as often, so μ*, μ and σ estimate the
        /// effects at the edges rather than over the grid, and their intervals do not cover
        /// the grid's values (see the tests of [`mod@morris`]).
        spread: bool,
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
                spread: false,
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
    /// Design points whose outputs came from [`Known`] runs instead of new ones.
    pub reused: usize,
}

/// The runs of an earlier analysis of the same scenarios, outputs, replicates and seeds, by
/// design point id ([`MorrisDesign::ids`], [`SobolDesign::ids`]): [`analyse_reusing`] takes a
/// point's outputs from here instead of running it again when the design has the same point.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// The outputs as written, in the order of each point's values.
    pub outputs: Vec<String>,
    /// By point id: the point in the parameters' units and its values `[output][replicate]`.
    pub points: std::collections::HashMap<u64, (Vec<f64>, Vec<Vec<f64>>)>,
}

/// The design drawn for a method.
enum Drawn {
    Morris(MorrisDesign),
    Sobol(SobolDesign),
}

impl Drawn {
    /// The design of `method` in `k` dimensions for a seed.
    fn new(method: Method, k: usize, seed: u64) -> Drawn {
        match method {
            Method::Morris {
                trajectories,
                levels,
                spread,
            } => {
                let r = trajectories.max(2);
                let m = if spread { morris::candidates(r) } else { r };
                Drawn::Morris(morris_design(k, r, levels, m, seed))
            }
            Method::Sobol { n } => Drawn::Sobol(sobol_design(k, n.max(2), seed)),
        }
    }

    /// The points in the unit cube, in evaluation order.
    fn points(&self) -> Vec<Vec<f64>> {
        match self {
            Drawn::Morris(d) => d.points(),
            Drawn::Sobol(d) => d.points(),
        }
    }

    /// Each point's id, the same in a larger design of the method for the same seed.
    fn ids(&self) -> Vec<u64> {
        match self {
            Drawn::Morris(d) => d.ids(),
            Drawn::Sobol(d) => d.ids(),
        }
    }
}

/// The ids of the design points of `method` in `k` dimensions for a seed, in evaluation order
/// (the rows of `design.csv`).
pub fn design_ids(method: Method, k: usize, seed: u64) -> Vec<u64> {
    Drawn::new(method, k, seed).ids()
}

/// Runs the design and estimates the indices (see the module's documentation).
pub fn analyse(s: &Scenario, spec: &Spec) -> Result<Report> {
    analyse_reusing(s, spec, &Known::default())
}

/// [`analyse`], taking the outputs of every design point that `known` holds (the same id and
/// the same parameter values, every output, every replicate) instead of running it: the report
/// is the one [`analyse`] makes, the point's runs being the same runs.
pub fn analyse_reusing(s: &Scenario, spec: &Spec, known: &Known) -> Result<Report> {
    let k = spec.ranges.len();
    if k == 0 || spec.outputs.is_empty() || spec.replicates == 0 {
        return Err(Error::Config(
            "a sensitivity analysis needs at least one range (--range, ranges=), one output \
             (--output, outputs=) and one replicate"
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
    let design = Drawn::new(spec.method, k, spec.seed);
    let ids = design.ids();
    let points: Vec<Vec<f64>> = design
        .points()
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
    // Every point checked (and kept, for its runs) before the first run: a range that leaves
    // the model's bounds is an error naming the path, not a failed run later.
    let valid = points
        .iter()
        .map(|x| {
            Ok((
                set(s, x)?,
                spec.vs.as_ref().map(|alt| set(alt, x)).transpose()?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let plan = Plan {
        replicates: spec.replicates,
        seed: spec.seed,
        watch: spec.watch.clone(),
        ..Plan::default()
    };
    let r_n = spec.replicates;
    let outputs = &spec.outputs;
    let same_outputs = known.outputs.len() == outputs.len()
        && known.outputs.iter().zip(outputs).all(|(a, b)| *a == b.text);
    let reuse: Vec<Option<&Vec<Vec<f64>>>> = points
        .iter()
        .zip(&ids)
        .map(|(x, id)| {
            let (y, v) = known.points.get(id).filter(|_| same_outputs)?;
            let whole = v.iter().all(|reps| reps.len() as u64 == r_n);
            (y == x && v.len() == outputs.len() && whole).then_some(v)
        })
        .collect();
    let todo: Vec<usize> = (0..points.len()).filter(|&p| reuse[p].is_none()).collect();
    let jobs = todo.len() as u64 * r_n;
    let runs: Vec<Vec<Option<f64>>> = super::dist::map_all(jobs, |job| {
        let (p, r) = (todo[(job / r_n) as usize], job % r_n);
        let independent;
        let plan = if spec.independent {
            // Seeded by the point's id, so that a larger design's point runs as it did.
            independent = Plan {
                seed: crate::rng::replicate_seed(spec.seed, 1 + ids[p]),
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
        let (scenario, alternative) = &valid[p];
        let base = counted(plan.run_replicate(scenario, r))?;
        let mut v: Vec<f64> = outputs.iter().map(|o| o.value(&base)).collect();
        if let Some(alt) = alternative {
            let other = counted(plan.run_replicate(alt, r))?;
            for (x, o) in v.iter_mut().zip(outputs) {
                *x = o.value(&other) - *x;
            }
        }
        Ok(v.into_iter()
            .map(|x| Some(x).filter(|x| x.is_finite()))
            .collect())
    })?;
    let mut values = vec![vec![Vec::with_capacity(r_n as usize); outputs.len()]; points.len()];
    for (p, v) in reuse.iter().enumerate() {
        if let Some(v) = v {
            values[p].clone_from(v);
        }
    }
    for (job, v) in runs.into_iter().enumerate() {
        let p = todo[job / r_n as usize];
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
        reused: points.len() - todo.len(),
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
