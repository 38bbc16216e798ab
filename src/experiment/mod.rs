//! Experiments: replicates of a scenario, counterfactual comparisons with common random numbers,
//! and the summaries (mean, sd, 95% confidence interval) that turn runs into results.
//!
//! Replicate `r` of master seed `S` runs with seed [`replicate_seed`]`(S, r)` and writes `run = r`.
//! Runs are executed in parallel, a bounded number at a time (`in_flight`), and handed on in
//! replicate order: summaries are accumulated run after run with [`Moments`](crate::stats::Moments), so memory does not
//! grow with the number of replicates and every digit of the output is the same whatever order
//! the runs finish in and whatever the number of threads.
//!
//! ```
//! use paymarket::experiment::{ensemble, Plan};
//! use paymarket::Scenario;
//! let mut s = Scenario::load("data/scenarios/duopoly.toml")?;
//! s.agents.users = 2_000;
//! s.agents.merchants = 200;
//! let plan = Plan { replicates: 4, seed: 7, ..Plan::default() };
//! let summary = ensemble(&s, &plan, &mut [])?;
//! let last = summary.months().len() - 1;
//! let share = summary.get(last, "platforms", "alpha", "", "value_share").unwrap();
//! assert_eq!(share.n(), 4);
//! let (lo, hi) = share.ci95();
//! assert!(lo <= share.mean() && share.mean() <= hi);
//! # Ok::<(), paymarket::Error>(())
//! ```
//!
//! Owns: `Plan`, `Progress`, `run_reports`, `for_each_replicate`. Reads: the simulation, records.
//! Never: the rules' internals.

use crate::error::{Error, Result};
use crate::record::{MonthReport, Recorder};
use crate::rng::replicate_seed;
use crate::scenario::{Scenario, ValidScenario};
use crate::sim::Simulation;
use std::io::IsTerminal;

mod compare;
pub mod dist;
mod ensemble;
pub mod posterior;
pub mod sensitivity;
pub mod sweep;

pub use compare::*;
pub use ensemble::*;

/// How to run replicates.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Number of replicates `R`.
    pub replicates: u64,
    /// Master seed: replicate `r` runs with `replicate_seed(seed, r)`.
    pub seed: u64,
    /// Runs simulated at once (each also steps its agents in parallel). Bounds memory: at most
    /// this many worlds exist at a time. `0` means the number of threads.
    pub in_flight: usize,
    /// Show a progress line on stderr (only when stderr is a terminal).
    pub progress: bool,
    /// A posterior sample (from `calibrate --method abc`): replicate `r` runs with the
    /// parameter vector of particle [`Draws::pick`]`(seed, r)`, so that the replicates spread
    /// over parameter uncertainty as well as seed noise. Both sides of a comparison take the
    /// same vector in the same replicate.
    ///
    /// [`Draws::pick`]: posterior::Draws::pick
    pub posterior: Option<std::sync::Arc<posterior::Draws>>,
    /// Another thread's view of the experiment while it runs: the runs done, and a flag that
    /// stops it between months of the runs in flight (the Python package's progress bars and
    /// Ctrl-C).
    pub watch: Option<std::sync::Arc<Watch>>,
}

/// What another thread sees of a running experiment ([`Plan::watch`]): the runs done so far,
/// and a flag that stops it. Stopping is checked between the months of every run in flight and
/// as each run is taken, in replicate order; the experiment then returns
/// [`crate::Error::Stopped`] with the runs taken (a deterministic count: the runs before the
/// first one not taken) and writes nothing more.
///
/// ```
/// use paymarket::experiment::{ensemble, Plan, Watch};
/// use std::sync::Arc;
/// let mut s = paymarket::Scenario::load("data/scenarios/duopoly.toml")?;
/// s.agents.users = 500;
/// s.agents.merchants = 50;
/// let watch = Arc::new(Watch::default());
/// let plan = Plan { replicates: 3, watch: Some(watch.clone()), ..Plan::default() };
/// ensemble(&s, &plan, &mut [])?;
/// assert_eq!(watch.done(), 3);
/// watch.stop();
/// let stopped = ensemble(&s, &plan, &mut []);
/// assert!(matches!(stopped, Err(paymarket::Error::Stopped { total: 3, .. })));
/// # Ok::<(), paymarket::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Watch {
    done: std::sync::atomic::AtomicU64,
    stop: std::sync::atomic::AtomicBool,
}

