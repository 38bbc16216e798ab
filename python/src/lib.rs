//! paymarket for Python: the native module `paymarket._paymarket` behind the `paymarket`
//! package. Scenarios are loaded, read and changed by field path; a run's five tables come back
//! as Arrow record batches through the Arrow C data interface (`__arrow_c_array__`), so a
//! table crosses into Python as columns, never as one Python object per cell.

use arrow_array::ffi::to_ffi;
use arrow_array::{RecordBatch, StructArray};
use paymarket::calibrate::posterior::Draws;
use paymarket::experiment::sweep::Design;
use paymarket::experiment::{self, Plan, SummaryFrames, Watch};
use paymarket::record::{Frame, Frames, Kind, Value};
use paymarket::scenario::path::{get_path, set_path};
use pyo3::create_exception;
use pyo3::exceptions::{
    PyFileNotFoundError, PyKeyboardInterrupt, PyMemoryError, PyOSError, PyRuntimeError,
    PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict, PyTuple};
use std::sync::{Arc, Mutex};

mod analysis;

create_exception!(
    paymarket,
    ScenarioError,
    pyo3::exceptions::PyException,
    "A scenario that cannot be read or run: `.problems` lists (field path, message) pairs."
);

/// A paymarket error as a Python exception: scenario problems as `ScenarioError` with their
/// field paths, a missing file as `FileNotFoundError` (other file errors `OSError`), too little
/// memory for the agents asked for as `MemoryError`, a broken model invariant (a bug) as
/// `RuntimeError`, anything else as `ValueError`.
fn py_err(e: paymarket::Error) -> PyErr {
    match &e {
        paymarket::Error::Scenario { problems, .. } => {
            let list: Vec<(String, String)> = problems
                .iter()
                .map(|p| (p.path.clone(), p.message.clone()))
                .collect();
            let err = ScenarioError::new_err(e.to_string());
            Python::attach(|py| {
                let _ = err.value(py).setattr("problems", list);
            });
            err
        }
        paymarket::Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(e.to_string())
        }
        paymarket::Error::Io { .. } | paymarket::Error::Csv { .. } => {
            PyOSError::new_err(e.to_string())
        }
        paymarket::Error::OutOfMemory { .. } => PyMemoryError::new_err(e.to_string()),
        paymarket::Error::Invariant { .. } => PyRuntimeError::new_err(e.to_string()),
        paymarket::Error::Stopped { .. } => PyKeyboardInterrupt::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// A scenario: load one with `Scenario.load(path)` or `Scenario.from_toml(text)`, read and
/// change fields by path (`s["params.churn_rate"]`, `s.set("params.churn_rate", 0.1)`),
/// check it with `s.validate()`.
#[pyclass(module = "paymarket._paymarket", from_py_object)]
#[derive(Clone)]
struct Scenario {
    inner: paymarket::Scenario,
}

#[pymethods]
impl Scenario {
    /// Reads a scenario file (TOML).
    #[staticmethod]
    fn load(path: std::path::PathBuf) -> PyResult<Scenario> {
        paymarket::Scenario::load(path)
            .map(|inner| Scenario { inner })
            .map_err(py_err)
    }

    /// Reads a scenario from TOML text (its syntax and fields; `validate()` or a run checks
    /// the whole).
    #[staticmethod]
    fn from_toml(text: &str) -> PyResult<Scenario> {
        paymarket::Scenario::from_toml_str(text, "<python>")
            .map(|inner| Scenario { inner })
            .map_err(py_err)
    }

    /// The scenario as TOML text.
    fn to_toml(&self) -> PyResult<String> {
        self.inner.to_toml().map_err(py_err)
    }

    /// The number at a field path, e.g. `"params.churn_rate"` or `"platform.tenpay.brand"`.
    fn get(&self, path: &str) -> PyResult<f64> {
        get_path(&self.inner, path).map_err(py_err)
    }

    fn __getitem__(&self, path: &str) -> PyResult<f64> {
        self.get(path)
    }

    /// Sets the number at a field path. The changed scenario is checked as a whole at once: a
    /// value out of its range, or one that breaks a rule with another field, is refused with
    /// its field path and the scenario stays as it was.
    fn set(&mut self, path: &str, value: f64) -> PyResult<()> {
        self.inner = set_path(&self.inner, path, value).map_err(py_err)?;
        Ok(())
    }

    fn __setitem__(&mut self, path: &str, value: f64) -> PyResult<()> {
        self.set(path, value)
    }

    /// Raises `ScenarioError` with every problem if the scenario cannot run.
    fn validate(&self) -> PyResult<()> {
        self.inner.validate().map_err(py_err)
    }

    /// The scenario's name.
    #[getter]
    fn name(&self) -> String {
        self.inner.name.clone()
    }

    /// The scenario's events in order, each a dict: `index` (its position, as field paths
    /// name it: `event[3].rate`), `at` (`YYYY-MM`), `kind`, `platform`, `channel`, `network`,
    /// `context` (None where the event has none) and `source`.
    #[getter]
    fn events<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.inner
            .events
            .iter()
            .enumerate()
            .map(|(k, e)| {
                let d = PyDict::new(py);
                d.set_item("index", k)?;
                d.set_item("at", e.at.to_string())?;
                d.set_item("kind", e.kind.name())?;
                d.set_item("platform", e.platform.clone())?;
                d.set_item("channel", e.channel.clone())?;
                d.set_item("network", e.network.clone())?;
                d.set_item("context", e.context.clone())?;
                d.set_item("source", e.source.clone())?;
                Ok(d)
            })
            .collect()
    }

    /// A copy without the events at `indices` (positions in `events`), named `name`: the
    /// alternative of a counterfactual ("what if these events had not happened").
    fn without_events(&self, indices: Vec<usize>, name: &str) -> PyResult<Scenario> {
        let n = self.inner.events.len();
        if let Some(k) = indices.iter().find(|&&k| k >= n) {
            return Err(PyValueError::new_err(format!(
                "event index {k} is out of range: the scenario has {n} events (0 to {})",
                n.saturating_sub(1)
            )));
        }
        let mut inner = self.inner.clone();
        inner.name = name.to_string();
        let mut k = 0;
        inner.events.retain(|_| {
            k += 1;
            !indices.contains(&(k - 1))
        });
        Ok(Scenario { inner })
    }

    /// Renames the scenario (two sides of a comparison need names of their own).
    #[setter]
    fn set_name(&mut self, name: &str) {
        self.inner.name = name.to_string();
    }

    /// Months from its start to its end, both included.
    #[getter]
    fn months(&self) -> usize {
        self.inner.months()
    }

    /// The ids of its platforms.
    #[getter]
    fn platforms(&self) -> Vec<String> {
        owned(self.inner.platform_ids())
    }

    /// The ids of its channels.
    #[getter]
    fn channels(&self) -> Vec<String> {
        owned(self.inner.channel_ids())
    }

    /// The ids of its networks.
    #[getter]
    fn networks(&self) -> Vec<String> {
        owned(self.inner.network_ids())
    }

    fn __repr__(&self) -> String {
        format!(
            "Scenario({:?}, {} to {}, {} users, {} merchants)",
            self.inner.name,
            self.inner.start,
            self.inner.end,
            self.inner.agents.users,
            self.inner.agents.merchants
        )
    }
}

