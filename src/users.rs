//! Users' monthly update: payments (MODEL.md step 4) and decisions (step 5), fused per user.
//!
//! Each user reads its contacts' wallets and primaries from last month's buffer and writes its
//! own new state into the other buffer, so users can be updated in parallel in any order. The
//! loss record `L_i` and the balance shares `b_ij` are computed and consumed within the same
//! update, so they are never stored.
//!
//! Everything that depends only on a user's membership class (which channels are open to it,
//! with what weights) and its `(H, π)` is computed once a step in [`UserTables`]: the value
//! shares through each wallet, the lost share, the rescuers, the non-social part of the adoption
//! hazard and of the primary utility. The per-user work is then the contacts and the draws.
//! The pure rules are separate functions with unit tests; [`user_pass`] wires them together and
//! sums the month's aggregates chunk by chunk in a fixed order.

use crate::market::Market;
use crate::payments::{hp_index, split_into, ChannelTables};
use crate::policy::Policy;
use crate::rng::{hi_u01, lo_u01, u01, Stream, StreamId};
use crate::social::{community, contact_in, Membership};
use crate::world::{logit_pick, state, Users, BATCH, CHUNK, NO_PRIMARY};
use rayon::prelude::*;

/// Probability that at least one of `n` purchases went a way that takes share `v` of value:
/// `1 − (1 − v)^n`.
#[inline]
pub fn occasion_prob(v: f64, n: u32) -> f64 {
    if v <= 0.0 {
        0.0
    } else if v >= 1.0 {
        1.0
    } else {
        1.0 - pow_n(1.0 - v, n)
    }
}

/// `b^n` by repeated squaring, inlined (the library's `powi` is an out-of-line call).
#[inline(always)]
fn pow_n(mut b: f64, mut n: u32) -> f64 {
    let mut r = 1.0;
    while n > 0 {
        // The bits of n are data: select instead of branching.
        r *= if n & 1 == 1 { b } else { 1.0 };
        b *= b;
        n >>= 1;
    }
    r
}

/// The part of the adoption hazard that does not depend on contacts (MODEL.md step 5):
/// `p_j + γ·(COV_i(H ∪ {j}) − COV_i(H)) + δ·Σ_c ω_ic·sub_jc`.
#[inline]
pub fn adoption_base(
    innovation: f64,
    coverage_weight: f64,
    coverage_gain: f64,
    subsidy_weight: f64,
    subsidy: f64,
) -> f64 {
    innovation + coverage_weight * coverage_gain + subsidy_weight * subsidy
}

/// The adoption hazard of MODEL.md step 5, clamped to `[0, 1]`:
/// `base + κ_j·Σ_s q_{j,s}·f_ijs + γ·ω_i,p2p·g_ij + φ·[j ∈ L_i]`, with `base` from
/// [`adoption_base`], `imitation = Σ_s q_{j,s}·f_ijs` and `p2p_gain = ω_i,p2p·g_ij`.
///
/// ```
/// # use paymarket::users::hazard;
/// // Bass: p = 0.01, q = 0.3, 20% of contacts adopted.
/// assert!((hazard(0.01, 1.0, 0.3 * 0.2, 0.0, 0.0, 0.1, false) - 0.07).abs() < 1e-12);
/// ```
#[inline]
pub fn hazard(
    base: f64,
    campaign: f64,
    imitation: f64,
    coverage_weight: f64,
    p2p_gain: f64,
    rescue_weight: f64,
    rescued: bool,
) -> f64 {
    let rescue = if rescued { rescue_weight } else { 0.0 };
    let h = base + campaign * imitation + coverage_weight * p2p_gain + rescue;
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
    /// `split(V, c, π)` per `V * (P + 1) + π`: each platform's share of a transfer.
    pub split: Vec<[f64; 8]>,
}

impl P2pChannel {
    /// Builds the channel's split table from its logit weights.
    pub fn new(
        p: usize,
        c: usize,
        requires: u16,
        cash: bool,
        usable: u8,
        tables: &ChannelTables,
        loyalty: f64,
    ) -> P2pChannel {
        let mut split = vec![[0.0; 8]; (1 << p) * (p + 1)];
        for v in 1..(1usize << p) {
            for pi in 0..=p {
                split_into(
                    v as u8,
                    pi,
                    &tables.logit,
                    loyalty,
                    1.0,
                    &mut split[v * (p + 1) + pi],
                );
            }
        }
        P2pChannel {
            c,
            requires,
            cash,
            usable,
            split,
        }
    }
}

/// What a user with a given membership class and `(H, π)` gets from the routed channels.
#[derive(Debug, Clone, Copy, Default)]
pub struct Row {
    /// Share of the user's spending paid through each wallet in routed channels.
    pub val: [f64; 8],
    /// Share lost in routed channels.
    pub lost: f64,
    /// Platforms that would have rescued those losses.
    pub rescue: u8,
    /// [`adoption_base`] for each `j ∉ H`.
    pub adopt: [f64; 8],
}

