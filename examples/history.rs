//! The historical replay: China's mobile-payment market, 2012–2021, calibrated, with its
//! forecast band.
//!
//! ```text
//! cargo run --release --example history -- [--scenario PATH] [--posterior FILE] [--users N]
//!     [--merchants M] [--seed S] [--threads T] [--out DIR] [--panel FRACTION]
//!     [--draws K] [--draw-users N]
//! ```
//!
//! Runs the calibrated scenario (`data/scenarios/china_2012_2021_calibrated.toml`, the
//! posterior mean) once at full size and writes `platforms.csv`, `market.csv`, `channels.csv`,
//! `defaults.csv` and `events.csv` into `--out` (default `out/history`), with `--panel` also
//! `panel_users.csv` and `panel_merchants.csv`. Then `--draws` runs (default 20, of
//! `--draw-users` users, default 10^5) each draw one parameter vector from the posterior sample
//! beside the scenario (`..._posterior.csv`, or `--posterior`), and `forecast.csv` holds their
//! bands. It prints, each December, the run's value shares and holders with the posterior
//! predictive 95% band and the published figure of that year where there is one, which way the
//! market goes with what probability, and every published figure up to 2016 next to the run by
//! the calibration's comparison rules (the table the README shows).

#[path = "support/mod.rs"]
mod support;

use paymarket::{AgentPanel, Collect, CsvRecorder, Recorder, Scenario, Simulation};
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: history [--scenario PATH] [--posterior FILE] [--users N] [--merchants M] [--seed S] [--threads T] [--out DIR] [--panel FRACTION] [--draws K] [--draw-users N]
  --scenario  scenario file (default data/scenarios/china_2012_2021_calibrated.toml)
  --posterior posterior sample for the bands (default: the scenario's NAME_posterior.csv
              beside it, if there is one; none: no bands)
  --draws     runs over the posterior for the bands (default 20)
  --draw-users user agents of each of those runs (default 100000; merchants a tenth)
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
            "posterior",
            "draws",
            "draw-users",
        ],
        USAGE,
        run,
    )
}

