//! The floor kernel of the whole rule set: what one user-month of the v2 historical scenario
//! costs when every rule of docs/MODEL.md is done in the leanest way we know, with every
//! shortcut the model allows and none of the engine's bookkeeping (issue 15 asks for this
//! measurement before a speed goal may be called out of reach).
//!
//! It starts from the engine's own population in a month (`--at YYYY-MM`, 2015-06 by
//! default: the historical scenario run to then at the given size, long-range contacts from
//! the table), so that who holds what, who is quiet and how contacts look are the real ones,
//! and redoes that month `--months` times (the new words are
//! written to a buffer of their own, so every timed month has the same work), timing each:
//!
//! - the memberships: one 64-bit hash a user, four 16-bit uniforms against the month's
//!   thresholds (the engine's memberships are kept, the draw's work is done);
//! - the table of long-range words (the engine's [`FarTable`], built from the month's words);
//! - the user pass, in parallel over a few parts a thread: quiet users (no wallet, nothing to
//!   adopt, no p2p channel) only add their spending; every other user draws eight contacts
//!   (two per 64-bit output, a long-range contact's word from the table with a draw of its
//!   own, an in-community one read by index), tallies its two p2p channels over them
//!   (eligible, unpaid, the split of each transfer by the wallets both hold), counts its
//!   contacts' wallets through each imitation network when it has a wallet to adopt, looks up
//!   its payment row (value shares, lost share) by class, wallets and defaults, draws its
//!   purchase occasions (`1 − (1 − v)^n` by repeated squaring in `f32`, or with `--fast-logs`
//!   as `n·log2(1 − v) < log2(1 − u)` with a cubic `log2`), the loss, adoption, churn, the three
//!   contexts' reviews and, where one re-chooses, the contacts' defaults, the transfers back
//!   and a logit pick; then writes its word and adds its spending and counts. 16 bits a
//!   decision: eight SplitMix64 outputs a user and one more a long-range contact.
//!
//! `--contacts-only` stops each user after the contacts' tallies (the contact rule alone),
//! `--draw-only` after drawing and reading them. The tables' values are not the scenario's
//! (they do not change the work). Nothing here is byte-compatible with the engine: it is a
//! measurement, not a model (BENCHMARKS.md, "The floor kernel of the whole rule set").
//!
//! ```text
//! cargo run --release --example rule_floor -- --users 1e7 --months 12 --threads 2 [--fast-logs]
//! ```

// Lane loops over the platforms read best with an index.
#![allow(clippy::needless_range_loop)]

use paymarket::rng::mix64;
use paymarket::social::{community, is_long, near_in};
use paymarket::users::FarTable;
use paymarket::world::state;
use paymarket::{Scenario, Simulation};
use rayon::prelude::*;
use std::time::Instant;

/// Platforms (alipay, tenpay, unionpay, other wallets) and contexts of the v2 scenario.
const P: usize = 4;
const K: usize = 3;
/// Combinations of defaults, `(P + 1)^K`.
const COMB: usize = 125;
/// Membership masks (bit 0 everyone, bits 1–4 the four networks).
const MASKS: usize = 32;
const CONTACTS: usize = 8;
const CHUNK: usize = 4096;
/// Bits of the networks: mobile internet, ready, WeChat.
const MOBILE: u16 = 1 << 1;
const READY: u16 = 1 << 2;
const WECHAT: u16 = 1 << 3;

/// A payment row: the value shares through each wallet and the lost share.
#[derive(Clone, Copy, Default)]
struct Row {
    val: [f32; P],
    lost: f32,
}

/// The month's tables, by class (= membership mask here), wallet set and defaults.
struct Tables {
    rows: Vec<Row>,
    /// Each p2p channel's weight for a class (share of spending), its required network and
    /// the wallets it takes; `split[usable * 5 + default]` the shares of one transfer.
    p2p_w: [[f32; MASKS]; 2],
    p2p_req: [u16; 2],
    p2p_use: [u8; 2],
    split: Vec<[f32; P]>,
    quiet: [bool; MASKS],
    adoptable: [u8; MASKS],
    adopt_base: Vec<[f32; P]>,
    prim_base: Vec<[f32; P]>,
    /// Review thresholds per context on 16 bits, churn threshold on 16 bits.
    review16: [u32; K],
    churn16: u32,
    churn_months: u32,
    per_ticket: f32,
    eps16: u32,
}

