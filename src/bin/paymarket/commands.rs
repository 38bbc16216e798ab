//! The commands of the `paymarket` tool, one function each, on the library's public API, and
//! the helpers they share (loading with overrides, the thread pool, output sets with their
//! provenance).
//!
//! Owns: one function per command, loading with overrides, output sets with their provenance,
//! rerun and resume checks. Reads: the library's public API. Never: the model's internals.

use super::provenance::*;
use super::*;
use paymarket::experiment::{self, write_comparison, Plan, SummaryWriter};
use paymarket::output::OutputSet;
use paymarket::record::FileRecorder;
use paymarket::record::{Format, Kind, Recorder, Value, PANEL_FILES};
use paymarket::sweep::Design;
use paymarket::{AgentPanel, Month, Scenario, Simulation};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

pub(crate) fn load(path: &Path, size: Option<&Size>) -> Res<Scenario> {
    let mut s = Scenario::load(path)?;
    if let Some(size) = size {
        if let Some(u) = size.users {
            s.agents.users = u;
        }
        if let Some(m) = size.merchants {
            s.agents.merchants = m;
        }
    }
    s.validate_as(&path.display().to_string())?;
    Ok(s)
}

/// Starts the worker threads (`--threads`) and says whether this process is the root rank (the
/// one that writes files; always, without MPI).
pub(crate) fn pool(threads: Option<usize>) -> Res<bool> {
    if let Some(t) = threads {
        if t == 0 {
            return Err("--threads must be at least 1".into());
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| format!("cannot start {t} threads: {e}"))?;
    }
    Ok(paymarket::dist::is_root())
}

fn plan(s: &Scenario, reps: &Reps, common: &Common) -> Res<Plan> {
    if reps.replicates == 0 {
        return Err("--replicates must be at least 1".into());
    }
    let posterior = match &reps.posterior {
        None => None,
        Some(p) => {
            let d = paymarket::calibrate::posterior::Draws::read(p)?;
            d.check(s)?;
            Some(std::sync::Arc::new(d))
        }
    };
    Ok(Plan {
        replicates: reps.replicates,
        seed: reps.seed.unwrap_or(s.seed),
        in_flight: reps.in_flight.unwrap_or(0),
        progress: !common.quiet,
        posterior,
        watch: None,
    })
}

/// With `--posterior`: the copy of the posterior file in the output set, and the arguments
/// that make the set again from it.
fn posterior_input(reps: &Reps, plan: &Plan) -> Option<(String, String)> {
    let (p, d) = (reps.posterior.as_ref()?, plan.posterior.as_ref()?);
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "posterior.csv".into());
    // The text as read when the plan was made, so the copy is the file the runs used.
    Some((format!("inputs/posterior/{name}"), d.text.clone()))
}

/// Adds `replicate_parameters.csv` to a set whose plan has a posterior.
fn record_particles(set: &mut OutputSet, out: &Path, plan: &Plan) -> Res {
    if let Some(d) = &plan.posterior {
        set.add([paymarket::calibrate::posterior::write_replicates(
            out,
            d,
            &plan.particles(),
        )?]);
    }
    Ok(())
}

/// Peak resident memory of this process (VmHWM), where the OS reports it.
fn peak_rss() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

pub(crate) fn done(what: &str, start: Instant, out: &Path) {
    let mem = peak_rss()
        .map(|b| format!(", peak memory {:.1} MB", b as f64 / 1e6))
        .unwrap_or_default();
    eprintln!(
        "{what} in {:.1} s{mem}; files in {}",
        start.elapsed().as_secs_f64(),
        out.display()
    );
}

