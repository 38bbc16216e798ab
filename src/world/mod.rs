//! The agents' state: users and merchants as structs of arrays, and the initial state of
//! MODEL.md section 2.
//!
//! Per user: spending `x_i` (`f32`), one state word holding the wallet set `H`, the primary `π`
//! and the month's memberships ([`state`]; double buffered because contacts read it), and the
//! months since each held wallet was last used (4 bits per platform in a `u32`, read and written
//! only by the owner). That is 12 bytes a user; community, membership uniforms and every other
//! attribute are derived from `(seed, i)`. The loss record `L_i` of MODEL.md is written and read inside the same user
//! update, so it is never stored. This module owns storage and initialisation, not the rules.
//!
//! Owns: `Users`, `Merchants`, the state word, `init`, the memory check. Reads: the scenario, the
//! policy, memberships, draws. Never: the rules, output.

use crate::policy::Policy;
use crate::rng::{hi_u01, lo_u01, std_normal, u01, Stream, StreamId};
use crate::scenario::{ChannelKind, Scenario};
use crate::social::Membership;
use rayon::prelude::*;
use statrs::distribution::{ContinuousCDF, Normal};
use std::ops::Range;

mod logit;
mod memory;
mod users;
pub use logit::logit_pick;
pub(crate) use logit::logit_pick_any;
pub use memory::*;
pub use users::{Users, Word};

/// `π` value meaning "no primary wallet".
pub const NO_PRIMARY: u8 = 0xf;

/// Networks whose membership is kept in the state word (the first four declared); with more
/// networks, membership is recomputed from its hash wherever it is needed.
pub const STATE_NETWORKS: usize = 4;

/// A user's state word: wallet set `H` in bits 0–7, primary `π` in bits 8–11 ([`NO_PRIMARY`]
/// for none) and, in bits 12–15, membership of the first four declared networks in the month
/// being simulated (written by the membership pass at the start of each step). One word per
/// user, so a contact's wallets, primary and networks come in one memory access.
pub mod state {
    /// Packs a state word.
    #[inline(always)]
    pub fn pack(h: u8, primary: u8, networks: u16) -> u16 {
        h as u16 | ((primary as u16) & 0xf) << 8 | (networks >> 1 & 0xf) << 12
    }

    /// The wallet set.
    #[inline(always)]
    pub fn wallets(st: u16) -> u8 {
        st as u8
    }

    /// The primary wallet, or [`super::NO_PRIMARY`].
    #[inline(always)]
    pub fn primary(st: u16) -> u8 {
        ((st >> 8) & 0xf) as u8
    }

    /// The membership mask (bit 0 everyone, bit `s` network `s`) of the stored networks.
    #[inline(always)]
    pub fn networks(st: u16) -> u16 {
        (st >> 12) << 1 | 1
    }

    /// The word with its membership bits replaced.
    #[inline(always)]
    pub fn with_networks(st: u16, networks: u16) -> u16 {
        (st & 0x0fff) | (networks >> 1 & 0xf) << 12
    }
}

/// The defaults word of a user with several contexts: the default wallet `π_iκ` of context
/// `κ = 1, 2, 3` in bits `4(κ−1)..4κ` ([`NO_PRIMARY`] for none). Context 0's default is the
/// state word's `π`, so a one-context scenario has no defaults word at all.
pub mod defaults {
    /// The default of context `k` (1..=3).
    #[inline(always)]
    pub fn get(word: u16, k: usize) -> u8 {
        ((word >> (4 * (k - 1))) & 0xf) as u8
    }

    /// The word with context `k`'s default (1..=3) set to `pi`.
    #[inline(always)]
    pub fn set(word: u16, k: usize, pi: u8) -> u16 {
        let shift = 4 * (k - 1);
        (word & !(0xf << shift)) | ((pi as u16 & 0xf) << shift)
    }
}

/// Users per reduction chunk. Partial sums are taken per chunk and combined in chunk order, so
/// totals do not depend on the number of threads.
pub const CHUNK: usize = 4096;
/// Chunks processed per parallel batch (bounds the memory of the partial sums).
pub const BATCH: usize = 256;

