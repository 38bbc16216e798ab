//! Users' monthly update: payments (MODEL.md step 4) and decisions (step 5), fused per user.
//!
//! Each user reads its contacts' wallets and primaries from last month's buffer and writes its
//! own new state into the other buffer, so users can be updated in parallel in any order. The
//! loss record `L_i` and the balance shares `b_ij` are computed and consumed within the same
//! update. The pure rules (hazard, use probability) are separate functions with unit tests;
//! [`user_pass`] wires them together and sums the month's aggregates chunk by chunk in a fixed
//! order.

use crate::payments::{hp_index, split_into, ChannelTables};
use crate::rng::{hi_u01, lo_u01, u01, Stream};
use crate::social::{contact, Membership};
use crate::world::{logit_pick, Users, BATCH, CHUNK, NO_PRIMARY};
use rayon::prelude::*;

/// Probability that at least one of `n` purchases went a way that takes share `v` of value:
/// `1 − (1 − v)^n`.
#[inline]
pub fn occasion_prob(v: f64, n: i32) -> f64 {
    if v <= 0.0 {
        0.0
    } else if v >= 1.0 {
        1.0
    } else {
        1.0 - (1.0 - v).powi(n)
    }
}

/// The adoption hazard of MODEL.md step 5, clamped to `[0, 1]`:
/// `p + κ·imitation + γ·(Δcoverage + ω_p2p·g) + φ·rescued + δ·subsidy`.
///
/// ```
/// # use paymarket::users::hazard;
/// // Bass: p = 0.01, q = 0.3, 20% of contacts adopted.
/// assert!((hazard(0.01, 1.0, 0.3 * 0.2, 0.0, 0.0, 0.0, 0.0, false, 0.0, 0.0) - 0.07).abs() < 1e-12);
/// ```
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn hazard(
    innovation: f64,
    campaign: f64,
    imitation: f64,
    gamma: f64,
    coverage_gain: f64,
    p2p_gain: f64,
    phi: f64,
    rescued: bool,
    delta: f64,
    subsidy: f64,
) -> f64 {
    let h = innovation
        + campaign * imitation
        + gamma * (coverage_gain + p2p_gain)
        + if rescued { phi } else { 0.0 }
        + delta * subsidy;
    h.clamp(0.0, 1.0)
}

/// A p2p channel as the user update sees it.
#[derive(Debug, Clone)]
pub struct P2pChannel {
    /// Channel index.
    pub c: usize,
    /// Bit of the network a contact must belong to.
    pub requires: u16,
    /// Whether the outside option works.
    pub cash: bool,
    /// `use_c`.
    pub usable: u8,
}

/// Everything the user update reads in one month.
pub struct UserCtx<'a> {
    /// Platforms.
    pub p: usize,
    /// Channels.
    pub c: usize,
    /// Step index.
    pub t: usize,
    /// Number of users.
    pub n: u64,
    /// Community size `B`.
    pub b: u64,
    /// `round(ε·65536)`.
    pub eps16: u32,
    /// Contacts per month `K`.
    pub k: usize,
    /// This month's membership thresholds.
    pub member: &'a Membership,
    /// Membership uniforms.
    pub member_stream: Stream,
    /// Contact draws of month `t`.
    pub contact_stream: Stream,
    /// Decision draws of month `t`.
    pub step_stream: Stream,
    /// `ω_ic` per membership mask: `mask * C + c`, normalised over open channels.
    pub open_weight: &'a [f64],
    /// `Σ_c ω_ic·sub_jc` per membership mask: `mask * 8 + j`.
    pub subsidy_term: &'a [f64],
    /// `ω_i,p2p` per membership mask.
    pub p2p_weight: &'a [f64],
    /// Merchant and own channels (routed by table).
    pub routed: &'a [usize],
    /// P2p channels.
    pub p2p: &'a [P2pChannel],
    /// Per-channel tables.
    pub tables: &'a [ChannelTables],
    /// Union of `use_c` over p2p channels (what "sharing a usable wallet" means for `g`).
    pub p2p_use: u8,
    /// Platforms launched by this month.
    pub launched: u8,
    /// Bit of each platform's prerequisite network.
    pub requires: [u16; 8],
    /// `p_j`.
    pub innovation: [f64; 8],
    /// `κ_j(t)`.
    pub campaign: [f64; 8],
    /// `q_{j,s}` per `j * S1 + s`.
    pub imitation: &'a [f64],
    /// Networks including everyone.
    pub s1: usize,
    /// `θ_j`.
    pub brand: [f64; 8],
    /// `wf_j`.
    pub withdrawal_fee: [f64; 8],
    /// Parameters.
    pub gamma: f64,
    /// `φ`.
    pub phi: f64,
    /// `δ`.
    pub delta: f64,
    /// `η`.
    pub eta: f64,
    /// `loyalty`.
    pub loyalty: f64,
    /// `ρ_π`.
    pub primary_review: f64,
    /// `β_bal`.
    pub beta_bal: f64,
    /// `β_soc`.
    pub beta_soc: f64,
    /// `β_cov`.
    pub beta_cov: f64,
    /// `D_churn`.
    pub churn_months: u32,
    /// `χ`.
    pub churn_rate: f64,
    /// RMB per purchase.
    pub ticket: f64,
}

