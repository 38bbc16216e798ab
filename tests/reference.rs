//! Reference outputs: every CSV, SVG, checkpoint and calibrated scenario that the tool writes
//! for the historical replay, the duopoly, an ensemble, a forked comparison, a sweep and a
//! calibration, compared byte for byte with the files committed in `tests/fixtures/reference/`.
//!
//! A reorganisation of the code must keep them identical; a change of the model's arithmetic
//! changes them on purpose, and then regenerates them in the same commit:
//!
//! ```text
//! PAYMARKET_WRITE_FIXTURES=1 cargo test --release --test reference
//! ```
//!
//! The manifest, the identity file and the resolved inputs are not compared: they record the
//! version, the command line and the scenario's serialised form, not results.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

const FIXTURES: &str = "tests/fixtures/reference";

/// Each reference set: its directory name and the tool's arguments (without `--out`).
fn commands() -> Vec<(&'static str, Vec<String>)> {
    let china = "tests/fixtures/china_v1/china_2012_2021.toml";
    let duopoly = "data/scenarios/duopoly.toml";
    let no_order = format!("{FIXTURES}/duopoly_no_order.toml");
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        (
            "history",
            v(&["run", china, "--users", "20000", "--merchants", "2000"]),
        ),
        (
            "history_checkpoint",
            v(&[
                "run",
                china,
                "--users",
                "20000",
                "--merchants",
                "2000",
                "--checkpoint-at",
                "2016-01",
            ]),
        ),
        (
            "duopoly",
            v(&[
                "run",
                duopoly,
                "--users",
                "20000",
                "--merchants",
                "2000",
                "--panel",
                "0.01",
            ]),
        ),
        (
            "ensemble",
            v(&[
                "ensemble",
                duopoly,
                "-r",
                "3",
                "--users",
                "5000",
                "--merchants",
                "500",
            ]),
        ),
        (
            "forked_comparison",
            v(&[
                "compare",
                duopoly,
                &no_order,
                "-r",
                "3",
                "--fork-at",
                "2021-06",
                "--users",
                "5000",
                "--merchants",
                "500",
            ]),
        ),
        (
            "sweep",
            v(&[
                "sweep",
                duopoly,
                "-r",
                "2",
                "--grid",
                "params.churn_rate=0.05,0.2",
                "--grid",
                "platform.beta.brand=0,0.5",
                "--users",
                "5000",
                "--merchants",
                "500",
            ]),
        ),
        (
            "calibration",
            v(&[
                "calibrate",
                china,
                "--targets",
                "data/observed",
                "--params",
                "tests/fixtures/china_v1/calibration.toml",
                "--budget",
                "6",
                "--report-replicates",
                "2",
                "--users",
                "3000",
                "--merchants",
                "300",
            ]),
        ),
    ]
}

/// The result files of a set (relative name → bytes): CSV, SVG, checkpoints, the calibrated
/// scenario.
fn results(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let kept = name.ends_with(".csv")
            || name.ends_with(".svg")
            || name.ends_with(".ckpt")
            || name == "calibrated.toml";
        if p.is_file() && kept {
            let mut bytes = std::fs::read(&p).unwrap();
            if name == "calibrated.toml" {
                // Its header records the command line, output directory included.
                let text = String::from_utf8(bytes).unwrap();
                bytes = text
                    .lines()
                    .filter(|l| !l.starts_with("#   paymarket "))
                    .map(|l| format!("{l}\n"))
                    .collect::<String>()
                    .into_bytes();
            }
            out.insert(name, bytes);
        }
    }
    out
}

fn run(args: &[String], out: &Path) {
    common::paymarket(args, out);
}

