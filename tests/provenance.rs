//! Provenance and resume: every output set records how to make it again, `paymarket rerun`
//! makes it again from the directory alone, and `resume` gives the files of the uninterrupted
//! run however often it is repeated, refusing a directory whose rows are another run's.

mod common;

use paymarket::output::{check_manifest, read_identity, IDENTITY, MANIFEST};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn paymarket(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_paymarket"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn ok(args: &[&str]) -> Output {
    let out = paymarket(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn tmp(name: &str) -> PathBuf {
    common::tmp_dir("provenance", name)
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Every file below `dir` (relative name → bytes).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let name = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(name, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The files a manifest lists, with their bytes.
fn listed(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    check_manifest(dir)
        .unwrap()
        .files
        .into_iter()
        .map(|e| (e.name.clone(), std::fs::read(dir.join(&e.name)).unwrap()))
        .collect()
}

/// Reruns `dir` from its manifest into a new directory (with another thread count) and checks
/// that every file of the set is made again to the byte, and nothing else.
fn assert_reruns(dir: &Path, name: &str) {
    let again = dir.with_file_name(format!("{name}-again"));
    let _ = std::fs::remove_dir_all(&again);
    ok(&[
        "rerun",
        &s(dir),
        "--out",
        &s(&again),
        "--threads",
        "1",
        "-q",
    ]);
    let (a, b) = (listed(dir), listed(&again));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{name}: the rerun made another set of files"
    );
    for (k, v) in &a {
        assert!(b[k] == *v, "{name}: {k} differs after the rerun");
    }
    // The rerun records the command that made the set first.
    let (ma, mb) = (
        check_manifest(dir).unwrap(),
        check_manifest(&again).unwrap(),
    );
    let (pa, pb) = (ma.provenance.unwrap(), mb.provenance.unwrap());
    assert_eq!(pa.command, pb.command);
    assert_eq!(pa.rerun, pb.rerun);
    assert_eq!(pb.threads, 1);
}

const SMALL: [&str; 4] = ["--users", "3000", "--merchants", "300"];

fn args<'a>(head: &[&'a str], tail: &[&'a str]) -> Vec<&'a str> {
    let mut v = head.to_vec();
    v.extend_from_slice(tail);
    v
}

#[test]
fn manifests_record_the_version_command_seed_threads_and_resolved_scenario() {
    let dir = tmp("record");
    let f = common::base_file(&dir);
    let out = dir.join("run");
    ok(&args(
        &[
            "run",
            &f,
            "--seed",
            "77",
            "--out",
            &s(&out),
            "-q",
            "--threads",
            "2",
        ],
        &SMALL,
    ));
    let m = check_manifest(&out).unwrap();
    let p = m.provenance.expect("the tool records its provenance");
    assert_eq!(m.paymarket, env!("CARGO_PKG_VERSION"));
    assert_eq!(p.command[0], "paymarket");
    assert!(p.command.contains(&"--seed".to_string()));
    assert_eq!((p.seed, p.threads), (77, 2));
    // The resolved scenario carries the overrides.
    let resolved = paymarket::Scenario::load(out.join("scenario.resolved.toml")).unwrap();
    assert_eq!(resolved.seed, 77);
    assert_eq!(resolved.agents.users, 3000);
    assert_eq!(resolved.agents.merchants, 300);
    let id = read_identity(&out).unwrap().unwrap();
    assert_eq!(id.command, "run");
    assert_eq!(id.seed, 77);
    assert_eq!(id.scenarios[0].name, "test");
    assert_eq!(id.scenarios[0].fingerprint, resolved.fingerprint());
    for name in [IDENTITY, "scenario.resolved.toml", "platforms.csv"] {
        assert!(m.files.iter().any(|e| e.name == name), "{name} not listed");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn every_command_reruns_from_its_manifest_alone() {
    let dir = tmp("rerun");
    let f = common::base_file(&dir);
    let alt = common::blocked_file(&dir);
    let run = dir.join("run");
    ok(&args(
        &["run", &f, "--panel", "0.01", "--out", &s(&run), "-q"],
        &SMALL,
    ));
    let ckpt = dir.join("ckpt");
    ok(&args(
        &[
            "run",
            &f,
            "--checkpoint-at",
            "2021-01",
            "--out",
            &s(&ckpt),
            "-q",
        ],
        &SMALL,
    ));
    let run_pq = dir.join("run-parquet");
    ok(&args(
        &["run", &f, "--format", "parquet", "--out", &s(&run_pq), "-q"],
        &SMALL,
    ));
    let ens = dir.join("ensemble");
    ok(&args(
        &[
            "ensemble",
            &f,
            "-r",
            "3",
            "--seed",
            "5",
            "--out",
            &s(&ens),
            "-q",
        ],
        &SMALL,
    ));
    let sweep = dir.join("sweep");
    ok(&args(
        &[
            "sweep",
            &f,
            "-r",
            "2",
            "--lhs",
            "2",
            "--range",
            "params.churn_rate=0.05:0.2",
            "--format",
            "parquet",
            "--out",
            &s(&sweep),
            "-q",
        ],
        &SMALL,
    ));
    let cmp = dir.join("compare");
    ok(&args(
        &[
            "compare",
            &f,
            &alt,
            "-r",
            "2",
            "--fork-at",
            "2021-01",
            "--out",
            &s(&cmp),
            "-q",
        ],
        &SMALL,
    ));
    let cal = dir.join("calibrate");
    let params = dir.join("params.toml");
    std::fs::write(
        &params,
        "[[parameter]]\npath = \"platform.tenpay.brand\"\nlo = -1.0\nhi = 1.0\nwhy = \"test\"\n",
    )
    .unwrap();
    ok(&[
        "calibrate",
        "data/scenarios/china_2012_2021.toml",
        "--targets",
        "data/observed",
        "--params",
        &s(&params),
        "--budget",
        "3",
        "--report-replicates",
        "2",
        "--window-end",
        "2014-12",
        "--users",
        "2000",
        "--merchants",
        "200",
        "--out",
        &s(&cal),
        "-q",
    ]);
    // The inputs are gone: the sets must be made again from their directories alone.
    std::fs::remove_file(&f).unwrap();
    std::fs::remove_file(&alt).unwrap();
    std::fs::remove_file(&params).unwrap();
    for (d, name) in [
        (&run, "run"),
        (&run_pq, "run as Parquet"),
        (&ckpt, "checkpoint"),
        (&ens, "ensemble"),
        (&sweep, "sweep"),
        (&cmp, "compare"),
        (&cal, "calibrate"),
    ] {
        assert_reruns(d, name);
    }
    // A resumed directory reruns as the straight run it equals.
    let c = s(&ckpt.join("checkpoint-2021-01.ckpt"));
    ok(&["resume", &c, "--out", &s(&ckpt), "-q"]);
    assert_reruns(&ckpt, "resumed");
    let _ = std::fs::remove_dir_all(dir);
}

/// The files of a run, the manifest aside (it records the command).
fn run_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut m = snapshot(dir);
    m.remove(MANIFEST);
    m.retain(|k, _| !k.ends_with(".ckpt"));
    m
}

#[test]
fn resuming_twice_or_after_a_killed_resume_gives_the_uninterrupted_run() {
    let dir = tmp("resume");
    let f = common::base_file(&dir);
    let straight = dir.join("straight");
    ok(&args(
        &["run", &f, "--panel", "0.02", "--out", &s(&straight), "-q"],
        &SMALL,
    ));
    let split = dir.join("split");
    ok(&args(
        &[
            "run",
            &f,
            "--panel",
            "0.02",
            "--checkpoint-at",
            "2020-09",
            "--out",
            &s(&split),
            "-q",
        ],
        &SMALL,
    ));
    let c = s(&split.join("checkpoint-2020-09.ckpt"));
    let want = run_files(&straight);
    assert!(want.len() >= 8, "{:?}", want.keys());

    ok(&["resume", &c, "--out", &s(&split), "-q"]);
    assert!(run_files(&split) == want, "one resume differs");
    ok(&["resume", &c, "--out", &s(&split), "-q", "--threads", "1"]);
    assert!(run_files(&split) == want, "a second resume differs");
    check_manifest(&split).unwrap();

    // Kill a resume after some files were renamed into place and before the others, then
    // resume again.
    let points = [
        "record 2021-03".to_string(),
        format!("commit {}", s(&split.join("market.csv"))),
        format!("commit {}", s(&split.join("events.csv"))),
        format!("commit {}", s(&split.join("panel_merchants.csv"))),
    ];
    for point in &points {
        let mut child = Command::new(env!("CARGO_BIN_EXE_paymarket"))
            .args(["resume", &c, "--out", &s(&split), "-q"])
            .env("PAYMARKET_PAUSE_AT", point.as_str())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let reached = BufReader::new(stderr)
            .lines()
            .any(|l| l.unwrap().starts_with("paused at"));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(reached, "the resume never reached {point}");
        assert!(
            !split.join(MANIFEST).exists(),
            "a killed resume left a manifest"
        );
        ok(&["resume", &c, "--out", &s(&split), "-q"]);
        assert!(
            run_files(&split) == want,
            "resume after a kill at {point} differs"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn resume_refuses_a_directory_of_another_scenario_or_seed_and_changes_nothing() {
    let dir = tmp("foreign");
    let f = common::base_file(&dir);
    let alt = common::blocked_file(&dir);
    let ckdir = dir.join("ck");
    ok(&args(
        &[
            "run",
            &f,
            "--checkpoint-at",
            "2020-06",
            "--out",
            &s(&ckdir),
            "-q",
        ],
        &SMALL,
    ));
    let c = s(&ckdir.join("checkpoint-2020-06.ckpt"));
    let other = dir.join("other");
    ok(&args(&["run", &alt, "--out", &s(&other), "-q"], &SMALL));
    let seeded = dir.join("seeded");
    ok(&args(
        &["run", &f, "--seed", "12", "--out", &s(&seeded), "-q"],
        &SMALL,
    ));
    let ens = dir.join("ens");
    ok(&args(
        &["ensemble", &f, "-r", "2", "--out", &s(&ens), "-q"],
        &SMALL,
    ));
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("platforms.csv"), b"not a run's\n").unwrap();
    for (d, needle) in [
        (&other, "\"blocked\""),
        (&seeded, "seed 12"),
        (&ens, "`ensemble`"),
        (&empty, IDENTITY),
    ] {
        let before = snapshot(d);
        let out = paymarket(&["resume", &c, "--out", &s(d), "-q"]);
        assert_eq!(out.status.code(), Some(1), "{}", d.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(needle) && err.contains("nothing was changed"),
            "{}: {err}",
            d.display()
        );
        assert!(snapshot(d) == before, "{} was changed", d.display());
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn compare_names_two_scenarios_of_the_same_name_after_their_files() {
    let dir = tmp("names");
    let f = common::base_file(&dir);
    let same = dir.join("no_subsidy.toml");
    std::fs::write(&same, common::BASE.replace("brand = 0.2", "brand = 0.3")).unwrap();
    let out_dir = dir.join("cmp");
    let out = ok(&args(
        &[
            "compare",
            &f,
            &s(&same),
            "-r",
            "2",
            "--out",
            &s(&out_dir),
            "-q",
        ],
        &SMALL,
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("naming them after their files"), "{err}");
    let runs = std::fs::read_to_string(out_dir.join("market.csv")).unwrap();
    assert!(runs.contains(",base,") && runs.contains(",no_subsidy,"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("no_subsidy minus base"), "{stdout}");
    // Alike in name and file name: refused.
    let sub = dir.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::copy(&same, sub.join("base.toml")).unwrap();
    let out = paymarket(&args(
        &[
            "compare",
            &f,
            &s(&sub.join("base.toml")),
            "-r",
            "2",
            "--out",
            &s(&out_dir),
            "-q",
        ],
        &SMALL,
    ));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a `name` of its own"));
    let _ = std::fs::remove_dir_all(dir);
}
