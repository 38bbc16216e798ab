//! `paymarket`: run scenarios, ensembles, sweeps and counterfactuals from the command line and
//! get tidy CSV (and SVG charts) without writing Rust. `paymarket --help` lists the commands;
//! `paymarket COMMAND --help` explains each.
//!
//! Owns: the clap types and `main`. Reads: `commands`. Never: any work of its own beyond parsing
//! and dispatch.

use clap::{Args, Parser, Subcommand};
use paymarket::Month;
use std::path::PathBuf;
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
    Run(RunArgs),
    /// Continue a run saved with `run --checkpoint-at` in the run's own --out directory: the
    /// rows from the checkpoint's month on are written again, so resuming twice, or again after
    /// a resume was stopped, gives the files of the uninterrupted run. A directory whose rows
    /// come from another scenario or seed is refused, untouched.
    Resume(ResumeArgs),
    /// Run R replicates and write the per-run rows (with a `run` column) and
    /// summary_platforms.csv, summary_market.csv, summary_channels.csv (mean, sd, 95% CI, n),
    /// plus value_share.svg.
    Ensemble(EnsembleArgs),
    /// Run every setting of a parameter grid or Latin hypercube R times; the summaries name the
    /// setting in columns (a `setting` number and one column per parameter path).
    Sweep(SweepArgs),
    /// Compare an alternative with a baseline on the same replicate seeds (common random
    /// numbers): effects_*.csv hold the paired effect alternative − baseline with its 95% CI
    /// (and the unpaired one for contrast); effect_value_share.svg draws it.
    Compare(CompareArgs),
    /// Calibrate a scenario's behavioural parameters to observed market shares and user
    /// counts: writes fit.csv, identification.csv, trace.csv, summary_*.csv (the calibrated
    /// scenario's forecast), fit.svg and the calibrated scenario (calibrated.toml, or
    /// --write-scenario), and prints the fit, the identification and the forecast.
    Calibrate(CalibrateArgs),
    /// Global sensitivity of outputs to parameter ranges: Morris screening (μ*, μ, σ) or
    /// Sobol first- and total-order indices, with bootstrap intervals and the seed noise's
    /// share; writes sensitivity.csv, design.csv, outputs.csv, noise.csv and a chart.
    Sensitivity(SensitivityArgs),
    /// Make an output set again from its directory alone: runs the command its manifest.json
    /// records on the resolved inputs stored beside the files, writing the same files into
    /// --out.
    Rerun(RerunArgs),
    /// Check a scenario file and print every problem found; exit 0 when it is valid.
    Validate(ValidateArgs),
    /// Explore a scenario in the browser: a local web page that runs the engine as you switch
    /// events off, move them, change their numbers or the behavioural parameters, and draws
    /// the market month by month (against the original, with the paired effect's 95% band, on
    /// request). Serves on 127.0.0.1 unless --host says otherwise.
    #[cfg(feature = "serve")]
    Serve(ServeArgs),
}

/// The arguments of `paymarket serve`.
#[cfg(feature = "serve")]
#[derive(Args)]
pub struct ServeArgs {
    /// The scenario file (TOML); default: the calibrated 2012–2021 history, built in.
    pub scenario: Option<PathBuf>,
    /// Port (0: any free one; the address is printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Interface to listen on. Anything but loopback lets other machines run simulations here.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// User agents of a run by default (the page can change it up to --max-users).
    #[arg(long, default_value_t = 50_000, value_parser = count)]
    pub users: u64,
    /// Merchant agents of a run by default (default: a tenth of --users).
    #[arg(long, value_parser = count)]
    pub merchants: Option<u64>,
    /// User agents a page may ask for at most.
    #[arg(long, default_value_t = 1_000_000, value_parser = count)]
    pub max_users: u64,
    /// Merchant agents a page may ask for at most.
    #[arg(long, default_value_t = 100_000, value_parser = count)]
    pub max_merchants: u64,
    /// Replicates a page may ask for at most.
    #[arg(long, default_value_t = 20, value_parser = count)]
    pub max_replicates: u64,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "T")]
    pub threads: Option<usize>,
}
/// The arguments of `paymarket run`.
#[derive(Args)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub size: Size,
    /// Seed (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub common: Common,
    /// Also write a fixed random sample of this fraction of the agents every month to
    /// panel_users.csv and panel_merchants.csv.
    #[arg(long, value_name = "FRACTION")]
    pub panel: Option<f64>,
    /// Stop before this month and save the state to DIR/checkpoint-YYYY-MM.ckpt;
    /// `paymarket resume` continues it.
    #[arg(long, value_name = "YYYY-MM")]
    pub checkpoint_at: Option<Month>,
    /// Format of the table files: `csv`, or `parquet` (typed columns, nulls for empty cells,
    /// zstd; the schema is in docs/OUTPUT.md).
    #[arg(long, default_value = "csv", value_name = "FORMAT")]
    pub format: paymarket::record::Format,
}

