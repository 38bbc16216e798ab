//! The historical replay: China's mobile-payment market, 2012–2021.
//!
//! ```text
//! cargo run --release --example history -- [--scenario PATH] [--users N] [--merchants M]
//!     [--seed S] [--threads T] [--out DIR] [--panel FRACTION]
//! ```
//!
//! Writes `platforms.csv`, `market.csv`, `channels.csv` and `events.csv` into `--out`
//! (default `out/history`), with `--panel` also `panel_users.csv` and `panel_merchants.csv`,
//! and prints value shares and users per platform each December, then every published figure
//! of `data/observed/` up to 2016 next to this run's value by the calibration's comparison
//! rules (the table the README shows).

#[path = "support/mod.rs"]
mod support;

use paymarket::{AgentPanel, Collect, CsvRecorder, Recorder, Scenario, Simulation};
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: history [--scenario PATH] [--users N] [--merchants M] [--seed S] [--threads T] [--out DIR] [--panel FRACTION]
  --scenario  scenario file (default data/scenarios/china_2012_2021.toml)
  --users     user agents (default 1000000)
  --merchants merchant agents (default 100000)
  --seed      master seed (default: the scenario's)
  --threads   worker threads (default: one per core)
  --out       output directory (default out/history)
  --panel     also write a random sample of this fraction of the agents, every month
              (panel_users.csv, panel_merchants.csv), e.g. 0.0001";

fn main() -> ExitCode {
    support::main_with(
        &[
            "scenario",
            "users",
            "merchants",
            "seed",
            "threads",
            "out",
            "panel",
        ],
        USAGE,
        run,
    )
}

fn run(flags: &support::Flags) -> Result<(), Box<dyn std::error::Error>> {
    let path = flags
        .text("scenario")
        .unwrap_or("data/scenarios/china_2012_2021.toml");
    let out = flags.text("out").unwrap_or("out/history");
    let mut s = Scenario::load(path)?;
    s.agents.users = flags.count("users")?.unwrap_or(1_000_000);
    s.agents.merchants = flags.count("merchants")?.unwrap_or(100_000);
    if let Some(seed) = flags.count("seed")? {
        s.seed = seed;
    }
    let pool = support::pool(flags.count("threads")?.unwrap_or(0))?;
    let started = Instant::now();
    let mut collect = Collect::default();
    pool.install(|| -> paymarket::Result<()> {
        let mut sim = Simulation::new(s.clone())?;
        // The manifest is written last, once the panel files (if any) are in place too.
        let mut csv = CsvRecorder::create(out)?.without_manifest();
        let mut recorders: Vec<&mut dyn Recorder> = vec![&mut csv, &mut collect];
        let mut panel = match flags.number("panel").map_err(paymarket::Error::Config)? {
            Some(f) => Some(AgentPanel::create(out, f)?),
            None => None,
        };
        if let Some(p) = panel.as_mut() {
            recorders.push(p);
        }
        sim.run(&mut recorders)?;
        let mut files: Vec<String> = paymarket::record::CSV_FILES.map(String::from).to_vec();
        if panel.is_some() {
            files.extend(paymarket::record::PANEL_FILES.map(String::from));
        }
        paymarket::output::write_manifest(std::path::Path::new(out), &files)
    })?;
    let secs = started.elapsed().as_secs_f64();

    println!(
        "{} · {} users, {} merchants, seed {}, {} threads · {:.1} s",
        s.name,
        s.agents.users,
        s.agents.merchants,
        s.seed,
        pool.current_num_threads(),
        secs
    );
    println!("\nValue share of third-party mobile payments (%) and people holding each wallet (millions), December of each year:\n");
    let ids: Vec<&str> = s.platform_ids();
    print!("{:<8}", "year");
    for id in &ids {
        print!(" {:>14}", format!("{id} %"));
    }
    for id in &ids {
        print!(" {:>14}", format!("{id} M"));
    }
    println!();
    for r in collect
        .reports
        .iter()
        .filter(|r| r.month.month_of_year() == 12)
    {
        print!("{:<8}", r.month.year());
        for p in &r.platforms {
            match p.value_share {
                Some(sh) => print!(" {:>14.1}", 100.0 * sh),
                None => print!(" {:>14}", "-"),
            }
        }
        for p in &r.platforms {
            print!(" {:>14.0}", p.users / 1e6);
        }
        println!();
    }
    let window = paymarket::Month::new(2016, 12).expect("a month");
    let targets =
        paymarket::calibrate::load_targets(std::path::Path::new("data/observed"), &s, window)?;
    println!("\nThe published figures up to 2016 and this run, by the calibration's comparison rules (weight 0: reported, not fitted):\n");
    print!(
        "{}",
        paymarket::calibrate::replay_table(&collect.reports, &targets)
    );
    println!(
        "\nWrote {} in {out}",
        paymarket::record::CSV_FILES.join(", ")
    );
    Ok(())
}
