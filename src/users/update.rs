//! The hot loop: one user's month (MODEL.md steps 4–5): routed payments, p2p transfers (in
//! `p2p`), purchase occasions, adoption, churn and the default re-choice, reading last month's
//! buffer and writing this month's.
//!
//! Owns: `update_user` and its phases, the lane tables. Reads: `UserCtx`, the state words, the
//! contacts sampled by `contacts`, the transfers and returns of `p2p`. Never: anything allocated per user, output.

use super::annual::remember;
use super::contacts::{default_shift, ContactsOf};
use super::p2p::{p2p_transfers, returns};
use super::{hazard, occasion_prob, UserAcc, UserCtx};
use crate::payments::hp_index;
use crate::rng::{hi_u01, lo_u01, u01};
use crate::world::{defaults, logit_pick, logit_pick_any, state, NO_PRIMARY};

/// A table over wallet sets: entry `h` has `fill` in lane `j` (lanes `width` bits wide) for
/// every bit `j` set in `h`.
pub(crate) const fn lane_table(width: u32, fill: u64) -> [u64; 256] {
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
pub(crate) const NIBBLES: [u64; 256] = lane_table(4, 0xf);

/// `SPREAD[h]` has byte `j` equal to bit `j` of `h`: adding it counts, in eight byte-wide lanes
/// at once, how many contacts hold each platform (at most 64 contacts, so a lane never overflows).
pub(crate) const SPREAD: [u64; 256] = lane_table(8, 1);

/// `ONE_IN_LANE[π]` is 1 in byte lane `π` for a platform, 0 for none ([`NO_PRIMARY`]): adding
/// it counts defaults in eight lanes at once.
const ONE_IN_LANE: [u64; 16] = {
    let mut t = [0u64; 16];
    let mut j = 0;
    while j < 8 {
        t[j] = 1 << (8 * j);
        j += 1;
    }
    t
};

#[inline(always)]
pub(crate) fn lane(packed: u64, j: usize) -> u32 {
    ((packed >> (8 * j)) & 0xff) as u32
}

/// What a user's payments this month leave for the decisions: the share of spending paid
/// through each wallet, the share lost, and the wallets that would have rescued the losses.
pub(super) struct Paid {
    pub(super) val: [f64; 8],
    pub(super) lost: f64,
    pub(super) rescue: u8,
}

/// One user's month: payments, then decisions (MODEL.md steps 4–5). Returns the new state word
/// and dormancy. Each phase is a function of its own, inlined into this one. The split costs
/// 1.0% of instructions (callgrind, `paymarket run tests/fixtures/china_v1/china_2012_2021.toml --users
/// 20000 --merchants 2000 --threads 1`: 5,253,002,990 against 5,202,869,258 for the single
/// function), kept for a loop a reader can follow phase by phase.
///
/// `K` is the number of contexts (1 to 4): with one, the per-context loops and lookups compile
/// away, so a scenario without contexts runs the v1 loop; with more, they are unrolled.
#[inline]
pub(crate) fn update_user<const K: usize>(
    ctx: &UserCtx,
    i: usize,
    spend: f32,
    (st, ext): (u16, u16),
    dormancy: u32,
    contacts: ContactsOf,
    acc: &mut UserAcc,
) -> (u16, u32, u16) {
    let p = ctx.p;
    let hp_n = (1usize << p) * (p + 1);
    let x = spend as f64;
    let h = state::wallets(st);
    // The default in each context (`p` for none, as NO_PRIMARY > p): context 0's is the state
    // word's π.
    let mut pis = [p; 4];
    pis[0] = (state::primary(st) as usize).min(p);
    for (k, pi) in pis.iter_mut().enumerate().take(K).skip(1) {
        *pi = (defaults::get(ext, k) as usize).min(p);
    }
    let mask = if ctx.masks_in_state {
        state::networks(st)
    } else {
        ctx.member.mask(&ctx.member_stream.agent(i as u64))
    };
    let cls = ctx.tables.class_of_mask[mask as usize] as usize;
    let classes = ctx.tables.classes();
    let w = &ctx.tables.weight[cls];
    let hp = hp_index(p, h, pis[0]);
    let row = &ctx.tables.rows[cls * hp_n + hp];

    // Step 4: routed channels from the tables (one row per context, or one joint row for all),
    // then transfers to contacts.
    // The index of the combination of defaults (several contexts): `Σ_κ π_κ·(P+1)^κ`.
    let mut m = 0;
    if K > 1 {
        for k in (0..K).rev() {
            m = m * (p + 1) + pis[k];
        }
    }
    let mut paid = if K > 1 && !ctx.tables.joint.is_empty() {
        let m_n = (p + 1).pow(K as u32);
        let at = cls * (m_n << p) + h as usize * m_n + m;
        let jr = &ctx.tables.joint[at];
        acc.joint_spend[at] += x;
        Paid {
            val: jr.val,
            lost: jr.lost,
            rescue: jr.rescue,
        }
    } else {
        acc.spend[cls * hp_n + hp] += x;
        let mut paid = Paid {
            val: row.val,
            lost: row.lost,
            rescue: row.rescue,
        };
        for (k, &pi) in pis.iter().enumerate().take(K).skip(1) {
            let hp = hp_index(p, h, pi);
            let at = (k * classes + cls) * hp_n + hp;
            let rk = &ctx.tables.rows[at];
            acc.spend[at] += x;
            for j in 0..p {
                paid.val[j] += rk.val[j];
            }
            paid.lost += rk.lost;
            paid.rescue |= rk.rescue;
        }
        paid
    };
    // With several contexts, the reviews of the defaults are drawn now for a user holding two
    // wallets or more, so that when a reviewing context will read the balance shares over
    // every p2p channel, the returns are summed in the transfers' pass over the contacts
    // instead of a pass of their own (unused if adoption and churn leave one wallet). With one
    // context a review is rare enough that the pass of their own costs less (BENCHMARKS.md).
    let sd = ctx.step_stream.agent(i as u64);
    let early_reviews =
        (K > 1 && ctx.shared_balance != 0 && h.count_ones() >= 2).then(|| reviews::<K>(ctx, &sd));
    let recv = if early_reviews.is_some_and(|r| r & ctx.shared_balance != 0) {
        Some(p2p_transfers::<K, true>(
            ctx, x, h, &pis, w, contacts, acc, &mut paid,
        ))
    } else {
        p2p_transfers::<K, false>(ctx, x, h, &pis, w, contacts, acc, &mut paid);
        None
    };

    // Purchase occasions: which held wallets were used, and whether a payment was lost.
    // round(x / ticket), at least one purchase (x > 0, so adding one half and truncating rounds).
    let n_occ = ((x * ctx.per_ticket + 0.5) as u32).max(1);
    let head = sd.draw(0);
    let lost_now = paid.lost > 0.0 && lo_u01(head) < occasion_prob(paid.lost, n_occ);
    let rescued = if lost_now { paid.rescue } else { 0 };
    let mut words = [0u64; 8];
    let candidates = ctx.adoptable[mask as usize] & !h;
    let d = occasions(
        &sd, h, candidates, &paid.val, n_occ, dormancy, &mut words, acc,
    );

    // Step 5: adoption from contacts' wallets (last month's state), then churn.
    let adopt = Adoption {
        h,
        mask,
        candidates,
        rescued,
        p2p_weight: ctx.tables.p2p_weight[cls],
        base: &row.adopt,
    };
    let added = adoption(ctx, &adopt, (contacts.st, contacts.mask), &words);
    let dropped = churn(ctx, h, d, &words);
    let new_h = (h | added) & !dropped;
    // A new wallet starts unused for 0 months; a dropped one keeps, in its counter, when it
    // was last used (`remember`).
    let (d, annual) = remember(d & !(NIBBLES[added as usize] as u32), h, new_h, dropped);
    acc.by_annual_set[annual as usize] += 1;

    // Default wallets, context by context.
    let (new_pis, combination, new_ext) = new_defaults::<K>(
        ctx,
        Mover {
            x,
            h,
            new_h,
            cls,
            w,
        },
        (pis, m, ext),
        (&sd, early_reviews, recv),
        contacts,
    );
    acc.by_set[new_h as usize] += 1;
    if K == 1 {
        acc.by_default[0][(new_pis[0] & 0xf) as usize] += 1;
    } else {
        // One count per combination of defaults (`UserAcc::by_combination`); the counts by
        // context and the users with a default anywhere are derived from it once a month.
        acc.by_combination[combination] += 1;
    }
    (state::pack(new_h, new_pis[0], mask), d, new_ext)
}

/// What the default re-choice reads of the user: spending, wallet sets before and after this
/// month's adoption and churn, membership class and channel weights.
struct Mover<'a> {
    x: f64,
    h: u8,
    new_h: u8,
    cls: usize,
    w: &'a [f64],
}

