//! Calibration: deterministic for a given seed and budget, never worse than the start, and the
//! calibrated file reads back as the calibrated scenario.

use paymarket::calibrate::{calibrate, load_targets, Parameter, Settings};
use paymarket::Scenario;
use std::path::Path;

mod common;

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
        watch: None,
    };
    let targets = load_targets(Path::new("data/observed"), &s, st.window_end).unwrap();
    let ps = vec![
        Parameter::new("platform.tenpay.imitation.wechat", 0.0, 0.5, ""),
        Parameter::new("params.loyalty", 0.0, 0.9, ""),
    ];
    (s, targets, ps, st)
}

/// A parameter file in `dir` calibrating Tenpay's brand on [-1, 1]; returns its path.
fn brand_parameter(dir: &Path) -> std::path::PathBuf {
    let params = dir.join("params.toml");
    std::fs::write(
        &params,
        "[[parameter]]\npath = \"platform.tenpay.brand\"\nlo = -1.0\nhi = 1.0\nwhy = \"test\"\n",
    )
    .unwrap();
    params
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

/// A watch counts every run of a calibration (each candidate's replicates, then the report's
/// fit, identification and forecast), the report's tables are its files, and nothing is
/// written without an output directory; a stopped watch stops it with `Error::Stopped`.
#[test]
fn a_watched_calibration_counts_its_runs_its_frames_are_its_files_and_it_stops() {
    use paymarket::experiment::Watch;
    use std::sync::Arc;
    let (_, _, _, st) = setup();
    let dir = common::tmp_dir("calibration", "watched");
    let params = brand_parameter(&dir);
    let text = std::fs::read_to_string("data/scenarios/china_2012_2021.toml").unwrap();
    let job = |watch: Arc<Watch>, out: Option<std::path::PathBuf>| paymarket::calibrate::Job {
        scenario_path: "history.toml".into(),
        scenario_text: Some(text.clone()),
        targets_dir: "data/observed".into(),
        parameters: Some(params.clone()),
        settings: Settings {
            budget: 4,
            watch: Some(watch),
            ..st.clone()
        },
        report_replicates: 3,
        out,
        write_scenario: None,
        command: "test".into(),
        progress: false,
        provenance: None,
        abc: None,
    };
    let watch = Arc::new(Watch::default());
    let report = paymarket::calibrate::run(&job(watch.clone(), None)).unwrap();
    assert!(report.files.is_empty() && report.scenario_file.is_none());
    assert!(!dir.join("out").exists());
    // Candidates × 2 replicates, the fit's 3, identification's 3 candidates (the calibrated
    // point, −10%, +10%) × 2, the forecast's 3.
    let evaluations = report.calibration.trace.len() as u64;
    assert_eq!(evaluations, 4);
    assert_eq!(watch.done(), evaluations * 2 + 3 + 3 * 2 + 3);
    assert_eq!(report.calibrated.name, "china_2012_2021_calibrated");
    // The same job with an output directory writes the report's frames as its files.
    let out = dir.join("out");
    let written =
        paymarket::calibrate::run(&job(Arc::new(Watch::default()), Some(out.clone()))).unwrap();
    let frames = report.frames().unwrap();
    let names: Vec<&str> = frames.iter().map(|f| f.name).collect();
    assert_eq!(
        names,
        [
            "fit",
            "identification",
            "trace",
            "summary_platforms",
            "summary_market",
            "summary_channels",
            "summary_defaults"
        ]
    );
    for frame in &frames {
        let file = std::fs::read_to_string(out.join(format!("{}.csv", frame.name))).unwrap();
        let mut lines = file.lines();
        assert_eq!(
            lines.next().unwrap(),
            frame.names().join(","),
            "{}",
            frame.name
        );
        let first: Vec<String> = frame.row(0).iter().map(|v| v.text()).collect();
        // The first row (none of these cells needs quoting), and as many rows.
        assert_eq!(lines.next().unwrap(), first.join(","), "{}", frame.name);
        assert_eq!(file.lines().count(), frame.rows() + 1, "{}", frame.name);
        assert!(written.files.contains(&format!("{}.csv", frame.name)));
    }
    assert!(written.files.contains(&"calibrated.toml".to_string()));
    let copy = std::fs::read_to_string(out.join("inputs/scenario/history.toml")).unwrap();
    assert_eq!(copy, text, "the scenario's text is the set's input");
    // Stopped before it starts: no candidate is run.
    let stopped = Arc::new(Watch::default());
    stopped.stop();
    match paymarket::calibrate::run(&job(stopped.clone(), None)) {
        Err(paymarket::Error::Stopped { done: 0, total: 8 }) => {}
        Err(e) => panic!("expected Stopped, got {e}"),
        Ok(_) => panic!("expected Stopped, got a report"),
    }
    assert_eq!(stopped.done(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_workflow_writes_a_scenario_that_reads_back_calibrated() {
    let (_, _, _, st) = setup();
    let dir = common::tmp_dir("calibration", "workflow");
    let params = brand_parameter(&dir);
    let job = paymarket::calibrate::Job {
        scenario_path: "data/scenarios/china_2012_2021.toml".into(),
        scenario_text: None,
        targets_dir: "data/observed".into(),
        parameters: Some(params),
        settings: Settings { budget: 4, ..st },
        report_replicates: 2,
        out: Some(dir.clone()),
        write_scenario: None,
        command: "test".into(),
        progress: false,
        provenance: None,
        abc: None,
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

/// A quick ABC calibration: the same posterior on one thread and on the default pool, its
/// posterior file reads back with the sampler's particles, and the calibrated scenario carries
/// the posterior mean.
#[test]
fn abc_is_deterministic_and_its_files_read_back() {
    use paymarket::calibrate::abc::AbcSettings;
    use paymarket::calibrate::posterior::Draws;
    let params = "[[parameter]]\npath = \"context.shop.brand.tenpay\"\nlo = -2.0\nhi = 2.0\n\
                  [[parameter]]\npath = \"context.social.social_weight\"\nlo = 0.0\nhi = 6.0\nmean = 3.0\nsd = 1.0\n";
    let job_in = |name: &str| {
        let dir = std::env::temp_dir().join(format!("paymarket-abc-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("params.toml"), params).unwrap();
        paymarket::calibrate::Job {
            scenario_path: "data/scenarios/china_2012_2021.toml".into(),
            scenario_text: None,
            targets_dir: "data/observed".into(),
            parameters: Some(dir.join("params.toml")),
            settings: Settings {
                window_end: "2014-12".parse().unwrap(),
                replicates: 2,
                seed: 5,
                users: 2_000,
                merchants: 200,
                users_weight: 0.01,
                budget: 24,
                watch: None,
            },
            report_replicates: 2,
            out: Some(dir.join("out")),
            write_scenario: None,
            command: "test".into(),
            progress: false,
            provenance: None,
            abc: Some(AbcSettings {
                particles: 12,
                budget: 24,
                ..AbcSettings::default()
            }),
        }
    };
    let (a_job, b_job) = (job_in("one"), job_in("pool"));
    let (a_out, b_out) = (a_job.out.clone().unwrap(), b_job.out.clone().unwrap());
    let abc = a_job.abc.clone().unwrap();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let a = one
        .install(|| paymarket::calibrate::run_abc(&a_job, &abc))
        .unwrap();
    let b = paymarket::calibrate::run_abc(&b_job, &abc).unwrap();
    assert_eq!(
        a.posterior, b.posterior,
        "the posterior differs between 1 thread and the pool"
    );
    // 12 particles from the prior (the sample keeps 12: 6 kept, 6 refilled and moved), and
    // moves within the budget of 24 simulations (a move refused by the prior ratio costs none).
    assert_eq!(a.posterior.particles.len(), 12);
    assert!(a.posterior.generations.len() >= 2);
    let last = a.posterior.generations.last().unwrap();
    assert!(last.simulated > 12 && last.simulated <= 24, "{last:?}");
    let eps = a.posterior.tolerance();
    assert!(a.posterior.particles.iter().all(|p| p.distance <= eps));
    for f in [
        "posterior.csv",
        "prior_sample.csv",
        "fit.csv",
        "predictive.csv",
        "probabilities.csv",
    ] {
        let (x, y) = (a_out.join(f), b_out.join(f));
        assert_eq!(
            std::fs::read(&x).unwrap(),
            std::fs::read(&y).unwrap(),
            "{f}"
        );
    }
    let d = Draws::read(&a_out.join("posterior.csv")).unwrap();
    assert_eq!(
        d.paths,
        vec!["context.shop.brand.tenpay", "context.social.social_weight"]
    );
    assert!((d.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    for (v, p) in d.vectors.iter().zip(&a.posterior.particles) {
        for (x, y) in v.iter().zip(&p.x) {
            assert!((x - y).abs() <= 1e-12 * y.abs().max(1.0), "{x} against {y}");
        }
    }
    // The calibrated scenario is the posterior mean, its posterior file beside it.
    let text = std::fs::read_to_string(a_out.join("calibrated.toml")).unwrap();
    let back = Scenario::from_toml_str(&text, "calibrated").unwrap();
    let mean = a.posterior.mean();
    let shop = back.contexts.iter().find(|c| c.id == "shop").unwrap();
    assert_eq!(shop.brand["tenpay"], mean[0]);
    assert!(a_out.join("calibrated_posterior.csv").exists());
    assert!(text.contains("(ABC)") && text.contains("posterior mean"));
}

/// `--posterior`: each replicate runs with one particle's vector, recorded with the run; a
/// posterior of one particle is the scenario with that particle's values; the set reruns from
/// its manifest alone; a posterior that does not fit the scenario is refused with its row.
#[test]
fn ensembles_run_over_a_posterior_sample() {
    use paymarket::calibrate::posterior::Draws;
    let dir = common::tmp_dir("calibration", "posterior");
    let post = dir.join("p.csv");
    std::fs::write(
        &post,
        "particle,weight,distance,generation,params.loyalty\n0,0.25,1,0,0.6\n1,0.75,1,1,0.8\n",
    )
    .unwrap();
    let size = ["--users", "2000", "--merchants", "200"];
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "ensemble",
            "data/scenarios/duopoly.toml",
            "--replicates",
            "6",
            "--seed",
            "9",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(size.iter().map(|s| s.to_string()));
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let out = dir.join("ens");
    common::paymarket(&args(&["--posterior", post.to_str().unwrap()]), &out);
    let d = Draws::read(&post).unwrap();
    let rows = std::fs::read_to_string(out.join("replicate_parameters.csv")).unwrap();
    let mut lines = rows.lines();
    assert_eq!(lines.next(), Some("run,particle,params.loyalty"));
    for (r, line) in lines.enumerate() {
        let k = d.pick(9, r as u64);
        assert_eq!(line, format!("{r},{k},{}", d.vectors[k][0]), "run {r}");
    }
    assert_eq!(rows.lines().count(), 7);
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(
        manifest.contains("inputs/posterior/p.csv")
            && manifest.contains("replicate_parameters.csv")
    );
    // Made again from the set alone: the same summaries.
    let again = dir.join("again");
    common::paymarket(&["rerun".to_string(), out.display().to_string()], &again);
    for f in ["summary_platforms.csv", "replicate_parameters.csv"] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f}"
        );
    }
    // One particle: the same as the scenario with its value.
    let single = dir.join("one.csv");
    std::fs::write(
        &single,
        "particle,weight,distance,generation,params.loyalty\n0,1,1,0,0.7\n",
    )
    .unwrap();
    let with = dir.join("with");
    common::paymarket(&args(&["--posterior", single.to_str().unwrap()]), &with);
    let mut s = Scenario::load("data/scenarios/duopoly.toml").unwrap();
    s.params.loyalty = 0.7;
    let fixed = dir.join("fixed.toml");
    std::fs::write(&fixed, s.to_toml().unwrap()).unwrap();
    let plain = dir.join("plain");
    let mut a = args(&[]);
    a[1] = fixed.display().to_string();
    common::paymarket(&a, &plain);
    assert_eq!(
        std::fs::read(with.join("summary_platforms.csv")).unwrap(),
        std::fs::read(plain.join("summary_platforms.csv")).unwrap()
    );
    // A path the scenario lacks, a negative weight: refused with what and where.
    for (text, want) in [
        (
            "particle,weight,distance,generation,params.nothing\n0,1,1,0,0.7\n",
            "particle 0",
        ),
        (
            "particle,weight,distance,generation,params.loyalty\n0,-1,1,0,0.7\n",
            "row 2: weight -1 is negative",
        ),
    ] {
        std::fs::write(&single, text).unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_paymarket"))
            .args(args(&["--posterior", single.to_str().unwrap()]))
            .args(["-q", "--out", dir.join("bad").to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(want), "{err}");
    }
}
