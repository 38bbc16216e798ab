//! Identification: how much the objective rises when each calibrated parameter moves ±10%.
//!
//! Owns: `Sensitivity`, `identification`. Reads: the objective. Never: output files.

use super::{score, scores, Parameter, Settings, Target};
use crate::error::Result;
use crate::scenario::Scenario;

/// The local sensitivity of the objective to one parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Sensitivity {
    /// Parameter path.
    pub path: String,
    /// Calibrated value.
    pub value: f64,
    /// The values tried below and above (±10% of the value, or of the bounds' span when the
    /// value is 0; kept inside the bounds).
    pub tried: (f64, f64),
    /// Objective at the two values.
    pub objective: (f64, f64),
    /// Rise of the objective over the calibrated one, the larger of the two sides.
    pub rise: f64,
}

/// Moves each parameter ±10% from `x` (the others fixed) and reports how much the objective
/// rises. Evaluations run in parallel.
pub fn identification(
    base: &Scenario,
    ps: &[Parameter],
    x: &[f64],
    targets: &[Target],
    st: &Settings,
) -> Result<(f64, Vec<Sensitivity>)> {
    let at = score(base, ps, x, targets, st);
    let moves: Vec<(usize, f64)> = ps
        .iter()
        .enumerate()
        .flat_map(|(k, p)| {
            let h = if x[k] == 0.0 {
                0.1 * (p.hi - p.lo)
            } else {
                0.1 * x[k].abs()
            };
            [
                (k, (x[k] - h).clamp(p.lo, p.hi)),
                (k, (x[k] + h).clamp(p.lo, p.hi)),
            ]
        })
        .collect();
    let scores = scores(&moves, |&(k, v)| {
        let mut y = x.to_vec();
        y[k] = v;
        score(base, ps, &y, targets, st)
    })?;
    let out = ps
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let (a, b) = (scores[2 * k], scores[2 * k + 1]);
            Sensitivity {
                path: p.path.clone(),
                value: x[k],
                tried: (moves[2 * k].1, moves[2 * k + 1].1),
                objective: (a, b),
                rise: (a - at).max(b - at),
            }
        })
        .collect();
    Ok((at, out))
}
