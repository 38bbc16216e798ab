//! The one error type of paymarket.
//!
//! Every error a user can hit says what is wrong, where (file, field path, value) and what to do.
//!
//! Owns: `Error`, `Problem`, `Result`. Reads: nothing in the crate. Never: anything above it.

use std::fmt;
use std::path::PathBuf;

/// One problem found in a scenario: where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The field path, e.g. `platform.alipay.fee` or `event[3].at`.
    pub path: String,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Everything that can go wrong in paymarket.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A scenario could not be read or is invalid; every problem found is listed.
    #[error("scenario {origin}: {}", list(problems))]
    Scenario {
        /// The file the scenario came from, or `<in memory>`.
        origin: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A CSV file could not be read or written.
    #[error("{path}: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The CSV reader's or writer's error.
        source: csv::Error,
    },
    /// A model invariant (MODEL.md section 7) failed: a bug, never a user error.
    #[error("invariant violated in month {month}: {message}")]
    Invariant {
        /// The month, `YYYY-MM`.
        month: String,
        /// Which invariant, where, and by how much.
        message: String,
    },
    /// The scenario needs more memory than the machine has available.
    #[error(
        "{} of {users} users and {merchants} merchants need about {} of memory, but only {} is available; \
         lower {}--users or --merchants (each user takes {bytes_per_user} bytes, each merchant {merchant_bytes}), \
         or run on a machine with more memory",
        worlds_text(*worlds), gib(*needed), gib(*available),
        if *worlds > 1 { "--in-flight (simulations at once), " } else { "" }
    )]
    OutOfMemory {
        /// Simulations held at once (runs in flight, both sides of a forked comparison).
        worlds: u64,
        /// User agents asked for.
        users: u64,
        /// Merchant agents asked for.
        merchants: u64,
        /// Estimated bytes needed.
        needed: u64,
        /// Bytes available (MemAvailable).
        available: u64,
        /// Bytes per user agent.
        bytes_per_user: usize,
        /// Bytes per merchant agent.
        merchant_bytes: usize,
    },
    /// A checkpoint file could not be read: not a checkpoint, another format version, or
    /// truncated.
    #[error("checkpoint {path}: {problem}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        problem: String,
    },
    /// A run setting is invalid (e.g. zero users); the message says what to do.
    #[error("{0}")]
    Config(String),
    /// The caller stopped an experiment ([`crate::experiment::Watch::stop`]) after `done` of
    /// its `total` runs; nothing was written.
    #[error("stopped by the caller after {done} of {total} runs")]
    Stopped {
        /// Runs finished when it stopped.
        done: u64,
        /// Runs it would have made.
        total: u64,
    },
}

fn worlds_text(worlds: u64) -> String {
    if worlds == 1 {
        "a simulation".to_string()
    } else {
        format!("{worlds} simulations at once")
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}

fn list(problems: &[Problem]) -> String {
    match problems {
        [one] => one.to_string(),
        many => {
            let mut s = format!("{} problems:", many.len());
            for p in many {
                s.push_str("\n  - ");
                s.push_str(&p.to_string());
            }
            s
        }
    }
}

/// Shorthand for results in paymarket.
pub type Result<T, E = Error> = std::result::Result<T, E>;
