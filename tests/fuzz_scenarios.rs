//! Scenario input never panics: random TOML text (valid and broken) and random scenario values
//! are either accepted, and then run 12 months with every invariant holding, or refused with an
//! error that says where.
//!
//! Cases per property: `PROPTEST_CASES` (default 48 here; the README gives the long run).

mod common;

use paymarket::{Error, Scenario, Simulation};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

/// Runs an accepted scenario for 12 months (at most 2,000 users and 200 merchants: the test
/// bounds the size, the scenario may ask for any), checking the invariants every month.
fn run_accepted(mut s: Scenario) {
    s.agents.users = s.agents.users.clamp(1, 2_000);
    s.agents.merchants = s.agents.merchants.min(200);
    s.end = s.start.plus(11).min(s.end);
    s.events.retain(|e| e.at <= s.end);
    let mut sim = match Simulation::new(s) {
        Ok(sim) => sim,
        // Shrinking the run may make it invalid (e.g. fewer merchants than channels with shops);
        // that is an error with a message, not a panic.
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    while let Some(_r) = sim.step().expect("an accepted scenario steps") {
        if let Err(e) = sim.check_invariants() {
            panic!("invariant violated: {e}");
        }
    }
}

/// An error must say where: every scenario problem names a field path or a line.
fn assert_locates(e: &Error) {
    let text = e.to_string();
    assert!(!text.is_empty());
    if let Error::Scenario { problems, .. } = e {
        assert!(!problems.is_empty(), "{text}");
        for p in problems {
            assert!(
                !p.path.is_empty() || p.message.contains("line"),
                "a problem without a place: {p:?}"
            );
            assert!(!p.message.is_empty());
        }
    }
}

const TOKENS: [&str; 16] = [
    "\"x\"",
    "1e308",
    "-1",
    "nan",
    "inf",
    "-inf",
    "[]",
    "{}",
    "true",
    "0",
    "99999999999999999999",
    "\"2020-13\"",
    "\"\"",
    "[[\"2020-01\", 5]]",
    "0.5",
    "\"2019-06\"",
];

#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, usize),
    Delete(usize),
    Duplicate(usize),
    UnknownKey(usize),
    DuplicateId,
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (0usize..200, 0usize..TOKENS.len()).prop_map(|(l, t)| Mutation::Replace(l, t)),
        1 => (0usize..200).prop_map(Mutation::Delete),
        1 => (0usize..200).prop_map(Mutation::Duplicate),
        1 => (0usize..200).prop_map(Mutation::UnknownKey),
        1 => Just(Mutation::DuplicateId),
        1 => (0usize..3000).prop_map(Mutation::Truncate),
    ]
}