/// The contexts that review their default this month, bit `κ` for context `κ`: context 0
/// reviews with the high half of draw 0, 1 the low and 2 the high half of review word
/// `REVIEW_DRAW`, 3 the low half of `REVIEW_DRAW + 1`. Each half is compared with the threshold
/// `review_below`: the same decision as its uniform (`lo_u01`, `hi_u01`) against `ρ_π,κ`,
/// without the conversion.
#[inline(always)]
fn reviews<const K: usize>(ctx: &UserCtx, sd: &crate::rng::AgentDraws) -> u8 {
    let head = sd.draw(0);
    let (w1, w3) = (
        if K > 1 { sd.draw(REVIEW_DRAW) } else { 0 },
        if K > 3 { sd.draw(REVIEW_DRAW + 1) } else { 0 },
    );
    let halves = [(head >> 32) as u32, w1 as u32, (w1 >> 32) as u32, w3 as u32];
    let mut bits = 0u8;
    for k in 0..K {
        bits |= (((halves[k] as u64) < ctx.review_below[k]) as u8) << k;
    }
    bits
}

/// Step 5, the defaults, context by context: re-chosen with probability `ρ_π,κ` (the review
/// bits of [`reviews`], drawn here unless the caller drew them), always when there is none or it
/// was dropped (see [`rechoose_default`]). Takes the old defaults (`pis`, `P` for none), their
/// combination index `m` and the defaults word; returns the new defaults, their combination
/// index ([`UserAcc::by_combination`]) and defaults word. Context κ ≥ 1 picks with draw
/// `PICK_DRAW + κ`, context 0 with draw 1 (v1's primary). The balance shares over every p2p
/// channel are computed once, when some context with a balance weight re-chooses, unless the
/// caller summed them already (`recv`).
#[inline(always)]
fn new_defaults<const K: usize>(
    ctx: &UserCtx,
    u: Mover,
    (pis, m, ext): ([usize; 4], usize, u16),
    (sd, reviews_drawn, mut recv): Early,
    contacts: ContactsOf,
) -> ([u8; 4], usize, u16) {
    let (p, x, h, new_h, cls, w) = (ctx.p, u.x, u.h, u.new_h, u.cls, u.w);
    // With several contexts, the combination index and defaults word of the new defaults are
    // the old ones changed where a context re-chooses.
    let mut new_pis = [NO_PRIMARY; 4];
    let (mut combination, mut new_ext) = (m, ext);
    let ones: usize = ctx.combination_pow[..K].iter().sum();
    let ext_ones = (0x1111u16 >> 4) & ((1u16 << (4 * (K - 1))).wrapping_sub(1));
    if new_h == 0 {
        // Nothing held: no default anywhere (index `P` in every context, `0xf` nibbles).
        (combination, new_ext) = (p * ones, 0xf * ext_ones);
    } else if new_h.count_ones() == 1 {
        // One wallet held: whatever the draws, it is the default (the logit has one term).
        let j = new_h.trailing_zeros() as u8;
        new_pis = [j; 4];
        (combination, new_ext) = (j as usize * ones, j as u16 * ext_ones);
    } else {
        let mut redo = reviews_drawn.unwrap_or_else(|| reviews::<K>(ctx, sd));
        for k in 0..K {
            let pi = pis[k];
            // No default (`pi = P`) or one dropped: bit `pi` of the new set is clear either
            // way, as the set has no bit `P`.
            let forced = (new_h as u32 >> pi) & 1 == 0;
            redo |= (forced as u8) << k;
            new_pis[k] = pi as u8;
        }
        while redo != 0 {
            let k = redo.trailing_zeros() as usize;
            redo &= redo - 1;
            let u = u01(sd.draw(if k == 0 { 1 } else { PICK_DRAW + k as u64 }));
            let returns = if ctx.balance_weight[k] == 0.0 {
                ([0.0; 8], 0.0)
            } else if K > 1 && ctx.own_balance[k] {
                // The balance share over this context's own p2p channels only.
                returns::<K>(ctx, x, h, w, contacts, Some(k))
            } else {
                *recv.get_or_insert_with(|| returns::<K>(ctx, x, h, w, contacts, None))
            };
            let j = rechoose_default::<K>(ctx, k, new_h, cls, returns, contacts, u);
            new_pis[k] = j;
            if K > 1 {
                // `π_κ` (`P` for none) becomes `j`: modular arithmetic, as `j` may be smaller.
                let step = (j as usize).wrapping_sub(pis[k]);
                combination = combination.wrapping_add(step.wrapping_mul(ctx.combination_pow[k]));
                if k > 0 {
                    new_ext = defaults::set(new_ext, k, j);
                }
            }
        }
    }
    (new_pis, combination, new_ext)
}

