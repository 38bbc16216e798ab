//! An output of a sensitivity analysis: a metric of one of a run's tables at a month, or its
//! mean over a window, read from text such as `platforms.tenpay.value_share@2020-12` and
//! checked against the scenario.
//!
//! Owns: [`Output`]. Reads: the tables' columns, the month reports. Never: runs.

use crate::error::{Error, Result};
use crate::month::Month;
use crate::record::columns::{DEFAULT, MARKET, PLATFORM};
use crate::record::MonthReport;
use crate::scenario::Scenario;

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
