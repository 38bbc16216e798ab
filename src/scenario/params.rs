//! The behavioural parameters shared by all agents (MODEL.md section 9), each with the model's
//! default; a scenario's `[params]` table overrides any of them.
//!
//! Owns: `Params`. Reads: nothing. Never: agents, the policy.

use serde::{Deserialize, Serialize};

macro_rules! params {
    ($( $(#[$doc:meta])* $name:ident : $ty:ty = $default:expr ),* $(,)?) => {
        /// Behavioural parameters shared by all agents (MODEL.md section 9). Every field has the
        /// model's default and can be overridden in the scenario's `[params]` table.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct Params {
            $( $(#[$doc])* pub $name: $ty, )*
        }
        impl Default for Params {
            fn default() -> Self {
                Params { $( $name: $default, )* }
            }
        }
        impl Params {
            /// The numeric fields as `(name, value)` pairs, for validation and reports.
            pub fn numeric_fields(&self) -> Vec<(&'static str, f64)> {
                vec![ $( (stringify!($name), self.$name as f64), )* ]
            }
        }
    };
}

params! {
    /// `K`: contacts sampled per user per month.
    contacts: u32 = 8,
    /// `ε`: share of contacts drawn from the whole population rather than the own community.
    long_range: f64 = 0.1,
    /// `B`: community size (users `i` with the same `⌊i/B⌋`).
    community_size: u32 = 150,
    /// `γ`: weight of coverage gains in the adoption hazard.
    coverage_weight: f64 = 0.05,
    /// `φ`: walled-garden rescue weight in the adoption hazard.
    rescue_weight: f64 = 0.1,
    /// `δ`: subsidy weight in the adoption hazard.
    subsidy_weight: f64 = 0.5,
    /// `η`: subsidy weight in the payment split and the primary choice.
    subsidy_split: f64 = 20.0,
    /// The primary wallet's extra share of a payment when it is usable.
    loyalty: f64 = 0.6,
    /// `ρ_π`: probability a month that a user re-chooses its primary wallet.
    primary_review: f64 = 0.2,
    /// `β_bal`: weight of the balance received through a wallet in the primary choice.
    balance_weight: f64 = 2.0,
    /// `β_soc`: weight of contacts' primaries in the primary choice.
    social_weight: f64 = 1.0,
    /// `β_cov`: weight of a wallet's coverage in the primary choice.
    coverage_primary_weight: f64 = 1.0,
    /// `D_churn`: months unused before a wallet may be dropped (at most 15).
    churn_months: u32 = 6,
    /// `χ`: probability a month that a dormant wallet is dropped.
    churn_rate: f64 = 0.1,
    /// `ρ_m`: probability a month that a merchant reviews its accepted set.
    merchant_review: f64 = 0.1,
    /// `τ`: logit scale of merchant decisions.
    merchant_logit_scale: f64 = 0.01,
    /// `κ_m`: merchant inertia (switching cost, in units of the margin on sales).
    merchant_inertia: f64 = 0.03,
    /// `T_min`: shortest contract, months.
    contract_min: u32 = 12,
    /// `T_max`: longest contract, months.
    contract_max: u32 = 36,
    /// Liquidity in months of sales (a shop can post a deposit up to this).
    months_liquidity: f64 = 1.0,
    /// Annual interest rate (opportunity cost of a deposit).
    interest: f64 = 0.04,
    /// RMB per purchase (sets the number of purchase occasions a month).
    ticket: f64 = 100.0,
    /// Median monthly spending per person, RMB.
    median_spend: f64 = 1500.0,
    /// `σ_x`: dispersion of log spending.
    spend_sigma: f64 = 0.8,
    /// Size bias of initial acceptance: probability `min(1, a·z^bias)`.
    init_size_bias: f64 = 1.0,
}