/// The arguments of `paymarket resume`.
#[derive(Args)]
pub struct ResumeArgs {
    /// The checkpoint file.
    pub checkpoint: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

/// The arguments of `paymarket ensemble`.
#[derive(Args)]
pub struct EnsembleArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub reps: Reps,
    #[command(flatten)]
    pub size: Size,
    #[command(flatten)]
    pub common: Common,
}

/// The arguments of `paymarket sweep`.
#[derive(Args)]
pub struct SweepArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// A parameter and its values, e.g. `params.coverage_weight=0,0.05,0.1` or
    /// `platform.tenpay.imitation.wechat=0.1,0.2`; repeat for a full grid.
    #[arg(long, value_name = "PATH=V1,V2,..")]
    pub grid: Vec<String>,
    /// A parameter range for a Latin hypercube, e.g. `params.churn_rate=0.05:0.2`; repeat
    /// for more dimensions (needs --lhs).
    #[arg(long, value_name = "PATH=LO:HI")]
    pub range: Vec<String>,
    /// Number of Latin-hypercube settings.
    #[arg(long, value_name = "N")]
    pub lhs: Option<usize>,
    /// One setting, e.g. `params.churn_rate=0.1,params.coverage_weight=0.05`; repeat for a
    /// list of settings (each must name the same parameters).
    #[arg(long, value_name = "PATH=V,PATH=V,..")]
    pub point: Vec<String>,
    #[command(flatten)]
    pub reps: Reps,
    #[command(flatten)]
    pub size: Size,
    #[command(flatten)]
    pub common: Common,
}

/// The arguments of `paymarket compare`.
#[derive(Args)]
pub struct CompareArgs {
    /// The baseline scenario file.
    pub baseline: PathBuf,
    /// The alternative scenario file.
    pub alternative: PathBuf,
    /// Run the shared past once per replicate and branch at this month (the two scenarios
    /// must agree on everything dated before it).
    #[arg(long, value_name = "YYYY-MM")]
    pub fork_at: Option<Month>,
    #[command(flatten)]
    pub reps: Reps,
    #[command(flatten)]
    pub size: Size,
    #[command(flatten)]
    pub common: Common,
}

/// The calibration methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// One best point.
    Point,
    /// A posterior sample (approximate Bayesian computation).
    Abc,
}

