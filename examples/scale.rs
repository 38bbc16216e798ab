//! Population scale: time and memory of the historical scenario at any size.
//!
//! ```text
//! cargo run --release --example scale -- --users N --merchants M --months T [--threads K]
//!     [--scenario PATH] [--out DIR] [--panel FRACTION] [--time-from YYYY-MM]
//!     [--long-range population|table]
//! ```
//!
//! Runs the first `T` months of the scenario (extending its end if needed) and prints, last,
//! one line `users=… merchants=… months=… timed_months=… ns_per_user_step=…
//! slowest_month_s=… peak_rss_bytes=… bytes_per_user=…`: `ns_per_user_step` is the wall time
//! of the timed steps (every month, or those from `--time-from` on; set-up excluded) over
//! users × timed months, `slowest_month_s` the longest of them,
//! `peak_rss_bytes` the process's peak resident set (VmHWM) and `bytes_per_user` its ratio to
//! the users (so it also carries the merchants, the tables and the program).

#[path = "support/mod.rs"]
mod support;

use paymarket::{AgentPanel, CsvRecorder, Recorder, Scenario, Simulation};
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: scale --users N --merchants M --months T [--threads K] [--scenario PATH] [--out DIR] [--panel FRACTION]
  --users     user agents, e.g. 1e9
  --merchants merchant agents, e.g. 8e7
  --months    months to simulate from the scenario's start
  --threads   worker threads (default: one per core)
  --scenario  scenario file (default data/scenarios/china_2012_2021.toml)
  --out       also write the CSV files here (default: no output)
  --panel     with --out, also sample this fraction of the agents every month
  --time-from time only the months from this one on (default: every month)
  --long-range where long-range contacts' states come from: population (default) or table";

fn main() -> ExitCode {
    support::main_with(
        &[
            "users",
            "merchants",
            "months",
            "threads",
            "scenario",
            "out",
            "panel",
            "time-from",
            "long-range",
        ],
        USAGE,
        run,
    )
}

fn run(flags: &support::Flags) -> Result<(), Box<dyn std::error::Error>> {
    let need = |name: &str| -> Result<u64, String> {
        flags
            .count(name)?
            .ok_or_else(|| format!("--{name} is required\n{USAGE}"))
    };
    let (users, merchants, months) = (need("users")?, need("merchants")?, need("months")?);
    if months == 0 {
        return Err("--months must be at least 1".into());
    }
    let mut s = Scenario::load(
        flags
            .text("scenario")
            .unwrap_or("data/scenarios/china_2012_2021.toml"),
    )?;
    s.agents.users = users;
    s.agents.merchants = merchants;
    s.agents.long_range = match flags.text("long-range") {
        None | Some("population") => paymarket::scenario::LongRange::Population,
        Some("table") => paymarket::scenario::LongRange::Table,
        Some(other) => {
            return Err(format!("--long-range: expected population or table, got {other:?}").into())
        }
    };
    let last = s.start.plus(months as i32 - 1);
    if last > s.end {
        s.end = last;
    }
    let from: paymarket::Month = match flags.text("time-from") {
        Some(text) => text.parse().map_err(|e| format!("--time-from: {e}"))?,
        None => s.start,
    };
    if from < s.start || from > last {
        return Err(format!(
            "--time-from {from} is outside the months run, {}..{last}",
            s.start
        )
        .into());
    }
    let pool = support::pool(flags.count("threads")?.unwrap_or(0))?;
    let threads = pool.current_num_threads();
    let (setup, steps, timed, slowest) = pool.install(|| {
        let t0 = Instant::now();
        let mut sim = Simulation::new(s.clone())?;
        let mut csv = match flags.text("out") {
            Some(dir) => Some(CsvRecorder::create(dir)?),
            None => None,
        };
        let mut panel = match (
            flags.text("out"),
            flags.number("panel").map_err(paymarket::Error::Config)?,
        ) {
            (Some(dir), Some(f)) => Some(AgentPanel::create(dir, f)?),
            _ => None,
        };
        let setup = t0.elapsed().as_secs_f64();
        let (mut stepping, mut timed, mut slowest) = (0.0, 0u64, 0.0f64);
        for m in 0..months {
            let month = sim.month();
            let t = Instant::now();
            sim.step()?;
            let dt = t.elapsed().as_secs_f64();
            if month >= from {
                stepping += dt;
                timed += 1;
                slowest = slowest.max(dt);
            }
            eprintln!("month {} ({month}): {dt:.2} s", m + 1);
            let report = sim.last_report().expect("stepped");
            let view = sim.agents_view();
            for r in [
                csv.as_mut().map(|c| c as &mut dyn Recorder),
                panel.as_mut().map(|p| p as &mut dyn Recorder),
            ]
            .into_iter()
            .flatten()
            {
                r.record(report)?;
                r.observe(&view)?;
            }
        }
        for r in [
            csv.as_mut().map(|c| c as &mut dyn Recorder),
            panel.as_mut().map(|p| p as &mut dyn Recorder),
        ]
        .into_iter()
        .flatten()
        {
            r.finish()?;
        }
        Ok::<_, paymarket::Error>((setup, stepping, timed, slowest))
    })?;
    let ns = steps * 1e9 / (users as f64 * timed as f64);
    let peak = support::peak_rss_bytes().unwrap_or(0);
    eprintln!("threads={threads} setup_s={setup:.2} steps_s={steps:.2}");
    println!(
        "users={users} merchants={merchants} months={months} timed_months={timed} ns_per_user_step={ns:.2} slowest_month_s={slowest:.2} peak_rss_bytes={peak} bytes_per_user={:.2}",
        peak as f64 / users as f64
    );
    Ok(())
}
