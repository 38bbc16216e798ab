//! Social structure: network membership and the implicit contact graph.
//!
//! Membership is exogenous: user `i` is a member of network `s` in month `t` iff
//! `U(i, s) < m_s(t)` (conditional on the parent for nested networks), with `U(i, s)` fixed for
//! the whole run, so membership only grows when the path grows. Contacts are sampled afresh each
//! month from the user's community (`⌊i/B⌋`) or, with probability `ε`, from everyone; nothing is
//! stored, so the graph costs no memory and does not depend on the thread count.
//! This module owns those two rules and nothing else.
//!
//! Owns: `Membership`, communities and contact draws. Reads: draws. Never: agents' wallets,
//! output.

use crate::rng::{below, AgentDraws};

/// Membership thresholds for one month: per declared network its parent and a 16-bit threshold.
#[derive(Debug, Clone)]
pub struct Membership {
    /// `(parent index, threshold)` for networks `1..=S`; parent 0 is everyone.
    nets: Vec<(usize, u32)>,
}

impl Membership {
    /// From `(parent, conditional share)` per network, index 0 being everyone (see
    /// [`crate::policy::Policy::membership`]).
    pub fn new(shares: &[(usize, f64)]) -> Membership {
        Membership {
            nets: shares[1..]
                .iter()
                .map(|&(parent, m)| (parent, (m.clamp(0.0, 1.0) * 65536.0).round() as u32))
                .collect(),
        }
    }

    /// The networks user `draws` belongs to, as a bitmask (bit 0, everyone, always set).
    /// Uniforms have 16-bit resolution: four networks per 64-bit draw.
    #[inline]
    pub fn mask(&self, draws: &AgentDraws) -> u16 {
        let mut mask = 1u16;
        let mut word = 0u64;
        for (k, &(parent, thr)) in self.nets.iter().enumerate() {
            if k % 4 == 0 {
                // The agent's key is itself a well-mixed word: networks 1–4 need no extra hash.
                word = if k == 0 {
                    draws.key()
                } else {
                    draws.draw((k / 4) as u64)
                };
            }
            let u = ((word >> (16 * (k % 4))) & 0xffff) as u32;
            // Branch-free: membership is a coin flip per user, which a branch would mispredict.
            let member = ((mask >> parent) & 1) & (u < thr) as u16;
            mask |= member << (k + 1);
        }
        mask
    }
}

/// A user's community: the first member's index and the community's size (the last
/// community may be smaller than `b`).
#[inline]
pub fn community(i: u64, n: u64, b: u64) -> (u64, u64) {
    let start = i / b * b;
    (start, b.min(n - start))
}

/// The contact drawn by 64-bit word `x` for user `i` of `n`, with communities of `b` users and
/// long-range threshold `eps16 = round(ε·65536)`: `None` when no other user can be drawn.
#[inline]
pub fn contact(i: u64, n: u64, b: u64, eps16: u32, x: u64) -> Option<u64> {
    let (start, size) = community(i, n, b);
    contact_in(i, n, start, size, eps16, x)
}

/// Whether draw `x` makes a long-range contact (from anywhere rather than the community), for a
/// long-range share of `eps16 / 65536`: its bits 0–15.
#[inline(always)]
pub fn is_long(x: u64, eps16: u32) -> bool {
    ((x & 0xffff) as u32) < eps16
}

/// The in-community contact of user `i` (community `start..start + size`, itself excluded)
/// from draw `x`'s bits 32–63 (meaningful when `size >= 2`). A community has far fewer than
/// 2^32 members: the top 32 bits suffice (bias below size / 2^32) and the multiply stays in 64
/// bits.
#[inline(always)]
pub fn near_in(i: u64, start: u64, size: u64, x: u64) -> u64 {
    let near = start + (((x >> 32) * size.saturating_sub(1)) >> 32);
    near + (near >= i) as u64
}

/// [`contact`] with the user's community already known (no division per draw). Both
/// candidates are computed and one is selected without a branch: which one is a coin flip per
/// draw, which a branch would mispredict.
#[inline(always)]
pub fn contact_in(i: u64, n: u64, start: u64, size: u64, eps16: u32, x: u64) -> Option<u64> {
    let long = is_long(x, eps16);
    let far = below(x, n.saturating_sub(1));
    let far = far + (far >= i) as u64;
    let near = near_in(i, start, size, x);
    let (r, possible) = if long {
        (far, n >= 2)
    } else {
        (near, size >= 2)
    };
    possible.then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stream, StreamId};

    #[test]
    fn contacts_stay_in_the_community_unless_long_range() {
        let s = Stream::new(1, StreamId::Contacts, 0);
        for i in 0..1000u64 {
            for k in 0..8 {
                let r = contact(i, 1000, 150, 0, s.agent(i).draw(k)).unwrap();
                assert_ne!(r, i);
                assert_eq!(r / 150, i / 150, "community contact left the community");
            }
        }
        // The last community has 1000 - 900 = 100 members.
        let r = contact(999, 1000, 150, 0, 12345).unwrap();
        assert!((900..999).contains(&r));
    }

    #[test]
    fn a_lone_user_has_no_contact() {
        assert_eq!(contact(0, 1, 150, 0, 777), None);
        assert_eq!(contact(0, 1, 150, 65536, 777), None);
        // Singleton last community, in-community draw.
        assert_eq!(contact(150, 151, 150, 0, 777), None);
    }

    #[test]
    fn membership_nests_and_matches_shares() {
        // Network 1: 60% of everyone; network 2 within 1: half of its members.
        let m = Membership::new(&[(0, 1.0), (0, 0.6), (1, 0.5)]);
        let s = Stream::new(5, StreamId::Membership, 0);
        let n = 100_000;
        let (mut a, mut b) = (0, 0);
        for i in 0..n {
            let mask = m.mask(&s.agent(i));
            assert!(mask & 1 == 1);
            if mask & 2 != 0 {
                a += 1;
            }
            if mask & 4 != 0 {
                assert!(mask & 2 != 0, "nested member outside its parent");
                b += 1;
            }
        }
        assert!((a as f64 / n as f64 - 0.6).abs() < 0.01);
        assert!((b as f64 / n as f64 - 0.3).abs() < 0.01);
    }
}
