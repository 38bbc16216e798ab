//! Platforms as a scenario writes them (MODEL.md section 2, **Platforms**): the `[[platform]]`
//! table with its defaults, fee overrides by channel and size class, and the pricing strategy.
//!
//! Owns: [`Platform`], [`FeeOverride`], [`SizeClass`], [`StrategySpec`]. Reads: months.
//! Never: validation (`validate`), agents, the policy.

use super::EVERYONE;
use crate::month::Month;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a platform's fee is overridden for one channel and/or size class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeOverride {
    /// The channel (all merchant channels when absent).
    #[serde(default)]
    pub channel: Option<String>,
    /// The size class (both when absent).
    #[serde(default)]
    pub class: Option<SizeClass>,
    /// Merchant fee, share of value.
    pub fee: f64,
}

/// Merchant size class: `small` below the channel's `small_quantile` of size, else `large`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeClass {
    /// Below the channel's `small_quantile` of merchant size.
    Small,
    /// At or above it.
    Large,
}

/// A payment platform (a wallet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    /// Identifier, e.g. `alipay`.
    pub id: String,
    /// Owner group, e.g. `alibaba` (informational).
    #[serde(default)]
    pub owner: String,
    /// First month users can adopt it; absent means launched before the start.
    #[serde(default)]
    pub launch: Option<Month>,
    /// Whether it counts in published third-party shares.
    #[serde(default = "d_true")]
    pub third_party: bool,
    /// Merchant fee, share of value (platform default).
    #[serde(default = "d_fee")]
    pub fee: f64,
    /// Per-channel and per-class fee overrides, applied in order.
    #[serde(default)]
    pub fee_overrides: Vec<FeeOverride>,
    /// Refundable deposit per shop by channel id, RMB.
    #[serde(default)]
    pub deposit: BTreeMap<String, f64>,
    /// User subsidy (cash-back share of value) by channel id, before any event.
    #[serde(default)]
    pub subsidy: BTreeMap<String, f64>,
    /// Users' fee for moving a balance to a bank, share of the amount.
    #[serde(default)]
    pub withdrawal_fee: f64,
    /// `p_j`: innovation (external influence) per month.
    #[serde(default = "d_innovation")]
    pub innovation: f64,
    /// `q_{j,s}`: imitation weight per network id (`everyone` included).
    #[serde(default)]
    pub imitation: BTreeMap<String, f64>,
    /// `θ_j`: brand weight in the payment split and primary choice.
    #[serde(default)]
    pub brand: f64,
    /// Network a user must belong to before adopting.
    #[serde(default = "d_everyone")]
    pub requires: String,
    /// Share of users meeting the prerequisite who hold it at the start.
    #[serde(default)]
    pub init_users: f64,
    /// Fixed cost per accepting shop, RMB a month.
    #[serde(default = "d_fixed")]
    pub fixed_cost: f64,
    /// The platform's pricing strategy (scripted by events when absent).
    #[serde(default)]
    pub strategy: Option<StrategySpec>,
    /// Share of all third-party value carried by flows the model does not simulate and booked
    /// to this platform: a competitive fringe (merchants' card acquiring on mobile POS
    /// terminals, bill and business payments through the smaller licensed processors) whose
    /// share of the published totals is held constant. Each month the platform's merchant
    /// value is raised so that these flows are this share of all third-party value (users,
    /// fees, subsidies, channels and decisions are unchanged: docs/MODEL.md section 11). 0, the
    /// default, adds nothing; third-party platforms only, at most 0.99, and the fringe shares
    /// of all platforms together at most 0.99.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fringe_share: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

pub(super) fn d_true() -> bool {
    true
}
fn d_fee() -> f64 {
    0.006
}
fn d_innovation() -> f64 {
    0.001
}
pub(super) fn d_everyone() -> String {
    EVERYONE.to_string()
}
fn d_fixed() -> f64 {
    10.0
}

/// A platform strategy as written in a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", tag = "kind")]
pub enum StrategySpec {
    /// Prices change only through events.
    Scripted,
    /// Raise the user subsidy when the value share fell over the last quarter.
    DefendShare {
        /// First month the strategy acts.
        start: Month,
        /// Fall in value share over three months (absolute, e.g. 0.02) that triggers a raise.
        threshold: f64,
        /// Subsidy added per trigger (share of value).
        step: f64,
        /// Highest subsidy.
        cap: f64,
        /// Most RMB a month the platform spends on the subsidy.
        budget: f64,
        /// Channels where it subsidises (all where it is usable when empty).
        #[serde(default)]
        channels: Vec<String>,
    },
}
