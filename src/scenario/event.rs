//! Event kinds as a type (MODEL.md section 4): one variant per kind, with the fields each takes
//! and the ones it requires beside it, so that every `match` on a kind is checked by the
//! compiler and a new kind is one variant here. The scenario file stays flat: `kind = "block"`
//! with the kind's fields next to it.
//!
//! Owns: [`EventKind`] and the per-kind checks of validation. Reads: the scenario's ids. Never:
//! agents, the policy.

use super::validate::Checker;
use super::{Event, Scenario, ALL_CONTEXTS, EVERYONE};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What an event does (MODEL.md section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Remove a platform from a channel (`scope`: `new` contracts or `use` at once). The
    /// default only so that an event can be built field by field in code.
    #[default]
    Block,
    /// Add a platform to a channel, phased in for merchants over `months`.
    Allow,
    /// Multiply a channel's spending weight, for everyone or one network's members.
    Shift,
    /// Set a platform's deposit per shop in a merchant channel.
    Deposit,
    /// Set (or scale) a merchant fee, or the outside option's cost.
    Fee,
    /// Set a platform's withdrawal fee.
    WithdrawalFee,
    /// Set a user subsidy for a window.
    Subsidy,
    /// Multiply a platform's imitation for a window.
    Campaign,
    /// Let users of one platform pay merchants accepting another.
    Interop,
    /// Set a platform's imitation weight through a network.
    Tie,
    /// Replace or extend a network's membership path.
    Network,
    /// Set a platform's brand offset in one context (or every one), permanently or for a window.
    Brand,
    /// Set a platform's fixed cost per shop in one merchant channel (or every one),
    /// permanently or for a window.
    FixedCost,
}

impl EventKind {
    /// Every kind, in MODEL.md's order.
    pub const ALL: [EventKind; 13] = [
        EventKind::Block,
        EventKind::Allow,
        EventKind::Shift,
        EventKind::Deposit,
        EventKind::Fee,
        EventKind::WithdrawalFee,
        EventKind::Subsidy,
        EventKind::Campaign,
        EventKind::Interop,
        EventKind::Tie,
        EventKind::Network,
        EventKind::Brand,
        EventKind::FixedCost,
    ];

    /// The kind as the scenario file writes it.
    ///
    /// ```
    /// use paymarket::scenario::EventKind;
    /// assert_eq!(EventKind::WithdrawalFee.name(), "withdrawal_fee");
    /// assert_eq!("tie".parse::<EventKind>(), Ok(EventKind::Tie));
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Block => "block",
            EventKind::Allow => "allow",
            EventKind::Shift => "shift",
            EventKind::Deposit => "deposit",
            EventKind::Fee => "fee",
            EventKind::WithdrawalFee => "withdrawal_fee",
            EventKind::Subsidy => "subsidy",
            EventKind::Campaign => "campaign",
            EventKind::Interop => "interop",
            EventKind::Tie => "tie",
            EventKind::Network => "network",
            EventKind::Brand => "brand",
            EventKind::FixedCost => "fixed_cost",
        }
    }

    /// The fields the kind takes (besides `at`, `kind`, `source`).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            EventKind::Block => &["platform", "channel", "scope"],
            EventKind::Allow => &["platform", "channel", "months"],
            EventKind::Shift => &["channel", "factor", "network", "months"],
            EventKind::Deposit => &["platform", "channel", "amount"],
            EventKind::Fee => &["platform", "channel", "class", "rate", "factor"],
            EventKind::WithdrawalFee => &["platform", "rate"],
            EventKind::Subsidy => &["platform", "channel", "rate", "months"],
            EventKind::Campaign => &["platform", "multiplier", "months"],
            EventKind::Interop => &["from", "to", "mutual", "channel", "months"],
            EventKind::Tie => &["platform", "network", "weight"],
            EventKind::Network => &["network", "path", "mode"],
            EventKind::Brand => &["platform", "context", "offset", "months"],
            EventKind::FixedCost => &["platform", "channel", "amount", "months"],
        }
    }

    /// The fields the kind cannot do without (`fee` needs one of `rate` and `factor`, checked
    /// on its own).
    pub fn required(self) -> &'static [&'static str] {
        match self {
            EventKind::Block => &["platform", "channel", "scope"],
            EventKind::Allow => &["platform", "channel"],
            EventKind::Shift => &["channel", "factor"],
            EventKind::Deposit => &["platform", "channel", "amount"],
            EventKind::Fee => &["platform"],
            EventKind::WithdrawalFee => &["platform", "rate"],
            EventKind::Subsidy => &["platform", "rate"],
            EventKind::Campaign => &["platform", "multiplier"],
            EventKind::Interop => &["from", "to"],
            EventKind::Tie => &["platform", "network", "weight"],
            EventKind::Network => &["network", "path"],
            EventKind::Brand => &["platform", "context", "offset"],
            EventKind::FixedCost => &["platform", "amount"],
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for EventKind {
    type Err = String;

    fn from_str(s: &str) -> Result<EventKind, String> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown event kind {s:?}; known: {}", known.join(", "))
            })
    }
}

