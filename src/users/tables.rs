//! What every user of a membership class and `(H, π)` shares, computed once a month: the value
//! shares through each wallet, the lost share, the rescuers, the non-social part of the adoption
//! hazard and of the primary utility (`UserTables`), the p2p channels as the user update sees
//! them, and the channels' spending by `(H, π)` after the pass.
//!
//! Owns: `UserTables`, `TableInputs`, `P2pChannel`, `channel_spending`, the open weights.
//! Reads: the market, the policy in force, the routing tables. Never: agents, output.

use super::{adoption_base, UserAcc};
use crate::market::Market;
use crate::payments::{hp_index, split_into, ChannelTables};
use crate::policy::Policy;

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
    /// `κ(c)`: the context whose default routes a transfer.
    pub context: usize,
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
            context: 0,
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

/// What a user of a membership class pays in every context at once, for one wallet set and one
/// default per context: the context rows of [`UserTables::rows`] added in context order (so
/// the sums are the ones the update would make row by row, to the bit).
#[derive(Debug, Clone, Copy, Default)]
pub struct JointRow {
    /// Share of the user's spending paid through each wallet in routed channels.
    pub val: [f64; 8],
    /// Share lost in routed channels.
    pub lost: f64,
    /// Platforms that would have rescued those losses.
    pub rescue: u8,
}

/// Most joint rows in all (classes × `2^P·(P+1)^K`) for [`UserTables::joint`] to be built:
/// each reduction chunk counts spending per joint row, so this bounds that accumulator (128 KiB
/// a chunk) as well as the table (1.3 MB). Two platforms and four contexts make 324 a class,
/// four platforms and three 2,000.
pub const JOINT_MAX: usize = 16_384;

