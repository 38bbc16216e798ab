//! The event timeline: a scenario's events as typed [`Action`]s with resolved indices, in step
//! order, each with the key of its draws.
//!
//! Owns: `Action`, `TimedEvent`, `Timeline`. Reads: the scenario's events and ids. Never: the
//! policy state, agents, output.

use crate::error::{Error, Result};
use crate::month::Month;
use crate::rng::label;
use crate::scenario::{EventKind, Scenario, SizeClass, ALL_CONTEXTS};

/// A scenario event with its ids resolved to indices.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Remove platform `j` from channel `c`: from `new` (no new or renewed contracts) or from
    /// `use` too (unusable at once).
    Block {
        /// Platform.
        j: usize,
        /// Channel.
        c: usize,
        /// `true` for scope `use`.
        use_scope: bool,
    },
    /// Add platform `j` to channel `c`'s `use` set at once and to `new` merchant by merchant over
    /// `months` months.
    Allow {
        /// Platform.
        j: usize,
        /// Channel.
        c: usize,
        /// Phase-in length.
        months: u32,
    },
    /// Multiply channel `c`'s spending weight by `factor` (for members of `network` only, if given).
    Shift {
        /// Channel.
        c: usize,
        /// Multiplier.
        factor: f64,
        /// Network index (0 is everyone).
        network: usize,
        /// Window length; permanent when `None`.
        months: Option<u32>,
    },
    /// Set the deposit of platform `j` in channel `c`.
    Deposit {
        /// Platform.
        j: usize,
        /// Channel.
        c: usize,
        /// RMB per shop.
        amount: f64,
    },
    /// Set or scale a merchant fee (`j = None`: the outside option's cost).
    Fee {
        /// Platform, or `None` for cash.
        j: Option<usize>,
        /// Channel (all merchant channels when `None`).
        c: Option<usize>,
        /// Size class (both when `None`).
        class: Option<SizeClass>,
        /// New rate, or `None` to scale by `factor`.
        rate: Option<f64>,
        /// Multiplier when `rate` is `None`.
        factor: f64,
    },
    /// Set platform `j`'s withdrawal fee.
    WithdrawalFee {
        /// Platform.
        j: usize,
        /// Share of the amount withdrawn.
        rate: f64,
    },
    /// Set platform `j`'s user subsidy in channel `c` (all when `None`) for a window.
    Subsidy {
        /// Platform.
        j: usize,
        /// Channel.
        c: Option<usize>,
        /// Cash-back share of value.
        rate: f64,
        /// Window length.
        months: u32,
    },
    /// Multiply platform `j`'s imitation by `multiplier` for a window.
    Campaign {
        /// Platform.
        j: usize,
        /// `κ_j`.
        multiplier: f64,
        /// Window length.
        months: u32,
    },
    /// Users of `from` can pay merchants accepting `to` (and back if `mutual`).
    Interop {
        /// Payer's platform.
        from: usize,
        /// Accepted platform.
        to: usize,
        /// Both directions.
        mutual: bool,
        /// Channel (all when `None`).
        c: Option<usize>,
        /// Window length; permanent when `None`.
        months: Option<u32>,
    },
    /// Set the imitation weight `q_{j,s}`.
    Tie {
        /// Platform.
        j: usize,
        /// Network index (0 is everyone).
        s: usize,
        /// New weight.
        weight: f64,
    },
    /// Replace or extend network `s`'s membership path.
    Network {
        /// Network index (1.. for declared networks).
        s: usize,
        /// Points `(month, people)`.
        path: Vec<(Month, f64)>,
        /// Keep the old points before the first new one.
        extend: bool,
    },
    /// Set platform `j`'s brand offset `θ_{j,κ}` in context `k` (every context when `None`).
    Brand {
        /// Platform.
        j: usize,
        /// Context.
        k: Option<usize>,
        /// The offset.
        offset: f64,
        /// Window length; permanent when `None`.
        months: Option<u32>,
    },
    /// Set platform `j`'s fixed cost per shop in merchant channel `c` (every one when `None`).
    FixedCost {
        /// Platform.
        j: usize,
        /// Channel.
        c: Option<usize>,
        /// RMB per shop and month.
        amount: f64,
        /// Window length; permanent when `None`.
        months: Option<u32>,
    },
}

/// An event placed on the timeline.
#[derive(Debug, Clone)]
pub struct TimedEvent {
    /// Step index of `at`.
    pub t: usize,
    /// Position in the scenario file.
    pub index: usize,
    /// What it does.
    pub action: Action,
    /// Key of its random draws: `(kind, platform, channel, at)`, never its position.
    pub key: u64,
}