fn mutate(text: &str, ms: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for m in ms {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match m {
            Mutation::Replace(l, t) => {
                let l = l % n;
                if let Some((k, _)) = lines[l].split_once('=') {
                    lines[l] = format!("{k}= {}", TOKENS[*t]);
                }
            }
            Mutation::Delete(l) => {
                if !lines.is_empty() {
                    lines.remove(l % n);
                }
            }
            Mutation::Duplicate(l) => {
                let l = l % n;
                let line = lines[l].clone();
                lines.insert(l, line);
            }
            Mutation::UnknownKey(l) => lines.insert(l % n, "imitaton = 0.1".into()),
            Mutation::DuplicateId => {
                for line in lines.iter_mut() {
                    if line.trim() == "id = \"b\"" {
                        *line = "id = \"a\"".into();
                    }
                }
            }
            Mutation::Truncate(k) => {
                let joined = lines.join("\n");
                let cut = (*k).min(joined.len());
                let cut = (0..=cut)
                    .rev()
                    .find(|i| joined.is_char_boundary(*i))
                    .unwrap_or(0);
                lines = joined[..cut].lines().map(String::from).collect();
            }
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        // Failing inputs are kept next to the test and replayed first on every run.
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(
                "tests/fuzz_scenarios.proptest-regressions"
            )
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_toml_text_is_accepted_and_runs_or_refused_with_a_place(
        ms in prop::collection::vec(mutation(), 1..5)
    ) {
        let text = mutate(common::BASE, &ms);
        match Scenario::from_toml_str(&text, "fuzzed.toml") {
            Ok(s) => match s.validate() {
                Ok(()) => run_accepted(s),
                Err(e) => assert_locates(&e),
            },
            Err(e) => assert_locates(&e),
        }
    }

    #[test]
    fn random_scenario_values_are_accepted_and_run_or_refused_with_a_place(
        weights in prop::collection::vec(value(0.0, 1.0), 4),
        init in prop::collection::vec(value(0.0, 1.0), 2),
        fee in value(0.0, 0.05),
        users in prop_oneof![1 => Just(0u64), 1 => Just(1u64), 12 => 2u64..3000],
        merchants in prop_oneof![1 => Just(0u64), 12 => 1u64..300],
        events in prop::collection::vec(event_spec(), 0..8),
        platforms_empty in prop::bool::weighted(0.1),
        shops_zero in prop::bool::weighted(0.1),
        fringe in prop::collection::vec(prop_oneof![3 => Just(0.0), 1 => value(0.0, 1.0)], 2),
    ) {
        let mut s = common::base();
        for (p, x) in s.platforms.iter_mut().zip(&fringe) {
            p.fringe_share = *x;
        }
        for (ch, w) in s.channels.iter_mut().zip(&weights) {
            ch.weight = *w;
        }
        for (p, x) in s.platforms.iter_mut().zip(&init) {
            p.init_users = *x;
        }
        s.platforms[0].fee = fee;
        s.agents.users = users;
        s.agents.merchants = merchants;
        if platforms_empty {
            s.channels[0].platforms = Some(vec![]);
        }
        if shops_zero {
            s.channels[1].shops = 0.0;
        }
        for spec in &events {
            s.events.push(build(&s, spec));
        }
        match s.validate() {
            Ok(()) => run_accepted(s),
            Err(e) => assert_locates(&e),
        }
    }
}

/// The real-valued fields that validation accepts up to the magnitude limit (±1e15), with
/// whether they may be negative: brand weights, the subsidy weights, and every other weight,
/// amount or scale with no upper bound.
const UNBOUNDED: [(&str, bool); 21] = [
    ("brand.a", true),
    ("brand.b", true),
    ("subsidy_split", false),
    ("subsidy_weight", false),
    ("coverage_weight", false),
    ("rescue_weight", false),
    ("balance_weight", true),
    ("social_weight", true),
    ("coverage_primary_weight", true),
    ("merchant_inertia", false),
    ("merchant_logit_scale", false),
    ("months_liquidity", false),
    ("interest", false),
    ("init_size_bias", false),
    ("ticket", false),
    ("median_spend", false),
    ("imitation.a", false),
    ("imitation.b", false),
    ("fixed_cost.a", false),
    ("deposit.a", false),
    ("campaign", false),
];

/// A magnitude spread over every order from 10^-3 to the validation limit 10^15 (the limit
/// itself included), for fields without an upper bound.
fn extreme(signed: bool) -> impl Strategy<Value = f64> {
    (
        prop_oneof![3 => -3.0f64..15.0, 1 => Just(15.0)],
        any::<bool>(),
    )
        .prop_map(move |(e, neg)| {
            let x = 10f64.powf(e).min(1e15);
            if signed && neg {
                -x
            } else {
                x
            }
        })
}

/// Sets one of the [`UNBOUNDED`] fields of the test scenario.
fn set_extreme(s: &mut Scenario, field: &str, x: f64) {
    let p = &mut s.params;
    match field {
        "brand.a" => s.platforms[0].brand = x,
        "brand.b" => s.platforms[1].brand = x,
        "subsidy_split" => p.subsidy_split = x,
        "subsidy_weight" => p.subsidy_weight = x,
        "coverage_weight" => p.coverage_weight = x,
        "rescue_weight" => p.rescue_weight = x,
        "balance_weight" => p.balance_weight = x,
        "social_weight" => p.social_weight = x,
        "coverage_primary_weight" => p.coverage_primary_weight = x,
        "merchant_inertia" => p.merchant_inertia = x,
        "merchant_logit_scale" => p.merchant_logit_scale = x,
        "months_liquidity" => p.months_liquidity = x,
        "interest" => p.interest = x,
        "init_size_bias" => p.init_size_bias = x,
        "ticket" => p.ticket = x,
        "median_spend" => p.median_spend = x,
        "imitation.a" => {
            s.platforms[0].imitation.insert("everyone".into(), x);
        }
        "imitation.b" => {
            s.platforms[1].imitation.insert("chat".into(), x);
        }
        "fixed_cost.a" => s.platforms[0].fixed_cost = x,
        "deposit.a" => {
            s.platforms[0].deposit.insert("shops".into(), x);
        }
        "campaign" => {
            let mut ev = common::event("2020-02", "campaign");
            ev.platform = Some("b".into());
            ev.multiplier = Some(x);
            ev.months = Some(3);
            s.events.push(ev);
        }
        other => unreachable!("no such field {other}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(
                "tests/fuzz_scenarios.proptest-regressions"
            )
        )),
        ..ProptestConfig::default()
    })]

    /// Extreme but accepted values: one to four unbounded fields at magnitudes up to the
    /// validation limit, with or without a full subsidy that puts `subsidy_split` times the rate
    /// into the logit. Every such scenario must validate (the generator stays inside the rules)
    /// and then run with every invariant holding: no NaN, no infinity, shares that add up.
    #[test]
    fn extreme_accepted_values_run_with_every_invariant_holding(
        picks in prop::collection::vec((0..UNBOUNDED.len(), extreme(true)), 1..5),
        subsidy in prop_oneof![1 => Just(None), 1 => (0.0f64..=1.0).prop_map(Some)],
    ) {
        let mut s = common::base();
        // Small, so that 100,000 cases stay within a couple of minutes in CI.
        s.agents.users = 500;
        s.agents.merchants = 60;
        for (k, x) in &picks {
            let (field, signed) = UNBOUNDED[*k];
            set_extreme(&mut s, field, if signed { *x } else { x.abs() });
        }
        if let Some(rate) = subsidy {
            let mut ev = common::event("2020-01", "subsidy");
            ev.platform = Some("a".into());
            ev.channel = Some("shops".into());
            ev.rate = Some(rate);
            ev.months = Some(6);
            s.events.push(ev);
        }
        if let Err(e) = s.validate() {
            panic!("the generator made a scenario validation refuses: {e}");
        }
        run_accepted(s);
    }
}

