//! Payment routing: the once-per-step tables of MODEL.md section 3.3 and the pure functions they
//! are built from (interop expansion, the logit split, steering, routes, coverage, rescue and the
//! merchants' profit terms).
//!
//! Tables are indexed by wallet set `H` (a `u8` bitmask), primary `π` (`0..P`, or `P` for none)
//! and accepted set `A`; their size is `O(C·P·4^P)`, independent of the population. This module
//! reads the policy and aggregate masses; it never touches agents.
//!
//! Owns: the routing tables and the pure routing functions. Reads: the market and the policy.
//! Never: agents, record, output.

use crate::market::Market;
use crate::policy::Policy;
use crate::scenario::ChannelKind;

/// The index of `(H, π)` in per-`(H, π)` tables: `H·(P+1) + π` with `π = P` for none.
#[inline(always)]
pub fn hp_index(p: usize, h: u8, primary: usize) -> usize {
    h as usize * (p + 1) + primary.min(p)
}

/// `E_c(A)`: the platforms whose users can pay, in channel `c`, a merchant accepting `A`:
/// `A ∩ use_c` plus one directional interop hop from a platform that is itself usable in `c`.
pub fn expansion(policy: &Policy, c: usize, a: u8) -> u8 {
    let usable = policy.use_set[c];
    let direct = a & usable;
    let mut e = direct;
    for l in &policy.links_now {
        if l.channel.is_none_or(|x| x == c) && direct & (1 << l.to) != 0 {
            e |= (1u8 << l.from) & usable;
        }
    }
    e
}

/// The logit shares `ψ_j = exp(x_j − m) / Σ_{k∈v} exp(x_k − m)` of the members of a non-empty
/// set `v`, with `m` the largest exponent over `v`, so that any finite exponents give finite
/// shares that sum to one (no overflow to `inf/inf`). Members outside `v` get 0.
///
/// ```
/// # use paymarket::payments::logit_shares;
/// // Exponents far beyond `exp`'s range still split by their differences: e^0 : e^-1.
/// let psi = logit_shares(0b11, &[1000.0, 999.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
/// let a = 1.0 / (1.0 + (-1.0f64).exp());
/// assert!((psi[0] - a).abs() < 1e-12 && (psi[1] - (1.0 - a)).abs() < 1e-12);
/// ```
#[inline]
pub fn logit_shares(v: u8, logit: &[f64; 8]) -> [f64; 8] {
    debug_assert!(v != 0);
    let mut top = f64::NEG_INFINITY;
    let mut bits = v;
    while bits != 0 {
        top = top.max(logit[bits.trailing_zeros() as usize]);
        bits &= bits - 1;
    }
    let mut psi = [0.0; 8];
    let mut total = 0.0;
    let mut bits = v;
    while bits != 0 {
        let j = bits.trailing_zeros() as usize;
        psi[j] = (logit[j] - top).exp();
        total += psi[j];
        bits &= bits - 1;
    }
    // `total >= 1` (the largest member contributes e^0) unless every exponent is -inf or NaN,
    // which validation rules out; fall back to equal shares rather than divide by zero.
    let mut bits = v;
    while bits != 0 {
        let j = bits.trailing_zeros() as usize;
        psi[j] = if total.is_finite() && total > 0.0 {
            psi[j] / total
        } else {
            1.0 / v.count_ones() as f64
        };
        bits &= bits - 1;
    }
    psi
}

/// The logit split of one payment over a non-empty usable set `v` (MODEL.md 3.3):
/// `ψ_j ∝ exp(logit[j])` over `v` (`logit = θ_j + η·sub_jc`, computed stably by
/// [`logit_shares`]); a usable primary takes `loyalty + (1 − loyalty)·ψ_π`, every other `j`
/// takes `(1 − loyalty)·ψ_j`. Adds `scale` times each share to `out[j]`.
///
/// ```
/// # use paymarket::payments::split_into;
/// let mut out = [0.0; 8];
/// // Two equal wallets, primary 0, loyalty 0.6: 0.6 + 0.4·0.5 and 0.4·0.5.
/// split_into(0b11, 0, &[0.0; 8], 0.6, 1.0, &mut out);
/// assert!((out[0] - 0.8).abs() < 1e-12 && (out[1] - 0.2).abs() < 1e-12);
/// ```
#[inline]
pub fn split_into(
    v: u8,
    primary: usize,
    logit: &[f64; 8],
    loyalty: f64,
    scale: f64,
    out: &mut [f64; 8],
) {
    let psi = logit_shares(v, logit);
    let has_primary = primary < 8 && v & (1 << primary) != 0;
    let free = if has_primary { 1.0 - loyalty } else { 1.0 };
    let mut bits = v;
    while bits != 0 {
        let j = bits.trailing_zeros() as usize;
        out[j] += scale * free * psi[j];
        bits &= bits - 1;
    }
    if has_primary {
        out[primary] += scale * loyalty;
    }
}

