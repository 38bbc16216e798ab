//! Forks: a simulation continued under another scenario from its current month, so that a
//! counterfactual computes the shared past once.
//!
//! Owns: `Simulation::fork`, `fork_compatible`. Reads: the simulation's state and scenario.
//! Never: files.

use super::Simulation;
use crate::error::{Error, Result};
use crate::scenario::{Scenario, ValidScenario};

/// Whether `branch` can continue `base` from month `at`: the two may differ only in name,
/// description, end and seed, and in events dated `at` or later.
pub fn fork_compatible(base: &Scenario, branch: &Scenario, at: crate::month::Month) -> Result<()> {
    if at < base.start || at > base.end {
        return Err(Error::Config(format!(
            "cannot fork {} at {at}: it runs {} to {}; choose a fork month in that range",
            base.name, base.start, base.end
        )));
    }
    let strip = |s: &Scenario| {
        let mut s = s.clone();
        s.name.clear();
        s.description.clear();
        s.end = base.end;
        s.seed = 0;
        s.events.retain(|e| e.at < at);
        s
    };
    let (a, b) = (strip(base), strip(branch));
    if a == b {
        return Ok(());
    }
    let what = if a.start != b.start {
        "start"
    } else if a.population != b.population {
        "population"
    } else if a.agents != b.agents {
        "agents"
    } else if a.params != b.params {
        "params"
    } else if a.networks != b.networks {
        "networks"
    } else if a.platforms != b.platforms {
        "platforms"
    } else if a.channels != b.channels {
        "channels"
    } else if a.contexts != b.contexts {
        "contexts"
    } else {
        "events dated before the fork"
    };
    Err(Error::Config(format!(
        "cannot fork {} into {} at {at}: they differ in {what}; a branch may differ from its \
         baseline only in name, description, end, seed and events dated {at} or later",
        base.name, branch.name
    )))
}

impl Simulation {
    /// A new simulation that continues this one's state under `branch`'s scenario from the next
    /// month: the shared past is computed once. `branch` must agree with this simulation's
    /// scenario on everything before the next month ([`fork_compatible`]); its own seed is
    /// ignored (the branch keeps this run's seed, so both worlds share their draws). A fork
    /// taken before any step equals a fresh run of `branch` with this seed.
    ///
    /// ```
    /// use paymarket::{Scenario, Simulation, record::Collect};
    /// let mut s = Scenario::load("data/scenarios/duopoly.toml")?;
    /// s.agents.users = 2_000;
    /// s.agents.merchants = 200;
    /// let mut base = Simulation::new(s.clone())?;
    /// for _ in 0..12 {
    ///     base.step()?;
    /// }
    /// let mut branch_scenario = s;
    /// branch_scenario.name = "no events after the first year".into();
    /// let fork_month = base.month();
    /// branch_scenario.events.retain(|e| e.at < fork_month);
    /// let mut branch = base.fork(branch_scenario)?;
    /// let mut out = Collect::default();
    /// branch.run(&mut [&mut out])?;
    /// assert_eq!(out.reports[0].month, fork_month);
    /// # Ok::<(), paymarket::Error>(())
    /// ```
    pub fn fork(&self, branch: Scenario) -> Result<Simulation> {
        self.fork_valid(branch.into_valid()?)
    }

    /// [`Simulation::fork`] for a branch already validated.
    pub fn fork_valid(&self, branch: ValidScenario) -> Result<Simulation> {
        let mut branch = branch.into_inner();
        fork_compatible(&self.scenario, &branch, self.month())?;
        branch.seed = self.seed;
        let mut sim = Simulation::from_parts(
            branch,
            self.users.clone(),
            self.merchants.clone(),
            self.seed,
            self.policy.clone(),
        )?;
        sim.t = self.t;
        sim.run = self.run;
        sim.share_history = self.share_history.clone();
        Ok(sim)
    }
}
