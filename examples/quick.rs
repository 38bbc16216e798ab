fn main() -> paymarket::Result<()> {
    let mut s = paymarket::Scenario::load("data/scenarios/duopoly.toml")?;
    s.agents.users = 20000; s.agents.merchants=2000;
    let mut sim = paymarket::Simulation::new(s)?;
    let mut c = paymarket::Collect::default();
    sim.run(&mut [&mut c])?;
    for r in c.reports.iter().step_by(6) {
        print!("{} ", r.month);
        for p in &r.platforms { print!("{} users={:.0} act={:.0} m={:.0} share={:.3} | ", p.platform, p.users, p.active_users, p.merchants, p.value_share.unwrap_or(0.0)); }
        println!("lost={:.3e} spend={:.3e}", r.market.lost_value, r.market.spend);
    }
    Ok(())
}
