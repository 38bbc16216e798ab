//! What the explorer's page may ask for, checked before it reaches the engine: the edits of a
//! scenario (agent counts, replicates, seed, parameters by field path, events switched off,
//! moved or given another number), applied to the served scenario and validated with the same
//! rules and messages as a file; and the scenario described for the page.
//!
//! Owns: [`Edits`], [`EventEdit`], [`Limits`], [`apply`], [`describe`], [`main_number`].
//! Reads: the scenario, field paths, the calibration's default bounds. Never: runs, files.

use crate::error::{Error, Problem};
use crate::month::Month;
use crate::scenario::path::{get_path, set_path};
use crate::scenario::{EventKind, Scenario};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The work one request may ask for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// User agents per run at most.
    pub max_users: u64,
    /// Merchant agents per run at most.
    pub max_merchants: u64,
    /// Replicates per request at most (a comparison runs twice as many simulations).
    pub max_replicates: u64,
    /// Parameters a request may set at most.
    pub max_params: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_users: 1_000_000,
            max_merchants: 100_000,
            max_replicates: 20,
            max_params: 64,
        }
    }
}

/// One event's edit: switched off, moved to another month, or given another main number
/// ([`main_number`]). `index` is the event's place in the served scenario.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventEdit {
    /// The event's index in the served scenario.
    pub index: usize,
    /// `false` removes it.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Its new month, `YYYY-MM`.
    #[serde(default)]
    pub at: Option<String>,
    /// Its new main number.
    #[serde(default)]
    pub value: Option<f64>,
}

fn yes() -> bool {
    true
}

/// A request's scenario: the served scenario with these changes. Absent fields keep the
/// served values (the agent counts default to the server's `--users`, not the file's).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edits {
    /// The seed (replicate seeds derive from it when `replicates` > 1).
    #[serde(default)]
    pub seed: Option<u64>,
    /// User agents.
    #[serde(default)]
    pub users: Option<u64>,
    /// Merchant agents.
    #[serde(default)]
    pub merchants: Option<u64>,
    /// Replicates (1: one run with the seed, as `paymarket run`; more: as `paymarket
    /// ensemble --seed`).
    #[serde(default)]
    pub replicates: Option<u64>,
    /// Also run the served scenario on the same seeds and report the paired effect.
    #[serde(default)]
    pub compare: bool,
    /// Numbers by field path (`params.churn_rate`).
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
    /// Event changes.
    #[serde(default)]
    pub events: Vec<EventEdit>,
}

/// A request made ready for the engine: the edited scenario, the served one at the same size
/// and seed (the comparison's baseline), the replicates and whether to compare.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The edited scenario.
    pub edited: Scenario,
    /// The served scenario with the edited agent counts and seed.
    pub original: Scenario,
    /// Replicates.
    pub replicates: u64,
    /// Run the original too and report paired effects.
    pub compare: bool,
}

fn problem(path: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        path: path.into(),
        message: message.into(),
    }
}

/// The field an event kind's main number is in, with bounds for a slider: the amount of a
/// deposit or fixed cost, the rate of a fee, subsidy or withdrawal fee, the multiplier of a
/// campaign, the factor of a shift, the months of an allow's phase-in, the weight of a tie, the
/// offset of a brand event. `None` for kinds without one (block, interop, network). A `fee`
/// that scales the fee (`factor`) rather than setting it has its factor as main number.
pub fn main_number(kind: EventKind, scales: bool) -> Option<(&'static str, f64, f64)> {
    Some(match kind {
        EventKind::Deposit => ("amount", 0.0, 200_000.0),
        EventKind::FixedCost => ("amount", 0.0, 100_000.0),
        EventKind::Fee if scales => ("factor", 0.0, 5.0),
        EventKind::Fee => ("rate", 0.0, 0.05),
        EventKind::WithdrawalFee => ("rate", 0.0, 0.02),
        EventKind::Subsidy => ("rate", 0.0, 0.2),
        EventKind::Campaign => ("multiplier", 0.0, 10.0),
        EventKind::Shift => ("factor", 0.0, 5.0),
        EventKind::Allow => ("months", 0.0, 36.0),
        EventKind::Tie => ("weight", 0.0, 1.0),
        EventKind::Brand => ("offset", -3.0, 3.0),
        EventKind::Block | EventKind::Interop | EventKind::Network => return None,
    })
}

