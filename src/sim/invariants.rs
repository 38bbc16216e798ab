//! The explicit invariant checker of MODEL.md section 7, run on every month's report by
//! [`crate::Simulation::step`] in every build.
//!
//! It reads a [`MonthReport`] and the policy in force and says which invariant failed, where,
//! and by how much. It changes nothing.
//!
//! Owns: `check`. Reads: a report, the policy, the scenario, the columns' bounds. Never: changes
//! anything.

use crate::error::{Error, Result};
use crate::policy::Policy;
use crate::record::columns::{DEFAULT, MARKET, PLATFORM};
use crate::record::MonthReport;
use crate::scenario::Scenario;

/// Relative tolerance of the money-conservation check.
pub const CONSERVATION_TOLERANCE: f64 = 1e-9;

/// Checks one month's report: money is conserved per channel, shares are in `[0, 1]`, counts do
/// not exceed the population or the shops, nothing is NaN or infinite, a platform outside
/// `use_c` carries no value in `c`, a platform's active users are among its annual users, and a
/// platform has no users before its launch.
pub fn check(r: &MonthReport, policy: &Policy, s: &Scenario) -> Result<()> {
    let fail = |message: String| {
        Err(Error::Invariant {
            month: r.month.to_string(),
            message,
        })
    };
    let all_shops: f64 = s.channels.iter().map(|c| c.shops).sum();
    let shops = all_shops * (1.0 + 1e-12);
    for (c, ch) in r.channels.iter().enumerate() {
        let paid: f64 = ch.value.iter().sum::<f64>() + ch.cash + ch.lost;
        let scale = ch.spend.abs().max(1e-300);
        if (paid - ch.spend).abs() / scale > CONSERVATION_TOLERANCE
            && (paid - ch.spend).abs() > 1e-9
        {
            return fail(format!(
                "money not conserved in channel {}: platforms + cash + lost = {paid}, spending = {} (difference {})",
                ch.channel,
                ch.spend,
                paid - ch.spend
            ));
        }
        for (j, v) in ch.value.iter().enumerate() {
            if !v.is_finite() || *v < 0.0 {
                return fail(format!(
                    "value of {} in {} is {v}",
                    r.platforms[j].platform, ch.channel
                ));
            }
            if policy.use_set[c] & (1 << j) == 0 && *v != 0.0 {
                return fail(format!(
                    "{} is not usable in {} but carries value {v}",
                    r.platforms[j].platform, ch.channel
                ));
            }
        }
        for (name, v) in [("cash", ch.cash), ("lost", ch.lost), ("spend", ch.spend)] {
            if !v.is_finite() || v < 0.0 {
                return fail(format!("{name} in {} is {v}", ch.channel));
            }
        }
        if let Some(acc) = &ch.merchants_accepting {
            for (j, a) in acc.iter().enumerate() {
                if !a.is_finite() || *a < 0.0 || *a > shops {
                    return fail(format!(
                        "{} shops accept {} in {}, outside [0, {}]",
                        a, r.platforms[j].platform, ch.channel, shops
                    ));
                }
            }
        }
    }
    let population = s.population;
    for (j, p) in r.platforms.iter().enumerate() {
        for c in PLATFORM {
            if let Some(v) = (c.get)(p) {
                if !c.bound.holds(v, population, all_shops) {
                    return fail(format!(
                        "{} of {} is {v}{}",
                        c.name,
                        p.platform,
                        c.bound.describe(population, all_shops)
                    ));
                }
            }
        }
        // Everyone who used a wallet this month used it within the last twelve.
        if p.active_users > p.annual_users * (1.0 + 1e-12) {
            return fail(format!(
                "{} has {} active users but only {} annual users",
                p.platform, p.active_users, p.annual_users
            ));
        }
        if let Some(l) = s.platforms[j].launch {
            if r.month < l && p.users > 0.0 {
                return fail(format!(
                    "{} has {} users before its launch in {l}",
                    p.platform, p.users
                ));
            }
        }
    }
    for c in MARKET {
        if let Some(v) = (c.get)(&r.market) {
            if !c.bound.holds(v, population, all_shops) {
                return fail(format!(
                    "market {} is {v}{}",
                    c.name,
                    c.bound.describe(population, all_shops)
                ));
            }
        }
    }
    for d in &r.defaults {
        for c in DEFAULT {
            if let Some(v) = (c.get)(d) {
                if !c.bound.holds(v, population, all_shops) {
                    return fail(format!(
                        "{} of {} in context {} is {v}{}",
                        c.name,
                        d.platform,
                        d.context,
                        c.bound.describe(population, all_shops)
                    ));
                }
            }
        }
    }
    // In each context every person has at most one default.
    for k in s.context_ids() {
        let total: f64 = r
            .defaults
            .iter()
            .filter(|d| d.context == k)
            .map(|d| d.default_users)
            .sum();
        if total > population * (1.0 + 1e-12) {
            return fail(format!(
                "{total} people have a default in context {k}, more than the population {population}"
            ));
        }
    }
    Ok(())
}