impl Event {
    /// The platform an event acts for (`from` for an interop), as the events table writes it.
    pub fn actor(&self) -> &str {
        self.platform
            .as_deref()
            .or(self.from.as_deref())
            .unwrap_or_default()
    }

    /// The event's numbers and ids besides its kind, platform and channel, as the events table's
    /// `detail` column writes them: `key=value` pairs joined by `;`, in a fixed field order.
    ///
    /// ```
    /// use paymarket::scenario::{Event, EventKind};
    /// let e = Event { kind: EventKind::Allow, months: Some(6), ..Event::default() };
    /// assert_eq!(e.detail(), "months=6");
    /// ```
    pub fn detail(&self) -> String {
        let mut detail = Vec::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                detail.push(format!("{k}={v}"));
            }
        };
        put("scope", self.scope.clone());
        put("months", self.months.map(|x| x.to_string()));
        put("factor", self.factor.map(|x| x.to_string()));
        put("rate", self.rate.map(|x| x.to_string()));
        put("amount", self.amount.map(|x| x.to_string()));
        put("multiplier", self.multiplier.map(|x| x.to_string()));
        put("weight", self.weight.map(|x| x.to_string()));
        put("network", self.network.clone());
        put("to", self.to.clone());
        put("mutual", self.mutual.map(|x| x.to_string()));
        put("class", self.class.map(|c| format!("{c:?}").to_lowercase()));
        put("mode", self.mode.clone());
        put("points", self.path.as_ref().map(|p| p.len().to_string()));
        put("context", self.context.clone());
        put("offset", self.offset.map(|x| x.to_string()));
        detail.join(";")
    }
}

/// The ids an event may name, for the per-kind checks.
pub(super) struct Ids<'a> {
    /// Platform ids.
    pub platforms: &'a [&'a str],
    /// Channel ids.
    pub channels: &'a [&'a str],
    /// Merchant channel ids.
    pub merchant_channels: &'a [&'a str],
    /// Network ids, `everyone` first.
    pub networks: &'a [&'a str],
    /// Context ids (`all` when none is declared).
    pub contexts: &'a [&'a str],
}

/// Every problem of event `k` (`e`): its month, the fields its kind takes and requires, the
/// ids it names and its numbers.
pub(super) fn check(c: &mut Checker, s: &Scenario, k: usize, e: &Event, ids: &Ids) {
    let p = format!("event[{k}]");
    if e.at < s.start || e.at > s.end {
        c.push(
            format!("{p}.at"),
            format!(
                "{} is outside the scenario ({} to {}); move the event or widen start/end",
                e.at, s.start, s.end
            ),
        );
    }
    check_fields(c, &p, e);
    if let Some(m) = e.months {
        if m == 0 {
            c.push(format!("{p}.months"), "months must be at least 1, got 0");
        }
    }
    check_kind(c, &p, e, ids);
}