/// The scenario with `edits` applied, or every problem found, each with its field path
/// (`agents.users`, `params.churn_rate`, `event[3].amount`: event paths use the served
/// scenario's indices). `users` and `merchants` are the server's default agent counts.
pub fn apply(
    base: &Scenario,
    edits: &Edits,
    limits: &Limits,
    users: u64,
    merchants: u64,
) -> Result<Prepared, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut s = base.clone();
    s.agents.users = edits.users.unwrap_or(users);
    s.agents.merchants = edits.merchants.unwrap_or(merchants);
    s.seed = edits.seed.unwrap_or(base.seed);
    let replicates = edits.replicates.unwrap_or(1);
    if replicates == 0 || replicates > limits.max_replicates {
        problems.push(problem(
            "replicates",
            format!(
                "{replicates} replicates: choose 1 to {} (the server's --max-replicates)",
                limits.max_replicates
            ),
        ));
    }
    if edits.params.len() > limits.max_params {
        problems.push(problem(
            "params",
            format!(
                "{} parameters set; at most {}",
                edits.params.len(),
                limits.max_params
            ),
        ));
    } else {
        for (path, value) in &edits.params {
            // Behavioural numbers only: the agent counts, seed and dates have their own
            // fields (and limits).
            if !SLIDABLE.iter().any(|p| path.starts_with(p)) {
                problems.push(problem(
                    path.clone(),
                    format!("only {} paths can be set here", SLIDABLE.join(", ")),
                ));
                continue;
            }
            match set_path(&s, path, *value) {
                Ok(t) => s = t,
                Err(e) => problems.extend(problems_of(e, path)),
            }
        }
    }
    for (path, value, max, flag) in [
        (
            "agents.users",
            s.agents.users,
            limits.max_users,
            "--max-users",
        ),
        (
            "agents.merchants",
            s.agents.merchants,
            limits.max_merchants,
            "--max-merchants",
        ),
    ] {
        if value > max {
            problems.push(problem(
                path,
                format!("{value} is more than this server allows ({max}; its {flag} flag)"),
            ));
        }
    }
    let mut off = Vec::new();
    for e in &edits.events {
        let k = e.index;
        let here = format!("event[{k}]");
        let Some(event) = s.events.get(k).cloned() else {
            problems.push(problem(
                here,
                format!("there is no event {k}: the scenario has {}", s.events.len()),
            ));
            continue;
        };
        if edits.events.iter().filter(|x| x.index == k).count() > 1 {
            problems.push(problem(here, "edited twice in one request"));
            continue;
        }
        if let Some(at) = &e.at {
            match at.parse::<Month>() {
                Ok(m) => s.events[k].at = m,
                Err(_) => problems.push(problem(
                    format!("{here}.at"),
                    format!("{at:?} is not a month YYYY-MM"),
                )),
            }
        }
        if let Some(v) = e.value {
            match main_number(event.kind, event.factor.is_some() && event.rate.is_none()) {
                Some((field, _, _)) => {
                    let path = format!("{here}.{field}");
                    match set_path(&s, &path, v) {
                        Ok(t) => s = t,
                        Err(err) => problems.extend(problems_of(err, &path)),
                    }
                }
                None => problems.push(problem(
                    here,
                    format!("a {} event has no number to change", event.kind.name()),
                )),
            }
        }
        if !e.enabled {
            off.push(k);
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    // Problems of moved or renumbered events are named by the served scenario's indices.
    if let Err(e) = s.validate_as("the explorer") {
        return Err(problems_of(e, "scenario"));
    }
    let kept: Vec<usize> = (0..s.events.len()).filter(|k| !off.contains(k)).collect();
    let mut k = 0;
    s.events.retain(|_| {
        k += 1;
        !off.contains(&(k - 1))
    });
    if let Err(e) = s.validate_as("the explorer") {
        // Named by the served scenario's indices, as the page knows the events.
        let mut found = problems_of(e, "scenario");
        for p in &mut found {
            p.path = served_index(&p.path, &kept);
        }
        return Err(found);
    }
    let mut original = base.clone();
    original.agents = s.agents.clone();
    original.seed = s.seed;
    Ok(Prepared {
        edited: s,
        original,
        replicates,
        compare: edits.compare,
    })
}

/// The path prefixes a request may set numbers under.
const SLIDABLE: [&str; 5] = ["params.", "platform.", "channel.", "context.", "network."];

/// `event[j]…` of the scenario without the switched-off events as `event[k]…` of the served
/// one (`kept[j] = k`); any other path as it is.
fn served_index(path: &str, kept: &[usize]) -> String {
    let Some(rest) = path.strip_prefix("event[") else {
        return path.to_string();
    };
    let Some((j, tail)) = rest.split_once(']') else {
        return path.to_string();
    };
    match j.parse::<usize>().ok().and_then(|j| kept.get(j)) {
        Some(k) => format!("event[{k}]{tail}"),
        None => path.to_string(),
    }
}

/// An error's problems (a scenario error's own list; anything else as one problem at `path`).
fn problems_of(e: Error, path: &str) -> Vec<Problem> {
    match e {
        Error::Scenario { problems, .. } => problems,
        e => vec![problem(path, e.to_string())],
    }
}

/// The parameters the page offers as sliders, `(path, lo, hi, why)`: every behavioural
/// parameter (`params.*`), then the platforms' and channels' numbers the calibration frees
/// (innovation, imitation, initial holders, brand, margins). Bounds are the calibration's
/// where it has them ([`crate::calibrate::default_parameters`]); otherwise 0 to 1 for a value
/// of at most 1 and 0 to three times the value above (the scenario's rules refuse what is out
/// of range either way). The events' numbers have their own controls.
fn sliders(s: &Scenario) -> Vec<(String, f64, f64, String)> {
    let calibrated = crate::calibrate::default_parameters(s, &[]);
    let mut out: Vec<(String, f64, f64, String)> = s
        .params
        .numeric_fields()
        .into_iter()
        .map(|(name, v)| {
            let path = format!("params.{name}");
            match calibrated.iter().find(|p| p.path == path) {
                Some(p) => (
                    path,
                    p.lo,
                    p.hi,
                    "calibrated within these bounds".to_string(),
                ),
                None if v <= 1.0 => (path, 0.0, 1.0, String::new()),
                None => (path, 0.0, 3.0 * v, String::new()),
            }
        })
        .collect();
    out.extend(
        calibrated
            .into_iter()
            .filter(|p| !p.path.starts_with("params.") && !p.path.starts_with("event["))
            .map(|p| (p.path, p.lo, p.hi, p.why)),
    );
    out
}

/// The served scenario for the page: its description, months, ids, events (each with its
/// main number and bounds), the behavioural parameters with their calibration bounds, the
/// default sizes and the server's limits.
pub fn describe(s: &Scenario, users: u64, merchants: u64, limits: &Limits) -> Value {
    let events: Vec<Value> = s
        .events
        .iter()
        .enumerate()
        .map(|(k, e)| {
            let number = main_number(e.kind, e.factor.is_some() && e.rate.is_none()).and_then(
                |(field, lo, hi)| {
                    let v = get_path(s, &format!("event[{k}].{field}")).ok()?;
                    Some(json!({"field": field, "value": v, "lo": lo.min(v), "hi": hi.max(v)}))
                },
            );
            json!({
                "index": k,
                "at": e.at.to_string(),
                "kind": e.kind.name(),
                "platform": e.platform,
                "channel": e.channel,
                "context": e.context,
                "network": e.network,
                "source": e.source,
                "group": e.group,
                "number": number,
            })
        })
        .collect();
    let params: Vec<Value> = sliders(s)
        .into_iter()
        .filter_map(|(path, lo, hi, why)| {
            let v = get_path(s, &path).ok()?;
            Some(json!({"path": path, "value": v, "lo": lo.min(v), "hi": hi.max(v), "why": why}))
        })
        .collect();
    json!({
        "name": s.name,
        "description": s.description,
        "start": s.start.to_string(),
        "end": s.end.to_string(),
        "months": s.months(),
        "seed": s.seed,
        "users": users,
        "merchants": merchants,
        "platforms": s.platform_ids(),
        "contexts": s.contexts.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        "events": events,
        "params": params,
        "limits": {
            "max_users": limits.max_users,
            "max_merchants": limits.max_merchants,
            "max_replicates": limits.max_replicates,
        },
    })
}
