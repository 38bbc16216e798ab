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
                let clean = v.replace('_', "");
                clean
                    .parse::<u64>()
                    .ok()
                    .or_else(|| {
                        clean
                            .parse::<f64>()
                            .ok()
                            .filter(|x| x.fract() == 0.0 && *x >= 0.0 && *x < 1.8e19)
                            .map(|x| x as u64)
                    })
                    .ok_or_else(|| {
                        format!("--{name} takes a whole number, got {v:?}\n{}", self.usage)
                    })
            })
            .transpose()
    }

    /// A number option.
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
