//! The month's books (MODEL.md step 7): the money each channel routed, in RMB.
//!
//! Owns: `Flows`, `flows`. Reads: the market, the routing tables, the users' sums. Never:
//! output formats.

use crate::market::Market;
use crate::payments::ChannelTables;
use crate::users::UserAcc;

/// One month's money per channel, in RMB.
pub(super) struct Flows {
    /// Value per channel and platform.
    pub value: Vec<Vec<f64>>,
    /// Paid by the outside option, per channel.
    pub cash: Vec<f64>,
    /// Lost, per channel.
    pub lost: Vec<f64>,
    /// Merchant fees per platform.
    pub fees: Vec<f64>,
    /// Spending per channel.
    pub spend: Vec<f64>,
}

/// Routes the month's spending: routed channels through their tables (`w_c`: agent spending per
/// channel and `(H, π)`), p2p channels from the users' own sums, in people.
pub(super) fn flows(
    market: &Market,
    tables: &[ChannelTables],
    w_c: &[f64],
    spend_c: &[f64],
    ua: &UserAcc,
) -> Flows {
    let (p, c_n, hp_n) = (market.platforms, market.channels, market.hp_n);
    let wu = market.user_weight;
    let mut f = Flows {
        value: vec![vec![0.0f64; p]; c_n],
        cash: vec![0.0f64; c_n],
        lost: vec![0.0f64; c_n],
        fees: vec![0.0f64; p],
        spend: spend_c.iter().map(|x| x * wu).collect(),
    };
    for c in 0..c_n {
        if market.is_p2p[c] {
            let v = &ua.p2p[c * (p + 2)..][..p + 2];
            for j in 0..p {
                f.value[c][j] = v[j] * wu;
            }
            f.cash[c] = v[p] * wu;
            f.lost[c] = v[p + 1] * wu;
            continue;
        }
        let w = &w_c[c * hp_n..][..hp_n];
        let tb = &tables[c];
        for (hp, &wv) in w.iter().enumerate() {
            if wv == 0.0 {
                continue;
            }
            let r = &tb.route[hp * (p + 2)..][..p + 2];
            for j in 0..p {
                f.value[c][j] += wv * r[j];
                f.fees[j] += wv * tb.fee_route[hp * p + j];
            }
            f.cash[c] += wv * r[p];
            f.lost[c] += wv * r[p + 1];
        }
        for j in 0..p {
            f.value[c][j] *= wu;
        }
        f.cash[c] *= wu;
        f.lost[c] *= wu;
    }
    for x in &mut f.fees {
        *x *= wu;
    }
    f
}
