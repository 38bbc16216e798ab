//! Sourced sizes over time: a channel's weight path and a network's logistic membership curve,
//! checked against hand-computed values, validated with field paths, addressed by sweep paths
//! and carried through checkpoints.

use paymarket::policy::Policy;
use paymarket::scenario::{path, Logistic};
use paymarket::{MonthReport, Scenario, Simulation};

mod common;

/// The base scenario with the own-account channel sized by a path (2020-01: 1, 2021-01: 3,
/// linear in between) and a network `ready` inside `chat` on a logistic curve.
fn with_paths() -> Scenario {
    let mut s = common::base();
    let own = s.channels.iter_mut().find(|c| c.id == "own").unwrap();
    own.weight_path = Some(vec![
        ("2020-01".parse().unwrap(), 1.0),
        ("2021-01".parse().unwrap(), 3.0),
    ]);
    let mut ready = s.networks[0].clone();
    ready.id = "ready".into();
    ready.within = Some("chat".into());
    ready.path = Vec::new();
    ready.logistic = Some(Logistic {
        mid: 2020.5,
        width: 0.25,
    });
    s.networks.push(ready);
    s
}

#[test]
fn logistic_share_is_one_half_at_its_midpoint() {
    let c = Logistic {
        mid: 2020.5,
        width: 0.25,
    };
    // 2020-07 is 2020.5 exactly; 2020-10 is a width later: 1 / (1 + e^-1).
    assert_eq!(c.share("2020-07".parse().unwrap()), 0.5);
    let later = c.share("2020-10".parse().unwrap());
    assert!((later - 0.731_058_578_630_004_9).abs() < 1e-15, "{later}");
    let earlier = c.share("2020-04".parse().unwrap());
    assert!(
        (earlier - 0.268_941_421_369_995_1).abs() < 1e-15,
        "{earlier}"
    );
}

#[test]
fn logistic_membership_is_a_share_of_the_parent() {
    let s = with_paths();
    let policy = Policy::new(&s);
    let shares = policy.membership(&s, "2020-07".parse().unwrap());
    // Index 1 is chat (600,000 of 10^6 people), index 2 is ready, inside chat.
    assert_eq!(shares[1], (0, 0.6));
    assert_eq!(shares[2], (1, 0.5));
}

/// Each month's spending in `own` over spending in `shops`: both are open to every user, so
/// the ratio is their weights' ratio, `0.2 · path(t) / 0.5`.
#[test]
fn a_weight_path_sizes_its_channel_month_by_month() {
    let mut s = with_paths();
    s.end = "2021-03".parse().unwrap();
    let reports = common::run(s);
    for r in &reports {
        let t = "2020-01"
            .parse::<paymarket::Month>()
            .unwrap()
            .months_until(r.month) as f64;
        let path = 1.0 + 2.0 * (t / 12.0).min(1.0);
        let want = 0.2 * path / 0.5;
        let got = r.channels[common::cj(r, "own")].spend / r.channels[common::cj(r, "shops")].spend;
        assert!(
            (got / want - 1.0).abs() < 1e-9,
            "{}: {got} against {want}",
            r.month
        );
    }
}

#[test]
fn paths_survive_a_checkpoint() {
    let mut s = with_paths();
    s.end = "2020-12".parse().unwrap();
    // Wallet b needs the logistic network, so the curve reaches adoption.
    s.platforms[1].requires = "ready".into();
    let mut sim = Simulation::new(s.clone()).unwrap();
    let mut whole: Vec<MonthReport> = Vec::new();
    while let Some(r) = sim.step().unwrap() {
        whole.push(r.clone());
    }
    let mut sim = Simulation::new(s).unwrap();
    for _ in 0..5 {
        sim.step().unwrap();
    }
    let file = common::tmp_dir("paths", "ckpt").join("p.ckpt");
    sim.save(&file).unwrap();
    let mut resumed = Simulation::load(&file).unwrap();
    for want in &whole[5..] {
        let got = resumed.step().unwrap().unwrap();
        assert!(got == want, "resumed {} differs", want.month);
    }
}

#[test]
fn curves_and_weight_paths_are_validated_with_field_paths() {
    let problems = |s: Scenario| -> String {
        match s.validate() {
            Ok(()) => String::new(),
            Err(e) => e.to_string(),
        }
    };
    let mut both = with_paths();
    both.networks[1].path = vec![("2020-01".parse().unwrap(), 1.0)];
    let msg = problems(both);
    assert!(
        msg.contains("network.ready.logistic") && msg.contains("not both"),
        "{msg}"
    );

    let mut flat = with_paths();
    flat.networks[1].logistic.as_mut().unwrap().width = 0.0;
    let msg = problems(flat);
    assert!(msg.contains("network.ready.logistic.width"), "{msg}");

    let mut neither = with_paths();
    neither.networks[1].logistic = None;
    let msg = problems(neither);
    assert!(msg.contains("network.ready.path"), "{msg}");

    let mut unsorted = with_paths();
    let own = unsorted
        .channels
        .iter_mut()
        .find(|c| c.id == "own")
        .unwrap();
    own.weight_path.as_mut().unwrap().reverse();
    let msg = problems(unsorted);
    assert!(
        msg.contains("channel.own.weight_path[1]") && msg.contains("sorted"),
        "{msg}"
    );

    let mut negative = with_paths();
    let own = negative
        .channels
        .iter_mut()
        .find(|c| c.id == "own")
        .unwrap();
    own.weight_path.as_mut().unwrap()[0].1 = -1.0;
    let msg = problems(negative);
    assert!(msg.contains("channel.own.weight_path[0]"), "{msg}");
}

#[test]
fn a_curve_is_addressed_by_sweep_paths_and_read_from_toml() {
    let s = with_paths();
    assert_eq!(
        path::get_path(&s, "network.ready.logistic.mid").unwrap(),
        2020.5
    );
    let moved = path::set_path(&s, "network.ready.logistic.width", 0.5).unwrap();
    assert_eq!(moved.networks[1].logistic.unwrap().width, 0.5);
    let text = r#"
[[network]]
id = "ready"
logistic = { mid = 2015.5, width = 0.8 }
"#;
    let toml = common::BASE.replacen("[[platform]]", &format!("{text}\n[[platform]]"), 1);
    let parsed = Scenario::from_toml_str(&toml, "inline").unwrap();
    assert_eq!(
        parsed.networks[1].logistic,
        Some(Logistic {
            mid: 2015.5,
            width: 0.8
        })
    );
}

/// A platform's fringe share is read by path at its default (a file leaves it out) and set by
/// path like any other field.
#[test]
fn a_fringe_share_is_addressed_by_path_at_its_default_too() {
    let s = common::base();
    assert_eq!(path::get_path(&s, "platform.b.fringe_share").unwrap(), 0.0);
    let set = path::set_path(&s, "platform.b.fringe_share", 0.1).unwrap();
    assert_eq!(set.platforms[1].fringe_share, 0.1);
    assert_eq!(
        path::get_path(&set, "platform.b.fringe_share").unwrap(),
        0.1
    );
    assert_eq!(
        path::set_path(&set, "platform.b.fringe_share", 0.0).unwrap(),
        s
    );
}