/// Gives two compared scenarios with the same `name` the names of their files (and says so),
/// or refuses when the files are named alike too.
fn distinct_names(b: &mut Scenario, bp: &Path, a: &mut Scenario, ap: &Path) -> Res {
    if a.name != b.name {
        return Ok(());
    }
    let stem = |p: &Path| p.file_stem().map(|x| x.to_string_lossy().into_owned());
    match (stem(bp), stem(ap)) {
        (Some(x), Some(y)) if x != y => {
            eprintln!(
                "note: both scenarios are named {:?}; naming them after their files: {x:?} (baseline) and {y:?} (alternative)",
                b.name
            );
            b.name = x;
            a.name = y;
            Ok(())
        }
        _ => Err(format!(
            "both scenarios are named {:?} and their files are named alike: give the alternative a `name` of its own",
            b.name
        )
        .into()),
    }
}

/// Steps a run to its end (or to `stop`) with the CSV files and, if asked for, the panel.
fn run_months(
    sim: &mut Simulation,
    csv: &mut FileRecorder,
    panel: &mut Option<AgentPanel>,
    stop: Option<Month>,
) -> Res {
    let mut recorders: Vec<&mut dyn Recorder> = vec![csv];
    if let Some(p) = panel.as_mut() {
        recorders.push(p);
    }
    Ok(sim.run_until(stop, &mut recorders)?)
}

/// Runs `f` with the per-run table files as its recorder (added to the set), or with none
/// under `--summary-only`.
fn with_runs<T>(
    set: &mut OutputSet,
    reps: &Reps,
    f: impl FnOnce(&mut [&mut dyn Recorder]) -> paymarket::Result<T>,
) -> Res<T> {
    if reps.summary_only {
        return Ok(f(&mut [])?);
    }
    let mut runs = FileRecorder::create_as(set.dir(), reps.format)?.without_manifest();
    set.add(paymarket::record::run_files(reps.format));
    Ok(f(&mut [&mut runs])?)
}

/// The files a run writes.
fn run_files(panel: bool, format: Format) -> Vec<String> {
    let mut files = paymarket::record::run_files(format);
    if panel {
        files.extend(PANEL_FILES.map(String::from));
    }
    files
}

