//! The `paymarket` command-line tool: exit codes, messages on bad input, and its files.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn paymarket(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paymarket"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    common::tmp_dir("cli", name)
}

#[test]
fn validate_accepts_a_good_file_and_lists_every_problem_of_a_bad_one() {
    let dir = tmp("validate");
    let good = paymarket(&["validate", &common::base_file(&dir)]);
    assert_eq!(good.status.code(), Some(0), "{}", text(&good.stderr));
    assert!(text(&good.stdout).contains("valid"));

    let bad = dir.join("bad.toml");
    let src = common::BASE.replace(
        "innovation = 0.002\nimitation = { everyone",
        "innovaton = 0.002\nimitation = { everyone",
    );
    std::fs::write(&bad, src).unwrap();
    let out = paymarket(&["validate", &bad.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("innovaton") && err.contains("innovation"),
        "{err}"
    );

    let bad2 = dir.join("bad2.toml");
    std::fs::write(
        &bad2,
        common::BASE
            .replace("weight = 0.5", "weight = -0.5")
            .replace("init_users = 0.5", "init_users = 1.5"),
    )
    .unwrap();
    let out = paymarket(&["validate", &bad2.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("2 problems") && err.contains("weight") && err.contains("init_users"),
        "{err}"
    );

    let out = paymarket(&["validate", "no/such/file.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no/such/file.toml"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_options_exit_non_zero_with_a_reason() {
    let dir = tmp("options");
    let f = common::base_file(&dir);
    let alt = common::blocked_file(&dir);
    let out_dir = dir.join("out").display().to_string();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["run", &f, "--users", "many", "--out", &out_dir],
            2,
            "whole number",
        ),
        (vec!["run", &f], 2, "--out"),
        (
            vec!["serve", &f, "--users", "2e6", "--port", "0"],
            1,
            "within --max-users",
        ),
        (
            vec!["serve", "no/such/file.toml", "--port", "0"],
            1,
            "no/such/file.toml",
        ),
        (
            vec!["serve", &f, "--host", "no.such.host.invalid", "--port", "0"],
            1,
            "cannot listen on no.such.host.invalid",
        ),
        (
            vec!["run", &f, "--format", "xml", "--out", &out_dir],
            2,
            "choose csv or parquet",
        ),
        (
            vec![
                "run",
                &f,
                "--format",
                "parquet",
                "--checkpoint-at",
                "2021-01",
                "--out",
                &out_dir,
            ],
            1,
            "--checkpoint-at needs --format csv",
        ),
        (vec!["frobnicate"], 2, "frobnicate"),
        (
            vec!["ensemble", &f, "--replicates", "0", "--out", &out_dir],
            1,
            "at least 1",
        ),
        (
            vec![
                "compare",
                &f,
                &f,
                "-r",
                "2",
                "--fork-at",
                "2021-13",
                "--out",
                &out_dir,
            ],
            2,
            "YYYY-MM",
        ),
        (
            vec![
                "compare",
                &f,
                &alt,
                "-r",
                "2",
                "--fork-at",
                "1999-01",
                "--out",
                &out_dir,
            ],
            1,
            "cannot fork",
        ),
        (
            vec![
                "sweep",
                &f,
                "-r",
                "1",
                "--grid",
                "params.nosuch=1,2",
                "--out",
                &out_dir,
            ],
            1,
            "nosuch",
        ),
        (
            vec![
                "sweep",
                &f,
                "-r",
                "1",
                "--grid",
                "params.churn_rate=x",
                "--out",
                &out_dir,
            ],
            1,
            "not a number",
        ),
        (vec!["sweep", &f, "-r", "1", "--out", &out_dir], 1, "--grid"),
        (
            vec!["run", &f, "--users", "0", "--out", &out_dir],
            1,
            "users",
        ),
        (
            vec!["run", &f, "--checkpoint-at", "2030-01", "--out", &out_dir],
            1,
            "outside the run",
        ),
        (
            vec!["resume", &f, "--out", &out_dir],
            1,
            "not a paymarket checkpoint",
        ),
        (
            vec![
                "calibrate",
                &f,
                "--targets",
                "no/such/dir",
                "--budget",
                "4",
                "--window-end",
                "2021-06",
                "--out",
                &out_dir,
            ],
            1,
            "market_shares.csv",
        ),
        (
            vec![
                "calibrate",
                &f,
                "--targets",
                "data/observed",
                "--budget",
                "0",
                "--out",
                &out_dir,
            ],
            1,
            "at least 1",
        ),
        (
            vec![
                "calibrate",
                &f,
                "--targets",
                "data/observed",
                "--budget",
                "4",
                "--window-end",
                "2030-01",
                "--out",
                &out_dir,
            ],
            1,
            "window",
        ),
    ];
    for (args, code, needle) in cases {
        let out = paymarket(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected {needle:?} in {err}"
        );
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn run_checkpoint_and_resume_write_the_files_of_a_straight_run() {
    let dir = tmp("resume");
    let f = common::base_file(&dir);
    let straight = dir.join("straight").display().to_string();
    let split = dir.join("split").display().to_string();
    let small = ["--users", "4000", "--merchants", "400"];
    let mut args = vec!["run", &f, "--out", &straight, "-q"];
    args.extend(small);
    assert!(paymarket(&args).status.success());
    let mut args = vec![
        "run",
        &f,
        "--out",
        &split,
        "--checkpoint-at",
        "2021-02",
        "-q",
    ];
    args.extend(small);
    let out = paymarket(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ckpt = Path::new(&split).join("checkpoint-2021-02.ckpt");
    let out = paymarket(&[
        "resume",
        &ckpt.display().to_string(),
        "--out",
        &split,
        "--threads",
        "1",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for name in paymarket::record::CSV_FILES {
        let a = std::fs::read(Path::new(&straight).join(name)).unwrap();
        let b = std::fs::read(Path::new(&split).join(name)).unwrap();
        assert!(a == b, "{name} differs");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn ensemble_sweep_and_compare_write_their_files() {
    let dir = tmp("experiments");
    let f = common::base_file(&dir);
    let small = ["--users", "3000", "--merchants", "300", "-q"];
    let ens = dir.join("ens").display().to_string();
    let mut args = vec!["ensemble", &f, "-r", "3", "--seed", "4", "--out", &ens];
    args.extend(small);
    let out = paymarket(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for name in [
        "platforms.csv",
        "summary_platforms.csv",
        "summary_market.csv",
        "summary_channels.csv",
        "value_share.svg",
    ] {
        assert!(Path::new(&ens).join(name).exists(), "{name} missing");
    }
    let summary = std::fs::read_to_string(Path::new(&ens).join("summary_platforms.csv")).unwrap();
    assert!(summary.starts_with("scenario,month,platform,metric,mean,sd,ci_low,ci_high,n\n"));
    // 24 months × 2 platforms × 12 metrics, each summarised over 3 runs.
    assert_eq!(summary.lines().count(), 1 + 24 * 2 * 12);
    assert!(summary.lines().skip(1).all(|l| l.ends_with(",3")));

    let sw = dir.join("sweep").display().to_string();
    let mut args = vec![
        "sweep",
        &f,
        "-r",
        "2",
        "--grid",
        "params.churn_rate=0.05,0.2",
        "--grid",
        "platform.b.innovation=0.001,0.01",
        "--out",
        &sw,
    ];
    args.extend(small);
    let out = paymarket(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = std::fs::read_to_string(Path::new(&sw).join("summary_market.csv")).unwrap();
    assert!(s.starts_with("setting,params.churn_rate,platform.b.innovation,scenario,month,metric,"));
    assert_eq!(s.lines().count(), 1 + 4 * 24 * 8);
    assert!(s.contains("\n3,0.2,0.01,test,2021-12,adopters,"));

    let list = dir.join("list").display().to_string();
    let mut args = vec![
        "sweep",
        &f,
        "-r",
        "1",
        "--point",
        "params.churn_rate=0.05,params.loyalty=0.5",
        "--point",
        "params.churn_rate=0.2,params.loyalty=0.7",
        "--out",
        &list,
    ];
    args.extend(small);
    let out = paymarket(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = std::fs::read_to_string(Path::new(&list).join("summary_market.csv")).unwrap();
    assert!(s.starts_with("setting,params.churn_rate,params.loyalty,scenario,"));
    assert!(s.contains("\n1,0.2,0.7,test,2021-12,adopters,"));

    let cmp = dir.join("cmp").display().to_string();
    let alt = common::blocked_file(&dir);
    let mut args = vec![
        "compare",
        &f,
        &alt,
        "-r",
        "3",
        "--fork-at",
        "2021-01",
        "--out",
        &cmp,
    ];
    args.extend(small);
    let out = paymarket(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("blocked minus test") && stdout.contains("95% CI"),
        "{stdout}"
    );
    for name in [
        "effects_platforms.csv",
        "effect_value_share.svg",
        "summary_platforms.csv",
    ] {
        assert!(Path::new(&cmp).join(name).exists(), "{name} missing");
    }
    let e = std::fs::read_to_string(Path::new(&cmp).join("effects_platforms.csv")).unwrap();
    // Before the fork the paired effect is exactly zero.
    let row = e.lines().find(|l| l.contains(",2020-12,b,users,")).unwrap();
    assert!(row.contains(",0,0,0,0,3,"), "{row}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A run that fails inside an ensemble, a sweep or a comparison (`PAYMARKET_FAIL_RUN`, the
/// testing hook) is named in the message, and no complete-looking output is left.
#[test]
fn a_failed_run_is_named_and_leaves_no_complete_output() {
    let dir = tmp("failed-run");
    let f = common::base_file(&dir);
    let alt = common::blocked_file(&dir);
    for (name, head) in [
        ("ensemble", vec!["ensemble", f.as_str(), "-r", "5"]),
        (
            "sweep",
            vec![
                "sweep",
                f.as_str(),
                "-r",
                "2",
                "--grid",
                "params.churn_rate=0.05,0.1,0.2",
            ],
        ),
        (
            "compare",
            vec!["compare", f.as_str(), alt.as_str(), "-r", "5"],
        ),
    ] {
        let out = dir.join(name);
        let o = out.display().to_string();
        let mut args = head.clone();
        args.extend(["--users", "2000", "--merchants", "200", "--out", &o, "-q"]);
        let r = Command::new(env!("CARGO_BIN_EXE_paymarket"))
            .args(&args)
            .env("PAYMARKET_FAIL_RUN", "1")
            .output()
            .unwrap();
        assert!(!r.status.success(), "{name}: the job succeeded");
        assert!(
            text(&r.stderr).contains("run 1 failed"),
            "{name}: {}",
            text(&r.stderr)
        );
        assert!(!out.join("manifest.json").exists(), "{name}");
        assert!(!out.join("summary_platforms.csv").exists(), "{name}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
