//! Shared helpers for the integration tests: a small two-wallet scenario and a runner that
//! checks the invariants every month.
#![allow(dead_code)]

use paymarket::{scenario::Event, MonthReport, Scenario, Simulation};
use std::path::{Path, PathBuf};

pub const BASE: &str = r#"
name = "test"
start = "2020-01"
end = "2021-12"
population = 1e6
seed = 11

[agents]
users = 20000
merchants = 2000

[[network]]
id = "chat"
path = [["2020-01", 600000]]

[[platform]]
id = "a"
init_users = 0.5
innovation = 0.002
imitation = { everyone = 0.05 }
brand = 0.2

[[platform]]
id = "b"
init_users = 0.3
innovation = 0.002
imitation = { chat = 0.1 }

[[channel]]
id = "shops"
kind = "merchant"
weight = 0.5
shops = 10000
init_accept = { a = 0.5, b = 0.3 }

[[channel]]
id = "garden"
kind = "merchant"
weight = 0.2
cash = false
platforms = ["a"]
shops = 1000
init_accept = { a = 1.0 }

[[channel]]
id = "chat"
kind = "p2p"
weight = 0.1
requires = "chat"
cash = false

[[channel]]
id = "own"
kind = "own"
weight = 0.2
"#;

/// The base scenario.
pub fn base() -> Scenario {
    Scenario::from_toml_str(BASE, "base").expect("base scenario parses")
}

/// Runs a scenario to the end, checking the invariants after every month.
pub fn run(s: Scenario) -> Vec<MonthReport> {
    let mut sim = Simulation::new(s).expect("valid scenario");
    let mut out = Vec::new();
    while let Some(r) = sim.step().expect("step") {
        out.push(r.clone());
        sim.check_invariants().expect("invariants hold");
    }
    out
}

/// An event of `kind` at `at` with no fields set.
pub fn event(at: &str, kind: &str) -> Event {
    Event {
        at: at.parse().unwrap(),
        kind: kind.parse().expect("a known event kind"),
        source: "test".to_string(),
        ..Event::default()
    }
}

/// Index of platform `id` in the report rows.
pub fn pj(r: &MonthReport, id: &str) -> usize {
    r.platforms.iter().position(|p| p.platform == id).unwrap()
}

/// Index of channel `id` in the report rows.
pub fn cj(r: &MonthReport, id: &str) -> usize {
    r.channels.iter().position(|c| c.channel == id).unwrap()
}

/// Shops accepting platform `p` in channel `c`.
pub fn accepting(r: &MonthReport, c: &str, p: &str) -> f64 {
    r.channels[cj(r, c)].merchants_accepting.as_ref().unwrap()[pj(r, p)]
}

/// Value of platform `p` in channel `c`.
pub fn value(r: &MonthReport, c: &str, p: &str) -> f64 {
    r.channels[cj(r, c)].value[pj(r, p)]
}

/// A fresh, empty directory for test `name` of suite `suite`, unique to this process.
pub fn tmp_dir(suite: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("paymarket-{suite}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The scenario file at `path` with `users` users and a tenth as many merchants.
pub fn sized(path: &str, users: u64) -> Scenario {
    let mut s = Scenario::load(path).unwrap();
    s.agents.users = users;
    s.agents.merchants = users / 10;
    s
}

/// The base scenario written to `dir/base.toml`; returns the path.
pub fn base_file(dir: &Path) -> String {
    let p = dir.join("base.toml");
    std::fs::write(&p, BASE).unwrap();
    p.display().to_string()
}

/// The base scenario with `b` blocked from the shops in 2021-01, named `blocked`, written to
/// `dir/alt.toml`; returns the path.
pub fn blocked_file(dir: &Path) -> String {
    let p = dir.join("alt.toml");
    std::fs::write(
        &p,
        format!(
            "{}\n[[event]]\nat = \"2021-01\"\nkind = \"block\"\nplatform = \"b\"\nchannel = \"shops\"\nscope = \"use\"\n",
            BASE.replace("name = \"test\"", "name = \"blocked\"")
        ),
    )
    .unwrap();
    p.display().to_string()
}

/// Index of channel `id` in a scenario.
pub fn cj_of(s: &paymarket::Scenario, id: &str) -> usize {
    s.channels.iter().position(|c| c.id == id).unwrap()
}

/// Runs the `paymarket` tool with `args`, quietly, writing into `out` (emptied first); fails
/// the test with the tool's stderr if it does not succeed.
pub fn paymarket<S: AsRef<std::ffi::OsStr>>(args: &[S], out: &Path) {
    let _ = std::fs::remove_dir_all(out);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_paymarket"))
        .args(args)
        .args(["-q".as_ref(), "--out".as_ref(), out.as_os_str()])
        .output()
        .unwrap();
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
    assert!(
        o.status.success(),
        "{shown:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The base scenario with `b` losing share to `a` (a's brand 1.5) and defending it in `shops`:
/// `DefendShare` from the start, raising its subsidy by 0.004 when its value share fell by more
/// than `threshold` over a quarter, up to `cap`, with no budget limit.
pub fn share_defender(threshold: f64, cap: f64) -> Scenario {
    let mut s = base();
    s.platforms[0].brand = 1.5;
    s.platforms[1].strategy = Some(paymarket::scenario::StrategySpec::DefendShare {
        start: "2020-01".parse().unwrap(),
        threshold,
        step: 0.004,
        cap,
        budget: 1e15,
        channels: vec!["shops".into()],
    });
    s
}
