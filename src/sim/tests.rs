//! Whole runs of the simulation compared under its engine's internal switches.

use super::{MonthReport, Scenario, Simulation, Users};

/// Every month of `s` stepped on this thread (the tables and the users' context are built
/// by the caller of `step`, so a thread-local test switch reaches them; the results do not
/// depend on the threads the passes use), and the users at the end.
fn whole_run(s: Scenario) -> (Vec<MonthReport>, Users) {
    let mut sim = Simulation::new(s).unwrap();
    let mut months = Vec::new();
    while let Some(r) = sim.step().unwrap() {
        months.push(r.clone());
    }
    (months, sim.users().clone())
}

/// The user pass keeps each worker thread's joint-row accumulator and contact blocks from
/// chunk to chunk and from one simulation to the next (`users::Scratch`): on a pool of one
/// thread, a run after runs of other scenarios (other joint rows, one context, contacts'
/// memberships in the state words or not needed) gives the same months and users as the
/// first. (Checked to fail when a chunk leaves its joint rows in the accumulator.)
#[test]
fn kept_buffers_carry_nothing_from_one_run_to_the_next() {
    let small = |path: &str| {
        let mut s = Scenario::load(path).unwrap();
        s.agents.users = 6000;
        s.agents.merchants = 600;
        s
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        let contexts = small("data/scenarios/contexts.toml");
        let months = (contexts.start.months_until(contexts.end) + 1) as usize;
        let first = whole_run(contexts);
        whole_run(small("data/scenarios/china_2012_2021_calibrated.toml"));
        whole_run(small("data/scenarios/duopoly.toml"));
        whole_run(small("tests/fixtures/china_v1/china_2012_2021.toml"));
        let again = whole_run(small("data/scenarios/contexts.toml"));
        assert_eq!(first.0.len(), months);
        assert_eq!(first.0, again.0);
        assert_eq!(first.1.words, again.1.words);
        assert_eq!(first.1.dormancy, again.1.dormancy);
    });
}

/// Users holding no wallet, with nothing to adopt and no p2p channel open to them, draw no
/// contacts (`users::UserCtx::quiet`); whole runs with and without that give the same months
/// and users, to the bit, in the calibrated historical scenario (three contexts, the table of
/// long-range words too) and the one-context v1 one. Its premise is checked as well: at the
/// end of 2014, people outside the mobile internet (557 M of the 1.2 bn, so 53.6% outside)
/// hold no wallet, and they are the quiet ones. (Checked to fail when a membership counts as
/// quiet with nothing to adopt or with no p2p channel, instead of both.)
#[test]
fn quiet_users_draw_no_contacts_and_change_no_month() {
    let run = |path: &str, table: bool, no_quiet: bool| {
        crate::users::NO_QUIET.set(no_quiet);
        let mut s = Scenario::load(path).unwrap();
        s.agents.users = 4000;
        s.agents.merchants = 400;
        if table {
            s.agents.long_range = crate::scenario::LongRange::Table;
        }
        // The first three years (events run on to 2021, so the end stays).
        let mut sim = Simulation::new(s).unwrap();
        let months: Vec<MonthReport> = (0..36)
            .map(|_| sim.step().unwrap().unwrap().clone())
            .collect();
        crate::users::NO_QUIET.set(false);
        (months, sim.users().clone())
    };
    for (path, table) in [
        ("data/scenarios/china_2012_2021_calibrated.toml", false),
        ("data/scenarios/china_2012_2021_calibrated.toml", true),
        ("tests/fixtures/china_v1/china_2012_2021.toml", false),
    ] {
        let (quiet, all) = (run(path, table, false), run(path, table, true));
        assert_eq!(quiet.0.len(), 36, "{path}");
        assert_eq!(quiet.0, all.0, "{path}, table {table}");
        assert_eq!(quiet.1.words, all.1.words, "{path}, table {table}");
        assert_eq!(quiet.1.dormancy, all.1.dormancy, "{path}, table {table}");
    }
    // Who was quiet: no wallet and not in the mobile internet (network 1 of the v2 scenario,
    // bit 1 of the membership mask; bit 0 is everyone).
    let (_, users) = run(
        "data/scenarios/china_2012_2021_calibrated.toml",
        false,
        false,
    );
    let words = &users.words[users.cur];
    let outside = words
        .iter()
        .filter(|w| crate::world::state::networks(**w as u16) & 0b10 == 0)
        .count();
    let holding = words
        .iter()
        .filter(|w| {
            let st = **w as u16;
            crate::world::state::networks(st) & 0b10 == 0 && crate::world::state::wallets(st) != 0
        })
        .count();
    let share = outside as f64 / words.len() as f64;
    assert!((share - 0.536).abs() < 0.03, "{share}");
    assert_eq!(holding, 0);
}

