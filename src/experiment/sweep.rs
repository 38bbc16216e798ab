//! Parameter sweeps: any numeric scenario field, addressed by its path, over a full grid, a
//! list of settings or a Latin hypercube, times replicates.
//!
//! Paths follow the scenario file: tables by name (`params.coverage_weight`), arrays of tables by `id`
//! (`platform.tenpay.imitation.wechat`, `channel.offline.shops`) or by index (`event[3].months`).
//! Every setting runs the same replicate seeds (common random numbers across settings), so
//! differences between settings are not blurred by seed noise.
//!
//! ```
//! use paymarket::sweep::{set_path, get_path};
//! use paymarket::Scenario;
//! let s = Scenario::load("data/scenarios/duopoly.toml")?;
//! let t = set_path(&s, "params.coverage_weight", 0.1)?;
//! assert_eq!(get_path(&t, "params.coverage_weight")?, 0.1);
//! assert!(set_path(&s, "platform.nosuch.fee", 0.01).is_err());
//! # Ok::<(), paymarket::Error>(())
//! ```
//!
//! Owns: `Design` (grid, list, Latin hypercube, from the tool's flags) and `sweep`. Reads:
//! scenario paths, the runner. Never: the rules.

use super::{for_each_replicate, Plan, Progress, Summary};
use crate::error::{Error, Result};
use crate::rng::{mix64, u01};
use crate::scenario::{Scenario, ValidScenario};

/// The path functions live with the scenario ([`crate::scenario::path`]); these names keep
/// working here.
pub use crate::scenario::path::{get_path, patch_name, patch_toml, set_path, set_paths};

/// The settings of a sweep: parameter paths and one value per path for each setting.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    /// Parameter paths.
    pub paths: Vec<String>,
    /// Settings: `points[k][d]` is the value of `paths[d]` in setting `k`.
    pub points: Vec<Vec<f64>>,
}

impl Design {
    /// Every combination of the listed values (the last path varies fastest).
    ///
    /// ```
    /// use paymarket::sweep::Design;
    /// let d = Design::grid(vec![("params.coverage_weight".into(), vec![0.0, 0.1]), ("params.phi".into(), vec![1.0, 2.0, 3.0])]);
    /// assert_eq!(d.points.len(), 6);
    /// assert_eq!(d.points[1], vec![0.0, 2.0]);
    /// ```
    pub fn grid(axes: Vec<(String, Vec<f64>)>) -> Design {
        let mut points = vec![Vec::new()];
        for (_, values) in &axes {
            points = points
                .iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut q = p.clone();
                        q.push(*v);
                        q
                    })
                })
                .collect();
        }
        Design {
            paths: axes.into_iter().map(|(p, _)| p).collect(),
            points,
        }
    }

    /// Settings listed one by one: each point is a list of `(path, value)` pairs, and every
    /// point must name the same paths in the same order.
    ///
    /// ```
    /// use paymarket::sweep::Design;
    /// let d = Design::list(vec![
    ///     vec![("params.churn_rate".into(), 0.05), ("params.coverage_weight".into(), 0.0)],
    ///     vec![("params.churn_rate".into(), 0.2), ("params.coverage_weight".into(), 0.1)],
    /// ])?;
    /// assert_eq!(d.points[1], vec![0.2, 0.1]);
    /// # Ok::<(), paymarket::Error>(())
    /// ```
    pub fn list(settings: Vec<Vec<(String, f64)>>) -> Result<Design> {
        let paths: Vec<String> = settings
            .first()
            .map(|p| p.iter().map(|(k, _)| k.clone()).collect())
            .unwrap_or_default();
        let mut points = Vec::new();
        for (k, p) in settings.into_iter().enumerate() {
            let names: Vec<&String> = p.iter().map(|(n, _)| n).collect();
            if names.len() != paths.len() || names.iter().zip(&paths).any(|(a, b)| *a != b) {
                return Err(Error::Config(format!(
                    "sweep setting {k} names {names:?}, but the first names {paths:?}; every setting must give the same parameters in the same order"
                )));
            }
            points.push(p.into_iter().map(|(_, v)| v).collect());
        }
        Ok(Design { paths, points })
    }

    /// A Latin hypercube of `n` settings over the ranges `[lo, hi]`: each range is cut into `n`
    /// equal strata and every stratum of every parameter is used exactly once, at a uniform
    /// point inside it. Deterministic in `seed`.
    pub fn latin_hypercube(ranges: Vec<(String, f64, f64)>, n: usize, seed: u64) -> Design {
        let mut points = vec![Vec::with_capacity(ranges.len()); n];
        for (d, (_, lo, hi)) in ranges.iter().enumerate() {
            let key = mix64(seed ^ mix64(d as u64 + 1));
            // Fisher–Yates shuffle of the strata with counter-based draws.
            let mut strata: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                let j = (u01(mix64(key ^ i as u64)) * (i + 1) as f64) as usize;
                strata.swap(i, j.min(i));
            }
            for (k, p) in points.iter_mut().enumerate() {
                let u = u01(mix64(key ^ mix64((n + k) as u64)));
                p.push(lo + (hi - lo) * (strata[k] as f64 + u) / n as f64);
            }
        }
        Design {
            paths: ranges.into_iter().map(|(p, _, _)| p).collect(),
            points,
        }
    }

    /// The scenario of setting `k`.
    pub fn apply(&self, s: &Scenario, k: usize) -> Result<Scenario> {
        self.apply_valid(s, k).map(ValidScenario::into_inner)
    }

    /// [`Design::apply`], keeping the proof of validation.
    pub fn apply_valid(&self, s: &Scenario, k: usize) -> Result<ValidScenario> {
        let values: Vec<(&str, f64)> = self
            .paths
            .iter()
            .map(String::as_str)
            .zip(self.points[k].iter().copied())
            .collect();
        crate::scenario::path::set_paths_valid(s, &values)
    }
}