/// The month's user-side sums (in agent units), merged in chunk order.
#[derive(Debug, Clone)]
pub struct UserAcc {
    /// Spending per `c * HP + hp` in routed channels.
    pub w: Vec<f64>,
    /// P2p value per `c * (P + 2) + k` (platforms, cash, lost).
    pub p2p: Vec<f64>,
    /// Spending per channel.
    pub spend: Vec<f64>,
    /// Users holding each platform at the end of the month.
    pub holders: [u64; 8],
    /// Users whose primary is each platform at the end of the month.
    pub primaries: [u64; 8],
    /// Users who used each platform this month.
    pub active: [u64; 8],
    /// Users holding at least one wallet at the end of the month.
    pub adopters: u64,
    /// Users holding at least two.
    pub multihoming: u64,
}

impl UserAcc {
    fn new(p: usize, c: usize) -> UserAcc {
        let hp_n = (1usize << p) * (p + 1);
        UserAcc {
            w: vec![0.0; c * hp_n],
            p2p: vec![0.0; c * (p + 2)],
            spend: vec![0.0; c],
            holders: [0; 8],
            primaries: [0; 8],
            active: [0; 8],
            adopters: 0,
            multihoming: 0,
        }
    }

    fn merge(&mut self, o: &UserAcc) {
        for (a, b) in self.w.iter_mut().zip(&o.w) {
            *a += b;
        }
        for (a, b) in self.p2p.iter_mut().zip(&o.p2p) {
            *a += b;
        }
        for (a, b) in self.spend.iter_mut().zip(&o.spend) {
            *a += b;
        }
        for j in 0..8 {
            self.holders[j] += o.holders[j];
            self.primaries[j] += o.primaries[j];
            self.active[j] += o.active[j];
        }
        self.adopters += o.adopters;
        self.multihoming += o.multihoming;
    }
}

/// Updates every user for one month and returns the month's sums.
pub fn user_pass(ctx: &UserCtx, users: &mut Users) -> UserAcc {
    let cur = users.cur;
    let (first, second) = users.wallets.split_at_mut(1);
    let (w_old, w_new) = if cur == 0 {
        (&first[0], &mut second[0])
    } else {
        (&second[0], &mut first[0])
    };
    let (first, second) = users.primary.split_at_mut(1);
    let (p_old, p_new) = if cur == 0 {
        (&first[0], &mut second[0])
    } else {
        (&second[0], &mut first[0])
    };
    let n = users.spend.len();
    let mut total = UserAcc::new(ctx.p, ctx.c);
    let span = CHUNK * BATCH;
    let mut start = 0;
    while start < n {
        let end = (start + span).min(n);
        let parts: Vec<UserAcc> = w_new[start..end]
            .par_chunks_mut(CHUNK)
            .zip(p_new[start..end].par_chunks_mut(CHUNK))
            .zip(users.dormancy[start..end].par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(k, ((wn, pn), dn))| {
                let base = start + k * CHUNK;
                let mut acc = UserAcc::new(ctx.p, ctx.c);
                for off in 0..wn.len() {
                    let i = base + off;
                    let (h, pi, d) = update_user(ctx, i, users.spend[i], w_old, p_old, dn[off], &mut acc);
                    wn[off] = h;
                    pn[off] = pi;
                    dn[off] = d;
                }
                acc
            })
            .collect();
        for part in &parts {
            total.merge(part);
        }
        start = end;
    }
    users.cur = 1 - cur;
    total
}

