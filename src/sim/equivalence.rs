//! The two ways of reading a long-range contact's state (`agents.long_range`) are the same
//! model: ensembles of each agree, measure by measure, within their sampling noise, on the
//! historical scenario and the duopoly; and a deliberately wrong sampler (a table counting each
//! distinct word once) is told apart by the same statistic.
//!
//! The statistic: for every measure (each platform's value share, holders and users with it as
//! a default somewhere; users by default in each context; adopters, multi-homing users and
//! lost value) at several months, Welch's t of the difference of the two ensembles' means,
//! `(mean_a − mean_b) / sqrt(var_a/R + var_b/R)` with `R` = 20 runs each (each run its own
//! seed). The threshold is on the largest |t| over all measures: 4.5. Under the same model each
//! t is close to Student's t with about 38 degrees of freedom, for which P(|t| > 4.5) is about
//! 6·10^-5, so with at most 150 measures a scenario the chance of a false alarm is under 1%
//! (Bonferroni). The runs are seeded, so the outcome is fixed.
//!
//! Long-range contacts at twice their share, the wrong sampler first tried, were not told apart
//! (largest |t| 4.58 in the duopoly and 2.56 in the history), nor at 90% instead of 10% in the
//! history (3.34): these scenarios' aggregates hardly depend on the long-range share.

use super::Simulation;
use crate::record::MonthReport;
use crate::scenario::{LongRange, Scenario};
use crate::users::COUNTS_IGNORED;

/// Runs per ensemble.
const RUNS: u64 = 20;
/// The largest |t| allowed between two ensembles of the same model.
const THRESHOLD: f64 = 4.5;

/// The measures of one run at the months `at` (indices from the start), named.
fn measures(s: &Scenario, at: &[usize]) -> Vec<(String, f64)> {
    let mut sim = Simulation::new(s.clone()).unwrap();
    let mut months: Vec<MonthReport> = Vec::new();
    while let Some(r) = sim.step().unwrap() {
        months.push(r.clone());
    }
    let mut out = Vec::new();
    for &t in at {
        let r = &months[t];
        for p in &r.platforms {
            let name = |what: &str| format!("{} {} {}", r.month, p.platform, what);
            out.push((name("value_share"), p.value_share.unwrap_or(0.0)));
            out.push((name("users"), p.users));
            out.push((name("primary_users"), p.primary_users));
        }
        for d in &r.defaults {
            out.push((
                format!("{} {} default {}", r.month, d.context, d.platform),
                d.default_users,
            ));
        }
        out.push((format!("{} adopters", r.month), r.market.adopters));
        out.push((
            format!("{} multihoming", r.month),
            r.market.multihoming_users,
        ));
        out.push((format!("{} lost_value", r.month), r.market.lost_value));
    }
    out
}

/// `RUNS` runs of `s` with seeds `seed0, seed0 + 1, …`: each measure's values.
fn ensemble(s: &Scenario, seed0: u64, at: &[usize]) -> (Vec<String>, Vec<Vec<f64>>) {
    let mut names = Vec::new();
    let mut values: Vec<Vec<f64>> = Vec::new();
    for r in 0..RUNS {
        let mut s = s.clone();
        s.seed = seed0 + r;
        let m = measures(&s, at);
        if names.is_empty() {
            names = m.iter().map(|(n, _)| n.clone()).collect();
            values = vec![Vec::new(); m.len()];
        }
        for (k, (_, v)) in m.into_iter().enumerate() {
            values[k].push(v);
        }
    }
    (names, values)
}

fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// The largest |t| over the measures between ensembles of `a` and `b`, and its measure.
fn largest_t(a: &Scenario, b: &Scenario, at: &[usize]) -> (f64, String, usize) {
    let (names, va) = ensemble(a, 1_000, at);
    let (_, vb) = ensemble(b, 2_000, at);
    let mut worst = (0.0, String::new(), names.len());
    for (k, name) in names.iter().enumerate() {
        let ((ma, sa), (mb, sb)) = (mean_var(&va[k]), mean_var(&vb[k]));
        let se = (sa / RUNS as f64 + sb / RUNS as f64).sqrt();
        let t = if se > 0.0 {
            ((ma - mb) / se).abs()
        } else if ma == mb {
            0.0
        } else {
            f64::INFINITY
        };
        if t > worst.0 {
            worst = (t, format!("{name}: {ma} against {mb}"), names.len());
        }
    }
    worst
}

fn small(path: &str, users: u64, long_range: LongRange) -> Scenario {
    let mut s = Scenario::load(path).unwrap();
    s.agents.users = users;
    s.agents.merchants = users / 10;
    s.agents.long_range = long_range;
    s
}

/// Months `0, every, 2·every, …` up to the last, and the last.
fn months_of(s: &Scenario, every: usize) -> Vec<usize> {
    let n = (s.start.months_until(s.end) + 1) as usize;
    let mut at: Vec<usize> = (every - 1..n).step_by(every).collect();
    if at.last() != Some(&(n - 1)) {
        at.push(n - 1);
    }
    at
}

fn check(path: &str, users: u64, every: usize) {
    let population = small(path, users, LongRange::Population);
    let table = small(path, users, LongRange::Table);
    let at = months_of(&population, every);
    let (t, which, count) = largest_t(&population, &table, &at);
    eprintln!("{path}: same model, largest |t| {t:.2} of {count} measures ({which})");
    assert!(
        count <= 150,
        "{count} measures: the threshold assumes at most 150"
    );
    assert!(t < THRESHOLD, "{path}: |t| = {t:.2} ({which})");
    // The wrong sampler: a table that counts each distinct word once.
    COUNTS_IGNORED.set(true);
    let (t, which, _) = largest_t(&population, &table, &at);
    COUNTS_IGNORED.set(false);
    eprintln!("{path}: counts ignored, largest |t| {t:.2} ({which})");
    assert!(
        t > THRESHOLD,
        "{path}: the wrong table was not told apart: |t| = {t:.2}"
    );
}

#[test]
fn the_table_and_the_population_give_the_same_duopoly() {
    check("data/scenarios/duopoly.toml", 20_000, 6);
}

#[test]
fn the_table_and_the_population_give_the_same_history() {
    check("data/scenarios/china_2012_2021_calibrated.toml", 20_000, 24);
}