fn owned(ids: Vec<&str>) -> Vec<String> {
    ids.into_iter().map(String::from).collect()
}

/// One output table as an Arrow record batch; pyarrow reads it with `pyarrow.record_batch`.
#[pyclass(module = "paymarket._paymarket")]
struct Table {
    name: &'static str,
    batch: RecordBatch,
}

/// A frame as an Arrow record batch (the library's types: `int64`, `utf8`, nullable `float64`).
fn record_batch(frame: &Frame) -> PyResult<RecordBatch> {
    paymarket::record::arrow::record_batch(frame).map_err(|e| PyValueError::new_err(e.to_string()))
}

#[pymethods]
impl Table {
    /// The table's name: platforms, market, channels, events or defaults.
    #[getter]
    fn name(&self) -> &'static str {
        self.name
    }

    /// Number of rows.
    fn __len__(&self) -> usize {
        self.batch.num_rows()
    }

    /// The Arrow PyCapsule interface: the table as a struct array (one field a column).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_array__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let _ = requested_schema;
        let data = StructArray::from(self.batch.clone()).into();
        let (array, schema) = to_ffi(&data).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let schema = PyCapsule::new_with_value(py, schema, c"arrow_schema")?;
        let array = PyCapsule::new_with_value(py, array, c"arrow_array")?;
        PyTuple::new(py, [schema.into_any(), array.into_any()])
    }
}

