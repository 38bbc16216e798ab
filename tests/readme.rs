//! What the README states about the replay and the calibration is what the code computes: the
//! replay table is regenerated from a run and the counts of fitted figures from the targets.

use paymarket::calibrate::{load_targets, replay_table, Target};
use paymarket::{Collect, Month, Scenario, Simulation};
use std::path::Path;

fn readme() -> String {
    std::fs::read_to_string("README.md").unwrap()
}

fn targets(s: &Scenario) -> Vec<Target> {
    load_targets(Path::new("data/observed"), s, Month::new(2016, 12).unwrap()).unwrap()
}

/// The block between the README's replay-table markers equals the table of the default
/// history run (the calibrated scenario, 10^6 users, 10^5 merchants, its seed) up to 2016.
#[test]
fn the_readme_replay_table_is_the_one_the_code_writes() {
    let text = readme();
    let start = text
        .find("<!-- replay-table")
        .and_then(|k| text[k..].find("-->\n").map(|e| k + e + 4))
        .expect("the README has a replay-table block");
    let end = text.find("<!-- /replay-table -->").unwrap();
    let mut s = Scenario::load("data/scenarios/china_2012_2021_calibrated.toml").unwrap();
    s.agents.users = 1_000_000;
    s.agents.merchants = 100_000;
    let t = targets(&s);
    // Later months cannot change earlier ones: the run stops at the window's end.
    s.end = Month::new(2016, 12).unwrap();
    s.events.retain(|e| e.at <= s.end);
    let mut runs = Collect::default();
    Simulation::new(s).unwrap().run(&mut [&mut runs]).unwrap();
    let table = replay_table(&runs.reports, &t);
    assert_eq!(
        &text[start..end],
        table,
        "regenerate the README's replay table with `cargo run --release --example history`"
    );
}

/// "on N share points and M user counts": the numbers the calibration fits (a share point is
/// any percentage: value shares and default shares).
#[test]
fn the_readme_counts_the_fitted_figures_as_the_code_does() {
    let s = Scenario::load("data/scenarios/china_2012_2021.toml").unwrap();
    let t = targets(&s);
    let shares = t
        .iter()
        .filter(|t| t.weight > 0.0 && t.measure.name().ends_with("_pct"))
        .count();
    let counts = t
        .iter()
        .filter(|t| t.weight > 0.0 && !t.measure.name().ends_with("_pct"))
        .count();
    let sentence = format!(
        "{shares} share points and {counts} user counts ({} fitted data points",
        shares + counts
    );
    let text = readme().split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains(&sentence),
        "the README should say \"{sentence}\""
    );
}
