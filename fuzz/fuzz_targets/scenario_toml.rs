//! Fuzzes scenario input: arbitrary bytes as TOML text must be accepted (and then run three
//! months with every invariant holding) or refused with an error, never panic.
//!
//! `cargo +nightly fuzz run scenario_toml` (needs cargo-fuzz and a nightly toolchain).
#![no_main]

use libfuzzer_sys::fuzz_target;
use paymarket::{Scenario, Simulation};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut s) = Scenario::from_toml_str(text, "fuzz") else {
        return;
    };
    if s.validate().is_err() {
        return;
    }
    // Keep each input cheap: a few agents, three months.
    s.agents.users = s.agents.users.clamp(1, 500);
    s.agents.merchants = s.agents.merchants.min(50);
    s.end = s.start.plus(2).min(s.end);
    s.events.retain(|e| e.at <= s.end);
    if let Ok(mut sim) = Simulation::new(s) {
        while let Ok(Some(_)) = sim.step() {}
        // A step that fails returns an error (e.g. an invariant) and is reported by the
        // checker itself; an invariant violation is a bug, so make it a crash for the fuzzer.
        if let Err(e) = sim.check_invariants() {
            panic!("{e}");
        }
    }
});
