//! The cost of contexts: one simulated month of `data/scenarios/contexts.toml` with four
//! contexts (the storefront given a context of its own) against the same market in one
//! context, at 10^6 and 10^7 users (10 merchants per 100 users), on 2 threads.
//!
//! `cargo bench --bench contexts`. Each iteration is one `Simulation::step` from a state run
//! two years. Criterion's throughput is users per second; ns per user-step is its inverse.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use paymarket::scenario::Context;
use paymarket::{Scenario, Simulation};

/// The scenario with four contexts (`contexts = 4`) or none (`contexts = 1`).
fn scenario(contexts: usize, users: u64) -> Scenario {
    let mut s = Scenario::load("data/scenarios/contexts.toml").expect("scenario");
    if contexts == 4 {
        s.contexts.push(Context {
            id: "store".into(),
            ..Context::default()
        });
        let store = s
            .channels
            .iter_mut()
            .find(|c| c.id == "storefront")
            .unwrap();
        store.context = Some("store".into());
    } else {
        s.contexts.clear();
        for ch in &mut s.channels {
            ch.context = None;
        }
    }
    s.agents.users = users;
    s.agents.merchants = users / 10;
    // Far enough to never run out of months while criterion iterates.
    s.end = "2199-12".parse().unwrap();
    s
}

fn month(c: &mut Criterion) {
    let mut g = c.benchmark_group("contexts");
    g.sample_size(10);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    for users in [1_000_000u64, 10_000_000] {
        for contexts in [1usize, 4] {
            let mut sim = pool.install(|| {
                let mut sim = Simulation::new(scenario(contexts, users)).expect("valid");
                for _ in 0..24 {
                    sim.step().expect("step");
                }
                sim
            });
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