/// `paymarket validate`.
pub fn validate(a: ValidateArgs, _start: Instant) -> Res<ExitCode> {
    let ValidateArgs { scenario } = a;
    let s = Scenario::load(&scenario)?;
    println!(
        "{}: valid ({}, {} to {}, {} platforms, {} channels, {} events)",
        scenario.display(),
        s.name,
        s.start,
        s.end,
        s.platforms.len(),
        s.channels.len(),
        s.events.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `paymarket run`.
pub fn run(a: RunArgs, start: Instant) -> Res<ExitCode> {
    let RunArgs {
        scenario,
        size,
        seed,
        common,
        panel,
        checkpoint_at,
        format,
    } = a;
    pool(common.threads)?;
    format.check()?;
    if checkpoint_at.is_some() && format != Format::Csv {
        return Err(
            "--checkpoint-at needs --format csv: a resumed run continues its CSV files (Parquet \
             files are written whole at the end)"
                .into(),
        );
    }
    let mut s = load(&scenario, Some(&size))?;
    if let Some(seed) = seed {
        s.seed = seed;
    }
    if let Some(m) = checkpoint_at {
        if m <= s.start || m > s.end {
            return Err(format!(
                "--checkpoint-at {m} is outside the run: choose a month after {} and up to {}",
                s.start, s.end
            )
            .into());
        }
    }
    if let Some(f) = panel {
        if !(0.0..=1.0).contains(&f) {
            return Err(format!("--panel must be between 0 and 1, got {f}").into());
        }
    }
    let mut sim = Simulation::new(s)?;
    let rerun = run_args(panel, checkpoint_at, format);
    let mut set = begin(
        &common.out,
        "run",
        &[(RESOLVED, sim.scenario())],
        sim.seed(),
        panel,
        rerun,
    )?;
    let mut csv = FileRecorder::create_as(&common.out, format)?.without_manifest();
    let mut panel_rec = panel
        .map(|f| AgentPanel::create(&common.out, f))
        .transpose()?;
    run_months(&mut sim, &mut csv, &mut panel_rec, checkpoint_at)?;
    set.add(run_files(panel.is_some(), format));
    if let Some(m) = checkpoint_at {
        let name = format!("checkpoint-{m}.ckpt");
        let path = common.out.join(&name);
        sim.save(&path)?;
        set.add([name]);
        eprintln!("saved the state before {m} to {}", path.display());
    }
    set.finish()?;
    done("run", start, &common.out);
    Ok(ExitCode::SUCCESS)
}

/// `paymarket resume`.
pub fn resume(a: ResumeArgs, start: Instant) -> Res<ExitCode> {
    let ResumeArgs { checkpoint, common } = a;
    pool(common.threads)?;
    let mut sim = Simulation::load(&checkpoint)?;
    let from = sim.month();
    // Nothing is touched before the directory is known to hold this run's rows.
    let panel = check_resume(&common.out, &checkpoint, &sim)?;
    let mut set = begin(
        &common.out,
        "run",
        &[(RESOLVED, sim.scenario())],
        sim.seed(),
        panel,
        run_args(panel, None, Format::Csv),
    )?;
    let mut csv = FileRecorder::resume(&common.out, from)?.without_manifest();
    let mut panel_rec = panel
        .map(|f| AgentPanel::resume(&common.out, f, from))
        .transpose()?;
    run_months(&mut sim, &mut csv, &mut panel_rec, None)?;
    set.add(run_files(panel.is_some(), Format::Csv));
    set.finish()?;
    done(&format!("run resumed from {from}"), start, &common.out);
    Ok(ExitCode::SUCCESS)
}

/// `paymarket ensemble`.
pub fn ensemble(a: EnsembleArgs, start: Instant) -> Res<ExitCode> {
    let EnsembleArgs {
        scenario,
        reps,
        size,
        common,
    } = a;
    let root = pool(common.threads)?;
    let s = load(&scenario, Some(&size))?;
    let plan = plan(&s, &reps, &common)?;
    if !root {
        experiment::ensemble(&s, &plan, &mut [])?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut rerun = vec!["ensemble".to_string(), RESOLVED.into()];
    rerun.extend(reps_args(&plan, &reps));
    let extra: Vec<(String, String)> = posterior_input(&reps, &plan).into_iter().collect();
    if let Some((name, _)) = extra.first() {
        rerun.extend(["--posterior".into(), name.clone()]);
    }
    let mut set = begin_with(
        &common.out,
        "ensemble",
        &[(RESOLVED, &s)],
        plan.seed,
        None,
        rerun,
        &extra,
    )?;
    record_particles(&mut set, &common.out, &plan)?;
    let summary = with_runs(&mut set, &reps, |rec| experiment::ensemble(&s, &plan, rec))?;
    let mut w = SummaryWriter::create(&common.out, &[], reps.format)?;
    w.write(&summary, &[])?;
    set.add(w.finish()?);
    if !reps.no_charts {
        set.add(charts::ensemble(&common.out, &summary, &s)?);
    }
    set.finish()?;
    done(&format!("{} runs", plan.replicates), start, &common.out);
    Ok(ExitCode::SUCCESS)
}

/// `paymarket sweep`.
pub fn sweep(a: SweepArgs, start: Instant) -> Res<ExitCode> {
    let SweepArgs {
        scenario,
        grid,
        range,
        lhs,
        point,
        reps,
        size,
        common,
    } = a;
    let root = pool(common.threads)?;
    let s = load(&scenario, Some(&size))?;
    if reps.posterior.is_some() {
        return Err(
            "--posterior is for ensemble and compare: a sweep sets its parameters itself".into(),
        );
    }
    let plan = plan(&s, &reps, &common)?;
    let design = Design::from_specs(&grid, &range, lhs, &point, plan.seed)?;
    // The setting's number, then its value of each parameter (text in the CSV files, typed
    // in Parquet).
    let mut extra = vec![("setting".to_string(), Kind::Integer)];
    extra.extend(design.paths.iter().map(|p| (p.clone(), Kind::Number)));
    if !root {
        experiment::sweep::sweep(&s, &design, &plan, |_, _, _| Ok(()))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut rerun = vec!["sweep".to_string(), RESOLVED.into()];
    for (flag, specs) in [("--grid", &grid), ("--range", &range), ("--point", &point)] {
        for spec in specs {
            rerun.extend([flag.to_string(), spec.clone()]);
        }
    }
    if let Some(n) = lhs {
        rerun.extend(["--lhs".into(), n.to_string()]);
    }
    rerun.extend(reps_args(&plan, &reps));
    let mut set = begin(
        &common.out,
        "sweep",
        &[(RESOLVED, &s)],
        plan.seed,
        None,
        rerun,
    )?;
    let mut w = SummaryWriter::create(&common.out, &extra, reps.format)?;
    experiment::sweep::sweep(&s, &design, &plan, |k, point, summary| {
        let mut cols = vec![Value::Integer(k as i64)];
        cols.extend(point.iter().map(|v| Value::number(*v)));
        w.write(&summary, &cols)
    })?;
    set.add(w.finish()?);
    set.finish()?;
    done(
        &format!(
            "{} settings × {} runs",
            design.points.len(),
            plan.replicates
        ),
        start,
        &common.out,
    );
    Ok(ExitCode::SUCCESS)
}

/// `paymarket calibrate`.
pub fn calibrate(a: CalibrateArgs, start: Instant) -> Res<ExitCode> {
    let CalibrateArgs {
        scenario,
        targets,
        budget,
        params,
        seed,
        replicates,
        report_replicates,
        window_end,
        users_weight,
        write_scenario,
        size,
        common,
        method,
        particles,
        alpha,
        min_acceptance,
    } = a;
    let root = pool(common.threads)?;
    let abc = match method {
        Method::Point => None,
        Method::Abc => Some(paymarket::calibrate::abc::AbcSettings {
            particles: particles as usize,
            alpha,
            min_acceptance,
            budget: budget as usize,
        }),
    };
    let defaults = paymarket::calibrate::Settings::default();
    let job = paymarket::calibrate::Job {
        scenario_path: scenario,
        scenario_text: None,
        targets_dir: targets,
        parameters: params,
        settings: paymarket::calibrate::Settings {
            window_end,
            replicates,
            seed,
            users: size.users.unwrap_or(defaults.users),
            merchants: size.merchants.unwrap_or(defaults.merchants),
            users_weight,
            budget: budget as usize,
            watch: None,
        },
        report_replicates,
        out: Some(common.out.clone()),
        write_scenario,
        command: command_line().join(" "),
        progress: !common.quiet,
        provenance: Some(provenance(seed, vec![])),
        abc: abc.clone(),
    };
    if let Some(abc) = &abc {
        let report = paymarket::calibrate::run_abc(&job, abc)?;
        if !root {
            return Ok(ExitCode::SUCCESS);
        }
        print!("{}", report.text());
        if let (Some(file), Some(beside)) = (&report.scenario_file, &report.posterior_file) {
            eprintln!(
                "calibrated scenario written to {}, its posterior sample to {}",
                file.display(),
                beside.display()
            );
        }
        done("calibration", start, &common.out);
        return Ok(ExitCode::SUCCESS);
    }
    let report = paymarket::calibrate::run(&job)?;
    if !root {
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", report.text());
    if let Some(file) = &report.scenario_file {
        eprintln!("calibrated scenario written to {}", file.display());
    }
    done("calibration", start, &common.out);
    Ok(ExitCode::SUCCESS)
}

/// `paymarket compare`.
pub fn compare(a: CompareArgs, start: Instant) -> Res<ExitCode> {
    let CompareArgs {
        baseline,
        alternative,
        fork_at,
        reps,
        size,
        common,
    } = a;
    let root = pool(common.threads)?;
    let mut b = load(&baseline, Some(&size))?;
    let mut a = load(&alternative, Some(&size))?;
    distinct_names(&mut b, &baseline, &mut a, &alternative)?;
    let plan = plan(&b, &reps, &common)?;
    if let Some(d) = &plan.posterior {
        d.check(&a)?;
        // The particle sets its paths on both sides: a difference there would be erased.
        for path in &d.paths {
            let (vb, va) = (
                paymarket::scenario::path::get_path(&b, path)?,
                paymarket::scenario::path::get_path(&a, path)?,
            );
            if vb != va {
                return Err(format!(
                    "{path} is {vb} in {} and {va} in {}, but the posterior sample {} sets it in \
                     both: compare scenarios that differ elsewhere, or drop --posterior",
                    baseline.display(),
                    alternative.display(),
                    d.origin
                )
                .into());
            }
        }
    }
    if !root {
        experiment::compare(&b, &a, &plan, fork_at, &mut [])?;
        return Ok(ExitCode::SUCCESS);
    }
    let (bn, an) = ("baseline.resolved.toml", "alternative.resolved.toml");
    let mut rerun = vec!["compare".to_string(), bn.into(), an.into()];
    if let Some(f) = fork_at {
        rerun.extend(["--fork-at".into(), f.to_string()]);
    }
    rerun.extend(reps_args(&plan, &reps));
    let extra: Vec<(String, String)> = posterior_input(&reps, &plan).into_iter().collect();
    if let Some((name, _)) = extra.first() {
        rerun.extend(["--posterior".into(), name.clone()]);
    }
    let mut set = begin_with(
        &common.out,
        "compare",
        &[(bn, &b), (an, &a)],
        plan.seed,
        None,
        rerun,
        &extra,
    )?;
    record_particles(&mut set, &common.out, &plan)?;
    let effects = with_runs(&mut set, &reps, |rec| {
        experiment::compare(&b, &a, &plan, fork_at, rec)
    })?;
    set.add(write_comparison(&common.out, &effects, reps.format)?);
    if !reps.no_charts {
        set.add(charts::compare(&common.out, &effects, &a)?);
    }
    set.finish()?;
    let t = effects.baseline.months().len() - 1;
    println!(
        "effect on value share in {} ({} minus {}):",
        effects.baseline.months()[t],
        a.name,
        b.name
    );
    for line in effects.describe(t, "value_share") {
        println!("  {line}");
    }
    done(
        &format!("{} pairs of runs", plan.replicates),
        start,
        &common.out,
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "charts")]
mod charts {
    use super::Res;
    use paymarket::chart::{comparison_charts, event_months, platform_chart};
    use paymarket::experiment::{Effects, Summary};
    use paymarket::Scenario;
    use std::path::Path;

    pub fn ensemble(out: &Path, s: &Summary, scenario: &Scenario) -> Res<Vec<String>> {
        let events = event_months(scenario);
        platform_chart(&out.join("value_share.svg"), s, "value_share", &events)?;
        Ok(vec!["value_share.svg".into()])
    }

    pub fn compare(out: &Path, e: &Effects, alternative: &Scenario) -> Res<Vec<String>> {
        Ok(comparison_charts(out, e, &event_months(alternative))?)
    }
}

#[cfg(not(feature = "charts"))]
mod charts {
    use super::Res;
    use paymarket::experiment::{Effects, Summary};
    use paymarket::Scenario;
    use std::path::Path;

    pub fn ensemble(_: &Path, _: &Summary, _: &Scenario) -> Res<Vec<String>> {
        Ok(vec![])
    }

    pub fn compare(_: &Path, _: &Effects, _: &Scenario) -> Res<Vec<String>> {
        Ok(vec![])
    }
}
