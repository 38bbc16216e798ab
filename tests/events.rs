//! One test per event kind (MODEL.md section 4), each showing the event's effect against a
//! hand-computed expectation or a paired run on the same seed.

use paymarket::{MonthReport, Simulation};

mod common;
use common::{accepting, base, cj, event, pj, run, value};

fn idx(reports: &[MonthReport], month: &str) -> usize {
    reports
        .iter()
        .position(|r| r.month.to_string() == month)
        .unwrap()
}

/// Runs the base scenario without and with `e` on the same seed; returns both runs and the
/// event's month index, after checking they agree up to the month before the event.
fn paired(e: paymarket::scenario::Event) -> (Vec<MonthReport>, Vec<MonthReport>, usize) {
    let s = base();
    let mut t = s.clone();
    let at = e.at.to_string();
    t.events.push(e);
    let without = run(s);
    let with = run(t);
    let k = idx(&with, &at);
    assert_eq!(with[k - 1], without[k - 1], "identical before the event");
    (without, with, k)
}

/// `block` with scope `new`: existing contracts run to expiry (remaining lengths uniform in
/// 1..=36), so acceptance falls linearly and is gone after 36 months.
#[test]
fn block_new_keeps_contracts_until_they_expire() {
    let mut s = base();
    s.end = "2023-06".parse().unwrap();
    let mut e = event("2020-01", "block");
    e.platform = Some("a".into());
    e.channel = Some("shops".into());
    e.scope = Some("new".into());
    s.events.push(e);
    let sim = Simulation::new(s.clone()).unwrap();
    let m = sim.merchants();
    let shops = m.ranges[0].clone();
    let n0 = shops.clone().filter(|&k| m.accepted[k] & 1 != 0).count() as f64;
    let per_agent = 10_000.0 / shops.len() as f64;
    let reports = run(s);
    for t in [0usize, 5, 17, 30] {
        // After step t, contracts expiring at steps 0..=t have lapsed: (35 − t)/36 remain.
        let expected = (35 - t) as f64 / 36.0;
        let got = accepting(&reports[t], "shops", "a") / per_agent / n0;
        let sd = (expected * (1.0 - expected) / n0).sqrt();
        assert!(
            (got - expected).abs() <= 4.0 * sd + 1e-9,
            "month {t}: {got} of initial acceptance, expected {expected}"
        );
        assert!(
            value(&reports[t], "shops", "a") > 0.0,
            "existing contracts still carry value"
        );
    }
    for r in &reports[35..] {
        assert_eq!(
            accepting(r, "shops", "a"),
            0.0,
            "{}: a contract outlived its expiry",
            r.month
        );
    }
    // Payments use the accepted sets at the start of the month: the last contracts carry value
    // in their expiry month and none after.
    assert!(value(&reports[35], "shops", "a") > 0.0);
    for r in &reports[36..] {
        assert_eq!(value(r, "shops", "a"), 0.0);
    }
}

/// `block` with scope `use`: unusable at once, acceptance dropped the same month.
#[test]
fn block_use_is_immediate() {
    let mut s = base();
    let mut e = event("2020-06", "block");
    e.platform = Some("a".into());
    e.channel = Some("shops".into());
    e.scope = Some("use".into());
    s.events.push(e);
    let reports = run(s);
    let k = idx(&reports, "2020-06");
    assert!(value(&reports[k - 1], "shops", "a") > 0.0);
    for r in &reports[k..] {
        assert_eq!(value(r, "shops", "a"), 0.0);
        assert_eq!(accepting(r, "shops", "a"), 0.0);
    }
    assert_eq!(reports[k].events.len(), 1);
    assert_eq!(reports[k].events[0].kind, "block");
}