/// Per-step tables of the user update, by membership class.
#[derive(Debug, Clone)]
pub struct UserTables {
    /// Membership mask → class (masks with the same channel weights share a class).
    pub class_of_mask: Vec<u16>,
    /// Per class: `ω_ic` for every channel.
    pub weight: Vec<Vec<f64>>,
    /// Per class: `ω_i,p2p`.
    pub p2p_weight: Vec<f64>,
    /// Per class: `θ_j + η·Σ_c ω_ic·sub_jc + β_cov·COV_i({j})`, the non-social primary utility.
    pub primary_base: Vec<[f64; 8]>,
    /// Per `class * HP + hp`.
    pub rows: Vec<Row>,
}

/// Inputs to [`UserTables::new`].
pub struct TableInputs<'a> {
    /// Platforms.
    pub p: usize,
    /// Spending weight per membership mask and channel, already normalised (`mask * C + c`).
    pub open_weight: &'a [f64],
    /// Channels routed by table (merchant and own).
    pub routed: &'a [usize],
    /// Every channel's tables.
    pub tables: &'a [ChannelTables],
    /// Which channels are p2p.
    pub is_p2p: &'a [bool],
    /// Subsidy per `j * C + c`.
    pub subsidy: &'a [f64],
    /// `p_j`.
    pub innovation: &'a [f64],
    /// `θ_j`.
    pub brand: &'a [f64],
    /// `γ`, MODEL.md step 5.
    pub coverage_weight: f64,
    /// `δ`, MODEL.md step 5.
    pub subsidy_weight: f64,
    /// `η`, MODEL.md step 3.
    pub subsidy_split: f64,
    /// `β_cov`, MODEL.md step 5.
    pub coverage_primary_weight: f64,
}

impl UserTables {
    /// Builds the tables for one month. Size: classes × `2^P·(P+1)` rows.
    pub fn new(inp: &TableInputs) -> UserTables {
        let p = inp.p;
        let c_n = inp.is_p2p.len();
        let n_masks = inp.open_weight.len() / c_n.max(1);
        let mut class_of_mask = vec![0u16; n_masks];
        let mut weight: Vec<Vec<f64>> = Vec::new();
        for mask in 0..n_masks {
            let w = &inp.open_weight[mask * c_n..][..c_n];
            let cls = match weight.iter().position(|x| x.as_slice() == w) {
                Some(k) => k,
                None => {
                    weight.push(w.to_vec());
                    weight.len() - 1
                }
            };
            class_of_mask[mask] = cls as u16;
        }
        let n_sets = 1usize << p;
        let hp_n = n_sets * (p + 1);
        let mut rows = vec![Row::default(); weight.len() * hp_n];
        let mut primary_base = vec![[0.0; 8]; weight.len()];
        let mut p2p_weight = vec![0.0; weight.len()];
        for (cls, w) in weight.iter().enumerate() {
            p2p_weight[cls] = (0..c_n).filter(|&c| inp.is_p2p[c]).map(|c| w[c]).sum();
            let cov = |set: usize| -> f64 {
                inp.routed
                    .iter()
                    .map(|&c| w[c] * inp.tables[c].cov[set])
                    .sum()
            };
            let sub: Vec<f64> = (0..p)
                .map(|j| (0..c_n).map(|c| w[c] * inp.subsidy[j * c_n + c]).sum())
                .collect();
            for j in 0..p {
                primary_base[cls][j] = inp.brand[j]
                    + inp.subsidy_split * sub[j]
                    + inp.coverage_primary_weight * cov(1 << j);
            }
            for h in 0..n_sets {
                let cov_h = cov(h);
                let mut adopt = [0.0; 8];
                for j in 0..p {
                    if h & (1 << j) == 0 {
                        let gain = if inp.coverage_weight != 0.0 {
                            cov(h | (1 << j)) - cov_h
                        } else {
                            0.0
                        };
                        adopt[j] = adoption_base(
                            inp.innovation[j],
                            inp.coverage_weight,
                            gain,
                            inp.subsidy_weight,
                            sub[j],
                        );
                    }
                }
                for pi in 0..=p {
                    let hp = hp_index(p, h as u8, pi);
                    let row = &mut rows[cls * hp_n + hp];
                    row.adopt = adopt;
                    for &c in inp.routed {
                        if w[c] == 0.0 {
                            continue;
                        }
                        let r = &inp.tables[c].route[hp * (p + 2)..][..p + 2];
                        for j in 0..p {
                            row.val[j] += w[c] * r[j];
                        }
                        if r[p + 1] > 0.0 {
                            row.lost += w[c] * r[p + 1];
                            row.rescue |= inp.tables[c].rescue[h];
                        }
                    }
                }
            }
        }
        UserTables {
            class_of_mask,
            weight,
            p2p_weight,
            primary_base,
            rows,
        }
    }

