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
        }
    }

    pub(crate) fn is_share(self) -> bool {
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

pub(crate) fn bad_period(path: &Path, row: usize, p: &str) -> Error {
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