/// `allow` with a phase-in: a merchant may sign once its event draw falls below
/// (t − at + 1)/months, so the open share rises 1/6 a month and acceptance rises gradually.
#[test]
fn allow_phases_in_gradually() {
    let mut s = base();
    let mut e = event("2020-07", "allow");
    e.platform = Some("b".into());
    e.channel = Some("garden".into());
    e.months = Some(6);
    s.events.push(e);
    let seed = s.seed;
    let mut sim = Simulation::new(s).unwrap();
    let garden = sim.merchants().ranges[1].clone();
    let n = garden.len() as f64;
    let mut reports = Vec::new();
    while let Some(r) = sim.step().unwrap() {
        reports.push(r.clone());
        sim.check_invariants().unwrap();
        let t = reports.len() - 1;
        let open = garden
            .clone()
            .filter(|&k| sim.policy().may_sign(seed, k as u64, 1, 1, t))
            .count() as f64
            / n;
        let expected = if t < 6 {
            0.0
        } else {
            ((t - 6 + 1) as f64 / 6.0).min(1.0)
        };
        let sd = (expected * (1.0 - expected) / n).sqrt();
        assert!(
            (open - expected).abs() <= 4.0 * sd + 1e-9,
            "month {t}: open share {open}, expected {expected}"
        );
    }
    let at = idx(&reports, "2020-07");
    for r in &reports[..at] {
        assert_eq!(accepting(r, "garden", "b"), 0.0);
        assert_eq!(value(r, "garden", "b"), 0.0);
    }
    let first = accepting(&reports[at], "garden", "b");
    let later = accepting(&reports[at + 5], "garden", "b");
    assert!(
        later > first,
        "acceptance should keep rising during the phase-in: {first} then {later}"
    );
    assert!(value(&reports[at + 5], "garden", "b") > 0.0);
}

/// `shift`: the channel's weight is multiplied, then normalised over each user's open channels.
/// With the chat network flat at 60%, members open all four channels (weights .5 .2 .1 .2) and
/// others three; tripling `own` gives members 0.6/1.4 and others 0.6/1.3 of their spending.
#[test]
fn shift_multiplies_the_spending_weight() {
    let mut s = base();
    let mut e = event("2020-06", "shift");
    e.channel = Some("own".into());
    e.factor = Some(3.0);
    s.events.push(e);
    let reports = run(s);
    let k = idx(&reports, "2020-06");
    for (r, after) in [(&reports[k - 1], false), (&reports[k], true)] {
        let total = r.market.spend;
        let members = r.channels[cj(r, "chat")].spend / if after { 0.1 / 1.4 } else { 0.1 };
        let others = total - members;
        let expected = if after {
            members * 0.6 / 1.4 + others * 0.6 / 1.3
        } else {
            members * 0.2 + others * 0.2 / 0.9
        };
        let got = r.channels[cj(r, "own")].spend;
        assert!(
            (got - expected).abs() / expected < 1e-9,
            "{}: own {got}, expected {expected}",
            r.month
        );
    }
    assert!(
        reports[k].channels[cj(&reports[k], "own")].spend
            > 2.0 * reports[k - 1].channels[cj(&reports[k - 1], "own")].spend
    );
}

/// `fee`: with one rate for every shop, fee revenue is exactly rate × merchant value.
#[test]
fn fee_sets_the_merchant_fee() {
    let mut s = base();
    let mut e = event("2020-06", "fee");
    e.platform = Some("a".into());
    e.rate = Some(0.01);
    s.events.push(e);
    let mut e = event("2021-01", "fee");
    e.platform = Some("a".into());
    e.class = Some(paymarket::scenario::SizeClass::Small);
    e.factor = Some(0.5);
    s.events.push(e);
    let reports = run(s);
    let ratio = |r: &MonthReport| {
        let p = &r.platforms[pj(r, "a")];
        p.fee_revenue / p.merchant_value
    };
    assert!((ratio(&reports[idx(&reports, "2020-05")]) - 0.006).abs() < 1e-12);
    assert!((ratio(&reports[idx(&reports, "2020-06")]) - 0.01).abs() < 1e-12);
    let mixed = ratio(&reports[idx(&reports, "2021-01")]);
    assert!(
        mixed > 0.005 && mixed < 0.01,
        "small shops pay half: {mixed}"
    );
}