    /// Number of membership classes.
    pub fn classes(&self) -> usize {
        self.weight.len()
    }
}

/// Everything the user update reads in one month.
pub struct UserCtx<'a> {
    /// Platforms.
    pub p: usize,
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
    /// Per-class tables.
    pub tables: &'a UserTables,
    /// P2p channels.
    pub p2p: &'a [P2pChannel],
    /// Union of `use_c` over p2p channels (what "sharing a usable wallet" means for `g`).
    pub p2p_use: u8,
    /// Platforms a user may adopt this month (launched, prerequisite met), per membership mask.
    pub adoptable: Vec<u8>,
    /// `κ_j(t)`.
    pub campaign: [f64; 8],
    /// The non-zero imitation weights of each platform: `(network, q_{j,s})`.
    pub imitation_terms: [[(u8, f64); 9]; 8],
    /// How many of `imitation_terms[j]` are in use.
    pub imitation_len: [usize; 8],
    /// Networks some platform imitates through, as a list.
    pub imitation_list: [u8; 9],
    /// How many of `imitation_list` are in use.
    pub imitation_list_len: usize,
    /// Whether contacts' memberships matter (a network other than everyone is used).
    pub contact_masks: bool,
    /// Whether memberships are in the state words (at most [`crate::world::STATE_NETWORKS`] networks).
    pub masks_in_state: bool,
    /// `1 + wf_j/0.001`, the balance multiplier of the primary choice.
    pub balance_factor: [f64; 8],
    /// `γ`, MODEL.md step 5.
    pub coverage_weight: f64,
    /// `φ`, MODEL.md step 5.
    pub rescue_weight: f64,
    /// `ρ_π`.
    pub primary_review: f64,
    /// `β_bal`, MODEL.md step 5.
    pub balance_weight: f64,
    /// `β_soc`, MODEL.md step 5.
    pub social_weight: f64,
    /// `D_churn`.
    pub churn_months: u32,
    /// `χ`.
    pub churn_rate: f64,
    /// Purchases per RMB, `1 / ticket`.
    pub per_ticket: f64,
}

/// `ω_ic` for every membership mask (`mask * C + c`): each open channel's weight, shifted by
/// the factors in force for the networks in the mask, normalised over the open channels.
fn open_weights(market: &Market, policy: &Policy) -> Vec<f64> {
    let (c_n, s1) = (market.channels, market.networks);
    let mut open_weight = vec![0.0; market.n_masks * c_n];
    for mask in (1..market.n_masks).step_by(2) {
        let w = &mut open_weight[mask * c_n..][..c_n];
        for c in 0..c_n {
            if mask as u16 & market.channel_requires[c] == 0 {
                continue;
            }
            let mut f = market.weight[c];
            for sn in 0..s1 {
                if mask & (1 << sn) != 0 {
                    f *= policy.shift_now[c * s1 + sn];
                }
            }
            w[c] = f;
        }
        let total: f64 = w.iter().sum();
        if total > 0.0 {
            w.iter_mut().for_each(|x| *x /= total);
        }
    }
    open_weight
}

impl UserTables {
    /// This month's tables, from the market, the policy in force and the channels' routing
    /// tables.
    pub fn for_month(market: &Market, policy: &Policy, tables: &[ChannelTables]) -> UserTables {
        let prm = &market.params;
        UserTables::new(&TableInputs {
            p: market.platforms,
            open_weight: &open_weights(market, policy),
            routed: &market.routed,
            tables,
            is_p2p: &market.is_p2p,
            subsidy: &policy.subsidy,
            innovation: &market.innovation,
            brand: &market.brand,
            coverage_weight: prm.coverage_weight,
            subsidy_weight: prm.subsidy_weight,
            subsidy_split: prm.subsidy_split,
            coverage_primary_weight: prm.coverage_primary_weight,
        })
    }
}

impl P2pChannel {
    /// This month's p2p channels, in channel order.
    pub fn for_month(
        market: &Market,
        policy: &Policy,
        tables: &[ChannelTables],
    ) -> Vec<P2pChannel> {
        (0..market.channels)
            .filter(|&c| market.is_p2p[c])
            .map(|c| {
                P2pChannel::new(
                    market.platforms,
                    c,
                    market.channel_requires[c],
                    market.cash[c],
                    policy.use_set[c],
                    &tables[c],
                    market.params.loyalty,
                )
            })
            .collect()
    }
}

/// Where a month's user pass draws from: the month index `t` and the run's `seed`.
#[derive(Debug, Clone, Copy)]
pub struct Draws {
    /// Master seed of the run.
    pub seed: u64,
    /// Step index.
    pub t: usize,
    /// The month.
    pub month: crate::month::Month,
}

