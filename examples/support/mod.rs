//! Command-line helpers shared by the examples: `--flag value` options with clear errors.

use std::collections::BTreeMap;
use std::process::ExitCode;

/// Parses the flags and runs `run`: exit 2 with the usage on bad options, 1 with the error's
/// message when the run fails.
pub fn main_with(
    known: &[&str],
    usage: &'static str,
    run: impl FnOnce(&Flags) -> Result<(), Box<dyn std::error::Error>>,
) -> ExitCode {
    let flags = match Flags::parse(known, usage) {
        Ok(f) => f,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    match run(&flags) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Parsed `--flag value` options.
pub struct Flags {
    values: BTreeMap<String, String>,
    usage: &'static str,
}

impl Flags {
    /// Parses the process arguments; `known` lists the accepted flags (without `--`).
    pub fn parse(known: &[&str], usage: &'static str) -> Result<Flags, String> {
        let mut values = BTreeMap::new();
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            if flag == "--help" || flag == "-h" {
                return Err(usage.to_string());
            }
            let name = flag
                .strip_prefix("--")
                .filter(|n| known.contains(n))
                .ok_or_else(|| format!("unknown option {flag:?}\n{usage}"))?;
            let value = it
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n{usage}"))?;
            values.insert(name.to_string(), value);
        }
        Ok(Flags { values, usage })
    }

    /// A string option.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A whole-number option (underscores allowed, `1e9` accepted when exact).
    pub fn count(&self, name: &str) -> Result<Option<u64>, String> {
        self.values
            .get(name)
            .map(|v| {
                paymarket::scenario::parse_count(v).ok_or_else(|| {
                    format!("--{name} takes a whole number, got {v:?}\n{}", self.usage)
                })
            })
            .transpose()
    }

    /// A number option.
    #[allow(dead_code)] // used by the history example only
    pub fn number(&self, name: &str) -> Result<Option<f64>, String> {
        self.values
            .get(name)
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| format!("--{name} takes a number, got {v:?}\n{}", self.usage))
            })
            .transpose()
    }
}

/// A rayon pool with `threads` workers (0: one per core).
pub fn pool(threads: u64) -> paymarket::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads as usize)
        .build()
        .map_err(|e| paymarket::Error::Config(format!("cannot start {threads} threads: {e}")))
}

#[allow(dead_code)] // used by the scale example only
/// The process's peak resident set (VmHWM), in bytes, where the OS reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[allow(dead_code)] // used by the counterfactual examples only
/// Runs a baseline and an alternative on common replicate seeds (`--replicates`, `--seed`,
/// `--users`, `--merchants`, `--threads`, `--out`), writes the summaries, effects and charts,
/// and prints the effect on each platform's value share and holders in each of `months`.
pub fn comparison(
    flags: &Flags,
    mut baseline: paymarket::Scenario,
    mut alternative: paymarket::Scenario,
    fork_at: Option<paymarket::Month>,
    default_out: &str,
    months: &[&str],
) -> Result<(), Box<dyn std::error::Error>> {
    use paymarket::experiment::{compare, write_comparison, Plan};
    let out = std::path::PathBuf::from(flags.text("out").unwrap_or(default_out));
    for s in [&mut baseline, &mut alternative] {
        s.agents.users = flags.count("users")?.unwrap_or(100_000);
        s.agents.merchants = flags.count("merchants")?.unwrap_or(10_000);
    }
    let plan = Plan {
        replicates: flags.count("replicates")?.unwrap_or(20),
        seed: flags.count("seed")?.unwrap_or(baseline.seed),
        progress: true,
        ..Plan::default()
    };
    let pool = pool(flags.count("threads")?.unwrap_or(0))?;
    let started = std::time::Instant::now();
    let effects = pool.install(|| compare(&baseline, &alternative, &plan, fork_at, &mut []))?;
    paymarket::output::clear_manifest(&out).ok();
    let mut files = write_comparison(&out, &effects, paymarket::record::Format::Csv)?;
    files.extend(paymarket::chart::comparison_charts(
        &out,
        &effects,
        &paymarket::chart::event_months(&alternative),
    )?);
    paymarket::output::write_manifest(&out, &files)?;
    println!(
        "{} minus {} · {} paired replicates of {} users, {} merchants{} · {:.1} s\n",
        alternative.name,
        baseline.name,
        plan.replicates,
        baseline.agents.users,
        baseline.agents.merchants,
        fork_at
            .map(|m| format!(", forked at {m}"))
            .unwrap_or_default(),
        started.elapsed().as_secs_f64()
    );
    for m in months {
        let t = effects
            .baseline
            .months()
            .iter()
            .position(|x| x.to_string() == *m)
            .ok_or_else(|| format!("{m} is not a simulated month"))?;
        println!("{m}, effect on value share:");
        for line in effects.describe(t, "value_share") {
            println!("  {line}");
        }
        println!("{m}, effect on people holding each wallet:");
        for line in effects.describe(t, "users") {
            println!("  {line}");
        }
        println!();
    }
    println!(
        "Wrote summary_*.csv, effects_*.csv and effect_value_share.svg in {}",
        out.display()
    );
    Ok(())
}
