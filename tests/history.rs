//! The historical replay: every invariant holds every month, and the replay has the shape of
//! the history it encodes (events on their dates, WeChat Pay's rise after 2013-08).

use paymarket::{Scenario, Simulation};

mod common;
use common::{accepting, pj};

#[test]
fn invariants_hold_every_month_of_the_history() {
    let mut s = Scenario::load("data/scenarios/china_2012_2021.toml").unwrap();
    s.agents.users = 40_000;
    s.agents.merchants = 4_000;
    let n_events = s.events.len();
    let mut sim = Simulation::new(s).unwrap();
    let mut reports = Vec::new();
    while let Some(r) = sim.step().unwrap() {
        reports.push(r.clone());
        // The explicit checker, so the invariants are checked in release builds too.
        sim.check_invariants().unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(reports.len(), 120);
    assert_eq!(
        reports.iter().map(|r| r.events.len()).sum::<usize>(),
        n_events
    );
    let at = |m: &str| reports.iter().find(|r| r.month.to_string() == m).unwrap();
    // Tencent's wallet is kept out of Alibaba's commerce until the 2021 order's phase-in.
    for r in reports
        .iter()
        .filter(|r| r.month.to_string().as_str() < "2021-10")
    {
        assert_eq!(accepting(r, "alibaba_commerce", "tenpay"), 0.0);
    }
    // UnionPay has no users before its launch in 2015-12.
    assert_eq!(
        at("2015-11").platforms[pj(at("2015-11"), "unionpay")].users,
        0.0
    );
    // WeChat Pay's share grows from the 2013-08 launch to 2016.
    let share = |m: &str| at(m).platforms[pj(at(m), "tenpay")].value_share.unwrap();
    assert!(
        share("2016-06") > 2.0 * share("2013-07"),
        "{} -> {}",
        share("2013-07"),
        share("2016-06")
    );
    // The 2014-02 cut-off: no new Alipay contracts in WeChat public accounts, so its acceptance
    // there never rises after 2014-02.
    let mut last = accepting(at("2014-02"), "tencent_commerce", "alipay");
    for r in reports
        .iter()
        .filter(|r| r.month.to_string().as_str() > "2014-02")
    {
        let now = accepting(r, "tencent_commerce", "alipay");
        assert!(
            now <= last + 1e-9,
            "{}: Alipay signed new public-account merchants",
            r.month
        );
        last = now;
    }
}

#[test]
fn the_checker_reports_a_discrepancy_with_its_month_channel_and_size() {
    use paymarket::{invariants, policy::Policy};
    let s = common::base();
    let mut sim = paymarket::Simulation::new(s.clone()).unwrap();
    let good = sim.step().unwrap().unwrap().clone();
    let policy: &Policy = sim.policy();
    invariants::check(&good, policy, &s).unwrap();
    let mut bad = good.clone();
    bad.channels[0].cash += 1234.5;
    let msg = invariants::check(&bad, policy, &s).unwrap_err().to_string();
    assert!(
        msg.contains("2020-01") && msg.contains("shops") && msg.contains("1234.5"),
        "{msg}"
    );
    let mut bad = good.clone();
    bad.channels[1].value[0] = f64::NAN;
    let msg = invariants::check(&bad, policy, &s).unwrap_err().to_string();
    assert!(msg.contains("value of a in garden is NaN"), "{msg}");
}

/// The structural comparison of docs/CALIBRATION.md is the historical scenario with every
/// channel, and every context's event, in one context: nothing else differs.
#[test]
fn the_one_context_variant_differs_only_in_its_contexts() {
    use paymarket::scenario::Context;
    let mut main = Scenario::load("data/scenarios/china_2012_2021.toml").unwrap();
    let one = Scenario::load("data/scenarios/china_2012_2021_one_context.toml").unwrap();
    main.name = one.name.clone();
    main.description = one.description.clone();
    main.contexts = vec![Context {
        id: "pay".into(),
        social_weight: Some(1.0),
        brand: [
            ("tenpay".to_string(), 0.0),
            ("other_wallets".to_string(), 0.0),
        ]
        .into(),
        source: "every channel".into(),
        ..Context::default()
    }];
    for c in &mut main.channels {
        c.context = Some("pay".into());
    }
    for e in main.events.iter_mut().filter(|e| e.context.is_some()) {
        e.context = Some("pay".into());
    }
    assert_eq!(main, one);
}