fn split_param<'a>(flag: &str, spec: &'a str) -> Result<(&'a str, &'a str)> {
    spec.split_once('=').ok_or_else(|| {
        Error::Config(format!(
            "{flag} {spec:?}: write it as PATH=VALUES, e.g. params.churn_rate=0.05,0.1"
        ))
    })
}

fn number(flag: &str, spec: &str, v: &str) -> Result<f64> {
    v.trim()
        .parse::<f64>()
        .map_err(|_| Error::Config(format!("{flag} {spec:?}: {v:?} is not a number")))
}

impl Design {
    /// A design from the tool's flags, as text: `--grid PATH=V1,V2,..` (repeatable, a full
    /// grid), `--lhs N` with `--range PATH=LO:HI` (repeatable, a Latin hypercube drawn from
    /// `seed`) or `--point PATH=V,PATH=V` (repeatable, a list of settings); exactly one kind.
    ///
    /// ```
    /// use paymarket::sweep::Design;
    /// let d = Design::from_specs(&["params.churn_rate=0.05,0.1".into()], &[], None, &[], 1)?;
    /// assert_eq!(d.points.len(), 2);
    /// assert!(Design::from_specs(&[], &[], None, &[], 1).is_err());
    /// # Ok::<(), paymarket::Error>(())
    /// ```
    pub fn from_specs(
        grid: &[String],
        range: &[String],
        lhs: Option<usize>,
        point: &[String],
        seed: u64,
    ) -> Result<Design> {
        match (grid.is_empty(), range.is_empty(), lhs) {
            (true, true, None) if !point.is_empty() => {
                let mut settings = Vec::new();
                for spec in point {
                    let mut s = Vec::new();
                    for pair in spec.split(',') {
                        let (path, v) = split_param("--point", pair)?;
                        s.push((path.to_string(), number("--point", spec, v)?));
                    }
                    settings.push(s);
                }
                Design::list(settings)
            }
            (false, true, None) if point.is_empty() => {
                let mut axes = Vec::new();
                for spec in grid {
                    let (path, values) = split_param("--grid", spec)?;
                    let vals = values
                        .split(',')
                        .map(|v| number("--grid", spec, v))
                        .collect::<Result<Vec<f64>>>()?;
                    axes.push((path.to_string(), vals));
                }
                Ok(Design::grid(axes))
            }
            (true, false, Some(n)) if n > 0 && point.is_empty() => {
                let mut ranges = Vec::new();
                for spec in range {
                    let (path, r) = split_param("--range", spec)?;
                    let (lo, hi) = r.split_once(':').ok_or_else(|| {
                        Error::Config(format!(
                            "--range {spec:?}: write the range as LO:HI, e.g. 0.05:0.2"
                        ))
                    })?;
                    let (lo, hi) = (number("--range", spec, lo)?, number("--range", spec, hi)?);
                    if lo > hi {
                        return Err(Error::Config(format!(
                            "--range {spec:?}: {lo} is above {hi}"
                        )));
                    }
                    ranges.push((path.to_string(), lo, hi));
                }
                Ok(Design::latin_hypercube(ranges, n, seed))
            }
            _ => Err(Error::Config(
                "give one design: --grid PATH=V1,V2,.. (repeatable) for a full grid, --lhs N with \
                 --range PATH=LO:HI (repeatable) for a Latin hypercube, or --point PATH=V,PATH=V \
                 (repeatable) for a list of settings"
                    .into(),
            )),
        }
    }
}