/// `deposit`: set at a month, it stops new contracts by shops that cannot post it.
#[test]
fn deposit_stops_new_contracts_from_its_month() {
    let mut s = base();
    s.channels[0].init_accept.insert("b".into(), 0.0);
    let mut e = event("2020-07", "deposit");
    e.platform = Some("b".into());
    e.channel = Some("shops".into());
    e.amount = Some(1e12);
    s.events.push(e);
    let reports = run(s);
    let k = idx(&reports, "2020-07");
    let before = accepting(&reports[k - 1], "shops", "b");
    assert!(before > 0.0, "shops adopt b before the deposit");
    for r in &reports[k..] {
        assert!(
            accepting(r, "shops", "b") <= before + 1e-9,
            "{}: new contracts despite the deposit",
            r.month
        );
    }
}

/// `withdrawal_fee`: a fee on moving a balance out raises the balance term of the primary choice,
/// so on the same seed more users make that wallet their primary.
#[test]
fn withdrawal_fee_raises_the_primary_share() {
    let mut e = event("2020-03", "withdrawal_fee");
    e.platform = Some("b".into());
    e.rate = Some(0.001);
    let (without, with, _) = paired(e);
    let primary = |r: &MonthReport| r.platforms[pj(r, "b")].primary_users;
    assert!(primary(with.last().unwrap()) > primary(without.last().unwrap()));
}

/// `subsidy`: costs exactly rate × value inside its window and nothing outside, and tilts the
/// payment split towards the subsidised wallet.
#[test]
fn subsidy_applies_for_its_window() {
    let mut s = base();
    let mut e = event("2020-06", "subsidy");
    e.platform = Some("b".into());
    e.channel = Some("shops".into());
    e.rate = Some(0.02);
    e.months = Some(3);
    s.events.push(e);
    let reports = run(s);
    for r in &reports {
        let inside = ["2020-06", "2020-07", "2020-08"].contains(&r.month.to_string().as_str());
        let cost = r.platforms[pj(r, "b")].subsidy_cost;
        let expected = if inside {
            0.02 * value(r, "shops", "b")
        } else {
            0.0
        };
        assert!(
            (cost - expected).abs() <= 1e-9 * expected.max(1.0),
            "{}: cost {cost}, expected {expected}",
            r.month
        );
    }
    let share = |r: &MonthReport| {
        value(r, "shops", "b") / (value(r, "shops", "a") + value(r, "shops", "b"))
    };
    let k = idx(&reports, "2020-06");
    assert!(share(&reports[k]) > share(&reports[k - 1]) + 0.01);
}

/// `campaign`: multiplies imitation in its window; the paired run is identical before it.
#[test]
fn campaign_speeds_adoption() {
    let mut e = event("2020-03", "campaign");
    e.platform = Some("b".into());
    e.multiplier = Some(5.0);
    e.months = Some(2);
    let (without, with, k) = paired(e);
    let users = |r: &MonthReport| r.platforms[pj(r, "b")].users;
    let gain_with = users(&with[k + 1]) - users(&with[k - 1]);
    let gain_without = users(&without[k + 1]) - users(&without[k - 1]);
    assert!(
        gain_with > 1.5 * gain_without,
        "with {gain_with}, without {gain_without}"
    );
}

/// `interop`: users of b can pay shops that accept only a; b's value appears and losses fall.
#[test]
fn interop_lets_users_pay_across_wallets() {
    let mut s = base();
    s.channels[1].platforms = None;
    s.platforms[1].deposit.insert("garden".into(), 1e12);
    let mut e = event("2020-06", "interop");
    e.from = Some("b".into());
    e.to = Some("a".into());
    e.channel = Some("garden".into());
    s.events.push(e);
    let reports = run(s);
    let k = idx(&reports, "2020-06");
    for r in &reports[..k] {
        assert_eq!(value(r, "garden", "b"), 0.0);
    }
    assert!(value(&reports[k], "garden", "b") > 0.0);
    let lost = |r: &MonthReport| r.channels[cj(r, "garden")].lost;
    assert!(lost(&reports[k]) < lost(&reports[k - 1]));
}