/// Runs a scenario once and returns its five tables (platforms, market, channels, events,
/// defaults) in the CSV files' order. The simulation runs without the interpreter lock, on
/// `threads` worker threads (0: one per core); Ctrl-C stops it between months.
/// `progress`, if given, is called as `progress(done, total, month)` after each month, with
/// the interpreter lock held.
#[pyfunction]
#[pyo3(signature = (scenario, users=None, merchants=None, seed=None, threads=0, progress=None))]
fn run(
    py: Python<'_>,
    scenario: &Scenario,
    users: Option<u64>,
    merchants: Option<u64>,
    seed: Option<u64>,
    threads: usize,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<Vec<Table>> {
    let mut sim = Simulation::new(scenario, users, merchants, seed, threads)?;
    let total = sim.sim().scenario().months();
    let mut done = 0;
    while sim.step(py)? {
        done += 1;
        if let Some(f) = &progress {
            let month = sim.sim().last_report().map(|r| r.month.to_string());
            f.call1((done, total, month))?;
        }
    }
    sim.tables()
}

/// A scenario with the agent counts asked for.
fn sized(scenario: &Scenario, users: Option<u64>, merchants: Option<u64>) -> paymarket::Scenario {
    let mut s = scenario.inner.clone();
    if let Some(n) = users {
        s.agents.users = n;
    }
    if let Some(m) = merchants {
        s.agents.merchants = m;
    }
    s
}

/// How replicates run: `replicates` of them from master `seed` (the scenario's when `None`),
/// each drawing its parameters from a posterior sample file where one is given, watched
/// ([`watched`]) for progress and Ctrl-C.
fn plan(
    s: &paymarket::Scenario,
    replicates: u64,
    seed: Option<u64>,
    posterior: Option<&str>,
) -> PyResult<Plan> {
    if replicates == 0 {
        return Err(PyValueError::new_err(
            "replicates must be at least 1, got 0",
        ));
    }
    let posterior = match posterior {
        None => None,
        Some(p) => {
            let d = Draws::read(std::path::Path::new(p)).map_err(py_err)?;
            d.check(s).map_err(py_err)?;
            Some(Arc::new(d))
        }
    };
    Ok(Plan {
        replicates,
        seed: seed.unwrap_or(s.seed),
        in_flight: 0,
        progress: false,
        posterior,
        watch: Some(Arc::new(Watch::default())),
    })
}

/// An experiment as the Python functions run it: its plan (with a [`Watch`]), worker threads,
/// the runs it makes in all, the progress callback, and whether every run's tables are kept.
struct Experiment<'a, 'py> {
    plan: &'a Plan,
    threads: usize,
    total: u64,
    progress: Option<&'a Bound<'py, PyAny>>,
    runs: bool,
}

impl Experiment<'_, '_> {
    /// Runs `f(plan, recorders)` on its own pool, [`watched`]; returns its result and, when
    /// asked for, every run's tables (from a [`Frames`] among the recorders).
    fn go<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Plan, &mut [&mut dyn paymarket::Recorder]) -> paymarket::Result<T> + Send,
    ) -> PyResult<(T, Vec<Table>)> {
        let pool = rayon_pool(self.threads)?;
        let watch = self.plan.watch.clone().unwrap_or_default();
        let mut frames = Frames::default();
        let keep = self.runs;
        let plan = self.plan;
        let value = watched(py, Some(self.total), watch, self.progress, || {
            pool.install(|| {
                let mut recorders: Vec<&mut dyn paymarket::Recorder> = Vec::new();
                if keep {
                    recorders.push(&mut frames);
                }
                f(plan, &mut recorders)
            })
        })?;
        let runs = if keep { tables(&frames)? } else { Vec::new() };
        Ok((value, runs))
    }
}

