//! The solver: Nelder–Mead in the unit cube of the bounds, and the best point of a trace.
//!
//! Owns: `nelder_mead`, `best_of`. Reads: nothing of the model (a pure optimiser over a
//! function). Never: scenarios, runs, files.

use super::Evaluation;

pub(crate) fn best_of(trace: &[Evaluation]) -> (usize, f64) {
    let mut b = (0, f64::INFINITY);
    for (k, e) in trace.iter().enumerate() {
        if e.objective < b.1 {
            b = (k, e.objective);
        }
    }
    b
}

/// Minimises `f` over the unit cube by Nelder–Mead (reflection 1, expansion 2, contraction ½,
/// shrink ½), points clamped to the cube, from `u0` with an initial step `step` per
/// coordinate, using at most `evals` evaluations. Deterministic.
pub fn nelder_mead<S>(
    u0: &[f64],
    step: f64,
    evals: usize,
    state: &mut S,
    f: &mut impl FnMut(&[f64], &mut S) -> f64,
) -> (Vec<f64>, f64) {
    let d = u0.len();
    let clamp = |u: Vec<f64>| -> Vec<f64> { u.into_iter().map(|v| v.clamp(0.0, 1.0)).collect() };
    let mut used = 0;
    let mut eval = |u: &[f64], used: &mut usize, state: &mut S| -> f64 {
        *used += 1;
        f(u, state)
    };
    if evals == 0 {
        return (u0.to_vec(), f64::INFINITY);
    }
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(d + 1);
    let v0 = eval(u0, &mut used, state);
    simplex.push((u0.to_vec(), v0));
    for k in 0..d {
        if used >= evals {
            break;
        }
        let mut u = u0.to_vec();
        // Step inwards when the start sits on the upper face.
        u[k] = if u[k] + step <= 1.0 {
            u[k] + step
        } else {
            u[k] - step
        };
        let v = eval(&u, &mut used, state);
        simplex.push((u, v));
    }
    while used < evals && simplex.len() == d + 1 {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let worst = simplex[d].clone();
        let centroid: Vec<f64> = (0..d)
            .map(|k| simplex[..d].iter().map(|p| p.0[k]).sum::<f64>() / d as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            clamp(
                (0..d)
                    .map(|k| centroid[k] + t * (worst.0[k] - centroid[k]))
                    .collect(),
            )
        };
        let r = along(-1.0);
        let fr = eval(&r, &mut used, state);
        if fr < simplex[0].1 {
            if used >= evals {
                simplex[d] = (r, fr);
                break;
            }
            let e = along(-2.0);
            let fe = eval(&e, &mut used, state);
            simplex[d] = if fe < fr { (e, fe) } else { (r, fr) };
        } else if fr < simplex[d - 1].1 {
            simplex[d] = (r, fr);
        } else {
            if used >= evals {
                break;
            }
            let c = if fr < worst.1 {
                along(-0.5)
            } else {
                along(0.5)
            };
            let fc = eval(&c, &mut used, state);
            if fc < worst.1.min(fr) {
                simplex[d] = (c, fc);
            } else {
                // Shrink towards the best point.
                let best = simplex[0].0.clone();
                for p in simplex.iter_mut().skip(1) {
                    if used >= evals {
                        break;
                    }
                    let u: Vec<f64> = (0..d).map(|k| best[k] + 0.5 * (p.0[k] - best[k])).collect();
                    let v = eval(&u, &mut used, state);
                    *p = (u, v);
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    simplex.swap_remove(0)
}