/// The fields given that the kind does not take, and the ones it needs that are missing.
fn check_fields(c: &mut Checker, p: &str, e: &Event) {
    let present: [(&str, bool); 18] = [
        ("platform", e.platform.is_some()),
        ("channel", e.channel.is_some()),
        ("network", e.network.is_some()),
        ("scope", e.scope.is_some()),
        ("months", e.months.is_some()),
        ("factor", e.factor.is_some()),
        ("rate", e.rate.is_some()),
        ("amount", e.amount.is_some()),
        ("multiplier", e.multiplier.is_some()),
        ("weight", e.weight.is_some()),
        ("from", e.from.is_some()),
        ("to", e.to.is_some()),
        ("mutual", e.mutual.is_some()),
        ("class", e.class.is_some()),
        ("path", e.path.is_some()),
        ("mode", e.mode.is_some()),
        ("context", e.context.is_some()),
        ("offset", e.offset.is_some()),
    ];
    let uses = e.kind.fields();
    for (name, is) in present {
        if is && !uses.contains(&name) {
            c.push(
                format!("{p}.{name}"),
                format!(
                    "field {name:?} does not apply to a {:?} event (it uses: {})",
                    e.kind.name(),
                    uses.join(", ")
                ),
            );
        }
    }
    for name in e.kind.required() {
        if !present.iter().any(|(n, is)| n == name && *is) {
            c.push(
                format!("{p}.{name}"),
                format!("a {:?} event needs {name:?}", e.kind.name()),
            );
        }
    }
}

/// A platform id named in field `name`, among the platforms and `extra`.
fn check_platform(
    c: &mut Checker,
    p: &str,
    ids: &Ids,
    v: &Option<String>,
    name: &str,
    extra: &[&str],
) {
    if let Some(id) = v {
        let mut known = ids.platforms.to_vec();
        known.extend_from_slice(extra);
        c.one_of(&format!("{p}.{name}"), id, &known, "platform");
    }
}

/// A channel id, among the merchant channels only when `merchant_only`.
fn check_channel(c: &mut Checker, p: &str, ids: &Ids, v: &Option<String>, merchant_only: bool) {
    if let Some(id) = v {
        if merchant_only {
            c.one_of(
                &format!("{p}.channel"),
                id,
                ids.merchant_channels,
                "merchant channel",
            );
        } else {
            c.one_of(&format!("{p}.channel"), id, ids.channels, "channel");
        }
    }
}