/// Per-step tables of the user update, by membership class.
#[derive(Debug, Clone)]
pub struct UserTables {
    /// Membership mask → class (masks with the same channel weights share a class).
    pub class_of_mask: Vec<u16>,
    /// Per class: `ω_ic` for every channel.
    pub weight: Vec<Vec<f64>>,
    /// Per class: `ω_i,p2p`.
    pub p2p_weight: Vec<f64>,
    /// Per `κ * classes + class`: `θ_j + θ_{j,κ} + η·Σ_{c∈κ} ω_ic·sub_jc + β_cov,κ·COV_iκ({j})`,
    /// the non-social part of the default utility in context `κ`.
    pub primary_base: Vec<[f64; 8]>,
    /// Per `(κ * classes + class) * HP + hp`, with `π` the default in `κ`: what `κ`'s routed
    /// channels pay (`adopt` is over every routed channel, the same in every context).
    pub rows: Vec<Row>,
    /// `K`: contexts.
    pub contexts: usize,
    /// With several contexts and at most [`JOINT_MAX`] joint rows in all, the rows of every
    /// context added up, per `class * J + h * (P+1)^K + Σ_κ min(π_κ, P)·(P+1)^κ` (`J` =
    /// [`UserTables::joint_per_class`]): one read where the update would read `K` rows.
    /// Empty otherwise.
    pub joint: Vec<JointRow>,
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
    /// `β_cov,κ` per context, MODEL.md step 5.
    pub coverage_primary_weight: &'a [f64],
    /// `κ(c)`: each channel's context.
    pub context_of: &'a [usize],
    /// Brand offsets `θ_{j,κ}` in force, per `j * K + κ`.
    pub brand_offset: &'a [f64],
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
        let (k_n, classes) = (inp.coverage_primary_weight.len(), weight.len());
        let mut rows = vec![Row::default(); k_n * classes * hp_n];
        let mut primary_base = vec![[0.0; 8]; k_n * classes];
        let mut p2p_weight = vec![0.0; classes];
        for (cls, w) in weight.iter().enumerate() {
            p2p_weight[cls] = (0..c_n).filter(|&c| inp.is_p2p[c]).map(|c| w[c]).sum();
            // Coverage over the routed channels of context `k`, or of every context.
            let cov_in = |set: usize, k: Option<usize>| -> f64 {
                inp.routed
                    .iter()
                    .filter(|&&c| k.is_none_or(|k| inp.context_of[c] == k))
                    .map(|&c| w[c] * inp.tables[c].cov[set])
                    .sum()
            };
            let sub_in = |j: usize, k: Option<usize>| -> f64 {
                (0..c_n)
                    .filter(|&c| k.is_none_or(|k| inp.context_of[c] == k))
                    .map(|c| w[c] * inp.subsidy[j * c_n + c])
                    .sum()
            };
            let one = k_n == 1;
            let sub: Vec<f64> = (0..p).map(|j| sub_in(j, None)).collect();
            for k in 0..k_n {
                let kk = (!one).then_some(k);
                for j in 0..p {
                    let sub_k = if one { sub[j] } else { sub_in(j, kk) };
                    primary_base[k * classes + cls][j] = inp.brand[j]
                        + inp.brand_offset[j * k_n + k]
                        + inp.subsidy_split * sub_k
                        + inp.coverage_primary_weight[k] * cov_in(1 << j, kk);
                }
            }
            for h in 0..n_sets {
                let cov_h = cov_in(h, None);
                let mut adopt = [0.0; 8];
                for j in 0..p {
                    if h & (1 << j) == 0 {
                        let gain = if inp.coverage_weight != 0.0 {
                            cov_in(h | (1 << j), None) - cov_h
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
                    for k in 0..k_n {
                        let row = &mut rows[(k * classes + cls) * hp_n + hp];
                        row.adopt = adopt;
                        for &c in inp.routed {
                            if w[c] == 0.0 || inp.context_of[c] != k {
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
        }
        let joint = joint_rows(p, k_n, classes, &rows);
        UserTables {
            class_of_mask,
            weight,
            p2p_weight,
            primary_base,
            rows,
            contexts: k_n,
            joint,
        }
    }

    /// Number of membership classes.
    pub fn classes(&self) -> usize {
        self.weight.len()
    }

    /// Joint rows a class (`2^P·(P+1)^K`), whether or not [`UserTables::joint`] is built.
    pub fn joint_per_class(&self, p: usize) -> usize {
        (1usize << p) * (p + 1).pow(self.contexts as u32)
    }
}

#[cfg(test)]
thread_local! {
    /// Tests only: build no joint rows on this thread, so that a test can run the per-context
    /// rows the update falls back to beside the joint ones.
    pub(crate) static NO_JOINT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// [`UserTables::joint`]: empty with one context or more than [`JOINT_MAX`] rows in all.
fn joint_rows(p: usize, k_n: usize, classes: usize, rows: &[Row]) -> Vec<JointRow> {
    let m_n = (p + 1).pow(k_n as u32);
    let per_class = (1usize << p) * m_n;
    #[cfg(test)]
    if NO_JOINT.get() {
        return Vec::new();
    }
    if k_n == 1 || classes * per_class > JOINT_MAX {
        return Vec::new();
    }
    let hp_n = (1usize << p) * (p + 1);
    let mut joint = vec![JointRow::default(); classes * per_class];
    for cls in 0..classes {
        for h in 0..1usize << p {
            for m in 0..m_n {
                let out = &mut joint[cls * per_class + h * m_n + m];
                let mut rest = m;
                for k in 0..k_n {
                    let pi = rest % (p + 1);
                    rest /= p + 1;
                    let r = &rows[(k * classes + cls) * hp_n + hp_index(p, h as u8, pi)];
                    // Context 0's row first, then each other context's added, as the update
                    // would add them.
                    if k == 0 {
                        out.val = r.val;
                        out.lost = r.lost;
                        out.rescue = r.rescue;
                    } else {
                        for j in 0..p {
                            out.val[j] += r.val[j];
                        }
                        out.lost += r.lost;
                        out.rescue |= r.rescue;
                    }
                }
            }
        }
    }
    joint
}

/// `ω_ic` for every membership mask (`mask * C + c`): each open channel's weight, shifted by
/// the factors in force for the networks in the mask, normalised over the open channels.
pub(crate) fn open_weights(market: &Market, policy: &Policy) -> Vec<f64> {
    let (c_n, s1) = (market.channels, market.networks);
    let mut open_weight = vec![0.0; market.n_masks * c_n];
    for mask in (1..market.n_masks).step_by(2) {
        let w = &mut open_weight[mask * c_n..][..c_n];
        for c in 0..c_n {
            if mask as u16 & market.channel_requires[c] == 0 {
                continue;
            }
            let mut f = market.weight[c] * policy.weight_now[c];
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
            coverage_primary_weight: &market
                .context
                .iter()
                .map(|k| k.coverage_primary_weight)
                .collect::<Vec<_>>(),
            context_of: &market.context_of,
            brand_offset: &policy.brand,
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
                let k = market.context_of[c];
                P2pChannel {
                    context: k,
                    ..P2pChannel::new(
                        market.platforms,
                        c,
                        market.channel_requires[c],
                        market.cash[c],
                        policy.use_set[c],
                        &tables[c],
                        market.context[k].loyalty,
                    )
                }
            })
            .collect()
    }
}

/// Spending per channel and `(H, π)` (`π` the default in the channel's context) in agent units (`c * HP + hp`: the users' spending by
/// class times the class weights), and per channel.
pub fn channel_spending(
    market: &Market,
    tables: &UserTables,
    ua: &UserAcc,
) -> (Vec<f64>, Vec<f64>) {
    let (c_n, hp_n) = (market.channels, market.hp_n);
    let mut w_c = vec![0.0f64; c_n * hp_n];
    let mut spend_c = vec![0.0f64; c_n];
    let classes = tables.classes();
    for (cls, wt) in tables.weight.iter().enumerate() {
        for c in 0..c_n {
            if wt[c] == 0.0 {
                continue;
            }
            let k = market.context_of[c];
            let sp = &ua.spend[(k * classes + cls) * hp_n..][..hp_n];
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The default utility's non-social part per context, against numbers worked by hand.
    #[test]
    fn default_utility_base_is_computed_per_context() {
        let p = 2;
        let hp_n = 4 * (p + 1);
        let table = |cov: [f64; 4]| ChannelTables {
            route: vec![0.0; hp_n * (p + 2)],
            fee_route: vec![0.0; hp_n * p],
            cov: cov.to_vec(),
            rescue: vec![0; 4],
            logit: [0.0; 8],
            expansion: vec![0; 4],
        };
        // Two own-account channels, `c0` in context 0 and `c1` in context 1, weights 0.6, 0.4.
        let tables = [table([0.0, 0.5, 0.9, 1.0]), table([0.0, 0.2, 0.7, 1.0])];
        let t = UserTables::new(&TableInputs {
            p,
            open_weight: &[0.6, 0.4],
            routed: &[0, 1],
            tables: &tables,
            is_p2p: &[false, false],
            // `j * C + c`: a's subsidy 0.1 in c1, b's 0.05 in c0.
            subsidy: &[0.0, 0.1, 0.05, 0.0],
            innovation: &[0.0, 0.0],
            brand: &[0.3, 0.0],
            coverage_weight: 0.0,
            subsidy_weight: 0.0,
            subsidy_split: 20.0,
            coverage_primary_weight: &[1.0, 2.0],
            context_of: &[0, 1],
            // `j * K + κ`: a +0.5 in context 1, b −0.2 in context 0.
            brand_offset: &[0.0, 0.5, -0.2, 0.0],
        });
        // θ_j + θ_jκ + η·Σ_{c∈κ} ω_c·sub_jc + β_cov,κ·Σ_{c∈κ} ω_c·cov_c({j}):
        let want = [
            [
                0.3 + 0.0 + 0.0 + 1.0 * 0.6 * 0.5,
                -0.2 + 20.0 * 0.6 * 0.05 + 1.0 * 0.6 * 0.9,
            ],
            [
                0.3 + 0.5 + 20.0 * 0.4 * 0.1 + 2.0 * 0.4 * 0.2,
                2.0 * 0.4 * 0.7,
            ],
        ];
        assert_eq!(t.contexts, 2);
        for (k, w) in want.iter().enumerate() {
            for j in 0..p {
                let got = t.primary_base[k * t.classes()][j];
                assert!(
                    (got - w[j]).abs() < 1e-12,
                    "context {k}, platform {j}: {got}"
                );
            }
        }
        // The worked numbers: 0.6, 0.94, 1.76, 0.56.
        assert!((want[0][0] - 0.6).abs() < 1e-12 && (want[0][1] - 0.94).abs() < 1e-12);
        assert!((want[1][0] - 1.76).abs() < 1e-12 && (want[1][1] - 0.56).abs() < 1e-12);
    }

    /// A joint row is the context rows added up, and the spending counted on it goes back to
    /// each context's `(H, π)` row: numbers worked by hand.
    #[test]
    fn joint_rows_add_the_context_rows() {
        let p = 2;
        let hp_n = 4 * (p + 1);
        let mut route0 = vec![0.0; hp_n * (p + 2)];
        let mut route1 = vec![0.0; hp_n * (p + 2)];
        // H = {a, b}: in c0 with default a, 0.7 through a, 0.2 through b, 0.1 lost; in c1 with
        // default b, 0.25 through a and 0.75 through b.
        route0[hp_index(p, 3, 0) * (p + 2)..][..p + 2].copy_from_slice(&[0.7, 0.2, 0.0, 0.1]);
        route1[hp_index(p, 3, 1) * (p + 2)..][..p + 2].copy_from_slice(&[0.25, 0.75, 0.0, 0.0]);
        let table = |route: Vec<f64>, rescue: u8| ChannelTables {
            route,
            fee_route: vec![0.0; hp_n * p],
            cov: vec![0.0; 4],
            rescue: vec![rescue; 4],
            logit: [0.0; 8],
            expansion: vec![0; 4],
        };
        let tables = [table(route0, 0b10), table(route1, 0b01)];
        let t = UserTables::new(&TableInputs {
            p,
            open_weight: &[0.6, 0.4],
            routed: &[0, 1],
            tables: &tables,
            is_p2p: &[false, false],
            subsidy: &[0.0; 4],
            innovation: &[0.0, 0.0],
            brand: &[0.0, 0.0],
            coverage_weight: 0.0,
            subsidy_weight: 0.0,
            subsidy_split: 0.0,
            coverage_primary_weight: &[0.0, 0.0],
            context_of: &[0, 1],
            brand_offset: &[0.0; 4],
        });
        // 2^2 wallet sets × 3^2 default pairs, one class.
        assert_eq!(t.joint_per_class(p), 36);
        assert_eq!(t.joint.len(), 36);
        // H = {a, b} = 3, π_0 = a (0), π_1 = b (1): index 3·9 + 0 + 1·3.
        let jr = &t.joint[3 * 9 + 3];
        // a: 0.6·0.7 + 0.4·0.25 = 0.52; b: 0.6·0.2 + 0.4·0.75 = 0.42; lost 0.6·0.1 = 0.06,
        // rescued by c0's rescuers (b) only, since c1 loses nothing.
        assert!((jr.val[0] - 0.52).abs() < 1e-12, "{:?}", jr.val);
        assert!((jr.val[1] - 0.42).abs() < 1e-12, "{:?}", jr.val);
        assert!((jr.lost - 0.06).abs() < 1e-12);
        assert_eq!(jr.rescue, 0b10);
        // Spending of 5 on that joint row lands on c0's row (H, a) and c1's row (H, b).
        let mut acc = UserAcc::new(p, 2, 1, 2, t.joint.len());
        acc.joint_dense()[3 * 9 + 3] = 5.0;
        acc.finish_joint(&t);
        let mut want = vec![0.0; 2 * hp_n];
        want[hp_index(p, 3, 0)] = 5.0;
        want[hp_n + hp_index(p, 3, 1)] = 5.0;
        assert_eq!(acc.spend, want);
        // More joint rows than JOINT_MAX: none built (eight platforms and two contexts make
        // 256·81 = 20,736 for one class; four platforms and three, 2,000 a class, for nine
        // classes 18,000).
        assert_eq!(joint_rows(8, 2, 1, &[]).len(), 0);
        assert_eq!(joint_rows(4, 3, 9, &[]).len(), 0);
    }
}
