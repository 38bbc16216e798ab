fn main() -> paymarket::Result<()> {
    let path = std::env::args().nth(1).unwrap_or("data/scenarios/china_2012_2021.toml".into());
    let mut s = paymarket::Scenario::load(path)?;
    s.agents.users = 200000; s.agents.merchants=20000;
    let mut sim = paymarket::Simulation::new(s)?;
    let mut c = paymarket::Collect::default();
    let t0 = std::time::Instant::now();
    sim.run(&mut [&mut c])?;
    eprintln!("{:?}", t0.elapsed());
    for r in c.reports.iter().step_by(6) {
        print!("{} ", r.month);
        for p in &r.platforms { print!("{} u={:.0}M a={:.0}M m={:.2}M sh={:.3} | ", p.platform, p.users/1e6, p.active_users/1e6, p.merchants/1e6, p.value_share.unwrap_or(0.0)); }
        println!("lost={:.3} ", r.market.lost_value/r.market.spend);
    }
    Ok(())
}