/// Per-channel routing data built once a step.
#[derive(Debug, Clone)]
pub struct ChannelTables {
    /// `R_c[H, π]`: per `(H, π)`, `P + 2` shares over platforms, cash, lost.
    pub route: Vec<f64>,
    /// Fee-weighted route: per `(H, π)`, `P` entries `Σ_A,class q(A,class|H)·route_j·fee_j`.
    pub fee_route: Vec<f64>,
    /// `cov_c[H]`: probability a purchase has a usable wallet in `H`.
    pub cov: Vec<f64>,
    /// `rescue_c[H]`: platforms not in `H` that would have paid a lost purchase.
    pub rescue: Vec<u8>,
    /// Logit exponents `θ_j + η·sub_jc` (shares come from [`logit_shares`]).
    pub logit: [f64; 8],
    /// `E_c(A)` for every `A`.
    pub expansion: Vec<u8>,
}

/// What a channel looks like to the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Purchases from merchants; `has_merchants` is false when the channel has no shops.
    Merchant {
        /// Whether any merchant agent is in the channel.
        has_merchants: bool,
    },
    /// Transfers between contacts (routed per user, not by table).
    P2p,
    /// Flows between a user's own accounts.
    Own,
}

/// Inputs for one channel's tables.
pub struct ChannelInput<'a> {
    /// Channel index.
    pub c: usize,
    /// Its kind.
    pub kind: Kind,
    /// Whether the outside option works.
    pub cash: bool,
    /// Steering strength `s_c`.
    pub steering: f64,
    /// Sales potential mass per `class * 2^P + A` (sums of merchant sizes).
    pub mass: &'a [f64],
    /// Loyalty of the default wallet in the channel's context, `loyalty_κ(c)`.
    pub loyalty: f64,
    /// Brand weights `θ_j`.
    pub brand: &'a [f64],
    /// The channel's context `κ(c)`, whose brand offsets `θ_{j,κ}` in force the split adds.
    pub context: usize,
    /// `η`.
    pub subsidy_split: f64,
}

/// The router's view of channel `c` this month: its structure from the market, the sales
/// potential of last month's accepted sets from `mass` (the merchants' aggregates, all
/// channels: `c * 2 * 2^P + class * 2^P + A`).
pub fn channel_input<'a>(market: &'a Market, c: usize, mass: &'a [f64]) -> ChannelInput<'a> {
    let n_sets = market.n_sets;
    ChannelInput {
        c,
        kind: match market.kind[c] {
            ChannelKind::Merchant => Kind::Merchant {
                has_merchants: market.has_merchants[c],
            },
            ChannelKind::P2p => Kind::P2p,
            ChannelKind::Own => Kind::Own,
        },
        cash: market.cash[c],
        steering: market.steering[c],
        mass: &mass[c * 2 * n_sets..][..2 * n_sets],
        loyalty: market.context[market.context_of[c]].loyalty,
        brand: &market.brand,
        context: market.context_of[c],
        subsidy_split: market.params.subsidy_split,
    }
}

/// MODEL.md step 3: every channel's routing tables, from the policy in force and last month's
/// merchant aggregates `mass` (see [`channel_input`]).
pub fn month_tables(market: &Market, policy: &Policy, mass: &[f64]) -> Vec<ChannelTables> {
    (0..market.channels)
        .map(|c| channel_tables(policy, &channel_input(market, c, mass)))
        .collect()
}

