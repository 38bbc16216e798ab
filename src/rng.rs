//! Counter-based randomness: every draw is a pure function of
//! `(seed, stream, month, agent, index)`.
//!
//! There is no generator state to share between threads or agents, so an agent's draws do not
//! depend on which thread updates it, in what order, or how many threads there are. The mixer is
//! the SplitMix64 finaliser (a bijection on 64-bit words with full avalanche), used in two layers:
//! [`Stream`] mixes `(seed, stream, month)` once per step, [`Stream::agent`] mixes in the agent
//! once per agent, and [`AgentDraws::draw`] walks a SplitMix64 sequence from that agent's base,
//! one mix per 64-bit output. One output may feed several decisions ([`lo_u01`], [`hi_u01`]).
//!
//! This module owns only the hashing; which draw feeds which decision is decided by the rules.
//!
//! Owns: the counter-based draws and their streams. Reads: nothing in the crate. Never: anything
//! above it.

use rand::SeedableRng;

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
const AGENT_MUL: u64 = 0xd1b5_4a32_d192_ed03;
const MONTH_MUL: u64 = 0xaef1_7502_108e_f2d9;

/// The SplitMix64 finaliser: a fast, well-mixed bijection of 64-bit words.
#[inline(always)]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform in `[0, 1)` from the top 53 bits of `x`.
#[inline(always)]
pub fn u01(x: u64) -> f64 {
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform in `[0, 1)` from the low 32 bits of `x` (for decisions where 2^-32 resolution is ample).
#[inline(always)]
pub fn lo_u01(x: u64) -> f64 {
    (x as u32) as f64 * (1.0 / 4_294_967_296.0)
}

/// A uniform in `[0, 1)` from the high 32 bits of `x`.
#[inline(always)]
pub fn hi_u01(x: u64) -> f64 {
    (x >> 32) as f64 * (1.0 / 4_294_967_296.0)
}

/// An integer uniform in `0..n` from the top 48 bits of `x` (multiply-shift; the bias is at most
/// `n / 2^48`, negligible even for a billion agents).
#[inline(always)]
pub fn below(x: u64, n: u64) -> u64 {
    (((x >> 16) as u128 * n as u128) >> 48) as u64
}

/// Named streams, so that draws for different purposes never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum StreamId {
    /// Fixed per-user attributes: spending.
    UserAttr = 1,
    /// Network membership uniforms `U(i, s)` (not keyed by month: membership grows with the path).
    Membership = 2,
    /// Initial wallets and primaries.
    UserInit = 3,
    /// Monthly contact sampling.
    Contacts = 4,
    /// Monthly user decisions (use, loss, adoption, churn, primary).
    UserStep = 5,
    /// Fixed per-merchant attributes: size.
    MerchantAttr = 6,
    /// Initial acceptance and contract lengths.
    MerchantInit = 7,
    /// Monthly merchant decisions.
    MerchantStep = 8,
    /// Draws tied to an event, keyed by `(kind, platform, channel, at)`.
    Event = 9,
    /// Which agents an agent panel samples.
    Panel = 10,
}

/// Draws for one `(seed, stream, month)`.
#[derive(Clone, Copy, Debug)]
pub struct Stream {
    key: u64,
}

impl Stream {
    /// The stream `id` of month index `t` under `seed`.
    pub fn new(seed: u64, id: StreamId, t: u64) -> Stream {
        let k = mix64(seed ^ (id as u64).wrapping_mul(GOLDEN));
        Stream {
            key: mix64(k ^ t.wrapping_mul(MONTH_MUL)),
        }
    }

    /// A stream keyed by an arbitrary 64-bit label (used for event-tied draws).
    pub fn keyed(seed: u64, id: StreamId, label: u64) -> Stream {
        Stream::new(seed, id, mix64(label))
    }

    /// The draws of one agent.
    #[inline(always)]
    pub fn agent(&self, agent: u64) -> AgentDraws {
        AgentDraws {
            base: mix64(self.key ^ agent.wrapping_mul(AGENT_MUL)),
        }
    }
}

/// The draws of one agent in one stream: `draw(0)`, `draw(1)`, … are independent 64-bit words.
#[derive(Clone, Copy, Debug)]
pub struct AgentDraws {
    base: u64,
}

impl AgentDraws {
    /// The agent's own mixed key: a uniform 64-bit word, independent of every `draw(k)`.
    #[inline(always)]
    pub fn key(&self) -> u64 {
        self.base
    }

    /// The `index`-th 64-bit output.
    #[inline(always)]
    pub fn draw(&self, index: u64) -> u64 {
        mix64(self.base.wrapping_add(index.wrapping_mul(GOLDEN)))
    }
}

