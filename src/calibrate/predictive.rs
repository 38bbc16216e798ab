//! Predictive bands: runs drawn over a parameter sample (prior or posterior), each target's
//! and each quantity's mean and 95% band over them, and which way the market goes.
//!
//! Owns: `Band`, `Quantity`, `Predictive`, `probabilities`. Reads: month reports, targets.
//! Never: the sampler, files.

use super::{simulated, Target};
use crate::month::Month;
use crate::record::MonthReport;

/// A band over predictive runs: mean, 2.5% and 97.5% quantiles, runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    /// Mean.
    pub mean: f64,
    /// 2.5% quantile.
    pub lo: f64,
    /// Median.
    pub median: f64,
    /// 97.5% quantile.
    pub hi: f64,
    /// Runs with a value.
    pub n: usize,
}

impl Band {
    /// The band of `values` (non-finite ones left out; quantiles by linear interpolation).
    pub fn of(values: &[f64]) -> Band {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n == 0 {
            return Band {
                mean: f64::NAN,
                lo: f64::NAN,
                median: f64::NAN,
                hi: f64::NAN,
                n,
            };
        }
        let q = |p: f64| {
            let x = p * (n - 1) as f64;
            let (i, f) = (x.floor() as usize, x - x.floor());
            v[i] + (v[(i + 1).min(n - 1)] - v[i]) * f
        };
        Band {
            mean: v.iter().sum::<f64>() / n as f64,
            lo: q(0.025),
            median: q(0.5),
            hi: q(0.975),
            n,
        }
    }
}

/// One predictive quantity: a month, a table (`platforms`, `defaults`), its keys and metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    /// The month.
    pub month: Month,
    /// `platforms` or `defaults`.
    pub table: &'static str,
    /// Platform (platforms) or context (defaults).
    pub key1: String,
    /// Platform (defaults) or empty.
    pub key2: String,
    /// `value_share`, `users` (holders) or `default_share` (of the holders of any wallet).
    pub metric: &'static str,
}

/// Prior and posterior predictive runs, by run.
#[derive(Debug, Clone, Default)]
pub struct Predictive {
    /// Each run's reports.
    pub runs: Vec<Vec<MonthReport>>,
}

impl Predictive {
    /// The runs of an ensemble's reports (as a [`Collect`](crate::record::Collect) recorder gathers them).
    pub fn new(reports: Vec<MonthReport>) -> Predictive {
        let mut runs: Vec<Vec<MonthReport>> = Vec::new();
        for r in reports {
            let k = r.run as usize;
            if runs.len() <= k {
                runs.resize(k + 1, Vec::new());
            }
            runs[k].push(r);
        }
        Predictive { runs }
    }

    /// The band of target `t` over the runs.
    pub fn target(&self, t: &Target) -> Band {
        Band::of(
            &self
                .runs
                .iter()
                .map(|r| simulated(r, t))
                .collect::<Vec<_>>(),
        )
    }

    /// The band of a quantity over the runs.
    pub fn quantity(&self, q: &Quantity) -> Band {
        Band::of(
            &self
                .runs
                .iter()
                .map(|run| value_of(run, q))
                .collect::<Vec<_>>(),
        )
    }

    /// Every quantity the reports carry: each platform's value share and holders, and each
    /// context's default shares, every month.
    pub fn quantities(&self) -> Vec<Quantity> {
        let Some(run) = self.runs.first() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for r in run {
            for p in &r.platforms {
                if p.value_share.is_some() {
                    out.push(Quantity {
                        month: r.month,
                        table: "platforms",
                        key1: p.platform.clone(),
                        key2: String::new(),
                        metric: "value_share",
                    });
                }
                out.push(Quantity {
                    month: r.month,
                    table: "platforms",
                    key1: p.platform.clone(),
                    key2: String::new(),
                    metric: "users",
                });
            }
            for d in r.defaults.iter().filter(|d| d.platform != "none") {
                out.push(Quantity {
                    month: r.month,
                    table: "defaults",
                    key1: d.context.clone(),
                    key2: d.platform.clone(),
                    metric: "default_share",
                });
            }
        }
        out
    }
}

fn value_of(run: &[MonthReport], q: &Quantity) -> f64 {
    let Some(r) = run.iter().find(|r| r.month == q.month) else {
        return f64::NAN;
    };
    match q.table {
        "platforms" => r
            .platforms
            .iter()
            .find(|p| p.platform == q.key1)
            .and_then(|p| {
                if q.metric == "users" {
                    Some(p.users)
                } else {
                    p.value_share
                }
            })
            .unwrap_or(f64::NAN),
        _ => r
            .defaults
            .iter()
            .find(|d| d.context == q.key1 && d.platform == q.key2)
            .filter(|_| r.market.adopters > 0.0)
            .map_or(f64::NAN, |d| d.default_users / r.market.adopters),
    }
}

/// A platform's mean value share over the months `from..=to` of one run.
fn mean_share(run: &[MonthReport], platform: &str, from: Month, to: Month) -> f64 {
    let v: Vec<f64> = run
        .iter()
        .filter(|r| r.month >= from && r.month <= to)
        .filter_map(|r| r.platforms.iter().find(|p| p.platform == platform))
        .filter_map(|p| p.value_share)
        .collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Which way the market goes, over the posterior predictive runs: each statement with the
/// share of runs where it holds.
pub fn probabilities(p: &Predictive, a: &str, b: &str) -> Vec<(String, f64, usize)> {
    let m = |s: &str| s.parse::<Month>().expect("a literal month");
    let (q4a, q4b) = (m("2016-10"), m("2016-12"));
    let (q1a, q1b) = (m("2020-01"), m("2020-03"));
    /// Per run: the change of each share and both shares in 2020Q1.
    struct Move {
        d_a: f64,
        d_b: f64,
        a_later: f64,
        b_later: f64,
    }
    let mut moves = Vec::new();
    for run in &p.runs {
        let d_a = mean_share(run, a, q1a, q1b) - mean_share(run, a, q4a, q4b);
        let d_b = mean_share(run, b, q1a, q1b) - mean_share(run, b, q4a, q4b);
        if d_a.is_finite() && d_b.is_finite() {
            moves.push(Move {
                d_a,
                d_b,
                a_later: mean_share(run, a, q1a, q1b),
                b_later: mean_share(run, b, q1a, q1b),
            });
        }
    }
    let n = moves.len();
    let share = |f: &dyn Fn(&Move) -> bool| {
        if n == 0 {
            f64::NAN
        } else {
            moves.iter().filter(|x| f(x)).count() as f64 / n as f64
        }
    };
    vec![
        (
            format!("neither {a} nor {b} moves by more than 10 points of value share between 2016Q4 and 2020Q1"),
            share(&|x| x.d_a.abs() <= 0.1 && x.d_b.abs() <= 0.1),
            n,
        ),
        (
            format!("{a} gains more than 10 points between 2016Q4 and 2020Q1"),
            share(&|x| x.d_a > 0.1),
            n,
        ),
        (
            format!("{b} gains more than 10 points between 2016Q4 and 2020Q1"),
            share(&|x| x.d_b > 0.1),
            n,
        ),
        (
            format!("{a} has the larger value share in 2020Q1"),
            share(&|x| x.a_later > x.b_later),
            n,
        ),
    ]
}
