fn main() {
    let mut s = paymarket::Scenario::load("data/scenarios/china_2012_2021.toml").unwrap();
    s.agents.users = 1_000_000; s.agents.merchants = 100_000;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    pool.install(|| { let mut sim = paymarket::Simulation::new(s).unwrap();
    for _ in 0..48 { sim.step().unwrap(); } });
}