/// A standard normal from two uniforms (Box–Muller; deterministic and branch-free).
pub fn std_normal(x: u64) -> f64 {
    let u1 = 1.0 - lo_u01(x); // in (0, 1]
    let u2 = hi_u01(x);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The seed of replicate `r` of a run with master seed `seed`: the first output of ChaCha8
/// seeded by `seed` on stream `r`, so replicate seeds are independent of each other and of `seed`.
pub fn replicate_seed(seed: u64, r: u64) -> u64 {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(r);
    rand::Rng::next_u64(&mut rng)
}

/// A deterministic random sample of `0..n` that keeps each index with probability `fraction`,
/// in increasing order: geometric gaps, the `k`-th drawn from `(seed, stream, label, k)`, so the
/// cost is proportional to the sample, not to `n`.
pub fn sample_indices(n: u64, fraction: f64, seed: u64, label: u64) -> Vec<u64> {
    if fraction >= 1.0 {
        return (0..n).collect();
    }
    if fraction <= 0.0 || n == 0 {
        return Vec::new();
    }
    let s = Stream::keyed(seed, StreamId::Panel, label);
    let log_q = (1.0 - fraction).ln();
    let mut out = Vec::new();
    let mut next = 0u64;
    for k in 0.. {
        let u = u01(s.agent(k).draw(0));
        let gap = ((1.0 - u).ln() / log_q).floor();
        if !gap.is_finite() || gap >= (n - next) as f64 {
            break;
        }
        next += gap as u64;
        out.push(next);
        next += 1;
        if next >= n {
            break;
        }
    }
    out
}

/// A 64-bit label for a string, used to key event draws by names rather than positions.
pub fn label(parts: &[&str]) -> u64 {
    // FNV-1a over the bytes with a separator, then mixed.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    mix64(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_pure_functions_of_their_keys() {
        let a = Stream::new(7, StreamId::UserStep, 3).agent(11).draw(2);
        let b = Stream::new(7, StreamId::UserStep, 3).agent(11).draw(2);
        assert_eq!(a, b);
        assert_ne!(a, Stream::new(7, StreamId::UserStep, 4).agent(11).draw(2));
        assert_ne!(a, Stream::new(8, StreamId::UserStep, 3).agent(11).draw(2));
        assert_ne!(a, Stream::new(7, StreamId::Contacts, 3).agent(11).draw(2));
        assert_ne!(a, Stream::new(7, StreamId::UserStep, 3).agent(12).draw(2));
    }

    #[test]
    fn uniforms_have_the_right_mean_and_variance() {
        let s = Stream::new(1, StreamId::UserStep, 0);
        let n = 200_000;
        let (mut m, mut v) = (0.0, 0.0);
        for i in 0..n {
            let u = u01(s.agent(i).draw(0));
            m += u;
            v += (u - 0.5) * (u - 0.5);
        }
        m /= n as f64;
        v /= n as f64;
        // Standard error of the mean: sqrt(1/12/n) = 6.5e-4.
        assert!((m - 0.5).abs() < 4.0 * 6.5e-4, "mean {m}");
        assert!((v - 1.0 / 12.0).abs() < 2e-3, "variance {v}");
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let s = Stream::new(2, StreamId::Contacts, 0);
        let mut seen = [0u32; 7];
        for i in 0..7000 {
            let k = below(s.agent(i).draw(0), 7);
            seen[k as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (850..1150).contains(&c)), "{seen:?}");
    }

    #[test]
    fn normals_are_standard() {
        let s = Stream::new(3, StreamId::UserAttr, 0);
        let n = 100_000;
        let xs: Vec<f64> = (0..n).map(|i| std_normal(s.agent(i).draw(0))).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
        assert!(m.abs() < 0.015, "mean {m}");
        assert!((v - 1.0).abs() < 0.02, "variance {v}");
    }

    #[test]
    fn samples_keep_the_asked_fraction() {
        let idx = sample_indices(1_000_000, 0.01, 9, 1);
        assert!(idx.windows(2).all(|w| w[0] < w[1]));
        assert!(idx.iter().all(|&i| i < 1_000_000));
        // Binomial(10^6, 0.01): sd ≈ 99.5.
        assert!((idx.len() as f64 - 10_000.0).abs() < 400.0, "{}", idx.len());
        assert_eq!(idx, sample_indices(1_000_000, 0.01, 9, 1));
        assert_eq!(sample_indices(10, 1.0, 9, 1).len(), 10);
        assert!(sample_indices(10, 0.0, 9, 1).is_empty());
    }

    #[test]
    fn replicate_seeds_differ() {
        assert_ne!(replicate_seed(1, 0), replicate_seed(1, 1));
        assert_eq!(replicate_seed(1, 5), replicate_seed(1, 5));
    }
}
