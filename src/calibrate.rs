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

use crate::error::{Error, Result};
use crate::experiment::{run_reports, Plan};
use crate::month::Month;
use crate::output::{number as num, StagedCsv};
use crate::record::MonthReport;
use crate::scenario::Scenario;
use crate::stats::Moments;
use crate::sweep::{get_path, set_path, Design};
use serde::Deserialize;
use std::path::Path;

/// What a target compares with in the simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// `100 × value share` among third-party platforms, all value.
    Share,
    /// `100 × value share` among third-party platforms of merchant and own-account value (p2p
    /// transfers left out, as iResearch did before 2016Q1).
    ShareWithoutP2p,
    /// People who used the wallet in the month, in millions.
    ActiveUsers,
    /// People holding at least one wallet, in millions.
    Adopters,
}

impl Measure {
    /// The name written in `fit.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Share => "value_share_pct",
            Measure::ShareWithoutP2p => "value_share_without_p2p_pct",
            Measure::ActiveUsers => "active_users_millions",
            Measure::Adopters => "adopters_millions",
        }
    }

    fn is_share(self) -> bool {
        matches!(self, Measure::Share | Measure::ShareWithoutP2p)
    }
}

/// One observed figure to fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Series name, e.g. `share.tenpay` or `wechatpay.users`.
    pub series: String,
    /// Scenario platform it concerns (empty for the market as a whole).
    pub platform: String,
    /// Who published it (`iresearch`, `analysys`, `unspecified`, …).
    pub publisher: String,
    /// The period as written (`2014Q1`, `2014-09`, `2016`, `2014-10-16`).
    pub period: String,
    /// First and last month of the period.
    pub months: (Month, Month),
    /// The observed value (percent for shares, millions for users).
    pub value: f64,
    /// Weight in the objective (0: reported, not fitted).
    pub weight: f64,
    /// What it compares with.
    pub measure: Measure,
}

/// The months of a period written `YYYY`, `YYYYQn`, `YYYY-MM` or `YYYY-MM-DD`.
pub fn period_months(p: &str) -> Option<(Month, Month)> {
    let p = p.trim();
    if p.len() == 4 {
        let y: i32 = p.parse().ok()?;
        return Some((Month::new(y, 1)?, Month::new(y, 12)?));
    }
    if p.len() == 6 && p.as_bytes()[4] == b'Q' {
        let y: i32 = p[..4].parse().ok()?;
        let q: u32 = p[5..].parse().ok()?;
        if !(1..=4).contains(&q) {
            return None;
        }
        return Some((Month::new(y, 3 * q - 2)?, Month::new(y, 3 * q)?));
    }
    if p.len() == 10 {
        let day: u32 = p[8..].parse().ok()?;
        if p.as_bytes()[7] != b'-' || !(1..=31).contains(&day) {
            return None;
        }
        let m: Month = p[..7].parse().ok()?;
        return Some((m, m));
    }
    let m: Month = p.parse().ok()?;
    Some((m, m))
}

fn confidence_weight(c: &str) -> f64 {
    match c {
        "high" | "medium" => 1.0,
        "low" => 0.5,
        _ => 0.0,
    }
}

#[derive(Deserialize)]
struct ShareRow {
    period: String,
    publisher: String,
    platform: String,
    value_share_pct: f64,
    confidence: String,
}

#[derive(Deserialize)]
struct UserRow {
    series: String,
    period: String,
    value: f64,
    unit: String,
    confidence: String,
}

