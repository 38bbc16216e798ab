//! P2p transfers and their returns (MODEL.md step 4): a user's transfers to its contacts over
//! each p2p channel, split by the wallets both can use and the default of the channel's context,
//! and the transfers back that the balance shares of the default re-choice read.
//!
//! Owns: `p2p_transfers`, `returns`, `Tally`. Reads: `UserCtx`, the contacts' words
//! (`ContactsOf`). Never: the decisions, output.

use super::contacts::{default_shift, ContactsOf};
use super::update::Paid;
use super::{UserAcc, UserCtx};
use crate::world::state;

/// The p2p value a user receives back through each wallet, and in all (cash and lost returns
/// included): each contact paid sends the same amount back, routed by the contact's default
/// in the channel's context (MODEL.md step 4, the balance shares `b_ij`); with `only`, over that
/// context's p2p channels alone.
#[inline]
pub(crate) fn returns<const K: usize>(
    ctx: &UserCtx,
    x: f64,
    h: u8,
    w: &[f64],
    contacts: ContactsOf,
    only: Option<usize>,
) -> ([f64; 8], f64) {
    let p = ctx.p;
    let mut recv = [0.0f64; 8];
    let mut total = 0.0;
    for ch in ctx.p2p {
        if only.is_some_and(|k| k != ch.context) {
            continue;
        }
        let wc = w[ch.c];
        if wc == 0.0 {
            continue;
        }
        let shift = default_shift(if K > 1 { ch.context } else { 0 });
        // With at most four platforms the split rows' upper four lanes are zero: add four.
        let (sum, eligible) = if p <= 4 {
            let (s4, e) = returns_sum::<K, 4>(p, h, ch, contacts, shift);
            let mut sum = [0.0f64; 8];
            sum[..4].copy_from_slice(&s4);
            (sum, e)
        } else {
            returns_sum::<K, 8>(p, h, ch, contacts, shift)
        };
        if eligible == 0 {
            continue;
        }
        let per = x * wc / eligible as f64;
        total += per * eligible as f64;
        for j in 0..p {
            recv[j] += per * sum[j];
        }
    }
    (recv, total)
}

/// One p2p channel's part of [`returns`]: the split of one transfer from each contact, added
/// over the contacts in the first `L` lanes, and how many contacts are eligible. Branch-free, as
/// in the transfers themselves: an ineligible contact's usable set is empty, and the empty
/// set's split row is all zeros.
#[inline(always)]
fn returns_sum<const K: usize, const L: usize>(
    p: usize,
    h: u8,
    ch: &super::P2pChannel,
    contacts: ContactsOf,
    shift: u32,
) -> ([f64; L], u32) {
    let mut sum = [0.0f64; L];
    let mut eligible = 0u32;
    contacts.each_default::<K>(shift, |st, cm, rpi| {
        let ok = (cm & ch.requires != 0) as u8;
        eligible += ok as u32;
        let usable = h & state::wallets(st) & ch.usable & ok.wrapping_neg();
        let sr = &ch.split[usable as usize * (p + 1) + (rpi as usize).min(p)];
        for j in 0..L {
            sum[j] += sr[j];
        }
    });
    (sum, eligible)
}

