//! Calibration: deterministic for a given seed and budget, never worse than the start, and the
//! calibrated file reads back as the calibrated scenario.

use paymarket::calibrate::{calibrate, load_targets, Parameter, Settings};
use paymarket::Scenario;
use std::path::Path;

fn setup() -> (
    Scenario,
    Vec<paymarket::calibrate::Target>,
    Vec<Parameter>,
    Settings,
) {
    let s = Scenario::load("tests/fixtures/china_v1/china_2012_2021.toml").unwrap();
    let st = Settings {
        window_end: "2015-12".parse().unwrap(),
        replicates: 2,
        seed: 3,
        users: 3_000,
        merchants: 300,
        users_weight: 0.01,
        budget: 10,
    };
    let targets = load_targets(Path::new("data/observed"), &s, st.window_end).unwrap();
    let ps = vec![
        Parameter {
            path: "platform.tenpay.imitation.wechat".into(),
            lo: 0.0,
            hi: 0.5,
            why: String::new(),
        },
        Parameter {
            path: "params.loyalty".into(),
            lo: 0.0,
            hi: 0.9,
            why: String::new(),
        },
    ];
    (s, targets, ps, st)
}

#[test]
fn the_search_is_deterministic_for_a_seed_and_budget_and_never_worse_than_the_start() {
    let (s, targets, ps, st) = setup();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let a = one
        .install(|| calibrate(&s, &ps, &targets, &st, |_, _, _| {}))
        .unwrap();
    let b = calibrate(&s, &ps, &targets, &st, |_, _, _| {}).unwrap();
    assert_eq!(
        a.trace, b.trace,
        "the search differs between 1 thread and the default pool"
    );
    assert_eq!(a.best, b.best);
    assert_eq!(a.trace.len(), st.budget);
    // The first point is the scenario as written; the best is no worse.
    assert_eq!(a.trace[0].x, vec![0.02, 0.6]);
    assert!(a.objective <= a.trace[0].objective);
    assert!(a.objective.is_finite() && a.objective > 0.0);
    assert!(a
        .best
        .iter()
        .zip(&ps)
        .all(|(v, p)| *v >= p.lo && *v <= p.hi));
    // Another seed searches elsewhere.
    let c = calibrate(&s, &ps, &targets, &Settings { seed: 4, ..st }, |_, _, _| {}).unwrap();
    assert_ne!(a.trace[1].x, c.trace[1].x);
}

#[test]
fn the_workflow_writes_a_scenario_that_reads_back_calibrated() {
    let (_, _, _, st) = setup();
    let dir = std::env::temp_dir().join(format!("paymarket-cal-{}", std::process::id()));
    let params = dir.join("params.toml");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        &params,
        "[[parameter]]\npath = \"platform.tenpay.brand\"\nlo = -1.0\nhi = 1.0\nwhy = \"test\"\n",
    )
    .unwrap();
    let job = paymarket::calibrate::Job {
        scenario_path: "data/scenarios/china_2012_2021.toml".into(),
        targets_dir: "data/observed".into(),
        parameters: Some(params),
        settings: Settings { budget: 4, ..st },
        report_replicates: 2,
        out: dir.clone(),
        write_scenario: None,
        command: "test".into(),
        progress: false,
        provenance: None,
    };
    let report = paymarket::calibrate::run(&job).unwrap();
    let text = std::fs::read_to_string(dir.join("calibrated.toml")).unwrap();
    assert!(text.starts_with("# Calibrated by paymarket"));
    assert!(text.contains("#   test\n") && text.contains("Seed 3, budget 4"));
    let back = Scenario::from_toml_str(&text, "calibrated").unwrap();
    let j = back
        .platforms
        .iter()
        .position(|p| p.id == "tenpay")
        .unwrap();
    assert_eq!(back.platforms[j].brand, report.calibration.best[0]);
    let fit = std::fs::read_to_string(dir.join("fit.csv")).unwrap();
    assert!(fit.starts_with("period,publisher,series,observed,mean,sd,ci_low,ci_high,error,"));
    // 2016 rows are outside this window: reported with weight 0.
    let row = fit
        .lines()
        .find(|l| l.starts_with("2016Q4,analysys,share.tenpay,"))
        .unwrap();
    assert!(row.ends_with(",0"), "{row}");
    for f in ["identification.csv", "trace.csv", "summary_platforms.csv"] {
        assert!(dir.join(f).exists(), "{f}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
