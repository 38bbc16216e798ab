//! Calibrates the historical scenario to the published figures of 2013–2016 by approximate
//! Bayesian computation, a quick budget: prints the posterior per parameter, the prior and
//! posterior predictive fit and the forecast band to 2021, and writes them with the calibrated
//! scenario and its posterior sample.
//!
//! ```text
//! cargo run --release --example calibrate -- [--budget B] [--particles N] [--replicates R]
//!     [--users N] [--merchants M] [--seed S] [--threads T] [--out DIR]
//!     [--write-scenario PATH] [--params FILE]
//! ```
//!
//! Defaults: 60 particles and a budget of 240 candidates, 2 replicates of 10,000 users and
//! 1,000 merchants per candidate, output in `out/calibrate_quick`, the priors of
//! `data/calibration/china.toml`. `paymarket calibrate --method abc` does the same; the
//! committed calibration's command is in the header of
//! `data/scenarios/china_2012_2021_calibrated.toml`.

#[path = "support/mod.rs"]
mod support;

use paymarket::calibrate::abc::AbcSettings;
use paymarket::calibrate::{run_abc, Job, Settings};
use std::process::ExitCode;

const USAGE: &str = "usage: calibrate [--budget B] [--particles N] [--replicates R] [--users N] [--merchants M] [--seed S] [--threads T] [--out DIR] [--write-scenario PATH]
  --budget          candidates simulated in all (default 240)
  --particles       particles (default 60)
  --replicates      replicates per candidate (default 2)
  --users           user agents per run (default 10000)
  --merchants       merchant agents per run (default 1000)
  --seed            seed of the replicates and the search (default 1)
  --threads         worker threads (default: one per core)
  --out             output directory (default out/calibrate_quick)
  --write-scenario  where to write the calibrated scenario (default OUT/calibrated.toml)
  --params          parameter file (default data/calibration/china.toml)";

fn main() -> ExitCode {
    support::main_with(
        &[
            "budget",
            "particles",
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
        budget: flags.count("budget")?.unwrap_or(240) as usize,
        replicates: flags.count("replicates")?.unwrap_or(defaults.replicates),
        users: flags.count("users")?.unwrap_or(10_000),
        merchants: flags.count("merchants")?.unwrap_or(1_000),
        seed: flags.count("seed")?.unwrap_or(defaults.seed),
        ..defaults
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let job = Job {
        scenario_path: "data/scenarios/china_2012_2021.toml".into(),
        scenario_text: None,
        targets_dir: "data/observed".into(),
        parameters: Some(
            flags
                .text("params")
                .unwrap_or("data/calibration/china.toml")
                .into(),
        ),
        report_replicates: 10,
        out: Some(flags.text("out").unwrap_or("out/calibrate_quick").into()),
        write_scenario: flags.text("write-scenario").map(Into::into),
        command: format!(
            "cargo run --release --example calibrate -- {}",
            args.join(" ")
        ),
        progress: true,
        provenance: None,
        abc: Some(AbcSettings {
            particles: flags.count("particles")?.unwrap_or(60) as usize,
            budget: settings.budget,
            ..AbcSettings::default()
        }),
        settings,
    };
    let pool = support::pool(flags.count("threads")?.unwrap_or(0))?;
    let started = std::time::Instant::now();
    let abc = job.abc.clone().expect("set above");
    let report = pool.install(|| run_abc(&job, &abc))?;
    print!("{}", report.text());
    println!(
        "\n{:.0} s · wrote {} in {}; the calibrated scenario is {}, its posterior sample {}",
        started.elapsed().as_secs_f64(),
        report.files.join(", "),
        job.out
            .as_deref()
            .unwrap_or(std::path::Path::new(""))
            .display(),
        report
            .scenario_file
            .as_deref()
            .unwrap_or(std::path::Path::new(""))
            .display(),
        report
            .posterior_file
            .as_deref()
            .unwrap_or(std::path::Path::new(""))
            .display()
    );
    Ok(())
}
