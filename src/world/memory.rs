//! Memory: what the agents of a simulation take, estimated before anything is allocated and
//! checked against what the operating system reports as available (BENCHMARKS.md, "Memory").
//!
//! Owns: `merchant_bytes`, `memory_estimate`, `memory_estimate_at_once`, `check_memory`,
//! `memory_available`. Reads: `Users::bytes_per_user`. Never: agents' values, output.

use super::Users;
use crate::error::{Error, Result};

/// Bytes per merchant agent for `p` platforms: channel, size, class, accepted set, expiries.
pub fn merchant_bytes(p: usize) -> usize {
    1 + 4 + 1 + 1 + 2 * p
}

/// Estimated peak memory of a simulation: the per-agent arrays plus a fixed allowance for the
/// program, the monthly tables and the partial sums of one parallel batch.
pub fn memory_estimate(users: u64, merchants: u64, platforms: usize) -> u64 {
    memory_estimate_at_once(users, merchants, platforms, 1, 1)
}

/// Estimated peak memory of a process holding `worlds` simulations of this size at once (the
/// runs in flight of an ensemble, both sides of a forked comparison) with `contexts` contexts:
/// the program's own allowance once, the agents' arrays per world. Measured against peak
/// resident memory in BENCHMARKS.md ("Memory").
pub fn memory_estimate_at_once(
    users: u64,
    merchants: u64,
    platforms: usize,
    worlds: u64,
    contexts: usize,
) -> u64 {
    // The program, its thread stacks, the tables and the reports: 8 MiB, measured as the peak
    // resident memory of runs of 10^5 users (8.0 MB), where the agents take 1.4 MB.
    const FIXED: u64 = 8 << 20;
    let per_world = users * Users::bytes_per_user(contexts) as u64
        + merchants * merchant_bytes(platforms) as u64;
    FIXED + worlds.max(1) * per_world
}

/// Refuses, before anything is allocated, to hold `worlds` simulations of this size at once when
/// the machine does not have the memory available (where the OS reports it).
pub fn check_memory(
    users: u64,
    merchants: u64,
    platforms: usize,
    worlds: u64,
    contexts: usize,
) -> Result<()> {
    let needed = memory_estimate_at_once(users, merchants, platforms, worlds, contexts);
    match memory_available() {
        Some(available) if needed > available => Err(Error::OutOfMemory {
            worlds: worlds.max(1),
            users,
            merchants,
            needed,
            available,
            bytes_per_user: Users::bytes_per_user(contexts),
            merchant_bytes: merchant_bytes(platforms),
        }),
        _ => Ok(()),
    }
}

/// Memory the operating system reports as available (`MemAvailable` in `/proc/meminfo`), if it
/// can be read.
pub fn memory_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
