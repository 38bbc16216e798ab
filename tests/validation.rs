//! Every validation error named in the scenario contract: each says where and what.

use paymarket::{Error, Scenario};

mod common;
use common::{base, event};

fn problems(s: &Scenario) -> Vec<(String, String)> {
    match s.validate() {
        Ok(()) => vec![],
        Err(Error::Scenario { problems, .. }) => {
            problems.into_iter().map(|p| (p.path, p.message)).collect()
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}

fn assert_problem(s: &Scenario, path: &str, needle: &str) {
    let ps = problems(s);
    assert!(
        ps.iter().any(|(p, m)| p == path && m.contains(needle)),
        "expected a problem at {path} mentioning {needle:?}, got {ps:?}"
    );
}

#[test]
fn the_base_scenario_is_valid() {
    assert!(problems(&base()).is_empty());
}

#[test]
fn unknown_platform_in_an_event() {
    let mut s = base();
    let mut e = event("2020-06", "block");
    e.platform = Some("wechatpay".into());
    e.channel = Some("shops".into());
    e.scope = Some("new".into());
    s.events.push(e);
    assert_problem(
        &s,
        "event[0].platform",
        "unknown platform \"wechatpay\"; known: a, b",
    );
}

#[test]
fn unknown_channel_in_an_event() {
    let mut s = base();
    let mut e = event("2020-06", "allow");
    e.platform = Some("b".into());
    e.channel = Some("gardn".into());
    s.events.push(e);
    assert_problem(&s, "event[0].channel", "unknown channel \"gardn\"");
}

#[test]
fn event_month_outside_the_scenario() {
    let mut s = base();
    let mut e = event("2023-01", "campaign");
    e.platform = Some("b".into());
    e.multiplier = Some(2.0);
    s.events.push(e);
    assert_problem(
        &s,
        "event[0].at",
        "2023-01 is outside the scenario (2020-01 to 2021-12)",
    );
}

#[test]
fn share_outside_zero_one() {
    let mut s = base();
    s.platforms[0].init_users = 1.5;
    assert_problem(&s, "platform.a.init_users", "between 0 and 1, got 1.5");
    let mut s = base();
    s.channels[0].init_accept.insert("b".into(), -0.1);
    assert_problem(&s, "channel.shops.init_accept.b", "got -0.1");
}

#[test]
fn fringe_share_out_of_range_or_on_a_platform_outside_the_shares() {
    let mut s = base();
    s.platforms[1].fringe_share = 1.2;
    assert_problem(&s, "platform.b.fringe_share", "between 0 and 0.99, got 1.2");
    let mut s = base();
    s.platforms[1].fringe_share = -0.1;
    assert_problem(&s, "platform.b.fringe_share", "got -0.1");
    let mut s = base();
    s.platforms[1].third_party = false;
    s.platforms[1].fringe_share = 0.1;
    assert_problem(&s, "platform.b.fringe_share", "has third_party = false");
    let mut s = base();
    s.platforms[0].fringe_share = 0.5;
    s.platforms[1].fringe_share = 0.5;
    assert_problem(
        &s,
        "platform",
        "fringe_share add up to 1 (a = 0.5, b = 0.5)",
    );
    // Each at its limit, together above it.
    let mut s = base();
    s.platforms[0].fringe_share = 0.99;
    s.platforms[1].fringe_share = 0.01;
    assert_problem(&s, "platform", "at most 0.99");
    let mut s = base();
    s.platforms[0].fringe_share = 0.6;
    s.platforms[1].fringe_share = 0.39;
    assert!(problems(&s).is_empty(), "0.99 in all is allowed");
}

#[test]
fn negative_fee() {
    let mut s = base();
    s.platforms[1].fee = -0.01;
    assert_problem(&s, "platform.b.fee", "got -0.01");
    let mut s = base();
    let mut e = event("2020-06", "fee");
    e.platform = Some("a".into());
    e.rate = Some(-0.002);
    s.events.push(e);
    assert_problem(&s, "event[0].rate", "got -0.002");
}

#[test]
fn more_than_eight_platforms() {
    let mut s = base();
    for k in 0..7 {
        let mut p = s.platforms[1].clone();
        p.id = format!("w{k}");
        s.platforms.push(p);
    }
    assert_problem(&s, "platform", "at most 8 platforms, got 9");
}

#[test]
fn duplicate_ids() {
    let mut s = base();
    s.platforms[1].id = "a".into();
    assert_problem(&s, "platform", "platform id \"a\" is declared twice");
    let mut s = base();
    s.channels[1].id = "shops".into();
    assert_problem(&s, "channel", "channel id \"shops\" is declared twice");
}

#[test]
fn membership_path_not_sorted() {
    let mut s = base();
    s.networks[0].path = vec![
        ("2020-06".parse().unwrap(), 1e5),
        ("2020-03".parse().unwrap(), 2e5),
    ];
    assert_problem(&s, "network.chat.path[1]", "sorted by month");
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut s = base();
    s.platforms[0].fee = 2.0;
    s.channels[0].weight = f64::NAN;
    s.agents.users = 0;
    assert_eq!(problems(&s).len(), 3, "{:?}", problems(&s));
}

#[test]
fn toml_errors_name_the_field_and_never_panic() {
    let text = common::BASE.replace("weight = 0.5", "weight = \"half\"");
    let err = Scenario::from_toml_str(&text, "x.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("x.toml") && err.contains("channel[0].weight"),
        "{err}"
    );
    let text = common::BASE.replace(
        "innovation = 0.002\nimitation = { everyone",
        "inovation = 0.002\nimitation = { everyone",
    );
    let err = Scenario::from_toml_str(&text, "x.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("inovation") && err.contains("did you mean `innovation`?"),
        "{err}"
    );
    assert!(err.contains("line 19, column 1"), "{err}");
    let err = Scenario::from_toml_str("name = [", "x.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("not valid TOML"), "{err}");
    let text = common::BASE.replace("start = \"2020-01\"", "start = \"2020-13\"");
    let err = Scenario::from_toml_str(&text, "x.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("start") && err.contains("YYYY-MM"), "{err}");
}

#[test]
fn load_reports_a_missing_file() {
    let err = Scenario::load("no/such/file.toml").unwrap_err().to_string();
    assert!(err.contains("no/such/file.toml"), "{err}");
}

#[test]
fn event_fields_that_do_not_apply_are_flagged() {
    let mut s = base();
    let mut e = event("2020-06", "shift");
    e.channel = Some("shops".into());
    e.factor = Some(1.2);
    e.scope = Some("new".into());
    s.events.push(e);
    assert_problem(&s, "event[0].scope", "does not apply to a \"shift\" event");
}

#[test]
fn the_shipped_scenarios_are_valid() {
    for f in [
        "data/scenarios/duopoly.toml",
        "data/scenarios/china_2012_2021.toml",
    ] {
        Scenario::load(f).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn huge_numbers_are_refused_where_they_are() {
    // Found by tests/fuzz_scenarios.rs: a brand weight of 1e308 overflowed the payment split's
    // logit to NaN values in the first month.
    let mut s = base();
    s.platforms[0].brand = 1e308;
    assert_problem(&s, "platform.a.brand", "too large");
    let mut s = base();
    s.channels[0].weight = 1e300;
    assert_problem(&s, "channel.shops.weight", "too large");
}

/// An unknown event kind is refused where it stands, with the known kinds and the closest one.
#[test]
fn an_unknown_event_kind_names_its_place_and_the_closest_kind() {
    let text = format!(
        "{}\n[[event]]\nat = \"2020-03\"\nkind = \"campain\"\nplatform = \"a\"\nmultiplier = 2.0\n",
        common::BASE
    );
    let msg = paymarket::Scenario::from_toml_str(&text, "typo.toml")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("typo.toml")
            && msg.contains("event[0].kind")
            && msg.contains("did you mean `campaign`"),
        "{msg}"
    );
}

#[test]
fn a_table_of_long_range_contacts_needs_the_memberships_in_the_state_words() {
    let mut s = paymarket::Scenario::load("data/scenarios/china_2012_2021.toml").unwrap();
    s.agents.long_range = paymarket::scenario::LongRange::Table;
    assert!(problems(&s).is_empty());
    let mut fifth = s.networks[0].clone();
    fifth.id = "fifth".into();
    s.networks.push(fifth);
    assert_problem(
        &s,
        "agents.long_range",
        "needs at most 4 networks (they are kept in the state words), got 5",
    );
}
