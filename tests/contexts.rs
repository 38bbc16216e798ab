//! Contexts (MODEL.md v2): one context is v1 byte for byte, the default logit anchor holds in
//! each context, contexts are independent, and their inputs are validated with field paths.

use paymarket::record::MonthReport;
use paymarket::scenario::Context;
use paymarket::{Scenario, Simulation};
use std::collections::BTreeMap;
use std::path::Path;

mod common;

/// Two wallets held by everyone from the start, no adoption or churn, two contexts (`shop`:
/// the merchant channel, `social`: the transfers), defaults re-chosen every month by brand
/// alone unless a test changes the weights.
const TWO_CONTEXTS: &str = r#"
name = "two_contexts"
start = "2020-01"
end = "2020-12"
population = 1e6
seed = 11

[agents]
users = 20000
merchants = 500

[params]
balance_weight = 0.0
social_weight = 0.0
coverage_primary_weight = 0.0
primary_review = 1.0
churn_rate = 0.0

[[platform]]
id = "a"
init_users = 1.0
innovation = 0.0

[[platform]]
id = "b"
init_users = 1.0
innovation = 0.0

[[context]]
id = "shop"
brand = { a = 0.5 }

[[context]]
id = "social"
brand = { b = 1.0 }

[[channel]]
id = "shops"
kind = "merchant"
weight = 0.7
shops = 10000
init_accept = { a = 0.5, b = 0.5 }
context = "shop"

[[channel]]
id = "chat"
kind = "p2p"
weight = 0.3
cash = false
context = "social"
"#;

fn two_contexts() -> Scenario {
    Scenario::from_toml_str(TWO_CONTEXTS, "two_contexts").unwrap()
}

fn months(s: Scenario, n: usize) -> Vec<MonthReport> {
    let mut sim = Simulation::new(s).unwrap();
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(sim.step().unwrap().unwrap().clone());
        sim.check_invariants().unwrap();
    }
    out
}

