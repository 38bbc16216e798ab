//! Does every `brand` and `fixed_cost` event of the historical scenario matter? Each one's
//! paired effect (the scenario with and without it, on common random numbers, forked at the
//! event's month) against its seed noise and, for brand events, a lower bound reasoned by hand.
//!
//! ```text
//! cargo run --release --example event_effects -- [--scenario PATH] [--users N] [--pairs K]
//!     [--threads T]
//! ```
//!
//! **Brand events.** A `brand` event moves platform `j`'s offset in context `κ` by `Δθ`. Of the
//! people holding two wallets or more (`D₂`, from `multihoming_users × adopters` in the event's
//! month), a share `1 − (1 − ρ_κ)^k` re-choose their default in `κ` within `k` months, and for
//! a chooser whose probability of picking `j` is `p` it moves by at least
//! `|Δθ| · min(p(1−p), p'(1−p'))`, `p' = σ(logit p + Δθ)` (the logistic's slope `σ(1−σ)` is
//! smallest at an end of the interval). Contacts' weight only adds to the move (more defaults on
//! `j` make `j` more attractive). With `p` taken as `j`'s share of the defaults in `κ`, the
//! effect on `j`'s default users after `k` months is, to first order,
//! `D₂ · (1 − (1 − ρ_κ)^k) · |Δθ| · min(p(1−p), p'(1−p'))`: the column `first order`. It is a
//! strict lower bound only for choosers who all share the probability `p`; spread around it
//! (some users nearly sure of one wallet) lowers the mean slope, and no bound from aggregate
//! shares alone can exclude that, so the check is the effect against its noise and against half
//! this estimate. The horizon `k` runs to the month before the next brand event for the same
//! platform and context, or 12 months, whichever is sooner.
//!
//! **Fixed-cost events.** A cut of `Δf` RMB a month per shop raises the per-shop profit of
//! accepting by `Δf` for every deciding shop, so the effect on shops accepting has the sign of
//! the cut; its size depends on how many shops sit near their decision margin, which no short
//! formula gives, so the check is the paired effect against its noise (a 95% interval that
//! excludes zero) at 12 months.
//!
//! Prints one row per event: the effect at its horizon with its paired 95% interval, the
//! standard error of the paired difference (the seed noise), and the bound.

#[path = "support/mod.rs"]
mod support;

use paymarket::experiment::{compare, Plan};
use paymarket::scenario::EventKind;
use paymarket::Scenario;
use std::process::ExitCode;

const USAGE: &str = "usage: event_effects [--scenario PATH] [--users N] [--pairs K] [--threads T]
  --scenario  scenario file (default data/scenarios/china_2012_2021_calibrated.toml)
  --users     user agents (default 100000; merchants a tenth)
  --pairs     pairs of runs per event (default 10)
  --threads   worker threads (default: one per core)";

fn main() -> ExitCode {
    support::main_with(&["scenario", "users", "pairs", "threads"], USAGE, run)
}