/// The one ordered reduction of the crate: runs `f` over [`CHUNK`]-sized pieces of the `n`
/// agents held in `data`, [`BATCH`] chunks at a time in parallel, and merges the chunks' partial
/// sums into `zero()` in chunk order, so that totals do not depend on the number of threads.
/// `split(data, k)` cuts the agents' slices after agent `k`; `f(first, piece, acc)` gets the
/// index of the piece's first agent.
///
/// ```
/// use paymarket::world::fold_chunks;
/// let mut v: Vec<u64> = (0..10_000).collect();
/// let sum = fold_chunks(
///     v.len(),
///     v.as_mut_slice(),
///     |s, k| s.split_at_mut(k),
///     || 0u64,
///     |_, piece, acc| {
///         for x in piece.iter_mut() {
///             *x *= 2;
///             *acc += *x;
///         }
///     },
///     |total, part| *total += part,
/// );
/// assert_eq!(sum, 9_999 * 10_000);
/// assert_eq!(v[4_999], 9_998);
/// ```
pub fn fold_chunks<S: Send, A: Send>(
    n: usize,
    mut data: S,
    split: impl Fn(S, usize) -> (S, S),
    zero: impl Fn() -> A + Sync,
    f: impl Fn(usize, S, &mut A) + Sync,
    mut merge: impl FnMut(&mut A, &A),
) -> A {
    let mut total = zero();
    let mut start = 0;
    while start < n {
        let mut pieces = Vec::with_capacity(BATCH);
        let end = (start + CHUNK * BATCH).min(n);
        let mut at = start;
        while at < end {
            let len = CHUNK.min(end - at);
            let (piece, rest) = split(data, len);
            pieces.push((at, piece));
            data = rest;
            at += len;
        }
        let parts: Vec<A> = pieces
            .into_par_iter()
            .map(|(first, piece)| {
                let mut acc = zero();
                f(first, piece, &mut acc);
                acc
            })
            .collect();
        for part in &parts {
            merge(&mut total, part);
        }
        start = end;
    }
    total
}

/// Merchant agents, struct of arrays, grouped by channel.
#[derive(Debug, Clone)]
pub struct Merchants {
    /// Channel of each merchant.
    pub channel: Vec<u8>,
    /// Size `z_k`.
    pub size: Vec<f32>,
    /// Size class: 0 small, 1 large.
    pub class: Vec<u8>,
    /// Accepted set `A_k`.
    pub accepted: Vec<u8>,
    /// Step at which each accepted contract expires, `k * P + j`.
    pub expiry: Vec<u16>,
    /// Agent index range of each channel.
    pub ranges: Vec<Range<usize>>,
    /// Sum of sizes per channel.
    pub size_sum: Vec<f64>,
    /// Size mass per channel, class and accepted set: `c * 2 * 2^P + class * 2^P + A`.
    pub mass: Vec<f64>,
}

