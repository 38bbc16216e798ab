//! Every scalar output column once (MODEL.md section 6): its name, how to read it from a row,
//! and the range its values must lie in. The CSV writer takes headers and values from here, the
//! replicate summaries their metrics, and the invariant checker its bounds, so a column is
//! never spelled twice.
//!
//! Owns: [`Column`], [`Bound`], [`PLATFORM`], [`MARKET`], [`DEFAULT`]. Reads: the report rows. Never:
//! files, the rules.
//!
//! ```
//! use paymarket::record::columns::{Bound, PLATFORM};
//! let share = PLATFORM.iter().find(|c| c.name == "value_share").unwrap();
//! assert_eq!(share.bound, Bound::Share);
//! ```

use super::{DefaultRow, MarketRow, PlatformRow};

/// The range a column's values must lie in, checked every month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// People: in `[0, population]`.
    People,
    /// Shops: in `[0, shops of all channels]`.
    Shops,
    /// A share: in `[0, 1]`.
    Share,
    /// Money and other flows: finite and not negative.
    NonNegative,
}

impl Bound {
    /// Whether `v` lies in the bound, with `population` people and `shops` shops (both with a
    /// relative slack of 10^-12 for rounding).
    pub fn holds(self, v: f64, population: f64, shops: f64) -> bool {
        let hi = match self {
            Bound::People => population * (1.0 + 1e-12),
            Bound::Shops => shops * (1.0 + 1e-12),
            Bound::Share => 1.0 + 1e-12,
            Bound::NonNegative => f64::INFINITY,
        };
        v.is_finite() && v >= 0.0 && v <= hi
    }

    /// The bound as a message writes it.
    pub fn describe(self, population: f64, shops: f64) -> String {
        match self {
            Bound::People => format!(", outside [0, population {population}]"),
            Bound::Shops => format!(", outside [0, {shops}]"),
            Bound::Share => ", outside [0, 1]".to_string(),
            Bound::NonNegative => String::new(),
        }
    }
}

/// One scalar column of a report row of type `R`.
pub struct Column<R> {
    /// The CSV header and the metric name of the summaries.
    pub name: &'static str,
    /// Its value in a row; `None` writes an empty cell (a value that does not exist).
    pub get: fn(&R) -> Option<f64>,
    /// What its values must lie in.
    pub bound: Bound,
}

const fn col<R>(name: &'static str, get: fn(&R) -> Option<f64>, bound: Bound) -> Column<R> {
    Column { name, get, bound }
}

/// The columns of `platforms.csv` after `run, scenario, month, platform`, in order.
pub const PLATFORM: &[Column<PlatformRow>] = &[
    col("users", |p| Some(p.users), Bound::People),
    col("active_users", |p| Some(p.active_users), Bound::People),
    col("annual_users", |p| Some(p.annual_users), Bound::People),
    col("primary_users", |p| Some(p.primary_users), Bound::People),
    col("merchants", |p| Some(p.merchants), Bound::Shops),
    col("value", |p| Some(p.value()), Bound::NonNegative),
    col(
        "merchant_value",
        |p| Some(p.merchant_value),
        Bound::NonNegative,
    ),
    col("p2p_value", |p| Some(p.p2p_value), Bound::NonNegative),
    col("own_value", |p| Some(p.own_value), Bound::NonNegative),
    col("value_share", |p| p.value_share, Bound::Share),
    col("fee_revenue", |p| Some(p.fee_revenue), Bound::NonNegative),
    col("subsidy_cost", |p| Some(p.subsidy_cost), Bound::NonNegative),
];

/// The columns of `market.csv` after `run, scenario, month`, in order.
pub const MARKET: &[Column<MarketRow>] = &[
    col("spend", |m| Some(m.spend), Bound::NonNegative),
    col(
        "platform_value",
        |m| Some(m.platform_value),
        Bound::NonNegative,
    ),
    col("cash_value", |m| Some(m.cash_value), Bound::NonNegative),
    col("lost_value", |m| Some(m.lost_value), Bound::NonNegative),
    col("hhi", |m| Some(m.hhi), Bound::NonNegative),
    col(
        "multihoming_users",
        |m| Some(m.multihoming_users),
        Bound::Share,
    ),
    col(
        "multihoming_merchants",
        |m| Some(m.multihoming_merchants),
        Bound::Share,
    ),
    col("adopters", |m| Some(m.adopters), Bound::People),
];

/// The columns of `defaults.csv` after `run, scenario, month, context, platform`, in order.
pub const DEFAULT: &[Column<DefaultRow>] = &[
    col("default_users", |d| Some(d.default_users), Bound::People),
    col("value", |d| d.value, Bound::NonNegative),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_hold_inside_and_fail_outside() {
        assert!(Bound::People.holds(1e6, 1e6, 10.0));
        assert!(!Bound::People.holds(2e6, 1e6, 10.0));
        assert!(!Bound::Shops.holds(11.0, 1e6, 10.0));
        assert!(Bound::Share.holds(1.0, 1e6, 10.0));
        assert!(!Bound::Share.holds(1.5, 1e6, 10.0));
        assert!(!Bound::NonNegative.holds(-1.0, 1e6, 10.0));
        assert!(!Bound::NonNegative.holds(f64::NAN, 1e6, 10.0));
        assert!(Bound::NonNegative.holds(1e300, 1e6, 10.0));
    }
}