/// The arguments of `paymarket calibrate`.
#[derive(Args)]
pub struct CalibrateArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Directory of market_shares.csv and user_counts.csv (e.g. data/observed).
    #[arg(long, value_name = "DIR")]
    pub targets: PathBuf,
    /// Candidates evaluated in all: for `point`, half a Latin hypercube and half
    /// Nelder–Mead; for `abc`, every generation's candidates, the first included.
    #[arg(long, value_parser = count)]
    pub budget: u64,
    /// `point`: one best point (Latin hypercube, then Nelder–Mead); `abc`: a posterior sample
    /// by approximate Bayesian computation from the parameters' priors.
    #[arg(long, value_enum, default_value_t = Method::Point)]
    pub method: Method,
    /// ABC: particles (the posterior sample), all drawn from the prior first.
    #[arg(long, default_value_t = 200, value_parser = count)]
    pub particles: u64,
    /// ABC: the share of particles kept as they are each generation (the others are refilled
    /// and moved).
    #[arg(long, default_value_t = 0.5)]
    pub alpha: f64,
    /// ABC: stop when fewer than this share of a generation's proposed moves are accepted.
    #[arg(long, default_value_t = 0.05)]
    pub min_acceptance: f64,
    /// Parameter file ([[parameter]] path, lo, hi, why); default: every third-party
    /// platform's innovation, imitation, initial share and brand, its campaigns and the
    /// shared behavioural parameters.
    #[arg(long, value_name = "FILE")]
    pub params: Option<PathBuf>,
    /// Seed of the replicates and of the search.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Replicates per candidate (common seeds across candidates).
    #[arg(long, default_value_t = 2, value_parser = count)]
    pub replicates: u64,
    /// Replicates of the final fit table and the forecast.
    #[arg(long, default_value_t = 10, value_parser = count)]
    pub report_replicates: u64,
    /// Last month of the calibration window; later figures are never fitted.
    #[arg(long, value_name = "YYYY-MM", default_value = "2016-12")]
    pub window_end: Month,
    /// Weight of a user-count error of 1 log point against a share error of 1 point.
    #[arg(long, default_value_t = 0.01)]
    pub users_weight: f64,
    /// Where to write the calibrated scenario (default OUT/calibrated.toml).
    #[arg(long, value_name = "FILE")]
    pub write_scenario: Option<PathBuf>,
    #[command(flatten)]
    pub size: Size,
    #[command(flatten)]
    pub common: Common,
}

/// The arguments of `paymarket sensitivity`.
#[derive(Args)]
pub struct SensitivityArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// `morris` (screening: μ*, μ, σ of the elementary effects) or `sobol` (first- and
    /// total-order indices).
    #[arg(long, default_value = "morris")]
    pub method: String,
    /// A parameter and its range, e.g. `params.churn_rate=0.05:0.2`; repeat for each.
    #[arg(long, value_name = "PATH=LO:HI", required = true)]
    pub range: Vec<String>,
    /// An output: TABLE.KEYS.METRIC@YYYY-MM, or @YYYY-MM:YYYY-MM for a window's mean, e.g.
    /// `platforms.tenpay.value_share@2020-12`, `market.lost_value@2016-01:2016-12`; repeat.
    #[arg(long, value_name = "OUTPUT", required = true)]
    pub output: Vec<String>,
    /// Make every output the paired effect of this scenario against SCENARIO (same seeds, the
    /// parameters set in both).
    #[arg(long, value_name = "FILE")]
    pub vs: Option<PathBuf>,
    /// Design points (model evaluations before replicates): Morris makes BUDGET/(k+1)
    /// trajectories, Sobol BUDGET/(k+2) rows, for k parameters.
    #[arg(long, default_value_t = 200, value_parser = count)]
    pub budget: u64,
    /// Replicates per design point, on common seeds.
    #[arg(long, short = 'r', default_value_t = 2, value_parser = count)]
    pub replicates: u64,
    /// Seed of the design, the replicates and the bootstrap (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Bootstrap resamples of the intervals.
    #[arg(long, default_value_t = 1000, value_parser = count)]
    pub bootstrap: u64,
    /// Extend the scenario (and the alternative) to this month.
    #[arg(long, value_name = "YYYY-MM")]
    pub end: Option<Month>,
    /// Make every output the paired effect of the events labelled GROUP (`group = "..."` in
    /// the scenario, e.g. miit_2021): SCENARIO with them against SCENARIO without them.
    #[arg(long, value_name = "GROUP", conflicts_with = "vs")]
    pub effect_of: Option<String>,
    /// Independent seeds at every design point (default: common seeds, replicate r of every
    /// point on the same seed).
    #[arg(long)]
    pub independent_seeds: bool,
    /// An output set of this analysis at another budget, written by this paymarket (the same
    /// scenario and alternative or --effect-of, method, ranges, outputs, replicates, seed,
    /// --independent-seeds and --spread; --bootstrap may differ): its runs are reused for every
    /// design point the two designs share, and the files are those of the analysis run whole.
    /// Under MPI every rank reads it, so it must be on storage they share.
    #[arg(long, value_name = "DIR")]
    pub extend: Option<PathBuf>,
    /// Choose the Morris trajectories for spread (Campolongo et al. 2007) instead of at random:
    /// the choice favours the cube's corners, so μ* and σ describe the effects there and their
    /// intervals do not cover the values over the whole grid.
    #[arg(long)]
    pub spread: bool,
    #[command(flatten)]
    pub size: Size,
    #[command(flatten)]
    pub common: Common,
}

