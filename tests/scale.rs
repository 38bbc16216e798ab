//! Population scale: oversized runs are refused before allocating, the agent panel samples a
//! fixed fraction, and scenarios with more networks than the state word holds stay
//! reproducible across thread counts.

use paymarket::{AgentPanel, Collect, Error, Scenario, Simulation};

mod common;
use common::base;

#[test]
fn oversized_runs_are_refused_before_allocating() {
    let mut s = base();
    s.agents.users = 4_000_000_000;
    s.agents.merchants = 4_000_000_000;
    match Simulation::new(s) {
        Err(Error::OutOfMemory {
            needed, available, ..
        }) => {
            // 4e9 users × 12 bytes + 4e9 merchants × (7 + 2·2) bytes, plus 8 MiB.
            assert_eq!(needed, 4_000_000_000 * 12 + 4_000_000_000 * 11 + (8 << 20));
            assert!(available < needed);
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a 92 GB run was accepted"),
    }
    let mut s = base();
    s.agents.users = 4_000_000_000;
    let msg = Simulation::new(s).err().unwrap().to_string();
    assert!(
        msg.contains("GiB") && msg.contains("lower --users"),
        "{msg}"
    );
}

#[test]
fn the_panel_samples_a_fixed_fraction_every_month() {
    let mut s = base();
    s.agents.users = 20_000;
    let months = s.months();
    let dir = std::env::temp_dir().join(format!("paymarket-panel-{}", std::process::id()));
    let mut panel = AgentPanel::create(&dir, 0.01).unwrap();
    let mut sim = Simulation::new(s).unwrap();
    sim.run(&mut [&mut panel]).unwrap();
    drop(panel);
    let mut rd = csv::Reader::from_path(dir.join("panel_users.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len() % months, 0, "the same users every month");
    let per_month = rows.len() / months;
    // Binomial(20000, 0.01): mean 200, sd 14.
    assert!(
        (140..=260).contains(&per_month),
        "{per_month} users sampled"
    );
    // The last month's rows match the agents' final state.
    let ids = ["a", "b"];
    for r in &rows[rows.len() - per_month..] {
        let i: usize = r[3].parse().unwrap();
        let wallets: Vec<&str> = if r[5].is_empty() {
            vec![]
        } else {
            r[5].split('|').collect()
        };
        let expected: Vec<&str> = (0..2)
            .filter(|j| sim.users().wallets(i) & (1 << j) != 0)
            .map(|j| ids[j])
            .collect();
        assert_eq!(wallets, expected, "user {i}");
        assert_eq!(
            r[6].to_string(),
            sim.users()
                .primary(i)
                .map(|j| ids[j].to_string())
                .unwrap_or_default()
        );
    }
    let merchants = csv::Reader::from_path(dir.join("panel_merchants.csv"))
        .unwrap()
        .records()
        .count();
    assert_eq!(merchants % months, 0);
    assert!(merchants > 0);
    let _ = std::fs::remove_dir_all(dir);
    assert!(AgentPanel::create(std::env::temp_dir(), 1.5).is_err());
}

/// Five networks: one more than the state word holds, so memberships are hashed per contact.
#[test]
fn many_networks_are_reproducible_across_thread_counts() {
    let mut s: Scenario = base();
    s.agents.users = 40_000;
    for k in 0..4 {
        let mut n = s.networks[0].clone();
        n.id = format!("net{k}");
        n.path = vec![("2020-01".parse().unwrap(), 2e5 * (k + 1) as f64)];
        s.networks.push(n);
    }
    s.platforms[1].imitation.insert("net3".into(), 0.2);
    s.channels[2].requires = "net3".into();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut out = Collect::default();
            Simulation::new(s.clone())
                .unwrap()
                .run(&mut [&mut out])
                .unwrap();
            out.reports
        })
    };
    let one = run(1);
    let two = run(2);
    assert_eq!(one, two);
    // The fifth network matters: chat transfers only among its members (80% of people).
    let r = &one[0];
    let chat = r.channels[2].spend / r.market.spend;
    assert!(chat > 0.05 && chat < 0.1, "{chat}");
}