fn read_rows<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let mut r = csv::Reader::from_path(path).map_err(|source| Error::Csv {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (k, row) in r.deserialize().enumerate() {
        out.push(row.map_err(|e| {
            Error::Config(format!(
                "{}: data row {}: {e}; check the columns against data/observed/README.md",
                path.display(),
                k + 1
            ))
        })?);
    }
    Ok(out)
}

fn bad_period(path: &Path, row: usize, p: &str) -> Error {
    Error::Config(format!(
        "{}: data row {row}: period {p:?} is not YYYY, YYYYQn, YYYY-MM or YYYY-MM-DD",
        path.display()
    ))
}

/// Reads `market_shares.csv` and `user_counts.csv` from `dir` into targets for `scenario`
/// (the rules are in `data/observed/README.md`). Rows after `window_end` get weight 0: they are
/// reported, never fitted.
pub fn load_targets(dir: &Path, scenario: &Scenario, window_end: Month) -> Result<Vec<Target>> {
    let ids = scenario.platform_ids();
    let other = ids
        .iter()
        .find(|id| id.starts_with("other"))
        .map(|s| s.to_string());
    let mut out = Vec::new();
    let path = dir.join("market_shares.csv");
    for (k, r) in read_rows::<ShareRow>(&path)?.into_iter().enumerate() {
        let months = period_months(&r.period).ok_or_else(|| bad_period(&path, k + 1, &r.period))?;
        let (platform, mut weight) = if ids.contains(&r.platform.as_str()) {
            (r.platform.clone(), confidence_weight(&r.confidence))
        } else if let Some(o) = &other {
            // One other wallet is only part of the scenario's others: report, do not fit.
            (o.clone(), 0.0)
        } else {
            continue;
        };
        let p2p_left_out = matches!(r.publisher.as_str(), "iresearch" | "unspecified")
            && months.0 < Month::new(2016, 1).expect("valid");
        if months.1 > window_end {
            weight = 0.0;
        }
        out.push(Target {
            series: format!("share.{}", r.platform),
            platform,
            publisher: r.publisher,
            period: r.period,
            months,
            value: r.value_share_pct,
            weight,
            measure: if p2p_left_out {
                Measure::ShareWithoutP2p
            } else {
                Measure::Share
            },
        });
    }
    let path = dir.join("user_counts.csv");
    for (k, r) in read_rows::<UserRow>(&path)?.into_iter().enumerate() {
        let months = period_months(&r.period).ok_or_else(|| bad_period(&path, k + 1, &r.period))?;
        if r.unit != "million" {
            return Err(Error::Config(format!(
                "{}: data row {}: unit {:?}; user counts are read in millions",
                path.display(),
                k + 1,
                r.unit
            )));
        }
        let prefix = r.series.split('.').next().unwrap_or("").to_string();
        // Card bindings in the days after a campaign are new binders, not monthly users.
        let binders = r.series.contains("bound_cards");
        let (platform, measure, mut weight) = match prefix.as_str() {
            "wechatpay" if binders => ("tenpay", Measure::ActiveUsers, 0.0),
            "alipay" if ids.contains(&"alipay") => (
                "alipay",
                Measure::ActiveUsers,
                confidence_weight(&r.confidence),
            ),
            "wechatpay" if ids.contains(&"tenpay") => (
                "tenpay",
                Measure::ActiveUsers,
                confidence_weight(&r.confidence),
            ),
            "cnnic" => ("", Measure::Adopters, 0.0),
            _ => continue,
        };
        if months.1 > window_end {
            weight = 0.0;
        }
        out.push(Target {
            series: r.series,
            platform: platform.to_string(),
            publisher: prefix,
            period: r.period,
            months,
            value: r.value,
            weight,
            measure,
        });
    }
    Ok(out)
}

/// The value of `measure` for `platform` in one month's report.
fn measure_of(r: &MonthReport, platform: &str, measure: Measure) -> f64 {
    let third: Vec<&crate::record::PlatformRow> = r
        .platforms
        .iter()
        .filter(|p| p.value_share.is_some())
        .collect();
    let row = r.platforms.iter().find(|p| p.platform == platform);
    match measure {
        Measure::Share => row.and_then(|p| p.value_share).unwrap_or(f64::NAN) * 100.0,
        Measure::ShareWithoutP2p => {
            let total: f64 = third.iter().map(|p| p.merchant_value + p.own_value).sum();
            match row {
                Some(p) if total > 0.0 && p.value_share.is_some() => {
                    100.0 * (p.merchant_value + p.own_value) / total
                }
                _ => f64::NAN,
            }
        }
        Measure::ActiveUsers => row.map(|p| p.active_users / 1e6).unwrap_or(f64::NAN),
        Measure::Adopters => r.market.adopters / 1e6,
    }
}

/// A target's simulated value in one run: the mean of its measure over the months of its
/// period (NaN if the run does not cover them).
pub fn simulated(reports: &[MonthReport], t: &Target) -> f64 {
    let (mut sum, mut n) = (0.0, 0);
    for r in reports {
        if r.month >= t.months.0 && r.month <= t.months.1 {
            sum += measure_of(r, &t.platform, t.measure);
            n += 1;
        }
    }
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

/// The targets next to one run's values as a Markdown table (period, publisher, series, what
/// it is compared with, published, simulated, weight): the README's replay table, generated by
/// the same comparison rules as the calibration so that it cannot drift from them. Values are
/// percent for shares and millions for counts, one decimal.
///
/// ```
/// use paymarket::calibrate::{load_targets, replay_table};
/// use paymarket::{Collect, Scenario, Simulation};
/// let mut s = Scenario::load("data/scenarios/duopoly.toml")?;
/// s.agents.users = 2_000;
/// s.agents.merchants = 200;
/// let mut runs = Collect::default();
/// Simulation::new(s)?.run(&mut [&mut runs])?;
/// let table = replay_table(&runs.reports, &[]);
/// assert!(table.starts_with("| period | publisher | series |"));
/// # Ok::<(), paymarket::Error>(())
/// ```
pub fn replay_table(reports: &[MonthReport], targets: &[Target]) -> String {
    let mut out = String::from(
        "| period | publisher | series | compared with | published | simulated | weight |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for t in targets {
        let sim = simulated(reports, t);
        let sim = if sim.is_finite() {
            format!("{sim:.1}")
        } else {
            "–".into()
        };
        let what = match t.measure {
            Measure::Share => format!("value share of {}, %", t.platform),
            Measure::ShareWithoutP2p => {
                format!("value share of {} without transfers, %", t.platform)
            }
            Measure::ActiveUsers => format!("monthly users of {}, millions", t.platform),
            Measure::Adopters => "holders of any wallet, millions".to_string(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {what} | {} | {sim} | {} |\n",
            t.period,
            t.publisher,
            t.series,
            t.value,
            num(t.weight)
        ));
    }
    out
}

/// How a candidate fits: per target the moments of its simulated value over the replicates,
/// and the objective.
#[derive(Debug, Clone)]
pub struct Fit {
    /// Per target, in target order.
    pub simulated: Vec<Moments>,
    /// The weighted RMSE (see [`objective`]).
    pub objective: f64,
    /// The weighted RMSE of the share targets alone, percentage points.
    pub share_rmse: f64,
}

/// A target's error: percentage points for shares; for counts, the relative error in log
/// points, `100·ln(simulated / observed)` (symmetric: twice and half the observed level are
/// both 69 points off; about the percentage error when small).
pub fn error(t: &Target, sim: f64) -> f64 {
    if t.measure.is_share() {
        sim - t.value
    } else if sim > 0.0 && t.value > 0.0 {
        100.0 * (sim / t.value).ln()
    } else {
        f64::NAN
    }
}

/// `sqrt(Σ w e² / Σ w)` over the fitted targets, where user-count errors carry an extra
/// `users_weight`; with `shares_only`, over the share targets alone. Infinite when a fitted
/// target has no simulated value.
pub fn objective(targets: &[Target], sims: &[f64], users_weight: f64, shares_only: bool) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (t, &s) in targets.iter().zip(sims) {
        let w = if t.measure.is_share() {
            t.weight
        } else if shares_only {
            0.0
        } else {
            t.weight * users_weight
        };
        if w == 0.0 {
            continue;
        }
        let e = error(t, s);
        if !e.is_finite() {
            return f64::INFINITY;
        }
        num += w * e * e;
        den += w;
    }
    if den == 0.0 {
        f64::NAN
    } else {
        (num / den).sqrt()
    }
}

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
}