impl<'a> UserCtx<'a> {
    /// What the user pass reads this month (MODEL.md steps 4–5): the market, the policy in
    /// force, this month's tables and memberships, and the month's draws; `n` users.
    pub fn for_month(
        market: &Market,
        policy: &Policy,
        tables: &'a UserTables,
        p2p: &'a [P2pChannel],
        member: &'a Membership,
        draws: Draws,
        n: u64,
    ) -> UserCtx<'a> {
        let (p, s1) = (market.platforms, market.networks);
        let prm = &market.params;
        let launched = market.launched(draws.month);
        let adoptable: Vec<u8> = (0..market.n_masks)
            .map(|mask| {
                launched
                    & (0..p)
                        .filter(|&j| mask as u16 & market.platform_requires[j] != 0)
                        .fold(0u8, |a, j| a | 1 << j)
            })
            .collect();
        let mut imitation_list = [0u8; 9];
        let mut imitation_list_len = 0;
        for sn in 0..s1 {
            if (0..p).any(|j| policy.imitation[j * s1 + sn] != 0.0) {
                imitation_list[imitation_list_len] = sn as u8;
                imitation_list_len += 1;
            }
        }
        let mut imitation_terms = [[(0u8, 0.0f64); 9]; 8];
        let mut imitation_len = [0usize; 8];
        for j in 0..p {
            for sn in 0..s1 {
                let q = policy.imitation[j * s1 + sn];
                if q != 0.0 {
                    imitation_terms[j][imitation_len[j]] = (sn as u8, q);
                    imitation_len[j] += 1;
                }
            }
        }
        let uses_networks = market.requires_networks
            || policy
                .imitation
                .chunks(s1)
                .any(|q| q[1..].iter().any(|&x| x != 0.0));
        let per_platform = |f: &dyn Fn(usize) -> f64| {
            let mut a = [0.0; 8];
            for (j, x) in a.iter_mut().enumerate().take(p) {
                *x = f(j);
            }
            a
        };
        UserCtx {
            p,
            n,
            b: prm.community_size as u64,
            eps16: (prm.long_range * 65536.0).round() as u32,
            k: prm.contacts as usize,
            member,
            member_stream: Stream::new(draws.seed, StreamId::Membership, 0),
            contact_stream: Stream::new(draws.seed, StreamId::Contacts, draws.t as u64),
            step_stream: Stream::new(draws.seed, StreamId::UserStep, draws.t as u64),
            tables,
            p2p,
            p2p_use: p2p.iter().fold(0, |m, ch| m | ch.usable),
            adoptable,
            campaign: per_platform(&|j| policy.campaign[j]),
            imitation_terms,
            imitation_len,
            imitation_list,
            imitation_list_len,
            contact_masks: s1 > 1 && uses_networks,
            // Memberships of this month go into the state words, when they fit.
            masks_in_state: s1 - 1 <= crate::world::STATE_NETWORKS,
            balance_factor: per_platform(&|j| 1.0 + policy.withdrawal_fee[j] / 0.001),
            coverage_weight: prm.coverage_weight,
            rescue_weight: prm.rescue_weight,
            primary_review: prm.primary_review,
            balance_weight: prm.balance_weight,
            social_weight: prm.social_weight,
            churn_months: prm.churn_months,
            churn_rate: prm.churn_rate,
            per_ticket: 1.0 / prm.ticket,
        }
    }
}

/// Spending per channel and `(H, π)` in agent units (`c * HP + hp`: the users' spending by
/// class times the class weights), and per channel.
pub fn channel_spending(
    market: &Market,
    tables: &UserTables,
    ua: &UserAcc,
) -> (Vec<f64>, Vec<f64>) {
    let (c_n, hp_n) = (market.channels, market.hp_n);
    let mut w_c = vec![0.0f64; c_n * hp_n];
    let mut spend_c = vec![0.0f64; c_n];
    for (cls, wt) in tables.weight.iter().enumerate() {
        let sp = &ua.spend[cls * hp_n..][..hp_n];
        for c in 0..c_n {
            if wt[c] == 0.0 {
                continue;
            }
            for (hp, &x) in sp.iter().enumerate() {
                w_c[c * hp_n + hp] += x * wt[c];
            }
        }
    }
    for c in 0..c_n {
        spend_c[c] = w_c[c * hp_n..][..hp_n].iter().sum();
    }
    (w_c, spend_c)
}

/// The month's user-side sums (in agent units), merged in chunk order.
#[derive(Debug, Clone)]
pub struct UserAcc {
    /// Spending per `class * HP + hp` (before channel weights).
    pub spend: Vec<f64>,
    /// P2p value per `c * (P + 2) + k` (platforms, cash, lost).
    pub p2p: Vec<f64>,
    /// Users by wallet set at the end of the month.
    pub by_set: [u64; 256],
    /// Users by primary wallet at the end of the month (index [`NO_PRIMARY`] for none).
    pub by_primary: [u64; 16],
    /// Users who used each platform this month.
    pub active: [u64; 8],
}

