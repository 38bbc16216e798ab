//! The month's user-side sums: counts by wallet set, by combination of defaults and by the set
//! of wallets used in the year, spending per payment row, merged in chunk order and finished
//! once a month.
//!
//! Owns: `UserAcc`. Reads: the user tables' shape. Never: agents, draws, output.

use super::UserTables;
use crate::payments::hp_index;

/// The users counted in `by_set` (users per wallet set) whose set has platform `j`.
fn with_platform(by_set: &[u64; 256], j: usize) -> u64 {
    by_set
        .iter()
        .enumerate()
        .filter(|(h, _)| h & (1 << j) != 0)
        .map(|(_, n)| n)
        .sum()
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
    /// Users by default wallet in each context at the end of the month (`[κ][π]`, index
    /// [`NO_PRIMARY`](crate::world::NO_PRIMARY) for none); context 0's is v1's primary.
    pub by_default: [[u64; 16]; 4],
    /// Users for whom each platform is the default in at least one context (counted only with
    /// several contexts; with one it is `by_default[0]`).
    pub default_anywhere: [u64; 8],
    /// Users who used each platform this month.
    pub active: [u64; 8],
    /// Users by the set of wallets they used in the last 12 months, a wallet dropped within
    /// them included (MODEL.md section 6); [`UserAcc::annual`] counts each platform's.
    pub by_annual_set: [u64; 256],
    /// `K`: contexts.
    pub contexts: usize,
    /// With several contexts, users by their combination of defaults: index
    /// `Σ_κ min(π_κ, P)·(P+1)^κ` (`P` for none). The user update counts one cell where it would
    /// count `K` defaults and up to `K` platforms defaulted anywhere;
    /// `UserAcc::finish_defaults` derives `by_default` and `default_anywhere` from it.
    pub by_combination: Vec<u64>,
    /// With [`UserTables::joint`] built, spending per joint row (its index), dense: the chunk's
    /// while `UserAcc::in_chunk` runs, the month's total after the merge (empty until then);
    /// added into `spend` context by context once the pass is done.
    pub joint_spend: Vec<f64>,
    /// A finished chunk's joint rows with spending on them, `(row, spending)`: what the merge
    /// adds, instead of every row of a dense accumulator per chunk.
    joint_cells: Vec<(u32, f64)>,
    /// Joint rows in all ([`UserTables::joint`]'s length).
    joint_len: usize,
    /// `P`: platforms.
    p: usize,
}

impl UserAcc {
    pub(super) fn new(
        p: usize,
        c: usize,
        classes: usize,
        contexts: usize,
        joint: usize,
    ) -> UserAcc {
        let hp_n = (1usize << p) * (p + 1);
        UserAcc {
            spend: vec![0.0; contexts * classes * hp_n],
            p2p: vec![0.0; c * (p + 2)],
            by_set: [0; 256],
            by_default: [[0; 16]; 4],
            default_anywhere: [0; 8],
            active: [0; 8],
            by_annual_set: [0; 256],
            contexts,
            by_combination: if contexts > 1 {
                vec![0; (p + 1).pow(contexts as u32)]
            } else {
                Vec::new()
            },
            joint_spend: Vec::new(),
            joint_cells: Vec::new(),
            joint_len: joint,
            p,
        }
    }

    /// The dense spending per joint row, made (all zeros) on first use.
    pub(super) fn joint_dense(&mut self) -> &mut [f64] {
        if self.joint_spend.len() != self.joint_len {
            self.joint_spend = vec![0.0; self.joint_len];
        }
        &mut self.joint_spend
    }

    /// Runs `f`, one reduction chunk's updates, with `dense` (all zeros, the thread's buffer
    /// kept from chunk to chunk) as the joint rows' accumulator, then keeps the rows it added
    /// to in `joint_cells` and leaves `dense` all zeros again. A dense accumulator made and
    /// merged every chunk of 4,096 users cost 128 KiB of zeroing and merging each (8 of 82 ns
    /// per user-step of the historical scenario's 2015–2016 months at 10^7 users: BENCHMARKS.md).
    /// The month's sums are the same to the bit: each row's total still adds the chunks' sums
    /// in chunk order, and the rows left out held `+0.0`.
    pub(super) fn in_chunk<R>(
        &mut self,
        dense: &mut Vec<f64>,
        f: impl FnOnce(&mut Self) -> R,
    ) -> R {
        if self.joint_len == 0 {
            return f(self);
        }
        dense.resize(self.joint_len, 0.0);
        std::mem::swap(&mut self.joint_spend, dense);
        let r = f(self);
        std::mem::swap(&mut self.joint_spend, dense);
        for (at, x) in dense.iter_mut().enumerate() {
            if x.to_bits() != 0 {
                self.joint_cells.push((at as u32, *x));
                *x = 0.0;
            }
        }
        r
    }

