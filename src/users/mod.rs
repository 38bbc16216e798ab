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
//!
//! Owns: the pure user rules, `UserCtx`, `UserAcc`, `user_pass`, `membership_pass`. Reads: the
//! market, the policy, the payment tables, `world::Users`. Never: record, output, sim.

use crate::market::Market;
use crate::policy::Policy;
use crate::rng::{Stream, StreamId};
use crate::social::Membership;
use crate::world::{fold_chunks, state, Users, Word, CHUNK};
use rayon::prelude::*;

mod acc;
mod annual;
mod contacts;
mod far;
mod p2p;
mod tables;
mod update;

pub use acc::UserAcc;
use contacts::Contacts;
pub use far::FarTable;
#[cfg(test)]
pub(crate) use far::COUNTS_IGNORED;
pub use tables::*;
use update::*;

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
    /// Per membership mask, whether a user with that mask and no wallet reads no contact this
    /// month: nothing to adopt and no p2p channel open to it (so no transfers, no adoption
    /// counts and no default to choose). Such users' contacts are not drawn. Empty when the
    /// memberships are not in the state words (the mask would have to be hashed to know).
    pub quiet: Vec<bool>,
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
    /// `K`: contexts.
    pub contexts: usize,
    /// `(P+1)^κ` per context: the weight of context `κ`'s default in the index of a
    /// combination of defaults ([`UserAcc::by_combination`], [`UserTables::joint`]).
    pub combination_pow: [usize; 4],
    /// `ρ_π,κ` per context, as a threshold on a 32-bit half of a draw ([`below`]): a review
    /// happens when the half is below it, exactly when its uniform is below `ρ_π,κ`.
    pub review_below: [u64; 4],
    /// `β_bal,κ` per context, MODEL.md step 5.
    pub balance_weight: [f64; 4],
    /// `β_soc,κ` per context, MODEL.md step 5.
    pub social_weight: [f64; 4],
    /// Whether each context's balance share counts only its own p2p channels.
    pub own_balance: [bool; 4],
    /// The contexts whose re-choice reads the balance share over every p2p channel (balance
    /// weight not 0, `own_balance` off): bit `κ` for context `κ`.
    pub shared_balance: u8,
    /// `D_churn`.
    pub churn_months: u32,
    /// `χ`.
    pub churn_rate: f64,
    /// Purchases per RMB, `1 / ticket`.
    pub per_ticket: f64,
    /// With `agents.long_range = "table"`, the month's table of words that long-range
    /// contacts are drawn from; `None` reads the drawn user's word.
    pub far: Option<&'a FarTable>,
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
        let masks_in_state = s1 - 1 <= crate::world::STATE_NETWORKS;
        let quiet = if masks_in_state {
            quiet_masks(&adoptable, tables, p2p)
        } else {
            Vec::new()
        };
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
        let per_context = |f: &dyn Fn(&crate::market::ContextParams) -> f64| {
            let mut a = [0.0; 4];
            for (x, k) in a.iter_mut().zip(&market.context) {
                *x = f(k);
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
            quiet,
            campaign: per_platform(&|j| policy.campaign[j]),
            imitation_terms,
            imitation_len,
            imitation_list,
            imitation_list_len,
            contact_masks: s1 > 1 && uses_networks,
            // Memberships of this month go into the state words, when they fit.
            masks_in_state,
            balance_factor: per_platform(&|j| 1.0 + policy.withdrawal_fee[j] / 0.001),
            coverage_weight: prm.coverage_weight,
            rescue_weight: prm.rescue_weight,
            contexts: market.contexts,
            combination_pow: [0, 1, 2, 3].map(|k| (p + 1).pow(k)),
            review_below: per_context(&|k| k.primary_review).map(below),
            balance_weight: per_context(&|k| k.balance_weight),
            social_weight: per_context(&|k| k.social_weight),
            own_balance: {
                let mut a = [false; 4];
                for (x, k) in a.iter_mut().zip(&market.context) {
                    *x = k.own_balance;
                }
                a
            },
            shared_balance: shared_balance(market),
            churn_months: prm.churn_months,
            churn_rate: prm.churn_rate,
            per_ticket: 1.0 / prm.ticket,
            far: None,
        }
    }
}

