//! Property tests of the economics on paired runs with common random numbers.
//!
//! One month ahead, from the same state and with the same draws, each policy is tested in a
//! market where it must change the outcome: first the size of the effect against a bound
//! reasoned out by hand for that market, then its sign (a deposit no shop can post and a block
//! of new contracts lower acceptance, a block of use removes the wallet's value, interop rescues
//! lost sales in a walled garden). Over many months feedbacks can reverse a single run, so there
//! they are checked on ensemble means: the paired effect is significantly negative. With everything open, every user holding a wallet and every
//! merchant accepting one, no sale is lost; money is conserved in every channel every month.

mod common;

use common::{accepting, base, event, value};
use paymarket::experiment::{compare, Plan};
use paymarket::{MonthReport, Scenario, Simulation};
use proptest::prelude::*;

fn small() -> Scenario {
    let mut s = base();
    s.agents.users = 4_000;
    s.agents.merchants = 600;
    s
}

/// Steps `s` to month `t` (the state at the end of month `t − 1`), then one month in `s` and in
/// `alt` (forked from that state): the report of month `t − 1` (the state both start from) and
/// the two reports of month `t`.
fn one_month_ahead(s: Scenario, alt: Scenario, t: i32) -> (MonthReport, MonthReport, MonthReport) {
    let fork = s.start.plus(t);
    let mut sim = Simulation::new(s).unwrap();
    let mut prev = None;
    while sim.month() < fork {
        prev = sim.step().unwrap().cloned();
    }
    let mut branch = sim.fork(alt).unwrap();
    let a = sim.step().unwrap().unwrap().clone();
    let b = branch.step().unwrap().unwrap().clone();
    (prev.expect("t >= 1"), a, b)
}

fn lost(r: &MonthReport) -> f64 {
    r.channels.iter().map(|c| c.lost).sum()
}

const PLATFORMS: [&str; 2] = ["a", "b"];

/// Shops in the test scenario's `shops` channel (its `shops` field).
const SHOPS: f64 = 10_000.0;

/// A market where merchants' adoption of a wallet is a coin flip: every shop reviews every
/// month (`ρ_m = 1`), no inertia, and a logit scale so wide that `σ(ΔΠ/τ)` is 1/2 to within
/// 10^-5 for any profit difference the market can produce (they are fractions of the margin).
/// A shop not accepting `j` then adds it with probability 1/2 a month when nothing bars it, so
/// a rule that bars it removes about half of the non-acceptors' additions: a large, known effect.
fn coin_flip_merchants() -> Scenario {
    let mut s = small();
    // Enough merchant agents that the additions of a month are a large sample.
    s.agents.merchants = 3_000;
    s.params.merchant_review = 1.0;
    s.params.merchant_inertia = 0.0;
    s.params.merchant_logit_scale = 1e5;
    // Few shops accept at the start, so there are many candidates.
    s.channels[0].init_accept.insert("a".into(), 0.1);
    s.channels[0].init_accept.insert("b".into(), 0.1);
    s
}

