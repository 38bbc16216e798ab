//! Memory: what the agents of a simulation take, estimated before anything is allocated and
//! checked against what the operating system reports as available (BENCHMARKS.md, "Memory"),
//! and the state buffers' huge pages.
//!
//! Owns: `merchant_bytes`, `memory_estimate`, `memory_estimate_at_once`, `check_memory`,
//! `memory_available`, `huge_copy`. Reads: `Users::bytes_per_user`. Never: agents' values, output.

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

/// A copy of `src` in memory that the kernel is asked to back with huge pages (2 MiB on x86-64
/// Linux, where transparent huge pages are in `madvise` or `always` mode). The contacts' reads
/// are scattered over the whole of last month's state buffer, and with 4 KiB pages nearly every
/// long-range read of a large population also misses the TLB (measured: BENCHMARKS.md).
/// Elsewhere, or when the kernel declines, an ordinary copy; the values are the same either way.
pub(crate) fn huge_copy<T: Copy>(src: &[T]) -> Vec<T> {
    let mut v = Vec::with_capacity(src.len());
    advise_huge(v.as_mut_ptr() as *mut u8, std::mem::size_of_val(src));
    v.extend_from_slice(src);
    v
}

/// Asks the kernel to back the whole 2 MiB pages within `ptr..ptr + len` (not yet touched) with
/// huge pages.
#[cfg(target_os = "linux")]
fn advise_huge(ptr: *mut u8, len: usize) {
    const HUGE: usize = 2 << 20;
    let start = (ptr as usize).next_multiple_of(HUGE);
    let end = (ptr as usize + len) / HUGE * HUGE;
    if end > start {
        // SAFETY: `madvise` only hints how to back the range `start..end`, whole pages within
        // this allocation (both ends are multiples of 2 MiB inside `ptr..ptr + len`); it reads
        // and writes nothing, and a refusal (an error return) leaves the memory as it was.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_: *mut u8, _: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy made for huge pages holds the same values, over a range that spans whole 2 MiB
    /// pages and one that is too small for any.
    #[test]
    fn huge_copies_keep_their_values() {
        let big: Vec<u32> = (0..3_000_000u32)
            .map(|i| i.wrapping_mul(2_654_435_761))
            .collect();
        assert_eq!(huge_copy(&big), big);
        let small = [7u16, 0, 65535];
        assert_eq!(huge_copy(&small), small);
        assert!(huge_copy::<u16>(&[]).is_empty());
    }
}
