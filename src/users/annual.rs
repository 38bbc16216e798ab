//! Annual users (MODEL.md section 6: people who used a wallet in the last 12 months, counting
//! one dropped within them), kept in the 4-bit dormancy counters of the wallets a user does not
//! hold, which nothing else reads: no state is added.
//!
//! Owns: `remember` and its nibble helpers. Reads: one user's counters and wallet sets. Never:
//! draws, tables, output.

use super::update::NIBBLES;

/// The counters of wallets not held, for annual users (MODEL.md section 6: people who used a
/// wallet in the last 12 months, counting one dropped within them). A held wallet's counter is
/// the months since it was last used (or taken up), to 15 at most; a wallet not held has `0`,
/// or, when it was dropped within the last 12 months, the months since its last use plus one
/// (so `1..=12`), aged here each month and cleared past 12.
///
/// `d` has this month's counters of the wallets held at its start (`h`), last month's of the
/// others; returns the counters at the end of the month (wallets held `new_h`, `dropped` this
/// month) and the wallets the user counts as an annual user of.
#[inline(always)]
pub(super) fn remember(d: u32, h: u8, new_h: u8, dropped: u8) -> (u32, u8) {
    let mut d = d;
    // A counter of `1..=12` ages by one; past 12, or a dropped wallet's last use 12 months
    // ago or more, it is cleared. Only wallets dropped now or within the year have work.
    let others = d & !(NIBBLES[h as usize] as u32);
    let mut todo = if others == 0 {
        dropped
    } else {
        nonzero_nibbles(others) | dropped
    };
    let mut annual = 0u8;
    while todo != 0 {
        let j = todo.trailing_zeros() as usize;
        todo &= todo - 1;
        let shift = 4 * j;
        let v = ((d >> shift) & 0xf) + 1;
        let v = if v > 12 { 0 } else { v };
        d = (d & !(0xf << shift)) | (v << shift);
        annual |= ((v != 0) as u8) << j;
    }
    // Held wallets used within the last 12 months: a counter of at most 11, that is without
    // both of its bits 3 and 2 set (12 to 15).
    let flags = d & (d << 1) & 0x8888_8888;
    annual |= if flags == 0 {
        new_h
    } else {
        new_h & !gather_nibbles(flags >> 3)
    };
    (d, annual)
}

/// The wallets whose 4-bit counter in `d` is not zero.
#[inline(always)]
fn nonzero_nibbles(d: u32) -> u8 {
    gather_nibbles(d | d >> 1 | d >> 2 | d >> 3)
}

/// Bit `4·j` of `x` gathered into bit `j`, for the eight counters (other bits ignored).
#[inline(always)]
fn gather_nibbles(x: u32) -> u8 {
    let x = x & 0x1111_1111;
    let x = (x | x >> 3) & 0x0303_0303;
    let x = (x | x >> 6) & 0x000f_000f;
    ((x | x >> 12) & 0xff) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counters (4 bits a wallet) from `(wallet, value)` pairs.
    fn counters(pairs: &[(usize, u32)]) -> u32 {
        pairs.iter().map(|&(j, v)| v << (4 * j)).sum()
    }

    /// Annual users' bookkeeping against cases worked by hand (MODEL.md section 6).
    #[test]
    fn dropped_wallets_count_as_annual_users_for_twelve_months() {
        // Wallet 0 held, unused for 3 months, dropped now: counter 3 + 1 = 4, an annual user.
        let (d, annual) = remember(counters(&[(0, 3)]), 0b1, 0b0, 0b1);
        assert_eq!((d, annual), (counters(&[(0, 4)]), 0b1));
        // Dropped 12 months after its last use: cleared, not an annual user.
        assert_eq!(remember(counters(&[(0, 12)]), 0b1, 0b0, 0b1), (0, 0));
        // Not held, last used 10 months ago (counter 11): 11 months ago now (12), still counted.
        let (d, annual) = remember(counters(&[(1, 11)]), 0b0, 0b0, 0b0);
        assert_eq!((d, annual), (counters(&[(1, 12)]), 0b10));
        // Last used 11 months ago (counter 12): 12 months ago now, cleared.
        assert_eq!(remember(counters(&[(1, 12)]), 0b0, 0b0, 0b0), (0, 0));
        // Held: unused for 11 months counts, for 12 does not; the counters are unchanged.
        let d = counters(&[(0, 11), (2, 12)]);
        assert_eq!(remember(d, 0b101, 0b101, 0b0), (d, 0b001));
        // A wallet taken up this month (its counter cleared by the caller) counts; another,
        // never held, has a zero counter and does not.
        assert_eq!(remember(0, 0b0, 0b1, 0b0), (0, 0b1));
        assert_eq!(remember(0, 0b0, 0b0, 0b0), (0, 0));
        // Held and dropped wallets together: 0 held (used this month), 1 dropped after 5 idle
        // months, 3 dropped last year and aging from 2 to 3.
        let (d, annual) = remember(counters(&[(1, 5), (3, 2)]), 0b011, 0b001, 0b010);
        assert_eq!((d, annual), (counters(&[(1, 6), (3, 3)]), 0b1011));
    }

    #[test]
    fn nonzero_nibbles_gathers_one_bit_a_wallet() {
        assert_eq!(nonzero_nibbles(0), 0);
        assert_eq!(
            nonzero_nibbles(counters(&[(0, 1), (3, 8), (7, 15)])),
            0b1000_1001
        );
    }
}
