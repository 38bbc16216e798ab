//! The cost of contexts over a whole history: `data/scenarios/contexts.toml` in four contexts
//! and in one, stepped by turns month by month from 2012 to 2021.
//!
//! ```text
//! cargo run --release --example contexts_cost -- [--users N] [--threads K] [--from YYYY-MM]
//! ```
//!
//! The two markets (see `examples/support/contexts.rs`; 10 merchants per 100 users) are built,
//! then stepped by turns, the order swapped every month, so that a drift of the machine's
//! speed moves both alike. Months from `--from` on (default: all) are timed. Prints, last, one
//! line `users=… months=… one_ns_per_user_step=… four_ns_per_user_step=… ratio=…
//! median_month_ratio=…`: the ratio is the four-context market's total step time over the
//! one-context market's.

#[path = "support/mod.rs"]
mod support;
#[path = "support/contexts.rs"]
mod variants;

use paymarket::{Month, Simulation};
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: contexts_cost [--users N] [--threads K] [--from YYYY-MM]
  --users    user agents (default 1e6), merchants a tenth of that
  --threads  worker threads (default 2)
  --from     time the months from this one on (default: every month)";

fn main() -> ExitCode {
    support::main_with(&["users", "threads", "from"], USAGE, run)
}

fn run(flags: &support::Flags) -> Result<(), Box<dyn std::error::Error>> {
    let users = flags.count("users")?.unwrap_or(1_000_000);
    if users == 0 {
        return Err("--users must be at least 1".into());
    }
    let pool = support::pool(flags.count("threads")?.unwrap_or(2))?;
    let [one, four] = [1, 4].map(|k| variants::variant(k, users));
    let from: Month = match flags.text("from") {
        Some(text) => text
            .parse()
            .map_err(|e| format!("--from {text:?}: {e} (expected YYYY-MM)"))?,
        None => one.start,
    };
    if from < one.start || from > one.end {
        return Err(format!(
            "--from {from} is outside the scenario's {}..{}",
            one.start, one.end
        )
        .into());
    }
    let mut sims = pool.install(|| -> paymarket::Result<[Simulation; 2]> {
        Ok([Simulation::new(one)?, Simulation::new(four)?])
    })?;
    let (mut total, mut ratios) = ([0.0f64; 2], Vec::new());
    let mut months = 0u64;
    for m in 0.. {
        let month = sims[0].month();
        let mut dt = [0.0f64; 2];
        let order = if m % 2 == 0 { [0, 1] } else { [1, 0] };
        let mut done = false;
        for k in order {
            let t = Instant::now();
            done |= pool.install(|| sims[k].step())?.is_none();
            dt[k] = t.elapsed().as_secs_f64();
        }
        if done {
            break;
        }
        if month >= from {
            months += 1;
            total[0] += dt[0];
            total[1] += dt[1];
            ratios.push(dt[1] / dt[0]);
            eprintln!("{month}: one context {:.3} s, four {:.3} s", dt[0], dt[1]);
        }
    }
    if ratios.is_empty() {
        return Err("no month was timed".into());
    }
    ratios.sort_by(f64::total_cmp);
    let ns = |t: f64| t * 1e9 / (users as f64 * months as f64);
    println!(
        "users={users} months={months} one_ns_per_user_step={:.2} four_ns_per_user_step={:.2} ratio={:.3} median_month_ratio={:.3}",
        ns(total[0]),
        ns(total[1]),
        total[1] / total[0],
        ratios[ratios.len() / 2]
    );
    Ok(())
}