/// What [`new_defaults`] takes of the work done before it: the user's draws, the review bits
/// if drawn already ([`reviews`]) and the returns if summed already ([`p2p_transfers`]).
type Early<'a> = (
    &'a crate::rng::AgentDraws,
    Option<u8>,
    Option<([f64; 8], f64)>,
);

/// Draw index of the review of contexts 1 and 2 (low and high halves) and, plus one, of
/// context 3 (low half); draws 0–9 are context 0's and the wallets'.
const REVIEW_DRAW: u64 = 16;
/// Draw index of context κ's pick (κ ≥ 1).
const PICK_DRAW: u64 = 20;

/// Purchase occasions: each held wallet is used this month with the probability of at least
/// one of `n_occ` occasions paying through it; its dormancy counter resets when used and grows
/// (to 15 at most) when not. Draws the word of every held wallet and adoption candidate into
/// `words`; returns the new dormancy.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn occasions(
    sd: &crate::rng::AgentDraws,
    h: u8,
    candidates: u8,
    val: &[f64; 8],
    n_occ: u32,
    dormancy: u32,
    words: &mut [u64; 8],
    acc: &mut UserAcc,
) -> u32 {
    let mut d = dormancy;
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
    d
}

/// What the adoption step reads of the user.
struct Adoption<'a> {
    h: u8,
    mask: u16,
    candidates: u8,
    rescued: u8,
    p2p_weight: f64,
    base: &'a [f64; 8],
}

