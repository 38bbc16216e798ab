//! Crash safety: a run killed with SIGKILL at fixed points leaves only complete files under the
//! final names, and no manifest unless the whole set is complete; damaged checkpoints are
//! refused.

mod common;

use paymarket::output::{check_manifest, MANIFEST};
use paymarket::record::CSV_FILES;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn tmp(name: &str) -> PathBuf {
    common::tmp_dir("crash", name)
}

fn cmd(scenario: &Path, out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_paymarket"));
    c.args([
        "run",
        &scenario.display().to_string(),
        "--users",
        "3000",
        "--merchants",
        "300",
    ]);
    c.args(["--out", &out.display().to_string(), "-q"]);
    c
}

/// Runs the command until it reaches `point`, then kills it with SIGKILL.
fn kill_at(mut c: Command, point: &str) {
    let mut child = c
        .env("PAYMARKET_PAUSE_AT", point)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut reached = false;
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if line.starts_with("paused at") {
            reached = true;
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix: no destructor, no flush, no rename runs
    child.wait().unwrap();
    assert!(reached, "the run never reached {point:?}");
}

#[test]
fn killed_runs_leave_only_complete_files_and_no_manifest() {
    let root = tmp("kill");
    let scenario = PathBuf::from(common::base_file(&root));
    let complete = root.join("complete");
    assert!(cmd(&scenario, &complete).status().unwrap().success());
    check_manifest(&complete).expect("a complete run has a valid manifest");
    let full: Vec<Vec<u8>> = CSV_FILES
        .iter()
        .map(|f| std::fs::read(complete.join(f)).unwrap())
        .collect();

    // Mid-run; before the first rename; with platforms.csv renamed and the others not; with
    // every CSV in place but no manifest yet.
    let points = [
        ("record 2020-07", 0),
        ("platforms.csv", 0),
        ("market.csv", 1),
        ("manifest.json", 4),
    ];
    for (k, (point, in_place)) in points.iter().enumerate() {
        let out = root.join(format!("killed{k}"));
        // An earlier complete set in the same directory must not vouch for the new run.
        std::fs::create_dir_all(&out).unwrap();
        for f in CSV_FILES.iter().chain([&MANIFEST]) {
            std::fs::copy(complete.join(f), out.join(f)).unwrap();
        }
        std::fs::write(out.join("platforms.csv"), b"stale").unwrap();
        kill_at(cmd(&scenario, &out), point);
        assert!(!out.join(MANIFEST).exists(), "{point}: a manifest survived");
        assert!(check_manifest(&out).is_err());
        let mut renamed = 0;
        for (f, bytes) in CSV_FILES.iter().zip(&full) {
            let p = out.join(f);
            let now = std::fs::read(&p).unwrap();
            if now == *bytes {
                renamed += 1;
            } else {
                // Not renamed yet: the old file is still there, untouched (never truncated).
                let old = std::fs::read(complete.join(f)).unwrap();
                assert!(
                    now == old || now == b"stale",
                    "{point}: {f} is neither old nor new"
                );
            }
        }
        // The stale platforms.csv differs from the new one, so the count is exact for it.
        assert!(
            renamed >= *in_place,
            "{point}: {renamed} files in place, expected {in_place}"
        );
        if *in_place == 0 {
            assert_eq!(std::fs::read(out.join("platforms.csv")).unwrap(), b"stale");
        }
    }
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn checkpoints_are_renamed_into_place_and_checked() {
    let root = tmp("ckpt");
    let scenario = PathBuf::from(common::base_file(&root));
    let out = root.join("out");
    let mut c = cmd(&scenario, &out);
    c.args(["--checkpoint-at", "2021-01"]);
    kill_at(c, "checkpoint written");
    let ckpt = out.join("checkpoint-2021-01.ckpt");
    assert!(
        !ckpt.exists(),
        "a checkpoint killed before its rename is not in place"
    );

    let mut c = cmd(&scenario, &out);
    c.args(["--checkpoint-at", "2021-01"]);
    assert!(c.status().unwrap().success());
    let m = check_manifest(&out).unwrap();
    assert!(m.files.iter().any(|f| f.name == "checkpoint-2021-01.ckpt"));
    paymarket::Simulation::load(&ckpt).unwrap();
    // One flipped byte in the agents' arrays is caught by the checksum.
    let mut bytes = std::fs::read(&ckpt).unwrap();
    let k = bytes.len() - 100;
    bytes[k] ^= 0x40;
    std::fs::write(&ckpt, &bytes).unwrap();
    let msg = paymarket::Simulation::load(&ckpt)
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("checksum mismatch"), "{msg}");
    assert!(
        check_manifest(&out).is_err(),
        "the manifest notices the changed file"
    );
    let _ = std::fs::remove_dir_all(root);
}
