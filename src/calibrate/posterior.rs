//! Posterior files: the particles an ABC calibration keeps, written as a tidy CSV beside the
//! calibrated scenario ([`write_posterior`]), and read back as [`Draws`] (from
//! [`crate::experiment::posterior`], re-exported here) so that ensembles and comparisons run
//! over parameter uncertainty as well as seed noise.
//!
//! Owns: `write_posterior`. Reads: the sampler's particles, the experiment layer's posterior
//! format. Never: simulations.

use super::abc::Particle;
use crate::error::Result;
pub use crate::experiment::posterior::{write_replicates, Draws, FIXED};
use crate::record::{Format, TableWriter};
use std::path::Path;

/// Writes `name` (`NAME.csv`) in `dir`: the particles with normalised weights, one column per
/// path.
pub fn write_posterior(
    dir: &Path,
    name: &str,
    paths: &[String],
    particles: &[Particle],
) -> Result<String> {
    let frame = super::frames::particles_frame("posterior", paths, particles);
    let table = name.strip_suffix(".csv").unwrap_or(name);
    let mut w = TableWriter::open(dir, table, &frame.header(), Format::Csv)?;
    w.write_frame(&frame)?;
    w.commit()?;
    Ok(w.name())
}
