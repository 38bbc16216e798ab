//! What did the 2021 interoperability order change? The history runs once per replicate to
//! July 2021, then forks: one branch keeps the MIIT-era opening (WeChat's external links, the
//! UnionPay interop, Alibaba's apps accepting WeChat Pay), the other has no order. Both branches
//! continue to the end of 2023 on the same draws, so the effect of the order comes with a
//! paired 95% confidence interval. After 2021 the membership paths stay at their last values.
//!
//! ```text
//! cargo run --release --example miit_fork -- [--replicates R] [--users N] [--merchants M]
//!     [--seed S] [--threads T] [--out DIR]
//! ```
//!
//! Defaults: 20 replicates of 100,000 users and 10,000 merchants, output in `out/miit_fork`.

#[path = "support/mod.rs"]
mod support;

use paymarket::scenario::EventKind;
use paymarket::{Month, Scenario};
use std::process::ExitCode;

const USAGE: &str = "usage: miit_fork [--replicates R] [--users N] [--merchants M] [--seed S] [--threads T] [--out DIR]
  --replicates paired replicates (default 20)
  --users      user agents per run (default 100000)
  --merchants  merchant agents per run (default 10000)
  --seed       master seed (default: the scenario's)
  --threads    worker threads (default: one per core)
  --out        output directory (default out/miit_fork)";

fn main() -> ExitCode {
    support::main_with(
        &["replicates", "users", "merchants", "seed", "threads", "out"],
        USAGE,
        run,
    )
}

fn run(flags: &support::Flags) -> Result<(), Box<dyn std::error::Error>> {
    let fork: Month = "2021-08".parse()?;
    let order_month: Month = "2021-09".parse()?;
    let mut order = Scenario::load("data/scenarios/china_2012_2021_calibrated.toml")?;
    order.name = "miit_order".into();
    order.end = "2023-12".parse()?;
    // No order: the opening events from September 2021 on (links, interop, new acceptance)
    // never happen; the fee cuts stay, they were a separate measure.
    let mut no_order = order.clone();
    no_order.name = "no_order".into();
    no_order.events.retain(|e| {
        !(e.at >= order_month
            && matches!(
                e.kind,
                EventKind::Shift | EventKind::Interop | EventKind::Allow
            ))
    });
    println!("The order's events (absent from the no-order branch):");
    for e in order.events.iter().filter(|e| !no_order.events.contains(e)) {
        println!("  {} {:<8} {}", e.at, e.kind, e.source);
    }
    println!();
    support::comparison(
        flags,
        no_order,
        order,
        Some(fork),
        "out/miit_fork",
        &["2021-12", "2022-12", "2023-12"],
    )
}