fn run(flags: &support::Flags) -> Result<(), Box<dyn std::error::Error>> {
    let path = flags
        .text("scenario")
        .unwrap_or("data/scenarios/china_2012_2021_calibrated.toml");
    let mut s = Scenario::load(path)?;
    s.agents.users = flags.count("users")?.unwrap_or(100_000);
    s.agents.merchants = (s.agents.users / 10).max(1);
    let pairs = flags.count("pairs")?.unwrap_or(10);
    let pool = support::pool(flags.count("threads")?.unwrap_or(0))?;
    let plan = Plan {
        replicates: pairs,
        seed: s.seed,
        ..Plan::default()
    };
    println!(
        "{} · {} users, {} merchants, {pairs} pairs per event, forked at each event's month\n",
        s.name, s.agents.users, s.agents.merchants
    );
    println!(
        "{:<8} {:<11} {:<8} {:<8} {:>7} {:>9} {:>30} {:>10} {:>12}",
        "event",
        "kind",
        "platform",
        "where",
        "change",
        "horizon",
        "effect [95%]",
        "noise (SE)",
        "lower bound"
    );
    for (k, e) in s.events.iter().enumerate() {
        if !matches!(e.kind, EventKind::Brand | EventKind::FixedCost) {
            continue;
        }
        let platform = e.platform.clone().unwrap_or_default();
        let place = e.context.clone().or(e.channel.clone()).unwrap_or_default();
        // Horizon: the month before the next event of the same kind for the same platform
        // and place, or 12 months.
        let next = s.events[k + 1..].iter().find(|x| {
            x.kind == e.kind
                && x.platform == e.platform
                && x.context == e.context
                && x.channel == e.channel
                && x.at > e.at
        });
        let horizon = next
            .map_or(e.at.plus(11), |x| x.at.plus(-1).min(e.at.plus(11)))
            .min(s.end);
        let mut without = s.clone();
        without.events.remove(k);
        without.name = format!("{}_without_event_{k}", s.name);
        let effects = pool.install(|| compare(&s, &without, &plan, Some(e.at), &mut []))?;
        let months = effects.baseline.months();
        let t = months.iter().position(|m| *m == horizon).expect("in range");
        let t0 = months.iter().position(|m| *m == e.at).expect("in range");
        // The effect of the event: baseline (with it) minus without, so flip the sign.
        let (effect, noise, bound, change, unit) = match e.kind {
            EventKind::Brand => {
                let d = effects
                    .get(t, "defaults", &place, &platform, "default_users")
                    .ok_or("no defaults cell")?;
                let before = previous_offset(&s, k);
                let change = e.offset.unwrap_or(0.0) - before;
                let adopters = mean(&effects, t0, "market", "", "", "adopters");
                let dual = mean(&effects, t0, "market", "", "", "multihoming_users") * adopters;
                let p =
                    mean(&effects, t0, "defaults", &place, &platform, "default_users") / adopters;
                let rho = s
                    .contexts
                    .iter()
                    .find(|c| c.id == place)
                    .and_then(|c| c.primary_review)
                    .unwrap_or(s.params.primary_review);
                let q = logistic(logit(p) + change);
                let reviewing = 1.0 - (1.0 - rho).powi((t - t0 + 1) as i32);
                let bound = dual * reviewing * change.abs() * (p * (1.0 - p)).min(q * (1.0 - q));
                (
                    -d.mean() / 1e6,
                    d.sd() / (d.n() as f64).sqrt() / 1e6,
                    Some(bound / 1e6),
                    change,
                    "M",
                )
            }
            _ => {
                let d = effects
                    .get(t, "channels", &place, &platform, "merchants_accepting")
                    .ok_or("no acceptance cell")?;
                let before = previous_fixed(&s, k);
                let change = e.amount.unwrap_or(0.0) - before;
                (
                    -d.mean() / 1e3,
                    d.sd() / (d.n() as f64).sqrt() / 1e3,
                    None,
                    change,
                    "k shops",
                )
            }
        };
        let (lo, hi) = (effect - 2.0 * noise, effect + 2.0 * noise);
        println!(
            "{:<8} {:<11} {:<8} {:<8} {:>+7.2} {:>9} {:>30} {:>10.3} {:>12}",
            e.at.to_string(),
            e.kind.name(),
            platform,
            place,
            change,
            horizon.to_string(),
            format!("{effect:+.3} [{lo:+.3}, {hi:+.3}] {unit}"),
            noise,
            bound.map_or("–".to_string(), |b| format!("{b:.3} {unit}")),
        );
    }
    println!("\nThe effect is the scenario with the event minus the scenario without it; the interval is the mean ± 2 standard errors of the paired difference.");
    Ok(())
}

fn mean(
    e: &paymarket::experiment::Effects,
    t: usize,
    table: &str,
    k1: &str,
    k2: &str,
    metric: &str,
) -> f64 {
    e.baseline
        .get(t, table, k1, k2, metric)
        .map_or(f64::NAN, |m| m.mean())
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The brand offset in force before event `k` (the last earlier permanent brand event for the
/// same platform and context, else the context's own offset).
fn previous_offset(s: &Scenario, k: usize) -> f64 {
    let e = &s.events[k];
    let earlier = s.events[..k].iter().rev().find(|x| {
        x.kind == EventKind::Brand
            && x.platform == e.platform
            && x.context == e.context
            && x.months.is_none()
    });
    match earlier {
        Some(x) => x.offset.unwrap_or(0.0),
        None => s
            .contexts
            .iter()
            .find(|c| Some(&c.id) == e.context.as_ref())
            .and_then(|c| e.platform.as_ref().and_then(|p| c.brand.get(p)))
            .copied()
            .unwrap_or(0.0),
    }
}

/// The fixed cost in force before event `k` (the last earlier permanent fixed_cost event for
/// the same platform and channel, else the platform's own).
fn previous_fixed(s: &Scenario, k: usize) -> f64 {
    let e = &s.events[k];
    let earlier = s.events[..k].iter().rev().find(|x| {
        x.kind == EventKind::FixedCost
            && x.platform == e.platform
            && x.channel == e.channel
            && x.months.is_none()
    });
    match earlier {
        Some(x) => x.amount.unwrap_or(0.0),
        None => s
            .platforms
            .iter()
            .find(|p| Some(&p.id) == e.platform.as_ref())
            .map_or(0.0, |p| p.fixed_cost),
    }
}
