//! The functions that study a scenario rather than run it: `calibrate` (fit its behavioural
//! parameters to observed figures) and `sensitivity` (which of its guesses an answer depends
//! on), each as the tool's command of the same name, its output set written only when asked.

use super::{batches, py_err, rayon_pool, sized, watched, Scenario, Table};
use paymarket::calibrate::abc::AbcSettings;
use paymarket::calibrate::{run as calibrate_point, run_abc, Job, Settings};
use paymarket::experiment::sensitivity::{analyse_reusing, design_ids, Known, Study};
use paymarket::experiment::Watch;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

/// What a calibration returns to Python: its tables (the files' tables, in their order), the
/// calibrated scenario, its account as text, the files written and the posterior file.
type Calibrated = (Vec<Table>, Scenario, String, Vec<String>, Option<String>);

/// Calibrates a scenario's behavioural parameters to the observed figures in `targets` (a
/// directory such as `data/observed`) by the point search (`method="point"`) or ABC
/// (`method="abc"`), as the tool's `calibrate`. `path` is the scenario's file when it was read
/// from one (its text, comments and all, becomes the calibrated file); `params` a parameter
/// file (default: the tool's default parameters). With `out` the output set is written as the
/// tool writes it; without, nothing is written. Runs without the interpreter lock; Ctrl-C stops
/// it at its next candidate.
#[pyfunction]
#[pyo3(signature = (scenario, targets, path=None, params=None, method="point", budget=120, seed=1, replicates=2, report_replicates=10, window_end="2016-12", users_weight=0.01, users=50_000, merchants=5_000, particles=200, alpha=0.5, min_acceptance=0.05, out=None, write_scenario=None, threads=0, progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn calibrate(
    py: Python<'_>,
    scenario: &Scenario,
    targets: PathBuf,
    path: Option<PathBuf>,
    params: Option<PathBuf>,
    method: &str,
    budget: u64,
    seed: u64,
    replicates: u64,
    report_replicates: u64,
    window_end: &str,
    users_weight: f64,
    users: u64,
    merchants: u64,
    particles: u64,
    alpha: f64,
    min_acceptance: f64,
    out: Option<PathBuf>,
    write_scenario: Option<PathBuf>,
    threads: usize,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<Calibrated> {
    let window_end: paymarket::Month = window_end.parse().map_err(|_| {
        PyValueError::new_err(format!(
            "window_end must be a month YYYY-MM, got {window_end:?}"
        ))
    })?;
    if write_scenario.is_some() && out.is_none() {
        return Err(PyValueError::new_err(
            "write_scenario needs out: a calibration without an output directory writes nothing",
        ));
    }
    let abc = match method {
        "point" => None,
        "abc" => Some(AbcSettings {
            particles: usize::try_from(particles).unwrap_or(usize::MAX),
            alpha,
            min_acceptance,
            budget: usize::try_from(budget).unwrap_or(usize::MAX),
        }),
        _ => {
            return Err(PyValueError::new_err(format!(
                "method must be \"point\" or \"abc\", got {method:?}"
            )))
        }
    };
    let (scenario_path, scenario_text) = match path {
        Some(p) => (p, None),
        None => (
            PathBuf::from(format!("{}.toml", scenario.inner.name)),
            Some(scenario.inner.to_toml().map_err(py_err)?),
        ),
    };
    let watch = Arc::new(Watch::default());
    let mut job = Job {
        scenario_path,
        scenario_text,
        targets_dir: targets,
        parameters: params,
        settings: Settings {
            window_end,
            replicates,
            seed,
            users,
            merchants,
            users_weight,
            budget: usize::try_from(budget).unwrap_or(usize::MAX),
            watch: Some(watch.clone()),
        },
        report_replicates,
        out,
        write_scenario,
        command: String::new(),
        progress: false,
        provenance: None,
        abc,
    };
    job.check().map_err(py_err)?;
    job.command = command(&job);
    let pool = rayon_pool(threads)?;
    let job = &job;
    let run = || {
        pool.install(|| match &job.abc {
            Some(abc) => run_abc(job, abc).map(|r| {
                let frames = r.frames();
                let beside = r.posterior_file.as_ref().map(|p| p.display().to_string());
                let text = r.text();
                (frames, r.calibrated, text, r.files, beside)
            }),
            None => calibrate_point(job).map(|r| {
                let (frames, text) = (r.frames(), r.text());
                (frames, r.calibrated, text, r.files, None)
            }),
        })
    };
    let (frames, calibrated, text, files, beside) =
        watched(py, None, watch, progress.as_ref(), run)?;
    let tables = batches(&frames.map_err(py_err)?)?;
    Ok((tables, Scenario { inner: calibrated }, text, files, beside))
}

/// The tool's command line that makes the same calibration (recorded in the calibrated
/// scenario's header): the job's rerun arguments with the real paths in place of the output
/// set's copies.
fn command(job: &Job) -> String {
    let mut args = vec!["paymarket".to_string()];
    let mut rerun = job.rerun_args().into_iter();
    while let Some(a) = rerun.next() {
        let real = match a.as_str() {
            "--targets" => Some(job.targets_dir.display().to_string()),
            "--params" => job.parameters.as_ref().map(|p| p.display().to_string()),
            _ => None,
        };
        args.push(a);
        if let Some(real) = real {
            rerun.next();
            args.push(real);
        }
    }
    args[2] = job.scenario_path.display().to_string();
    if let Some(out) = &job.out {
        args.extend(["--out".to_string(), out.display().to_string()]);
    }
    args.join(" ")
}

