//! Experiments: replicate seeds, reproducible ensembles, paired counterfactuals, sweeps,
//! checkpoints and forks.

mod common;

use common::{base, event, pj};
use paymarket::experiment::{compare, ensemble, Plan, SummaryWriter, SUMMARY_FILES};
use paymarket::record::{run_files, Collect, FileRecorder, Format, CSV_FILES};
use paymarket::sweep::{set_path, sweep, Design};
use paymarket::{CsvRecorder, Scenario, Simulation};
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    common::tmp_dir("exp", name)
}

fn read_all(dir: &Path, names: &[&str]) -> Vec<Vec<u8>> {
    names
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect()
}

fn small() -> Scenario {
    let mut s = base();
    s.agents.users = 5_000;
    s.agents.merchants = 500;
    s
}

/// An ensemble's per-run and summary files in `format` on `threads` threads: their bytes, in
/// the order of the run tables, then the summaries.
fn ensemble_files(threads: usize, dir: &Path, format: Format) -> Vec<Vec<u8>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let plan = Plan {
            replicates: 5,
            seed: 42,
            ..Plan::default()
        };
        let mut runs = FileRecorder::create_as(dir, format).unwrap();
        let summary = ensemble(&small(), &plan, &mut [&mut runs]).unwrap();
        let mut w = SummaryWriter::create(dir, &[], format).unwrap();
        w.write(&summary, &[]).unwrap();
        w.finish().unwrap();
    });
    let mut names = run_files(format);
    names.extend(SUMMARY_FILES.map(|t| format.file(t)));
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    read_all(dir, &names)
}

/// The same files, CSV and Parquet, on 1 and 2 threads.
#[test]
fn ensembles_reproduce_byte_for_byte_on_1_and_2_threads() {
    let mut csv = Vec::new();
    for format in [Format::Csv, Format::Parquet] {
        let name = format.name();
        let (d1, d2) = (tmp(&format!("ens1-{name}")), tmp(&format!("ens2-{name}")));
        let one = ensemble_files(1, &d1, format);
        let two = ensemble_files(2, &d2, format);
        assert_eq!(one.len(), 9, "five run tables and four summaries");
        for (k, (a, b)) in one.iter().zip(&two).enumerate() {
            // events (k = 3) has no rows: the scenario has no events.
            assert!(a.len() > 100 || k == 3, "{name} file {k} is empty");
            assert!(a == b, "{name} file {k} differs between 1 and 2 threads");
        }
        if format == Format::Csv {
            csv = one;
        }
        let _ = std::fs::remove_dir_all(d1);
        let _ = std::fs::remove_dir_all(d2);
    }
    let one = csv;
    // The per-run rows carry runs 0..5, and replicates differ.
    let text = String::from_utf8(one[0].clone()).unwrap();
    let last_month: Vec<&str> = text.lines().filter(|l| l.contains(",2021-12,a,")).collect();
    assert_eq!(last_month.len(), 5);
    for (r, line) in last_month.iter().enumerate() {
        assert!(line.starts_with(&format!("{r},")), "{line}");
    }
    let users: Vec<&str> = last_month
        .iter()
        .map(|l| l.split(',').nth(4).unwrap())
        .collect();
    assert!(
        users.windows(2).all(|w| w[0] != w[1]),
        "replicates repeat: {users:?}"
    );
}

#[test]
fn summary_matches_the_runs_it_summarises() {
    let plan = Plan {
        replicates: 4,
        seed: 9,
        ..Plan::default()
    };
    let mut runs = Collect::default();
    let s = small();
    let summary = ensemble(&s, &plan, &mut [&mut runs]).unwrap();
    let months = s.months();
    assert_eq!(runs.reports.len(), 4 * months);
    let t = months - 1;
    let xs: Vec<f64> = (0..4)
        .map(|r| {
            let rep = &runs.reports[r * months + t];
            assert_eq!(rep.run, r as u64);
            rep.platforms[pj(rep, "b")].users
        })
        .collect();
    let mean = xs.iter().sum::<f64>() / 4.0;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0;
    let m = summary.get(t, "platforms", "b", "", "users").unwrap();
    assert!(summary.get(t, "platforms", "nosuch", "", "users").is_none());
    assert_eq!(m.n(), 4);
    assert!((m.mean() - mean).abs() <= 1e-9 * mean);
    assert!((m.var() - var).abs() <= 1e-9 * var.max(1.0));
    // t(0.975, 3) = 3.182
    let (lo, hi) = m.ci95();
    assert!(((hi - lo) / 2.0 - 3.182 * (var / 4.0).sqrt()).abs() < 1e-3 * (hi - lo));
}