/// Runs an experiment on another thread while this one, holding the interpreter between
/// naps, reports the runs done to `progress(done, total, None)` and checks for Ctrl-C: a signal
/// stops the experiment between months of its runs in flight ([`Watch::stop`]) and is raised
/// here.
fn watched<T: Send>(
    py: Python<'_>,
    total: Option<u64>,
    watch: Arc<Watch>,
    progress: Option<&Bound<'_, PyAny>>,
    work: impl FnOnce() -> paymarket::Result<T> + Send,
) -> PyResult<T> {
    std::thread::scope(|scope| {
        let job = scope.spawn(work);
        let (mut shown, mut interrupted) = (0, None);
        while !job.is_finished() {
            py.detach(|| std::thread::sleep(std::time::Duration::from_millis(50)));
            if interrupted.is_none() {
                if let Err(e) = py.check_signals() {
                    watch.stop();
                    interrupted = Some(e);
                }
            }
            let done = watch.done();
            if let (Some(f), true, None) = (progress, done > shown, &interrupted) {
                shown = done;
                if let Err(e) = f.call1((done, total, None::<()>)) {
                    watch.stop();
                    interrupted = Some(e);
                }
            }
        }
        let result = job
            .join()
            .map_err(|_| PyRuntimeError::new_err("the experiment's thread panicked"))?;
        if let Some(e) = interrupted {
            return Err(e);
        }
        let value = result.map_err(py_err)?;
        if let (Some(f), true) = (progress, watch.done() > shown) {
            f.call1((watch.done(), total, None::<()>))?;
        }
        Ok(value)
    })
}

/// Frames as Arrow record batches.
fn batches<'a>(frames: impl IntoIterator<Item = &'a Frame>) -> PyResult<Vec<Table>> {
    frames
        .into_iter()
        .map(|f| {
            record_batch(f).map(|batch| Table {
                name: f.name,
                batch,
            })
        })
        .collect()
}

