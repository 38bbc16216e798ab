//! Merchants' monthly decisions (MODEL.md step 6): reviews, new contracts, renewals at expiry,
//! drops when a platform becomes unusable, and the deposit's liquidity barrier.
//!
//! A merchant reads only its own state, the policy and the month's profit tables, so the update
//! is in place and parallel. The rule for one candidate is a pure function ([`add_probability`],
//! [`renew_probability`]); [`merchant_pass`] applies them and sums acceptance in chunk order.
//!
//! Owns: `MerchantCtx`, `merchant_pass`, `month_channels`, the pure acceptance rules. Reads: the
//! market, the policy, the payment tables, `world::Merchants`. Never: scenario strings, record,
//! output, sim.

use crate::market::Market;
use crate::payments::{channel_input, profit_terms, sigmoid, ChannelTables};
use crate::policy::Policy;
use crate::rng::{hi_u01, lo_u01, Stream, StreamId};
use crate::scenario::ChannelKind;
use crate::world::{fold_chunks, Merchants};

/// Probability of adding a platform: `σ((ΔΠ/(y·margin) − κ_m)/τ)`, where `gain` is
/// `ΔΠ/(y·margin)`.
///
/// ```
/// # use paymarket::merchants::add_probability;
/// // A gain exactly equal to the inertia is a coin flip.
/// assert!((add_probability(0.03, 0.03, 0.01) - 0.5).abs() < 1e-12);
/// ```
#[inline]
pub fn add_probability(gain: f64, inertia: f64, scale: f64) -> f64 {
    sigmoid((gain - inertia) / scale)
}

/// Probability of renewing at expiry: `σ((ΔΠ_keep/(y·margin) + κ_m)/τ)`.
#[inline]
pub fn renew_probability(gain: f64, inertia: f64, scale: f64) -> f64 {
    sigmoid((gain + inertia) / scale)
}

/// Per-channel data a merchant reads.
#[derive(Debug, Clone)]
pub struct MerchantChannel {
    /// Sales potential per unit of size this month (RMB per shop per unit `z`); 0 when nobody
    /// spends in the channel.
    pub y_per_size: f64,
    /// Gross margin.
    pub margin: f64,
    /// Profit terms per `class * 2^P + A` (see [`crate::payments::profit_terms`]).
    pub terms: Vec<f64>,
}

/// This month's per-channel data (MODEL.md step 6): each merchant channel's sales potential per
/// unit of size and the per-shop profit terms of every accepted set, from the channel spending
/// by `(H, π)` (`w_c`, agent units, see [`crate::users::channel_spending`]) and the routing
/// tables.
pub fn month_channels(
    market: &Market,
    policy: &Policy,
    tables: &[ChannelTables],
    w_c: &[f64],
    spend_c: &[f64],
    merchants: &Merchants,
) -> Vec<MerchantChannel> {
    let (n_sets, hp_n) = (market.n_sets, market.hp_n);
    (0..market.channels)
        .map(|c| {
            let spend = spend_c[c] * market.user_weight;
            let margin = market.margin[c];
            if market.kind[c] != ChannelKind::Merchant || !market.has_merchants[c] || spend <= 0.0 {
                return MerchantChannel {
                    y_per_size: 0.0,
                    margin,
                    terms: vec![0.0; 2 * n_sets],
                };
            }
            let total_w = spend_c[c];
            let customers: Vec<f64> = w_c[c * hp_n..][..hp_n]
                .iter()
                .map(|w| w / total_w)
                .collect();
            let input = channel_input(market, c, &merchants.mass);
            let terms = profit_terms(policy, &input, &tables[c], &customers, margin);
            MerchantChannel {
                y_per_size: spend / (market.shop_weight[c] * merchants.size_sum[c]),
                margin,
                terms,
            }
        })
        .collect()
}

