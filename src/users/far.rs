//! Long-range contacts drawn from a table of the month's words (docs/MODEL.md section 3,
//! *Contacts*; `agents.long_range = "table"`): every user's word is counted once a month, after
//! the month's memberships are written into them, and an alias table over the distinct words
//! gives a long-range contact's word in one read from that small table instead of one from
//! anywhere in the population's array.
//!
//! Owns: `FarTable`. Reads: last month's words (`u16` state words or `u32` whole words), with
//! this month's memberships. Never: the rules, output.

use crate::world::Word;
use rayon::prelude::*;

/// The alias table of the month's words: column `c` gives its own word with probability
/// `thr / 65536` and its alias's word otherwise (Walker's method, built by Vose's).
#[derive(Debug, Clone)]
pub struct FarTable {
    /// Per column: its own word, its alias's word, and the threshold in 1/65536.
    cols: Vec<(u32, u32, u32)>,
}

#[cfg(test)]
thread_local! {
    /// Tests only: tables built on this thread count every distinct word once, a deliberately
    /// wrong sampler for the ensemble-equivalence test to tell apart.
    pub(crate) static COUNTS_IGNORED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Counts of distinct words: open addressing on a power-of-two table, grown at half full.
struct Counter {
    keys: Vec<u32>,
    counts: Vec<u64>,
    len: usize,
}

impl Counter {
    fn new() -> Counter {
        Counter {
            keys: vec![0; 1024],
            counts: vec![0; 1024],
            len: 0,
        }
    }

    #[inline]
    fn add(&mut self, w: u32, n: u64) {
        let mask = self.keys.len() - 1;
        // Fibonacci hashing: the words differ mostly in a few bits, which the multiply spreads
        // to the top bits, the slot's.
        let shift = 64 - self.keys.len().trailing_zeros();
        let mut s = ((w as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> shift) as usize;
        loop {
            if self.counts[s] == 0 {
                self.keys[s] = w;
                self.counts[s] = n;
                self.len += 1;
                if 2 * self.len > self.keys.len() {
                    self.grow();
                }
                return;
            }
            if self.keys[s] == w {
                self.counts[s] += n;
                return;
            }
            s = (s + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let old = std::mem::replace(
            self,
            Counter {
                keys: vec![0; self.keys.len() * 2],
                counts: vec![0; self.keys.len() * 2],
                len: 0,
            },
        );
        for (w, n) in old.pairs() {
            self.add(w, n);
        }
    }

    fn pairs(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.keys
            .iter()
            .zip(&self.counts)
            .filter(|(_, &n)| n > 0)
            .map(|(&w, &n)| (w, n))
    }
}

impl FarTable {
    /// The table of `words` (every user's, this month's memberships written), the same on any
    /// number of threads: the counts are integers, and the distinct words are put in order
    /// before the table is built.
    pub fn of<W: Word>(words: &[W]) -> FarTable {
        let counter = words
            .par_chunks(crate::world::CHUNK)
            .fold(Counter::new, |mut c, chunk| {
                for w in chunk {
                    c.add(w.bits(), 1);
                }
                c
            })
            .reduce(Counter::new, |mut a, b| {
                for (w, n) in b.pairs() {
                    a.add(w, n);
                }
                a
            });
        let mut counts: Vec<(u32, u64)> = counter.pairs().collect();
        counts.sort_unstable();
        #[cfg(test)]
        if COUNTS_IGNORED.get() {
            counts.iter_mut().for_each(|c| c.1 = 1);
        }
        FarTable::from_counts(&counts)
    }

    /// The table of last month's words of `users` (the buffer the user pass reads).
    pub fn of_users(users: &crate::world::Users) -> FarTable {
        if users.has_defaults() {
            FarTable::of(&users.words[users.cur])
        } else {
            FarTable::of(&users.state[users.cur])
        }
    }

    /// The alias table of `counts` (`(word, count)`, distinct words in order, counts positive).
    /// Column weights are `count · m` against a column's capacity `N = Σ count` (`m` columns),
    /// in exact integers; only the thresholds are rounded, to 1/65536.
    pub fn from_counts(counts: &[(u32, u64)]) -> FarTable {
        let m = counts.len() as u128;
        let n: u128 = counts.iter().map(|&(_, c)| c as u128).sum();
        let mut weight: Vec<u128> = counts.iter().map(|&(_, c)| c as u128 * m).collect();
        let mut cols: Vec<(u32, u32, u32)> = counts.iter().map(|&(w, _)| (w, w, 65536)).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..counts.len()).partition(|&c| weight[c] < n);
        // Vose: each small column is topped up from a large one, which may then turn small.
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            let thr = (weight[s] * 65536 + n / 2) / n;
            cols[s] = (counts[s].0, counts[l].0, thr as u32);
            weight[l] -= n - weight[s];
            if weight[l] < n {
                large.pop();
                small.push(l);
            }
        }
        FarTable { cols }
    }

    /// Distinct words in the table.
    pub fn len(&self) -> usize {
        self.cols.len()
    }

    /// Whether the table has no word (no users).
    pub fn is_empty(&self) -> bool {
        self.cols.is_empty()
    }

    /// The word of a long-range contact from draw `x`: the column from bits 16–47, the choice
    /// between the column's word and its alias's from bits 48–63 (bits 0–15 decided that the
    /// contact is long-range), without a branch.
    #[inline(always)]
    pub fn draw(&self, x: u64) -> u32 {
        let c = ((((x >> 16) & 0xffff_ffff) * self.cols.len() as u64) >> 32) as usize;
        let (own, alias, thr) = self.cols[c];
        if ((x >> 48) as u32) < thr {
            own
        } else {
            alias
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each word's probability under the table, summed over the columns and the 2^16 choices:
    /// within 2^-16 of a column (the thresholds' rounding) of its count's share.
    fn probabilities(t: &FarTable) -> std::collections::BTreeMap<u32, f64> {
        let m = t.cols.len() as f64;
        let mut p = std::collections::BTreeMap::new();
        for &(own, alias, thr) in &t.cols {
            *p.entry(own).or_insert(0.0) += thr as f64 / 65536.0 / m;
            *p.entry(alias).or_insert(0.0) += (65536 - thr) as f64 / 65536.0 / m;
        }
        p
    }

    #[test]
    fn the_table_gives_each_word_its_share() {
        let cases: Vec<Vec<(u32, u64)>> = vec![
            vec![(7, 1)],
            vec![(1, 1), (2, 3)],
            vec![(3, 5), (4, 5), (9, 5)],
            vec![(0, 999_990), (1, 5), (2, 5)],
            (0..300)
                .map(|w| (w * 17, 1 + (w as u64 * 7919) % 101))
                .collect(),
        ];
        for counts in cases {
            let t = FarTable::from_counts(&counts);
            let n: u64 = counts.iter().map(|c| c.1).sum();
            let p = probabilities(&t);
            assert_eq!(p.len(), counts.len());
            for &(w, c) in &counts {
                let want = c as f64 / n as f64;
                let tol = 1.0 / 65536.0 / counts.len() as f64 * 2.0 + 1e-12;
                assert!((p[&w] - want).abs() <= tol, "{w}: {} against {want}", p[&w]);
            }
        }
        // Two words at 1:3: column 0 keeps its own word half the time, column 1 always.
        let t = FarTable::from_counts(&[(1, 1), (2, 3)]);
        assert_eq!(t.cols, vec![(1, 2, 32768), (2, 2, 65536)]);
    }

    #[test]
    fn counting_does_not_depend_on_the_threads_or_the_order() {
        let words: Vec<u32> = (0..50_000u32)
            .map(|i| i.wrapping_mul(2_654_435_761) % 997)
            .collect();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let two = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let a = one.install(|| FarTable::of(&words));
        let b = two.install(|| FarTable::of(&words));
        let mut rev = words.clone();
        rev.reverse();
        let c = two.install(|| FarTable::of(&rev));
        assert_eq!(a.cols, b.cols);
        assert_eq!(a.cols, c.cols);
        assert_eq!(a.len(), 997);
        // 997,000 draws hit each word about 20 times as often as it is counted among the 50,000.
        let mut hits = vec![0u32; 997];
        let s = crate::rng::Stream::new(3, crate::rng::StreamId::Contacts, 0);
        for k in 0..997_000u64 {
            hits[a.draw(s.agent(k).draw(0)) as usize] += 1;
        }
        let counts: Vec<u64> = (0..997u32)
            .map(|w| words.iter().filter(|&&x| x == w).count() as u64)
            .collect();
        for w in 0..997 {
            let want = counts[w] as f64 / 50_000.0 * 997_000.0;
            // Binomial sd about 31 at 1,000: six of them.
            assert!(
                (hits[w] as f64 - want).abs() < 6.0 * want.sqrt(),
                "{w}: {} against {want}",
                hits[w]
            );
        }
    }
}