/// What a sensitivity analysis returns to Python: its tables (`sensitivity`, `design`,
/// `outputs`, `noise`), the tool's printed account, the files written and the design points
/// reused from the set extended.
type Analysed = (Vec<Table>, String, Vec<String>, usize);

/// Runs a global sensitivity analysis as the tool's `sensitivity`: `ranges` as (path, low,
/// high), `outputs` as the tool writes them (`platforms.tenpay.value_share@2020-12`), the
/// method (`morris` or `sobol`) and its budget of design points, replicates per point; `vs` an
/// alternative scenario or `effect_of` a group of the scenario's events, whose paired effect
/// every output becomes; `end` extends the scenarios. `path` and `vs_path` name the scenarios'
/// files in the command recorded in the output set, written to `out` as the tool writes it
/// (nothing without `out`); `extend` an output set of the same analysis at another budget,
/// whose runs are reused. Runs without the interpreter lock; Ctrl-C stops it between months.
#[pyfunction]
#[pyo3(signature = (scenario, ranges, outputs, method="morris", budget=200, replicates=2, seed=None, bootstrap=1000, vs=None, effect_of=None, end=None, independent_seeds=false, spread=false, users=None, merchants=None, path=None, vs_path=None, extend=None, out=None, threads=0, progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn sensitivity(
    py: Python<'_>,
    scenario: &Scenario,
    ranges: Vec<(String, f64, f64)>,
    outputs: Vec<String>,
    method: &str,
    budget: usize,
    replicates: u64,
    seed: Option<u64>,
    bootstrap: usize,
    vs: Option<Scenario>,
    effect_of: Option<String>,
    end: Option<String>,
    independent_seeds: bool,
    spread: bool,
    users: Option<u64>,
    merchants: Option<u64>,
    path: Option<String>,
    vs_path: Option<String>,
    extend: Option<PathBuf>,
    out: Option<PathBuf>,
    threads: usize,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<Analysed> {
    let end = end
        .map(|m| {
            m.parse::<paymarket::Month>().map_err(|_| {
                PyValueError::new_err(format!("end must be a month YYYY-MM, got {m:?}"))
            })
        })
        .transpose()?;
    let watch = Arc::new(Watch::default());
    let study = Study {
        vs: vs.as_ref().map(|v| sized(v, users, merchants)),
        effect_of,
        end,
        // Rust's shortest round-trip form: the tool reads back exactly these numbers.
        ranges: ranges
            .iter()
            .map(|(p, lo, hi)| format!("{p}={lo}:{hi}"))
            .collect(),
        outputs,
        method: method.to_string(),
        budget,
        replicates,
        seed,
        bootstrap,
        independent: independent_seeds,
        spread,
        watch: Some(watch.clone()),
        extend,
        ..Study::new(sized(scenario, users, merchants))
    };
    let prepared = study.prepare().map_err(py_err)?;
    let spec = &prepared.spec;
    let known = match &study.extend {
        Some(dir) => py.detach(|| study.known(dir, &prepared)).map_err(py_err)?,
        None => Known::default(),
    };
    // The runs to take: the design's points but those the extended set lends.
    let k = spec.ranges.len();
    let lent = match &study.extend {
        Some(_) => design_ids(spec.method, k, spec.seed)
            .iter()
            .filter(|id| known.points.contains_key(id))
            .count(),
        None => 0,
    };
    let runs = (spec.method.points(k) - lent) as u64
        * spec.replicates
        * if spec.vs.is_some() { 2 } else { 1 };
    let pool = rayon_pool(threads)?;
    let report = watched(py, Some(runs), watch, progress.as_ref(), || {
        pool.install(|| analyse_reusing(&prepared.scenario, spec, &known))
    })?;
    let files = match &out {
        None => Vec::new(),
        Some(dir) => {
            let mut command = study.rerun_args(&prepared);
            command.insert(0, "paymarket".into());
            command[2] = path.unwrap_or_else(|| format!("{}.toml", scenario.inner.name));
            if let (Some(k), Some(v)) = (command.iter().position(|a| a == "--vs"), &vs) {
                command[k + 1] = vs_path.unwrap_or_else(|| format!("{}.toml", v.inner.name));
            }
            for (flag, n) in [("--users", users), ("--merchants", merchants)] {
                if let Some(n) = n {
                    command.extend([flag.to_string(), n.to_string()]);
                }
            }
            command.extend(["--out".into(), dir.display().to_string()]);
            let draw: paymarket::experiment::sensitivity::study::Drawer =
                paymarket::chart::sensitivity_chart;
            pool.install(|| study.write(dir, &prepared, &report, command, Some(draw)))
                .map_err(py_err)?
        }
    };
    let tables = batches(&[
        report.frame(),
        report.design_frame(spec),
        report.outputs_frame(spec),
        report.noise_frame(spec),
    ])?;
    Ok((tables, report.text(spec), files, report.reused))
}
