//! Keep the house: every `crate::` import in `src/` points down the layers of the design (the
//! README's "Layout" draws them), never up and never sideways except where a layer names a
//! neighbour, and the rules never see output.
//!
//! A module may import any module of a lower layer, unless a rule below forbids it; within a
//! layer only the listed neighbours. Doc comments and comments are not imports.

use std::collections::BTreeSet;
use std::path::Path;

/// The layers, lowest first: `(layer, module)`.
const LAYERS: &[(u8, &str)] = &[
    (0, "error"),
    (0, "month"),
    (0, "rng"),
    (0, "stats"),
    (1, "output"),
    (1, "scenario"),
    (2, "policy"),
    (2, "social"),
    (2, "market"),
    (3, "world"),
    (4, "payments"),
    (4, "users"),
    (4, "merchants"),
    (4, "platforms"),
    (5, "record"),
    (6, "sim"),
    (7, "experiment"),
    (8, "calibrate"),
    (8, "chart"),
    (9, "serve"),
];

/// Imports within a layer that the design names: the user and merchant rules read the payment
/// tables; a calibration draws its fit chart (the chart never knows about calibration).
const NEIGHBOURS: &[(&str, &str)] = &[
    ("users", "payments"),
    ("merchants", "payments"),
    ("calibrate", "chart"),
];

/// Imports that the layers would allow but the design forbids.
const NEVER: &[(&str, &str, &str)] = &[
    ("payments", "record", "the rules never know about output"),
    ("users", "record", "the rules never know about output"),
    ("merchants", "record", "the rules never know about output"),
    ("platforms", "record", "the rules never know about output"),
    ("payments", "output", "the rules never write files"),
    ("users", "output", "the rules never write files"),
    ("merchants", "output", "the rules never write files"),
    ("platforms", "output", "the rules never write files"),
    (
        "scenario",
        "output",
        "the scenario format knows nothing above the month",
    ),
    (
        "scenario",
        "rng",
        "the scenario format knows nothing above the month",
    ),
    (
        "scenario",
        "stats",
        "the scenario format knows nothing above the month",
    ),
];

/// The module a root re-export stands for (`crate::Scenario` is `crate::scenario`).
fn root_item(name: &str) -> Option<&'static str> {
    Some(match name {
        "Error" | "Problem" | "Result" => "error",
        "Month" => "month",
        "Scenario" => "scenario",
        "Simulation" => "sim",
        "AgentPanel" | "Collect" | "CsvRecorder" | "MonthReport" | "Recorder" => "record",
        "dist" | "sweep" => "experiment",
        "invariants" => "sim",
        _ => return None,
    })
}

fn layer(module: &str) -> u8 {
    LAYERS
        .iter()
        .find(|(_, m)| *m == module)
        .unwrap_or_else(|| panic!("module {module} has no layer: add it to LAYERS"))
        .0
}

/// The top-level module a file belongs to (`src/users/update.rs` → `users`).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix("src").ok()?;
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    let m = first.trim_end_matches(".rs").to_string();
    (m != "lib" && m != "bin").then_some(m)
}

/// The modules named after `crate::` in `text`, comments removed.
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = match line.find("//") {
            Some(k) => &line[..k],
            None => line,
        };
        let mut rest = code;
        while let Some(k) = rest.find("crate::") {
            rest = &rest[k + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let module = root_item(&name).map(String::from).unwrap_or(name);
            out.insert(module);
        }
    }
    out
}

/// Why `from` may not import `to`, if it may not.
fn violation(from: &str, to: &str) -> Option<String> {
    let (lf, lt) = (layer(from), layer(to));
    let neighbour = NEIGHBOURS.contains(&(from, to));
    if lt > lf || (lt == lf && !neighbour) {
        return Some(format!("{from} (layer {lf}) imports {to} (layer {lt})"));
    }
    NEVER
        .iter()
        .find(|(a, b, _)| *a == from && *b == to)
        .map(|(_, _, why)| format!("{from} imports {to}: {why}"))
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_import_points_down_the_layers() {
    let mut all = Vec::new();
    files(Path::new("src"), &mut all);
    let mut checked = 0;
    let mut wrong = Vec::new();
    for f in &all {
        let Some(from) = module_of(f) else {
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        for to in imports(&text) {
            if to == from {
                continue;
            }
            checked += 1;
            if let Some(why) = violation(&from, &to) {
                wrong.push(format!("{}: {why}", f.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the design:\n{}",
        wrong.join("\n")
    );
    assert!(
        checked > 60,
        "only {checked} imports found: the scan is broken"
    );
}

#[test]
fn the_scan_sees_imports_and_not_comments() {
    let text = "use crate::policy::Policy;\n/// [`crate::record::Row`]\nlet s: crate::Scenario;\n// crate::sim\n";
    let got: Vec<String> = imports(text).into_iter().collect();
    assert_eq!(got, vec!["policy".to_string(), "scenario".to_string()]);
    assert_eq!(
        module_of(Path::new("src/users/update.rs")).as_deref(),
        Some("users")
    );
    assert_eq!(module_of(Path::new("src/lib.rs")), None);
    // The rules the test enforces, each shown to fire.
    assert!(violation("error", "world").is_some(), "an arrow back up");
    assert!(
        violation("scenario", "policy").is_some(),
        "the scenario above its layer"
    );
    assert!(
        violation("chart", "calibrate").is_some(),
        "a cycle between neighbours"
    );
    assert!(
        violation("users", "record").is_some(),
        "a rule that sees output"
    );
    assert!(
        violation("payments", "output").is_some(),
        "a rule that writes files"
    );
    assert!(violation("calibrate", "chart").is_none());
    assert!(violation("users", "payments").is_none());
    assert!(violation("sim", "users").is_none());
}

/// The binary uses the public API only: no `crate::` path (it is another crate) and no
/// private module.
#[test]
fn the_binary_stays_on_the_public_api() {
    let mut all = Vec::new();
    files(Path::new("src/bin"), &mut all);
    for f in all {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(!text.contains("crate::"), "{}", f.display());
    }
}