/// The scenario's events in step order (file order within a step).
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// The events.
    pub events: Vec<TimedEvent>,
    /// Indices into `events` in file order (windows are resolved in file order).
    pub by_file: Vec<usize>,
}

pub(crate) fn find(ids: &[&str], id: &Option<String>) -> Option<usize> {
    id.as_ref().and_then(|id| ids.iter().position(|x| x == id))
}

impl Timeline {
    /// Resolves a validated scenario's events: ids become indices. An id that does not
    /// resolve (possible only for a scenario that skipped validation) is an error naming the
    /// event, never a panic.
    pub fn new(s: &Scenario) -> Result<Timeline> {
        let platforms = s.platform_ids();
        let channels = s.channel_ids();
        let networks = s.network_ids();
        let contexts = s.context_ids();
        let mut events = Vec::new();
        for (index, e) in s.events.iter().enumerate() {
            let missing = |what: &str| {
                Error::Config(format!(
                    "event[{index}] ({} at {}): no known {what}; validate the scenario first",
                    e.kind, e.at
                ))
            };
            let need = |v: Option<usize>, what: &str| v.ok_or_else(|| missing(what));
            let number = |v: Option<f64>, what: &str| v.ok_or_else(|| missing(what));
            let j = find(&platforms, &e.platform);
            let c = find(&channels, &e.channel);
            let net = find(&networks, &e.network);
            let action = match e.kind {
                EventKind::Block => Action::Block {
                    j: need(j, "platform")?,
                    c: need(c, "channel")?,
                    use_scope: e.scope.as_deref() == Some("use"),
                },
                EventKind::Allow => Action::Allow {
                    j: need(j, "platform")?,
                    c: need(c, "channel")?,
                    months: e.months.unwrap_or(1),
                },
                EventKind::Shift => Action::Shift {
                    c: need(c, "channel")?,
                    factor: number(e.factor, "factor")?,
                    network: net.unwrap_or(0),
                    months: e.months,
                },
                EventKind::Deposit => Action::Deposit {
                    j: need(j, "platform")?,
                    c: need(c, "channel")?,
                    amount: number(e.amount, "amount")?,
                },
                EventKind::Fee => Action::Fee {
                    j,
                    c,
                    class: e.class,
                    rate: e.rate,
                    factor: e.factor.unwrap_or(1.0),
                },
                EventKind::WithdrawalFee => Action::WithdrawalFee {
                    j: need(j, "platform")?,
                    rate: number(e.rate, "rate")?,
                },
                EventKind::Subsidy => Action::Subsidy {
                    j: need(j, "platform")?,
                    c,
                    rate: number(e.rate, "rate")?,
                    months: e.months.unwrap_or(1),
                },
                EventKind::Campaign => Action::Campaign {
                    j: need(j, "platform")?,
                    multiplier: number(e.multiplier, "multiplier")?,
                    months: e.months.unwrap_or(1),
                },
                EventKind::Interop => Action::Interop {
                    from: need(find(&platforms, &e.from), "platform in from")?,
                    to: need(find(&platforms, &e.to), "platform in to")?,
                    mutual: e.mutual.unwrap_or(false),
                    c,
                    months: e.months,
                },
                EventKind::Tie => Action::Tie {
                    j: need(j, "platform")?,
                    s: need(net, "network")?,
                    weight: number(e.weight, "weight")?,
                },
                EventKind::Network => Action::Network {
                    s: need(net, "network")?,
                    path: e.path.clone().ok_or_else(|| missing("path"))?,
                    extend: e.mode.as_deref() == Some("extend"),
                },
                EventKind::Brand => Action::Brand {
                    j: need(j, "platform")?,
                    k: match e.context.as_deref() {
                        Some(ALL_CONTEXTS) => None,
                        _ => Some(need(find(&contexts, &e.context), "context")?),
                    },
                    offset: number(e.offset, "offset")?,
                    months: e.months,
                },
                EventKind::FixedCost => Action::FixedCost {
                    j: need(j, "platform")?,
                    c,
                    amount: number(e.amount, "amount")?,
                    months: e.months,
                },
            };
            let at = e.at.to_string();
            let key = label(&[
                e.kind.name(),
                e.platform.as_deref().or(e.from.as_deref()).unwrap_or(""),
                e.channel.as_deref().unwrap_or(""),
                &at,
            ]);
            events.push(TimedEvent {
                t: s.start.months_until(e.at) as usize,
                index,
                action,
                key,
            });
        }
        events.sort_by_key(|e| (e.t, e.index));
        let mut by_file: Vec<usize> = (0..events.len()).collect();
        by_file.sort_by_key(|&k| events[k].index);
        Ok(Timeline { events, by_file })
    }
}
