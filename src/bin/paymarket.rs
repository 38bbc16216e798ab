//! `paymarket`: run scenarios, ensembles, sweeps and counterfactuals from the command line and
//! get tidy CSV (and SVG charts) without writing Rust. `paymarket --help` lists the commands;
//! `paymarket COMMAND --help` explains each.

use clap::{Args, Parser, Subcommand};
use paymarket::experiment::{compare, ensemble, write_comparison, Plan, SummaryWriter};
use paymarket::output::{clear_manifest, write_manifest};
use paymarket::record::{Recorder, CSV_FILES, PANEL_FILES};
use paymarket::sweep::{sweep, Design};
use paymarket::{AgentPanel, CsvRecorder, Month, Scenario, Simulation};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "paymarket",
    version,
    about = "Agent-based simulation of payment-platform markets",
    long_about = "Agent-based simulation of payment-platform markets: users, merchants and \
wallets stepping month by month through policy shocks. Scenarios are TOML files (see \
data/scenarios/); every command writes tidy CSV files into --out. The same scenario and \
seed give byte-identical files on any number of threads."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario and write platforms.csv, market.csv, channels.csv and events.csv.
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        #[command(flatten)]
        size: Size,
        /// Seed (default: the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        common: Common,
        /// Also write a fixed random sample of this fraction of the agents every month to
        /// panel_users.csv and panel_merchants.csv.
        #[arg(long, value_name = "FRACTION")]
        panel: Option<f64>,
        /// Stop before this month and save the state to DIR/checkpoint-YYYY-MM.ckpt;
        /// `paymarket resume` continues it.
        #[arg(long, value_name = "YYYY-MM")]
        checkpoint_at: Option<Month>,
    },
    /// Continue a run saved with `run --checkpoint-at`, adding its remaining months to the
    /// CSV files in --out.
    Resume {
        /// The checkpoint file.
        checkpoint: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Run R replicates and write the per-run rows (with a `run` column) and
    /// summary_platforms.csv, summary_market.csv, summary_channels.csv (mean, sd, 95% CI, n),
    /// plus value_share.svg.
    Ensemble {
        /// The scenario file (TOML).
        scenario: PathBuf,
        #[command(flatten)]
        reps: Reps,
        #[command(flatten)]
        size: Size,
        #[command(flatten)]
        common: Common,
    },
    /// Run every setting of a parameter grid or Latin hypercube R times; the summaries name the
    /// setting in columns (a `setting` number and one column per parameter path).
    Sweep {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// A parameter and its values, e.g. `params.coverage_weight=0,0.05,0.1` or
        /// `platform.tenpay.imitation.wechat=0.1,0.2`; repeat for a full grid.
        #[arg(long, value_name = "PATH=V1,V2,..")]
        grid: Vec<String>,
        /// A parameter range for a Latin hypercube, e.g. `params.churn_rate=0.05:0.2`; repeat
        /// for more dimensions (needs --lhs).
        #[arg(long, value_name = "PATH=LO:HI")]
        range: Vec<String>,
        /// Number of Latin-hypercube settings.
        #[arg(long, value_name = "N")]
        lhs: Option<usize>,
        /// One setting, e.g. `params.churn_rate=0.1,params.coverage_weight=0.05`; repeat for a
        /// list of settings (each must name the same parameters).
        #[arg(long, value_name = "PATH=V,PATH=V,..")]
        point: Vec<String>,
        #[command(flatten)]
        reps: Reps,
        #[command(flatten)]
        size: Size,
        #[command(flatten)]
        common: Common,
    },
    /// Compare an alternative with a baseline on the same replicate seeds (common random
    /// numbers): effects_*.csv hold the paired effect alternative − baseline with its 95% CI
    /// (and the unpaired one for contrast); effect_value_share.svg draws it.
    Compare {
        /// The baseline scenario file.
        baseline: PathBuf,
        /// The alternative scenario file.
        alternative: PathBuf,
        /// Run the shared past once per replicate and branch at this month (the two scenarios
        /// must agree on everything dated before it).
        #[arg(long, value_name = "YYYY-MM")]
        fork_at: Option<Month>,
        #[command(flatten)]
        reps: Reps,
        #[command(flatten)]
        size: Size,
        #[command(flatten)]
        common: Common,
    },
    /// Calibrate a scenario's behavioural parameters to observed market shares and user
    /// counts: writes fit.csv, identification.csv, trace.csv, summary_*.csv (the calibrated
    /// scenario's forecast), fit.svg and the calibrated scenario (calibrated.toml, or
    /// --write-scenario), and prints the fit, the identification and the forecast.
    Calibrate {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Directory of market_shares.csv and user_counts.csv (e.g. data/observed).
        #[arg(long, value_name = "DIR")]
        targets: PathBuf,
        /// Objective evaluations in all: half a Latin hypercube, half Nelder–Mead.
        #[arg(long, value_parser = count)]
        budget: u64,
        /// Parameter file ([[parameter]] path, lo, hi, why); default: every third-party
        /// platform's innovation, imitation, initial share and brand, its campaigns and the
        /// shared behavioural parameters.
        #[arg(long, value_name = "FILE")]
        params: Option<PathBuf>,
        /// Seed of the replicates and of the search.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Replicates per candidate (common seeds across candidates).
        #[arg(long, default_value_t = 2, value_parser = count)]
        replicates: u64,
        /// Replicates of the final fit table and the forecast.
        #[arg(long, default_value_t = 10, value_parser = count)]
        report_replicates: u64,
        /// Last month of the calibration window; later figures are never fitted.
        #[arg(long, value_name = "YYYY-MM", default_value = "2016-12")]
        window_end: Month,
        /// Weight of a user-count error of 1 log point against a share error of 1 point.
        #[arg(long, default_value_t = 0.01)]
        users_weight: f64,
        /// Where to write the calibrated scenario (default OUT/calibrated.toml).
        #[arg(long, value_name = "FILE")]
        write_scenario: Option<PathBuf>,
        #[command(flatten)]
        size: Size,
        #[command(flatten)]
        common: Common,
    },
    /// Check a scenario file and print every problem found; exit 0 when it is valid.
    Validate {
        /// The scenario file (TOML).
        scenario: PathBuf,
    },
}

