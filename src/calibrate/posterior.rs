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
use crate::output::{number as num, StagedCsv};
use std::path::Path;

/// Writes `name` in `dir`: the particles with normalised weights, one column per path.
pub fn write_posterior(
    dir: &Path,
    name: &str,
    paths: &[String],
    particles: &[Particle],
) -> Result<String> {
    let mut header: Vec<&str> = FIXED.to_vec();
    header.extend(paths.iter().map(String::as_str));
    let mut w = StagedCsv::open(dir, name, &header)?;
    let total: f64 = particles.iter().map(|p| p.weight).sum();
    for (k, p) in particles.iter().enumerate() {
        let mut row = vec![
            k.to_string(),
            num(p.weight / total),
            num(p.distance),
            p.generation.to_string(),
        ];
        row.extend(p.x.iter().map(|v| num(*v)));
        w.write(&row)?;
    }
    w.commit()?;
    Ok(w.name())
}