/// The additions a rule that bars every shop from adding `j` must remove, one month ahead in
/// [`coin_flip_merchants`]: without the rule, each of the `SHOPS − accepting` non-acceptors adds
/// `j` with probability 1/2 (mean `N/2`, sd `√N/2` over `N` merchant agents); with it, none
/// does, and acceptance can only fall further through lapses (the same draws, a lower renewal
/// probability). The non-acceptors halve every month, so the tests fork within the first four
/// months, while about 5.6% of the shops' agents or more (150 of the 2,700 agents in `shops`)
/// remain candidates (the test requires 2%): a quarter of the non-acceptors is then at least 4
/// standard deviations below the mean.
fn barred_additions_bound(prev: &MonthReport, j: &str) -> f64 {
    0.25 * (SHOPS - accepting(prev, "shops", j))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// A deposit above every shop's liquidity (a month of sales: no shop in the test market
    /// sells more than the channel's 7.5·10^8 RMB a month) bars every addition of `j`: the
    /// effect is at least [`barred_additions_bound`], and it lowers acceptance.
    #[test]
    fn a_deposit_no_shop_can_post_lowers_acceptance_one_month_ahead(
        t in 1i32..=4, j in 0usize..2, log_amount in 9.0f64..12.0, seed in 1u64..1000
    ) {
        let mut s = coin_flip_merchants();
        s.seed = seed;
        let mut alt = s.clone();
        let mut e = event("2020-01", "deposit");
        e.at = s.start.plus(t);
        e.platform = Some(PLATFORMS[j].into());
        e.channel = Some("shops".into());
        e.amount = Some(10f64.powf(log_amount));
        alt.events.push(e);
        let (prev, a, b) = one_month_ahead(s, alt, t);
        let effect = accepting(&a, "shops", PLATFORMS[j]) - accepting(&b, "shops", PLATFORMS[j]);
        let bound = barred_additions_bound(&prev, PLATFORMS[j]);
        prop_assert!(bound >= 0.25 * 0.02 * SHOPS, "too few candidates: bound {}", bound);
        prop_assert!(effect >= bound, "effect {} below the bound {}", effect, bound);
        // No shop added `j` in the branch: acceptance there is at most last month's.
        prop_assert!(accepting(&b, "shops", PLATFORMS[j]) <= accepting(&prev, "shops", PLATFORMS[j]));
    }

    /// `block` with `scope = "new"`: no new or renewed contracts, existing ones run on. This
    /// month's payments are routed by last month's acceptance, so the month's value is exactly
    /// unchanged; acceptance loses at least [`barred_additions_bound`] and never rises.
    #[test]
    fn a_block_of_new_contracts_lowers_acceptance_one_month_ahead(
        t in 1i32..=4, j in 0usize..2, seed in 1u64..1000
    ) {
        let mut s = coin_flip_merchants();
        s.seed = seed;
        let mut alt = s.clone();
        let mut e = event("2020-01", "block");
        e.at = s.start.plus(t);
        e.platform = Some(PLATFORMS[j].into());
        e.channel = Some("shops".into());
        e.scope = Some("new".into());
        alt.events.push(e);
        let (prev, a, b) = one_month_ahead(s, alt, t);
        prop_assert_eq!(value(&b, "shops", PLATFORMS[j]), value(&a, "shops", PLATFORMS[j]));
        let effect = accepting(&a, "shops", PLATFORMS[j]) - accepting(&b, "shops", PLATFORMS[j]);
        let bound = barred_additions_bound(&prev, PLATFORMS[j]);
        prop_assert!(bound >= 0.25 * 0.02 * SHOPS, "too few candidates: bound {}", bound);
        prop_assert!(effect >= bound, "effect {} below the bound {}", effect, bound);
        prop_assert!(accepting(&b, "shops", PLATFORMS[j]) <= accepting(&prev, "shops", PLATFORMS[j]));
    }

    /// `block` with `scope = "use"`: the wallet is unusable at once, so its value in the channel
    /// is exactly 0 and every shop drops it, while without the block it keeps a value of at least
    /// 1% of the channel's spending. That bound: at least 10% of users hold `j` (initial holders
    /// 30% and 50% of the 60% in the chat network or of everyone) and at least 10% of the
    /// shops' sales potential accepts it; a holder at such a shop pays at least `(1 − loyalty)·ψ_j`
    /// ≥ 0.4 · e^-0.2/(1 + e^-0.2) ≈ 0.18 of the purchase with `j`, and steering raises the
    /// chance of reaching such a shop: 0.1 · 0.1 · 0.18 ≈ 0.0018 of spending at the very least,
    /// and the market holds far more (checked here against 0.001).
    #[test]
    fn a_block_of_use_removes_the_value_one_month_ahead(
        t in 1i32..20, j in 0usize..2, seed in 1u64..1000
    ) {
        let mut s = small();
        s.seed = seed;
        let mut alt = s.clone();
        let mut e = event("2020-01", "block");
        e.at = s.start.plus(t);
        e.platform = Some(PLATFORMS[j].into());
        e.channel = Some("shops".into());
        e.scope = Some("use".into());
        alt.events.push(e);
        let (_prev, a, b) = one_month_ahead(s, alt, t);
        let spend = a.channels[common::cj(&a, "shops")].spend;
        prop_assert!(value(&a, "shops", PLATFORMS[j]) >= 1e-3 * spend);
        prop_assert_eq!(value(&b, "shops", PLATFORMS[j]), 0.0);
        prop_assert_eq!(accepting(&b, "shops", PLATFORMS[j]), 0.0);
        prop_assert!(accepting(&a, "shops", PLATFORMS[j]) > 0.0);
    }

    /// Interop where it can rescue lost sales: a walled garden without cash where both wallets
    /// are usable but every shop accepts only `a` (and `b` is barred from new contracts from the
    /// start). Without interop, a user holding `b` and not `a` loses all its spending there; with
    /// users of `b` able to pay merchants accepting `a` (directional `b → a`, or mutual), none.
    /// The effect is therefore at least the garden spending of `b`-only holders; spending and
    /// holdings are drawn independently at the start, so that is about their share of users times
    /// the garden's spending, and the test takes a quarter of it as its bound. Wallet `a` spreads
    /// only by innovation here (no imitation, coverage or rescue terms), so `b`-only holders stay
    /// about 9% of the population for the whole window. No channel's
    /// losses may rise, and channels interop cannot touch (p2p, own, shops with cash) are
    /// unchanged to the bit.
    #[test]
    fn interop_rescues_lost_sales_one_month_ahead(
        t in 1i32..20, b_to_a in any::<bool>(), mutual in any::<bool>(), seed in 1u64..1000
    ) {
        let mut s = small();
        s.seed = seed;
        s.params.rescue_weight = 0.0;
        s.params.coverage_weight = 0.0;
        s.platforms[0].imitation.clear();
        let garden = common::cj_of(&s, "garden");
        s.channels[garden].platforms = None;
        s.channels[garden].init_accept.clear();
        s.channels[garden].init_accept.insert("a".into(), 1.0);
        let mut bar = event("2020-01", "block");
        bar.platform = Some("b".into());
        bar.channel = Some("garden".into());
        bar.scope = Some("new".into());
        s.events.push(bar);
        let mut alt = s.clone();
        let mut e = event("2020-01", "interop");
        e.at = s.start.plus(t);
        // Either b → a (optionally both ways), or a → b made mutual: b → a is always there.
        let (from, to, mutual) = if b_to_a { ("b", "a", mutual) } else { ("a", "b", true) };
        e.from = Some(from.into());
        e.to = Some(to.into());
        e.mutual = Some(mutual);
        alt.events.push(e);
        let (prev, a, b) = one_month_ahead(s, alt, t);
        let holders_b = prev.platforms[common::pj(&prev, "b")].users;
        let holders_a = prev.platforms[common::pj(&prev, "a")].users;
        let both = prev.market.multihoming_users * prev.market.adopters;
        let b_only = (holders_b - both).max(0.0);
        let population = 1e6;
        let g = common::cj(&a, "garden");
        let bound = 0.25 * b_only / population * a.channels[g].spend;
        let effect = a.channels[g].lost - b.channels[g].lost;
        prop_assert!(b_only > 0.02 * population, "few b-only holders: {} (a: {})", b_only, holders_a);
        prop_assert!(effect >= bound, "effect {} below the bound {}", effect, bound);
        for (cb, ca) in b.channels.iter().zip(&a.channels) {
            if cb.channel == "garden" {
                continue;
            }
            prop_assert_eq!(cb.lost, ca.lost, "{}", ca.channel);
        }
        prop_assert!(lost(&b) < lost(&a));
    }
}

