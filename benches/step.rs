//! One simulated month of the historical scenario at 10^5, 10^6 and 10^7 users (10 merchants per
//! 100 users), on 1 and 2 threads.
//!
//! `cargo bench --bench step`. Each iteration is one `Simulation::step` from a state already
//! run three years, to 2015 (the market is mid-diffusion, all platforms launched by then are
//! active). Criterion's throughput is users per second; ns per user-step is its inverse.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use paymarket::{Scenario, Simulation};

fn simulation(users: u64) -> Simulation {
    let mut s = Scenario::load("tests/fixtures/china_v1/china_2012_2021.toml").expect("scenario");
    s.agents.users = users;
    s.agents.merchants = users / 10;
    // Far enough to never run out of months while criterion iterates.
    s.end = "2199-12".parse().unwrap();
    let mut sim = Simulation::new(s).expect("valid");
    for _ in 0..36 {
        sim.step().expect("step");
    }
    sim
}

fn month(c: &mut Criterion) {
    let mut g = c.benchmark_group("month");
    g.sample_size(10);
    for users in [100_000u64, 1_000_000, 10_000_000] {
        for threads in [1usize, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut sim = pool.install(|| simulation(users));
            g.throughput(Throughput::Elements(users));
            g.bench_with_input(
                BenchmarkId::new(format!("{threads}t"), users),
                &users,
                |b, _| b.iter(|| pool.install(|| sim.step().expect("step").is_some())),
            );
        }
    }
    g.finish();
}

criterion_group!(benches, month);
criterion_main!(benches);
