//! The observed figures a calibration fits: typed [`Target`]s read from `data/observed/`, with
//! the rule that maps each row to a simulated measure.
//!
//! Owns: `Measure`, `Target`, `period_months`, `load_targets`. Reads: the target CSV files and
//! the scenario's platform ids. Never: runs, the search, output files.

use crate::error::{Error, Result};
use crate::month::Month;
use crate::scenario::Scenario;
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
    /// People who used the wallet in the last 12 months (one dropped within them counted), in
    /// millions.
    AnnualUsers,
    /// People holding at least one wallet, in millions.
    Adopters,
    /// People holding the wallet, in millions.
    Holders,
    /// `100 ×` the share of the holders of any wallet whose default in the target's context
    /// ([`Target::context`]) is the platform.
    DefaultShare,
}

impl Measure {
    /// The name written in `fit.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Share => "value_share_pct",
            Measure::ShareWithoutP2p => "value_share_without_p2p_pct",
            Measure::ActiveUsers => "active_users_millions",
            Measure::AnnualUsers => "annual_users_millions",
            Measure::Adopters => "adopters_millions",
            Measure::Holders => "holders_millions",
            Measure::DefaultShare => "default_share_pct",
        }
    }

    /// Whether the target is a percentage (its error in points) rather than a count (its error
    /// in log points).
    pub(crate) fn is_share(self) -> bool {
        matches!(
            self,
            Measure::Share | Measure::ShareWithoutP2p | Measure::DefaultShare
        )
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
    /// A lower bound ("more than …"): it adds to the distance only when the simulation is
    /// below it.
    pub at_least: bool,
    /// The context of a [`Measure::DefaultShare`] target (empty otherwise).
    pub context: String,
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

pub(crate) fn confidence_weight(c: &str) -> f64 {
    match c {
        "high" | "medium" => 1.0,
        "low" => 0.5,
        _ => 0.0,
    }
}

#[derive(Deserialize)]
pub(crate) struct ShareRow {
    period: String,
    publisher: String,
    platform: String,
    value_share_pct: f64,
    confidence: String,
}

#[derive(Deserialize)]
pub(crate) struct UserRow {
    series: String,
    period: String,
    value: f64,
    unit: String,
    confidence: String,
}

pub(crate) fn read_rows<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut r = csv::Reader::from_reader(std::io::BufReader::new(file));
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

pub(crate) fn bad_period(path: &Path, row: usize, p: &str) -> Error {
    Error::Config(format!(
        "{}: data row {row}: period {p:?} is not YYYY, YYYYQn, YYYY-MM or YYYY-MM-DD",
        path.display()
    ))
}

/// Reads the targets in `dir` for `scenario`. A scenario that declares contexts is read by the
/// v2 mapping of docs/CALIBRATION.md ([`load_targets_v2`]); one without, by the v1 rules of
/// `data/observed/README.md` ([`load_targets_v1`]). Rows after `window_end` get weight 0: they
/// are reported, never fitted.
pub fn load_targets(dir: &Path, scenario: &Scenario, window_end: Month) -> Result<Vec<Target>> {
    if scenario.contexts.is_empty() {
        load_targets_v1(dir, scenario, window_end)
    } else {
        load_targets_v2(dir, scenario, window_end)
    }
}

/// Reads `market_shares.csv` and `user_counts.csv` from `dir` by the v1 rules (the one-primary
/// model's: every wallet count against monthly users; see `data/observed/README.md`).
pub fn load_targets_v1(dir: &Path, scenario: &Scenario, window_end: Month) -> Result<Vec<Target>> {
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
            at_least: false,
            context: String::new(),
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
            at_least: false,
            context: String::new(),
        });
    }
    Ok(out)
}

/// How the v2 mapping (docs/CALIBRATION.md) reads one published series: the measure, whether
/// it is a lower bound, the factor on its confidence weight ("low weight": a half), and for a
/// count dated by a year, that it is a stock compared with the year's December.
struct Rule {
    series: &'static str,
    period: &'static str,
    platform: &'static str,
    measure: Measure,
    at_least: bool,
    factor: f64,
    context: &'static str,
}

/// A row of [`V2_RULES`]: series, period (empty: every period), platform, measure, whether a
/// lower bound, weight factor, context.
const fn rule(
    series: &'static str,
    period: &'static str,
    platform: &'static str,
    measure: Measure,
    at_least: bool,
    factor: f64,
    context: &'static str,
) -> Rule {
    Rule {
        series,
        period,
        platform,
        measure,
        at_least,
        factor,
        context,
    }
}

