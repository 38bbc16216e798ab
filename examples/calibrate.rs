//! Calibrates the historical scenario's behavioural parameters to the published market shares
//! and user counts (2013–2016), prints the fit, the identification report and the forecast to
//! 2021, and writes them with the calibrated scenario.
//!
//! ```text
//! cargo run --release --example calibrate -- [--budget B] [--replicates R] [--users N]
//!     [--merchants M] [--seed S] [--threads T] [--out DIR] [--write-scenario PATH]
//!     [--params FILE]
//! ```
//!
//! Defaults: a quick budget of 60 evaluations, 2 replicates of 50,000 users and 5,000 merchants
//! per candidate, output in `out/calibrate` (`fit.csv`, `identification.csv`, `trace.csv`,
//! `summary_*.csv`, `fit.svg`, `calibrated.toml`), the parameters of
//! `data/calibration/china.toml`. `paymarket calibrate` does the same.

#[path = "support/mod.rs"]
mod support;

use paymarket::calibrate::{run, Job, Settings};
use std::process::ExitCode;

const USAGE: &str = "usage: calibrate [--budget B] [--replicates R] [--users N] [--merchants M] [--seed S] [--threads T] [--out DIR] [--write-scenario PATH]
  --budget          objective evaluations (default 60)
  --replicates      replicates per candidate (default 2)
  --users           user agents per run (default 50000)
  --merchants       merchant agents per run (default 5000)
  --seed            seed of the replicates and the search (default 1)
  --threads         worker threads (default: one per core)
  --out             output directory (default out/calibrate)
  --write-scenario  where to write the calibrated scenario (default OUT/calibrated.toml)
  --params          parameter file (default data/calibration/china.toml)";

fn main() -> ExitCode {
    support::main_with(
        &[
            "budget",
            "replicates",
            "users",
            "merchants",
            "seed",
            "threads",
            "out",
            "write-scenario",
            "params",
        ],
        USAGE,
        go,
    )
}

fn go(flags: &support::Flags) -> Result<(), Box<dyn std::error::Error>> {
    let defaults = Settings::default();
    let settings = Settings {
        budget: flags.count("budget")?.unwrap_or(60) as usize,
        replicates: flags.count("replicates")?.unwrap_or(defaults.replicates),
        users: flags.count("users")?.unwrap_or(defaults.users),
        merchants: flags.count("merchants")?.unwrap_or(defaults.merchants),
        seed: flags.count("seed")?.unwrap_or(defaults.seed),
        ..defaults
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let job = Job {
        scenario_path: "data/scenarios/china_2012_2021.toml".into(),
        targets_dir: "data/observed".into(),
        parameters: Some(
            flags
                .text("params")
                .unwrap_or("data/calibration/china.toml")
                .into(),
        ),
        report_replicates: 10,
        out: flags.text("out").unwrap_or("out/calibrate").into(),
        write_scenario: flags.text("write-scenario").map(Into::into),
        command: format!(
            "cargo run --release --example calibrate -- {}",
            args.join(" ")
        ),
        progress: true,
        provenance: None,
        settings,
        abc: None,
    };
    let pool = support::pool(flags.count("threads")?.unwrap_or(0))?;
    let started = std::time::Instant::now();
    let report = pool.install(|| run(&job))?;
    print!("{}", report.text());
    println!(
        "\n{:.0} s · wrote {} in {} and the calibrated scenario to {}",
        started.elapsed().as_secs_f64(),
        report.files.join(", "),
        job.out.display(),
        report.scenario_file.display()
    );
    Ok(())
}
