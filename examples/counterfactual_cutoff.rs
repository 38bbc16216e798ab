//! What did the walled gardens of 2013–2014 do? The calibrated historical replay against a
//! world where Taobao never shut out WeChat's links and QR codes (the `shift` events on the
//! `alibaba_commerce` channel for WeChat members, and their 2021 reversal) and Alipay never
//! closed its gateway to WeChat public accounts (the 2014 `block`). Both worlds run on the same replicate seeds, so
//! the effect `history − open world` comes with a paired 95% confidence interval.
//!
//! ```text
//! cargo run --release --example counterfactual_cutoff -- [--replicates R] [--users N]
//!     [--merchants M] [--seed S] [--threads T] [--out DIR]
//! ```
//!
//! Defaults: 20 replicates of 100,000 users and 10,000 merchants, output in
//! `out/counterfactual_cutoff` (summaries, effects and SVG charts).

#[path = "support/mod.rs"]
mod support;

use paymarket::scenario::EventKind;
use paymarket::Scenario;
use std::process::ExitCode;

const USAGE: &str = "usage: counterfactual_cutoff [--replicates R] [--users N] [--merchants M] [--seed S] [--threads T] [--out DIR]
  --replicates paired replicates (default 20)
  --users      user agents per run (default 100000)
  --merchants  merchant agents per run (default 10000)
  --seed       master seed (default: the scenario's)
  --threads    worker threads (default: one per core)
  --out        output directory (default out/counterfactual_cutoff)";

fn main() -> ExitCode {
    support::main_with(
        &["replicates", "users", "merchants", "seed", "threads", "out"],
        USAGE,
        run,
    )
}

/// The walls: Taobao's shifts against WeChat members before 2015 (their 2021 reversals go too:
/// in an open world there is nothing to reopen) and every `block` dated 2014.
fn is_wall(e: &paymarket::scenario::Event) -> bool {
    let year = e.at.year();
    let taobao_vs_wechat = e.kind == EventKind::Shift
        && e.channel.as_deref() == Some("alibaba_commerce")
        && e.network.as_deref() == Some("wechat");
    taobao_vs_wechat || (e.kind == EventKind::Block && year == 2014)
}

fn run(flags: &support::Flags) -> Result<(), Box<dyn std::error::Error>> {
    let history = Scenario::load("data/scenarios/china_2012_2021_calibrated.toml")?;
    let mut open = history.clone();
    open.name = "open_world".into();
    open.events.retain(|e| !is_wall(e));
    println!(
        "Removed {} events from the history:",
        history.events.len() - open.events.len()
    );
    for e in history.events.iter().filter(|e| is_wall(e)) {
        println!("  {} {:<6} {}", e.at, e.kind, e.source);
    }
    println!();
    support::comparison(
        flags,
        open,
        history,
        None,
        "out/counterfactual_cutoff",
        &["2015-12", "2018-12", "2021-12"],
    )
}