/// Splits `m` agents over channels by largest remainder in proportion to `shops`, at least one
/// per channel with shops.
pub fn split_agents(m: u64, shops: &[f64]) -> Vec<u64> {
    let total: f64 = shops.iter().sum();
    let mut out = vec![0u64; shops.len()];
    if total <= 0.0 || m == 0 {
        return out;
    }
    let quotas: Vec<f64> = shops.iter().map(|s| m as f64 * s / total).collect();
    for (o, q) in out.iter_mut().zip(&quotas) {
        *o = q.floor() as u64;
    }
    let mut left = m - out.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..shops.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = quotas[a] - quotas[a].floor();
        let fb = quotas[b] - quotas[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &c in &order {
        if left == 0 {
            break;
        }
        out[c] += 1;
        left -= 1;
    }
    // At least one agent per channel with shops, taken from the largest.
    for c in 0..shops.len() {
        if shops[c] > 0.0 && out[c] == 0 {
            let big = (0..shops.len())
                .max_by_key(|&k| (out[k], std::cmp::Reverse(k)))
                .expect("channels");
            if out[big] > 1 {
                out[big] -= 1;
                out[c] = 1;
            }
        }
    }
    out
}

/// `a` such that `E[min(1, a·z^bias)] = share` for `z ~ LogNormal(0, σ)` (closed form in Φ,
/// solved by bisection on `ln a`).
pub fn acceptance_scale(share: f64, sigma: f64, bias: f64) -> f64 {
    if share <= 0.0 {
        return 0.0;
    }
    if share >= 1.0 {
        return f64::INFINITY;
    }
    let bs = bias * sigma;
    if bs == 0.0 {
        return share;
    }
    let n = Normal::standard();
    let mean = |ln_a: f64| {
        // z* where a·e^{bσZ} = 1.
        let zs = -ln_a / bs;
        ln_a.exp() * (bs * bs / 2.0).exp() * n.cdf(zs - bs) + (1.0 - n.cdf(zs))
    };
    let (mut lo, mut hi) = (-60.0f64, 60.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mean(mid) < share {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (0.5 * (lo + hi)).exp()
}

/// Builds the initial state (MODEL.md section 2).
pub fn init(s: &Scenario, policy: &Policy, seed: u64) -> (Users, Merchants) {
    (init_users(s, policy, seed), init_merchants(s, seed))
}

fn init_users(s: &Scenario, policy: &Policy, seed: u64) -> Users {
    let n = s.agents.users as usize;
    let p = s.platforms.len();
    let mu = s.params.median_spend.ln();
    let sigma = s.params.spend_sigma;
    let attr = Stream::new(seed, StreamId::UserAttr, 0);
    let init = Stream::new(seed, StreamId::UserInit, 0);
    let mem_stream = Stream::new(seed, StreamId::Membership, 0);
    let membership = Membership::new(&policy.membership(s, s.start));
    let networks = s.network_ids();
    let launched_at_start: Vec<bool> = s
        .platforms
        .iter()
        .map(|pl| pl.launch.is_none_or(|l| l <= s.start))
        .collect();
    let req: Vec<u16> = s
        .platforms
        .iter()
        .map(|pl| 1u16 << networks.iter().position(|x| *x == pl.requires).unwrap_or(0))
        .collect();
    let k_n = policy.contexts;
    // θ_j + θ_{j,κ} per context: the scenario's base offsets (events dated `start` apply in
    // step 0, after the initial state).
    let brand: Vec<Vec<f64>> = (0..k_n)
        .map(|k| {
            s.platforms
                .iter()
                .enumerate()
                .map(|(j, pl)| pl.brand + policy.base_brand[j * k_n + k])
                .collect()
        })
        .collect();
    let init_share: Vec<f64> = s.platforms.iter().map(|pl| pl.init_users).collect();

    let mut spend = vec![0f32; n];
    let mut state = vec![0u16; n];
    let mut extra = vec![0u16; if k_n > 1 { n } else { 0 }];
    let mut extra_chunks: Vec<&mut [u16]> = if k_n > 1 {
        extra.chunks_mut(CHUNK).collect()
    } else {
        (0..n.div_ceil(CHUNK)).map(|_| &mut [][..]).collect()
    };
    spend
        .par_chunks_mut(CHUNK)
        .zip(state.par_chunks_mut(CHUNK))
        .zip(extra_chunks.par_iter_mut())
        .enumerate()
        .for_each(|(ci, ((sp, st), ex))| {
            for k in 0..sp.len() {
                let i = (ci * CHUNK + k) as u64;
                sp[k] = (mu + sigma * std_normal(attr.agent(i).draw(0))).exp() as f32;
                let mask = membership.mask(&mem_stream.agent(i));
                let d = init.agent(i);
                let mut h = 0u8;
                for j in 0..p {
                    if launched_at_start[j]
                        && mask & req[j] != 0
                        && lo_u01(d.draw(j as u64)) < init_share[j]
                    {
                        h |= 1 << j;
                    }
                }
                // Context κ draws with key `p + κ`: context 0 is v1's primary draw.
                let pick = |kk: usize| {
                    if h == 0 {
                        NO_PRIMARY
                    } else {
                        logit_pick(h, |j| brand[kk][j], u01(d.draw((p + kk) as u64)))
                    }
                };
                st[k] = state::pack(h, pick(0), mask);
                if k_n > 1 {
                    let mut word = 0u16;
                    for kk in 1..k_n {
                        word = defaults::set(word, kk, pick(kk));
                    }
                    ex[k] = word;
                }
            }
        });
    drop(extra_chunks);
    let dormancy = vec![0u32; n];
    if k_n == 1 {
        let first = huge_copy(&state);
        drop(state);
        return Users {
            spend,
            state: [huge_copy(&first), first],
            dormancy,
            words: [Vec::new(), Vec::new()],
            cur: 0,
            contexts: 1,
        };
    }
    let words: Vec<u32> = state
        .iter()
        .zip(&extra)
        .map(|(&st, &ext)| u32::join(st, ext))
        .collect();
    drop((state, extra));
    // Each buffer copied for huge pages, the source dropped first: two buffers at the most.
    let first = huge_copy(&words);
    drop(words);
    Users {
        spend,
        state: [Vec::new(), Vec::new()],
        dormancy,
        words: [huge_copy(&first), first],
        cur: 0,
        contexts: k_n,
    }
}

fn init_merchants(s: &Scenario, seed: u64) -> Merchants {
    let p = s.platforms.len();
    let n_sets = 1usize << p;
    let shops: Vec<f64> = s
        .channels
        .iter()
        .map(|ch| {
            if ch.kind == ChannelKind::Merchant {
                ch.shops
            } else {
                0.0
            }
        })
        .collect();
    let counts = split_agents(s.agents.merchants, &shops);
    let total: usize = counts.iter().sum::<u64>() as usize;
    let mut ranges = Vec::new();
    let mut start = 0usize;
    for &k in &counts {
        ranges.push(start..start + k as usize);
        start += k as usize;
    }
    let attr = Stream::new(seed, StreamId::MerchantAttr, 0);
    let init = Stream::new(seed, StreamId::MerchantInit, 0);
    let t_max = s.params.contract_max as f64;
    let mut channel = vec![0u8; total];
    let mut size = vec![0f32; total];
    let mut class = vec![0u8; total];
    let mut accepted = vec![0u8; total];
    let mut expiry = vec![0u16; total * p];
    let normal = Normal::standard();
    for (c, ch) in s.channels.iter().enumerate() {
        let r = ranges[c].clone();
        let q = ch.small_quantile;
        let threshold = if q <= 0.0 {
            0.0
        } else if q >= 1.0 {
            f64::INFINITY
        } else {
            (ch.size_sigma * normal.inverse_cdf(q)).exp()
        };
        let scales: Vec<f64> = s
            .platforms
            .iter()
            .map(|pl| {
                let share = ch.init_accept.get(&pl.id).copied().unwrap_or(0.0);
                acceptance_scale(share, ch.size_sigma, s.params.init_size_bias)
            })
            .collect();
        let bias = s.params.init_size_bias;
        channel[r.clone()].iter_mut().for_each(|x| *x = c as u8);
        size[r.clone()]
            .par_iter_mut()
            .zip(class[r.clone()].par_iter_mut())
            .zip(accepted[r.clone()].par_iter_mut())
            .zip(expiry[r.start * p..r.end * p].par_chunks_mut(p.max(1)))
            .enumerate()
            .for_each(|(off, (((z, cl), acc), exp))| {
                let k = (r.start + off) as u64;
                let zk = (ch.size_sigma * std_normal(attr.agent(k).draw(0))).exp();
                *z = zk as f32;
                *cl = if zk < threshold { 0 } else { 1 };
                let d = init.agent(k);
                for j in 0..p {
                    let prob = (scales[j] * zk.powf(bias)).min(1.0);
                    let x = d.draw(j as u64);
                    if prob > 0.0 && lo_u01(x) < prob {
                        *acc |= 1 << j;
                        // Remaining length uniform in 1..=T_max: expires at step len - 1.
                        let len = 1 + (hi_u01(x) * t_max) as u16;
                        exp[j] = len - 1;
                    }
                }
            });
    }
    let size_sum: Vec<f64> = ranges
        .iter()
        .map(|r| size[r.clone()].iter().map(|&z| z as f64).sum())
        .collect();
    let mut m = Merchants {
        channel,
        size,
        class,
        accepted,
        expiry,
        ranges,
        size_sum,
        mass: vec![0.0; s.channels.len() * 2 * n_sets],
    };
    m.mass = mass_of(&m, s.channels.len(), p);
    m
}

/// Size mass per channel, class and accepted set, summed in agent order.
pub fn mass_of(m: &Merchants, channels: usize, p: usize) -> Vec<f64> {
    let n_sets = 1usize << p;
    let mut mass = vec![0.0; channels * 2 * n_sets];
    for k in 0..m.size.len() {
        let c = m.channel[k] as usize;
        mass[c * 2 * n_sets + m.class[k] as usize * n_sets + m.accepted[k] as usize] +=
            m.size[k] as f64;
    }
    mass
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_networks_are_the_state_words_networks() {
        assert_eq!(STATE_NETWORKS, crate::scenario::TABLE_MAX_NETWORKS);
    }

    #[test]
    fn agents_split_by_largest_remainder() {
        assert_eq!(split_agents(10, &[1.0, 1.0, 1.0]), vec![4, 3, 3]);
        assert_eq!(split_agents(10, &[0.0, 3.0, 1.0]), vec![0, 8, 2]);
        // A tiny channel still gets one agent.
        assert_eq!(split_agents(10, &[1000.0, 1.0]), vec![9, 1]);
    }

    #[test]
    fn acceptance_scale_hits_the_share() {
        // Check by numerical integration over the normal.
        for &(share, sigma, bias) in &[(0.3, 1.0, 1.0), (0.05, 1.5, 1.0), (0.9, 0.5, 2.0)] {
            let a = acceptance_scale(share, sigma, bias);
            let n = 200_000;
            let normal = Normal::standard();
            let mut mean = 0.0;
            for k in 0..n {
                let z = normal.inverse_cdf((k as f64 + 0.5) / n as f64);
                mean += (a * (sigma * bias * z).exp()).min(1.0);
            }
            mean /= n as f64;
            assert!((mean - share).abs() < 1e-3, "share {share}: mean {mean}");
        }
        assert_eq!(acceptance_scale(0.3, 0.0, 1.0), 0.3);
    }
}
