//! Calibration: fit a scenario's unmeasured behavioural parameters to published market figures,
//! and say how well it fits and which parameters the data pin down.
//!
//! - [`load_targets`] reads the observed figures (`data/observed/`) into typed [`Target`]s:
//!   series, platform, publisher, period, value, weight and the simulated measure each compares
//!   with (the rules are in `data/observed/README.md`).
//! - [`evaluate`] runs a candidate `R` times (replicate seeds shared by every candidate: common
//!   random numbers) over the calibration window and scores it: the weighted root-mean-square
//!   error between the replicate-mean simulated values and the observed ones, in percentage
//!   points for shares and in percent of the observed level (times `users_weight`) for user
//!   counts.
//! - [`calibrate`] searches the parameters within their bounds: a Latin hypercube evaluated in
//!   parallel (the scenario's own values are one of its points, so the result is never worse
//!   than the start), then Nelder–Mead from the best point in the unit cube of the bounds. Every
//!   step is deterministic for a given seed and budget.
//! - [`identification`] moves each calibrated parameter ±10% and reports how much the objective
//!   rises: large rises mean the data pin the parameter down, flat ones that they do not.
//!
//! ```
//! use paymarket::calibrate::{evaluate, load_targets, Settings};
//! use paymarket::Scenario;
//! let s = Scenario::load("data/scenarios/china_2012_2021.toml")?;
//! let st = Settings { users: 2_000, merchants: 200, window_end: "2014-12".parse().unwrap(), ..Settings::default() };
//! let targets = load_targets(std::path::Path::new("data/observed"), &s, st.window_end)?;
//! let fit = evaluate(&s, &targets, &st)?;
//! // One error per target; the share RMSE covers the fitted shares of 2013Q3–2014Q3.
//! assert_eq!(fit.simulated.len(), targets.len());
//! assert!(fit.share_rmse.is_finite() && fit.share_rmse > 0.0);
//! # Ok::<(), paymarket::Error>(())
//! ```
//!
//! Owns: `Settings`, `calibrate` (the executor loop; the parameter file is `parameters.rs`). Reads: the experiment
//! runner, scenario paths, the other calibration modules. Never: the rules.

use crate::error::{Error, Result};
use crate::experiment::sweep::Design;
use crate::experiment::Plan;
use crate::month::Month;
use crate::scenario::path::get_path;
use crate::scenario::Scenario;

pub mod abc;
mod abc_files;
mod bayes;
mod frames;
mod identify;
mod job;
mod objective;
mod parameters;
mod point_files;
pub mod posterior;
mod predictive;
mod prior;
mod search;
mod targets;

pub use bayes::*;
pub use identify::*;
pub use job::*;
pub use objective::*;
pub use parameters::*;
pub use predictive::*;
pub use search::*;
pub use targets::*;

/// What the calibration needs besides the parameters: window, replicates, sizes, weights.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Last month of the calibration window (runs stop there).
    pub window_end: Month,
    /// Replicates per candidate.
    pub replicates: u64,
    /// Master seed of the replicate seeds and of the Latin hypercube.
    pub seed: u64,
    /// User agents per run.
    pub users: u64,
    /// Merchant agents per run.
    pub merchants: u64,
    /// Weight of a user-count error of 1 log point relative to a share error of 1 percentage
    /// point (default 0.01: the published counts define users loosely, see
    /// `data/observed/README.md`, so a count off by a factor of two weighs like a share off by
    /// 6.9 points).
    pub users_weight: f64,
    /// Objective evaluations in all (Latin hypercube plus refinement).
    pub budget: usize,
    /// Another thread's view of the calibration: it counts every run (each candidate's
    /// replicates, then the report's), and once stopped the calibration ends at its next
    /// candidate with [`Error::Stopped`] (its `total` is the search's runs, budget ×
    /// replicates).
    pub watch: Option<std::sync::Arc<crate::experiment::Watch>>,
}