/// Builds the routing tables of one channel.
pub fn channel_tables(policy: &Policy, input: &ChannelInput) -> ChannelTables {
    let p = policy.platforms;
    let c = input.c;
    let n_sets = 1usize << p;
    let hp_n = n_sets * (p + 1);
    let mut logit = [0.0f64; 8];
    for j in 0..p {
        logit[j] = input.brand[j]
            + policy.brand[j * policy.contexts + input.context]
            + input.subsidy_split * policy.subsidy[j * policy.channels + c];
    }
    let expansion: Vec<u8> = (0..n_sets).map(|a| expansion(policy, c, a as u8)).collect();
    let mut route = vec![0.0; hp_n * (p + 2)];
    let mut fee_route = vec![0.0; hp_n * p];
    let mut cov = vec![0.0; n_sets];
    let mut rescue = vec![0u8; n_sets];
    let outside = if input.cash { p } else { p + 1 };
    let usable_all = policy.use_set[c];
    let mut shares;
    match input.kind {
        Kind::Own
        | Kind::Merchant {
            has_merchants: false,
        }
        | Kind::P2p => {
            let own = input.kind == Kind::Own;
            for h in 0..n_sets {
                let usable = if own { h as u8 & usable_all } else { 0 };
                cov[h] = if usable != 0 { 1.0 } else { 0.0 };
                if own && usable == 0 && !input.cash {
                    rescue[h] = usable_all & !(h as u8);
                }
                for pi in 0..=p {
                    let r = &mut route[hp_index(p, h as u8, pi) * (p + 2)..][..p + 2];
                    if usable != 0 {
                        shares = [0.0; 8];
                        split_into(usable, pi, &logit, input.loyalty, 1.0, &mut shares);
                        r[..p].copy_from_slice(&shares[..p]);
                    } else {
                        r[outside] = 1.0;
                    }
                }
            }
        }
        Kind::Merchant {
            has_merchants: true,
        } => {
            let share = set_mass(input, p);
            let z_all = reach_norm_of(input, &expansion, &share);
            let live: Vec<usize> = (0..n_sets).filter(|&a| share[a] > 0.0).collect();
            for h in 0..n_sets {
                let hb = h as u8;
                let z = z_all[h];
                for &a in &live {
                    let usable = hb & expansion[a];
                    let u = (usable != 0) as u8 as f64;
                    let q = share[a] * (1.0 + input.steering * u) / z;
                    if usable != 0 {
                        cov[h] += q;
                    } else if !input.cash {
                        rescue[h] |= expansion[a];
                    }
                    for pi in 0..=p {
                        let idx = hp_index(p, hb, pi);
                        let r = &mut route[idx * (p + 2)..][..p + 2];
                        if usable != 0 {
                            shares = [0.0; 8];
                            split_into(usable, pi, &logit, input.loyalty, 1.0, &mut shares);
                            for j in 0..p {
                                r[j] += q * shares[j];
                            }
                            // Fee-weighted by class.
                            let fr = &mut fee_route[idx * p..][..p];
                            for (class, m) in [input.mass[a], input.mass[n_sets + a]]
                                .into_iter()
                                .enumerate()
                            {
                                if m <= 0.0 {
                                    continue;
                                }
                                let qc = q * m / (input.mass[a] + input.mass[n_sets + a]);
                                for j in 0..p {
                                    fr[j] += qc
                                        * shares[j]
                                        * policy.fee[(j * policy.channels + c) * 2 + class];
                                }
                            }
                        } else {
                            r[outside] += q;
                        }
                    }
                }
            }
        }
    }
    ChannelTables {
        route,
        fee_route,
        cov,
        rescue,
        logit,
        expansion,
    }
}

/// A merchant's sales at accepted set `A`, relative to its sales potential `y_k`
/// (MODEL.md step 6): completed sales, sales paid by the outside option, and value per platform.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SalesMix {
    /// `paid(A)`: completed sales (platforms and cash).
    pub paid: f64,
    /// `cash(A)`: sales paid by the outside option.
    pub cash: f64,
    /// `vol_j(A)`: sales paid through each platform.
    pub vol: [f64; 8],
}

/// `Z_c(H)` for every wallet set: the steering-weighted reach of the market's accepted sets.
pub fn reach_norm(input: &ChannelInput, tables: &ChannelTables, p: usize) -> Vec<f64> {
    reach_norm_of(input, &tables.expansion, &set_mass(input, p))
}