/// Over two years feedbacks can reverse a single run, so the long-run effects are checked on
/// ensemble means of paired runs: each policy's effect at the last month must be significantly
/// non-zero (its 95% interval excludes 0) and of the expected sign (negative), and at least a
/// stated share of the baseline level, so that a scenario where the policy does nothing fails.
#[test]
fn over_many_months_ensemble_effects_are_significant_and_keep_their_sign() {
    let s = small();
    let plan = Plan {
        replicates: 8,
        seed: 21,
        ..Plan::default()
    };
    let last = s.months() - 1;
    let check =
        |base: &Scenario, mut alt: Scenario, table: &str, k: [&str; 2], metric: &str, min: f64| {
            alt.name = format!("{} with the policy", base.name);
            let e = compare(base, &alt, &plan, None, &mut []).unwrap();
            let d = e.get(last, table, k[0], k[1], metric).unwrap();
            let (lo, hi) = d.ci95();
            assert!(
                hi < 0.0 && d.mean() <= -min,
                "{metric} of {k:?}: effect {} [{lo}, {hi}] should be below -{min}",
                d.mean()
            );
        };
    // A deposit of RMB 50,000 in the shops: a shop's liquidity is a month of its sales (7.5·10^8
    // RMB over 10,000 shops, 75,000 on average, lognormal sizes), so a large share of the shops
    // cannot sign `b` any more; over 20 months with reviews at 10% a month most of them review.
    // Half of `b`'s 3,000 initial acceptors' worth of shops is a floor no weaker deposit reaches.
    let mut alt = s.clone();
    let mut e = event("2020-04", "deposit");
    e.platform = Some("b".into());
    e.channel = Some("shops".into());
    e.amount = Some(50_000.0);
    alt.events.push(e);
    check(
        &s,
        alt,
        "channels",
        ["shops", "b"],
        "merchants_accepting",
        300.0,
    );

    // No new or renewed contracts for `b` from 2020-04: acceptance only falls (contracts of 12
    // to 36 months expire), and with it `b`'s value in the shops.
    let mut alt = s.clone();
    let mut e = event("2020-04", "block");
    e.platform = Some("b".into());
    e.channel = Some("shops".into());
    e.scope = Some("new".into());
    alt.events.push(e);
    check(&s, alt, "channels", ["shops", "b"], "value", 1e6);

    // Interop: where it applies to every channel that can lose sales. In the base scenario it
    // does not (the walled garden takes only `a`, and interop never applies between wallets in
    // p2p transfers): there, over two years, interop lowers multihoming (holding `a` adds less
    // coverage once `b` pays at `a`'s shops) and the losses in the garden and the chat rise,
    // a real feedback of the model, documented in the README.
    let mut open = s.clone();
    open.channels.retain(|c| c.id != "chat");
    for ch in &mut open.channels {
        ch.platforms = None;
    }
    let mut alt = open.clone();
    let mut e = event("2020-04", "interop");
    e.from = Some("b".into());
    e.to = Some("a".into());
    e.mutual = Some(true);
    alt.events.push(e);
    check(&open, alt, "market", ["", ""], "lost_value", 1e5);
}

