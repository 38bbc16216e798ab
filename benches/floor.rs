//! The floor under a user-step: what any implementation of MODEL.md's contact rule must do,
//! with nothing else. `cargo bench --bench floor`.
//!
//! Each user draws K = 8 contacts (one 64-bit counter-based draw each, 90% from its community of
//! 150, 10% from anywhere), reads each contact's 2-byte state word and adds it to a sum; one more
//! draw stands for the user's own decisions. No routing, no tables, no decisions. The state is
//! a population-sized `Vec<u16>`, as in the simulation. Compare its ns per user with the
//! `step` benchmark's to see how much of a month is the irreducible sampling.
//!
//! Two kernels: `floor/hash` draws each contact with its own SplitMix64 output, as the
//! simulation does; `floor/multiply` derives the eight contact words from one hash per user by
//! a single multiply each (statistically weaker than the crate would accept: a lower bound on
//! what any generator could cost).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use paymarket::rng::{Stream, StreamId};
use paymarket::social::{community, contact_in};
use rayon::prelude::*;

const K: u64 = 8;
const B: u64 = 150;
/// ε = 0.1 as a 16-bit threshold.
const EPS16: u32 = 6554;

/// One kernel's month: every user's contact draws and state reads.
fn floor_month(state: &[u16], out: &mut [u16], t: u64, one_hash: bool) {
    let n = state.len() as u64;
    let stream = Stream::new(1, StreamId::Contacts, t);
    out.par_chunks_mut(4096).enumerate().for_each(|(c, chunk)| {
        let base = c as u64 * 4096;
        for (off, o) in chunk.iter_mut().enumerate() {
            let i = base + off as u64;
            let (start, size) = community(i, n, B);
            let d = stream.agent(i);
            let key = d.key();
            let mut sum = 0u16;
            for k in 0..K {
                let x = if one_hash {
                    (key ^ k).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                } else {
                    d.draw(k)
                };
                if let Some(r) = contact_in(i, n, start, size, EPS16, x) {
                    sum = sum.wrapping_add(state[r as usize]);
                }
            }
            *o = sum ^ d.draw(K) as u16;
        }
    });
}

fn floor(c: &mut Criterion) {
    let mut g = c.benchmark_group("floor");
    g.sample_size(10);
    for users in [1_000_000usize, 10_000_000] {
        let state: Vec<u16> = (0..users as u64)
            .map(|i| (i * 2_654_435_761) as u16)
            .collect();
        let mut out = vec![0u16; users];
        for (kernel, threads) in [("hash", 1usize), ("hash", 2), ("multiply", 2)] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            g.throughput(Throughput::Elements(users as u64));
            let mut t = 0;
            g.bench_with_input(
                BenchmarkId::new(format!("{kernel}/{threads}t"), users),
                &users,
                |b, _| {
                    b.iter(|| {
                        t += 1;
                        pool.install(|| floor_month(&state, &mut out, t, kernel == "multiply"));
                        out[0]
                    })
                },
            );
        }
    }
    g.finish();
}

criterion_group!(benches, floor);
criterion_main!(benches);