impl Settings {
    /// The scenario at the calibration's agent counts.
    fn sized(&self, s: &Scenario) -> Scenario {
        let mut s = s.clone();
        s.agents.users = self.users;
        s.agents.merchants = self.merchants;
        s
    }

    /// `replicates` replicates on the calibration's seeds, followed by the watch.
    fn plan(&self, replicates: u64) -> Plan {
        Plan {
            replicates,
            seed: self.seed,
            watch: self.watch.clone(),
            ..Plan::default()
        }
    }

    /// [`Error::Stopped`] once the watch was stopped.
    fn check_watch(&self) -> Result<()> {
        match &self.watch {
            Some(w) if w.stopped() => Err(Error::Stopped {
                done: w.done(),
                total: self.budget as u64 * self.replicates,
            }),
            _ => Ok(()),
        }
    }

    /// Counts one run taken.
    fn count_run(&self) {
        if let Some(w) = &self.watch {
            w.count(1);
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            window_end: Month::new(2016, 12).expect("valid"),
            replicates: 2,
            seed: 1,
            users: 50_000,
            merchants: 5_000,
            users_weight: 0.01,
            budget: 120,
            watch: None,
        }
    }
}

/// One evaluated candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// `lhs` or `nelder-mead`.
    pub stage: &'static str,
    /// Parameter values.
    pub x: Vec<f64>,
    /// Objective (infinite when the candidate failed).
    pub objective: f64,
}

/// The result of [`calibrate`].
#[derive(Debug, Clone)]
pub struct Calibration {
    /// The best parameter values, in parameter order.
    pub best: Vec<f64>,
    /// Their objective.
    pub objective: f64,
    /// Every evaluation in order.
    pub trace: Vec<Evaluation>,
}

fn score(base: &Scenario, ps: &[Parameter], x: &[f64], targets: &[Target], st: &Settings) -> f64 {
    match apply(base, ps, x).and_then(|s| evaluate(&s, targets, st)) {
        Ok(f) if f.objective.is_finite() => f.objective,
        _ => f64::INFINITY,
    }
}

/// Searches `ps` within their bounds to minimise the objective: a Latin hypercube of half the
/// budget (the scenario's own values first), evaluated in parallel, then Nelder–Mead from the
/// best point with the rest. `progress(done, budget, best)` is called after each evaluation.
pub fn calibrate(
    base: &Scenario,
    ps: &[Parameter],
    targets: &[Target],
    st: &Settings,
    mut progress: impl FnMut(usize, usize, f64),
) -> Result<Calibration> {
    parameters::check_parameters(ps, base)?;
    if !targets.iter().any(|t| t.weight > 0.0) {
        return Err(Error::Config(
            "no target has a positive weight: nothing to fit".into(),
        ));
    }
    // Candidates and their replicates run in parallel: at most one simulation per thread.
    Plan {
        replicates: st.budget as u64 * st.replicates,
        ..Plan::default()
    }
    .check_memory(&st.sized(base), 1)?;
    let d = ps.len();
    let budget = st.budget.max(d + 2);
    let n_lhs = (budget / 2).max(d + 1);
    let lo: Vec<f64> = ps.iter().map(|p| p.lo).collect();
    let span: Vec<f64> = ps.iter().map(|p| p.hi - p.lo).collect();
    let to_x = |u: &[f64]| -> Vec<f64> {
        u.iter()
            .enumerate()
            .map(|(k, v)| lo[k] + span[k] * v.clamp(0.0, 1.0))
            .collect()
    };
    let start: Vec<f64> = ps
        .iter()
        .map(|p| get_path(base, &p.path).unwrap_or(p.lo).clamp(p.lo, p.hi))
        .collect();
    let unit = Design::latin_hypercube(
        ps.iter().map(|p| (p.path.clone(), 0.0, 1.0)).collect(),
        n_lhs - 1,
        st.seed,
    );
    let mut points = vec![start];
    points.extend(unit.points.iter().map(|u| to_x(u)));
    let mut trace: Vec<Evaluation> = Vec::with_capacity(budget);
    // Evaluate the hypercube a few points at a time so progress can be shown.
    let step = rayon::current_num_threads().max(1);
    for chunk in points.chunks(step) {
        st.check_watch()?;
        let scores = scores(chunk, |x| score(base, ps, x, targets, st))?;
        for (x, f) in chunk.iter().zip(scores) {
            trace.push(Evaluation {
                stage: "lhs",
                x: x.clone(),
                objective: f,
            });
            progress(trace.len(), budget, best_of(&trace).1);
        }
    }
    // Nelder–Mead in the unit cube, from the best point, with the rest of the budget.
    let (b, _) = best_of(&trace);
    let u0: Vec<f64> = trace[b]
        .x
        .iter()
        .enumerate()
        .map(|(k, v)| (v - lo[k]) / span[k])
        .collect();
    let mut f = |u: &[f64], trace: &mut Vec<Evaluation>| -> f64 {
        let x = to_x(u);
        let v = score(base, ps, &x, targets, st);
        trace.push(Evaluation {
            stage: "nelder-mead",
            x,
            objective: v,
        });
        progress(trace.len(), budget, best_of(trace).1);
        v
    };
    nelder_mead(
        &u0,
        0.1,
        budget.saturating_sub(trace.len()),
        &mut trace,
        &mut f,
    );
    // A stopped watch made every later candidate fail at once: the search is not a result.
    st.check_watch()?;
    let (b, best) = best_of(&trace);
    Ok(Calibration {
        best: trace[b].x.clone(),
        objective: best,
        trace,
    })
}