#[test]
fn with_everything_open_and_held_no_sale_is_lost() {
    let mut s = small();
    for p in &mut s.platforms {
        p.init_users = 1.0;
        p.requires = "everyone".into();
    }
    s.params.churn_rate = 0.0;
    s.params.merchant_review = 0.0;
    s.params.contract_min = 36;
    s.params.contract_max = 36;
    for ch in &mut s.channels {
        ch.platforms = None;
        ch.requires = "everyone".into();
        if ch.kind == paymarket::scenario::ChannelKind::Merchant {
            ch.init_accept.insert("a".into(), 1.0);
            ch.init_accept.insert("b".into(), 1.0);
        }
    }
    let mut e = event("2020-01", "interop");
    e.from = Some("a".into());
    e.to = Some("b".into());
    e.mutual = Some(true);
    s.events.push(e);
    s.end = s.start.plus(11);
    for r in common::run(s) {
        for ch in &r.channels {
            assert_eq!(ch.lost, 0.0, "{} {}", r.month, ch.channel);
        }
        assert_eq!(r.market.lost_value, 0.0);
    }
}

#[test]
fn money_is_conserved_in_every_channel_every_month() {
    let s = Scenario::load("data/scenarios/china_2012_2021.toml").unwrap();
    let mut s = s;
    s.agents.users = 20_000;
    s.agents.merchants = 2_000;
    for r in common::run(s) {
        for ch in &r.channels {
            let paid: f64 = ch.value.iter().sum::<f64>() + ch.cash + ch.lost;
            assert!(
                (paid - ch.spend).abs() <= 1e-9 * ch.spend.max(1.0),
                "{} {}: paid {paid}, spent {}",
                r.month,
                ch.channel,
                ch.spend
            );
        }
    }
}

