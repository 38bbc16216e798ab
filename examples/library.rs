//! The library example of the README: a counterfactual in which WeChat never blocked Alipay's
//! red envelopes. `cargo run --release --example library`
use paymarket::scenario::EventKind;
use paymarket::{Collect, CsvRecorder, Scenario, Simulation};

fn main() -> paymarket::Result<()> {
    let mut scenario = Scenario::load("data/scenarios/china_2012_2021.toml")?;
    scenario.agents.users = 200_000;
    // A world where WeChat never blocked Alipay's red envelopes.
    scenario.events.retain(|e| {
        !(e.kind == EventKind::Block && e.channel.as_deref() == Some("wechat_transfers"))
    });

    let mut sim = Simulation::new(scenario)?;
    let mut csv = CsvRecorder::create("out/no_block")?;
    let mut months = Collect::default();
    sim.run(&mut [&mut csv, &mut months])?;

    let last = months.reports.last().unwrap();
    for p in &last.platforms {
        println!(
            "{}: {:.1}% of value",
            p.platform,
            100.0 * p.value_share.unwrap_or(0.0)
        );
    }
    Ok(())
}
