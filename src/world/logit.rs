//! The logit pick (MODEL.md sections 3 and 5): a member of a wallet set drawn with
//! probabilities proportional to the exponentials of its utilities, used for the initial defaults
//! and every re-choice.
//!
//! Owns: `logit_pick`, `logit_pick_any`, `logit_pick_two`. Reads: nothing but its arguments.
//! Never: draws, state.

/// Picks a member of the non-empty set `h` by a logit in the utilities `util(j)` using uniform
/// `u`: with probability `exp(util(j) − m) / Σ_k exp(util(k) − m)`, where `m` is the largest
/// utility over `h`, so that any finite utilities pick without overflow.
#[inline]
pub fn logit_pick(h: u8, util: impl Fn(usize) -> f64, u: f64) -> u8 {
    if h.count_ones() == 2 {
        logit_pick_two(h, util, u)
    } else {
        logit_pick_any(h, util, u)
    }
}

/// [`logit_pick`] for a set of any size: the utilities, their largest, the weights and their
/// total, then the first member whose running weight exceeds `u` times the total. The default
/// re-choice with one context calls it directly, for sets of two too.
#[inline]
pub(crate) fn logit_pick_any(h: u8, util: impl Fn(usize) -> f64, u: f64) -> u8 {
    let mut x = [0.0f64; 8];
    let mut top = f64::NEG_INFINITY;
    let mut bits = h;
    while bits != 0 {
        let j = bits.trailing_zeros() as usize;
        x[j] = util(j);
        top = top.max(x[j]);
        bits &= bits - 1;
    }
    // Each weight once; the largest is exp(0) = 1 exactly, so it needs no call.
    let mut weight = [0.0f64; 8];
    let mut total = 0.0;
    let mut bits = h;
    while bits != 0 {
        let j = bits.trailing_zeros() as usize;
        let d = x[j] - top;
        weight[j] = if d == 0.0 { 1.0 } else { d.exp() };
        total += weight[j];
        bits &= bits - 1;
    }
    let target = u * total;
    let mut acc = 0.0;
    let mut bits = h;
    let mut last = h.trailing_zeros() as u8;
    while bits != 0 {
        let j = bits.trailing_zeros() as usize;
        acc += weight[j];
        last = j as u8;
        if target < acc {
            return j as u8;
        }
        bits &= bits - 1;
    }
    last
}

/// [`logit_pick`] for a set of two: the same pick as the general loop for any utilities and
/// uniform (and, for finite utilities, the same weights, total and comparison), without a
/// branch on which of the two is the larger or which is picked: both are coin flips, and a
/// mispredicted branch costs more than the select where picks are frequent (the re-choice with
/// several contexts; see BENCHMARKS.md).
#[inline(always)]
fn logit_pick_two(h: u8, util: impl Fn(usize) -> f64, u: f64) -> u8 {
    let a = h.trailing_zeros() as usize;
    let b = (h & (h - 1)).trailing_zeros() as usize;
    let (xa, xb) = (util(a), util(b));
    let top = f64::NEG_INFINITY.max(xa).max(xb);
    let (da, db) = (xa - top, xb - top);
    // With finite utilities one of the two differences is 0 (both, when they are equal): its
    // weight is 1 exactly, the other's is its exponential.
    let e = (if da == 0.0 { db } else { da }).exp();
    let wa = if da == 0.0 { 1.0 } else { e };
    let wb = if db == 0.0 { 1.0 } else { e };
    let total = 0.0 + wa + wb;
    if u * total < wa {
        a as u8
    } else {
        b as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logit_pick_respects_weights() {
        // Utilities 0 and ln 3: probabilities 1/4 and 3/4.
        let w = [0.0, 3f64.ln()];
        assert_eq!(logit_pick(0b11, |j| w[j], 0.2), 0);
        assert_eq!(logit_pick(0b11, |j| w[j], 0.3), 1);
        assert_eq!(logit_pick(0b10, |j| w[j], 0.0), 1);
        // The same utilities shifted far beyond `exp`'s range pick the same members.
        let huge = [1e15, 1e15 + 3f64.ln()];
        assert_eq!(logit_pick(0b11, |j| huge[j], 0.2), 0);
        assert_eq!(logit_pick(0b11, |j| huge[j], 0.3), 1);
        let far = [-1e15, 1e15];
        assert_eq!(logit_pick(0b11, |j| far[j], 0.999), 1);
    }

    /// The branch-free pick from two is the general pick: for every pair of members, utilities
    /// equal, close, far apart, beyond `exp`'s range and not finite, and uniforms on both sides
    /// of the boundary and on it.
    #[test]
    fn logit_pick_of_two_is_the_general_pick() {
        let mut picks = [0usize; 2];
        let mut n = 0;
        for a in 0..8 {
            for b in a + 1..8 {
                let h = (1u8 << a) | (1 << b);
                for (ua, ub) in [
                    (0.0, 0.0),
                    (0.0, 3f64.ln()),
                    (1.25, -0.5),
                    (-2.0, -2.0 + 1e-12),
                    (1e15, -1e15),
                    (-700.0, 700.0),
                    // Not finite (validation refuses them): the same pick all the same.
                    (1.0, f64::INFINITY),
                    (f64::INFINITY, 1.0),
                    (f64::NAN, 0.0),
                    (0.0, f64::NEG_INFINITY),
                ] {
                    let util = |j: usize| if j == a { ua } else { ub };
                    // Equal utilities put the boundary at u = 1/2 exactly.
                    for k in 0..=64 {
                        let u = k as f64 / 64.0;
                        let (two, any) = (logit_pick_two(h, util, u), logit_pick_any(h, util, u));
                        assert_eq!(two, any, "set {h:#b}, utilities {ua}, {ub}, u = {u}");
                        picks[(two as usize == b) as usize] += 1;
                        n += 1;
                    }
                }
            }
        }
        // Both members are picked, so the comparison saw both outcomes.
        assert!(picks[0] > n / 10 && picks[1] > n / 10, "{picks:?} of {n}");
        assert_eq!(logit_pick_two(0b11, |_| 0.0, 0.5), 1);
        assert_eq!(logit_pick_two(0b11, |_| 0.0, 0.499_999), 0);
    }
}