impl Settings {
    /// The scenario at the calibration's agent counts.
    fn sized(&self, s: &Scenario) -> Scenario {
        let mut s = s.clone();
        s.agents.users = self.users;
        s.agents.merchants = self.merchants;
        s
    }

    /// `replicates` replicates on the calibration's seeds.
    fn plan(&self, replicates: u64) -> Plan {
        Plan {
            replicates,
            seed: self.seed,
            ..Plan::default()
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
        }
    }
}

/// A parameter to calibrate: a scenario path (as sweeps address them) and its bounds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// Scenario path, e.g. `platform.tenpay.imitation.wechat`.
    pub path: String,
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
    /// Why these bounds (free text, for the reader).
    #[serde(default)]
    pub why: String,
}

/// A parameter file: `[[parameter]]` tables with `path`, `lo`, `hi` and `why`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterFile {
    /// The parameters.
    #[serde(rename = "parameter")]
    pub parameters: Vec<Parameter>,
}

/// Reads a parameter file and checks every path against the scenario and every bound.
pub fn load_parameters(path: &Path, scenario: &Scenario) -> Result<Vec<Parameter>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file: ParameterFile =
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    check_parameters(&file.parameters, scenario)
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    Ok(file.parameters)
}

fn check_parameters(ps: &[Parameter], s: &Scenario) -> Result<()> {
    if ps.is_empty() {
        return Err(Error::Config("no parameters to calibrate".into()));
    }
    for (k, p) in ps.iter().enumerate() {
        if !(p.lo.is_finite() && p.hi.is_finite() && p.lo < p.hi) {
            return Err(Error::Config(format!(
                "parameter[{k}] {}: bounds [{}, {}] must be finite with lo < hi",
                p.path, p.lo, p.hi
            )));
        }
        // Both bounds must give a valid scenario (this also checks the path).
        set_path(s, &p.path, p.lo)?;
        set_path(s, &p.path, p.hi)?;
    }
    Ok(())
}

/// The scenario with the parameters set to `x`.
pub fn apply(s: &Scenario, ps: &[Parameter], x: &[f64]) -> Result<Scenario> {
    let values: Vec<(&str, f64)> = ps
        .iter()
        .map(|p| p.path.as_str())
        .zip(x.iter().copied())
        .collect();
    crate::sweep::set_paths(s, &values)
}

