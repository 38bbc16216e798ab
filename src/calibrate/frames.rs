//! A calibration's tables as frames: what its CSV files hold, typed, made in one place for the
//! files ([`super::point_files`], [`super::abc_files`]) and for callers that want data frames
//! (the Python package). The tables are named after their files (`fit` for `fit.csv`).
//!
//! Owns: one frame builder per table, [`Report::frames`], [`AbcReport::frames`]. Reads: the
//! reports. Never: files, simulations.

use super::abc::{Particle, Posterior};
use super::bayes::{AbcReport, Noise};
use super::posterior::FIXED;
use super::predictive::probabilities;
use super::{error, Calibration, Fit, Parameter, Report, Sensitivity, Target};
use crate::record::{Frame, Kind, Value};

const T: Kind = Kind::Text;
const N: Kind = Kind::Number;
const I: Kind = Kind::Integer;

/// An empty frame with these columns.
fn frame(name: &'static str, columns: &[(&str, Kind)]) -> Frame {
    let header: Vec<(String, Kind)> = columns.iter().map(|(n, k)| (n.to_string(), *k)).collect();
    Frame::with_columns(name, &header)
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn num(x: f64) -> Value {
    Value::number(x)
}

fn int(k: usize) -> Value {
    Value::Integer(k as i64)
}

/// `fit` (point method): every target with its simulated mean, spread, interval and error.
pub(super) fn fit_frame(targets: &[Target], fit: &Fit) -> Frame {
    let mut f = frame(
        "fit",
        &[
            ("period", T),
            ("publisher", T),
            ("series", T),
            ("observed", N),
            ("mean", N),
            ("sd", N),
            ("ci_low", N),
            ("ci_high", N),
            ("error", N),
            ("platform", T),
            ("measure", T),
            ("weight", N),
        ],
    );
    for (t, m) in targets.iter().zip(&fit.simulated) {
        let (lo, hi) = m.ci95();
        f.push([
            text(&t.period),
            text(&t.publisher),
            text(&t.series),
            num(t.value),
            num(m.mean()),
            num(m.sd()),
            num(lo),
            num(hi),
            num(error(t, m.mean())),
            text(&t.platform),
            text(t.measure.name()),
            num(t.weight),
        ]);
    }
    f
}

/// `identification`: the objective when each parameter moves ±10%.
pub(super) fn identification_frame(
    ps: &[Parameter],
    identification: &(f64, Vec<Sensitivity>),
) -> Frame {
    let mut f = frame(
        "identification",
        &[
            ("parameter", T),
            ("value", N),
            ("lo", N),
            ("hi", N),
            ("value_minus", N),
            ("value_plus", N),
            ("objective", N),
            ("objective_minus", N),
            ("objective_plus", N),
            ("rise", N),
        ],
    );
    for (s, p) in identification.1.iter().zip(ps) {
        f.push([
            text(&s.path),
            num(s.value),
            num(p.lo),
            num(p.hi),
            num(s.tried.0),
            num(s.tried.1),
            num(identification.0),
            num(s.objective.0),
            num(s.objective.1),
            num(s.rise),
        ]);
    }
    f
}

/// `trace`: every evaluation of the point search, in order, one column per parameter.
pub(super) fn trace_frame(ps: &[Parameter], calibration: &Calibration) -> Frame {
    let mut header: Vec<(String, Kind)> = vec![
        ("evaluation".into(), I),
        ("stage".into(), T),
        ("objective".into(), N),
    ];
    header.extend(ps.iter().map(|p| (p.path.clone(), N)));
    let mut f = Frame::with_columns("trace", &header);
    for (k, ev) in calibration.trace.iter().enumerate() {
        let mut row = vec![int(k), text(ev.stage), num(ev.objective)];
        row.extend(ev.x.iter().map(|v| num(*v)));
        f.push(row);
    }
    f
}

/// `posterior` or `prior_sample`: the particles with normalised weights, one column per path.
pub(crate) fn particles_frame(
    name: &'static str,
    paths: &[String],
    particles: &[Particle],
) -> Frame {
    let mut header: Vec<(String, Kind)> = FIXED
        .iter()
        .zip([I, N, N, I])
        .map(|(n, k)| (n.to_string(), k))
        .collect();
    header.extend(paths.iter().map(|p| (p.clone(), N)));
    let mut f = Frame::with_columns(name, &header);
    let total: f64 = particles.iter().map(|p| p.weight).sum();
    for (k, p) in particles.iter().enumerate() {
        let mut row = vec![
            int(k),
            num(p.weight / total),
            num(p.distance),
            int(p.generation),
        ];
        row.extend(p.x.iter().map(|v| num(*v)));
        f.push(row);
    }
    f
}

/// `abc_generations`: what each generation of the sampler did.
fn generations_frame(post: &Posterior) -> Frame {
    let mut f = frame(
        "abc_generations",
        &[
            ("generation", I),
            ("candidates", I),
            ("simulated", I),
            ("tolerance", N),
            ("acceptance", N),
        ],
    );
    for g in &post.generations {
        f.push([
            int(g.index),
            int(g.candidates),
            int(g.simulated),
            num(g.tolerance),
            num(g.acceptance),
        ]);
    }
    f
}

/// `posterior_summary`: per parameter, its bounds, prior and posterior moments and quantiles.
fn summary_frame(ps: &[Parameter], post: &Posterior) -> Frame {
    let mut f = frame(
        "posterior_summary",
        &[
            ("parameter", T),
            ("lo", N),
            ("hi", N),
            ("prior_mean", N),
            ("prior_sd", N),
            ("mean", N),
            ("sd", N),
            ("q025", N),
            ("q50", N),
            ("q975", N),
            ("sd_ratio", N),
        ],
    );
    let (mean, sd) = (post.mean(), post.sd());
    for (k, p) in ps.iter().enumerate() {
        let (prior_mean, prior_sd) = super::abc_files::prior_moments(ps, k, post);
        f.push([
            text(&p.path),
            num(p.lo),
            num(p.hi),
            num(prior_mean),
            num(prior_sd),
            num(mean[k]),
            num(sd[k]),
            num(post.quantile(k, 0.025)),
            num(post.quantile(k, 0.5)),
            num(post.quantile(k, 0.975)),
            num(sd[k] / prior_sd),
        ]);
    }
    f
}

/// `posterior_correlations`: every pair of parameters.
fn correlations_frame(ps: &[Parameter], post: &Posterior) -> Frame {
    let mut f = frame(
        "posterior_correlations",
        &[("parameter_a", T), ("parameter_b", T), ("correlation", N)],
    );
    for a in 0..ps.len() {
        for b in a + 1..ps.len() {
            f.push([
                text(&ps[a].path),
                text(&ps[b].path),
                num(post.correlation(a, b)),
            ]);
        }
    }
    f
}

/// `noise`: the distances of the heaviest particles under other seed sets.
fn noise_frame(post: &Posterior, noise: &Noise) -> Frame {
    let mut f = frame(
        "noise",
        &[
            ("particle", I),
            ("seed_set", I),
            ("distance", N),
            ("sampled_distance", N),
            ("tolerance", N),
        ],
    );
    for (k, ds) in &noise.points {
        for (s, d) in ds.iter().enumerate() {
            f.push([
                int(*k),
                int(s),
                num(*d),
                num(post.particles[*k].distance),
                num(post.tolerance()),
            ]);
        }
    }
    f
}

/// `fit` (ABC): every target with its prior and posterior predictive mean and band.
fn bands_frame(r: &AbcReport) -> Frame {
    let mut f = frame(
        "fit",
        &[
            ("period", T),
            ("publisher", T),
            ("series", T),
            ("platform", T),
            ("measure", T),
            ("at_least", T),
            ("observed", N),
            ("weight", N),
            ("draws", T),
            ("mean", N),
            ("q025", N),
            ("q50", N),
            ("q975", N),
            ("error", N),
            ("runs", I),
        ],
    );
    for t in &r.targets {
        for (draws, p) in [("prior", &r.prior), ("posterior", &r.post)] {
            let b = p.target(t);
            f.push([
                text(&t.period),
                text(&t.publisher),
                text(&t.series),
                text(&t.platform),
                text(t.measure.name()),
                text(&t.at_least.to_string()),
                num(t.value),
                num(t.weight),
                text(draws),
                num(b.mean),
                num(b.lo),
                num(b.median),
                num(b.hi),
                num(error(t, b.mean)),
                int(b.n),
            ]);
        }
    }
    f
}

/// `predictive`: the prior and posterior bands of shares, holders and defaults, month by month.
fn predictive_frame(r: &AbcReport) -> Frame {
    let mut f = frame(
        "predictive",
        &[
            ("draws", T),
            ("month", T),
            ("table", T),
            ("key1", T),
            ("key2", T),
            ("metric", T),
            ("mean", N),
            ("q025", N),
            ("q50", N),
            ("q975", N),
            ("runs", I),
        ],
    );
    for (draws, p) in [("prior", &r.prior), ("posterior", &r.post)] {
        for q in p.quantities() {
            let b = p.quantity(&q);
            f.push([
                text(draws),
                text(&q.month.to_string()),
                text(q.table),
                text(&q.key1),
                text(&q.key2),
                text(q.metric),
                num(b.mean),
                num(b.lo),
                num(b.median),
                num(b.hi),
                int(b.n),
            ]);
        }
    }
    f
}

/// `probabilities`: which way the market goes, over the posterior predictive runs.
fn probabilities_frame(r: &AbcReport) -> Frame {
    let mut f = frame(
        "probabilities",
        &[("statement", T), ("probability", N), ("runs", I)],
    );
    let ids = r.calibrated.platform_ids();
    if ids.len() >= 2 {
        for (s, p, n) in probabilities(&r.post, ids[0], ids[1]) {
            f.push([Value::Text(s), num(p), int(n)]);
        }
    }
    f
}

impl Report {
    /// The point calibration's tables, as its files hold them: `fit`, `identification`,
    /// `trace`, then the forecast's summaries (`summary_platforms`, …).
    pub fn frames(&self) -> crate::error::Result<Vec<Frame>> {
        let mut out = vec![
            fit_frame(&self.targets, &self.fit),
            identification_frame(&self.parameters, &self.identification),
            trace_frame(&self.parameters, &self.calibration),
        ];
        out.extend(crate::experiment::summary_frames(&[&self.forecast])?);
        Ok(out)
    }
}

impl AbcReport {
    /// The ABC calibration's tables, as its files hold them: `posterior`, `prior_sample`,
    /// `abc_generations`, `posterior_summary`, `posterior_correlations`, `noise`, `fit`,
    /// `predictive`, `probabilities` (of the scenario's first two platforms), then the
    /// forecast's summaries (`summary_platforms`, …).
    pub fn frames(&self) -> crate::error::Result<Vec<Frame>> {
        let paths: Vec<String> = self.parameters.iter().map(|p| p.path.clone()).collect();
        let p = &self.posterior;
        let mut out = vec![
            particles_frame("posterior", &paths, &p.particles),
            particles_frame("prior_sample", &paths, &p.prior_sample),
            generations_frame(p),
            summary_frame(&self.parameters, p),
            correlations_frame(&self.parameters, p),
            noise_frame(p, &self.noise),
            bands_frame(self),
            predictive_frame(self),
            probabilities_frame(self),
        ];
        out.extend(crate::experiment::summary_frames(&[&self.forecast])?);
        Ok(out)
    }
}