impl<'a> MerchantCtx<'a> {
    /// What the merchant pass reads in month `month` (step index `t`) of a run with `seed`.
    pub fn for_month(
        market: &Market,
        policy: &'a Policy,
        channels: &'a [MerchantChannel],
        seed: u64,
        t: usize,
        month: crate::month::Month,
    ) -> MerchantCtx<'a> {
        let prm = &market.params;
        MerchantCtx {
            p: market.platforms,
            t,
            seed,
            stream: Stream::new(seed, StreamId::MerchantStep, t as u64),
            policy,
            channels,
            launched: market.launched(month),
            review: prm.merchant_review,
            scale: prm.merchant_logit_scale,
            inertia: prm.merchant_inertia,
            interest: prm.interest,
            months_liquidity: prm.months_liquidity,
            t_min: prm.contract_min,
            t_max: prm.contract_max,
        }
    }
}

/// What the merchant update reads in one month.
pub struct MerchantCtx<'a> {
    /// Platforms.
    pub p: usize,
    /// Step index.
    pub t: usize,
    /// Master seed (for event-keyed phase-in draws).
    pub seed: u64,
    /// Decision draws of month `t`.
    pub stream: Stream,
    /// Policy in force.
    pub policy: &'a Policy,
    /// Per channel.
    pub channels: &'a [MerchantChannel],
    /// Platforms launched by this month.
    pub launched: u8,
    /// `ρ_m`.
    pub review: f64,
    /// `τ`.
    pub scale: f64,
    /// `κ_m`.
    pub inertia: f64,
    /// Annual interest.
    pub interest: f64,
    /// Months of sales a shop has as liquidity.
    pub months_liquidity: f64,
    /// Shortest contract.
    pub t_min: u32,
    /// Longest contract.
    pub t_max: u32,
}

/// The month's merchant-side sums (agent counts and size masses), merged in chunk order.
#[derive(Debug, Clone)]
pub struct MerchantAcc {
    /// Agents accepting each platform per channel: `c * P + j`.
    pub accepting: Vec<u64>,
    /// Agents accepting at least one platform, per channel.
    pub any: Vec<u64>,
    /// Agents accepting at least two, per channel.
    pub multi: Vec<u64>,
    /// Size mass per `c * 2 * 2^P + class * 2^P + A` after the decisions.
    pub mass: Vec<f64>,
}

impl MerchantAcc {
    fn new(p: usize, c: usize) -> MerchantAcc {
        MerchantAcc {
            accepting: vec![0; c * p],
            any: vec![0; c],
            multi: vec![0; c],
            mass: vec![0.0; (c * 2) << p],
        }
    }

    fn merge(&mut self, o: &MerchantAcc) {
        for (a, b) in self.accepting.iter_mut().zip(&o.accepting) {
            *a += b;
        }
        for (a, b) in self.any.iter_mut().zip(&o.any) {
            *a += b;
        }
        for (a, b) in self.multi.iter_mut().zip(&o.multi) {
            *a += b;
        }
        for (a, b) in self.mass.iter_mut().zip(&o.mass) {
            *a += b;
        }
    }
}

/// Updates every merchant for one month and returns the sums of the new state.
pub fn merchant_pass(ctx: &MerchantCtx, m: &mut Merchants) -> MerchantAcc {
    let p = ctx.p;
    let c_n = ctx.channels.len();
    let n = m.size.len();
    let (channel, class_of, size) = (&m.channel, &m.class, &m.size);
    fold_chunks(
        n,
        (&mut m.accepted[..], &mut m.expiry[..]),
        |(sets, expiry), k| {
            let (s0, s1) = sets.split_at_mut(k);
            let (e0, e1) = expiry.split_at_mut(k * p);
            ((s0, e0), (s1, e1))
        },
        || MerchantAcc::new(p, c_n),
        |base, (acc_sets, expiry), acc| {
            for off in 0..acc_sets.len() {
                let idx = base + off;
                let c = channel[idx] as usize;
                let class = class_of[idx] as usize;
                let new = update_merchant(
                    ctx,
                    idx as u64,
                    c,
                    class,
                    size[idx] as f64,
                    acc_sets[off],
                    &mut expiry[off * p..(off + 1) * p],
                );
                acc_sets[off] = new;
                for j in 0..p {
                    if new & (1 << j) != 0 {
                        acc.accepting[c * p + j] += 1;
                    }
                }
                acc.any[c] += (new != 0) as u64;
                acc.multi[c] += (new.count_ones() >= 2) as u64;
                acc.mass[(c * 2 + class) * (1 << p) + new as usize] += size[idx] as f64;
            }
        },
        |total, part| total.merge(part),
    )
}