/// Share of the channel's sales potential at shops accepting each set `A`, both size classes
/// together (`G_c[A] / G_c`).
fn set_mass(input: &ChannelInput, p: usize) -> Vec<f64> {
    let n_sets = 1usize << p;
    let total: f64 = input.mass.iter().sum();
    (0..n_sets)
        .map(|a| (input.mass[a] + input.mass[n_sets + a]) / total)
        .collect()
}

/// `Z_c(H) = Σ_A m_A (1 + s·u(H, A))` for every `H`, from the set shares `m_A`.
fn reach_norm_of(input: &ChannelInput, expansion: &[u8], share: &[f64]) -> Vec<f64> {
    (0..share.len())
        .map(|h| {
            (0..share.len())
                .filter(|&a| share[a] > 0.0)
                .map(|a| {
                    let u = (h as u8 & expansion[a] != 0) as u8 as f64;
                    share[a] * (1.0 + input.steering * u)
                })
                .sum()
        })
        .collect()
}

/// The sales mix of a shop accepting `a`, given the channel's customers (`customers[hp]`: share
/// of channel spending by users with `(H, π)`) and `Z_c(H)` from [`reach_norm`].
pub fn sales_mix(
    p: usize,
    input: &ChannelInput,
    tables: &ChannelTables,
    customers: &[f64],
    z: &[f64],
    a: u8,
) -> SalesMix {
    let n_sets = 1usize << p;
    let e = tables.expansion[a as usize];
    let mut mix = SalesMix {
        paid: 0.0,
        cash: 0.0,
        vol: [0.0; 8],
    };
    let loyalty = input.loyalty;
    for h in 0..n_sets {
        let hb = h as u8;
        // Customers with wallets H, by primary (index P: none).
        let row = &customers[hp_index(p, hb, 0)..][..p + 1];
        let total: f64 = row.iter().sum();
        if total == 0.0 {
            continue;
        }
        let usable = hb & e;
        let reach = (1.0 + input.steering * (usable != 0) as u8 as f64) / z[h];
        if usable != 0 {
            // Summed over primaries (MODEL.md 3.3 "subset sums over π"): customers whose
            // primary is usable give it `loyalty` and split the rest by ψ; the others split all
            // of it by ψ. O(P) per (H, A) instead of O(P²).
            let psi = logit_shares(usable, &tables.logit);
            let mut primaries_usable = 0.0;
            let mut bits = usable;
            while bits != 0 {
                primaries_usable += row[bits.trailing_zeros() as usize];
                bits &= bits - 1;
            }
            let by_psi = (1.0 - loyalty) * primaries_usable + (total - primaries_usable);
            let mut bits = usable;
            while bits != 0 {
                let j = bits.trailing_zeros() as usize;
                mix.vol[j] += reach * (by_psi * psi[j] + loyalty * row[j]);
                bits &= bits - 1;
            }
            mix.paid += reach * total;
        } else if input.cash {
            mix.cash += reach * total;
            mix.paid += reach * total;
        }
    }
    mix
}

/// The per-shop profit terms of MODEL.md step 6 for every accepted set `A`, relative to sales
/// potential: `margin·paid(A) − Σ_j fee_j·vol_j(A) − cash_cost·cash(A)`, per class
/// (`class * 2^P + A`). `customers[hp]` is the share of channel spending by users with `(H, π)`.
pub fn profit_terms(
    policy: &Policy,
    input: &ChannelInput,
    tables: &ChannelTables,
    customers: &[f64],
    margin: f64,
) -> Vec<f64> {
    let p = policy.platforms;
    let c = input.c;
    let n_sets = 1usize << p;
    let mut out = vec![0.0; 2 * n_sets];
    if input.mass.iter().sum::<f64>() <= 0.0 {
        return out;
    }
    let z = reach_norm(input, tables, p);
    let cash_cost = policy.cash_cost[c];
    for a in 0..n_sets {
        let mix = sales_mix(p, input, tables, customers, &z, a as u8);
        for class in 0..2 {
            let fees: f64 = (0..p)
                .map(|j| policy.fee[(j * policy.channels + c) * 2 + class] * mix.vol[j])
                .sum();
            out[class * n_sets + a] = margin * mix.paid - fees - cash_cost * mix.cash;
        }
    }
    out
}