/// Runs a candidate scenario `R` times over the window and scores it against the targets.
pub fn evaluate(candidate: &Scenario, targets: &[Target], st: &Settings) -> Result<Fit> {
    let mut s = st.sized(candidate);
    s.end = st.window_end.min(s.end);
    // Events after the window cannot affect it (event draws are keyed by the event itself).
    s.events.retain(|e| e.at <= s.end);
    let plan = st.plan(st.replicates);
    // Replicates in parallel (or over MPI ranks); NaN travels as `None` between ranks.
    let runs: Vec<Vec<Option<f64>>> = crate::dist::map_all(st.replicates, |r| {
        let reports = run_reports(plan.replicate(&s, r), r)?;
        Ok(targets
            .iter()
            .map(|t| Some(simulated(&reports, t)).filter(|v| v.is_finite()))
            .collect())
    })?;
    let mut simulated = vec![Moments::default(); targets.len()];
    for run in &runs {
        for (m, v) in simulated.iter_mut().zip(run) {
            m.add(v.unwrap_or(f64::NAN));
        }
    }
    let means: Vec<f64> = simulated.iter().map(|m| m.mean()).collect();
    Ok(Fit {
        objective: objective(targets, &means, st.users_weight, false),
        share_rmse: objective(targets, &means, st.users_weight, true),
        simulated,
    })
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
    check_parameters(ps, base)?;
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
    let out: Vec<Option<f64>> = crate::dist::map_all(items.len() as u64, |k| {
        Ok(Some(f(&items[k as usize])).filter(|v| v.is_finite()))
    })?;
    Ok(out
        .into_iter()
        .map(|v| v.unwrap_or(f64::INFINITY))
        .collect())
}

fn best_of(trace: &[Evaluation]) -> (usize, f64) {
    let mut b = (0, f64::INFINITY);
    for (k, e) in trace.iter().enumerate() {
        if e.objective < b.1 {
            b = (k, e.objective);
        }
    }
    b
}