#[derive(Args)]
struct Size {
    /// User agents (default: the scenario's); `1e6` is accepted.
    #[arg(long, value_parser = count)]
    users: Option<u64>,
    /// Merchant agents (default: the scenario's).
    #[arg(long, value_parser = count)]
    merchants: Option<u64>,
}

#[derive(Args)]
struct Reps {
    /// Number of replicates.
    #[arg(long, short = 'r', value_parser = count)]
    replicates: u64,
    /// Master seed: replicate r runs with a seed derived from (seed, r). Default: the
    /// scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Runs simulated at once (default: the number of threads); bounds memory.
    #[arg(long, value_name = "K")]
    in_flight: Option<usize>,
    /// Write only the summaries, not the per-run rows.
    #[arg(long)]
    summary_only: bool,
    /// Do not draw SVG charts.
    #[arg(long)]
    no_charts: bool,
}

#[derive(Args)]
struct Common {
    /// Directory for the output files (created if needed).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Worker threads (default: all cores). The output does not depend on it.
    #[arg(long, value_name = "T")]
    threads: Option<usize>,
    /// No progress line on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// A whole number, `1e6` and `1_000_000` accepted.
fn count(v: &str) -> Result<u64, String> {
    paymarket::scenario::parse_count(v)
        .ok_or_else(|| format!("expected a whole number such as 1000000 or 1e6, got {v:?}"))
}

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Under MPI every rank runs this program; rank 0 coordinates and writes (paymarket::dist).
    #[cfg(feature = "mpi")]
    let _session = match paymarket::dist::start() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load(path: &Path, size: Option<&Size>) -> Res<Scenario> {
    let mut s = Scenario::load(path)?;
    if let Some(size) = size {
        if let Some(u) = size.users {
            s.agents.users = u;
        }
        if let Some(m) = size.merchants {
            s.agents.merchants = m;
        }
    }
    s.validate_as(&path.display().to_string())?;
    Ok(s)
}

fn pool(threads: Option<usize>) -> Res {
    if let Some(t) = threads {
        if t == 0 {
            return Err("--threads must be at least 1".into());
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| format!("cannot start {t} threads: {e}"))?;
    }
    Ok(())
}

fn plan(s: &Scenario, reps: &Reps, common: &Common) -> Res<Plan> {
    if reps.replicates == 0 {
        return Err("--replicates must be at least 1".into());
    }
    Ok(Plan {
        replicates: reps.replicates,
        seed: reps.seed.unwrap_or(s.seed),
        in_flight: reps.in_flight.unwrap_or(0),
        progress: !common.quiet,
    })
}

/// Peak resident memory of this process (VmHWM), where the OS reports it.
fn peak_rss() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

/// Creates the output directory and removes any old completion manifest, so that it never
/// vouches for the partial files of this command.
fn start_set(out: &Path) -> Res {
    paymarket::output::create_dir(out)?;
    clear_manifest(out)?;
    Ok(())
}

fn done(what: &str, start: Instant, out: &Path) {
    let mem = peak_rss()
        .map(|b| format!(", peak memory {:.1} MB", b as f64 / 1e6))
        .unwrap_or_default();
    eprintln!(
        "{what} in {:.1} s{mem}; files in {}",
        start.elapsed().as_secs_f64(),
        out.display()
    );
}

fn dispatch(cli: Cli) -> Res<ExitCode> {
    let start = Instant::now();
    let root = paymarket::dist::is_root();
    let single = matches!(
        cli.command,
        Command::Run { .. } | Command::Resume { .. } | Command::Validate { .. }
    );
    if single && !root {
        // One run is not distributed: rank 0 does it alone.
        return Ok(ExitCode::SUCCESS);
    }
    match cli.command {
        Command::Validate { scenario } => {
            let s = Scenario::load(&scenario)?;
            println!(
                "{}: valid ({}, {} to {}, {} platforms, {} channels, {} events)",
                scenario.display(),
                s.name,
                s.start,
                s.end,
                s.platforms.len(),
                s.channels.len(),
                s.events.len()
            );
        }
        Command::Run {
            scenario,
            size,
            seed,
            common,
            panel,
            checkpoint_at,
        } => {
            pool(common.threads)?;
            let mut s = load(&scenario, Some(&size))?;
            if let Some(seed) = seed {
                s.seed = seed;
            }
            if let Some(m) = checkpoint_at {
                if m <= s.start || m > s.end {
                    return Err(format!(
                        "--checkpoint-at {m} is outside the run: choose a month after {} and up to {}",
                        s.start, s.end
                    )
                    .into());
                }
            }
            let mut sim = Simulation::new(s)?;
            let mut files: Vec<String> = CSV_FILES.map(String::from).to_vec();
            let mut csv = CsvRecorder::create(&common.out)?.without_manifest();
            let mut panel = panel
                .map(|f| AgentPanel::create(&common.out, f))
                .transpose()?;
            while !sim.is_finished() && Some(sim.month()) != checkpoint_at {
                sim.step()?;
                let report = sim.last_report().expect("a step was taken");
                csv.record(report)?;
                if let Some(p) = panel.as_mut() {
                    p.observe(&sim.agents_view())?;
                }
            }
            csv.finish()?;
            if let Some(p) = panel.as_mut() {
                p.finish()?;
                files.extend(PANEL_FILES.map(String::from));
            }
            if let Some(m) = checkpoint_at {
                let name = format!("checkpoint-{m}.ckpt");
                let path = common.out.join(&name);
                sim.save(&path)?;
                files.push(name);
                eprintln!("saved the state before {m} to {}", path.display());
            }
            write_manifest(&common.out, &files)?;
            done("run", start, &common.out);
        }
        Command::Resume { checkpoint, common } => {
            pool(common.threads)?;
            let mut sim = Simulation::load(&checkpoint)?;
            let mut csv = CsvRecorder::append(&common.out)?;
            sim.run(&mut [&mut csv])?;
            done("resumed run", start, &common.out);
        }
        Command::Ensemble {
            scenario,
            reps,
            size,
            common,
        } => {
            pool(common.threads)?;
            let s = load(&scenario, Some(&size))?;
            let plan = plan(&s, &reps, &common)?;
            if !root {
                ensemble(&s, &plan, &mut [])?;
                return Ok(ExitCode::SUCCESS);
            }
            start_set(&common.out)?;
            let mut files = Vec::new();
            let summary = if reps.summary_only {
                ensemble(&s, &plan, &mut [])?
            } else {
                let mut runs = CsvRecorder::create(&common.out)?.without_manifest();
                files.extend(CSV_FILES.map(String::from));
                ensemble(&s, &plan, &mut [&mut runs])?
            };
            let mut w = SummaryWriter::create(&common.out, &[])?;
            w.write(&summary, &[])?;
            files.extend(w.finish()?);
            if !reps.no_charts {
                files.extend(charts::ensemble(&common.out, &summary, &s)?);
            }
            write_manifest(&common.out, &files)?;
            done(&format!("{} runs", plan.replicates), start, &common.out);
        }
        Command::Sweep {
            scenario,
            grid,
            range,
            lhs,
            point,
            reps,
            size,
            common,
        } => {
            pool(common.threads)?;
            let s = load(&scenario, Some(&size))?;
            let plan = plan(&s, &reps, &common)?;
            let design = design(&grid, &range, lhs, &point, plan.seed)?;
            let mut extra = vec!["setting".to_string()];
            extra.extend(design.paths.iter().cloned());
            if !root {
                sweep(&s, &design, &plan, |_, _, _| Ok(()))?;
                return Ok(ExitCode::SUCCESS);
            }
            start_set(&common.out)?;
            let mut w = SummaryWriter::create(&common.out, &extra)?;
            sweep(&s, &design, &plan, |k, point, summary| {
                let mut cols = vec![k.to_string()];
                cols.extend(point.iter().map(|v| format!("{v}")));
                w.write(&summary, &cols)
            })?;
            let files = w.finish()?;
            write_manifest(&common.out, &files)?;
            done(
                &format!(
                    "{} settings × {} runs",
                    design.points.len(),
                    plan.replicates
                ),
                start,
                &common.out,
            );
        }
        Command::Calibrate {
            scenario,
            targets,
            budget,
            params,
            seed,
            replicates,
            report_replicates,
            window_end,
            users_weight,
            write_scenario,
            size,
            common,
        } => {
            pool(common.threads)?;
            if replicates == 0 || budget == 0 {
                return Err("--replicates and --budget must be at least 1".into());
            }
            if !(users_weight.is_finite() && users_weight >= 0.0) {
                return Err(format!("--users-weight must be 0 or more, got {users_weight}").into());
            }
            let defaults = paymarket::calibrate::Settings::default();
            let job = paymarket::calibrate::Job {
                scenario_path: scenario,
                targets_dir: targets,
                parameters: params,
                settings: paymarket::calibrate::Settings {
                    window_end,
                    replicates,
                    seed,
                    users: size.users.unwrap_or(defaults.users),
                    merchants: size.merchants.unwrap_or(defaults.merchants),
                    users_weight,
                    budget: budget as usize,
                },
                report_replicates,
                out: common.out.clone(),
                write_scenario,
                command: std::env::args()
                    .enumerate()
                    .map(|(k, a)| if k == 0 { "paymarket".to_string() } else { a })
                    .collect::<Vec<_>>()
                    .join(" "),
                progress: !common.quiet,
            };
            let report = paymarket::calibrate::run(&job)?;
            if !root {
                return Ok(ExitCode::SUCCESS);
            }
            print!("{}", report.text());
            eprintln!(
                "calibrated scenario written to {}",
                report.scenario_file.display()
            );
            done("calibration", start, &common.out);
        }
        Command::Compare {
            baseline,
            alternative,
            fork_at,
            reps,
            size,
            common,
        } => {
            pool(common.threads)?;
            let b = load(&baseline, Some(&size))?;
            let a = load(&alternative, Some(&size))?;
            let plan = plan(&b, &reps, &common)?;
            if !root {
                compare(&b, &a, &plan, fork_at, &mut [])?;
                return Ok(ExitCode::SUCCESS);
            }
            start_set(&common.out)?;
            let mut files = Vec::new();
            let effects = if reps.summary_only {
                compare(&b, &a, &plan, fork_at, &mut [])?
            } else {
                let mut runs = CsvRecorder::create(&common.out)?.without_manifest();
                files.extend(CSV_FILES.map(String::from));
                compare(&b, &a, &plan, fork_at, &mut [&mut runs])?
            };
            files.extend(write_comparison(&common.out, &effects)?);
            if !reps.no_charts {
                files.extend(charts::compare(&common.out, &effects, &a)?);
            }
            write_manifest(&common.out, &files)?;
            let t = effects.baseline.months().len() - 1;
            println!(
                "effect on value share in {} ({} minus {}):",
                effects.baseline.months()[t],
                a.name,
                b.name
            );
            for line in effects.describe(t, "value_share") {
                println!("  {line}");
            }
            done(
                &format!("{} pairs of runs", plan.replicates),
                start,
                &common.out,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn split_param<'a>(flag: &str, spec: &'a str) -> Res<(&'a str, &'a str)> {
    spec.split_once('=').ok_or_else(|| {
        format!("{flag} {spec:?}: write it as PATH=VALUES, e.g. params.churn_rate=0.05,0.1").into()
    })
}

fn number(flag: &str, spec: &str, v: &str) -> Res<f64> {
    v.trim()
        .parse::<f64>()
        .map_err(|_| format!("{flag} {spec:?}: {v:?} is not a number").into())
}

fn design(
    grid: &[String],
    range: &[String],
    lhs: Option<usize>,
    point: &[String],
    seed: u64,
) -> Res<Design> {
    match (grid.is_empty(), range.is_empty(), lhs) {
        (true, true, None) if !point.is_empty() => {
            let mut settings = Vec::new();
            for spec in point {
                let mut s = Vec::new();
                for pair in spec.split(',') {
                    let (path, v) = split_param("--point", pair)?;
                    s.push((path.to_string(), number("--point", spec, v)?));
                }
                settings.push(s);
            }
            Ok(Design::list(settings)?)
        }
        (false, true, None) if point.is_empty() => {
            let mut axes = Vec::new();
            for spec in grid {
                let (path, values) = split_param("--grid", spec)?;
                let vals = values
                    .split(',')
                    .map(|v| number("--grid", spec, v))
                    .collect::<Res<Vec<f64>>>()?;
                axes.push((path.to_string(), vals));
            }
            Ok(Design::grid(axes))
        }
        (true, false, Some(n)) if n > 0 && point.is_empty() => {
            let mut ranges = Vec::new();
            for spec in range {
                let (path, r) = split_param("--range", spec)?;
                let (lo, hi) = r.split_once(':').ok_or_else(|| {
                    format!("--range {spec:?}: write the range as LO:HI, e.g. 0.05:0.2")
                })?;
                let (lo, hi) = (number("--range", spec, lo)?, number("--range", spec, hi)?);
                if lo > hi {
                    return Err(format!("--range {spec:?}: {lo} is above {hi}").into());
                }
                ranges.push((path.to_string(), lo, hi));
            }
            Ok(Design::latin_hypercube(ranges, n, seed))
        }
        _ => Err(
            "give one design: --grid PATH=V1,V2,.. (repeatable) for a full grid, --lhs N with \
             --range PATH=LO:HI (repeatable) for a Latin hypercube, or --point PATH=V,PATH=V \
             (repeatable) for a list of settings"
                .into(),
        ),
    }
}

#[cfg(feature = "charts")]
mod charts {
    use super::Res;
    use paymarket::chart::{comparison_charts, event_months, platform_chart};
    use paymarket::experiment::{Effects, Summary};
    use paymarket::Scenario;
    use std::path::Path;

    pub fn ensemble(out: &Path, s: &Summary, scenario: &Scenario) -> Res<Vec<String>> {
        let events = event_months(scenario);
        platform_chart(&out.join("value_share.svg"), s, "value_share", &events)?;
        Ok(vec!["value_share.svg".into()])
    }

    pub fn compare(out: &Path, e: &Effects, alternative: &Scenario) -> Res<Vec<String>> {
        Ok(comparison_charts(out, e, &event_months(alternative))?)
    }
}

#[cfg(not(feature = "charts"))]
mod charts {
    use super::Res;
    use paymarket::experiment::{Effects, Summary};
    use paymarket::Scenario;
    use std::path::Path;

    pub fn ensemble(_: &Path, _: &Summary, _: &Scenario) -> Res<Vec<String>> {
        Ok(vec![])
    }

    pub fn compare(_: &Path, _: &Effects, _: &Scenario) -> Res<Vec<String>> {
        Ok(vec![])
    }
}
