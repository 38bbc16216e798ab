//! The parameters to calibrate: a parameter file's `[[parameter]]` tables (a scenario path,
//! bounds, a prior, an order against another parameter), their checks against the scenario,
//! and the scenario with values set.
//!
//! Owns: `Parameter`, `ParameterFile`, `load_parameters`, `order`, `apply`. Reads: scenario
//! paths. Never: simulations.

use super::abc;
use crate::error::{Error, Result};
use crate::scenario::path::set_path;
use crate::scenario::Scenario;
use serde::Deserialize;
use std::path::Path;

/// A parameter to calibrate: a scenario path (as sweeps address them) and its bounds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// Scenario path, e.g. `platform.tenpay.imitation.wechat`.
    pub path: String,
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
    /// Why these bounds (free text, for the reader).
    #[serde(default)]
    pub why: String,
    /// With `sd`: the prior of `--method abc` is a normal of this mean truncated to
    /// `[lo, hi]`; without, the prior is uniform on `[lo, hi]`.
    #[serde(default)]
    pub mean: Option<f64>,
    /// The truncated normal prior's standard deviation (with `mean`).
    #[serde(default)]
    pub sd: Option<f64>,
    /// The path of another parameter of the file that this one may not exceed: the joint prior
    /// of `--method abc` is the product of the marginal priors restricted to the ordered region
    /// (for a sequence of tightening limits whose sizes are guesses, say). The point search
    /// (`--method point`) does not use it.
    #[serde(default)]
    pub at_most: Option<String>,
    /// The path of another parameter of the file that this one may not fall below.
    #[serde(default)]
    pub at_least: Option<String>,
}

impl Parameter {
    /// A parameter with a uniform prior on its bounds.
    pub fn new(path: impl Into<String>, lo: f64, hi: f64, why: impl Into<String>) -> Parameter {
        Parameter {
            path: path.into(),
            lo,
            hi,
            why: why.into(),
            mean: None,
            sd: None,
            at_most: None,
            at_least: None,
        }
    }

    /// The parameter's prior for [`abc::abc_smc`].
    pub fn prior(&self) -> abc::Prior {
        abc::Prior {
            lo: self.lo,
            hi: self.hi,
            normal: self.mean.zip(self.sd),
        }
    }
}

/// A parameter file: `[[parameter]]` tables with `path`, `lo`, `hi` and `why`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterFile {
    /// The parameters.
    #[serde(rename = "parameter")]
    pub parameters: Vec<Parameter>,
}

/// Reads a parameter file and checks every path against the scenario and every bound.
pub fn load_parameters(path: &Path, scenario: &Scenario) -> Result<Vec<Parameter>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file: ParameterFile =
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    check_parameters(&file.parameters, scenario)
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    Ok(file.parameters)
}

pub(super) fn check_parameters(ps: &[Parameter], s: &Scenario) -> Result<()> {
    if ps.is_empty() {
        return Err(Error::Config("no parameters to calibrate".into()));
    }
    for (k, p) in ps.iter().enumerate() {
        if !(p.lo.is_finite() && p.hi.is_finite() && p.lo < p.hi) {
            return Err(Error::Config(format!(
                "parameter[{k}] {}: bounds [{}, {}] must be finite with lo < hi",
                p.path, p.lo, p.hi
            )));
        }
        match (p.mean, p.sd) {
            (None, None) => {}
            (Some(m), Some(sd))
                if m.is_finite() && sd.is_finite() && sd > 0.0 && m >= p.lo && m <= p.hi => {}
            _ => {
                return Err(Error::Config(format!(
                    "parameter[{k}] {}: a normal prior needs both a finite mean within the bounds \
                     and a positive sd, got mean {:?} and sd {:?}; leave both out for a uniform \
                     prior",
                    p.path, p.mean, p.sd
                )))
            }
        }
        // Both bounds must give a valid scenario (this also checks the path).
        set_path(s, &p.path, p.lo)?;
        set_path(s, &p.path, p.hi)?;
    }
    order(ps)?;
    Ok(())
}

/// The order constraints of the parameters' `at_most` and `at_least` fields, as pairs `(a, b)`
/// of parameter indices meaning `x[a] ≤ x[b]`. Refuses a name that is not another parameter of
/// the file, and a pair whose bounds leave no value in order.
pub fn order(ps: &[Parameter]) -> Result<Vec<(usize, usize)>> {
    let mut pairs = Vec::new();
    for (k, p) in ps.iter().enumerate() {
        for (field, other, below) in [
            ("at_most", &p.at_most, true),
            ("at_least", &p.at_least, false),
        ] {
            let Some(other) = other else { continue };
            let Some(j) = ps.iter().position(|q| &q.path == other).filter(|&j| j != k) else {
                return Err(Error::Config(format!(
                    "parameter[{k}] {}: {field} = {other:?} names no other parameter of the \
                     file; give the path of another [[parameter]]",
                    p.path
                )));
            };
            let (a, b) = if below { (k, j) } else { (j, k) };
            if ps[a].lo >= ps[b].hi {
                return Err(Error::Config(format!(
                    "parameter[{k}] {}: {field} = {other:?} leaves no room in order ({} may \
                     not exceed {}, but the first's lower bound {} is not below the second's \
                     upper bound {}); widen the bounds or drop the constraint",
                    p.path, ps[a].path, ps[b].path, ps[a].lo, ps[b].hi
                )));
            }
            pairs.push((a, b));
        }
    }
    Ok(pairs)
}

/// The scenario with the parameters set to `x`.
pub fn apply(s: &Scenario, ps: &[Parameter], x: &[f64]) -> Result<Scenario> {
    let values: Vec<(&str, f64)> = ps
        .iter()
        .map(|p| p.path.as_str())
        .zip(x.iter().copied())
        .collect();
    crate::scenario::path::set_paths(s, &values)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `at_most` and `at_least` become pairs `x[a] ≤ x[b]`; a name that is not another
    /// parameter, or bounds that leave no value in order, are refused with the field.
    #[test]
    fn order_constraints_become_index_pairs() {
        let mut ps = vec![
            Parameter::new("event[0].offset", 0.0, 2.0, ""),
            Parameter::new("event[1].offset", -0.5, 1.5, ""),
            Parameter::new("event[2].offset", 0.0, 2.0, ""),
        ];
        ps[1].at_most = Some("event[0].offset".into());
        ps[2].at_least = Some("event[1].offset".into());
        assert_eq!(order(&ps).unwrap(), vec![(1, 0), (1, 2)]);
        ps[2].at_least = Some("event[9].offset".into());
        let e = order(&ps).unwrap_err().to_string();
        assert!(e.contains("parameter[2] event[2].offset: at_least = \"event[9].offset\" names no other parameter"), "{e}");
        ps[2].at_least = Some("event[2].offset".into());
        assert!(order(&ps).is_err(), "a parameter ordered against itself");
        ps[2].at_least = None;
        ps[0].lo = 1.8;
        ps[1].at_most = None;
        ps[0].at_most = Some("event[1].offset".into());
        let e = order(&ps).unwrap_err().to_string();
        assert!(e.contains("leaves no room in order"), "{e}");
    }
}
