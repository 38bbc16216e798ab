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
//! Architecture, one way: [`scenario`] (data) → [`policy`] (timeline) → [`world`] (agents'
//! state) → [`users`], [`merchants`], [`platforms`] (rules, with [`payments`] and [`social`]) →
//! [`record`] (observers). [`sim`] wires them together.
//!
//! On top of the engine: [`experiment`] (replicates, ensembles and paired counterfactuals with
//! 95% intervals from [`stats`]), [`sweep`] (parameter grids and Latin hypercubes over scenario
//! paths), checkpoints and forks ([`Simulation::save`], [`Simulation::load`],
//! [`Simulation::fork`]) and, with the `charts` feature, SVG charts (`chart`). The `paymarket`
//! binary (feature `cli`) puts all of it on the command line.

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
