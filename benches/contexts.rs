//! The cost of contexts: one simulated month of `data/scenarios/contexts.toml` with four
//! contexts (the storefront given a context of its own) against the same market in one
//! context, at 10^6 and 10^7 users (10 merchants per 100 users), on 2 threads.
//!
//! `cargo bench --bench contexts`. Each iteration is one `Simulation::step` from a state run
//! two years. Criterion's throughput is users per second; ns per user-step is its inverse.
//! First the two markets step by turns over the same eleven months, and the median of the
//! pairs' time ratios is printed (a slow drift of the machine's speed moves both sides of a
//! pair alike); then criterion times each.

#[path = "../examples/support/contexts.rs"]
mod variants;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use paymarket::{Scenario, Simulation};

/// [`variants::variant`], with an end far enough to never run out of months while criterion
/// iterates.
fn scenario(contexts: usize, users: u64) -> Scenario {
    let mut s = variants::variant(contexts, users);
    s.end = "2199-12".parse().unwrap();
    s
}

/// Steps `a` and `b` by turns, `pairs` times each (the order swapped every pair), and returns
/// the median step time of each and the median of the per-pair ratios `b / a`: a slow drift of
/// the machine's speed moves both sides of a pair alike, so the ratio is steadier than two
/// separate medians.
fn paired(
    pool: &rayon::ThreadPool,
    a: &mut Simulation,
    b: &mut Simulation,
    pairs: usize,
) -> (f64, f64, f64) {
    let step = |sim: &mut Simulation| {
        let t = std::time::Instant::now();
        pool.install(|| sim.step().expect("step"));
        t.elapsed().as_secs_f64()
    };
    let (mut ta, mut tb, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..pairs {
        let (x, y) = if k % 2 == 0 {
            let x = step(a);
            (x, step(b))
        } else {
            let y = step(b);
            (step(a), y)
        };
        ta.push(x);
        tb.push(y);
        ratio.push(y / x);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut ta), median(&mut tb), median(&mut ratio))
}

fn month(c: &mut Criterion) {
    let mut g = c.benchmark_group("contexts");
    g.sample_size(10);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    // `cargo bench --bench contexts -- 10000000` runs the larger size only.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    for users in [1_000_000u64, 10_000_000] {
        if filter
            .as_ref()
            .is_some_and(|f| !users.to_string().contains(f.as_str()))
        {
            continue;
        }
        let mut sims = [1usize, 4].map(|contexts| {
            pool.install(|| {
                let mut sim = Simulation::new(scenario(contexts, users)).expect("valid");
                for _ in 0..24 {
                    sim.step().expect("step");
                }
                sim
            })
        });
        // First by turns, over the same months (25 to 35) for both markets.
        let [one, four] = &mut sims;
        let (t1, t4, ratio) = paired(&pool, one, four, 11);
        println!(
            "contexts/paired/{users}: one context {:.1} ms, four {:.1} ms (medians of 11 \
             alternating steps, months 25-35), ratio {ratio:.3} (median of the pairs' ratios)",
            t1 * 1e3,
            t4 * 1e3
        );
        for (sim, contexts) in sims.iter_mut().zip([1, 4]) {
            g.throughput(Throughput::Elements(users));
            g.bench_with_input(
                BenchmarkId::new(format!("{contexts}ctx"), users),
                &users,
                |b, _| b.iter(|| pool.install(|| sim.step().expect("step").is_some())),
            );
        }
    }
    g.finish();
}

criterion_group!(benches, month);
criterion_main!(benches);