/// Minimises `f` over the unit cube by Nelder–Mead (reflection 1, expansion 2, contraction ½,
/// shrink ½), points clamped to the cube, from `u0` with an initial step `step` per
/// coordinate, using at most `evals` evaluations. Deterministic.
pub fn nelder_mead<S>(
    u0: &[f64],
    step: f64,
    evals: usize,
    state: &mut S,
    f: &mut impl FnMut(&[f64], &mut S) -> f64,
) -> (Vec<f64>, f64) {
    let d = u0.len();
    let clamp = |u: Vec<f64>| -> Vec<f64> { u.into_iter().map(|v| v.clamp(0.0, 1.0)).collect() };
    let mut used = 0;
    let mut eval = |u: &[f64], used: &mut usize, state: &mut S| -> f64 {
        *used += 1;
        f(u, state)
    };
    if evals == 0 {
        return (u0.to_vec(), f64::INFINITY);
    }
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(d + 1);
    let v0 = eval(u0, &mut used, state);
    simplex.push((u0.to_vec(), v0));
    for k in 0..d {
        if used >= evals {
            break;
        }
        let mut u = u0.to_vec();
        // Step inwards when the start sits on the upper face.
        u[k] = if u[k] + step <= 1.0 {
            u[k] + step
        } else {
            u[k] - step
        };
        let v = eval(&u, &mut used, state);
        simplex.push((u, v));
    }
    while used < evals && simplex.len() == d + 1 {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let worst = simplex[d].clone();
        let centroid: Vec<f64> = (0..d)
            .map(|k| simplex[..d].iter().map(|p| p.0[k]).sum::<f64>() / d as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            clamp(
                (0..d)
                    .map(|k| centroid[k] + t * (worst.0[k] - centroid[k]))
                    .collect(),
            )
        };
        let r = along(-1.0);
        let fr = eval(&r, &mut used, state);
        if fr < simplex[0].1 {
            if used >= evals {
                simplex[d] = (r, fr);
                break;
            }
            let e = along(-2.0);
            let fe = eval(&e, &mut used, state);
            simplex[d] = if fe < fr { (e, fe) } else { (r, fr) };
        } else if fr < simplex[d - 1].1 {
            simplex[d] = (r, fr);
        } else {
            if used >= evals {
                break;
            }
            let c = if fr < worst.1 {
                along(-0.5)
            } else {
                along(0.5)
            };
            let fc = eval(&c, &mut used, state);
            if fc < worst.1.min(fr) {
                simplex[d] = (c, fc);
            } else {
                // Shrink towards the best point.
                let best = simplex[0].0.clone();
                for p in simplex.iter_mut().skip(1) {
                    if used >= evals {
                        break;
                    }
                    let u: Vec<f64> = (0..d).map(|k| best[k] + 0.5 * (p.0[k] - best[k])).collect();
                    let v = eval(&u, &mut used, state);
                    *p = (u, v);
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    simplex.swap_remove(0)
}

/// The local sensitivity of the objective to one parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Sensitivity {
    /// Parameter path.
    pub path: String,
    /// Calibrated value.
    pub value: f64,
    /// The values tried below and above (±10% of the value, or of the bounds' span when the
    /// value is 0; kept inside the bounds).
    pub tried: (f64, f64),
    /// Objective at the two values.
    pub objective: (f64, f64),
    /// Rise of the objective over the calibrated one, the larger of the two sides.
    pub rise: f64,
}

/// Moves each parameter ±10% from `x` (the others fixed) and reports how much the objective
/// rises. Evaluations run in parallel.
pub fn identification(
    base: &Scenario,
    ps: &[Parameter],
    x: &[f64],
    targets: &[Target],
    st: &Settings,
) -> Result<(f64, Vec<Sensitivity>)> {
    let at = score(base, ps, x, targets, st);
    let moves: Vec<(usize, f64)> = ps
        .iter()
        .enumerate()
        .flat_map(|(k, p)| {
            let h = if x[k] == 0.0 {
                0.1 * (p.hi - p.lo)
            } else {
                0.1 * x[k].abs()
            };
            [
                (k, (x[k] - h).clamp(p.lo, p.hi)),
                (k, (x[k] + h).clamp(p.lo, p.hi)),
            ]
        })
        .collect();
    let scores = scores(&moves, |&(k, v)| {
        let mut y = x.to_vec();
        y[k] = v;
        score(base, ps, &y, targets, st)
    })?;
    let out = ps
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let (a, b) = (scores[2 * k], scores[2 * k + 1]);
            Sensitivity {
                path: p.path.clone(),
                value: x[k],
                tried: (moves[2 * k].1, moves[2 * k + 1].1),
                objective: (a, b),
                rise: (a - at).max(b - at),
            }
        })
        .collect();
    Ok((at, out))
}

/// The parameters calibrated when no parameter file is given: for every third-party platform
/// (and any other a fitted target concerns), its innovation (0–0.05 a month), imitation weights (0–1 a month), initial
/// adopter share if launched by the start (0–0.5) and brand (±3; not for the first platform,
/// the reference of the logit) and its campaigns' multipliers (1–10); every merchant channel's
/// gross margin (0.05–0.5); and the shared primary-wallet, coverage, rescue and merchant-noise
/// parameters.
pub fn default_parameters(s: &Scenario, targets: &[Target]) -> Vec<Parameter> {
    let p = |path: String, lo: f64, hi: f64, why: &str| Parameter {
        path,
        lo,
        hi,
        why: why.to_string(),
    };
    let mut out = Vec::new();
    for (j, pl) in s.platforms.iter().enumerate() {
        // Every third-party platform's value moves the shares; others only if targeted.
        if !pl.third_party
            && !targets
                .iter()
                .any(|t| t.weight > 0.0 && t.platform == pl.id)
        {
            continue;
        }
        let id = &pl.id;
        out.push(p(
            format!("platform.{id}.innovation"),
            0.0,
            0.05,
            "Bass p per month",
        ));
        for net in pl.imitation.keys() {
            out.push(p(
                format!("platform.{id}.imitation.{net}"),
                0.0,
                1.0,
                "Bass q per month",
            ));
        }
        if pl.launch.is_none_or(|m| m <= s.start) {
            out.push(p(
                format!("platform.{id}.init_users"),
                0.0,
                0.5,
                "holders in 2012",
            ));
        }
        if j > 0 {
            out.push(p(
                format!("platform.{id}.brand"),
                -3.0,
                3.0,
                "logit utility",
            ));
        }
    }
    let fitted: Vec<String> = out
        .iter()
        .filter_map(|p| p.path.split('.').nth(1).map(String::from))
        .collect();
    for (k, e) in s.events.iter().enumerate() {
        if e.kind == "campaign" && e.platform.as_ref().is_some_and(|id| fitted.contains(id)) {
            out.push(p(format!("event[{k}].multiplier"), 1.0, 10.0, "campaign κ"));
        }
    }
    for ch in &s.channels {
        if ch.kind == crate::scenario::ChannelKind::Merchant && ch.shops > 0.0 {
            out.push(p(
                format!("channel.{}.margin", ch.id),
                0.05,
                0.5,
                "gross margin",
            ));
        }
    }
    for (name, lo, hi) in [
        ("loyalty", 0.0, 0.95),
        ("primary_review", 0.02, 0.5),
        ("balance_weight", 0.0, 5.0),
        ("social_weight", 0.0, 5.0),
        ("coverage_weight", 0.0, 0.3),
        ("rescue_weight", 0.0, 0.5),
        ("merchant_logit_scale", 0.002, 0.05),
    ] {
        out.push(p(format!("params.{name}"), lo, hi, "behavioural"));
    }
    out
}

/// Everything a calibration run needs, for [`run`].
pub struct Job {
    /// The scenario file.
    pub scenario_path: std::path::PathBuf,
    /// The directory of `market_shares.csv` and `user_counts.csv`.
    pub targets_dir: std::path::PathBuf,
    /// A parameter file, or `None` for [`default_parameters`].
    pub parameters: Option<std::path::PathBuf>,
    /// Search settings.
    pub settings: Settings,
    /// Replicates of the final fit table and of the forecast.
    pub report_replicates: u64,
    /// Output directory.
    pub out: std::path::PathBuf,
    /// Where to write the calibrated scenario (default `OUT/calibrated.toml`).
    pub write_scenario: Option<std::path::PathBuf>,
    /// The command that produced it, recorded in the calibrated scenario's header.
    pub command: String,
    /// Show a progress line on stderr (when it is a terminal).
    pub progress: bool,
    /// How the output set was made (command line, threads), recorded in its manifest; the
    /// job fills in the arguments and inputs that make it again ([`Job::rerun_args`]).
    pub provenance: Option<crate::output::Provenance>,
}

/// File name of a path, for names inside an output set.
fn file_name(p: &std::path::Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into())
}