fn tables() -> Tables {
    let mut rows = vec![Row::default(); MASKS * 16 * COMB];
    for (r, row) in rows.iter_mut().enumerate() {
        let h = (r / COMB) % 16;
        let held = (h as u32).count_ones().max(1) as f32;
        for j in 0..P {
            row.val[j] = if h & (1 << j) != 0 { 0.4 / held } else { 0.0 };
        }
        row.lost = 0.02 * (r % 7) as f32;
    }
    let mut split = vec![[0.0f32; P]; 16 * 5];
    for u in 0..16 {
        for d in 0..5 {
            let n = (u as u32).count_ones();
            for j in 0..P {
                if u & (1 << j) != 0 {
                    let own = d == j;
                    split[u * 5 + d][j] = if n == 1 {
                        1.0
                    } else if own {
                        0.8
                    } else {
                        0.2 / (n - 1) as f32
                    };
                }
            }
        }
    }
    let mut p2p_w = [[0.0f32; MASKS]; 2];
    let mut quiet = [false; MASKS];
    let mut adoptable = [0u8; MASKS];
    for m in 0..MASKS {
        let m16 = m as u16;
        p2p_w[0][m] = if m16 & MOBILE != 0 { 0.05 } else { 0.0 };
        p2p_w[1][m] = if m16 & WECHAT != 0 { 0.1 } else { 0.0 };
        adoptable[m] = if m16 & READY != 0 { 0b1111 } else { 0 };
        quiet[m] = adoptable[m] == 0 && p2p_w[0][m] == 0.0 && p2p_w[1][m] == 0.0;
    }
    Tables {
        rows,
        p2p_w,
        p2p_req: [MOBILE, WECHAT],
        p2p_use: [0b1111, 0b0010],
        split,
        quiet,
        adoptable,
        adopt_base: vec![[0.004, 0.003, 0.002, 0.001]; MASKS * 16],
        prim_base: vec![[0.0, -0.5, -0.3, -0.8]; K * MASKS],
        review16: [
            (0.1 * 65536.0) as u32,
            (0.05 * 65536.0) as u32,
            (0.05 * 65536.0) as u32,
        ],
        churn16: (0.1 * 65536.0) as u32,
        churn_months: 6,
        per_ticket: 1.0 / 60.0,
        eps16: (0.1 * 65536.0) as u32,
    }
}

/// What a chunk of users adds up.
struct Acc {
    spend: Vec<f64>,
    by_set: [u64; 16],
    by_comb: [u64; COMB],
    active: [u64; P],
    p2p: [[f64; P + 2]; 2],
}

impl Acc {
    fn new() -> Acc {
        Acc {
            spend: vec![0.0; MASKS * 16 * COMB],
            by_set: [0; 16],
            by_comb: [0; COMB],
            active: [0; P],
            p2p: [[0.0; P + 2]; 2],
        }
    }
    fn merge(mut self, o: Acc) -> Acc {
        for (a, b) in self.spend.iter_mut().zip(&o.spend) {
            *a += b;
        }
        for (a, b) in self.by_set.iter_mut().zip(&o.by_set) {
            *a += b;
        }
        for (a, b) in self.by_comb.iter_mut().zip(&o.by_comb) {
            *a += b;
        }
        for (a, b) in self.active.iter_mut().zip(&o.active) {
            *a += b;
        }
        for c in 0..2 {
            for j in 0..P + 2 {
                self.p2p[c][j] += o.p2p[c][j];
            }
        }
        self
    }
}

/// `b^n` by repeated squaring.
#[inline(always)]
fn pow_n(mut b: f32, mut n: u32) -> f32 {
    let mut r = 1.0;
    while n > 0 {
        r *= if n & 1 == 1 { b } else { 1.0 };
        b *= b;
        n >>= 1;
    }
    r
}