/// A number that is usually inside `[lo, hi]` and sometimes not (negative, huge, NaN, inf).
fn value(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
    prop_oneof![
        12 => lo..=hi,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(-1.0),
        1 => Just(1e300),
    ]
}

/// An event: its kind, a month offset from the start, ids (usually valid), numbers.
#[derive(Debug, Clone)]
struct EventSpec {
    kind: usize,
    at: i32,
    ids: [usize; 4],
    x: f64,
    months: u32,
    scope_use: bool,
}

fn event_spec() -> impl Strategy<Value = EventSpec> {
    (
        0usize..12,
        prop_oneof![10 => 0i32..24, 1 => -3i32..0, 1 => 24i32..30],
        [
            prop_oneof![9 => 0usize..2, 1 => Just(2usize)],
            prop_oneof![9 => 0usize..4, 1 => Just(4usize)],
            prop_oneof![9 => 0usize..2, 1 => Just(2usize)],
            prop_oneof![9 => 0usize..2, 1 => Just(2usize)],
        ],
        value(0.0, 1.0),
        prop_oneof![1 => Just(0u32), 8 => 1u32..24],
        any::<bool>(),
    )
        .prop_map(|(kind, at, ids, x, months, scope_use)| EventSpec {
            kind,
            at,
            ids,
            x,
            months,
            scope_use,
        })
}

/// The event of a spec, with the fields its kind takes (ids past the valid ones are unknown).
fn build(s: &Scenario, e: &EventSpec) -> paymarket::scenario::Event {
    let platforms = ["a", "b", "zz"];
    let channels = ["shops", "garden", "chat", "own", "nowhere"];
    let networks = ["chat", "everyone", "zz"];
    // Past the known kinds: a block with none of its fields (an unknown kind cannot be built
    // in code; the TOML mutations write unknown kinds as text).
    let kind = paymarket::scenario::EVENT_KINDS
        .get(e.kind)
        .copied()
        .unwrap_or("incomplete");
    let mut ev = common::event("2020-01", if kind == "incomplete" { "block" } else { kind });
    ev.at = s.start.plus(e.at);
    let p = Some(platforms[e.ids[0]].to_string());
    let c = Some(channels[e.ids[1]].to_string());
    match kind {
        "block" => {
            ev.platform = p;
            ev.channel = c;
            ev.scope = Some(if e.scope_use { "use" } else { "new" }.into());
        }
        "allow" => {
            ev.platform = p;
            ev.channel = c;
            ev.months = Some(e.months);
        }
        "shift" => {
            ev.channel = c;
            ev.factor = Some(2.0 * e.x);
            if e.scope_use {
                ev.network = Some(networks[e.ids[2]].into());
            }
        }
        "deposit" => {
            ev.platform = p;
            ev.channel = c;
            ev.amount = Some(1e5 * e.x);
        }
        "fee" => {
            ev.platform = p;
            ev.rate = Some(0.02 * e.x);
        }
        "withdrawal_fee" => {
            ev.platform = p;
            ev.rate = Some(0.01 * e.x);
        }
        "subsidy" => {
            ev.platform = p;
            ev.channel = c;
            ev.rate = Some(0.05 * e.x);
            ev.months = Some(e.months);
        }
        "campaign" => {
            ev.platform = p;
            ev.multiplier = Some(5.0 * e.x);
            ev.months = Some(e.months);
        }
        "interop" => {
            ev.from = p;
            ev.to = Some(platforms[e.ids[3]].to_string());
            if e.scope_use {
                ev.channel = c;
            }
        }
        "tie" => {
            ev.platform = p;
            ev.network = Some(networks[e.ids[2]].into());
            ev.weight = Some(e.x);
        }
        "network" => {
            ev.network = Some(networks[e.ids[2]].into());
            ev.path = Some(vec![(ev.at, 1e6 * e.x)]);
        }
        _ => {}
    }
    ev
}