impl UserAcc {
    fn new(p: usize, c: usize, classes: usize) -> UserAcc {
        let hp_n = (1usize << p) * (p + 1);
        UserAcc {
            spend: vec![0.0; classes * hp_n],
            p2p: vec![0.0; c * (p + 2)],
            by_set: [0; 256],
            by_primary: [0; 16],
            active: [0; 8],
        }
    }

    fn merge(&mut self, o: &UserAcc) {
        for (a, b) in self.spend.iter_mut().zip(&o.spend) {
            *a += b;
        }
        for (a, b) in self.p2p.iter_mut().zip(&o.p2p) {
            *a += b;
        }
        for (a, b) in self.by_set.iter_mut().zip(&o.by_set) {
            *a += b;
        }
        for (a, b) in self.by_primary.iter_mut().zip(&o.by_primary) {
            *a += b;
        }
        for (a, b) in self.active.iter_mut().zip(&o.active) {
            *a += b;
        }
    }

    /// Users holding platform `j` at the end of the month.
    pub fn holders(&self, j: usize) -> u64 {
        self.by_set
            .iter()
            .enumerate()
            .filter(|(h, _)| h & (1 << j) != 0)
            .map(|(_, n)| n)
            .sum()
    }

    /// Users whose primary is platform `j` at the end of the month.
    pub fn primaries(&self, j: usize) -> u64 {
        self.by_primary[j]
    }

    /// Users holding at least one wallet.
    pub fn adopters(&self) -> u64 {
        self.by_set[1..].iter().sum()
    }

