//! Platforms' strategies (MODEL.md step 7): how a platform sets its user subsidy from next month.
//!
//! A [`PlatformStrategy`] sees the month just recorded and returns the subsidies it wants in
//! force next month; an event for the same platform and channel overrides it for the event's
//! window. [`Scripted`] never changes anything (prices move only through events); [`DefendShare`]
//! raises the subsidy when the platform's value share fell over the last quarter.
//! Bookkeeping (value, fees, subsidy cost) is done by the step and reported in
//! [`crate::record::PlatformRow`].
//!
//! Owns: `PlatformStrategy`, `Scripted`, `DefendShare`, building them from the scenario. Reads:
//! months, a strategy's view, the scenario's strategy specs. Never: agents, output.

use crate::month::Month;
use crate::scenario::{Scenario, StrategySpec};

/// What a strategy sees after month `month` has been recorded.
#[derive(Debug, Clone)]
pub struct StrategyView<'a> {
    /// The month just recorded.
    pub month: Month,
    /// The platform's value share in every month so far (0 when no third-party value).
    pub share_history: &'a [f64],
    /// The platform's value per channel this month, RMB.
    pub value: &'a [f64],
    /// The subsidy per channel outside event windows, in force this month.
    pub subsidy: &'a [f64],
    /// Channels where the platform is usable this month.
    pub usable: &'a [bool],
}

/// A platform's pricing rule. One required method; return `None` to leave the subsidies as
/// they are.
///
/// ```
/// use paymarket::platforms::{PlatformStrategy, StrategyView};
/// /// Doubles the subsidy every January, up to 5%.
/// struct NewYear;
/// impl PlatformStrategy for NewYear {
///     fn decide(&mut self, v: &StrategyView) -> Option<Vec<f64>> {
///         (v.month.month_of_year() == 12)
///             .then(|| v.subsidy.iter().map(|s| (2.0 * s).min(0.05)).collect())
///     }
/// }
/// ```
pub trait PlatformStrategy: Send {
    /// The subsidy per channel for next month, or `None` for no change.
    fn decide(&mut self, view: &StrategyView) -> Option<Vec<f64>>;
}

/// Prices change only through events.
#[derive(Debug, Clone, Default)]
pub struct Scripted;

impl PlatformStrategy for Scripted {
    fn decide(&mut self, _: &StrategyView) -> Option<Vec<f64>> {
        None
    }
}

/// Defend the value share with user subsidies: from `start`, when the share fell by more than
/// `threshold` over the last three months, raise the subsidy by `step` (up to `cap`) in the
/// chosen channels; when the share did not fall, lower it by `step` back towards the floor
/// (the scenario's own subsidy). Spending is capped at `budget` RMB a month, estimated on this
/// month's value.
#[derive(Debug, Clone)]
pub struct DefendShare {
    /// First month it acts.
    pub start: Month,
    /// Fall in share over a quarter that triggers a raise.
    pub threshold: f64,
    /// Change per month.
    pub step: f64,
    /// Highest subsidy.
    pub cap: f64,
    /// RMB a month.
    pub budget: f64,
    /// Channels it subsidises (`true` per channel).
    pub channels: Vec<bool>,
    /// The scenario's subsidy per channel (the floor).
    pub floor: Vec<f64>,
}

impl PlatformStrategy for DefendShare {
    fn decide(&mut self, v: &StrategyView) -> Option<Vec<f64>> {
        if v.month < self.start || v.share_history.len() < 4 {
            return None;
        }
        let n = v.share_history.len();
        let fall = v.share_history[n - 4] - v.share_history[n - 1];
        let mut next: Vec<f64> = v.subsidy.to_vec();
        for c in 0..next.len() {
            if !self.channels[c] || !v.usable[c] {
                continue;
            }
            next[c] = if fall > self.threshold {
                (next[c] + self.step).min(self.cap)
            } else {
                (next[c] - self.step).max(self.floor[c])
            };
        }
        let cost: f64 = next.iter().zip(v.value).map(|(s, val)| s * val).sum();
        if cost > self.budget && cost > 0.0 {
            let scale = self.budget / cost;
            for s in &mut next {
                *s *= scale;
            }
        }
        Some(next)
    }
}

/// The built-in strategy of each platform, as its scenario declares it.
pub(crate) fn from_spec(scenario: &Scenario) -> Vec<Box<dyn PlatformStrategy>> {
    let channel_ids = scenario.channel_ids();
    scenario
        .platforms
        .iter()
        .map(|pl| -> Box<dyn PlatformStrategy> {
            match &pl.strategy {
                None | Some(StrategySpec::Scripted) => Box::new(Scripted),
                Some(StrategySpec::DefendShare {
                    start,
                    threshold,
                    step,
                    cap,
                    budget,
                    channels,
                }) => Box::new(DefendShare {
                    start: *start,
                    threshold: *threshold,
                    step: *step,
                    cap: *cap,
                    budget: *budget,
                    channels: channel_ids
                        .iter()
                        .map(|id| channels.is_empty() || channels.iter().any(|c| c == id))
                        .collect(),
                    floor: channel_ids
                        .iter()
                        .map(|id| pl.subsidy.get(*id).copied().unwrap_or(0.0))
                        .collect(),
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(
        month: &str,
        hist: &'a [f64],
        value: &'a [f64],
        sub: &'a [f64],
        usable: &'a [bool],
    ) -> StrategyView<'a> {
        StrategyView {
            month: month.parse().unwrap(),
            share_history: hist,
            value,
            subsidy: sub,
            usable,
        }
    }

    #[test]
    fn defend_share_raises_when_share_falls_and_respects_cap_and_budget() {
        let mut s = DefendShare {
            start: "2017-01".parse().unwrap(),
            threshold: 0.02,
            step: 0.005,
            cap: 0.008,
            budget: 1e9,
            channels: vec![true, false],
            floor: vec![0.0, 0.0],
        };
        let usable = [true, true];
        // Share 0.60 -> 0.55: fell 0.05 > 0.02.
        let hist = [0.6, 0.59, 0.57, 0.55];
        let out = s
            .decide(&view("2017-02", &hist, &[1e10, 1e10], &[0.0, 0.0], &usable))
            .unwrap();
        assert_eq!(out, vec![0.005, 0.0]);
        let out = s
            .decide(&view(
                "2017-03",
                &hist,
                &[1e10, 1e10],
                &[0.005, 0.0],
                &usable,
            ))
            .unwrap();
        assert_eq!(out, vec![0.008, 0.0], "capped");
        // Budget 1e9 on value 1e12 allows at most 0.001.
        let out = s
            .decide(&view(
                "2017-03",
                &hist,
                &[1e12, 0.0],
                &[0.005, 0.0],
                &usable,
            ))
            .unwrap();
        assert!((out[0] - 0.001).abs() < 1e-15);
        // Before the start: nothing.
        assert!(s
            .decide(&view("2016-12", &hist, &[1.0, 1.0], &[0.0, 0.0], &usable))
            .is_none());
        // Share stable: back towards the floor.
        let flat = [0.5, 0.5, 0.5, 0.5];
        let out = s
            .decide(&view("2017-04", &flat, &[1.0, 1.0], &[0.008, 0.0], &usable))
            .unwrap();
        assert!((out[0] - 0.003).abs() < 1e-15);
    }
}
