//! The invariant checker: every way it can fail, each fed a month broken in exactly that way
//! (the other invariants kept, money still adding up where the broken one is not conservation),
//! and expected to name it.

mod common;

use common::{cj, pj};
use paymarket::record::MonthReport;
use paymarket::{invariants, Scenario, Simulation};

/// The base scenario's third month (both wallets in use, shops accepting both) and its policy.
fn good() -> (Scenario, Simulation, MonthReport) {
    let s = common::base();
    let mut sim = Simulation::new(s.clone()).unwrap();
    for _ in 0..3 {
        sim.step().unwrap();
    }
    let r = sim.last_report().unwrap().clone();
    invariants::check(&r, sim.policy(), &s).expect("an honest month passes");
    (s, sim, r)
}

/// Checks `bad` and returns the message, which must name the month.
fn message(s: &Scenario, sim: &Simulation, bad: &MonthReport) -> String {
    let msg = invariants::check(bad, sim.policy(), s)
        .expect_err("the broken month must fail")
        .to_string();
    assert!(msg.contains("invariant violated in month 2020-03"), "{msg}");
    msg
}

type Break = fn(&mut MonthReport, &mut Scenario);

#[test]
fn every_invariant_fails_on_a_month_broken_in_its_way_and_says_which() {
    let (s, sim, r) = good();
    let shops_total: f64 = s.channels.iter().map(|c| c.shops).sum();
    let cases: Vec<(&str, Break, &str)> = vec![
        (
            "money conservation",
            |r, _| {
                let c = cj(r, "shops");
                r.channels[c].cash += 1234.5;
            },
            "money not conserved in channel shops",
        ),
        (
            "a negative value (moved to cash, so money still adds up)",
            |r, _| {
                let (c, j) = (cj(r, "shops"), pj(r, "a"));
                let v = r.channels[c].value[j];
                r.channels[c].value[j] = -1.0;
                r.channels[c].cash += v + 1.0;
            },
            "value of a in shops is -1",
        ),
        (
            "value through a wallet that is not usable in the channel",
            |r, _| {
                let (c, j) = (cj(r, "garden"), pj(r, "b"));
                r.channels[c].value[j] = 5.0;
                r.channels[c].lost -= 5.0;
            },
            "b is not usable in garden but carries value 5",
        ),
        (
            "negative cash (moved to lost)",
            |r, _| {
                let c = cj(r, "shops");
                let cash = r.channels[c].cash;
                r.channels[c].cash = -1.0;
                r.channels[c].lost += cash + 1.0;
            },
            "cash in shops is -1",
        ),
        (
            "more shops accepting than exist",
            |r, _| {
                let c = cj(r, "shops");
                r.channels[c].merchants_accepting.as_mut().unwrap()[0] = 1e9;
            },
            "1000000000 shops accept a in shops, outside [0, ",
        ),
        (
            "more holders than people",
            |r, _| {
                let j = pj(r, "a");
                r.platforms[j].users = 2e6;
            },
            "users of a is 2000000, outside [0, population 1000000]",
        ),
        (
            "more accepting merchants than shops",
            |r, _| {
                let j = pj(r, "b");
                r.platforms[j].merchants = 1e9;
            },
            "merchants of b is 1000000000, outside [0, ",
        ),
        (
            "a negative fee revenue",
            |r, _| {
                let j = pj(r, "a");
                r.platforms[j].fee_revenue = -1.0;
            },
            "fee_revenue of a is -1",
        ),
        (
            "a value share above one",
            |r, _| {
                let j = pj(r, "a");
                r.platforms[j].value_share = Some(1.5);
            },
            "value_share of a is 1.5, outside [0, 1]",
        ),
        (
            "holders before the launch",
            |_, s| {
                s.platforms[1].launch = Some("2020-06".parse().unwrap());
            },
            "users before its launch in 2020-06",
        ),
        (
            "a multi-homing share above one",
            |r, _| r.market.multihoming_users = 1.5,
            "market multihoming_users is 1.5, outside [0, 1]",
        ),
        (
            "more adopters than people",
            |r, _| r.market.adopters = 2e6,
            "market adopters is 2000000, outside [0, population 1000000]",
        ),
        (
            "a market total that is not a number",
            |r, _| r.market.hhi = f64::NAN,
            "market hhi is NaN",
        ),
    ];
    assert_eq!(cases.len(), 13, "one case per way the checker can fail");
    assert!(shops_total < 1e9);
    for (what, brk, expected) in cases {
        let (mut bad, mut scen) = (r.clone(), s.clone());
        brk(&mut bad, &mut scen);
        let msg = message(&scen, &sim, &bad);
        assert!(msg.contains(expected), "{what}: {msg}");
    }
}