/// Share of holders whose default in `context` is `platform`.
fn default_share(r: &MonthReport, context: &str, platform: &str) -> f64 {
    let rows: Vec<_> = r.defaults.iter().filter(|d| d.context == context).collect();
    let total: f64 = rows.iter().map(|d| d.default_users).sum();
    let mine = rows.iter().find(|d| d.platform == platform).unwrap();
    mine.default_users / total
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn the_default_logit_anchor_holds_in_each_context() {
    // MODEL.md section 8: with β_bal = β_soc = β_cov = 0, no subsidy and ρ = 1, the share of
    // holders of both whose default is `a` is exp(θ_a + θ_a,κ) / Σ, separately per context.
    let reports = months(two_contexts(), 6);
    let n = 20000.0;
    for r in [&reports[0], &reports[5]] {
        for (context, want) in [("shop", logistic(0.5)), ("social", logistic(-1.0))] {
            let got = default_share(r, context, "a");
            let sd = (want * (1.0 - want) / n).sqrt();
            assert!(
                (got - want).abs() < 4.0 * sd,
                "{} {context}: share {got}, logit {want}, sd {sd}",
                r.month
            );
        }
        // Every holder has a default in every context.
        for d in r.defaults.iter().filter(|d| d.platform == "none") {
            assert_eq!(d.default_users, 0.0, "{}: {d:?}", r.month);
        }
        // `primary_users`: people whose default is `a` in at least one context, each counted
        // once. The two contexts' draws are independent, so that is everyone but those with
        // `b` in both: 1 − σ(−0.5)·σ(1).
        let a = r.platforms.iter().find(|p| p.platform == "a").unwrap();
        let want = 1.0 - logistic(-0.5) * logistic(1.0);
        let got = a.primary_users / a.users;
        let sd = (want * (1.0 - want) / n).sqrt();
        assert!(
            (got - want).abs() < 4.0 * sd,
            "{}: primary share {got}, want {want}",
            r.month
        );
    }
}

#[test]
fn changing_one_context_leaves_the_other_unchanged_and_moves_its_own_by_the_computed_amount() {
    // Social context: initial defaults 75% `a` (brand offset ln 3), re-chosen every month.
    let mut base = two_contexts();
    base.contexts[1].brand = BTreeMap::from([("a".to_string(), 3f64.ln())]);
    base.contexts[0].social_weight = Some(1.0);
    let mut social = base.clone();
    social.contexts[1].social_weight = Some(4.0);
    let (r0, r1) = (&months(base, 1)[0], &months(social, 1)[0]);
    // The shop context's defaults are those of the same draws: identical, to the person.
    let shop = |r: &MonthReport| -> Vec<f64> {
        r.defaults
            .iter()
            .filter(|d| d.context == "shop")
            .map(|d| d.default_users)
            .collect()
    };
    assert_eq!(shop(r0), shop(r1));
    // By hand: each user's 8 contacts hold both wallets, and a contact's initial default in
    // `social` is `a` with probability 3/4, independently, so X ~ Binomial(8, 3/4) of them
    // default to `a`. With β_soc = 4 the utilities are ln 3 + 4·X/8 and 4·(8 − X)/8: the
    // share choosing `a` is E[σ(ln 3 + X − 4)]; with β_soc = 0 it is σ(ln 3) = 3/4.
    let mut expected = 0.0;
    for x in 0..=8u32 {
        let choose = (1..=x).fold(1.0, |c, k| c * (8 - k + 1) as f64 / k as f64);
        let px = choose * 0.75f64.powi(x as i32) * 0.25f64.powi(8 - x as i32);
        expected += px * logistic(3f64.ln() + x as f64 - 4.0);
    }
    let sd = (0.25 / 20000.0f64).sqrt();
    let (before, after) = (
        default_share(r0, "social", "a"),
        default_share(r1, "social", "a"),
    );
    assert!((before - 0.75).abs() < 4.0 * sd, "β_soc = 0: {before}");
    assert!(
        (after - expected).abs() < 4.0 * sd,
        "β_soc = 4: {after}, by hand {expected}"
    );
    assert!(expected - 0.75 > 10.0 * sd, "the scenario shows the effect");
}

/// `path`'s scenario with every channel in one context named `everything` with the global
/// parameters, same name, written into `dir`; returns the new file.
fn in_one_context(path: &str, dir: &Path) -> String {
    let mut s = Scenario::load(path).unwrap();
    s.contexts = vec![Context {
        id: "everything".into(),
        ..Context::default()
    }];
    for ch in &mut s.channels {
        ch.context = Some("everything".into());
    }
    let out = dir.join(Path::new(path).file_name().unwrap());
    std::fs::write(&out, s.to_toml().unwrap()).unwrap();
    out.display().to_string()
}

#[test]
fn one_named_context_gives_the_reference_files_of_no_context() {
    // The reference fixtures are the files of the same commands without contexts, written
    // before contexts existed (tests/reference.rs checks that they still are).
    let dir = common::tmp_dir("contexts", "one");
    let duopoly = in_one_context("data/scenarios/duopoly.toml", &dir);
    let no_order = in_one_context("tests/fixtures/reference/duopoly_no_order.toml", &dir);
    let china = in_one_context("tests/fixtures/china_v1/china_2012_2021.toml", &dir);
    let size = ["--users", "5000", "--merchants", "500"];
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "history",
            vec!["run", &china, "--users", "20000", "--merchants", "2000"],
        ),
        (
            "ensemble",
            [&["ensemble", duopoly.as_str(), "-r", "3"][..], &size].concat(),
        ),
        (
            "forked_comparison",
            [
                &["compare", duopoly.as_str(), no_order.as_str(), "-r", "3"][..],
                &["--fork-at", "2021-06"],
                &size,
            ]
            .concat(),
        ),
    ];
    let mut compared = 0;
    for (name, args) in cases {
        let out = dir.join(name);
        common::paymarket(&args, &out);
        let want_dir = Path::new("tests/fixtures/reference").join(name);
        for e in std::fs::read_dir(&want_dir).unwrap() {
            let p = e.unwrap().path();
            let file = p.file_name().unwrap().to_string_lossy().into_owned();
            let want = std::fs::read_to_string(&p).unwrap();
            let got = std::fs::read_to_string(out.join(&file)).unwrap();
            let got = if file.contains("defaults") {
                got.replace(",everything,", ",all,")
            } else {
                got
            };
            assert!(want == got, "{name}/{file} differs with one named context");
            compared += 1;
        }
    }
    assert!(compared >= 25, "compared {compared} files");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The problems' field paths and messages of a scenario text.