fn run(flags: &support::Flags) -> Result<(), Box<dyn std::error::Error>> {
    let path = flags
        .text("scenario")
        .unwrap_or("data/scenarios/china_2012_2021_calibrated.toml");
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
    let files = pool.install(|| -> paymarket::Result<Vec<String>> {
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
        Ok(files)
    })?;
    let secs = started.elapsed().as_secs_f64();
    // The posterior predictive runs for the bands.
    let posterior = match flags.text("posterior") {
        Some(p) => Some(std::path::PathBuf::from(p)),
        None => {
            Some(paymarket::calibrate::beside(std::path::Path::new(path))).filter(|p| p.exists())
        }
    };
    let draws = flags.count("draws")?.unwrap_or(20);
    let bands = match &posterior {
        Some(p) if draws > 0 => {
            let d = paymarket::calibrate::posterior::Draws::read(p)?;
            d.check(&s)?;
            let mut small = s.clone();
            small.agents.users = flags.count("draw-users")?.unwrap_or(100_000);
            small.agents.merchants = (small.agents.users / 10).max(1);
            let plan = paymarket::experiment::Plan {
                replicates: draws,
                seed: s.seed,
                posterior: Some(std::sync::Arc::new(d)),
                ..Default::default()
            };
            let mut runs = Collect::default();
            pool.install(|| paymarket::experiment::ensemble(&small, &plan, &mut [&mut runs]))?;
            Some((
                paymarket::calibrate::Predictive::new(runs.reports),
                small.agents.users,
            ))
        }
        _ => None,
    };
    let all_secs = started.elapsed().as_secs_f64();

    println!(
        "{} · {} users, {} merchants, seed {}, {} threads · {:.1} s",
        s.name,
        s.agents.users,
        s.agents.merchants,
        s.seed,
        pool.current_num_threads(),
        secs
    );
    let window = paymarket::Month::new(2016, 12).expect("a month");
    let targets =
        paymarket::calibrate::load_targets(std::path::Path::new("data/observed"), &s, window)?;
    match &bands {
        Some((_, users)) => println!(
            "\nValue share of third-party mobile payments (%) and people holding each wallet (millions), December of each year: this run, [the 95% band of {draws} runs of {users} users over the posterior sample ({})], and the published figure of the year where there is one (after {window}: forecast, never fitted). {all_secs:.1} s in all.\n",
            posterior.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
        ),
        None => println!("\nValue share of third-party mobile payments (%) and people holding each wallet (millions), December of each year (no posterior sample: no bands):\n"),
    }
    let ids: Vec<&str> = s.platform_ids();
    let third: Vec<&str> = s
        .platforms
        .iter()
        .filter(|p| p.third_party)
        .map(|p| p.id.as_str())
        .take(2)
        .collect();
    print!("{:<6}", "year");
    for id in &third {
        print!(" {:>26}", format!("{id} share %"));
        print!(" {:>10}", "published");
    }
    for id in &third {
        print!(" {:>24}", format!("{id} holders M"));
    }
    println!();
    let mut forecast = paymarket::output::StagedCsv::open(
        std::path::Path::new(out),
        "forecast.csv",
        &[
            "month", "platform", "metric", "run", "mean", "q025", "q50", "q975", "draws",
        ],
    )?;
    for r in collect
        .reports
        .iter()
        .filter(|r| r.month.month_of_year() == 12)
    {
        print!("{:<6}", r.month.year());
        let band = |id: &str, metric: &'static str| {
            bands.as_ref().map(|(p, _)| {
                p.quantity(&paymarket::calibrate::Quantity {
                    month: r.month,
                    table: "platforms",
                    key1: id.to_string(),
                    key2: String::new(),
                    metric,
                })
            })
        };
        for id in &third {
            let p = &r.platforms[ids.iter().position(|x| x == id).expect("an id")];
            let sh = 100.0 * p.value_share.unwrap_or(f64::NAN);
            let cell = match band(id, "value_share") {
                Some(b) => format!("{sh:.1} [{:.1}, {:.1}]", 100.0 * b.lo, 100.0 * b.hi),
                None => format!("{sh:.1}"),
            };
            print!(" {cell:>26}");
            // A published share of this year's last quarter or of the year itself.
            let published = targets.iter().find(|t| {
                t.platform == *id
                    && t.measure.name().starts_with("value_share")
                    && t.months.1 == r.month
                    && t.weight > 0.0
            });
            match published {
                Some(t) => print!(" {:>10}", format!("{:.1}", t.value)),
                None => print!(" {:>10}", "–"),
            }
        }
        for id in &third {
            let p = &r.platforms[ids.iter().position(|x| x == id).expect("an id")];
            let cell = match band(id, "users") {
                Some(b) => format!(
                    "{:.0} [{:.0}, {:.0}]",
                    p.users / 1e6,
                    b.lo / 1e6,
                    b.hi / 1e6
                ),
                None => format!("{:.0}", p.users / 1e6),
            };
            print!(" {cell:>24}");
        }
        println!();
        for id in &ids {
            let p = &r.platforms[ids.iter().position(|x| x == id).expect("an id")];
            for (metric, value) in [
                ("value_share", p.value_share.unwrap_or(f64::NAN)),
                ("users", p.users),
            ] {
                let b = band(id, metric);
                forecast.write([
                    r.month.to_string(),
                    id.to_string(),
                    metric.to_string(),
                    paymarket::output::number(value),
                    b.map_or(String::new(), |b| paymarket::output::number(b.mean)),
                    b.map_or(String::new(), |b| paymarket::output::number(b.lo)),
                    b.map_or(String::new(), |b| paymarket::output::number(b.median)),
                    b.map_or(String::new(), |b| paymarket::output::number(b.hi)),
                    draws.to_string(),
                ])?;
            }
        }
    }
    forecast.commit()?;
    // The manifest last, once forecast.csv is in place too.
    let mut files = files;
    files.push(forecast.name());
    paymarket::output::write_manifest(std::path::Path::new(out), &files)?;
    if let (Some((p, _)), [a, b, ..]) = (&bands, third.as_slice()) {
        println!("\nWhich way the market goes, over the {draws} posterior runs:");
        for (statement, pr, n) in paymarket::calibrate::probabilities(p, a, b) {
            println!("  P({statement}) = {pr:.2} ({n} runs)");
        }
    }
    let mut runs: Vec<(String, Vec<f64>)> = vec![(
        format!("this run ({} users)", s.agents.users),
        targets
            .iter()
            .map(|t| paymarket::calibrate::simulated(&collect.reports, t))
            .collect(),
    )];
    if let Some((p, users)) = &bands {
        runs.push((
            format!("the mean of the {draws} posterior runs ({users} users)"),
            targets.iter().map(|t| p.target(t).mean).collect(),
        ));
    }
    println!("\nFit over the window (docs/CALIBRATION.md asks for shares within 3 points, counts within an RMS log error of 0.35 and a factor of 2):");
    for (name, sims) in &runs {
        let f = paymarket::calibrate::fit_summary(&targets, sims);
        println!(
            "  {name}: shares {:.2} points (weighted RMSE of the value and default shares); user counts' RMS log error {:.3}, worst factor {:.2} ({} counts)",
            f.share_rmse, f.count_rms_log, f.worst_factor, f.counts
        );
    }
    println!("\nThe published figures up to 2016 and this run, by the calibration's comparison rules (weight 0: reported, not fitted):\n");
    print!(
        "{}",
        paymarket::calibrate::replay_table(&collect.reports, &targets)
    );
    println!(
        "\nWrote {} and forecast.csv in {out}",
        paymarket::record::CSV_FILES.join(", ")
    );
    Ok(())
}