/// Step 5, adoption: the wallets among the candidates the user takes up this month, from the
/// contacts' wallets through each network (last month's state), the contacts it cannot pay,
/// coverage, campaigns and a rescued lost payment. The counts are needed only when some wallet
/// is a candidate.
#[inline(always)]
fn adoption(ctx: &UserCtx, a: &Adoption, (c_st, c_mask): (&[u16], &[u16]), words: &[u64; 8]) -> u8 {
    let m = c_st.len();
    let mut cnt = [0u32; 9];
    let mut hold = [0u64; 9];
    let mut unshared = 0u64;
    if a.candidates != 0 {
        let nets = &ctx.imitation_list[..ctx.imitation_list_len];
        for (&cs, &cm) in c_st.iter().zip(c_mask) {
            let their = SPREAD[state::wallets(cs) as usize];
            let shared = a.mask & cm;
            // Branch-free: whether a contact shares a network is a coin flip per contact.
            for &s in nets {
                let s = s as usize;
                let member = ((shared >> s) & 1) as u64;
                cnt[s] += member as u32;
                hold[s] += their & member.wrapping_neg();
            }
            let apart = (a.h & state::wallets(cs) & ctx.p2p_use == 0) as u64;
            unshared += their & apart.wrapping_neg();
        }
    }
    let mut added = 0u8;
    let mut todo = a.candidates;
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
            a.base[j],
            ctx.campaign[j],
            imit,
            ctx.coverage_weight,
            a.p2p_weight * g,
            ctx.rescue_weight,
            a.rescued & (1 << j) != 0,
        );
        if hi_u01(words[j]) < hz {
            added |= 1 << j;
        }
    }
    added
}