/// One user's month: payments, then decisions. Returns the new `(H, π, dormancy)`.
#[inline]
#[allow(clippy::too_many_arguments)]
fn update_user(
    ctx: &UserCtx,
    i: usize,
    spend: f32,
    w_old: &[u8],
    p_old: &[u8],
    dormancy: u32,
    acc: &mut UserAcc,
) -> (u8, u8, u32) {
    let p = ctx.p;
    let hp_n = (1usize << p) * (p + 1);
    let x = spend as f64;
    let h = w_old[i];
    let pi_raw = p_old[i];
    let pi = if pi_raw == NO_PRIMARY { p } else { pi_raw as usize };
    let mask = ctx.member.mask(&ctx.member_stream.agent(i as u64)) as usize;
    let w = &ctx.open_weight[mask * ctx.c..][..ctx.c];
    let hp = hp_index(p, h, pi);

    // Step 4, routed channels: value shares through each wallet, loss and coverage.
    let mut val = [0.0f64; 8];
    let mut lost = 0.0f64;
    let mut rescue = 0u8;
    for &c in ctx.routed {
        let wc = w[c];
        if wc == 0.0 {
            continue;
        }
        acc.w[c * hp_n + hp] += x * wc;
        acc.spend[c] += x * wc;
        let r = &ctx.tables[c].route[hp * (p + 2)..][..p + 2];
        for j in 0..p {
            val[j] += wc * r[j];
        }
        if r[p + 1] > 0.0 {
            lost += wc * r[p + 1];
            rescue |= ctx.tables[c].rescue[h as usize];
        }
    }

    // Contacts, sampled afresh each month.
    let draws = ctx.contact_stream.agent(i as u64);
    let mut c_h = [0u8; 64];
    let mut c_pi = [0u8; 64];
    let mut c_mask = [0u16; 64];
    let mut m = 0usize;
    for k in 0..ctx.k {
        if let Some(r) = contact(i as u64, ctx.n, ctx.b, ctx.eps16, draws.draw(k as u64)) {
            c_h[m] = w_old[r as usize];
            c_pi[m] = p_old[r as usize];
            c_mask[m] = if ctx.s1 > 1 {
                ctx.member.mask(&ctx.member_stream.agent(r))
            } else {
                1
            };
            m += 1;
        }
    }

    // Step 4, p2p channels: transfers to contacts and the reciprocal returns.
    let mut recv = [0.0f64; 8];
    let mut recv_total = 0.0f64;
    for ch in ctx.p2p {
        let wc = w[ch.c];
        if wc == 0.0 {
            continue;
        }
        let amount = x * wc;
        acc.spend[ch.c] += amount;
        let out = &mut acc.p2p[ch.c * (p + 2)..][..p + 2];
        let eligible = (0..m).filter(|&k| c_mask[k] & ch.requires != 0).count();
        if eligible == 0 {
            if ch.cash {
                out[p] += amount;
            } else {
                out[p + 1] += amount;
                lost += wc;
            }
            continue;
        }
        let per = amount / eligible as f64;
        let share = wc / eligible as f64;
        let weight = &ctx.tables[ch.c].weight;
        for k in 0..m {
            if c_mask[k] & ch.requires == 0 {
                continue;
            }
            let usable = h & c_h[k] & ch.usable;
            recv_total += per;
            if usable != 0 {
                let mut s = [0.0f64; 8];
                split_into(usable, pi, weight, ctx.loyalty, 1.0, &mut s);
                for j in 0..p {
                    out[j] += per * s[j];
                    val[j] += share * s[j];
                }
                let rpi = if c_pi[k] == NO_PRIMARY { p } else { c_pi[k] as usize };
                split_into(usable, rpi, weight, ctx.loyalty, per, &mut recv);
            } else if ch.cash {
                out[p] += per;
            } else {
                out[p + 1] += per;
                lost += share;
                rescue |= c_h[k] & ch.usable;
            }
        }
    }

    // Purchase occasions: which held wallets were used, and whether a payment was lost.
    let sd = ctx.step_stream.agent(i as u64);
    let n_occ = ((x / ctx.ticket).round() as i32).max(1);
    let head = sd.draw(0);
    let lost_now = lo_u01(head) < occasion_prob(lost, n_occ);
    let rescued = if lost_now { rescue } else { 0 };
    let mut d = dormancy;
    let mut words = [0u64; 8];
    for j in 0..p {
        words[j] = sd.draw(2 + j as u64);
        if h & (1 << j) == 0 {
            continue;
        }
        let shift = 4 * j;
        if lo_u01(words[j]) < occasion_prob(val[j], n_occ) {
            d &= !(0xf << shift);
            acc.active[j] += 1;
        } else {
            let dj = ((d >> shift) & 0xf).min(14) + 1;
            d = (d & !(0xf << shift)) | (dj << shift);
        }
    }

    // Step 5: adoption from contacts' wallets (last month's state).
    let mut cnt = [0u32; 9];
    let mut hold = [[0u32; 8]; 9];
    let mut prim = [0u32; 8];
    let mut unshared = [0u32; 8];
    for k in 0..m {
        let shared = mask as u16 & c_mask[k];
        for s in 0..ctx.s1 {
            if shared & (1 << s) != 0 {
                cnt[s] += 1;
                for j in 0..p {
                    hold[s][j] += ((c_h[k] >> j) & 1) as u32;
                }
            }
        }
        if c_pi[k] != NO_PRIMARY {
            prim[c_pi[k] as usize] += 1;
        }
        if h & c_h[k] & ctx.p2p_use == 0 {
            for j in 0..p {
                unshared[j] += ((c_h[k] >> j) & 1) as u32;
            }
        }
    }
    let cov_of = |set: u8| -> f64 {
        ctx.routed
            .iter()
            .map(|&c| w[c] * ctx.tables[c].cov[set as usize])
            .sum()
    };
    let cov_now = cov_of(h);
    let sub = &ctx.subsidy_term[mask * 8..][..8];
    let p2p_w = ctx.p2p_weight[mask];
    let mut added = 0u8;
    let mut dropped = 0u8;
    for j in 0..p {
        let bit = 1u8 << j;
        if h & bit == 0 {
            if ctx.launched & bit == 0 || mask as u16 & ctx.requires[j] == 0 {
                continue;
            }
            let mut imit = 0.0;
            for s in 0..ctx.s1 {
                let q = ctx.imitation[j * ctx.s1 + s];
                if q != 0.0 && cnt[s] > 0 {
                    imit += q * hold[s][j] as f64 / cnt[s] as f64;
                }
            }
            let g = if m > 0 { unshared[j] as f64 / m as f64 } else { 0.0 };
            let dcov = if ctx.gamma != 0.0 { cov_of(h | bit) - cov_now } else { 0.0 };
            let hz = hazard(
                ctx.innovation[j],
                ctx.campaign[j],
                imit,
                ctx.gamma,
                dcov,
                p2p_w * g,
                ctx.phi,
                rescued & bit != 0,
                ctx.delta,
                sub[j],
            );
            if hi_u01(words[j]) < hz {
                added |= bit;
            }
        } else if ((d >> (4 * j)) & 0xf) >= ctx.churn_months && hi_u01(words[j]) < ctx.churn_rate {
            dropped |= bit;
        }
    }
    let new_h = (h | added) & !dropped;
    for j in 0..p {
        if (added | dropped) & (1 << j) != 0 {
            d &= !(0xf << (4 * j));
        }
    }

    // Primary wallet.
    let new_pi = if new_h == 0 {
        NO_PRIMARY
    } else {
        let forced = pi >= p || new_h & (1 << pi) == 0;
        if forced || hi_u01(head) < ctx.primary_review {
            let b_total = recv_total;
            let mut util = [f64::NEG_INFINITY; 8];
            let mut best = f64::NEG_INFINITY;
            for j in 0..p {
                if new_h & (1 << j) == 0 {
                    continue;
                }
                let b = if b_total > 0.0 { recv[j] / b_total } else { 0.0 };
                let e = if m > 0 { prim[j] as f64 / m as f64 } else { 0.0 };
                let u = ctx.brand[j]
                    + ctx.beta_bal * b * (1.0 + ctx.withdrawal_fee[j] / 0.001)
                    + ctx.beta_soc * e
                    + ctx.eta * sub[j]
                    + ctx.beta_cov * cov_of(1 << j);
                util[j] = u;
                best = best.max(u);
            }
            logit_pick(new_h, |j| (util[j] - best).exp(), u01(sd.draw(1)))
        } else {
            pi as u8
        }
    };

    for j in 0..p {
        if new_h & (1 << j) != 0 {
            acc.holders[j] += 1;
        }
    }
    if new_pi != NO_PRIMARY {
        acc.primaries[new_pi as usize] += 1;
    }
    if new_h != 0 {
        acc.adopters += 1;
    }
    if new_h.count_ones() >= 2 {
        acc.multihoming += 1;
    }
    (new_h, new_pi, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occasion_probabilities() {
        assert_eq!(occasion_prob(0.0, 10), 0.0);
        assert_eq!(occasion_prob(1.0, 10), 1.0);
        assert!((occasion_prob(0.1, 2) - 0.19).abs() < 1e-12);
        assert!((occasion_prob(0.5, 1) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn hazard_adds_its_terms_and_clamps() {
        // 0.001 + 2·0.05 + 0.05·(0.1 + 0.2) + 0.1 + 0.5·0.02 = 0.226
        let h = hazard(0.001, 2.0, 0.05, 0.05, 0.1, 0.2, 0.1, true, 0.5, 0.02);
        assert!((h - 0.226).abs() < 1e-12);
        assert_eq!(hazard(0.9, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0, false, 0.0, 0.0), 1.0);
        assert_eq!(hazard(0.0, 1.0, 0.0, 1.0, -0.5, 0.0, 0.0, false, 0.0, 0.0), 0.0);
    }
}