/// [`UserCtx::quiet`]: the membership masks whose users, holding no wallet, have nothing to
/// adopt and no p2p channel with a weight. For them the update reads no contact: the transfers'
/// loop skips every channel of weight 0, adoption is skipped without candidates and the
/// default re-choice without a wallet.
fn quiet_masks(adoptable: &[u8], tables: &UserTables, p2p: &[P2pChannel]) -> Vec<bool> {
    #[cfg(test)]
    if NO_QUIET.get() {
        return vec![false; adoptable.len()];
    }
    adoptable
        .iter()
        .enumerate()
        .map(|(mask, &adopt)| {
            let w = &tables.weight[tables.class_of_mask[mask] as usize];
            adopt == 0 && p2p.iter().all(|ch| w[ch.c] == 0.0)
        })
        .collect()
}

#[cfg(test)]
thread_local! {
    /// Tests only: contexts built on this thread mark no membership quiet
    /// ([`UserCtx::quiet`]), so that every user's contacts are drawn.
    pub(crate) static NO_QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
thread_local! {
    /// Tests only: on this thread, no context is marked as reading the balance shares over
    /// every p2p channel ([`UserCtx::shared_balance`]), so that the returns are never summed in
    /// the transfers' pass and a test can run their pass of their own beside it.
    pub(crate) static SEPARATE_RETURNS: std::cell::Cell<bool> =
        const { std::cell::Cell::new(false) };
}

/// [`UserCtx::shared_balance`]: the contexts with a balance weight that read the balance
/// shares over every p2p channel (with one context, `own_balance` does not apply).
fn shared_balance(market: &Market) -> u8 {
    #[cfg(test)]
    if SEPARATE_RETURNS.get() {
        return 0;
    }
    let several = market.contexts > 1;
    let mut bits = 0;
    for (k, c) in market.context.iter().enumerate() {
        if c.balance_weight != 0.0 && !(several && c.own_balance) {
            bits |= 1 << k;
        }
    }
    bits
}

/// The threshold `T` for which a 32-bit draw `b` has `b < T` exactly when its uniform
/// `b / 2^32` ([`crate::rng::lo_u01`], [`crate::rng::hi_u01`]) is below `prob`: `⌈prob·2^32⌉`,
/// clamped to `0..=2^32` (the scaling by a power of two is exact, so the comparison is too).
pub fn below(prob: f64) -> u64 {
    let x = prob * 4_294_967_296.0;
    if x.is_nan() || x <= 0.0 {
        0
    } else if x >= 4_294_967_296.0 {
        1 << 32
    } else {
        x.ceil() as u64
    }
}

/// Writes each user's membership of month `t` into the spare bits of its state word (the
/// buffer holding last month's state), so that the user update reads its own and its contacts'
/// networks without hashing. Only used when the scenario has at most [`crate::world::STATE_NETWORKS`] networks.
pub fn membership_pass(users: &mut Users, member: &Membership, stream: Stream) {
    if users.has_defaults() {
        write_networks::<u32>(users, member, stream);
    } else {
        write_networks::<u16>(users, member, stream);
    }
}

/// [`membership_pass`] on the buffers of word `W`.
fn write_networks<W: Word>(users: &mut Users, member: &Membership, stream: Stream) {
    let cur = users.cur;
    W::buffers(&mut users.state, &mut users.words)[cur]
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(ci, chunk)| {
            for (off, w) in chunk.iter_mut().enumerate() {
                let i = (ci * CHUNK + off) as u64;
                let st = state::with_networks(w.state(), member.mask(&stream.agent(i)));
                *w = W::join(st, w.defaults());
            }
        });
}

/// Last month's buffer (`cur`) to read and this month's to write.
fn buffers<T>(pair: &mut [Vec<T>; 2], cur: usize) -> (&[T], &mut [T]) {
    let (first, second) = pair.split_at_mut(1);
    if cur == 0 {
        (&first[0], &mut second[0])
    } else {
        (&second[0], &mut first[0])
    }
}

/// Users per block whose contacts are fetched together before any of them is updated: the
/// contacts' state words are scattered over the whole population, and loading a block's worth
/// in one tight loop lets the processor overlap the cache misses instead of waiting for each.
const BLOCK: usize = 32;