/// Runs every setting of `design` with `plan.replicates` replicates each (settings × replicates
/// in parallel, a bounded number at a time) and hands each setting's summary to `take`, in
/// setting order. Every setting is checked before the first run.
pub fn sweep(
    scenario: &Scenario,
    design: &Design,
    plan: &Plan,
    mut take: impl FnMut(usize, &[f64], Summary) -> Result<()>,
) -> Result<()> {
    let settings: Vec<ValidScenario> = (0..design.points.len())
        .map(|k| design.apply_valid(scenario, k))
        .collect::<Result<_>>()?;
    let r_n = plan.replicates.max(1);
    let total = settings.len() as u64 * r_n;
    let runs = Plan {
        replicates: total,
        ..plan.clone()
    };
    let largest = settings
        .iter()
        .map(|s| &**s)
        .max_by_key(|s| (s.agents.users, s.agents.merchants))
        .unwrap_or(scenario);
    runs.check_memory(largest, 1)?;
    let mut progress = Progress::for_plan(total, plan);
    let mut summary = Summary::new(&scenario.name);
    let in_flight = plan.in_flight();
    for_each_replicate(
        total,
        in_flight,
        &mut progress,
        |i| {
            let (k, r) = ((i / r_n) as usize, i % r_n);
            plan.run_replicate(&settings[k], r)
        },
        |i, reports| {
            summary.add_run(&reports)?;
            if i % r_n == r_n - 1 {
                let k = (i / r_n) as usize;
                let done = std::mem::replace(&mut summary, Summary::new(&scenario.name));
                take(k, &design.points[k], done)?;
            }
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_hypercube_uses_every_stratum_once() {
        let d = Design::latin_hypercube(
            vec![("a".into(), 0.0, 1.0), ("b".into(), 10.0, 20.0)],
            10,
            3,
        );
        assert_eq!(d.points.len(), 10);
        for (dim, (lo, hi)) in [(0, (0.0, 1.0)), (1, (10.0, 20.0))] {
            let mut strata: Vec<usize> = d
                .points
                .iter()
                .map(|p| ((p[dim] - lo) / (hi - lo) * 10.0) as usize)
                .collect();
            strata.sort();
            assert_eq!(strata, (0..10).collect::<Vec<_>>());
        }
        assert_eq!(
            d,
            Design::latin_hypercube(
                vec![("a".into(), 0.0, 1.0), ("b".into(), 10.0, 20.0)],
                10,
                3
            )
        );
    }

    #[test]
    fn paths_reach_ids_indices_and_new_keys() {
        let s = Scenario::load("data/scenarios/china_2012_2021.toml").unwrap();
        let t = set_path(&s, "platform.tenpay.imitation.wechat", 0.5).unwrap();
        let j = t.platforms.iter().position(|p| p.id == "tenpay").unwrap();
        assert_eq!(t.platforms[j].imitation["wechat"], 0.5);
        let t = set_path(&s, "event[3].months", 7.0).unwrap();
        assert_eq!(t.events[3].months, Some(7));
        assert_eq!(get_path(&t, "agents.users").unwrap(), s.agents.users as f64);
        let msg = set_path(&s, "agents.users", 1.5).unwrap_err().to_string();
        assert!(
            msg.contains("agents.users") && msg.contains("whole"),
            "{msg}"
        );
        let msg = set_path(&s, "platform.tenpy.fee", 0.1)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("tenpay") && msg.contains("tenpy"), "{msg}");
        let msg = set_path(&s, "event[999].months", 1.0)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("out of range"), "{msg}");
        let msg = set_path(&s, "params.coverage_weight", -1.0)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("params.coverage_weight") && msg.contains("at least 0"),
            "{msg}"
        );
    }
}