#[inline]
fn update_merchant(
    ctx: &MerchantCtx,
    k: u64,
    c: usize,
    class: usize,
    size: f64,
    a: u8,
    expiry: &mut [u16],
) -> u8 {
    let p = ctx.p;
    let ch = &ctx.channels[c];
    let policy = ctx.policy;
    let usable = policy.use_set[c];
    // Dropped at once when no longer usable.
    let mut new = a & usable;
    let y = ch.y_per_size * size;
    if y <= 0.0 {
        return new;
    }
    let n_sets = 1usize << p;
    let terms = &ch.terms[class * n_sets..][..n_sets];
    let cost = |j: usize| -> f64 {
        (policy.deposit[j * policy.channels + c] * ctx.interest / 12.0
            + policy.fixed[j * policy.channels + c])
            / (y * ch.margin)
    };
    let draws = ctx.stream.agent(k);
    let head = draws.draw(0);
    let reviewing = lo_u01(head) < ctx.review;
    let length = |x: u64| -> u16 {
        let span = (ctx.t_max - ctx.t_min + 1) as f64;
        (ctx.t_min + (hi_u01(x) * span) as u32).min(ctx.t_max) as u16
    };
    for j in 0..p {
        let bit = 1u8 << j;
        let x = draws.draw(1 + j as u64);
        if a & bit != 0 {
            if usable & bit == 0 || expiry[j] as usize > ctx.t {
                continue;
            }
            // Expiring: renew or lapse.
            let keep = (terms[a as usize] - terms[(a & !bit) as usize]) / ch.margin - cost(j);
            if policy.may_sign(ctx.seed, k, j, c, ctx.t)
                && lo_u01(x) < renew_probability(keep, ctx.inertia, ctx.scale)
            {
                expiry[j] = (ctx.t as u32 + length(x) as u32).min(u16::MAX as u32) as u16;
            } else {
                new &= !bit;
            }
        } else if reviewing && ctx.launched & bit != 0 {
            if !policy.may_sign(ctx.seed, k, j, c, ctx.t) {
                continue;
            }
            // The liquidity barrier: a shop that cannot post the deposit cannot sign.
            if y * ctx.months_liquidity < policy.deposit[j * policy.channels + c] {
                continue;
            }
            let gain = (terms[(a | bit) as usize] - terms[a as usize]) / ch.margin - cost(j);
            if lo_u01(x) < add_probability(gain, ctx.inertia, ctx.scale) {
                new |= bit;
                expiry[j] = (ctx.t as u32 + length(x) as u32).min(u16::MAX as u32) as u16;
            }
        }
    }
    new
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_follow_the_logit() {
        // gain − inertia = 0.01 = τ: σ(1) = 0.7311.
        assert!((add_probability(0.04, 0.03, 0.01) - 0.731_058_578_6).abs() < 1e-9);
        // Renewal adds the inertia: σ((−0.02 + 0.03)/0.01) = σ(1).
        assert!((renew_probability(-0.02, 0.03, 0.01) - 0.731_058_578_6).abs() < 1e-9);
        assert!(add_probability(-10.0, 0.03, 0.01) < 1e-12);
    }
}
