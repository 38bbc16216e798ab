//! Scenario validation: every check a scenario must pass before it runs, each problem reported
//! with its field path, the bad value and what to do. Pure functions of a [`Scenario`].
//!
//! Owns: `problems`. Reads: the scenario. Never: anything outside the scenario.

use super::*;
use crate::error::Problem;
use crate::month::Month;

mod platform;
use platform::platform_section;

pub(super) struct Checker {
    pub(super) problems: Vec<Problem>,
}

impl Checker {
    pub(super) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// A finite number in `[lo, hi]`.
    pub(super) fn range(&mut self, path: &str, v: f64, lo: f64, hi: f64, what: &str) {
        if !v.is_finite() || v < lo || v > hi {
            let bounds = if hi.is_infinite() {
                format!("at least {lo}")
            } else {
                format!("between {lo} and {hi}")
            };
            self.push(path, format!("{what} must be {bounds}, got {v}"));
        }
    }

    pub(super) fn share(&mut self, path: &str, v: f64, what: &str) {
        self.range(path, v, 0.0, 1.0, what);
    }

    pub(super) fn nonneg(&mut self, path: &str, v: f64, what: &str) {
        self.range(path, v, 0.0, f64::INFINITY, what);
    }

    pub(super) fn finite(&mut self, path: &str, v: f64, what: &str) {
        if !v.is_finite() {
            self.push(path, format!("{what} must be a finite number, got {v}"));
        }
    }

