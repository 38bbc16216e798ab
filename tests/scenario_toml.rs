//! The resolved scenario written beside every output set reads back as the same scenario.

use paymarket::Scenario;

#[test]
fn every_shipped_scenario_round_trips_through_its_resolved_toml() {
    for f in [
        "data/scenarios/china_2012_2021.toml",
        "data/scenarios/china_2012_2021_calibrated.toml",
        "data/scenarios/china_2012_2021_one_context.toml",
        "data/scenarios/china_2012_2021_one_context_calibrated.toml",
        "data/scenarios/duopoly.toml",
        "data/scenarios/contexts.toml",
        "tests/fixtures/china_v1/china_2012_2021.toml",
        "tests/fixtures/china_v1/china_2012_2021_calibrated.toml",
    ] {
        let mut s = Scenario::load(f).unwrap();
        // Command-line overrides are part of the resolved scenario.
        s.agents.users = 12_345;
        s.seed = 99;
        let text = s.to_toml().unwrap();
        let back = Scenario::from_toml_str(&text, "resolved").unwrap();
        assert_eq!(back, s, "{f}");
        assert_eq!(back.fingerprint(), s.fingerprint());
        back.validate().unwrap();
    }
}

#[test]
fn fingerprints_tell_scenarios_apart() {
    let s = Scenario::load("data/scenarios/duopoly.toml").unwrap();
    let mut t = s.clone();
    t.params.churn_rate += 1e-12;
    assert_ne!(s.fingerprint(), t.fingerprint());
    let mut u = s.clone();
    u.seed += 1;
    assert_ne!(s.fingerprint(), u.fingerprint());
    assert_eq!(s.fingerprint().len(), 16);
}