/// Runs `replicates` replicates of a scenario (replicate `r` with the seed derived from `seed`
/// and `r`, as the tool's `ensemble`) and returns the summary tables (mean, sd, 95% interval
/// and `n` per month, keys and metric) and, with `runs`, every run's five tables.
#[pyfunction]
#[pyo3(signature = (scenario, replicates=10, users=None, merchants=None, seed=None, threads=0, posterior=None, runs=false, progress=None))]
#[allow(clippy::too_many_arguments)]
fn ensemble(
    py: Python<'_>,
    scenario: &Scenario,
    replicates: u64,
    users: Option<u64>,
    merchants: Option<u64>,
    seed: Option<u64>,
    threads: usize,
    posterior: Option<String>,
    runs: bool,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<(Vec<Table>, Vec<Table>)> {
    let s = sized(scenario, users, merchants);
    let plan = plan(&s, replicates, seed, posterior.as_deref())?;
    let run = Experiment {
        plan: &plan,
        threads,
        total: replicates,
        progress: progress.as_ref(),
        runs,
    };
    let (summary, runs) = run.go(py, |plan, recorders| {
        experiment::ensemble(&s, plan, recorders)
    })?;
    let summary = batches(&experiment::summary_frames(&[&summary]).map_err(py_err)?)?;
    Ok((summary, runs))
}

/// Runs a baseline and an alternative on the same replicate seeds (common random numbers), or
/// forked at `fork_at` (`YYYY-MM`: one shared past, then both branches), and returns both sides'
/// summary tables, the paired effects `alternative − baseline` with their 95% intervals and,
/// with `runs`, every run's five tables (baseline first in each replicate).
#[pyfunction]
#[pyo3(signature = (baseline, alternative, replicates=10, fork_at=None, users=None, merchants=None, seed=None, threads=0, posterior=None, runs=false, progress=None))]
#[allow(clippy::too_many_arguments)]
fn compare(
    py: Python<'_>,
    baseline: &Scenario,
    alternative: &Scenario,
    replicates: u64,
    fork_at: Option<String>,
    users: Option<u64>,
    merchants: Option<u64>,
    seed: Option<u64>,
    threads: usize,
    posterior: Option<String>,
    runs: bool,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<(Vec<Table>, Vec<Table>, Vec<Table>)> {
    let (b, a) = (
        sized(baseline, users, merchants),
        sized(alternative, users, merchants),
    );
    let fork_at: Option<paymarket::Month> = match fork_at {
        None => None,
        Some(m) => Some(m.parse().map_err(|_| {
            PyValueError::new_err(format!("fork_at must be a month YYYY-MM, got {m:?}"))
        })?),
    };
    let plan = plan(&b, replicates, seed, posterior.as_deref())?;
    let run = Experiment {
        plan: &plan,
        threads,
        total: replicates,
        progress: progress.as_ref(),
        runs,
    };
    let (effects, runs) = run.go(py, |plan, recorders| {
        experiment::compare(&b, &a, plan, fork_at, recorders)
    })?;
    let summary =
        experiment::summary_frames(&[&effects.baseline, &effects.alternative]).map_err(py_err)?;
    let effect_frames = experiment::effects_frames(&effects).map_err(py_err)?;
    Ok((batches(&summary)?, batches(&effect_frames)?, runs))
}

/// Runs every setting of a design with `replicates` replicates each, as the tool's `sweep`:
/// `grid` (a full grid of each path's values), `points` (a list of settings, each a list of
/// (path, value) pairs) or `ranges` with `lhs` (a Latin hypercube of `lhs` settings drawn from
/// the master seed); exactly one. Returns the summary tables led by `setting` (its index) and
/// each path's value.
#[pyfunction]
#[pyo3(signature = (scenario, grid=None, points=None, ranges=None, lhs=None, replicates=10, users=None, merchants=None, seed=None, threads=0, progress=None))]
#[allow(clippy::too_many_arguments)]
fn sweep(
    py: Python<'_>,
    scenario: &Scenario,
    grid: Option<Vec<(String, Vec<f64>)>>,
    points: Option<Vec<Vec<(String, f64)>>>,
    ranges: Option<Vec<(String, f64, f64)>>,
    lhs: Option<usize>,
    replicates: u64,
    users: Option<u64>,
    merchants: Option<u64>,
    seed: Option<u64>,
    threads: usize,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<Vec<Table>> {
    let s = sized(scenario, users, merchants);
    let plan = plan(&s, replicates, seed, None)?;
    let design =
        match (grid, points, ranges, lhs) {
            (Some(axes), None, None, None) if !axes.is_empty() => {
                if let Some((path, _)) = axes.iter().find(|(_, values)| values.is_empty()) {
                    return Err(PyValueError::new_err(format!(
                        "grid: {path} has no values; give it at least one"
                    )));
                }
                Design::grid(axes)
            }
            (None, Some(settings), None, None) if !settings.is_empty() => {
                Design::list(settings).map_err(py_err)?
            }
            (None, None, Some(ranges), Some(n)) if !ranges.is_empty() && n > 0 => {
                if let Some((path, lo, hi)) = ranges
                    .iter()
                    .find(|(_, lo, hi)| lo > hi || lo.is_nan() || hi.is_nan())
                {
                    return Err(PyValueError::new_err(format!(
                        "ranges: {path} goes from {lo} to {hi}; give the lower bound first"
                    )));
                }
                Design::latin_hypercube(ranges, n, plan.seed)
            }
            _ => return Err(PyValueError::new_err(
                "give one design: grid={path: [values]} for a full grid, points=[{path: value}] \
                 for a list of settings, or ranges={path: (lo, hi)} with lhs=N for a Latin \
                 hypercube",
            )),
        };
    let mut extra = vec![("setting".to_string(), Kind::Integer)];
    extra.extend(design.paths.iter().map(|p| (p.clone(), Kind::Number)));
    let mut frames = SummaryFrames::new(&extra);
    let run = Experiment {
        plan: &plan,
        threads,
        total: design.points.len() as u64 * replicates,
        progress: progress.as_ref(),
        runs: false,
    };
    run.go(py, |plan, _| {
        experiment::sweep::sweep(&s, &design, plan, |k, point, summary| {
            let mut lead = vec![Value::Integer(k as i64)];
            lead.extend(point.iter().map(|&v| Value::Number(Some(v))));
            frames.add(&summary, &lead)
        })
    })?;
    batches(&frames.into_frames())
}

/// The tables of `frames` as Arrow record batches.
fn tables(frames: &Frames) -> PyResult<Vec<Table>> {
    batches(frames.all())
}

/// A simulation stepped month by month, for teaching and for watching a run unfold:
/// `step()` simulates one month (false once the scenario has ended), `tables()` gives every
/// month so far and `report()` the last month's rows, as the five tables.
#[pyclass(module = "paymarket._paymarket")]
struct Simulation {
    /// Behind a lock so that the class may be shared between Python threads (the engine's
    /// platform strategies are `Send`, not `Sync`); a step holds it.
    inner: Mutex<paymarket::Simulation>,
    pool: rayon::ThreadPool,
    frames: Frames,
    last: Frames,
    /// The error a step raised, if one did: the engine may have moved past the month, so the
    /// simulation refuses further steps rather than leave a gap in its tables.
    failed: Option<String>,
}

impl Simulation {
    /// The engine's simulation (a panic in another thread's step leaves it usable to read).
    fn sim(&self) -> std::sync::MutexGuard<'_, paymarket::Simulation> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn new(
        scenario: &Scenario,
        users: Option<u64>,
        merchants: Option<u64>,
        seed: Option<u64>,
        threads: usize,
    ) -> PyResult<Simulation> {
        let mut s = sized(scenario, users, merchants);
        if let Some(seed) = seed {
            s.seed = seed;
        }
        let pool = rayon_pool(threads)?;
        let inner = pool
            .install(|| paymarket::Simulation::new(s))
            .map_err(py_err)?;
        Ok(Simulation {
            inner: Mutex::new(inner),
            pool,
            frames: Frames::default(),
            last: Frames::default(),
            failed: None,
        })
    }
}

#[pymethods]
impl Simulation {
    #[new]
    #[pyo3(signature = (scenario, users=None, merchants=None, seed=None, threads=0))]
    fn py_new(
        scenario: &Scenario,
        users: Option<u64>,
        merchants: Option<u64>,
        seed: Option<u64>,
        threads: usize,
    ) -> PyResult<Simulation> {
        Simulation::new(scenario, users, merchants, seed, threads)
    }

    /// Simulates the next month without the interpreter lock; returns false (and does
    /// nothing) once the scenario has ended. Ctrl-C raises `KeyboardInterrupt` after the month.
    fn step(&mut self, py: Python<'_>) -> PyResult<bool> {
        if let Some(e) = &self.failed {
            return Err(PyRuntimeError::new_err(format!(
                "this simulation stopped at an error and cannot go on: {e}"
            )));
        }
        let Simulation {
            inner,
            pool,
            frames,
            last,
            failed,
        } = self;
        let inner = inner.get_mut().unwrap_or_else(|e| e.into_inner());
        let stepped = py.detach(|| {
            pool.install(|| -> paymarket::Result<bool> {
                match inner.step()? {
                    Some(r) => {
                        *last = Frames::default();
                        paymarket::Recorder::record(last, r)?;
                        paymarket::Recorder::record(frames, r)?;
                        Ok(true)
                    }
                    None => Ok(false),
                }
            })
        });
        let stepped = stepped.map_err(|e| {
            *failed = Some(e.to_string());
            py_err(e)
        })?;
        py.check_signals()?;
        Ok(stepped)
    }

    /// The month the next step simulates, `YYYY-MM`.
    #[getter]
    fn month(&self) -> String {
        self.sim().month().to_string()
    }

    /// Whether every month of the scenario has been simulated.
    #[getter]
    fn finished(&self) -> bool {
        self.sim().is_finished()
    }

    /// Every month simulated so far, as the five tables.
    fn tables(&self) -> PyResult<Vec<Table>> {
        tables(&self.frames)
    }

    /// The last month simulated, as the five tables (empty before the first step).
    fn report(&self) -> PyResult<Vec<Table>> {
        tables(&self.last)
    }
}

fn rayon_pool(threads: usize) -> PyResult<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| PyValueError::new_err(format!("threads = {threads}: {e}")))
}

/// The problems of a scenario's TOML text, as (field path, message) pairs; empty when it runs.
#[pyfunction]
fn problems(text: &str) -> PyResult<Vec<(String, String)>> {
    match paymarket::Scenario::from_toml_str(text, "<python>") {
        Ok(s) => Ok(s
            .problems()
            .into_iter()
            .map(|p| (p.path, p.message))
            .collect()),
        Err(paymarket::Error::Scenario { problems, .. }) => {
            Ok(problems.into_iter().map(|p| (p.path, p.message)).collect())
        }
        Err(e) => Err(py_err(e)),
    }
}

#[pymodule]
fn _paymarket(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Scenario>()?;
    m.add_class::<Table>()?;
    m.add_class::<Simulation>()?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(ensemble, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(analysis::calibrate, m)?)?;
    m.add_function(wrap_pyfunction!(analysis::sensitivity, m)?)?;
    m.add_function(wrap_pyfunction!(problems, m)?)?;
    m.add("ScenarioError", m.py().get_type::<ScenarioError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