/// A whole run with joint rows and the same run with the per-context rows give the same
/// months: the joint row's sums are made in the same order, and the spending decomposed
/// afterwards adds the same amounts to the same rows.
#[test]
fn joint_rows_change_no_month() {
    let run = |no_joint: bool| {
        crate::users::NO_JOINT.set(no_joint);
        let mut s = Scenario::load("data/scenarios/contexts.toml").unwrap();
        s.agents.users = 3000;
        s.agents.merchants = 300;
        s.end = "2014-12".parse().unwrap();
        let out = whole_run(s);
        crate::users::NO_JOINT.set(false);
        out
    };
    let (joint, per_context) = (run(false), run(true));
    assert_eq!(joint.0.len(), 36);
    assert_eq!(joint.0, per_context.0);
    assert_eq!(joint.1.words, per_context.1.words);
    assert_eq!(joint.1.words[0].len(), 3000);
}

/// With several contexts the returns of a user with a reviewing context that reads them
/// are summed in the transfers' pass; whole runs with that and with the returns' pass of
/// their own give the same months and the same users, to the bit: in three contexts, in
/// four (the storefront in a context of its own, so that context 3's review word is drawn),
/// with five platforms (the split rows' eight lanes), with `own_balance` contexts, which
/// keep the pass of their own, and in the calibrated historical scenario. (Checked to fail
/// when the transfers' pass routes the returns by the user's default instead of the
/// contact's.)
#[test]
fn returns_summed_in_the_transfers_pass_change_no_month() {
    let scenario = |path: &str, four: bool, five: bool| {
        let mut s = Scenario::load(path).unwrap();
        if four {
            s.contexts.push(crate::scenario::Context {
                id: "store".into(),
                ..Default::default()
            });
            let store = s
                .channels
                .iter_mut()
                .find(|c| c.id == "storefront")
                .unwrap();
            store.context = Some("store".into());
        }
        let mut wallets = vec!["shoppay".to_string(), "chatpay".to_string()];
        if five {
            for id in ["p2", "p3", "p4"] {
                let mut copy = s.platforms[0].clone();
                copy.id = id.into();
                copy.init_users = 0.2;
                s.platforms.push(copy);
                wallets.push(id.into());
            }
        }
        // Every wallet carries transfers, so that a transfer back is split by the
        // contact's default (with one wallet it goes through that wallet whatever the
        // default, and a wrong default could not show).
        let transfers = s.channels.iter_mut().find(|c| c.id == "transfers").unwrap();
        transfers.platforms = Some(wallets);
        s.end = "2015-12".parse().unwrap();
        s
    };
    let run = |s: Scenario, separate: bool| {
        crate::users::SEPARATE_RETURNS.set(separate);
        let out = whole_run(s);
        crate::users::SEPARATE_RETURNS.set(false);
        out
    };
    let cases = [
        scenario("data/scenarios/contexts.toml", false, false),
        scenario("data/scenarios/contexts.toml", true, false),
        scenario("data/scenarios/contexts.toml", false, true),
        scenario("data/scenarios/contexts_own_balance.toml", false, false),
        Scenario::load("data/scenarios/china_2012_2021_calibrated.toml").unwrap(),
    ];
    for (n, mut s) in cases.into_iter().enumerate() {
        s.agents.users = 3000;
        s.agents.merchants = 300;
        assert!(s.contexts.len() >= 3, "case {n}");
        let months = (s.start.months_until(s.end) + 1) as usize;
        let (fused, separate) = (run(s.clone(), false), run(s, true));
        assert_eq!(fused.0.len(), months, "case {n}");
        assert_eq!(fused.0, separate.0, "case {n}");
        assert_eq!(fused.1.words, separate.1.words, "case {n}");
    }
}
