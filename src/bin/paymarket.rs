//! `paymarket`: run scenarios, ensembles, sweeps and counterfactuals from the command line and
//! get tidy CSV (and SVG charts) without writing Rust. `paymarket --help` lists the commands;
//! `paymarket COMMAND --help` explains each.

use clap::{Args, Parser, Subcommand};
use paymarket::experiment::{compare, ensemble, write_comparison, Plan, SummaryWriter};
use paymarket::output::{
    check_manifest, read_identity, Identity, OutputSet, Provenance, ScenarioId, IDENTITY, MANIFEST,
};
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
    /// Continue a run saved with `run --checkpoint-at` in the run's own --out directory: the
    /// rows from the checkpoint's month on are written again, so resuming twice, or again after
    /// a resume was stopped, gives the files of the uninterrupted run. A directory whose rows
    /// come from another scenario or seed is refused, untouched.
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
    /// Make an output set again from its directory alone: runs the command its manifest.json
    /// records on the resolved inputs stored beside the files, writing the same files into
    /// --out.
    Rerun {
        /// A directory written by run, resume, ensemble, sweep, compare or calibrate.
        dir: PathBuf,
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

/// The command line under `rerun`: the one that made the set first, recorded again.
static RECORDED: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// The command line to record: as typed (the program named `paymarket`), or under `rerun` the
/// one that made the set first.
fn command_line() -> Vec<String> {
    RECORDED.get().cloned().unwrap_or_else(|| {
        std::env::args()
            .enumerate()
            .map(|(k, a)| if k == 0 { "paymarket".to_string() } else { a })
            .collect()
    })
}

fn provenance(seed: u64, rerun: Vec<String>) -> Provenance {
    Provenance {
        command: command_line(),
        seed,
        threads: rayon::current_num_threads(),
        rerun,
        inputs: vec![],
    }
}

/// The resolved scenario's file name in an output set.
const RESOLVED: &str = "scenario.resolved.toml";

/// Starts an output set: the identity and the resolved scenarios (`(file name, scenario)`)
/// before any row; `rerun` names those files.
fn begin(
    out: &Path,
    command: &str,
    scenarios: &[(&str, &Scenario)],
    seed: u64,
    panel: Option<f64>,
    rerun: Vec<String>,
) -> Res<OutputSet> {
    let identity = Identity {
        command: command.into(),
        scenarios: scenarios
            .iter()
            .map(|(_, s)| ScenarioId::new(&s.name, s.fingerprint()))
            .collect(),
        seed,
        panel,
    };
    let mut inputs = Vec::new();
    for (name, s) in scenarios {
        inputs.push((name.to_string(), s.to_toml()?));
    }
    Ok(OutputSet::begin(
        out,
        &identity,
        provenance(seed, rerun),
        &inputs,
    )?)
}

/// The replicate flags that make an experiment again (the master seed made explicit).
fn reps_args(plan: &Plan, reps: &Reps) -> Vec<String> {
    let mut a = vec![
        "--replicates".to_string(),
        plan.replicates.to_string(),
        "--seed".into(),
        plan.seed.to_string(),
    ];
    if reps.summary_only {
        a.push("--summary-only".into());
    }
    if reps.no_charts {
        a.push("--no-charts".into());
    }
    a
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

/// Gives two compared scenarios with the same `name` the names of their files (and says so),
/// or refuses when the files are named alike too.
fn distinct_names(b: &mut Scenario, bp: &Path, a: &mut Scenario, ap: &Path) -> Res {
    if a.name != b.name {
        return Ok(());
    }
    let stem = |p: &Path| p.file_stem().map(|x| x.to_string_lossy().into_owned());
    match (stem(bp), stem(ap)) {
        (Some(x), Some(y)) if x != y => {
            eprintln!(
                "note: both scenarios are named {:?}; naming them after their files: {x:?} (baseline) and {y:?} (alternative)",
                b.name
            );
            b.name = x;
            a.name = y;
            Ok(())
        }
        _ => Err(format!(
            "both scenarios are named {:?} and their files are named alike: give the alternative a `name` of its own",
            b.name
        )
        .into()),
    }
}

/// Steps a run to its end (or to `stop`), recording every month.
fn run_months(
    sim: &mut Simulation,
    csv: &mut CsvRecorder,
    panel: &mut Option<AgentPanel>,
    stop: Option<Month>,
) -> Res {
    while !sim.is_finished() && Some(sim.month()) != stop {
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
    }
    Ok(())
}

/// The files a run writes.
fn run_files(panel: bool) -> Vec<String> {
    let mut files: Vec<String> = CSV_FILES.map(String::from).to_vec();
    if panel {
        files.extend(PANEL_FILES.map(String::from));
    }
    files
}

/// The arguments that make a run again from its resolved scenario.
fn run_args(panel: Option<f64>, checkpoint_at: Option<Month>) -> Vec<String> {
    let mut a = vec!["run".to_string(), RESOLVED.into()];
    if let Some(f) = panel {
        a.extend(["--panel".into(), f.to_string()]);
    }
    if let Some(m) = checkpoint_at {
        a.extend(["--checkpoint-at".into(), m.to_string()]);
    }
    a
}

/// Refuses to resume into `out` unless its rows are the checkpoint's run's; returns the panel
/// fraction the run recorded.
fn check_resume(out: &Path, checkpoint: &Path, sim: &Simulation) -> Res<Option<f64>> {
    let id = read_identity(out)?.ok_or_else(|| {
        format!(
            "{} has no {IDENTITY}: resume continues the output directory of the `paymarket run \
             --checkpoint-at` that saved {}; pass that directory as --out (nothing was changed)",
            out.display(),
            checkpoint.display()
        )
    })?;
    let want = ScenarioId::new(&sim.scenario().name, sim.scenario().fingerprint());
    if id.command != "run" || id.scenarios != [want.clone()] || id.seed != sim.seed() {
        let theirs = id
            .scenarios
            .iter()
            .map(|s| format!("{:?} (fingerprint {})", s.name, s.fingerprint))
            .collect::<Vec<_>>()
            .join(" and ");
        return Err(format!(
            "refusing to resume into {}: its rows come from `{}` of {theirs} with seed {}, but {} \
             holds {:?} (fingerprint {}) with seed {}; nothing was changed. Resume into the \
             directory of the run that saved the checkpoint, or start a new run",
            out.display(),
            id.command,
            id.seed,
            checkpoint.display(),
            want.name,
            want.fingerprint,
            sim.seed()
        )
        .into());
    }
    Ok(id.panel)
}

/// The command recorded in `dir`'s manifest, its inputs resolved against `dir`.
fn rerun_cli(dir: &Path, common: &Common) -> Res<(Cli, Vec<String>)> {
    if dir == common.out {
        return Err("rerun writes a new set: --out must be another directory than DIR".into());
    }
    let m = check_manifest(dir)?;
    let p = m.provenance.ok_or_else(|| {
        format!(
            "{}: its manifest records no command (written by library code, or by paymarket \
             before 0.2); rerun needs a set written by the paymarket tool",
            dir.join(MANIFEST).display()
        )
    })?;
    let mut argv = vec!["paymarket".to_string()];
    for a in &p.rerun {
        let input = p
            .inputs
            .iter()
            .any(|i| i == a || i.starts_with(&format!("{a}/")));
        argv.push(if input {
            dir.join(a).display().to_string()
        } else {
            a.clone()
        });
    }
    argv.extend(["--out".into(), common.out.display().to_string()]);
    if let Some(t) = common.threads {
        argv.extend(["--threads".into(), t.to_string()]);
    }
    if common.quiet {
        argv.push("--quiet".into());
    }
    let cli = Cli::try_parse_from(&argv).map_err(|e| {
        format!(
            "{}: the recorded command does not parse: {}",
            dir.join(MANIFEST).display(),
            e.to_string().trim_end()
        )
    })?;
    if matches!(
        cli.command,
        Command::Rerun { .. } | Command::Validate { .. }
    ) {
        return Err(format!("{}: no output set to make again", dir.display()).into());
    }
    Ok((cli, p.command))
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
        Command::Rerun { dir, common } => {
            let (cli, recorded) = rerun_cli(&dir, &common)?;
            let _ = RECORDED.set(recorded);
            return dispatch(cli);
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
            if let Some(f) = panel {
                if !(0.0..=1.0).contains(&f) {
                    return Err(format!("--panel must be between 0 and 1, got {f}").into());
                }
            }
            let mut sim = Simulation::new(s)?;
            let rerun = run_args(panel, checkpoint_at);
            let mut set = begin(
                &common.out,
                "run",
                &[(RESOLVED, sim.scenario())],
                sim.seed(),
                panel,
                rerun,
            )?;
            let mut csv = CsvRecorder::create(&common.out)?.without_manifest();
            let mut panel_rec = panel
                .map(|f| AgentPanel::create(&common.out, f))
                .transpose()?;
            run_months(&mut sim, &mut csv, &mut panel_rec, checkpoint_at)?;
            set.add(run_files(panel.is_some()));
            if let Some(m) = checkpoint_at {
                let name = format!("checkpoint-{m}.ckpt");
                let path = common.out.join(&name);
                sim.save(&path)?;
                set.add([name]);
                eprintln!("saved the state before {m} to {}", path.display());
            }
            set.finish()?;
            done("run", start, &common.out);
        }
        Command::Resume { checkpoint, common } => {
            pool(common.threads)?;
            let mut sim = Simulation::load(&checkpoint)?;
            let from = sim.month();
            // Nothing is touched before the directory is known to hold this run's rows.
            let panel = check_resume(&common.out, &checkpoint, &sim)?;
            let mut set = begin(
                &common.out,
                "run",
                &[(RESOLVED, sim.scenario())],
                sim.seed(),
                panel,
                run_args(panel, None),
            )?;
            let mut csv = CsvRecorder::resume(&common.out, from)?.without_manifest();
            let mut panel_rec = panel
                .map(|f| AgentPanel::resume(&common.out, f, from))
                .transpose()?;
            run_months(&mut sim, &mut csv, &mut panel_rec, None)?;
            set.add(run_files(panel.is_some()));
            set.finish()?;
            done(&format!("run resumed from {from}"), start, &common.out);
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
            let mut rerun = vec!["ensemble".to_string(), RESOLVED.into()];
            rerun.extend(reps_args(&plan, &reps));
            let mut set = begin(
                &common.out,
                "ensemble",
                &[(RESOLVED, &s)],
                plan.seed,
                None,
                rerun,
            )?;
            let summary = if reps.summary_only {
                ensemble(&s, &plan, &mut [])?
            } else {
                let mut runs = CsvRecorder::create(&common.out)?.without_manifest();
                set.add(CSV_FILES);
                ensemble(&s, &plan, &mut [&mut runs])?
            };
            let mut w = SummaryWriter::create(&common.out, &[])?;
            w.write(&summary, &[])?;
            set.add(w.finish()?);
            if !reps.no_charts {
                set.add(charts::ensemble(&common.out, &summary, &s)?);
            }
            set.finish()?;
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
            let mut rerun = vec!["sweep".to_string(), RESOLVED.into()];
            for (flag, specs) in [("--grid", &grid), ("--range", &range), ("--point", &point)] {
                for spec in specs {
                    rerun.extend([flag.to_string(), spec.clone()]);
                }
            }
            if let Some(n) = lhs {
                rerun.extend(["--lhs".into(), n.to_string()]);
            }
            rerun.extend(reps_args(&plan, &reps));
            let mut set = begin(
                &common.out,
                "sweep",
                &[(RESOLVED, &s)],
                plan.seed,
                None,
                rerun,
            )?;
            let mut w = SummaryWriter::create(&common.out, &extra)?;
            sweep(&s, &design, &plan, |k, point, summary| {
                let mut cols = vec![k.to_string()];
                cols.extend(point.iter().map(|v| format!("{v}")));
                w.write(&summary, &cols)
            })?;
            set.add(w.finish()?);
            set.finish()?;
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
                command: command_line().join(" "),
                progress: !common.quiet,
                provenance: Some(provenance(seed, vec![])),
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
            let mut b = load(&baseline, Some(&size))?;
            let mut a = load(&alternative, Some(&size))?;
            distinct_names(&mut b, &baseline, &mut a, &alternative)?;
            let plan = plan(&b, &reps, &common)?;
            if !root {
                compare(&b, &a, &plan, fork_at, &mut [])?;
                return Ok(ExitCode::SUCCESS);
            }
            let (bn, an) = ("baseline.resolved.toml", "alternative.resolved.toml");
            let mut rerun = vec!["compare".to_string(), bn.into(), an.into()];
            if let Some(f) = fork_at {
                rerun.extend(["--fork-at".into(), f.to_string()]);
            }
            rerun.extend(reps_args(&plan, &reps));
            let mut set = begin(
                &common.out,
                "compare",
                &[(bn, &b), (an, &a)],
                plan.seed,
                None,
                rerun,
            )?;
            let effects = if reps.summary_only {
                compare(&b, &a, &plan, fork_at, &mut [])?
            } else {
                let mut runs = CsvRecorder::create(&common.out)?.without_manifest();
                set.add(CSV_FILES);
                compare(&b, &a, &plan, fork_at, &mut [&mut runs])?
            };
            set.add(write_comparison(&common.out, &effects)?);
            if !reps.no_charts {
                set.add(charts::compare(&common.out, &effects, &a)?);
            }
            set.finish()?;
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