/// The v2 mapping, fixed before any fit (docs/CALIBRATION.md, "How each series maps").
#[rustfmt::skip]
const V2_RULES: &[Rule] = &[
    rule("alipay.mobile_payment_users", "2013", "alipay", Measure::AnnualUsers, true, 1.0, ""),
    rule("alipay.wallet_annual_active_users", "2014-10-16", "alipay", Measure::AnnualUsers, false, 1.0, ""),
    rule("alipay.active_users", "2016", "alipay", Measure::AnnualUsers, true, 1.0, ""),
    rule("wechatpay.users_bound_cards_after_cny", "2014-02", "tenpay", Measure::Holders, true, 0.5, ""),
    rule("wechatpay.users", "2015-02", "tenpay", Measure::Holders, true, 1.0, ""),
    rule("wechatpay.users", "2016-06", "tenpay", Measure::Holders, false, 0.5, ""),
    rule("cnnic.mobile_payment_users", "", "", Measure::Adopters, false, 1.0, ""),
    rule("iresearch.mobile_3p_share_econ_benefit.alipay", "2016Q4", "alipay", Measure::ShareWithoutP2p, false, 1.0, ""),
    rule("iresearch.mobile_3p_share_econ_benefit.tenpay", "2016Q4", "tenpay", Measure::ShareWithoutP2p, false, 1.0, ""),
    rule("tencent.monthly_active_payment_accounts", "2016-12", "tenpay", Measure::ActiveUsers, true, 1.0, ""),
    rule("ipsos.value_share_c_side.alipay", "2015", "alipay", Measure::Share, false, 0.5, ""),
    rule("walkthechat.p2p_transfer_use.wechatpay", "2016", "tenpay", Measure::DefaultShare, false, 0.5, "social"),
    rule("walkthechat.p2p_transfer_use.alipay", "2016", "alipay", Measure::DefaultShare, false, 0.5, "social"),
];

#[derive(Deserialize)]
struct SeriesRow {
    series: String,
    period: String,
    value: Option<f64>,
    confidence: String,
}

/// Reads the targets of the v2 mapping (docs/CALIBRATION.md) from `dir`: `market_shares.csv`
/// by the v1 share rule, and the rows of `user_counts.csv` and `context_figures.csv` that the
/// mapping names, each with its measure, bound and weight. A count dated by a year is a stock
/// compared with that year's December; a share is the mean over its period's months. A row the
/// mapping does not name is left out; a named row whose platform or context the scenario lacks
/// is reported with weight 0.
pub fn load_targets_v2(dir: &Path, scenario: &Scenario, window_end: Month) -> Result<Vec<Target>> {
    let mut out: Vec<Target> = load_targets_v1(dir, scenario, window_end)?
        .into_iter()
        .filter(|t| t.measure.is_share())
        .collect();
    let ids = scenario.platform_ids();
    let contexts = scenario.context_ids();
    for file in ["user_counts.csv", "context_figures.csv"] {
        let path = dir.join(file);
        if file == "context_figures.csv" && !path.exists() {
            continue;
        }
        for (k, r) in read_rows::<SeriesRow>(&path)?.into_iter().enumerate() {
            let Some(rule) = V2_RULES
                .iter()
                .find(|x| x.series == r.series && (x.period.is_empty() || x.period == r.period))
            else {
                continue;
            };
            let Some(value) = r.value else {
                continue;
            };
            let mut months =
                period_months(&r.period).ok_or_else(|| bad_period(&path, k + 1, &r.period))?;
            if !rule.measure.is_share() {
                months.0 = months.1;
            }
            let known = (rule.platform.is_empty() || ids.contains(&rule.platform))
                && (rule.context.is_empty() || contexts.contains(&rule.context));
            let mut weight = confidence_weight(&r.confidence) * rule.factor;
            if months.1 > window_end || !known {
                weight = 0.0;
            }
            out.push(Target {
                series: r.series,
                platform: rule.platform.to_string(),
                publisher: rule.series.split('.').next().unwrap_or("").to_string(),
                period: r.period,
                months,
                value,
                weight,
                measure: rule.measure,
                at_least: rule.at_least,
                context: rule.context.to_string(),
            });
        }
    }
    Ok(out)
}