impl Job {
    /// The name, inside the output set, of the copy of the scenario file.
    fn scenario_input(&self) -> String {
        format!("inputs/scenario/{}", file_name(&self.scenario_path))
    }

    /// The name of the copy of the parameter file, if one was given.
    fn parameters_input(&self) -> Option<String> {
        self.parameters
            .as_ref()
            .map(|p| format!("inputs/parameters/{}", file_name(p)))
    }

    /// The inputs the calibration reads, as `(name in the output set, text)`: verbatim copies
    /// of the scenario file, the targets and the parameter file, so that the set can be made
    /// again from its directory alone.
    pub fn inputs(&self) -> Result<Vec<(String, String)>> {
        let read = |p: &std::path::Path| {
            std::fs::read_to_string(p).map_err(|source| Error::Io {
                path: p.to_path_buf(),
                source,
            })
        };
        let mut out = vec![(self.scenario_input(), read(&self.scenario_path)?)];
        for name in ["market_shares.csv", "user_counts.csv"] {
            let p = self.targets_dir.join(name);
            if p.exists() {
                out.push((format!("inputs/targets/{name}"), read(&p)?));
            }
        }
        if let (Some(p), Some(name)) = (&self.parameters, self.parameters_input()) {
            out.push((name, read(p)?));
        }
        Ok(out)
    }

    /// The arguments of `paymarket calibrate` (after the program name, without `--out`) that
    /// run this job again on the copies of [`Job::inputs`].
    pub fn rerun_args(&self) -> Vec<String> {
        let st = &self.settings;
        let mut a: Vec<String> = vec![
            "calibrate".into(),
            self.scenario_input(),
            "--targets".into(),
            "inputs/targets".into(),
            "--budget".into(),
            st.budget.to_string(),
        ];
        if let Some(p) = self.parameters_input() {
            a.extend(["--params".into(), p]);
        }
        for (flag, v) in [
            ("--seed", st.seed.to_string()),
            ("--replicates", st.replicates.to_string()),
            ("--report-replicates", self.report_replicates.to_string()),
            ("--window-end", st.window_end.to_string()),
            ("--users-weight", format!("{}", st.users_weight)),
            ("--users", st.users.to_string()),
            ("--merchants", st.merchants.to_string()),
        ] {
            a.extend([flag.to_string(), v]);
        }
        a
    }
}

/// What [`run`] found.
pub struct Report {
    /// The targets.
    pub targets: Vec<Target>,
    /// The parameters calibrated.
    pub parameters: Vec<Parameter>,
    /// The search.
    pub calibration: Calibration,
    /// The objective of the scenario as it was (first point of the search).
    pub start_objective: f64,
    /// The calibrated scenario's fit with `report_replicates` replicates.
    pub fit: Fit,
    /// The identification report: the objective at the calibrated point and per parameter.
    pub identification: (f64, Vec<Sensitivity>),
    /// The calibrated scenario over its whole horizon, `report_replicates` replicates.
    pub forecast: crate::experiment::Summary,
    /// Where the calibrated scenario was written.
    pub scenario_file: std::path::PathBuf,
    /// Files written into the output directory.
    pub files: Vec<String>,
}

