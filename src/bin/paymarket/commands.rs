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

fn load(path: &Path, size: Option<&Size>) -> Res<Scenario> {
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
fn pool(threads: Option<usize>) -> Res<bool> {
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

fn done(what: &str, start: Instant, out: &Path) {
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

/// `paymarket sensitivity`.
pub fn sensitivity(a: SensitivityArgs, start: Instant) -> Res<ExitCode> {
    use paymarket::experiment::sensitivity::{analyse, write_files, Method, Output, Spec};
    let root = pool(a.common.threads)?;
    let mut s = load(&a.scenario, Some(&a.size))?;
    let mut vs = a.vs.as_ref().map(|p| load(p, Some(&a.size))).transpose()?;
    if let Some(end) = a.end {
        for x in std::iter::once(&mut s).chain(vs.as_mut()) {
            if end < x.start {
                return Err(
                    format!("--end {end} is before the scenario's start {}", x.start).into(),
                );
            }
            x.end = end;
            x.validate_as("the scenario extended by --end")?;
        }
    }
    let ranges: Vec<(String, f64, f64)> = a
        .range
        .iter()
        .map(|spec| {
            let parsed = spec.split_once('=').and_then(|(p, r)| {
                let (lo, hi) = r.split_once(':')?;
                Some((p.to_string(), lo.parse().ok()?, hi.parse().ok()?))
            });
            parsed.ok_or_else(|| {
                format!("--range {spec:?}: write PATH=LO:HI, e.g. params.churn_rate=0.05:0.2")
            })
        })
        .collect::<Result<_, _>>()?;
    // The scenario as given (the set's resolved scenario), then the analysed pair.
    let given = s.clone();
    if let Some(group) = &a.effect_of {
        let without: Vec<_> = s
            .events
            .iter()
            .filter(|e| e.group.as_deref() != Some(group.as_str()))
            .cloned()
            .collect();
        if without.len() == s.events.len() {
            return Err(format!(
                "--effect-of {group}: no event of {} has group = {group:?}",
                a.scenario.display()
            )
            .into());
        }
        vs = Some(s.clone());
        s.events = without;
        s.name = format!("{}_without_{group}", s.name);
    }
    let outputs: Vec<Output> = a
        .output
        .iter()
        .map(|o| Output::parse(o, &s))
        .collect::<paymarket::Result<_>>()?;
    let spec = Spec {
        method: Method::with_budget(&a.method, a.budget as usize, ranges.len())?,
        ranges,
        outputs,
        replicates: a.replicates,
        seed: a.seed.unwrap_or(s.seed),
        bootstrap: a.bootstrap as usize,
        vs,
        independent: a.independent_seeds,
    };
    let report = analyse(&s, &spec)?;
    if !root {
        return Ok(ExitCode::SUCCESS);
    }
    let mut rerun = vec![
        "sensitivity".to_string(),
        RESOLVED.into(),
        "--method".into(),
        spec.method.name().into(),
    ];
    for r in &a.range {
        rerun.extend(["--range".into(), r.clone()]);
    }
    for o in &a.output {
        rerun.extend(["--output".into(), o.clone()]);
    }
    for (flag, v) in [
        ("--budget", a.budget.to_string()),
        ("--replicates", spec.replicates.to_string()),
        ("--seed", spec.seed.to_string()),
        ("--bootstrap", a.bootstrap.to_string()),
    ] {
        rerun.extend([flag.to_string(), v]);
    }
    if a.independent_seeds {
        rerun.push("--independent-seeds".into());
    }
    let alt = "alternative.resolved.toml";
    let mut scenarios = vec![(RESOLVED, &given)];
    if let Some(group) = &a.effect_of {
        rerun.extend(["--effect-of".into(), group.clone()]);
    } else if let Some(v) = &spec.vs {
        rerun.extend(["--vs".into(), alt.into()]);
        scenarios.push((alt, v));
    }
    let mut set = begin(
        &a.common.out,
        "sensitivity",
        &scenarios,
        spec.seed,
        None,
        rerun,
    )?;
    set.add(write_files(&a.common.out, &report, &spec)?);
    #[cfg(feature = "charts")]
    set.add(paymarket::chart::sensitivity_chart(&a.common.out, &report)?);
    set.finish()?;
    for r in &report.rows {
        let zero = if r.estimate.includes_zero() {
            "  (interval includes 0)"
        } else {
            ""
        };
        println!(
            "{:<44} {:<32} {:<8} {:>11.4} [{:.4}, {:.4}]{zero}",
            r.output, r.parameter, r.index, r.estimate.estimate, r.estimate.lo, r.estimate.hi
        );
    }
    for (o, n) in spec.outputs.iter().zip(&report.noise) {
        println!(
            "{}: seed noise is {:.1}% of its variance",
            o.text,
            100.0 * n.share()
        );
    }
    done(
        &format!(
            "{} points × {} replicates",
            report.points.len(),
            spec.replicates
        ),
        start,
        &a.common.out,
    );
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

/// The scenario `paymarket serve` explores without a file: the calibrated history.
#[cfg(feature = "serve")]
const HISTORY: &str = include_str!("../../../data/scenarios/china_2012_2021_calibrated.toml");

/// `paymarket serve`.
#[cfg(feature = "serve")]
pub fn serve(a: ServeArgs) -> Res<ExitCode> {
    use paymarket::serve::{api::Limits, Config, Server};
    pool(a.threads)?;
    let scenario = match &a.scenario {
        Some(p) => Scenario::load(p)?,
        None => Scenario::from_toml_str(HISTORY, "the built-in calibrated history")?,
    };
    let merchants = a.merchants.unwrap_or(a.users / 10);
    let mut config = Config::new(scenario);
    config.host = a.host.clone();
    config.port = a.port;
    config.users = a.users;
    config.merchants = merchants;
    config.limits = Limits {
        max_users: a.max_users,
        max_merchants: a.max_merchants,
        max_replicates: a.max_replicates,
        ..Limits::default()
    };
    if a.users > a.max_users || merchants > a.max_merchants {
        return Err(format!(
            "--users {} and --merchants {merchants} must be within --max-users {} and --max-merchants {}",
            a.users, a.max_users, a.max_merchants
        )
        .into());
    }
    let loopback = a
        .host
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(a.host == "localhost");
    let server = Server::bind(config)?;
    let address = server.address()?;
    if !loopback {
        eprintln!(
            "warning: listening on {address}: anyone who can reach this port can run simulations \
             on this machine (within --max-users and --max-replicates)"
        );
    }
    let shown = if loopback {
        format!("http://127.0.0.1:{}", address.port())
    } else {
        format!("http://{address}")
    };
    println!("paymarket explorer at {shown}  (Ctrl-C stops it)");
    server.run();
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
