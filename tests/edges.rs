//! Edge cases: each runs with the invariants checked every month, plus what must hold there.

mod common;

use common::{base, cj, event, run, value};

#[test]
fn a_merchant_channel_with_no_shops() {
    let mut s = base();
    s.channels[1].shops = 0.0;
    s.channels[1].init_accept.clear();
    let reports = run(s.clone());
    for r in &reports {
        let ch = &r.channels[cj(r, "garden")];
        // No shop to pay: everything in the garden is lost (cash does not work there).
        assert_eq!(ch.value.iter().sum::<f64>(), 0.0);
        assert!((ch.lost - ch.spend).abs() <= 1e-9 * ch.spend.max(1.0));
        // No shop, so no count of accepting shops: an empty cell, not 0.
        assert_eq!(ch.merchants_accepting, None);
    }
    let dir = common::tmp_dir("edges", "no-shops");
    let mut sim = paymarket::Simulation::new(s).unwrap();
    sim.run(&mut [&mut paymarket::CsvRecorder::create(&dir).unwrap()])
        .unwrap();
    let text = std::fs::read_to_string(dir.join("channels.csv")).unwrap();
    let garden: Vec<&str> = text
        .lines()
        .filter(|l| l.split(',').nth(3) == Some("garden"))
        .collect();
    assert!(!garden.is_empty());
    for line in garden {
        assert_eq!(line.split(',').nth(5), Some(""), "{line}");
    }
    let shops = text
        .lines()
        .find(|l| l.split(',').nth(3) == Some("shops") && l.split(',').nth(4) == Some("a"))
        .unwrap();
    assert_ne!(shops.split(',').nth(5), Some(""), "{shops}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_channel_with_zero_spending_share() {
    let mut s = base();
    s.channels[0].weight = 0.0;
    for r in run(s) {
        let ch = &r.channels[cj(&r, "shops")];
        assert_eq!((ch.spend, ch.cash, ch.lost), (0.0, 0.0, 0.0));
        assert!(ch.value.iter().all(|v| *v == 0.0));
    }
}

#[test]
fn one_platform_only() {
    let mut s = base();
    s.platforms.truncate(1);
    for ch in &mut s.channels {
        ch.init_accept.retain(|k, _| k == "a");
    }
    for r in run(s) {
        assert_eq!(r.platforms.len(), 1);
        if let Some(sh) = r.platforms[0].value_share {
            assert_eq!(sh, 1.0);
        }
        assert!(r.market.hhi == 10_000.0 || r.platforms[0].value_share.is_none());
    }
}

#[test]
fn every_platform_blocked_in_a_channel() {
    let mut s = base();
    for p in ["a", "b"] {
        let mut e = event("2020-03", "block");
        e.platform = Some(p.into());
        e.channel = Some("shops".into());
        e.scope = Some("use".into());
        s.events.push(e);
    }
    for r in run(s) {
        let ch = &r.channels[cj(&r, "shops")];
        if r.month >= "2020-03".parse().unwrap() {
            assert_eq!(ch.value.iter().sum::<f64>(), 0.0, "{}", r.month);
            // Cash works in shops: nothing is lost, everything is cash.
            assert!((ch.cash - ch.spend).abs() <= 1e-9 * ch.spend);
        }
    }
}

#[test]
fn events_in_the_first_and_last_month_and_several_in_one_month() {
    let mut s = base();
    let first = s.start;
    let last = s.end;
    let mut e = event("2020-01", "block");
    e.at = first;
    e.platform = Some("b".into());
    e.channel = Some("shops".into());
    e.scope = Some("use".into());
    s.events.push(e);
    let mut e = event("2020-01", "allow");
    e.at = last;
    e.platform = Some("b".into());
    e.channel = Some("shops".into());
    s.events.push(e);
    // Three in one month, in file order: a subsidy, a fee and a campaign.
    for kind in ["subsidy", "fee", "campaign"] {
        let mut e = event("2020-06", kind);
        e.platform = Some("a".into());
        match kind {
            "subsidy" => {
                e.channel = Some("shops".into());
                e.rate = Some(0.01);
                e.months = Some(3);
            }
            "fee" => e.rate = Some(0.004),
            _ => {
                e.multiplier = Some(2.0);
                e.months = Some(2);
            }
        }
        s.events.push(e);
    }
    let reports = run(s);
    assert_eq!(reports[0].events.len(), 1);
    assert_eq!(value(&reports[0], "shops", "b"), 0.0);
    let june = reports
        .iter()
        .find(|r| r.month.to_string() == "2020-06")
        .unwrap();
    let kinds: Vec<&str> = june.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["subsidy", "fee", "campaign"]);
    let end = reports.last().unwrap();
    assert_eq!(end.events.len(), 1);
    assert_eq!(end.events[0].kind, "allow");
    // Blocked from the first month: no value through b in shops before the last month.
    for r in &reports[..reports.len() - 1] {
        assert_eq!(value(r, "shops", "b"), 0.0, "{}", r.month);
    }
}