/// A worker thread's buffers for the user pass, kept from chunk to chunk and month to month
/// rather than made for every chunk: the dense accumulator of spending per joint row (all zeros
/// between chunks, [`UserAcc::in_chunk`]) and the two blocks of contacts in flight (each block's
/// are written before they are read).
struct Scratch {
    joint: Vec<f64>,
    contacts: [Contacts; 2],
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            joint: Vec::new(),
            contacts: [Contacts::new(), Contacts::new()],
        }
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Option<Scratch>> = const { std::cell::RefCell::new(None) };
}

/// Updates every user for one month and returns the month's sums.
pub fn user_pass(ctx: &UserCtx, channels: usize, users: &mut Users) -> UserAcc {
    let mut acc = match ctx.contexts {
        1 => pass::<1, u16>(ctx, channels, users),
        2 => pass::<2, u32>(ctx, channels, users),
        3 => pass::<3, u32>(ctx, channels, users),
        _ => pass::<4, u32>(ctx, channels, users),
    };
    acc.finish_defaults();
    acc.finish_joint(ctx.tables);
    acc
}

/// [`user_pass`] for `K` contexts, whose users' words are `W` (`u16` for one context, `u32`
/// for several).
fn pass<const K: usize, W: Word>(ctx: &UserCtx, channels: usize, users: &mut Users) -> UserAcc {
    let cur = users.cur;
    let (old, new) = buffers(W::buffers(&mut users.state, &mut users.words), cur);
    let n = users.spend.len();
    let classes = ctx.tables.classes();
    let spend = &users.spend;
    let total = fold_chunks(
        n,
        (&mut new[..], &mut users.dormancy[..]),
        |(st, dorm), k| {
            let (st0, st1) = st.split_at_mut(k);
            let (d0, d1) = dorm.split_at_mut(k);
            ((st0, d0), (st1, d1))
        },
        || {
            UserAcc::new(
                ctx.p,
                channels,
                classes,
                ctx.contexts,
                ctx.tables.joint.len(),
            )
        },
        |base, (out, dorm), acc| {
            SCRATCH.with_borrow_mut(|scratch| {
                let Scratch { joint, contacts } = scratch.get_or_insert_with(Scratch::new);
                let [contacts, ahead] = contacts;
                acc.in_chunk(joint, |acc| {
                    // Two blocks in flight: while one block is updated, the next block's
                    // contacts are on their way from memory.
                    ahead.sample(ctx, base, BLOCK.min(out.len()), old);
                    for b0 in (0..out.len()).step_by(BLOCK) {
                        let b1 = (b0 + BLOCK).min(out.len());
                        std::mem::swap(contacts, ahead);
                        if b1 < out.len() {
                            let len = (b1 + BLOCK).min(out.len()) - b1;
                            ahead.sample(ctx, base + b1, len, old);
                        }
                        contacts.load(ctx, old);
                        for off in b0..b1 {
                            let i = base + off;
                            let (st, d, e) = update_user::<K>(
                                ctx,
                                i,
                                spend[i],
                                (old[i].state(), old[i].defaults()),
                                dorm[off],
                                contacts.of(off - b0),
                                acc,
                            );
                            out[off] = W::join(st, e);
                            dorm[off] = d;
                        }
                    }
                })
            })
        },
        |total, part| total.merge(part),
    );
    users.cur = 1 - cur;
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::NO_PRIMARY;

    /// The integer review threshold agrees with the uniform's comparison, at the edges too.
    #[test]
    fn review_thresholds_match_the_uniforms() {
        use crate::rng::{hi_u01, lo_u01};
        assert_eq!(below(0.0), 0);
        assert_eq!(below(-1.0), 0);
        assert_eq!(below(1.0), 1 << 32);
        // 0.25·2^32 = 2^30 exactly: b < 2^30.
        assert_eq!(below(0.25), 1 << 30);
        for prob in [0.25, 0.05, 0.4, 1e-9, 0.999_999_999, 1.0 / 3.0] {
            let t = below(prob);
            for b in [t.saturating_sub(1), t, t + 1, 0, u32::MAX as u64] {
                if b > u32::MAX as u64 {
                    continue;
                }
                let word = b | (b << 32);
                assert_eq!(lo_u01(word) < prob, b < t, "prob {prob}, low half {b}");
                assert_eq!(hi_u01(word) < prob, b < t, "prob {prob}, high half {b}");
            }
        }
    }

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