/// Step 4, p2p channels: transfers to contacts, added to the user's paid, lost and rescuable
/// shares and to the channels' flows. With `R`, the same pass over the contacts also sums the
/// returns over every p2p channel (what [`returns`] gives, to the bit: the same rows added in
/// the same order), for a user with a reviewing context that reads them; otherwise they are
/// computed only if a default is re-chosen, the one place they are used, and this returns
/// zeros.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn p2p_transfers<const K: usize, const R: bool>(
    ctx: &UserCtx,
    x: f64,
    h: u8,
    pis: &[usize; 4],
    w: &[f64],
    contacts: ContactsOf,
    acc: &mut UserAcc,
    paid: &mut Paid,
) -> ([f64; 8], f64) {
    let p = ctx.p;
    let (mut recv, mut recv_total) = ([0.0f64; 8], 0.0);
    for ch in ctx.p2p {
        let pi = if K > 1 { pis[ch.context] } else { pis[0] };
        let wc = w[ch.c];
        if wc == 0.0 {
            continue;
        }
        // Sum the split of one transfer over the eligible contacts, then scale once; with `R`,
        // the split of each contact's transfer back, routed by its default (`back`).
        let mut t = Tally::default();
        let mut back = [0.0f64; 8];
        if R {
            // With at most four platforms the split rows' upper four lanes are zero.
            if p <= 4 {
                back[..4].copy_from_slice(&t.add_with_returns::<K, 4>(ch, p, h, pi, contacts));
            } else {
                back = t.add_with_returns::<K, 8>(ch, p, h, pi, contacts);
            }
        } else {
            for (&cs, &cm) in contacts.st.iter().zip(contacts.mask) {
                t.add(ch, p, h, pi, cs, cm);
            }
        }
        let Tally {
            sum,
            eligible,
            unpaid,
            unpaid_wallets,
        } = t;
        let amount = x * wc;
        let out = &mut acc.p2p[ch.c * (p + 2)..][..p + 2];
        if eligible == 0 {
            if ch.cash {
                out[p] += amount;
            } else {
                out[p + 1] += amount;
                paid.lost += wc;
            }
            continue;
        }
        let per = amount / eligible as f64;
        let share = wc / eligible as f64;
        for j in 0..p {
            out[j] += per * sum[j];
            paid.val[j] += share * sum[j];
        }
        if R {
            recv_total += per * eligible as f64;
            for j in 0..p {
                recv[j] += per * back[j];
            }
        }
        // Whether any contact went unpaid is a coin flip: no branch on it.
        if ch.cash {
            out[p] += per * unpaid as f64;
        } else {
            out[p + 1] += per * unpaid as f64;
            paid.lost += share * unpaid as f64;
            paid.rescue |= unpaid_wallets;
        }
    }
    (recv, recv_total)
}

/// One p2p channel's transfers summed over the contacts ([`p2p_transfers`]).
#[derive(Default)]
struct Tally {
    /// The split of one transfer, added over the contacts.
    sum: [f64; 8],
    /// Contacts in the channel's network.
    eligible: u32,
    /// Eligible contacts the user cannot pay.
    unpaid: u32,
    /// The wallets with which the unpaid contacts could have been paid.
    unpaid_wallets: u8,
}

impl Tally {
    /// Adds one contact (state word `cs`, membership `cm`) of a user holding `h` with default
    /// `pi` in the channel's context; returns the wallets both can use. Branch-free:
    /// eligibility and a shared wallet are coin flips per contact. The split table's row for
    /// the empty set is all zeros, so ineligible or unpaid contacts add 0.
    #[inline(always)]
    fn add(&mut self, ch: &super::P2pChannel, p: usize, h: u8, pi: usize, cs: u16, cm: u16) -> u8 {
        let ok = (cm & ch.requires != 0) as u8;
        let their = state::wallets(cs) & ch.usable & ok.wrapping_neg();
        let usable = h & their;
        let s = &ch.split[usable as usize * (p + 1) + pi];
        for j in 0..8 {
            self.sum[j] += s[j];
        }
        let none = ok & (usable == 0) as u8;
        self.eligible += ok as u32;
        self.unpaid += none as u32;
        self.unpaid_wallets |= their & none.wrapping_neg();
        usable
    }

    /// Adds every contact as [`Tally::add`] does, and returns the split of each contact's
    /// transfer back, routed by its default in the channel's context, added over the contacts
    /// in the first `L` lanes: [`returns_sum`]'s rows in its order.
    #[inline(always)]
    fn add_with_returns<const K: usize, const L: usize>(
        &mut self,
        ch: &super::P2pChannel,
        p: usize,
        h: u8,
        pi: usize,
        contacts: ContactsOf,
    ) -> [f64; L] {
        let shift = default_shift(if K > 1 { ch.context } else { 0 });
        let mut back = [0.0f64; L];
        contacts.each_default::<K>(shift, |cs, cm, rpi| {
            let usable = self.add(ch, p, h, pi, cs, cm);
            let b = &ch.split[usable as usize * (p + 1) + (rpi as usize).min(p)];
            for j in 0..L {
                back[j] += b[j];
            }
        });
        back
    }
}