    /// Adds the spending counted per joint row into `spend`, context by context (MODEL.md's
    /// `(H, π)` rows of each context's channels).
    pub(super) fn finish_joint(&mut self, tables: &UserTables) {
        if self.joint_len == 0 {
            return;
        }
        self.joint_dense();
        let (p, k_n, classes) = (self.p, self.contexts, tables.classes());
        let hp_n = (1usize << p) * (p + 1);
        let m_n = (p + 1).pow(k_n as u32);
        for (at, &x) in self.joint_spend.iter().enumerate() {
            if x == 0.0 {
                continue;
            }
            let cls = at / (m_n << p);
            let h = (at / m_n) % (1 << p);
            let mut rest = at % m_n;
            for k in 0..k_n {
                let pi = rest % (p + 1);
                rest /= p + 1;
                self.spend[(k * classes + cls) * hp_n + hp_index(p, h as u8, pi)] += x;
            }
        }
    }

    /// Derives `by_default` and `default_anywhere` from `by_combination` (several contexts; with
    /// one the update counts `by_default` itself).
    pub(super) fn finish_defaults(&mut self) {
        let (p, base) = (self.p, self.p + 1);
        for (mut c, &n) in self.by_combination.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let mut anywhere = 0u8;
            for k in 0..self.contexts {
                let pi = c % base;
                c /= base;
                if pi < p {
                    self.by_default[k][pi] += n;
                    anywhere |= 1 << pi;
                } else {
                    self.by_default[k][crate::world::NO_PRIMARY as usize] += n;
                }
            }
            for (j, a) in self.default_anywhere.iter_mut().enumerate() {
                if anywhere & (1 << j) != 0 {
                    *a += n;
                }
            }
        }
    }

    pub(super) fn merge(&mut self, o: &UserAcc) {
        for (a, b) in self.spend.iter_mut().zip(&o.spend) {
            *a += b;
        }
        for (a, b) in self.p2p.iter_mut().zip(&o.p2p) {
            *a += b;
        }
        for (a, b) in self.by_set.iter_mut().zip(&o.by_set) {
            *a += b;
        }
        for (a, b) in self
            .by_default
            .iter_mut()
            .flatten()
            .zip(o.by_default.iter().flatten())
        {
            *a += b;
        }
        for (a, b) in self.default_anywhere.iter_mut().zip(&o.default_anywhere) {
            *a += b;
        }
        for (a, b) in self.active.iter_mut().zip(&o.active) {
            *a += b;
        }
        for (a, b) in self.by_annual_set.iter_mut().zip(&o.by_annual_set) {
            *a += b;
        }
        for (a, b) in self.by_combination.iter_mut().zip(&o.by_combination) {
            *a += b;
        }
        if !o.joint_cells.is_empty() {
            let dense = self.joint_dense();
            for &(at, x) in &o.joint_cells {
                dense[at as usize] += x;
            }
        }
    }

    /// Users who used platform `j` in the last 12 months (MODEL.md section 6, `annual_users`).
    pub fn annual(&self, j: usize) -> u64 {
        with_platform(&self.by_annual_set, j)
    }

    /// Users holding platform `j` at the end of the month.
    pub fn holders(&self, j: usize) -> u64 {
        with_platform(&self.by_set, j)
    }

    /// Users for whom platform `j` is the default in at least one context at the end of the
    /// month (MODEL.md section 6, `primary_users`; v1's primary users with one context).
    pub fn primaries(&self, j: usize) -> u64 {
        if self.contexts == 1 {
            self.by_default[0][j]
        } else {
            self.default_anywhere[j]
        }
    }

    /// Users whose default in context `k` is platform `j` (or none, `j =`
    /// [`NO_PRIMARY`](crate::world::NO_PRIMARY)) at the end of the month.
    pub fn defaults(&self, k: usize, j: usize) -> u64 {
        self.by_default[k][j]
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