/// `log2(x)` for `x` in `(0, 1]` to about 1e-4: the exponent plus a cubic in the mantissa.
/// The occasion test `u < 1 − (1 − v)^n` becomes `n·log2(1 − v) < log2(1 − u)`, no loop.
#[inline(always)]
fn log2_fast(x: f32) -> f32 {
    let bits = x.max(1e-30).to_bits();
    let e = ((bits >> 23) & 0xff) as f32 - 127.0;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000) - 1.0;
    e + m * (1.441_814_3 + m * (-0.708_050_2 + m * 0.266_236_1))
}

/// Byte lane `j` set to bit `j` of the index: counts wallets in eight lanes at once.
const SPREAD: [u64; 16] = {
    let mut t = [0u64; 16];
    let mut h = 0;
    while h < 16 {
        let mut j = 0;
        while j < 4 {
            if h & (1 << j) != 0 {
                t[h] |= 1 << (8 * j);
            }
            j += 1;
        }
        h += 1;
    }
    t
};

#[inline(always)]
fn lane(x: u64, j: usize) -> f32 {
    ((x >> (8 * j)) & 0xff) as f32
}

/// A default (0xf for none) as an index `0..=P`.
#[inline(always)]
fn def(w: u32, k: usize) -> usize {
    let nib = if k == 0 {
        (w >> 8) & 0xf
    } else {
        (w >> (16 + 4 * (k - 1))) & 0xf
    };
    (nib as usize).min(P)
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn user(
    t: &Tables,
    far: &FarTable,
    old: &[u32],
    i: usize,
    x: f32,
    dorm: u32,
    key: u64,
    (fast_logs, contacts_only, draw_only): (bool, bool, bool),
    acc: &mut Acc,
) -> (u32, u32) {
    let w = old[i];
    let st = w as u16;
    let h = state::wallets(st) & 0xf;
    let mask = state::networks(st) as usize & (MASKS - 1);
    let pis = [def(w, 0), def(w, 1), def(w, 2)];
    let m = pis[0] + 5 * pis[1] + 25 * pis[2];
    let at = (mask * 16 + h as usize) * COMB + m;
    acc.spend[at] += x as f64;
    if h == 0 && t.quiet[mask] {
        acc.by_set[0] += 1;
        acc.by_comb[COMB - 1] += 1;
        return (w, dorm);
    }
    let n = old.len() as u64;
    let seed = mix64(key ^ i as u64);
    let draw = |k: u64| mix64(seed.wrapping_add(k.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    // Eight contacts, two per output.
    let (start, size) = community(i as u64, n, 150);
    let mut cw = [0u32; CONTACTS];
    for c in 0..CONTACTS / 2 {
        let d = draw(c as u64);
        for half in 0..2 {
            // Bits 0-15 of the half decide long-range, bits 16-31 the community member
            // (placed where `near_in` reads its fraction, bits 48-63).
            let hh = (d >> (32 * half)) & 0xffff_ffff;
            let xh = (hh & 0xffff) | (hh >> 16) << 48;
            cw[2 * c + half] = if is_long(xh, t.eps16) {
                far.draw(draw(100 + 2 * c as u64 + half as u64))
            } else {
                old[near_in(i as u64, start, size, xh) as usize]
            };
        }
    }
    if draw_only {
        // Only the draws and reads of the contact rule.
        acc.by_set[1] += cw.iter().fold(0u32, |a, &c| a ^ c) as u64;
        return (w, dorm);
    }
    let candidates = t.adoptable[mask] & !h;
    // The two p2p channels over the contacts; imitation counts when there is something to adopt.
    let mut sum = [[0.0f32; P]; 2];
    let (mut elig, mut unpaid) = ([0u32; 2], [0u32; 2]);
    let mut rescue = 0u8;
    let (mut cnt, mut hold, mut unshared) = ([0u32; 2], [0u64; 2], 0u64);
    for &c in &cw {
        let cs = c as u16;
        let (cm, their) = (state::networks(cs), state::wallets(cs) & 0xf);
        for ch in 0..2 {
            let ok = (cm & t.p2p_req[ch] != 0) as u8;
            let th = their & t.p2p_use[ch] & ok.wrapping_neg();
            let usable = h & th;
            let s = &t.split[usable as usize * 5 + pis[1]];
            for j in 0..P {
                sum[ch][j] += s[j];
            }
            let none = ok & (usable == 0) as u8;
            elig[ch] += ok as u32;
            unpaid[ch] += none as u32;
            rescue |= th & none.wrapping_neg();
        }
        if candidates != 0 {
            let shared = mask as u16 & cm;
            for (s, net) in [0u16, WECHAT].into_iter().enumerate() {
                let member = (shared & (net | (net == 0) as u16) != 0) as u64;
                cnt[s] += member as u32;
                hold[s] += SPREAD[their as usize] & member.wrapping_neg();
            }
            let apart = (h & their == 0) as u64;
            unshared += SPREAD[their as usize] & apart.wrapping_neg();
        }
    }
    if contacts_only {
        // The contact rule alone: eight contacts drawn, read and tallied, nothing decided.
        acc.p2p[0][0] += (sum[0][0] + sum[1][1]) as f64 + (elig[0] + unpaid[1]) as f64;
        acc.active[0] += (rescue as u64) + cnt[0] as u64 + hold[1] + unshared;
        return (w, dorm);
    }
    let row = t.rows[at];
    let (mut val, mut lost) = (row.val, row.lost);
    for ch in 0..2 {
        let wc = t.p2p_w[ch][mask];
        if wc == 0.0 {
            continue;
        }
        let out = &mut acc.p2p[ch];
        if elig[ch] == 0 {
            out[P] += (x * wc) as f64;
            continue;
        }
        let share = wc / elig[ch] as f32;
        for j in 0..P {
            val[j] += share * sum[ch][j];
            out[j] += (x * share * sum[ch][j]) as f64;
        }
        out[P + 1] += (x * share * unpaid[ch] as f32) as f64;
        lost += share * unpaid[ch] as f32;
    }
    // Occasions, loss, adoption and churn: 16 bits a decision.
    let n_occ = ((x * t.per_ticket + 0.5) as u32).max(1);
    let (d_use, d_adopt, d_rev, d_pick) = (draw(4), draw(5), draw(6), draw(7));
    let mut d = dorm;
    let mut held = h;
    while held != 0 {
        let j = held.trailing_zeros() as usize;
        held &= held - 1;
        let u = ((d_use >> (16 * j)) & 0xffff) as f32 * (1.0 / 65536.0);
        let used = if fast_logs {
            n_occ as f32 * log2_fast(1.0 - val[j]) < log2_fast(1.0 - u)
        } else {
            u < 1.0 - pow_n(1.0 - val[j], n_occ)
        };
        if used {
            d &= !(0xf << (4 * j));
            acc.active[j] += 1;
        } else {
            let dj = ((d >> (4 * j)) & 0xf).min(14) + 1;
            d = (d & !(0xf << (4 * j))) | dj << (4 * j);
        }
    }
    let u = (d_rev & 0xffff) as f32 * (1.0 / 65536.0);
    let lost_now = if fast_logs {
        n_occ as f32 * log2_fast(1.0 - lost) < log2_fast(1.0 - u)
    } else {
        u < 1.0 - pow_n(1.0 - lost, n_occ)
    };
    let rescued = if lost_now { rescue } else { 0 };
    let mut added = 0u8;
    let mut todo = candidates;
    while todo != 0 {
        let j = todo.trailing_zeros() as usize;
        todo &= todo - 1;
        let mut imit = 0.0;
        for s in 0..2 {
            if cnt[s] > 0 {
                imit += 0.05 * lane(hold[s], j) / cnt[s] as f32;
            }
        }
        let g = lane(unshared, j) / CONTACTS as f32;
        let rescue = if rescued & (1 << j) != 0 { 0.1 } else { 0.0 };
        let hz = t.adopt_base[mask * 16 + h as usize][j] + imit + 0.05 * g + rescue;
        if (((d_adopt >> (16 * j)) & 0xffff) as f32 * (1.0 / 65536.0)) < hz {
            added |= 1 << j;
        }
    }
    let mut dropped = 0u8;
    let mut held = h;
    while held != 0 {
        let j = held.trailing_zeros() as usize;
        held &= held - 1;
        if (d >> (4 * j)) & 0xf >= t.churn_months
            && (((d_adopt >> (16 * j)) & 0xffff) as u32) < t.churn16
        {
            dropped |= 1 << j;
        }
    }
    let new_h = (h | added) & !dropped;
    for j in 0..P {
        if added & (1 << j) != 0 {
            d &= !(0xf << (4 * j));
        }
    }
    // Defaults, context by context.
    let mut new_pis = pis;
    if new_h == 0 {
        new_pis = [P; K];
    } else if new_h.count_ones() == 1 {
        new_pis = [new_h.trailing_zeros() as usize; K];
    } else {
        for k in 0..K {
            let review = (((d_rev >> (16 * (k + 1))) & 0xffff) as u32) < t.review16[k];
            let forced = pis[k] >= P || (new_h >> pis[k]) & 1 == 0;
            if !(review || forced) {
                continue;
            }
            // The contacts' defaults in this context and the transfers back (social context).
            let mut e = [0u32; P + 1];
            let mut back = [0.0f32; P];
            for &c in &cw {
                let cd = def(c, k);
                e[cd] += 1;
                if k == 1 {
                    let usable = h & state::wallets(c as u16) & 0xf;
                    let s = &t.split[usable as usize * 5 + cd];
                    for j in 0..P {
                        back[j] += s[j];
                    }
                }
            }
            let base = &t.prim_base[k * MASKS + mask];
            let (mut util, mut total) = ([0.0f32; P], 0.0f32);
            for j in 0..P {
                if new_h & (1 << j) != 0 {
                    let v = base[j]
                        + 0.5 * back[j] / CONTACTS as f32
                        + 2.0 * e[j] as f32 / CONTACTS as f32;
                    util[j] = v.exp();
                    total += util[j];
                }
            }
            let mut u = ((d_pick >> (16 * k)) & 0xffff) as f32 * (total / 65536.0);
            let mut pick = new_h.trailing_zeros() as usize;
            for j in 0..P {
                if new_h & (1 << j) != 0 {
                    pick = j;
                    if u < util[j] {
                        break;
                    }
                    u -= util[j];
                }
            }
            new_pis[k] = pick;
        }
    }
    acc.by_set[new_h as usize] += 1;
    acc.by_comb[new_pis[0] + 5 * new_pis[1] + 25 * new_pis[2]] += 1;
    let nib = |p: usize| if p >= P { 0xf } else { p as u32 };
    let st = (w & 0xf000) | new_h as u32 | nib(new_pis[0]) << 8;
    (st | nib(new_pis[1]) << 16 | nib(new_pis[2]) << 20, d)
}

fn arg(args: &[String], name: &str, default: f64) -> f64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|k| args.get(k + 1))
        .map(|v| v.parse::<f64>().expect("a number"))
        .unwrap_or(default)
}

fn main() -> paymarket::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n = arg(&args, "--users", 1e7) as usize;
    let months = arg(&args, "--months", 12.0) as usize;
    let threads = arg(&args, "--threads", 2.0) as usize;
    let mode = (
        args.iter().any(|a| a == "--fast-logs"),
        args.iter().any(|a| a == "--contacts-only"),
        args.iter().any(|a| a == "--draw-only"),
    );
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("one pool");
    // The engine's population in the month redone.
    let mut s = Scenario::load("data/scenarios/china_2012_2021.toml")?;
    s.agents.users = n as u64;
    s.agents.merchants = (n / 10) as u64;
    s.agents.long_range = paymarket::scenario::LongRange::Table;
    // The month whose population is redone (`--at YYYY-MM`, 2015-06 by default).
    let at = args
        .iter()
        .position(|a| a == "--at")
        .and_then(|k| args.get(k + 1))
        .map_or("2015-06", |v| v.as_str());
    let at: paymarket::Month = at.parse().expect("--at YYYY-MM");
    let steps = s.start.months_until(at) + 1;
    let mut sim = Simulation::new(s)?;
    for _ in 0..steps {
        sim.step()?;
    }
    let users = sim.users();
    let mut old = users.words[users.cur].clone();
    let spend = users.spend.clone();
    let dorm = users.dormancy.clone();
    let mut dorm_new = vec![0u32; n];
    drop(sim);
    let none = old.iter().filter(|w| **w & 0xf == 0).count();
    let quiet_start = old
        .iter()
        .filter(|w| **w & 0xf == 0 && **w & (1 << 12) == 0)
        .count();
    println!(
        "{at} from the engine: {:.3} of users hold no wallet, {:.3} outside the mobile internet without one",
        none as f64 / n as f64,
        quiet_start as f64 / n as f64
    );
    let mut new = vec![0u32; n];
    let t = tables();
    // This month's membership thresholds (16 bits; nested networks as conditional shares).
    let thresholds = [0.52, 0.8, 0.95, 0.3].map(|p: f64| (p * 65536.0) as u64);
    let mut times = Vec::new();
    let mut parts = Vec::new();
    let mut quiet = 0usize;
    for month in 0..months {
        let t0 = Instant::now();
        let mkey = mix64(0x5eed ^ (month as u64) << 32);
        old.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                for (o, w) in chunk.iter_mut().enumerate() {
                    let u = mix64(0xabcd ^ (c * CHUNK + o) as u64);
                    let mobile = (u & 0xffff) < thresholds[0];
                    let ready = mobile && ((u >> 16) & 0xffff) < thresholds[1];
                    let wechat = mobile && ((u >> 32) & 0xffff) < thresholds[2];
                    let weibo = mobile && (u >> 48) < thresholds[3];
                    let bits = mobile as u32
                        | (ready as u32) << 1
                        | (wechat as u32) << 2
                        | (weibo as u32) << 3;
                    // The work of a membership draw is done, but the engine's memberships are
                    // kept, so that every timed month is the engine's population of that month.
                    let engine = (*w >> 12) & 0xf;
                    std::hint::black_box(bits);
                    *w = (*w & !0xf000) | engine << 12;
                }
            });
        let t_members = t0.elapsed().as_secs_f64();
        let far = FarTable::of(&old);
        let t_table = t0.elapsed().as_secs_f64();
        // Four parts a thread, each with one accumulator.
        let part = n.div_ceil(threads * 4).div_ceil(CHUNK) * CHUNK;
        let acc = new
            .par_chunks_mut(part)
            .zip(dorm_new.par_chunks_mut(part))
            .enumerate()
            .map(|(c, (out, d))| {
                let mut acc = Acc::new();
                for o in 0..out.len() {
                    let i = c * part + o;
                    let (w, dd) = user(&t, &far, &old, i, spend[i], dorm[i], mkey, mode, &mut acc);
                    out[o] = w;
                    d[o] = dd;
                }
                acc
            })
            .reduce(Acc::new, Acc::merge);
        // Not swapped: every month redoes the engine's month from its state.
        std::hint::black_box(&new);
        let t_all = t0.elapsed().as_secs_f64();
        times.push(t_all);
        parts.push([t_members, t_table - t_members, t_all - t_table]);
        quiet = acc.by_set[0] as usize;
        std::hint::black_box(&acc);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mean = |k: usize| {
        parts.iter().map(|p: &[f64; 3]| p[k]).sum::<f64>() / parts.len() as f64 * 1e9 / n as f64
    };
    println!(
        "ns per user-step, mean over the months: memberships {:.2}, table {:.2}, users {:.2}",
        mean(0),
        mean(1),
        mean(2)
    );
    let median = times[times.len() / 2];
    println!(
        "users={n} months={months} threads={threads} median_month_s={median:.3} ns_per_user_step={:.2} no_wallet_share={:.3}",
        median * 1e9 / n as f64,
        quiet as f64 / n as f64
    );
    Ok(())
}