#[test]
fn paired_intervals_are_narrower_than_unpaired_for_a_real_policy_change() {
    let baseline = small();
    let mut alternative = small();
    alternative.name = "subsidy".into();
    let mut e = event("2020-07", "subsidy");
    e.platform = Some("b".into());
    e.channel = Some("shops".into());
    e.rate = Some(0.02);
    e.months = Some(12);
    alternative.events.push(e);
    let plan = Plan {
        replicates: 8,
        seed: 3,
        ..Plan::default()
    };
    let effects = compare(&baseline, &alternative, &plan, None, &mut []).unwrap();
    let b = &effects.baseline;
    let t = b.months().len() - 1;
    let c = b
        .cells()
        .iter()
        .position(|c| c.table == "platforms" && c.key1 == "b" && c.metric == "users")
        .unwrap();
    let d = effects.at(t, c);
    let (lo, hi) = d.ci95();
    let (ulo, uhi) = effects.unpaired_ci95(t, c);
    assert!(hi - lo > 0.0 && uhi - ulo > 0.0, "degenerate intervals");
    assert!(
        hi - lo < uhi - ulo,
        "paired width {} not below unpaired {}",
        hi - lo,
        uhi - ulo
    );
    // The subsidy helps b: the effect on its holders is positive and significant.
    assert!(
        d.mean() > 0.0 && lo > 0.0,
        "effect {} [{lo}, {hi}]",
        d.mean()
    );
    // Before the subsidy starts the two worlds agree exactly.
    let before = b
        .months()
        .iter()
        .position(|m| m.to_string() == "2020-06")
        .unwrap();
    assert_eq!(effects.at(before, c).mean(), 0.0);
    assert_eq!(effects.at(before, c).sd(), 0.0);
}

#[test]
fn a_resumed_run_writes_the_same_files_as_a_straight_one() {
    let mut s = small();
    // Events on both sides of the checkpoint: a windowed subsidy that spans it and a block after.
    let mut e = event("2020-06", "subsidy");
    e.platform = Some("b".into());
    e.channel = Some("shops".into());
    e.rate = Some(0.01);
    e.months = Some(9);
    s.events.push(e);
    let mut e = event("2021-03", "block");
    e.platform = Some("a".into());
    e.channel = Some("shops".into());
    e.scope = Some("new".into());
    s.events.push(e);
    let (straight, split) = (tmp("straight"), tmp("split"));
    let mut sim = Simulation::new(s.clone()).unwrap();
    sim.run(&mut [&mut CsvRecorder::create(&straight).unwrap()])
        .unwrap();

    let ckpt = split.join("state.ckpt");
    {
        let mut first = Simulation::new(s).unwrap();
        let mut csv = CsvRecorder::create(&split).unwrap();
        for _ in 0..9 {
            let r = first.step().unwrap().unwrap().clone();
            paymarket::Recorder::record(&mut csv, &r).unwrap();
        }
        paymarket::Recorder::finish(&mut csv).unwrap();
        first.save(&ckpt).unwrap();
    }
    let mut resumed = Simulation::load(&ckpt).unwrap();
    assert_eq!(resumed.month().to_string(), "2020-10");
    resumed
        .run(&mut [&mut CsvRecorder::resume(&split, resumed.month()).unwrap()])
        .unwrap();
    let a = read_all(&straight, &CSV_FILES);
    let b = read_all(&split, &CSV_FILES);
    for (k, name) in CSV_FILES.iter().enumerate() {
        assert!(a[k].len() > 100, "{name} is empty");
        assert!(a[k] == b[k], "{name} differs after resuming");
    }
    let _ = std::fs::remove_dir_all(straight);
    let _ = std::fs::remove_dir_all(split);
}

