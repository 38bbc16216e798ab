//! Event kinds as a type (MODEL.md section 4): one variant per kind, with the fields each takes
//! and the ones it requires beside it, so that every `match` on a kind is checked by the
//! compiler and a new kind is one variant here. The scenario file stays flat: `kind = "block"`
//! with the kind's fields next to it.
//!
//! Owns: [`EventKind`]. Reads: nothing. Never: agents, the policy.

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
}

impl EventKind {
    /// Every kind, in MODEL.md's order.
    pub const ALL: [EventKind; 11] = [
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