/// Calibrates a scenario file end to end: reads the targets and parameters, searches, measures
/// the fit and the identification with more replicates, runs the calibrated scenario over its
/// whole horizon (the forecast past the window), and writes `fit.csv`, `identification.csv`,
/// `trace.csv`, the forecast's `summary_*.csv`, `fit.svg` (with the `charts` feature) and the
/// calibrated scenario: the original file with the calibrated numbers rewritten in place and a
/// header recording the command, seed and budget.
pub fn run(job: &Job) -> Result<Report> {
    let text = std::fs::read_to_string(&job.scenario_path).map_err(|source| Error::Io {
        path: job.scenario_path.clone(),
        source,
    })?;
    let origin = job.scenario_path.display().to_string();
    let base = Scenario::from_toml_str(&text, &origin)?;
    base.validate_as(&origin)?;
    let st = &job.settings;
    if st.window_end > base.end || st.window_end < base.start {
        return Err(Error::Config(format!(
            "the calibration window ends {}, outside {} ({} to {})",
            st.window_end, origin, base.start, base.end
        )));
    }
    let targets = load_targets(&job.targets_dir, &base, st.window_end)?;
    let ps = match &job.parameters {
        Some(p) => load_parameters(p, &base)?,
        None => default_parameters(&base, &targets),
    };
    let mut bar = crate::experiment::Progress::new(st.budget as u64, job.progress);
    let calibration = calibrate(&base, &ps, &targets, st, |_, _, _| bar.advance(1))?;
    let start_objective = calibration.trace[0].objective;
    let mut calibrated = apply(&base, &ps, &calibration.best)?;
    // A name of its own, so that its rows are never taken for the original's.
    calibrated.name = format!("{}_calibrated", base.name);
    let report = Settings {
        replicates: job.report_replicates.max(2),
        ..st.clone()
    };
    let fit = evaluate(&calibrated, &targets, &report)?;
    let identification = identification(&base, &ps, &calibration.best, &targets, st)?;
    let forecast =
        crate::experiment::ensemble(&st.sized(&calibrated), &st.plan(report.replicates), &mut [])?;

    let scenario_file = job
        .write_scenario
        .clone()
        .unwrap_or_else(|| job.out.join("calibrated.toml"));
    let mut files = Vec::new();
    // Under MPI only rank 0 writes.
    if crate::dist::is_root() {
        let identity = crate::output::Identity {
            command: "calibrate".into(),
            scenarios: vec![crate::output::ScenarioId::of(&base)],
            seed: st.seed,
            panel: None,
        };
        let provenance = job
            .provenance
            .clone()
            .map(|p| crate::output::Provenance {
                rerun: job.rerun_args(),
                ..p
            })
            .unwrap_or_else(|| crate::output::Provenance {
                command: vec![job.command.clone()],
                seed: st.seed,
                threads: rayon::current_num_threads(),
                rerun: job.rerun_args(),
                inputs: vec![],
            });
        let set = crate::output::OutputSet::begin(&job.out, &identity, provenance, &job.inputs()?)?;
        let mut w = StagedCsv::open(
            &job.out,
            "fit.csv",
            &[
                "period",
                "publisher",
                "series",
                "observed",
                "mean",
                "sd",
                "ci_low",
                "ci_high",
                "error",
                "platform",
                "measure",
                "weight",
            ],
        )?;
        for (t, m) in targets.iter().zip(&fit.simulated) {
            let (lo, hi) = m.ci95();
            w.write([
                t.period.clone(),
                t.publisher.clone(),
                t.series.clone(),
                num(t.value),
                num(m.mean()),
                num(m.sd()),
                num(lo),
                num(hi),
                num(error(t, m.mean())),
                t.platform.clone(),
                t.measure.name().to_string(),
                num(t.weight),
            ])?;
        }
        w.commit()?;
        files.push(w.name());

        let mut w = StagedCsv::open(
            &job.out,
            "identification.csv",
            &[
                "parameter",
                "value",
                "lo",
                "hi",
                "value_minus",
                "value_plus",
                "objective",
                "objective_minus",
                "objective_plus",
                "rise",
            ],
        )?;
        for (s, p) in identification.1.iter().zip(&ps) {
            w.write([
                s.path.clone(),
                num(s.value),
                num(p.lo),
                num(p.hi),
                num(s.tried.0),
                num(s.tried.1),
                num(identification.0),
                num(s.objective.0),
                num(s.objective.1),
                num(s.rise),
            ])?;
        }
        w.commit()?;
        files.push(w.name());

        let mut header = vec!["evaluation".to_string(), "stage".into(), "objective".into()];
        header.extend(ps.iter().map(|p| p.path.clone()));
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut w = StagedCsv::open(&job.out, "trace.csv", &header)?;
        for (k, ev) in calibration.trace.iter().enumerate() {
            let mut row = vec![k.to_string(), ev.stage.to_string(), num(ev.objective)];
            row.extend(ev.x.iter().map(|v| num(*v)));
            w.write(&row)?;
        }
        w.commit()?;
        files.push(w.name());

        let mut sw = crate::experiment::SummaryWriter::create(&job.out, &[])?;
        sw.write(&forecast, &[])?;
        files.extend(sw.finish()?);
        #[cfg(feature = "charts")]
        {
            crate::chart::fit_chart(&job.out.join("fit.svg"), &forecast, &targets, st.window_end)?;
            files.push("fit.svg".to_string());
        }

        let fitted = targets.iter().filter(|t| t.weight > 0.0).count();
        let header = [
            format!(
                "# Calibrated by paymarket {} from {}. Regenerate with:",
                env!("CARGO_PKG_VERSION"),
                file_name(&job.scenario_path)
            ),
            format!("#   {}", job.command),
            format!(
                "# Seed {}, budget {} evaluations ({} replicates of {} users and {} merchants per candidate),",
                st.seed, st.budget, st.replicates, st.users, st.merchants
            ),
            format!(
                "# window {} to {}: {fitted} of {} targets fitted; {} free parameters.",
                base.start,
                st.window_end,
                targets.len(),
                ps.len()
            ),
            format!(
                "# Objective (weighted RMSE, {} replicates): {:.3} (start {:.3}); value shares alone: {:.3} points.",
                report.replicates, fit.objective, start_objective, fit.share_rmse
            ),
            "# Calibrated numbers are marked \"calibrated, was ...\" below.".to_string(),
        ]
        .join("\n")
            + "\n\n";
        let values: Vec<(String, f64)> = ps
            .iter()
            .zip(&calibration.best)
            .map(|(p, v)| (p.path.clone(), *v))
            .collect();
        let mut patched = crate::sweep::patch_toml(&text, &values, "calibrated")?;
        patched = crate::sweep::patch_name(&patched, &calibrated.name)?;
        patched.insert_str(0, &header);
        // The file must read back as the calibrated scenario.
        let back = Scenario::from_toml_str(&patched, "the calibrated scenario")?;
        if back != calibrated {
            return Err(Error::Config(
                "the rewritten scenario does not read back as the calibrated one: a bug".into(),
            ));
        }
        crate::output::write_atomic(&scenario_file, patched.as_bytes())?;
        if scenario_file.parent() == Some(job.out.as_path()) {
            if let Some(name) = scenario_file.file_name() {
                files.push(name.to_string_lossy().into_owned());
            }
        }
        let mut set = set;
        set.add(files.iter().cloned());
        set.finish()?;
    }
    Ok(Report {
        targets,
        parameters: ps,
        calibration,
        start_objective,
        fit,
        identification,
        forecast,
        scenario_file,
        files,
    })
}