fn problems(text: &str) -> Vec<(String, String)> {
    match Scenario::from_toml_str(text, "t").map(|s| s.problems()) {
        Ok(p) => p.into_iter().map(|p| (p.path, p.message)).collect(),
        Err(e) => vec![("read".into(), e.to_string())],
    }
}

fn has(problems: &[(String, String)], path: &str, words: &str) -> bool {
    problems.iter().any(|(p, m)| p == path && m.contains(words))
}

#[test]
fn context_inputs_are_refused_with_their_field_paths() {
    let ok = problems(TWO_CONTEXTS);
    assert!(ok.is_empty(), "{ok:?}");

    // A channel naming an unknown context; a context with no channel.
    let p = problems(&TWO_CONTEXTS.replace("context = \"social\"", "context = \"money\""));
    assert!(
        has(&p, "channel.chat.context", "unknown context \"money\""),
        "{p:?}"
    );
    assert!(has(&p, "context.social", "has no channel"), "{p:?}");

    // A channel without a context once contexts are declared.
    let p = problems(&TWO_CONTEXTS.replace("context = \"social\"\n", ""));
    assert!(
        has(&p, "channel.chat.context", "every channel names one"),
        "{p:?}"
    );

    // A context named `all`; a fifth context.
    let p = problems(&TWO_CONTEXTS.replace("id = \"social\"", "id = \"all\""));
    assert!(has(&p, "context[1].id", "reserved"), "{p:?}");
    let extra: String = (0..3)
        .map(|k| format!("[[context]]\nid = \"x{k}\"\n"))
        .collect();
    let p = problems(&format!("{TWO_CONTEXTS}\n{extra}"));
    assert!(has(&p, "context", "at most 4 contexts, got 5"), "{p:?}");

    // A context's parameters and brand offsets.
    let p = problems(
        &TWO_CONTEXTS.replace("brand = { a = 0.5 }", "brand = { c = 0.5 }\nloyalty = 1.5"),
    );
    assert!(
        has(&p, "context.shop.brand", "unknown platform \"c\""),
        "{p:?}"
    );
    assert!(has(&p, "context.shop.loyalty", "between 0 and 1"), "{p:?}");

    // A channel naming a context in a scenario that declares none.
    let p = problems(&common_no_contexts());
    assert!(
        has(&p, "channel.shops.context", "declares no [[context]]"),
        "{p:?}"
    );

    // Brand and fixed-cost events.
    let with = |ev: &str| {
        problems(&format!(
            "{TWO_CONTEXTS}\n[[event]]\nat = \"2020-06\"\n{ev}"
        ))
    };
    let p = with("kind = \"brand\"\nplatform = \"a\"\noffset = 1.0");
    assert!(has(&p, "event[0].context", "needs \"context\""), "{p:?}");
    let p = with("kind = \"brand\"\nplatform = \"a\"\ncontext = \"money\"\noffset = 1.0");
    assert!(
        has(&p, "event[0].context", "unknown context \"money\""),
        "{p:?}"
    );
    assert!(with("kind = \"brand\"\nplatform = \"a\"\ncontext = \"all\"\noffset = 1.0").is_empty());
    let p = with("kind = \"fixed_cost\"\nplatform = \"a\"\nchannel = \"chat\"\namount = 5.0");
    assert!(
        has(&p, "event[0].channel", "unknown merchant channel \"chat\""),
        "{p:?}"
    );
    let p = with("kind = \"fixed_cost\"\nplatform = \"a\"\namount = -1.0");
    assert!(has(&p, "event[0].amount", "at least 0"), "{p:?}");
}