#[test]
fn every_reference_output_is_reproduced_byte_for_byte() {
    let write = std::env::var("PAYMARKET_WRITE_FIXTURES").is_ok_and(|v| v == "1");
    let tmp: PathBuf =
        std::env::temp_dir().join(format!("paymarket-reference-{}", std::process::id()));
    let mut compared = 0;
    for (name, args) in commands() {
        let want_dir = Path::new(FIXTURES).join(name);
        if write {
            run(&args, &want_dir);
            // Keep only the results: the rest records this machine's command line.
            for e in std::fs::read_dir(&want_dir).unwrap() {
                let p = e.unwrap().path();
                let n = p.file_name().unwrap().to_string_lossy().into_owned();
                if !results(&want_dir).contains_key(&n) {
                    if p.is_dir() {
                        std::fs::remove_dir_all(&p).unwrap();
                    } else {
                        std::fs::remove_file(&p).unwrap();
                    }
                }
            }
            continue;
        }
        let got_dir = tmp.join(name);
        run(&args, &got_dir);
        let (want, got) = (results(&want_dir), results(&got_dir));
        assert!(
            !want.is_empty(),
            "{name}: no reference files in {}",
            want_dir.display()
        );
        assert_eq!(
            want.keys().collect::<Vec<_>>(),
            got.keys().collect::<Vec<_>>(),
            "{name}: another set of files"
        );
        for (file, bytes) in &want {
            assert!(
                got[file] == *bytes,
                "{name}/{file} differs from the reference (regenerate only if the model's \
                 arithmetic changed on purpose: PAYMARKET_WRITE_FIXTURES=1)"
            );
            compared += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    if !write {
        assert!(compared >= 30, "only {compared} files compared");
    }
}

/// A checkpoint of format 2 (written before contexts existed) is still read: resuming the
/// historical run from it gives the reference files of the uninterrupted run.
#[test]
fn a_format_2_checkpoint_resumes_to_the_reference_files() {
    let dir = std::env::temp_dir().join(format!("paymarket-format2-{}", std::process::id()));
    // The reference run that saves the checkpoint, then the format-2 file in its place.
    let (_, args) = commands()
        .into_iter()
        .find(|(name, _)| *name == "history_checkpoint")
        .unwrap();
    run(&args, &dir);
    let ckpt = dir.join("checkpoint-2016-01.ckpt");
    std::fs::copy(
        "tests/fixtures/checkpoint_format2/checkpoint-2016-01.ckpt",
        &ckpt,
    )
    .unwrap();
    let version = u32::from_le_bytes(std::fs::read(&ckpt).unwrap()[16..20].try_into().unwrap());
    assert_eq!(version, 2, "the fixture is a format-2 checkpoint");
    // Drop the rows the resume must write again, so that only the resumed state can make them.
    for f in ["channels.csv", "market.csv", "platforms.csv", "events.csv"] {
        let p = dir.join(f);
        let text = std::fs::read_to_string(&p).unwrap();
        let kept: String = text
            .lines()
            .filter(|l| {
                l.split(',')
                    .nth(2)
                    .is_none_or(|m| m < "2016-01" || m == "month")
            })
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&p, kept).unwrap();
    }
    let o = Command::new(env!("CARGO_BIN_EXE_paymarket"))
        .args([
            "resume",
            &ckpt.display().to_string(),
            "--out",
            &dir.display().to_string(),
            "-q",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = results(&Path::new(FIXTURES).join("history"));
    for (file, bytes) in &want {
        if file == "defaults.csv" {
            continue;
        }
        let got = std::fs::read(dir.join(file)).unwrap();
        if file == "platforms.csv" {
            annual_users_catch_up(&got, bytes);
            continue;
        }
        assert!(
            got == *bytes,
            "{file}: the resume from format 2 differs from the reference"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A format-2 checkpoint has no memory of wallets dropped before it (MODEL.md section 6's
/// `annual_users` keeps it in the dormancy counters of wallets not held): the resumed
/// `platforms.csv` equals the reference in every other column, its `annual_users` is at most the
/// reference's in 2016-01 to 2016-11, and equal from 2016-12, when every wallet dropped before
/// the resume was last used twelve months ago or more.
fn annual_users_catch_up(got: &[u8], want: &[u8]) {
    let table = |b: &[u8]| -> Vec<Vec<String>> {
        String::from_utf8(b.to_vec())
            .unwrap()
            .lines()
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    };
    let (got, want) = (table(got), table(want));
    assert_eq!(got.len(), want.len(), "platforms.csv: rows");
    let col = want[0].iter().position(|c| c == "annual_users").unwrap();
    let mut below = 0;
    for (g, w) in got.iter().zip(&want).skip(1) {
        let month = w[2].as_str();
        for (k, (a, b)) in g.iter().zip(w).enumerate() {
            if k != col {
                assert_eq!(a, b, "platforms.csv {month}, column {}", want[0][k]);
            }
        }
        let (a, b): (f64, f64) = (g[col].parse().unwrap(), w[col].parse().unwrap());
        if ("2016-01".."2016-12").contains(&month) {
            assert!(a <= b, "{month}: resumed annual users {a} above {b}");
            below += (a < b) as u32;
        } else {
            assert_eq!(a, b, "{month}: annual users");
        }
    }
    // The undercount is real: some wallet was dropped in the year before the checkpoint.
    assert!(below > 0, "the resumed run never undercounts annual users");
}
