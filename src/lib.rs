//! # paymarket
//!
//! Agent-based simulation of payment-platform markets: users, merchants and platforms
//! (wallets) stepping month by month through policy and business shocks: blocked links,
//! gateway cut-offs, merchant deposits, subsidy wars, red-envelope campaigns, interoperability
//! orders. Built to replay China's 2012–2021 wallet war and ask what else could have happened.
//!
//! The model is documented in `docs/MODEL.md` (the reference model, section by section).
//! Results are reproducible bit for bit: the same scenario and seed give byte-identical output
//! on any number of threads.
//!
//! ```
//! use paymarket::{Scenario, Simulation, CsvRecorder};
//! let mut scenario = Scenario::load("data/scenarios/duopoly.toml")?;
//! scenario.agents.users = 5_000;
//! scenario.agents.merchants = 500;
//! let mut sim = Simulation::new(scenario)?;
//! let dir = std::env::temp_dir().join("paymarket-doc");
//! let mut csv = CsvRecorder::create(&dir)?;
//! sim.run(&mut [&mut csv])?;
//! assert!(dir.join("platforms.csv").exists());
//! # Ok::<(), paymarket::Error>(())
//! ```
//!
//! Architecture, one way (layers, lowest first; `tests/architecture.rs` checks every import):
//! [`error`], [`month`], [`rng`], [`stats`] → [`scenario`] (data, validation, field paths) and
//! [`output`] → [`policy`] (timeline), [`market`] (the scenario resolved once), [`social`] →
//! [`world`] (agents' state) → the rules: [`payments`], [`users`], [`merchants`],
//! [`platforms`] → [`record`] (reports, columns, recorders) → [`sim`] (the month as MODEL.md
//! section 3, checkpoints, forks, invariants) → [`experiment`] (replicates, ensembles, paired
//! counterfactuals, [`sweep`]s, [`dist`]ributed runs) → [`calibrate`] and, with the `charts`
//! feature, `chart`. The `paymarket` binary (feature `cli`) puts all of it on the command
//! line, on the public API only.
//!
//! The verbs: [`Scenario::load`], [`Simulation::new`], [`Simulation::step`],
//! [`Simulation::run`], [`Simulation::run_until`], [`Simulation::save`], [`Simulation::load`],
//! [`Simulation::fork`], [`experiment::ensemble`], [`experiment::compare`], [`sweep::sweep`],
//! [`calibrate::calibrate`].

#![warn(missing_docs)]
// Loops over platform, channel and set indices mirror the model's subscripts (j, c, H, A);
// iterator chains over several parallel arrays would read worse.
#![allow(clippy::needless_range_loop)]

pub mod calibrate;
#[cfg(feature = "charts")]
pub mod chart;
pub use experiment::dist;
pub mod error;
pub mod experiment;
pub use sim::invariants;
pub mod market;
pub mod merchants;
pub mod month;
pub mod output;
pub mod payments;
pub mod platforms;
pub mod policy;
pub mod record;
pub mod rng;
pub mod scenario;
#[cfg(feature = "serve")]
pub mod serve;
pub mod sim;
pub mod social;
pub mod stats;
pub use experiment::sweep;
pub mod users;
pub mod world;

pub use error::{Error, Problem, Result};
pub use month::Month;
pub use record::{AgentPanel, Collect, CsvRecorder, MonthReport, Recorder};
pub use scenario::Scenario;
pub use sim::Simulation;