fn common_no_contexts() -> String {
    let start = TWO_CONTEXTS.find("[[context]]").unwrap();
    let end = TWO_CONTEXTS.find("[[channel]]").unwrap();
    let text = format!("{}{}", &TWO_CONTEXTS[..start], &TWO_CONTEXTS[end..]);
    text.replace("context = \"social\"\n", "")
}

#[test]
fn sweep_paths_reach_context_fields() {
    use paymarket::scenario::path::{get_path, set_path};
    let s = two_contexts();
    let t = set_path(&s, "context.social.social_weight", 2.5).unwrap();
    assert_eq!(t.contexts[1].social_weight, Some(2.5));
    assert_eq!(get_path(&t, "context.social.social_weight").unwrap(), 2.5);
    let t = set_path(&s, "context.shop.brand.b", -0.25).unwrap();
    assert_eq!(t.contexts[0].brand["b"], -0.25);
    assert_eq!(get_path(&t, "context.shop.brand.a").unwrap(), 0.5);
    // A context declared without brand offsets still has its table for a path to reach.
    let mut bare = s.clone();
    bare.contexts[1].brand.clear();
    let t = set_path(&bare, "context.social.brand.a", 0.75).unwrap();
    assert_eq!(t.contexts[1].brand["a"], 0.75);
}

#[test]
fn brand_and_fixed_cost_events_act_for_their_window_and_then_restore() {
    // A brand window in `shop` moves the shop defaults, then they return; the social context
    // is untouched.
    let mut s = two_contexts();
    let mut ev = common::event("2020-03", "brand");
    ev.platform = Some("b".into());
    ev.context = Some("shop".into());
    ev.offset = Some(2.0);
    ev.months = Some(3);
    s.events.push(ev);
    let mut fc = common::event("2020-03", "fixed_cost");
    fc.platform = Some("a".into());
    fc.amount = Some(1e9);
    fc.months = Some(3);
    s.events.push(fc);
    let reports = months(s, 12);
    let n = 20000.0;
    let tol = |p: f64| 4.0 * (p * (1.0 - p) / n).sqrt();
    // In force 2020-03..2020-05: shop utilities a 0.5, b 2.0.
    let during = logistic(0.5 - 2.0);
    let after = logistic(0.5);
    for (t, want) in [(3, during), (4, during), (6, after), (11, after)] {
        let got = default_share(&reports[t], "shop", "a");
        assert!(
            (got - want).abs() < tol(want),
            "{}: {got} vs {want}",
            reports[t].month
        );
        let social = default_share(&reports[t], "social", "a");
        assert!(
            (social - logistic(-1.0)).abs() < tol(0.27),
            "{}: {social}",
            reports[t].month
        );
    }
    // The events are reported with their context in `detail`.
    let evs = &reports[2].events;
    assert_eq!(evs[0].kind, "brand");
    assert_eq!(evs[0].detail, "months=3;context=shop;offset=2");
    assert_eq!(evs[1].detail, "months=3;amount=1000000000");
    // A fixed cost of RMB 10^9 a month makes accepting `a` a loss for every shop: while it
    // lasts (2020-03 to 2020-05) no shop adds it and no expiring contract is renewed.
    let acc = |t: usize| common::accepting(&reports[t], "shops", "a");
    for (t, r) in reports.iter().enumerate().take(5).skip(2) {
        assert!(
            acc(t) <= acc(t - 1),
            "{}: {} > {}",
            r.month,
            acc(t),
            acc(t - 1)
        );
    }
    assert!(
        acc(4) < acc(1),
        "contracts expired in three months: {} vs {}",
        acc(4),
        acc(1)
    );
    // And after it (from 2020-06) the fixed cost is back to the scenario's 10 RMB: shops sign
    // `a` again.
    assert!(
        acc(11) > acc(5),
        "acceptance after the window: {} vs {}",
        acc(11),
        acc(5)
    );
}