impl Watch {
    /// Runs taken so far (by every experiment this watch has followed).
    pub fn done(&self) -> u64 {
        self.done.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Asks the experiment to stop: its runs in flight stop between months, and it returns
    /// [`Error::Stopped`] with the runs taken until then.
    pub fn stop(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether [`Watch::stop`] was called.
    pub fn stopped(&self) -> bool {
        self.stop.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts `n` more runs taken.
    pub(crate) fn count(&self, n: u64) {
        self.done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            replicates: 10,
            seed: 1,
            in_flight: 0,
            progress: false,
            posterior: None,
            watch: None,
        }
    }
}

impl Plan {
    /// Runs simulated at once: `in_flight`, or the number of threads when it is 0.
    pub fn in_flight(&self) -> usize {
        if self.in_flight == 0 {
            rayon::current_num_threads().max(1)
        } else {
            self.in_flight
        }
    }

    /// Refuses, before any run starts, a plan whose runs in flight would not fit in the memory
    /// available: `worlds_per_run` simulations of `scenario`'s size for each run at once (2 for
    /// a forked comparison, which holds the shared past and the branch).
    pub fn check_memory(&self, scenario: &Scenario, worlds_per_run: u64) -> Result<()> {
        let at_once = (self.in_flight() as u64).min(self.replicates.max(1)) * worlds_per_run;
        crate::world::check_memory(
            scenario.agents.users,
            scenario.agents.merchants,
            scenario.platforms.len(),
            at_once,
            scenario.contexts.len().max(1),
        )
    }

    /// Replicate `r` of a validated scenario run to its end, stopped between months once the
    /// plan's watch is ([`Error::Stopped`]).
    pub fn run_replicate(&self, scenario: &ValidScenario, r: u64) -> Result<Vec<MonthReport>> {
        run_watched(self.replicate_valid(scenario, r)?, r, self.watch.as_deref())
    }

    /// [`Plan::replicate`] of a validated scenario.
    pub fn replicate_valid(&self, scenario: &ValidScenario, r: u64) -> Result<ValidScenario> {
        let s = match &self.posterior {
            None => scenario.clone(),
            Some(d) => d.apply(scenario, d.pick(self.seed, r))?,
        };
        Ok(s.with_seed(replicate_seed(self.seed, r)))
    }

    /// The scenario of replicate `r`: the same scenario with the replicate's seed and, with a
    /// posterior, its particle's parameter values.
    pub fn replicate(&self, scenario: &Scenario, r: u64) -> Result<Scenario> {
        let mut s = match &self.posterior {
            None => scenario.clone(),
            Some(d) => d.apply(scenario, d.pick(self.seed, r))?.into_inner(),
        };
        s.seed = replicate_seed(self.seed, r);
        Ok(s)
    }

    /// The particle of each replicate under [`Plan::posterior`] (none without one), for the
    /// record of an output set.
    pub fn particles(&self) -> Vec<(u64, usize)> {
        match &self.posterior {
            None => Vec::new(),
            Some(d) => (0..self.replicates)
                .map(|r| (r, d.pick(self.seed, r)))
                .collect(),
        }
    }
}

/// A progress bar on stderr (indicatif): runs done, rate and time left. Silent unless enabled and stderr
/// is a terminal, so logs and pipes stay clean.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    watch: Option<std::sync::Arc<Watch>>,
    total: u64,
}

impl Progress {
    /// A progress bar for `total` runs (with the rate and the time left), shown if `enabled`,
    /// stderr is a terminal and this is the coordinating rank; silent otherwise, so logs and
    /// pipes stay clean.
    pub fn new(total: u64, enabled: bool) -> Progress {
        let on = enabled && std::io::stderr().is_terminal() && crate::experiment::dist::is_root();
        let bar = on.then(|| {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "  {bar:30} {pos}/{len} runs · {per_sec} · {eta} left",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            watch: None,
            total,
        }
    }

    /// The progress of `total` runs of `plan`: its bar if it asks for one, and its
    /// [`Plan::watch`].
    pub fn for_plan(total: u64, plan: &Plan) -> Progress {
        Progress {
            watch: plan.watch.clone(),
            ..Progress::new(total, plan.progress)
        }
    }

    /// Counts `n` more runs done.
    pub fn advance(&mut self, n: u64) {
        if let Some(w) = &self.watch {
            w.count(n);
        }
        if let Some(bar) = &self.bar {
            bar.inc(n);
            if bar.position() >= bar.length().unwrap_or(0) {
                bar.finish_and_clear();
            }
        }
    }
}

/// Runs `work(r)` for `r` in `0..count`, `in_flight` at a time in parallel (or over MPI ranks,
/// see [`crate::experiment::dist`]), and hands each result to `take` in replicate order. The first error
/// (in replicate order) stops the loop.
pub fn for_each_replicate<T>(
    count: u64,
    in_flight: usize,
    progress: &mut Progress,
    work: impl Fn(u64) -> Result<T> + Sync,
    mut take: impl FnMut(u64, T) -> Result<()>,
) -> Result<()>
where
    T: Send + serde::Serialize + serde::de::DeserializeOwned,
{
    let mut taken = 0;
    let total = progress.total;
    let stopped = |taken| crate::Error::Stopped { done: taken, total };
    let result = crate::experiment::dist::for_each_ordered(count, in_flight, work, |r, t| {
        if progress.watch.as_ref().is_some_and(|w| w.stopped()) {
            return Err(stopped(taken));
        }
        take(r, t)?;
        taken += 1;
        progress.advance(1);
        Ok(())
    });
    // A run stopped between its months ([`run_watched`]) says how many runs were taken.
    result.map_err(|e| match e {
        crate::Error::Stopped { .. } => stopped(taken),
        e => e,
    })
}

/// Runs one scenario to its end and keeps the reports.
pub fn run_reports(scenario: Scenario, run: u64) -> Result<Vec<MonthReport>> {
    run_valid(scenario.into_valid()?, run)
}

/// Like [`run_reports`] for a scenario already validated (the runners validate once, then run
/// every replicate from it).
///
/// For testing the failure paths, the environment variable `PAYMARKET_FAIL_RUN=r` makes run
/// `r` fail with an error instead of running.
pub fn run_valid(scenario: ValidScenario, run: u64) -> Result<Vec<MonthReport>> {
    run_watched(scenario, run, None)
}

/// [`run_valid`], stopped between months once `watch` is: then [`Error::Stopped`] (its counts
/// filled in by the experiment that ran it). `PAYMARKET_FAIL_RUN=r` fails run `r` here too.
pub(crate) fn run_watched(
    scenario: ValidScenario,
    run: u64,
    watch: Option<&Watch>,
) -> Result<Vec<MonthReport>> {
    if std::env::var("PAYMARKET_FAIL_RUN")
        .ok()
        .and_then(|v| v.parse().ok())
        == Some(run)
    {
        return Err(Error::Config(format!(
            "run {run} failed on purpose (PAYMARKET_FAIL_RUN={run})"
        )));
    }
    let mut sim = Simulation::from_valid(scenario)?.with_run(run);
    let mut out = Vec::with_capacity(sim.scenario().months());
    loop {
        check(watch)?;
        match sim.step()? {
            Some(r) => out.push(r.clone()),
            None => return Ok(out),
        }
    }
}

/// [`Error::Stopped`] (counts to be filled in) once `watch` is stopped.
pub(crate) fn check(watch: Option<&Watch>) -> Result<()> {
    match watch {
        Some(w) if w.stopped() => Err(Error::Stopped { done: 0, total: 0 }),
        _ => Ok(()),
    }
}

fn feed(recorders: &mut [&mut dyn Recorder], reports: &[MonthReport]) -> Result<()> {
    for rep in reports {
        for rec in recorders.iter_mut() {
            rec.record(rep)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{run_watched, Watch};
    use crate::scenario::Scenario;

    /// A run under a watch steps every month while the watch runs and none once it is
    /// stopped: the check sits between months.
    #[test]
    fn a_watched_run_stops_between_months() {
        let mut s = Scenario::load("data/scenarios/duopoly.toml").unwrap();
        s.agents.users = 500;
        s.agents.merchants = 50;
        let months = s.months();
        let valid = s.into_valid().unwrap();
        let watch = Watch::default();
        let all = run_watched(valid.clone(), 0, Some(&watch)).unwrap();
        assert_eq!(all.len(), months);
        watch.stop();
        let stopped = run_watched(valid, 0, Some(&watch));
        assert!(matches!(stopped, Err(crate::Error::Stopped { .. })));
    }
}