    /// Users holding at least two wallets.
    pub fn multihoming(&self) -> u64 {
        self.by_set
            .iter()
            .enumerate()
            .filter(|(h, _)| h.count_ones() >= 2)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Writes each user's membership of month `t` into the spare bits of its state word (the
/// buffer holding last month's state), so that the user update reads its own and its contacts'
/// networks without hashing. Only used when the scenario has at most [`crate::world::STATE_NETWORKS`] networks.
pub fn membership_pass(users: &mut Users, member: &Membership, stream: Stream) {
    let cur = users.cur;
    users.state[cur]
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(ci, chunk)| {
            for (off, st) in chunk.iter_mut().enumerate() {
                let i = (ci * CHUNK + off) as u64;
                *st = state::with_networks(*st, member.mask(&stream.agent(i)));
            }
        });
}

/// Users per block whose contacts are fetched together before any of them is updated: the
/// contacts' state words are scattered over the whole population, and loading a block's worth
/// in one tight loop lets the processor overlap the cache misses instead of waiting for each.
const BLOCK: usize = 32;

/// Updates every user for one month and returns the month's sums.
pub fn user_pass(ctx: &UserCtx, channels: usize, users: &mut Users) -> UserAcc {
    let cur = users.cur;
    let (first, second) = users.state.split_at_mut(1);
    let (old, new) = if cur == 0 {
        (&first[0], &mut second[0])
    } else {
        (&second[0], &mut first[0])
    };
    let n = users.spend.len();
    let classes = ctx.tables.classes();
    let mut total = UserAcc::new(ctx.p, channels, classes);
    let span = CHUNK * BATCH;
    let mut start = 0;
    while start < n {
        let end = (start + span).min(n);
        let parts: Vec<UserAcc> = new[start..end]
            .par_chunks_mut(CHUNK)
            .zip(users.dormancy[start..end].par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(k, (out, dorm))| {
                let base = start + k * CHUNK;
                let mut acc = UserAcc::new(ctx.p, channels, classes);
                // Two blocks in flight: while one block is updated, the next block's contacts
                // are on their way from memory.
                let (mut contacts, mut ahead) = (Contacts::new(), Contacts::new());
                ahead.sample(ctx, base, BLOCK.min(out.len()), old);
                for b0 in (0..out.len()).step_by(BLOCK) {
                    let b1 = (b0 + BLOCK).min(out.len());
                    std::mem::swap(&mut contacts, &mut ahead);
                    if b1 < out.len() {
                        ahead.sample(ctx, base + b1, (b1 + BLOCK).min(out.len()) - b1, old);
                    }
                    contacts.load(ctx, old);
                    for off in b0..b1 {
                        let i = base + off;
                        let (st, d) = update_user(
                            ctx,
                            i,
                            users.spend[i],
                            old[i],
                            dorm[off],
                            contacts.of(off - b0),
                            &mut acc,
                        );
                        out[off] = st;
                        dorm[off] = d;
                    }
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

/// Most contacts a user samples a month.
pub const MAX_CONTACTS: usize = 64;

/// The sampled contacts of a block of users: state words and membership masks.
struct Contacts {
    idx: Vec<u32>,
    st: Vec<u16>,
    mask: Vec<u16>,
    count: [usize; BLOCK],
    len: usize,
}

/// Hints the processor to bring `v[i]` into cache. Contacts' state words are scattered over the
/// whole population; with the hint issued a block of users ahead, the user update finds them in
/// cache instead of waiting on memory (measured: see BENCHMARKS.md). Does nothing where the
/// hint is not available.
#[inline(always)]
fn prefetch(v: &[u16], i: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let p = v.as_ptr().wrapping_add(i) as *const i8;
        // SAFETY: `_mm_prefetch` only hints the cache: it never faults, reads or writes
        // program-visible memory, whatever the address (here inside `v`, as `i` is a user
        // index). SSE is part of the x86_64 baseline.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (v, i);
}

impl Contacts {
    fn new() -> Contacts {
        Contacts {
            idx: vec![0; BLOCK * MAX_CONTACTS],
            st: vec![0; BLOCK * MAX_CONTACTS],
            mask: vec![1; BLOCK * MAX_CONTACTS],
            count: [0; BLOCK],
            len: 0,
        }
    }

    /// Samples the contacts of users `first..first + len` and asks the processor to start
    /// fetching their state words (see [`prefetch`]); [`Contacts::load`] reads them a block
    /// later, when they have arrived.
    #[inline]
    fn sample(&mut self, ctx: &UserCtx, first: usize, len: usize, old: &[u16]) {
        let (mut start, mut size) = community(first as u64, ctx.n, ctx.b);
        for u in 0..len {
            let i = (first + u) as u64;
            if i >= start + ctx.b {
                (start, size) = community(i, ctx.n, ctx.b);
            }
            let draws = ctx.contact_stream.agent(i);
            let row = &mut self.idx[u * MAX_CONTACTS..][..MAX_CONTACTS];
            let mut m = 0;
            for k in 0..ctx.k {
                if let Some(r) = contact_in(i, ctx.n, start, size, ctx.eps16, draws.draw(k as u64))
                {
                    row[m] = r as u32;
                    prefetch(old, r as usize);
                    m += 1;
                }
            }
            self.count[u] = m;
        }
        self.len = len;
    }

    /// Loads the sampled contacts' state words and membership masks.
    #[inline]
    fn load(&mut self, ctx: &UserCtx, old: &[u16]) {
        for u in 0..self.len {
            let m = self.count[u];
            let idx = &self.idx[u * MAX_CONTACTS..][..m];
            let st = &mut self.st[u * MAX_CONTACTS..][..m];
            for (s, &r) in st.iter_mut().zip(idx) {
                *s = old[r as usize];
            }
        }
        if ctx.masks_in_state {
            for u in 0..self.len {
                let m = self.count[u];
                let st = &self.st[u * MAX_CONTACTS..][..m];
                let mask = &mut self.mask[u * MAX_CONTACTS..][..m];
                for (x, s) in mask.iter_mut().zip(st) {
                    *x = state::networks(*s);
                }
            }
        } else if ctx.contact_masks {
            // More networks than the state word holds: hash each contact's membership.
            for u in 0..self.len {
                for k in 0..self.count[u] {
                    let r = self.idx[u * MAX_CONTACTS + k] as u64;
                    self.mask[u * MAX_CONTACTS + k] = ctx.member.mask(&ctx.member_stream.agent(r));
                }
            }
        }
    }

    #[inline]
    fn of(&self, u: usize) -> (&[u16], &[u16]) {
        let m = self.count[u];
        (
            &self.st[u * MAX_CONTACTS..][..m],
            &self.mask[u * MAX_CONTACTS..][..m],
        )
    }
}

/// A table over wallet sets: entry `h` has `fill` in lane `j` (lanes `width` bits wide) for
/// every bit `j` set in `h`.
const fn lane_table(width: u32, fill: u64) -> [u64; 256] {
    let mut t = [0u64; 256];
    let mut h = 0;
    while h < 256 {
        let mut j = 0;
        while j < 8 {
            if h & (1 << j) != 0 {
                t[h] |= fill << (width * j);
            }
            j += 1;
        }
        h += 1;
    }
    t
}

/// `NIBBLES[h]` has nibble `j` set to `0xf` where bit `j` of `h` is set: the dormancy counters
/// of the wallets in `h`.
const NIBBLES: [u64; 256] = lane_table(4, 0xf);

/// `SPREAD[h]` has byte `j` equal to bit `j` of `h`: adding it counts, in eight byte-wide lanes
/// at once, how many contacts hold each platform (at most 64 contacts, so a lane never overflows).
const SPREAD: [u64; 256] = lane_table(8, 1);

#[inline(always)]
fn lane(packed: u64, j: usize) -> u32 {
    ((packed >> (8 * j)) & 0xff) as u32
}

/// The p2p value a user receives back through each wallet, and in all (cash and lost returns
/// included): each contact paid sends the same amount back, routed by the contact's own
/// primary (MODEL.md step 4, the balance shares `b_ij`).
#[inline]
fn returns(
    ctx: &UserCtx,
    x: f64,
    h: u8,
    w: &[f64],
    c_st: &[u16],
    c_mask: &[u16],
) -> ([f64; 8], f64) {
    let p = ctx.p;
    let mut recv = [0.0f64; 8];
    let mut total = 0.0;
    for ch in ctx.p2p {
        let wc = w[ch.c];
        let eligible = c_mask.iter().filter(|&&cm| cm & ch.requires != 0).count();
        if wc == 0.0 || eligible == 0 {
            continue;
        }
        let per = x * wc / eligible as f64;
        total += per * eligible as f64;
        // Branch-free, as in the transfers themselves: the empty set's split row is all zeros.
        let mut sum = [0.0f64; 8];
        for (&st, &cm) in c_st.iter().zip(c_mask) {
            let ok = (cm & ch.requires != 0) as u8;
            let usable = h & state::wallets(st) & ch.usable & ok.wrapping_neg();
            let rpi = (state::primary(st) as usize).min(p);
            let sr = &ch.split[usable as usize * (p + 1) + rpi];
            for j in 0..8 {
                sum[j] += sr[j];
            }
        }
        for j in 0..p {
            recv[j] += per * sum[j];
        }
    }
    (recv, total)
}

/// One user's month: payments, then decisions. Returns the new state word and dormancy.
#[inline]
fn update_user(
    ctx: &UserCtx,
    i: usize,
    spend: f32,
    st: u16,
    dormancy: u32,
    (c_st, c_mask): (&[u16], &[u16]),
    acc: &mut UserAcc,
) -> (u16, u32) {
    let p = ctx.p;
    let hp_n = (1usize << p) * (p + 1);
    let x = spend as f64;
    let h = state::wallets(st);
    let pi_raw = state::primary(st);
    let pi = if pi_raw == NO_PRIMARY {
        p
    } else {
        pi_raw as usize
    };
    let mask = if ctx.masks_in_state {
        state::networks(st)
    } else {
        ctx.member.mask(&ctx.member_stream.agent(i as u64))
    };
    let cls = ctx.tables.class_of_mask[mask as usize] as usize;
    let w = &ctx.tables.weight[cls];
    let hp = hp_index(p, h, pi);
    let row = &ctx.tables.rows[cls * hp_n + hp];
    acc.spend[cls * hp_n + hp] += x;
    let m = c_st.len();

    // Step 4, routed channels, from the table.
    let mut val = row.val;
    let mut lost = row.lost;
    let mut rescue = row.rescue;

    // Step 4, p2p channels: transfers to contacts (the returns are computed only if the primary
    // is re-chosen, the one place they are used).
    for ch in ctx.p2p {
        let wc = w[ch.c];
        if wc == 0.0 {
            continue;
        }
        // Sum the split of one transfer over the eligible contacts, then scale once.
        let mut sum = [0.0f64; 8];
        let mut eligible = 0u32;
        let mut unpaid = 0u32;
        let mut unpaid_wallets = 0u8;
        // Branch-free: eligibility and a shared wallet are coin flips per contact. The split
        // table's row for the empty set is all zeros, so ineligible or unpaid contacts add 0.
        for (&cs, &cm) in c_st.iter().zip(c_mask) {
            let ok = (cm & ch.requires != 0) as u8;
            let their = state::wallets(cs) & ch.usable & ok.wrapping_neg();
            let usable = h & their;
            let s = &ch.split[usable as usize * (p + 1) + pi];
            for j in 0..8 {
                sum[j] += s[j];
            }
            let none = ok & (usable == 0) as u8;
            eligible += ok as u32;
            unpaid += none as u32;
            unpaid_wallets |= their & none.wrapping_neg();
        }
        let amount = x * wc;
        let out = &mut acc.p2p[ch.c * (p + 2)..][..p + 2];
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
        for j in 0..p {
            out[j] += per * sum[j];
            val[j] += share * sum[j];
        }
        // Whether any contact went unpaid is a coin flip: no branch on it.
        if ch.cash {
            out[p] += per * unpaid as f64;
        } else {
            out[p + 1] += per * unpaid as f64;
            lost += share * unpaid as f64;
            rescue |= unpaid_wallets;
        }
    }

    // Purchase occasions: which held wallets were used, and whether a payment was lost.
    let sd = ctx.step_stream.agent(i as u64);
    // round(x / ticket), at least one purchase (x > 0, so adding one half and truncating rounds).
    let n_occ = ((x * ctx.per_ticket + 0.5) as u32).max(1);
    let head = sd.draw(0);
    let lost_now = lost > 0.0 && lo_u01(head) < occasion_prob(lost, n_occ);
    let rescued = if lost_now { rescue } else { 0 };
    let mut d = dormancy;
    let mut words = [0u64; 8];
    let candidates = ctx.adoptable[mask as usize] & !h;
    let mut drawn = h | candidates;
    while drawn != 0 {
        let j = drawn.trailing_zeros() as usize;
        drawn &= drawn - 1;
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

    // Step 5: adoption from contacts' wallets (last month's state). The counts are needed only
    // when some wallet is a candidate for adoption.
    let mut cnt = [0u32; 9];
    let mut hold = [0u64; 9];
    let mut unshared = 0u64;
    if candidates != 0 {
        let nets = &ctx.imitation_list[..ctx.imitation_list_len];
        for (&cs, &cm) in c_st.iter().zip(c_mask) {
            let their = SPREAD[state::wallets(cs) as usize];
            let shared = mask & cm;
            // Branch-free: whether a contact shares a network is a coin flip per contact.
            for &s in nets {
                let s = s as usize;
                let member = ((shared >> s) & 1) as u64;
                cnt[s] += member as u32;
                hold[s] += their & member.wrapping_neg();
            }
            let apart = (h & state::wallets(cs) & ctx.p2p_use == 0) as u64;
            unshared += their & apart.wrapping_neg();
        }
    }
    let p2p_w = ctx.tables.p2p_weight[cls];
    let mut added = 0u8;
    let mut dropped = 0u8;
    let mut todo = candidates;
    while todo != 0 {
        let j = todo.trailing_zeros() as usize;
        todo &= todo - 1;
        let mut imit = 0.0;
        for &(s, q) in &ctx.imitation_terms[j][..ctx.imitation_len[j]] {
            let s = s as usize;
            if cnt[s] > 0 {
                imit += q * lane(hold[s], j) as f64 / cnt[s] as f64;
            }
        }
        let g = if m > 0 {
            lane(unshared, j) as f64 / m as f64
        } else {
            0.0
        };
        let hz = hazard(
            row.adopt[j],
            ctx.campaign[j],
            imit,
            ctx.coverage_weight,
            p2p_w * g,
            ctx.rescue_weight,
            rescued & (1 << j) != 0,
        );
        if hi_u01(words[j]) < hz {
            added |= 1 << j;
        }
    }
    let mut held = h;
    while held != 0 {
        let j = held.trailing_zeros() as usize;
        held &= held - 1;
        if ((d >> (4 * j)) & 0xf) >= ctx.churn_months && hi_u01(words[j]) < ctx.churn_rate {
            dropped |= 1 << j;
        }
    }
    let new_h = (h | added) & !dropped;
    // A new wallet starts unused for 0 months; a dropped one leaves its counter at 0.
    d &= !(NIBBLES[(added | dropped) as usize] as u32);

    // Primary wallet: re-chosen with probability ρ_π, always when it has none or lost it.
    let new_pi = if new_h == 0 {
        NO_PRIMARY
    } else {
        let forced = pi >= p || new_h & (1 << pi) == 0;
        if forced || hi_u01(head) < ctx.primary_review {
            let (recv, recv_total) = returns(ctx, x, h, w, c_st, c_mask);
            let mut prim = [0u32; 16];
            for &cs in c_st {
                prim[state::primary(cs) as usize] += 1;
            }
            let base = &ctx.tables.primary_base[cls];
            let mut util = [f64::NEG_INFINITY; 8];
            for j in 0..p {
                if new_h & (1 << j) == 0 {
                    continue;
                }
                let b = if recv_total > 0.0 {
                    recv[j] / recv_total
                } else {
                    0.0
                };
                let e = if m > 0 {
                    prim[j] as f64 / m as f64
                } else {
                    0.0
                };
                util[j] = base[j]
                    + ctx.balance_weight * b * ctx.balance_factor[j]
                    + ctx.social_weight * e;
            }
            logit_pick(new_h, |j| util[j], u01(sd.draw(1)))
        } else {
            pi as u8
        }
    };

    acc.by_set[new_h as usize] += 1;
    acc.by_primary[new_pi as usize] += 1;
    (state::pack(new_h, new_pi, mask), d)
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
        // base 0.001 + 0.05·0.1 + 0.5·0.02 = 0.016; + 2·0.05 + 0.05·0.2 + 0.1 = 0.226
        let base = adoption_base(0.001, 0.05, 0.1, 0.5, 0.02);
        assert!((base - 0.016).abs() < 1e-15);
        let h = hazard(base, 2.0, 0.05, 0.05, 0.2, 0.1, true);
        assert!((h - 0.226).abs() < 1e-12);
        assert_eq!(hazard(0.9, 1.0, 0.5, 0.0, 0.0, 0.0, false), 1.0);
        assert_eq!(hazard(-0.5, 1.0, 0.0, 0.0, 0.0, 0.0, false), 0.0);
    }

    #[test]
    fn state_words_pack_wallets_primary_and_networks() {
        let s = state::pack(0b1010_0001, 3, 0b1_0101);
        assert_eq!(state::wallets(s), 0b1010_0001);
        assert_eq!(state::primary(s), 3);
        assert_eq!(state::networks(s), 0b1_0101);
        assert_eq!(state::primary(state::pack(0, NO_PRIMARY, 1)), NO_PRIMARY);
        let t = state::with_networks(s, 0b1_1011);
        assert_eq!(
            (state::wallets(t), state::primary(t), state::networks(t)),
            (0b1010_0001, 3, 0b1_1011)
        );
    }
}