/// The logistic function, computed without overflow.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The summed-over-primaries sales mix equals splitting every (H, π) cell one by one.
    #[test]
    fn sales_mix_matches_the_cell_by_cell_split() {
        let p = 3;
        let n_sets = 1 << p;
        let logit = [0.0, 0.9, -0.4, 0.0, 0.0, 0.0, 0.0, 0.0];
        let mass: Vec<f64> = (0..2 * n_sets).map(|k| (k % 5) as f64 + 0.5).collect();
        let expansion: Vec<u8> = (0..n_sets as u8)
            .map(|a| a | if a & 1 != 0 { 0b100 } else { 0 })
            .collect();
        let tables = ChannelTables {
            route: vec![],
            fee_route: vec![],
            cov: vec![],
            rescue: vec![],
            logit,
            expansion,
        };
        let brand = [0.0; 3];
        for cash in [true, false] {
            let input = ChannelInput {
                c: 0,
                kind: Kind::Merchant {
                    has_merchants: true,
                },
                cash,
                steering: 0.5,
                mass: &mass,
                loyalty: 0.6,
                brand: &brand,
                context: 0,
                subsidy_split: 20.0,
            };
            let customers: Vec<f64> = (0..n_sets * (p + 1))
                .map(|k| {
                    let (h, pi) = (k / (p + 1), k % (p + 1));
                    if pi == p || h & (1 << pi) != 0 {
                        (k % 7) as f64 + 1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            let z = reach_norm(&input, &tables, p);
            for a in 0..n_sets as u8 {
                let fast = sales_mix(p, &input, &tables, &customers, &z, a);
                // Reference: every cell split on its own.
                let mut vol = [0.0; 8];
                let (mut paid, mut cashv) = (0.0, 0.0);
                for h in 0..n_sets {
                    let usable = h as u8 & tables.expansion[a as usize];
                    let reach = (1.0 + 0.5 * (usable != 0) as u8 as f64) / z[h];
                    for pi in 0..=p {
                        let q = customers[hp_index(p, h as u8, pi)] * reach;
                        if usable != 0 {
                            split_into(usable, pi, &logit, 0.6, q, &mut vol);
                            paid += q;
                        } else if cash {
                            cashv += q;
                            paid += q;
                        }
                    }
                }
                assert!((fast.paid - paid).abs() < 1e-12 && (fast.cash - cashv).abs() < 1e-12);
                for j in 0..p {
                    assert!(
                        (fast.vol[j] - vol[j]).abs() < 1e-12,
                        "A {a:#b} j {j}: {} vs {}",
                        fast.vol[j],
                        vol[j]
                    );
                }
            }
        }
    }

    /// The split of exponents beyond `exp`'s range equals the split of the same differences
    /// near zero, and every share stays finite.
    #[test]
    fn logit_shares_are_stable_for_huge_exponents() {
        let small = [0.0, -1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let mut huge = small;
        for x in huge.iter_mut().take(3) {
            *x += 1e15;
        }
        let a = logit_shares(0b111, &small);
        let b = logit_shares(0b111, &huge);
        // Hand-computed: e^0, e^-1, e^2 over their sum.
        let z = 1.0 + (-1.0f64).exp() + 2.0f64.exp();
        assert!((a[0] - 1.0 / z).abs() < 1e-15);
        assert!((a[2] - 2.0f64.exp() / z).abs() < 1e-15);
        // 1e15 + x is exact only to 1/8 in f64; the shares of `huge` are those of the rounded
        // exponents, so compare with a tolerance that covers that rounding.
        for j in 0..3 {
            assert!(b[j].is_finite());
            assert!((a[j] - b[j]).abs() < 0.2, "{j}: {} vs {}", a[j], b[j]);
        }
        assert!((b.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // One huge exponent takes everything, one very negative takes nothing, without NaN.
        let c = logit_shares(0b11, &[710.0, -710.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(c[0], 1.0);
        assert_eq!(c[1], 0.0);
        let mut out = [0.0; 8];
        split_into(
            0b11,
            1,
            &[1e15, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            0.5,
            1.0,
            &mut out,
        );
        assert_eq!(out[0], 0.5);
        assert_eq!(out[1], 0.5);
    }
}
