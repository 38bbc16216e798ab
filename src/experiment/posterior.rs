//! Posterior samples for experiments: a file of weighted parameter vectors (as
//! `paymarket calibrate --method abc` writes it, see `calibrate::posterior`), read so that
//! ensembles and comparisons run over parameter uncertainty as well as seed noise
//! (`--posterior FILE`: each replicate draws one parameter vector by weight).
//!
//! The file has one row per particle: `particle, weight, distance, generation`, then one column
//! per parameter named by its scenario path (as sweeps address it). Weights sum to 1.
//!
//! ```
//! use paymarket::experiment::posterior::Draws;
//! let text = "particle,weight,distance,generation,params.loyalty\n0,0.25,1.5,3,0.6\n1,0.75,1.2,4,0.8\n";
//! let d = Draws::parse(text, "example")?;
//! assert_eq!(d.paths, vec!["params.loyalty"]);
//! // Replicate r's particle is a counter-based draw by weight: the same for a seed, every time.
//! let picks: Vec<usize> = (0..1000).map(|r| d.pick(7, r)).collect();
//! let heavy = picks.iter().filter(|&&k| k == 1).count();
//! assert!(heavy > 700 && heavy < 800, "{heavy}");
//! assert_eq!(picks, (0..1000).map(|r| d.pick(7, r)).collect::<Vec<_>>());
//! # Ok::<(), paymarket::Error>(())
//! ```
//!
//! Owns: `Draws`, `write_replicates`, `FIXED`. Reads: scenario paths. Never: the sampler,
//! simulations.

use crate::error::{Error, Result};
use crate::output::{number as num, StagedCsv};
use crate::rng::{mix64, u01};
use crate::scenario::{Scenario, ValidScenario};
use std::path::Path;

/// The columns of a posterior file before the parameters.
pub const FIXED: [&str; 4] = ["particle", "weight", "distance", "generation"];

/// A posterior sample read from a file: parameter paths and weighted vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct Draws {
    /// Scenario paths, in column order.
    pub paths: Vec<String>,
    /// Normalised weights, one per particle.
    pub weights: Vec<f64>,
    /// Parameter vectors, one per particle.
    pub vectors: Vec<Vec<f64>>,
    /// Where it was read from (for messages and the manifest).
    pub origin: String,
    /// The file's text, verbatim (copied into output sets that use it).
    pub text: String,
}

impl Draws {
    /// Reads a posterior file.
    pub fn read(path: &Path) -> Result<Draws> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Draws::parse(&text, &path.display().to_string())
    }

    /// Parses a posterior file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Draws> {
        let bad = |row: usize, what: String| {
            Error::Config(format!(
                "{origin}: row {row}: {what}; a posterior file has the columns {} and then one \
                 per parameter path (as `paymarket calibrate --method abc` writes it)",
                FIXED.join(", ")
            ))
        };
        let mut r = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let header: Vec<String> = r
            .headers()
            .map_err(|e| bad(1, format!("unreadable header: {e}")))?
            .iter()
            .map(String::from)
            .collect();
        if header.len() <= FIXED.len() || header[..FIXED.len()] != FIXED {
            return Err(bad(1, format!("header {header:?}")));
        }
        let paths: Vec<String> = header[FIXED.len()..].to_vec();
        let (mut weights, mut vectors) = (Vec::new(), Vec::new());
        for (k, rec) in r.records().enumerate() {
            let row = k + 2;
            let rec = rec.map_err(|e| bad(row, e.to_string()))?;
            if rec.len() != header.len() {
                return Err(bad(
                    row,
                    format!("{} fields, the header has {}", rec.len(), header.len()),
                ));
            }
            let field = |i: usize| -> Result<f64> {
                rec[i]
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| {
                        bad(
                            row,
                            format!("{} = {:?} is not a finite number", header[i], &rec[i]),
                        )
                    })
            };
            let w = field(1)?;
            if w < 0.0 {
                return Err(bad(row, format!("weight {w} is negative")));
            }
            weights.push(w);
            vectors.push(
                (FIXED.len()..header.len())
                    .map(field)
                    .collect::<Result<Vec<f64>>>()?,
            );
        }
        let total: f64 = weights.iter().sum();
        if vectors.is_empty() || total.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return Err(bad(1, "no particle with a positive weight".into()));
        }
        weights.iter_mut().for_each(|w| *w /= total);
        Ok(Draws {
            paths,
            weights,
            vectors,
            origin: origin.to_string(),
            text: text.to_string(),
        })
    }

    /// Checks that every particle applies to `s`: each path exists and each vector gives a
    /// valid scenario (the error names the particle and the problem).
    pub fn check(&self, s: &Scenario) -> Result<()> {
        for k in 0..self.vectors.len() {
            self.apply(s, k).map_err(|e| {
                Error::Config(format!(
                    "{}: particle {k} does not apply to {}: {e}",
                    self.origin, s.name
                ))
            })?;
        }
        Ok(())
    }

    /// The scenario with particle `k`'s parameter values.
    pub fn apply(&self, s: &Scenario, k: usize) -> Result<ValidScenario> {
        let values: Vec<(&str, f64)> = self
            .paths
            .iter()
            .map(String::as_str)
            .zip(self.vectors[k].iter().copied())
            .collect();
        crate::scenario::path::set_paths_valid(s, &values)
    }

    /// The particle of replicate `r` under master seed `seed`: a counter-based draw by weight,
    /// independent of the replicate's simulation seed.
    pub fn pick(&self, seed: u64, r: u64) -> usize {
        let u = u01(mix64(
            mix64(seed ^ 0x9057_e410_0000_0000) ^ mix64(r.wrapping_add(1)),
        ));
        let mut acc = 0.0;
        for (k, w) in self.weights.iter().enumerate() {
            acc += w;
            if u < acc {
                return k;
            }
        }
        self.weights.len() - 1
    }
}

/// Writes `replicate_parameters.csv` in `dir`: each replicate's particle and parameter values
/// under `draws` (as [`crate::experiment::Plan::particles`] picks them), the record of which
/// vector every run used.
pub fn write_replicates(dir: &Path, draws: &Draws, picks: &[(u64, usize)]) -> Result<String> {
    let mut header: Vec<&str> = vec!["run", "particle"];
    header.extend(draws.paths.iter().map(String::as_str));
    let mut w = StagedCsv::open(dir, "replicate_parameters.csv", &header)?;
    for &(r, k) in picks {
        let mut row = vec![r.to_string(), k.to_string()];
        row.extend(draws.vectors[k].iter().map(|v| num(*v)));
        w.write(&row)?;
    }
    w.commit()?;
    Ok(w.name())
}