/// The arguments of `paymarket rerun`.
#[derive(Args)]
pub struct RerunArgs {
    /// A directory written by run, resume, ensemble, sweep, compare or calibrate.
    pub dir: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

/// The arguments of `paymarket validate`.
#[derive(Args)]
pub struct ValidateArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
}

#[derive(Args)]
pub struct Size {
    /// User agents (default: the scenario's); `1e6` is accepted.
    #[arg(long, value_parser = count)]
    pub users: Option<u64>,
    /// Merchant agents (default: the scenario's).
    #[arg(long, value_parser = count)]
    pub merchants: Option<u64>,
}

#[derive(Args)]
pub struct Reps {
    /// Number of replicates.
    #[arg(long, short = 'r', value_parser = count)]
    pub replicates: u64,
    /// Master seed: replicate r runs with a seed derived from (seed, r). Default: the
    /// scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Runs simulated at once (default: the number of threads); bounds memory.
    #[arg(long, value_name = "K")]
    pub in_flight: Option<usize>,
    /// Write only the summaries, not the per-run rows.
    #[arg(long)]
    pub summary_only: bool,
    /// Do not draw SVG charts.
    #[arg(long)]
    pub no_charts: bool,
    /// Format of the table files: `csv`, or `parquet` (typed columns, nulls for empty cells,
    /// zstd; the schema is in docs/OUTPUT.md).
    #[arg(long, default_value = "csv", value_name = "FORMAT")]
    pub format: paymarket::record::Format,
    /// A posterior sample (`posterior.csv` from `calibrate --method abc`): each replicate runs
    /// with one parameter vector drawn by weight, so the bands include parameter uncertainty.
    #[arg(long, value_name = "FILE")]
    pub posterior: Option<PathBuf>,
}

#[derive(Args)]
pub struct Common {
    /// Directory for the output files (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Worker threads (default: all cores). The output does not depend on it.
    #[arg(long, value_name = "T")]
    pub threads: Option<usize>,
    /// No progress line on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// A whole number, `1e6` and `1_000_000` accepted.
fn count(v: &str) -> Result<u64, String> {
    paymarket::scenario::parse_count(v)
        .ok_or_else(|| format!("expected a whole number such as 1000000 or 1e6, got {v:?}"))
}

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

mod commands;
mod explore;
mod provenance;

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

fn dispatch(cli: Cli) -> Res<ExitCode> {
    let start = Instant::now();
    let single = matches!(
        cli.command,
        Command::Run(_) | Command::Resume(_) | Command::Validate(_)
    );
    if single && !paymarket::dist::is_root() {
        // One run is not distributed: rank 0 does it alone.
        return Ok(ExitCode::SUCCESS);
    }
    match cli.command {
        Command::Validate(a) => commands::validate(a, start),
        Command::Rerun(a) => {
            let (cli, recorded) = provenance::rerun_cli(&a.dir, &a.common)?;
            provenance::record_command(recorded);
            dispatch(cli)
        }
        Command::Run(a) => commands::run(a, start),
        Command::Resume(a) => commands::resume(a, start),
        Command::Ensemble(a) => commands::ensemble(a, start),
        Command::Sweep(a) => commands::sweep(a, start),
        Command::Calibrate(a) => commands::calibrate(a, start),
        Command::Compare(a) => commands::compare(a, start),
        Command::Sensitivity(a) => explore::sensitivity(a, start),
        #[cfg(feature = "serve")]
        Command::Serve(a) => explore::serve(a),
    }
}