/// Scores `items` in parallel (or over MPI ranks, every rank getting every score); infinite
/// scores travel as `None`.
fn scores<I: Sync>(items: &[I], f: impl Fn(&I) -> f64 + Sync) -> Result<Vec<f64>> {
    let out: Vec<Option<f64>> = crate::experiment::dist::map_all(items.len() as u64, |k| {
        Ok(Some(f(&items[k as usize])).filter(|v| v.is_finite()))
    })?;
    Ok(out
        .into_iter()
        .map(|v| v.unwrap_or(f64::INFINITY))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn periods_cover_their_months() {
        let m = |s: &str| s.parse::<Month>().unwrap();
        assert_eq!(period_months("2014Q1"), Some((m("2014-01"), m("2014-03"))));
        assert_eq!(period_months("2016Q4"), Some((m("2016-10"), m("2016-12"))));
        assert_eq!(period_months("2016"), Some((m("2016-01"), m("2016-12"))));
        assert_eq!(period_months("2014-09"), Some((m("2014-09"), m("2014-09"))));
        assert_eq!(
            period_months("2014-10-16"),
            Some((m("2014-10"), m("2014-10")))
        );
        for bad in ["2014Q5", "14Q1", "2014-13", "2014-10-40", "soon"] {
            assert_eq!(period_months(bad), None, "{bad}");
        }
    }

    fn target(measure: Measure, value: f64, weight: f64) -> Target {
        let m = Month::new(2015, 1).unwrap();
        Target {
            series: "s".into(),
            platform: "a".into(),
            publisher: "p".into(),
            period: "2015-01".into(),
            months: (m, m),
            value,
            weight,
            measure,
            at_least: false,
            context: String::new(),
        }
    }

    #[test]
    fn objective_by_hand() {
        // Shares: errors +3 (w 1) and -1 (w 0.5); users: 50 observed, 40 simulated =
        // 100·ln(0.8) = -22.31 log points (w 1, users_weight 0.1); a weight-0 target is ignored.
        let ts = vec![
            target(Measure::Share, 70.0, 1.0),
            target(Measure::ShareWithoutP2p, 20.0, 0.5),
            target(Measure::ActiveUsers, 50.0, 1.0),
            target(Measure::Share, 5.0, 0.0),
        ];
        let sims = [73.0, 19.0, 40.0, 99.0];
        let e = 100.0 * 0.8f64.ln();
        let all = ((9.0 + 0.5 * 1.0 + 0.1 * e * e) / (1.0 + 0.5 + 0.1f64)).sqrt();
        assert!((objective(&ts, &sims, 0.1, false) - all).abs() < 1e-12);
        let shares = ((9.0 + 0.5) / 1.5f64).sqrt();
        assert!((objective(&ts, &sims, 0.1, true) - shares).abs() < 1e-12);
        assert_eq!(
            objective(&ts, &[f64::NAN, 19.0, 40.0, 1.0], 0.1, false),
            f64::INFINITY
        );
    }

    #[test]
    fn nelder_mead_finds_the_minimum_of_a_quadratic() {
        let target = [0.3, 0.7, 0.55];
        let mut calls = 0usize;
        let mut f = |u: &[f64], calls: &mut usize| {
            *calls += 1;
            u.iter()
                .zip(target)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
        };
        let (u, v) = nelder_mead(&[0.9, 0.1, 0.5], 0.1, 400, &mut calls, &mut f);
        assert!(calls <= 400);
        assert!(v < 1e-8, "{v} at {u:?}");
        for (a, b) in u.iter().zip(target) {
            assert!((a - b).abs() < 1e-3);
        }
        // Bounded: the minimum of (u - 1.5)² on [0, 1] is at the face.
        let mut g = |u: &[f64], _: &mut usize| (u[0] - 1.5).powi(2);
        let (u, _) = nelder_mead(&[0.2], 0.1, 100, &mut calls, &mut g);
        assert!((u[0] - 1.0).abs() < 1e-9);
    }

    #[test]
    fn default_parameters_are_valid_and_follow_their_rule() {
        let s = Scenario::load("tests/fixtures/china_v1/china_2012_2021.toml").unwrap();
        let ts = load_targets(
            Path::new("data/observed"),
            &s,
            Month::new(2016, 12).unwrap(),
        )
        .unwrap();
        let ps = default_parameters(&s, &ts);
        check_parameters(&ps, &s).unwrap();
        let has = |p: &str| ps.iter().any(|x| x.path == p);
        assert!(has("platform.tenpay.brand") && has("platform.other_wallets.brand"));
        assert!(
            !has("platform.alipay.brand"),
            "the first platform is the logit's reference"
        );
        assert!(
            !has("platform.unionpay.innovation"),
            "not third-party, not targeted"
        );
        assert!(has("platform.tenpay.imitation.wechat") && has("channel.offline.margin"));
        assert!(has("event[10].multiplier") && has("params.loyalty"));
    }

    #[test]
    fn observed_files_load_with_their_rules() {
        let s = Scenario::load("tests/fixtures/china_v1/china_2012_2021.toml").unwrap();
        let end = Month::new(2016, 12).unwrap();
        let ts = load_targets(Path::new("data/observed"), &s, end).unwrap();
        let find = |series: &str, period: &str| {
            ts.iter()
                .find(|t| t.series == series && t.period == period)
                .unwrap()
                .clone()
        };
        let t = find("share.tenpay", "2014Q1");
        assert_eq!(
            (t.measure, t.publisher.as_str(), t.value),
            (Measure::ShareWithoutP2p, "iresearch", 12.9)
        );
        assert_eq!(find("share.alipay", "2016Q1").measure, Measure::Share);
        let lakala = find("share.lakala", "2016Q1");
        assert_eq!(
            (lakala.platform.as_str(), lakala.weight),
            ("other_wallets", 0.0)
        );
        let low = find("wechatpay.users", "2015-02");
        assert_eq!(
            (low.platform.as_str(), low.weight, low.measure),
            ("tenpay", 0.5, Measure::ActiveUsers)
        );
        assert_eq!(find("cnnic.mobile_payment_users", "2016-12").weight, 0.0);
        // A window ending in 2015 keeps the 2016 rows out of the fit.
        let early = load_targets(
            Path::new("data/observed"),
            &s,
            Month::new(2015, 12).unwrap(),
        )
        .unwrap();
        assert!(early
            .iter()
            .filter(|t| t.months.1.year() == 2016)
            .all(|t| t.weight == 0.0));
    }

    /// The v2 mapping of docs/CALIBRATION.md, row by row: measure, bound, weight and months.
    #[test]
    fn observed_files_load_with_the_v2_mapping() {
        let s = Scenario::load("data/scenarios/china_2012_2021.toml").unwrap();
        let end = Month::new(2016, 12).unwrap();
        let ts = load_targets(Path::new("data/observed"), &s, end).unwrap();
        let find = |series: &str, period: &str| {
            ts.iter()
                .find(|t| t.series == series && t.period == period)
                .unwrap_or_else(|| panic!("{series} {period}"))
        };
        let m = |s: &str| s.parse::<Month>().unwrap();
        let a = find("alipay.mobile_payment_users", "2013");
        assert_eq!(
            (a.measure, a.at_least, a.weight, a.months),
            (
                Measure::AnnualUsers,
                true,
                1.0,
                (m("2013-12"), m("2013-12"))
            )
        );
        let w = find("wechatpay.users", "2016-06");
        // Low confidence (0.5) times the mapping's low weight (0.5).
        assert_eq!(
            (w.measure, w.at_least, w.weight),
            (Measure::Holders, false, 0.25)
        );
        // WeChat Pay's card binders are a part of Tencent's wallet holders (QQ Wallet's too):
        // a lower bound (the revision of 2026-12-02, docs/CALIBRATION.md).
        let b = find("wechatpay.users_bound_cards_after_cny", "2014-02");
        assert_eq!(
            (b.measure, b.at_least, b.platform.as_str()),
            (Measure::Holders, true, "tenpay")
        );
        let t = find("tencent.monthly_active_payment_accounts", "2016-12");
        assert_eq!(
            (t.measure, t.at_least, t.platform.as_str()),
            (Measure::ActiveUsers, true, "tenpay")
        );
        let e = find("iresearch.mobile_3p_share_econ_benefit.tenpay", "2016Q4");
        assert_eq!(
            (e.measure, e.weight, e.months),
            (Measure::ShareWithoutP2p, 1.0, (m("2016-10"), m("2016-12")))
        );
        let k = find("walkthechat.p2p_transfer_use.wechatpay", "2016");
        assert_eq!(
            (k.measure, k.context.as_str(), k.weight),
            (Measure::DefaultShare, "social", 0.25)
        );
        assert_eq!(
            k.months,
            (m("2016-01"), m("2016-12")),
            "a share: the year's mean"
        );
        let c = find("cnnic.mobile_payment_users", "2015-12");
        assert_eq!((c.measure, c.weight), (Measure::Adopters, 1.0));
        // Every user-count row and the six context rows, and the shares by the v1 rule.
        assert_eq!(ts.iter().filter(|t| !t.measure.is_share()).count(), 10);
        assert_eq!(
            ts.iter()
                .filter(|t| t.measure == Measure::DefaultShare)
                .count(),
            2
        );
        assert!(ts
            .iter()
            .any(|t| t.series == "share.tenpay" && t.period == "2016Q4"));
    }

    #[test]
    fn a_lower_bound_counts_only_when_the_simulation_falls_short() {
        let mut t = target(Measure::AnnualUsers, 100.0, 1.0);
        t.at_least = true;
        assert_eq!(error(&t, 150.0), 0.0);
        assert_eq!(error(&t, 100.0), 0.0);
        assert!((error(&t, 50.0) - 100.0 * 0.5f64.ln()).abs() < 1e-12);
        t.at_least = false;
        assert!((error(&t, 150.0) - 100.0 * 1.5f64.ln()).abs() < 1e-12);
    }
}