/// The ids and numbers each kind takes.
fn check_kind(c: &mut Checker, p: &str, e: &Event, ids: &Ids) {
    let networks = ids.networks;
    match e.kind {
        EventKind::Block => {
            check_platform(c, p, ids, &e.platform, "platform", &[]);
            check_channel(c, p, ids, &e.channel, false);
            if let Some(scope) = &e.scope {
                if scope != "new" && scope != "use" {
                    c.push(
                        format!("{p}.scope"),
                        format!("scope must be \"new\" or \"use\", got {scope:?}"),
                    );
                }
            }
        }
        EventKind::Allow => {
            check_platform(c, p, ids, &e.platform, "platform", &[]);
            check_channel(c, p, ids, &e.channel, false);
        }
        EventKind::Shift => {
            check_channel(c, p, ids, &e.channel, false);
            if let Some(f) = e.factor {
                c.nonneg(&format!("{p}.factor"), f, "factor");
            }
            if let Some(n) = &e.network {
                c.one_of(&format!("{p}.network"), n, networks, "network");
            }
        }
        EventKind::Deposit => {
            check_platform(c, p, ids, &e.platform, "platform", &[]);
            check_channel(c, p, ids, &e.channel, true);
            if let Some(a) = e.amount {
                c.nonneg(&format!("{p}.amount"), a, "deposit (RMB per shop)");
            }
        }
        EventKind::Fee => {
            check_platform(c, p, ids, &e.platform, "platform", &["cash"]);
            check_channel(c, p, ids, &e.channel, true);
            match (e.rate, e.factor) {
                (Some(r), None) => c.share(&format!("{p}.rate"), r, "fee rate"),
                (None, Some(f)) => c.nonneg(&format!("{p}.factor"), f, "fee factor"),
                _ => c.push(
                    p.to_string(),
                    "a \"fee\" event needs exactly one of \"rate\" (the new fee) or \"factor\" (a multiplier)",
                ),
            }
        }
        EventKind::WithdrawalFee => {
            check_platform(c, p, ids, &e.platform, "platform", &[]);
            if let Some(r) = e.rate {
                c.share(&format!("{p}.rate"), r, "withdrawal fee");
            }
        }
        EventKind::Subsidy => {
            check_platform(c, p, ids, &e.platform, "platform", &[]);
            check_channel(c, p, ids, &e.channel, false);
            if let Some(r) = e.rate {
                c.share(&format!("{p}.rate"), r, "subsidy rate");
            }
        }
        EventKind::Campaign => {
            check_platform(c, p, ids, &e.platform, "platform", &[]);
            if let Some(m) = e.multiplier {
                c.nonneg(&format!("{p}.multiplier"), m, "multiplier");
            }
        }
        EventKind::Interop => {
            check_platform(c, p, ids, &e.from, "from", &[]);
            check_platform(c, p, ids, &e.to, "to", &[]);
            check_channel(c, p, ids, &e.channel, false);
            if e.from.is_some() && e.from == e.to {
                c.push(format!("{p}.to"), "interop links two different platforms");
            }
        }
        EventKind::Tie => {
            check_platform(c, p, ids, &e.platform, "platform", &[]);
            if let Some(n) = &e.network {
                c.one_of(&format!("{p}.network"), n, networks, "network");
            }
            if let Some(w) = e.weight {
                c.nonneg(&format!("{p}.weight"), w, "imitation weight");
            }
        }
        EventKind::Network => {
            if let Some(n) = &e.network {
                if n == EVERYONE {
                    c.push(
                        format!("{p}.network"),
                        "the everyone network has no path to change",
                    );
                } else {
                    c.one_of(&format!("{p}.network"), n, &networks[1..], "network");
                }
            }
            if let Some(path) = &e.path {
                c.path_points(&format!("{p}.path"), path);
            }
            if let Some(m) = &e.mode {
                if m != "replace" && m != "extend" {
                    c.push(
                        format!("{p}.mode"),
                        format!("mode must be \"replace\" or \"extend\", got {m:?}"),
                    );
                }
            }
        }
        EventKind::Brand => {
            check_platform(c, p, ids, &e.platform, "platform", &[]);
            if let Some(k) = &e.context {
                let mut known = ids.contexts.to_vec();
                if !known.contains(&ALL_CONTEXTS) {
                    known.push(ALL_CONTEXTS);
                }
                c.one_of(&format!("{p}.context"), k, &known, "context");
            }
            if let Some(o) = e.offset {
                c.finite(&format!("{p}.offset"), o, "brand offset");
            }
        }
        EventKind::FixedCost => {
            check_platform(c, p, ids, &e.platform, "platform", &[]);
            check_channel(c, p, ids, &e.channel, true);
            if let Some(a) = e.amount {
                c.nonneg(
                    &format!("{p}.amount"),
                    a,
                    "fixed cost (RMB per shop and month)",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_required_fields_are_fields() {
        for k in EventKind::ALL {
            assert_eq!(k.name().parse::<EventKind>(), Ok(k));
            for r in k.required() {
                assert!(k.fields().contains(r), "{k}: {r}");
            }
        }
        assert!("nosuch"
            .parse::<EventKind>()
            .unwrap_err()
            .contains("known: block"));
    }
}