#[test]
fn own_balance_keeps_transfers_out_of_another_contexts_default() {
    // Transfers go through `a` only; the shop context has no p2p channel. Shop utilities:
    // brand 0 for both, no social or coverage term, balance weight 2. By MODEL.md v2's rule
    // the balance share is over every p2p channel: b_a = 1 for everyone (all hold both and
    // all transfers go through `a`), so the shop share of `a` is σ(2). With `own_balance` the
    // shop context's balance share is over its own p2p channels, none: σ(0) = 1/2.
    let mut s = two_contexts();
    s.params.balance_weight = 2.0;
    s.contexts[0].brand.clear();
    s.channels[1].platforms = Some(vec!["a".into()]);
    let mut own = s.clone();
    own.contexts[0].own_balance = true;
    let sd = (0.25 / 20000.0f64).sqrt();
    let shared = default_share(&months(s, 1)[0], "shop", "a");
    let separate = default_share(&months(own, 1)[0], "shop", "a");
    assert!(
        (shared - logistic(2.0)).abs() < 4.0 * sd,
        "shared balance: {shared}"
    );
    assert!((separate - 0.5).abs() < 4.0 * sd, "own balance: {separate}");
}

#[test]
fn transfers_follow_the_default_of_their_own_context() {
    // Month 1, everyone holds both: in the chat (social context) a transfer splits by the
    // social default with loyalty 0.6 over ψ_a = σ(θ_a,social − θ_b,social) = σ(−1); the
    // social defaults are `a` with the same probability σ(−1). So `a`'s share of the chat
    // value is 0.6·σ(−1) + 0.4·σ(−1) = σ(−1) = 0.27. Routed by the shop default (`a` with
    // probability σ(0.5)) it would be 0.6·σ(0.5) + 0.4·σ(−1) = 0.48.
    let r = &months(two_contexts(), 1)[0];
    let a = common::value(r, "chat", "a");
    let b = common::value(r, "chat", "b");
    let share = a / (a + b);
    assert!(
        (share - logistic(-1.0)).abs() < 0.03,
        "chat share of a: {share}"
    );
}

#[test]
fn several_contexts_are_deterministic_across_threads_and_checkpoints() {
    let mut s = Scenario::load("data/scenarios/contexts.toml").unwrap();
    s.agents.users = 30_000;
    s.agents.merchants = 1_000;
    s.end = "2013-12".parse().unwrap();
    let run = |threads: usize| -> Vec<MonthReport> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| months(s.clone(), 24))
    };
    let one = run(1);
    assert!(one == run(2), "1 and 2 threads differ");
    assert!(one == run(4), "1 and 4 threads differ");
    // Saved after a year and resumed: the same second year.
    let mut sim = Simulation::new(s.clone()).unwrap();
    for _ in 0..12 {
        sim.step().unwrap();
    }
    let path = common::tmp_dir("contexts", "ckpt").join("c.ckpt");
    sim.save(&path).unwrap();
    let mut resumed = Simulation::load(&path).unwrap();
    for want in &one[12..] {
        assert!(
            resumed.step().unwrap().unwrap() == want,
            "resumed {} differs",
            want.month
        );
    }
    // Three contexts: every holder has a default in each, none in a fourth (before and after
    // the resume).
    for sim in [&sim, &resumed] {
        let u = sim.users();
        let holders = (0..u.len()).filter(|&i| u.wallets(i) != 0);
        for i in holders.take(1000) {
            assert!((0..3).all(|k| u.default_in(i, k).is_some()), "user {i}");
            assert_eq!(u.default_in(i, 3), None, "user {i}: a fourth context");
        }
    }
}

#[test]
fn scenarios_with_different_contexts_compare_on_every_other_table() {
    let dir = common::tmp_dir("contexts", "compare");
    let out = dir.join("cmp");
    common::paymarket(
        &[
            "compare",
            "data/scenarios/contexts_single.toml",
            "data/scenarios/contexts.toml",
            "-r",
            "2",
            "--users",
            "3000",
            "--merchants",
            "300",
        ],
        &out,
    );
    let effects = std::fs::read_to_string(out.join("effects_platforms.csv")).unwrap();
    assert!(
        effects.lines().count() > 100,
        "{} rows",
        effects.lines().count()
    );
    let defaults = std::fs::read_to_string(out.join("effects_defaults.csv")).unwrap();
    assert_eq!(
        defaults.lines().count(),
        1,
        "defaults rows do not pair: header only"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