/// Step 5, churn: the held wallets unused for `churn_months` months or more that the user
/// drops, each with probability `churn_rate`.
#[inline(always)]
fn churn(ctx: &UserCtx, h: u8, d: u32, words: &[u64; 8]) -> u8 {
    let mut dropped = 0u8;
    let mut held = h;
    while held != 0 {
        let j = held.trailing_zeros() as usize;
        held &= held - 1;
        if ((d >> (4 * j)) & 0xf) >= ctx.churn_months && hi_u01(words[j]) < ctx.churn_rate {
            dropped |= 1 << j;
        }
    }
    dropped
}

/// Step 5, the default re-choice in context `k`: a logit over the wallets held after adoption
/// and churn, of the base utility (brand and its offset in `k`, coverage of `k`'s channels,
/// subsidy there), the share of p2p returns through each wallet (`returns`: over every p2p
/// channel, worked out once for the user, or over `k`'s own with `own_balance`) and the share
/// of contacts whose default in `k` it is; `u` is the uniform draw that picks.
#[inline(always)]
fn rechoose_default<const K: usize>(
    ctx: &UserCtx,
    k: usize,
    new_h: u8,
    cls: usize,
    (recv, recv_total): ([f64; 8], f64),
    contacts: ContactsOf,
    u: f64,
) -> u8 {
    let m = contacts.st.len();
    // Contacts by default in `k`, one byte-wide lane a platform (at most 64 contacts; none
    // counts nowhere).
    let shift = default_shift(k);
    let mut prim = 0u64;
    // With no social weight the social term is 0 whatever the counts: they are not taken.
    if ctx.social_weight[k] != 0.0 {
        if K > 1 {
            for &w in contacts.words {
                prim += ONE_IN_LANE[((w >> shift) & 0xf) as usize];
            }
        } else {
            for &st in contacts.st {
                prim += ONE_IN_LANE[state::primary(st) as usize];
            }
        }
    }
    let base = &ctx.tables.primary_base[k * ctx.tables.classes() + cls];
    let (balance_weight, social_weight) = (ctx.balance_weight[k], ctx.social_weight[k]);
    let mut util = [f64::NEG_INFINITY; 8];
    for j in 0..ctx.p {
        if new_h & (1 << j) == 0 {
            continue;
        }
        let b = if recv_total > 0.0 {
            recv[j] / recv_total
        } else {
            0.0
        };
        let e = if m > 0 {
            lane(prim, j) as f64 / m as f64
        } else {
            0.0
        };
        util[j] = base[j] + balance_weight * b * ctx.balance_factor[j] + social_weight * e;
    }
    // With several contexts a pick from two has no branch on its outcome (`logit_pick`); with
    // one, where a re-choice is a quarter as frequent, the general loop measured faster
    // (BENCHMARKS.md). The same pick either way.
    if K > 1 {
        logit_pick(new_h, |j| util[j], u)
    } else {
        logit_pick_any(new_h, |j| util[j], u)
    }
}