/// `tie`: a higher imitation weight through a network speeds adoption; identical before.
#[test]
fn tie_raises_imitation() {
    let mut e = event("2020-03", "tie");
    e.platform = Some("b".into());
    e.network = Some("chat".into());
    e.weight = Some(0.5);
    let (without, with, k) = paired(e);
    let users = |r: &MonthReport| r.platforms[pj(r, "b")].users;
    assert!(users(&with[k + 3]) > users(&without[k + 3]));
}

/// `network`: replacing the path with the whole population opens the chat channel to everyone,
/// so chat spending becomes exactly 10% of all spending.
#[test]
fn network_replaces_the_membership_path() {
    let mut s = base();
    let mut e = event("2020-06", "network");
    e.network = Some("chat".into());
    e.path = Some(vec![("2020-06".parse().unwrap(), 1e6)]);
    s.events.push(e);
    let reports = run(s);
    let k = idx(&reports, "2020-06");
    let chat_share = |r: &MonthReport| r.channels[cj(r, "chat")].spend / r.market.spend;
    assert!(
        (chat_share(&reports[k - 1]) - 0.1 * 0.6).abs() < 0.02,
        "60% members before"
    );
    assert!(
        (chat_share(&reports[k]) - 0.1).abs() < 1e-12,
        "everyone a member after"
    );
}

/// Lost sales appear only where cash does not work.
#[test]
fn lost_sales_only_where_cash_fails() {
    let reports = run(base());
    for r in &reports {
        for ch in ["shops", "own"] {
            assert_eq!(
                r.channels[cj(r, ch)].lost,
                0.0,
                "{}: lost in {ch}, where cash works",
                r.month
            );
        }
    }
    assert!(reports[0].channels[cj(&reports[0], "garden")].lost > 0.0);
    assert!(reports[0].channels[cj(&reports[0], "chat")].lost > 0.0);
}

/// `DefendShare`: a platform losing share raises its subsidy from the next month, within its
/// cap; a custom strategy can replace it through the library.
#[test]
fn defend_share_subsidises_when_the_share_falls() {
    use paymarket::platforms::{PlatformStrategy, StrategyView};
    // b starts ahead in shops and loses share as a's brand pulls users over.
    let s = common::share_defender(0.0, 0.01);
    let reports = run(s.clone());
    let rate = |r: &MonthReport| r.platforms[pj(r, "b")].subsidy_cost / value(r, "shops", "b");
    assert_eq!(reports[0].platforms[pj(&reports[0], "b")].subsidy_cost, 0.0);
    let max = reports.iter().map(rate).fold(0.0f64, f64::max);
    assert!(max > 0.0, "the strategy never subsidised");
    assert!(max <= 0.01 + 1e-12, "subsidy {max} above the cap");
    // Every rate is a multiple of the step (or the cap).
    for r in &reports {
        let k = rate(r) / 0.004;
        assert!(
            (k - k.round()).abs() < 1e-9 || (rate(r) - 0.01).abs() < 1e-12,
            "{}: {}",
            r.month,
            rate(r)
        );
    }

    /// Always 2% in every channel.
    struct Flat;
    impl PlatformStrategy for Flat {
        fn decide(&mut self, v: &StrategyView) -> Option<Vec<f64>> {
            Some(vec![0.02; v.subsidy.len()])
        }
    }
    let mut sim = Simulation::new(s)
        .unwrap()
        .with_strategy("b", Box::new(Flat))
        .unwrap();
    sim.step().unwrap();
    let second = sim.step().unwrap().unwrap().clone();
    let b = &second.platforms[pj(&second, "b")];
    assert!(
        (b.subsidy_cost / b.value() - 0.02).abs() < 1e-12,
        "2% of all of b's value"
    );
    assert!(Simulation::new(base())
        .unwrap()
        .with_strategy("zz", Box::new(Flat))
        .is_err());
}