#[test]
fn damaged_checkpoints_are_refused_with_a_reason() {
    let dir = tmp("damaged");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("x.ckpt");
    std::fs::write(&path, b"not a checkpoint at all").unwrap();
    let msg = Simulation::load(&path).err().unwrap().to_string();
    assert!(
        msg.contains("not a paymarket checkpoint") && msg.contains("x.ckpt"),
        "{msg}"
    );
    let sim = Simulation::new(small()).unwrap();
    sim.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let msg = Simulation::load(&path).err().unwrap().to_string();
    assert!(msg.contains("truncated"), "{msg}");
    let mut other = bytes.clone();
    other[16] = 9;
    std::fs::write(&path, &other).unwrap();
    let msg = Simulation::load(&path).err().unwrap().to_string();
    assert!(msg.contains("format version 9"), "{msg}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_fork_equals_a_straight_run_of_its_branch() {
    let s = small();
    let mut branch = s.clone();
    branch.name = "branch".into();
    let mut e = event("2021-01", "block");
    e.platform = Some("b".into());
    e.channel = Some("shops".into());
    e.scope = Some("use".into());
    branch.events.push(e);

    let mut base = Simulation::new(s.clone()).unwrap();
    let mut past = Vec::new();
    while base.month().to_string() != "2021-01" {
        past.push(base.step().unwrap().unwrap().clone());
    }
    let mut forked = base.fork(branch.clone()).unwrap();
    let mut after = Collect::default();
    forked.run(&mut [&mut after]).unwrap();
    let mut straight = Collect::default();
    Simulation::new(branch)
        .unwrap()
        .run(&mut [&mut straight])
        .unwrap();
    assert_eq!(straight.reports.len(), past.len() + after.reports.len());
    for (a, b) in past.iter().zip(&straight.reports) {
        let mut a = a.clone();
        a.scenario = "branch".into();
        assert_eq!(&a, b);
    }
    assert_eq!(after.reports[..], straight.reports[past.len()..]);
    // The block bites: b's use in shops stops in the branch.
    let last = after.reports.last().unwrap();
    assert_eq!(common::value(last, "shops", "b"), 0.0);

    // A branch that rewrites the past is refused, naming what differs.
    let mut wrong = s.clone();
    wrong.params.coverage_weight *= 2.0;
    let msg = base.fork(wrong).err().unwrap().to_string();
    assert!(msg.contains("params") && msg.contains("2021-01"), "{msg}");
}

#[test]
fn forked_comparisons_equal_unforked_ones() {
    let baseline = small();
    let mut alternative = small();
    alternative.name = "no b in shops".into();
    let mut e = event("2021-01", "block");
    e.platform = Some("b".into());
    e.channel = Some("shops".into());
    e.scope = Some("use".into());
    alternative.events.push(e);
    let plan = Plan {
        replicates: 3,
        seed: 5,
        ..Plan::default()
    };
    let (mut r1, mut r2) = (Collect::default(), Collect::default());
    let straight = compare(&baseline, &alternative, &plan, None, &mut [&mut r1]).unwrap();
    let fork = "2021-01".parse().unwrap();
    let forked = compare(&baseline, &alternative, &plan, Some(fork), &mut [&mut r2]).unwrap();
    assert_eq!(r1.reports, r2.reports);
    let t = straight.baseline.months().len() - 1;
    for c in 0..straight.baseline.cells().len() {
        assert_eq!(straight.at(t, c), forked.at(t, c));
    }
}

#[test]
fn a_sweep_setting_equals_an_ensemble_of_that_setting() {
    let s = small();
    let design = Design::grid(vec![
        ("params.coverage_weight".into(), vec![0.0, 0.2]),
        ("platform.b.innovation".into(), vec![0.002, 0.01]),
    ]);
    let plan = Plan {
        replicates: 2,
        seed: 1,
        ..Plan::default()
    };
    let mut got = Vec::new();
    sweep(&s, &design, &plan, |k, point, summary| {
        got.push((k, point.to_vec(), summary));
        Ok(())
    })
    .unwrap();
    assert_eq!(got.len(), 4);
    assert_eq!(got[3].1, vec![0.2, 0.01]);
    let direct = set_path(
        &set_path(&s, "params.coverage_weight", 0.2).unwrap(),
        "platform.b.innovation",
        0.01,
    )
    .unwrap();
    let e = ensemble(&direct, &plan, &mut []).unwrap();
    let t = e.months().len() - 1;
    for c in 0..e.cells().len() {
        assert_eq!(e.at(t, c), got[3].2.at(t, c));
    }
    // More innovation for b gives b more holders.
    let holders = |k: usize| {
        got[k]
            .2
            .get(t, "platforms", "b", "", "users")
            .unwrap()
            .mean()
    };
    assert!(holders(1) > holders(0) && holders(3) > holders(2));
}

/// What the runs in flight hold at once is estimated before any run starts: an ensemble with
/// four runs in flight asks for four simulations' memory, a forked comparison for eight (the
/// shared past and the branch of each), and both are refused, naming that count, when the
/// machine cannot hold them.
#[test]
fn experiments_refuse_what_their_runs_in_flight_would_not_fit_in() {
    let mut s = small();
    s.agents.users = 4_000_000_000;
    let plan = Plan {
        replicates: 10,
        seed: 1,
        in_flight: 4,
        ..Plan::default()
    };
    let need = paymarket::world::memory_estimate_at_once(s.agents.users, 500, 2, 4, 1);
    assert_eq!(
        need,
        (8 << 20) + 4 * (12 * 4_000_000_000 + 500 * (7 + 2 * 2))
    );
    // One simulation of 4·10^9 users needs 48 GB: more than the machines paymarket is tested
    // on have, so every case below is refused before anything is allocated.
    let available = paymarket::world::memory_available().expect("Linux reports MemAvailable");
    assert!(
        available < need / 4,
        "this test assumes less than 48 GB available"
    );
    let msg = ensemble(&s, &plan, &mut []).unwrap_err().to_string();
    assert!(
        msg.contains("4 simulations at once") && msg.contains("--in-flight"),
        "{msg}"
    );
    let mut alt = s.clone();
    alt.name = "later".into();
    let fork = "2021-01".parse().unwrap();
    let msg = compare(&s, &alt, &plan, Some(fork), &mut [])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("8 simulations at once"), "{msg}");
    // Fewer replicates than the window: only those are in flight.
    let two = Plan {
        replicates: 2,
        ..plan
    };
    let msg = ensemble(&s, &two, &mut []).unwrap_err().to_string();
    assert!(msg.contains("2 simulations at once"), "{msg}");
}