impl Report {
    /// A plain-text account: the fit, the identification, the forecast each December.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let fitted = self.targets.iter().filter(|t| t.weight > 0.0).count();
        let _ = writeln!(
            o,
            "Objective (weighted RMSE): {:.3} (the scenario as written: {:.3}); value shares \
             alone: {:.2} percentage points; {} free parameters, {fitted} fitted data points \
             ({} evaluations).\n",
            self.fit.objective,
            self.start_objective,
            self.fit.share_rmse,
            self.parameters.len(),
            self.calibration.trace.len()
        );
        let _ = writeln!(
            o,
            "{:<8} {:<12} {:<34} {:>9} {:>9} {:>17} {:>8} {:>6}",
            "period", "publisher", "series", "observed", "simulated", "95% CI", "error", "weight"
        );
        for (t, m) in self.targets.iter().zip(&self.fit.simulated) {
            let (lo, hi) = m.ci95();
            let _ = writeln!(
                o,
                "{:<8} {:<12} {:<34} {:>9.2} {:>9.2} {:>17} {:>8.2} {:>6}",
                t.period,
                t.publisher,
                format!("{} ({})", t.series, t.measure.name()),
                t.value,
                m.mean(),
                format!("[{lo:.2}, {hi:.2}]"),
                error(t, m.mean()),
                t.weight
            );
        }
        let _ = writeln!(
            o,
            "\nIdentification: the objective ({:.3}) when each parameter moves ±10%:",
            self.identification.0
        );
        let mut ids = self.identification.1.clone();
        ids.sort_by(|a, b| b.rise.total_cmp(&a.rise));
        for s in &ids {
            let _ = writeln!(
                o,
                "  {:<40} {:>10.4}   {:>8.3} / {:>8.3}   rise {:+.3}",
                s.path, s.value, s.objective.0, s.objective.1, s.rise
            );
        }
        let f = &self.forecast;
        let _ = writeln!(
            o,
            "\nValue share (%) each December, mean and 95% CI over {} replicates (after {}: \
             forecast, not fitted):",
            f.get(0, "market", "", "", "spend")
                .map(|m| m.n())
                .unwrap_or(0),
            self.targets
                .iter()
                .filter(|t| t.weight > 0.0)
                .map(|t| t.months.1)
                .max()
                .map(|m| m.to_string())
                .unwrap_or_default()
        );
        let ids: Vec<String> = f
            .cells()
            .iter()
            .filter(|c| c.table == "platforms" && c.metric == "value_share")
            .map(|c| c.key1.clone())
            .collect();
        for (t, m) in f.months().iter().enumerate() {
            if m.month_of_year() != 12 {
                continue;
            }
            let _ = write!(o, "  {}", m.year());
            for id in &ids {
                if let Some(v) = f.get(t, "platforms", id, "", "value_share") {
                    if v.n() > 0 {
                        let (lo, hi) = v.ci95();
                        let _ = write!(
                            o,
                            "   {id} {:.1} [{:.1}, {:.1}]",
                            100.0 * v.mean(),
                            100.0 * lo,
                            100.0 * hi
                        );
                    }
                }
            }
            let _ = writeln!(o);
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let s = Scenario::load("data/scenarios/china_2012_2021.toml").unwrap();
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
        let s = Scenario::load("data/scenarios/china_2012_2021.toml").unwrap();
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
}