#[test]
fn a_membership_path_with_one_point() {
    let mut s = base();
    s.networks[0].path = vec![("2020-06".parse().unwrap(), 300_000.0)];
    let reports = run(s);
    // One point: the network has that many members throughout (no interpolation to do).
    let spent = |r: &paymarket::MonthReport| r.channels[cj(r, "chat")].spend;
    assert!(spent(&reports[0]) > 0.0);
    let ratio = spent(&reports[0]) / spent(&reports[11]);
    assert!((0.5..2.0).contains(&ratio), "{ratio}");
}

#[test]
fn one_user() {
    let mut s = base();
    s.agents.users = 1;
    s.agents.merchants = 10;
    for r in run(s) {
        assert!(r.market.adopters <= 1e6);
        for p in &r.platforms {
            // One agent stands for the whole population: it is all or nothing.
            assert!(p.users == 0.0 || p.users == 1e6, "{}", p.users);
        }
        // Nobody to send transfers to: the chat's p2p goes to the outside option (lost here).
        let ch = &r.channels[cj(&r, "chat")];
        assert_eq!(ch.value.iter().sum::<f64>(), 0.0);
    }
}

/// Brand weights far beyond `exp`'s range (validation accepts up to ±1e15) run, and the logit
/// decides as its differences say: with wallet `a` 1,000 ahead (or behind) and every user
/// re-choosing its primary every month, every user holding both wallets makes the stronger one
/// primary (the other terms of the primary choice add at most a few units), so the stronger
/// wallet's primary users equal its holders.
#[test]
fn brand_weights_beyond_the_range_of_exp() {
    for (brand, strong, weak) in [(1000.0, "a", "b"), (-1000.0, "b", "a"), (1e15, "a", "b")] {
        let mut s = base();
        s.platforms[0].brand = brand;
        s.params.primary_review = 1.0;
        s.validate().expect("within the magnitude limit");
        for r in run(s) {
            let st = &r.platforms[common::pj(&r, strong)];
            let wk = &r.platforms[common::pj(&r, weak)];
            assert_eq!(st.primary_users, st.users, "{brand} {}", r.month);
            // Holders of both wallets: multihoming share × holders (two wallets only).
            let both = r.market.multihoming_users * r.market.adopters;
            let tol = 1e-6 * r.market.adopters;
            assert!(
                (wk.primary_users - (wk.users - both)).abs() <= tol,
                "{brand} {}: {} vs {} − {}",
                r.month,
                wk.primary_users,
                wk.users,
                both
            );
            for p in &r.platforms {
                assert!(p.value().is_finite());
            }
        }
    }
}

/// A full subsidy with `subsidy_split = 800` puts 800 into one wallet's logit in the shops:
/// it runs, and users holding both wallets pay with the subsidised one all that their primary
/// does not take (so the unsubsidised wallet's share in the shops falls to its loyal part).
#[test]
fn a_subsidy_logit_beyond_the_range_of_exp() {
    let mut s = base();
    s.params.subsidy_split = 800.0;
    let mut e = event("2020-01", "subsidy");
    e.platform = Some("b".into());
    e.channel = Some("shops".into());
    e.rate = Some(1.0);
    e.months = Some(3);
    s.events.push(e);
    s.validate().expect("valid");
    let reports = run(s);
    for r in &reports[..3] {
        let ch = &r.channels[cj(r, "shops")];
        assert!(ch.value.iter().all(|v| v.is_finite()));
        assert!(value(r, "shops", "b") > 0.0);
    }
}