/// A fringe share (`Platform::fringe_share`) is a measurement of flows outside the simulation:
/// the same run with `b` carrying a fringe of 10% has the same users, channels, spending and
/// defaults bit for bit, `a`'s value share is its share without the fringe times 0.9, and `b`'s
/// merchant value gains exactly 10% of the new third-party total, `0.1 / 0.9` of the simulated
/// one; the market row differs only in its concentration, which counts the new shares.
#[test]
fn a_fringe_share_books_outside_flows_and_changes_nothing_simulated() {
    let plain = base();
    let mut with = base();
    with.platforms[1].fringe_share = 0.1;
    let (a, b) = (common::run(plain), common::run(with));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.channels, y.channels, "{}", x.month);
        // The market is the simulated one; only the concentration counts the fringe's share.
        let hhi: f64 = y
            .platforms
            .iter()
            .filter_map(|p| p.value_share)
            .map(|v| 1e4 * v * v)
            .sum();
        assert!((y.market.hhi - hhi).abs() < 1e-9);
        let market = paymarket::record::MarketRow {
            hhi: y.market.hhi,
            ..x.market.clone()
        };
        assert_eq!(market, y.market, "{}", x.month);
        assert_eq!(x.defaults, y.defaults, "{}", x.month);
        let simulated = x.platforms[0].value() + x.platforms[1].value();
        assert!(simulated > 0.0);
        let (xa, ya) = (&x.platforms[0], &y.platforms[0]);
        assert_eq!(
            (xa.users, xa.value(), xa.fee_revenue),
            (ya.users, ya.value(), ya.fee_revenue)
        );
        let share = xa.value_share.unwrap();
        assert!(
            (ya.value_share.unwrap() - 0.9 * share).abs() < 1e-12,
            "{}",
            x.month
        );
        let (xb, yb) = (&x.platforms[1], &y.platforms[1]);
        assert_eq!(
            (xb.users, xb.p2p_value, xb.own_value),
            (yb.users, yb.p2p_value, yb.own_value)
        );
        let gain = yb.merchant_value - xb.merchant_value;
        assert!(
            (gain - simulated / 9.0).abs() <= 1e-9 * simulated,
            "{}",
            x.month
        );
        assert!((yb.value() - xb.value() - gain).abs() <= 1e-9 * simulated);
        let total: f64 = y.platforms.iter().filter_map(|p| p.value_share).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }
}

/// A fringe changes no decision: a `DefendShare` strategy reads the simulated value shares, so
/// with half of third-party value in a fringe (which would halve every fall in the reported
/// shares) it subsidises in the same months by the same amounts.
#[test]
fn a_fringe_share_leaves_a_share_defending_strategy_as_it_is() {
    // b's share falls by 0.010-0.026 a quarter here without the strategy: above the threshold
    // of 0.015, but not once halved.
    let plain = common::share_defender(0.015, 0.02);
    let mut with = plain.clone();
    with.platforms[0].fringe_share = 0.5;
    let (a, b) = (common::run(plain), common::run(with));
    let cost = |r: &MonthReport| r.platforms[1].subsidy_cost;
    assert!(a.iter().any(|r| cost(r) > 0.0), "the strategy never acted");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(cost(x), cost(y), "{}", x.month);
        assert_eq!(x.channels, y.channels, "{}", x.month);
    }
}
