//! How an output set of the tool records itself and is made again: the command line, the
//! identity and resolved inputs written before any row, the arguments of `rerun`, and the
//! checks that `resume` and `rerun` make against a directory's records.

use super::*;
use paymarket::experiment::Plan;
use paymarket::output::{
    check_manifest, read_identity, Identity, OutputSet, Provenance, ScenarioId, IDENTITY, MANIFEST,
};
use paymarket::{Month, Scenario, Simulation};
use std::path::Path;

/// The command line under `rerun`: the one that made the set first, recorded again.
static RECORDED: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// Under `rerun`, records the command line that made the set first.
pub fn record_command(recorded: Vec<String>) {
    let _ = RECORDED.set(recorded);
}

/// The command line to record: as typed (the program named `paymarket`), or under `rerun` the
/// one that made the set first.
pub fn command_line() -> Vec<String> {
    RECORDED.get().cloned().unwrap_or_else(|| {
        std::env::args()
            .enumerate()
            .map(|(k, a)| if k == 0 { "paymarket".to_string() } else { a })
            .collect()
    })
}

pub fn provenance(seed: u64, rerun: Vec<String>) -> Provenance {
    Provenance {
        command: command_line(),
        seed,
        threads: rayon::current_num_threads(),
        rerun,
        inputs: vec![],
    }
}

/// The resolved scenario's file name in an output set.
pub const RESOLVED: &str = "scenario.resolved.toml";

/// Starts an output set: the identity and the resolved scenarios (`(file name, scenario)`)
/// before any row; `rerun` names those files.
pub fn begin(
    out: &Path,
    command: &str,
    scenarios: &[(&str, &Scenario)],
    seed: u64,
    panel: Option<f64>,
    rerun: Vec<String>,
) -> Res<OutputSet> {
    begin_with(out, command, scenarios, seed, panel, rerun, &[])
}

/// [`begin`] with further inputs copied into the set (`(name in the set, text)`: a posterior
/// sample, say).
pub fn begin_with(
    out: &Path,
    command: &str,
    scenarios: &[(&str, &Scenario)],
    seed: u64,
    panel: Option<f64>,
    rerun: Vec<String>,
    extra: &[(String, String)],
) -> Res<OutputSet> {
    let identity = Identity {
        command: command.into(),
        scenarios: scenarios
            .iter()
            .map(|(_, s)| ScenarioId::new(&s.name, s.fingerprint()))
            .collect(),
        seed,
        panel,
    };
    let mut inputs = Vec::new();
    for (name, s) in scenarios {
        inputs.push((name.to_string(), s.to_toml()?));
    }
    inputs.extend(extra.iter().cloned());
    Ok(OutputSet::begin(
        out,
        &identity,
        provenance(seed, rerun),
        &inputs,
    )?)
}

/// The replicate flags that make an experiment again (the master seed made explicit).
pub fn reps_args(plan: &Plan, reps: &Reps) -> Vec<String> {
    let mut a = vec![
        "--replicates".to_string(),
        plan.replicates.to_string(),
        "--seed".into(),
        plan.seed.to_string(),
    ];
    if reps.summary_only {
        a.push("--summary-only".into());
    }
    if reps.no_charts {
        a.push("--no-charts".into());
    }
    if reps.format != paymarket::record::Format::Csv {
        a.extend(["--format".into(), reps.format.to_string()]);
    }
    a
}

/// The arguments that make a run again from its resolved scenario.
pub fn run_args(
    panel: Option<f64>,
    checkpoint_at: Option<Month>,
    format: paymarket::record::Format,
) -> Vec<String> {
    let mut a = vec!["run".to_string(), RESOLVED.into()];
    if format != paymarket::record::Format::Csv {
        a.extend(["--format".into(), format.to_string()]);
    }
    if let Some(f) = panel {
        a.extend(["--panel".into(), f.to_string()]);
    }
    if let Some(m) = checkpoint_at {
        a.extend(["--checkpoint-at".into(), m.to_string()]);
    }
    a
}

/// Refuses to resume into `out` unless its rows are the checkpoint's run's; returns the panel
/// fraction the run recorded.
pub fn check_resume(out: &Path, checkpoint: &Path, sim: &Simulation) -> Res<Option<f64>> {
    let id = read_identity(out)?.ok_or_else(|| {
        format!(
            "{} has no {IDENTITY}: resume continues the output directory of the `paymarket run \
             --checkpoint-at` that saved {}; pass that directory as --out (nothing was changed)",
            out.display(),
            checkpoint.display()
        )
    })?;
    let want = ScenarioId::new(&sim.scenario().name, sim.scenario().fingerprint());
    if id.command != "run" || id.scenarios != [want.clone()] || id.seed != sim.seed() {
        let theirs = id
            .scenarios
            .iter()
            .map(|s| format!("{:?} (fingerprint {})", s.name, s.fingerprint))
            .collect::<Vec<_>>()
            .join(" and ");
        return Err(format!(
            "refusing to resume into {}: its rows come from `{}` of {theirs} with seed {}, but {} \
             holds {:?} (fingerprint {}) with seed {}; nothing was changed. Resume into the \
             directory of the run that saved the checkpoint, or start a new run",
            out.display(),
            id.command,
            id.seed,
            checkpoint.display(),
            want.name,
            want.fingerprint,
            sim.seed()
        )
        .into());
    }
    Ok(id.panel)
}

/// The command recorded in `dir`'s manifest, its inputs resolved against `dir`.
pub fn rerun_cli(dir: &Path, common: &Common) -> Res<(Cli, Vec<String>)> {
    if dir == common.out {
        return Err("rerun writes a new set: --out must be another directory than DIR".into());
    }
    let m = check_manifest(dir)?;
    let p = m.provenance.ok_or_else(|| {
        format!(
            "{}: its manifest records no command (written by library code, or by paymarket \
             before 0.2); rerun needs a set written by the paymarket tool",
            dir.join(MANIFEST).display()
        )
    })?;
    let mut argv = vec!["paymarket".to_string()];
    for a in &p.rerun {
        let input = p
            .inputs
            .iter()
            .any(|i| i == a || i.starts_with(&format!("{a}/")));
        argv.push(if input {
            dir.join(a).display().to_string()
        } else {
            a.clone()
        });
    }
    argv.extend(["--out".into(), common.out.display().to_string()]);
    if let Some(t) = common.threads {
        argv.extend(["--threads".into(), t.to_string()]);
    }
    if common.quiet {
        argv.push("--quiet".into());
    }
    let cli = Cli::try_parse_from(&argv).map_err(|e| {
        format!(
            "{}: the recorded command does not parse: {}",
            dir.join(MANIFEST).display(),
            e.to_string().trim_end()
        )
    })?;
    if matches!(cli.command, Command::Rerun(_) | Command::Validate(_)) {
        return Err(format!("{}: no output set to make again", dir.display()).into());
    }
    Ok((cli, p.command))
}