    pub(super) fn one_of(&mut self, path: &str, value: &str, known: &[&str], what: &str) -> bool {
        if known.contains(&value) {
            true
        } else {
            self.push(
                path,
                format!(
                    "unknown {what} {value:?}; known: {}",
                    if known.is_empty() {
                        "none declared".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            );
            false
        }
    }

    pub(super) fn path_points(&mut self, path: &str, points: &[(Month, f64)]) {
        self.dated_points(path, points, "membership path", "people");
    }

    /// Dated points `[month, value]` of a path (`what`) whose values (`unit`) are
    /// non-negative: at least one, sorted by month with no repeats.
    pub(super) fn dated_points(
        &mut self,
        path: &str,
        points: &[(Month, f64)],
        what: &str,
        unit: &str,
    ) {
        if points.is_empty() {
            self.push(
                path,
                format!("a {what} needs at least one [\"YYYY-MM\", {unit}] point"),
            );
        }
        for (k, (m, v)) in points.iter().enumerate() {
            self.nonneg(&format!("{path}[{k}]"), *v, unit);
            if k > 0 && points[k - 1].0 >= *m {
                self.push(
                    format!("{path}[{k}]"),
                    format!(
                        "points must be sorted by month with no repeats: {} follows {}",
                        m,
                        points[k - 1].0
                    ),
                );
            }
        }
    }
}

/// Largest magnitude accepted for any real number in a scenario: far above any real figure
/// (population and shop counts are below 10^10, monthly amounts in RMB below 10^12), far below
/// where sums of money and logit utilities overflow to infinity and turn into NaN (a brand
/// weight of 1e308 did).
const MAX_MAGNITUDE: f64 = 1e15;

/// Flags every number larger than [`MAX_MAGNITUDE`] in magnitude, with its field path (arrays of
/// tables by `id` where they have one, by index otherwise).
fn magnitudes(c: &mut Checker, v: &serde_json::Value, path: &str) {
    match v {
        // Real numbers only: seeds and agent counts are integers with their own checks.
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(x) = n.as_f64() {
                if x.abs() > MAX_MAGNITUDE {
                    c.push(
                        path,
                        format!("{x} is too large: numbers in a scenario must be within ±1e15"),
                    );
                }
            }
        }
        serde_json::Value::Array(items) => {
            for (k, item) in items.iter().enumerate() {
                let sub = match item.get("id").and_then(|i| i.as_str()) {
                    Some(id) => format!("{path}.{id}"),
                    None => format!("{path}[{k}]"),
                };
                magnitudes(c, item, &sub);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                magnitudes(c, item, &sub);
            }
        }
        _ => {}
    }
}

/// Every problem in `s`.
pub(crate) fn problems(s: &Scenario) -> Vec<Problem> {
    let mut c = Checker { problems: vec![] };
    if let Ok(v) = serde_json::to_value(s) {
        magnitudes(&mut c, &v, "");
    }
    run_settings(&mut c, s);
    params(&mut c, &s.params);
    network_section(&mut c, s);
    platform_section(&mut c, s);
    channel_section(&mut c, s);
    super::context::check(&mut c, s);
    let (networks, platforms, channels) = (s.network_ids(), s.platform_ids(), s.channel_ids());
    let contexts = s.context_ids();
    let merchant_channels = merchant_channels(s);
    let ids = super::event::Ids {
        platforms: &platforms,
        channels: &channels,
        merchant_channels: &merchant_channels,
        networks: &networks,
        contexts: &contexts,
    };
    for (k, e) in s.events.iter().enumerate() {
        super::event::check(&mut c, s, k, e, &ids);
    }
    c.problems
}

/// The merchant channels' ids.
fn merchant_channels(s: &Scenario) -> Vec<&str> {
    s.channels
        .iter()
        .filter(|ch| ch.kind == ChannelKind::Merchant)
        .map(|ch| ch.id.as_str())
        .collect()
}

/// The run itself: name, dates, population and agent counts.
fn run_settings(c: &mut Checker, s: &Scenario) {
    if s.name.trim().is_empty() {
        c.push("name", "give the scenario a name");
    }
    if s.start > s.end {
        c.push("end", format!("end {} is before start {}", s.end, s.start));
    }
    if s.start.months_until(s.end) >= 6000 {
        c.push(
            "end",
            format!(
                "a scenario spans at most 6000 months (500 years); {} to {} is longer",
                s.start, s.end
            ),
        );
    }
    if !(s.population.is_finite() && s.population >= 1.0) {
        c.push(
            "population",
            format!(
                "population must be a number of people of at least 1, got {}",
                s.population
            ),
        );
    }
    if s.agents.users == 0 {
        c.push("agents.users", "at least one user agent is needed, got 0");
    }
    if s.agents.users > u32::MAX as u64 {
        c.push(
            "agents.users",
            format!(
                "at most {} user agents are supported, got {}",
                u32::MAX,
                s.agents.users
            ),
        );
    }
    if s.agents.long_range == super::LongRange::Table
        && s.networks.len() > super::TABLE_MAX_NETWORKS
    {
        c.push(
            "agents.long_range",
            format!(
                "\"table\" draws a long-range contact's memberships with its state, which needs at most {} networks (they are kept in the state words), got {}; use \"population\" or fewer networks",
                super::TABLE_MAX_NETWORKS,
                s.networks.len()
            ),
        );
    }
    let shop_channels = s
        .channels
        .iter()
        .filter(|ch| ch.kind == ChannelKind::Merchant && ch.shops > 0.0)
        .count() as u64;
    if s.agents.merchants < shop_channels {
        c.push(
            "agents.merchants",
            format!(
                "{} merchant channels have shops, so at least {} merchant agents are needed, got {}",
                shop_channels, shop_channels, s.agents.merchants
            ),
        );
    }
    if s.agents.merchants > u32::MAX as u64 {
        c.push(
            "agents.merchants",
            format!(
                "at most {} merchant agents are supported, got {}",
                u32::MAX,
                s.agents.merchants
            ),
        );
    }
}

/// `[[network]]`: ids, nesting and membership paths.
fn network_section(c: &mut Checker, s: &Scenario) {
    if s.networks.len() > MAX_NETWORKS {
        c.push(
            "network",
            format!(
                "at most {MAX_NETWORKS} networks (besides everyone), got {}",
                s.networks.len()
            ),
        );
    }
    for d in duplicates(s.networks.iter().map(|n| n.id.as_str())) {
        c.push("network", format!("network id {d:?} is declared twice"));
    }
    for (k, n) in s.networks.iter().enumerate() {
        let p = format!("network.{}", n.id);
        if n.id.trim().is_empty() {
            c.push(format!("network[{k}].id"), "a network needs a non-empty id");
        }
        if n.id == EVERYONE {
            c.push(
                format!("network[{k}].id"),
                "\"everyone\" is implicit; do not declare it",
            );
        }
        if let Some(parent) = &n.within {
            let earlier: Vec<&str> = s.networks[..k].iter().map(|n| n.id.as_str()).collect();
            if !earlier.contains(&parent.as_str()) {
                c.push(
                    format!("{p}.within"),
                    format!(
                        "parent network {parent:?} must be declared before {:?}",
                        n.id
                    ),
                );
            }
        }
        match &n.logistic {
            None => c.path_points(&format!("{p}.path"), &n.path),
            Some(curve) if n.path.is_empty() => {
                c.range(
                    &format!("{p}.logistic.mid"),
                    curve.mid,
                    1900.0,
                    2200.0,
                    "a decimal year",
                );
                c.range(
                    &format!("{p}.logistic.width"),
                    curve.width,
                    0.01,
                    100.0,
                    "a curve's width in years",
                );
            }
            Some(_) => c.push(
                format!("{p}.logistic"),
                "give a network either a path or a logistic curve, not both",
            ),
        }
    }
}

/// `[[channel]]`: ids, kinds, weights, shops, platforms and acceptance.
fn channel_section(c: &mut Checker, s: &Scenario) {
    let (networks, platforms) = (s.network_ids(), s.platform_ids());
    if s.channels.is_empty() {
        c.push("channel", "declare at least one [[channel]]");
    }
    if s.channels.len() > MAX_CHANNELS {
        c.push(
            "channel",
            format!("at most {MAX_CHANNELS} channels, got {}", s.channels.len()),
        );
    }
    for d in duplicates(s.channels.iter().map(|c| c.id.as_str())) {
        c.push("channel", format!("channel id {d:?} is declared twice"));
    }
    for (k, ch) in s.channels.iter().enumerate() {
        let p = format!("channel.{}", ch.id);
        if ch.id.trim().is_empty() {
            c.push(format!("channel[{k}].id"), "a channel needs a non-empty id");
        }
        c.nonneg(&format!("{p}.weight"), ch.weight, "spending weight");
        if let Some(points) = &ch.weight_path {
            c.dated_points(&format!("{p}.weight_path"), points, "weight path", "size");
        }
        c.one_of(&format!("{p}.requires"), &ch.requires, &networks, "network");
        if let Some(list) = &ch.platforms {
            for id in list {
                c.one_of(&format!("{p}.platforms"), id, &platforms, "platform");
            }
        }
        c.nonneg(&format!("{p}.shops"), ch.shops, "shops");
        if ch.kind != ChannelKind::Merchant && ch.shops > 0.0 {
            c.push(
                format!("{p}.shops"),
                format!(
                    "only merchant channels have shops; this one is {:?}",
                    ch.kind
                ),
            );
        }
        if ch.kind != ChannelKind::Merchant && !ch.init_accept.is_empty() {
            c.push(
                format!("{p}.init_accept"),
                "only merchant channels have accepting shops",
            );
        }
        c.range(
            &format!("{p}.size_sigma"),
            ch.size_sigma,
            0.0,
            5.0,
            "size dispersion",
        );
        if !(ch.margin.is_finite() && ch.margin > 0.0 && ch.margin <= 1.0) {
            c.push(
                format!("{p}.margin"),
                format!("margin must be above 0 and at most 1, got {}", ch.margin),
            );
        }
        c.share(&format!("{p}.cash_cost"), ch.cash_cost, "cash cost");
        c.nonneg(&format!("{p}.steering"), ch.steering, "steering strength");
        c.share(
            &format!("{p}.small_quantile"),
            ch.small_quantile,
            "small-shop quantile",
        );
        for (id, share) in &ch.init_accept {
            if c.one_of(&format!("{p}.init_accept"), id, &platforms, "platform") {
                c.share(
                    &format!("{p}.init_accept.{id}"),
                    *share,
                    "initial acceptance share",
                );
                let pl = s.platforms.iter().find(|pl| &pl.id == id).expect("known");
                if pl.launch.is_some_and(|l| l > s.start) && *share > 0.0 {
                    c.push(
                        format!("{p}.init_accept.{id}"),
                        format!(
                            "{id} launches after the start, so no shop can accept it initially"
                        ),
                    );
                }
                if let Some(list) = &ch.platforms {
                    if !list.contains(id) && *share > 0.0 {
                        c.push(
                            format!("{p}.init_accept.{id}"),
                            format!("{id} is not in this channel's platforms list"),
                        );
                    }
                }
            }
        }
    }
}

fn params(c: &mut Checker, p: &Params) {
    for (name, v) in p.numeric_fields() {
        c.finite(&format!("params.{name}"), v, name);
    }
    c.range("params.contacts", p.contacts as f64, 0.0, 64.0, "contacts");
    c.share("params.long_range", p.long_range, "long-range share");
    if p.community_size == 0 {
        c.push(
            "params.community_size",
            "community size must be at least 1, got 0",
        );
    }
    for (name, v) in [
        ("coverage_weight", p.coverage_weight),
        ("rescue_weight", p.rescue_weight),
        ("subsidy_weight", p.subsidy_weight),
        ("subsidy_split", p.subsidy_split),
        ("months_liquidity", p.months_liquidity),
        ("interest", p.interest),
        ("spend_sigma", p.spend_sigma),
        ("init_size_bias", p.init_size_bias),
        ("merchant_inertia", p.merchant_inertia),
    ] {
        c.nonneg(&format!("params.{name}"), v, name);
    }
    for (name, v) in [
        ("loyalty", p.loyalty),
        ("primary_review", p.primary_review),
        ("churn_rate", p.churn_rate),
        ("merchant_review", p.merchant_review),
    ] {
        c.share(&format!("params.{name}"), v, name);
    }
    c.range(
        "params.churn_months",
        p.churn_months as f64,
        1.0,
        15.0,
        "churn months",
    );
    if p.contract_min == 0 || p.contract_min > p.contract_max || p.contract_max > 600 {
        c.push(
            "params.contract_min",
            format!(
                "contract lengths need 1 <= contract_min <= contract_max <= 600, got {}..{}",
                p.contract_min, p.contract_max
            ),
        );
    }
    for (name, v) in [
        ("merchant_logit_scale", p.merchant_logit_scale),
        ("ticket", p.ticket),
        ("median_spend", p.median_spend),
    ] {
        if !(v.is_finite() && v > 0.0) {
            c.push(
                format!("params.{name}"),
                format!("{name} must be above 0, got {v}"),
            );
        }
    }
    c.range(
        "params.spend_sigma",
        p.spend_sigma,
        0.0,
        5.0,
        "spend dispersion",
    );
}
