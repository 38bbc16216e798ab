//! Contexts of payment (MODEL.md section 2, **Contexts**): the `[[context]]` table, the ids a
//! scenario's contexts have, the context of each channel, and their checks.
//!
//! Owns: [`Context`], [`MAX_CONTEXTS`], [`ALL_CONTEXTS`], `Scenario::context_ids`,
//! `Scenario::channel_contexts`, the context checks of validation. Reads: the scenario's
//! channels and platforms. Never: agents, the policy.

use super::explain::duplicates;
use super::validate::Checker;
use super::Scenario;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn is_false(b: &bool) -> bool {
    !*b
}

/// Most contexts a scenario may declare.
pub const MAX_CONTEXTS: usize = 4;
/// The implicit context of a scenario that declares none (a reserved id).
pub const ALL_CONTEXTS: &str = "all";

/// A context of payment: a named group of channels in which a user reaches first for one
/// wallet, its default. Each parameter left out takes the global value of `[params]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// Identifier, e.g. `shop`; `all` is reserved.
    pub id: String,
    /// `loyalty_κ`: the default's extra share of a payment in this context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loyalty: Option<f64>,
    /// `ρ_π,κ`: monthly probability of re-choosing the default here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_review: Option<f64>,
    /// `β_bal,κ`: weight of the balance share in the default choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance_weight: Option<f64>,
    /// `β_soc,κ`: weight of contacts' defaults here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub social_weight: Option<f64>,
    /// `β_cov,κ`: weight of the wallet's coverage of this context's channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage_primary_weight: Option<f64>,
    /// An option (default `false`, MODEL.md v2's rule): when `true`, the balance share in this
    /// context's default choice counts only the transfers of its own p2p channels (none: 0),
    /// so that a wallet owning the transfers does not pull, say, savings defaults.
    #[serde(default, skip_serializing_if = "is_false")]
    pub own_balance: bool,
    /// `θ_{j,κ}`: each platform's brand offset here (platform id → offset; 0 when absent).
    /// Always written, so that a sweep path `context.ID.brand.PLATFORM` finds its table.
    #[serde(default)]
    pub brand: BTreeMap<String, f64>,
    /// Where the context's evidence is documented.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
}

impl Scenario {
    /// The context ids in declaration order: `all` when none is declared.
    pub fn context_ids(&self) -> Vec<&str> {
        if self.contexts.is_empty() {
            vec![ALL_CONTEXTS]
        } else {
            self.contexts.iter().map(|c| c.id.as_str()).collect()
        }
    }

    /// The context index of each channel (all 0 when no context is declared; an unknown or
    /// missing context, refused by validation, also maps to 0).
    pub fn channel_contexts(&self) -> Vec<usize> {
        self.channels
            .iter()
            .map(|ch| {
                ch.context
                    .as_deref()
                    .and_then(|id| self.contexts.iter().position(|k| k.id == id))
                    .unwrap_or(0)
            })
            .collect()
    }
}

/// The contexts: at most four, distinct ids other than `all`, their parameters and brand
/// offsets, and every channel in exactly one declared context.
pub(super) fn check(c: &mut Checker, s: &Scenario) {
    if s.contexts.len() > MAX_CONTEXTS {
        c.push(
            "context",
            format!(
                "at most {MAX_CONTEXTS} contexts, got {}; merge contexts whose channels share a default wallet",
                s.contexts.len()
            ),
        );
    }
    for d in duplicates(s.contexts.iter().map(|k| k.id.as_str())) {
        c.push("context", format!("context id {d:?} is declared twice"));
    }
    let platforms = s.platform_ids();
    for (k, ctx) in s.contexts.iter().enumerate() {
        if ctx.id.trim().is_empty() {
            c.push(format!("context[{k}].id"), "a context needs a non-empty id");
        }
        if ctx.id == ALL_CONTEXTS {
            c.push(
                format!("context[{k}].id"),
                "\"all\" is reserved for the implicit context of a scenario without contexts (and for a brand event in every context); choose another id",
            );
        }
        let p = format!("context.{}", ctx.id);
        for (name, v) in [
            ("loyalty", ctx.loyalty),
            ("primary_review", ctx.primary_review),
        ] {
            if let Some(v) = v {
                c.share(&format!("{p}.{name}"), v, name);
            }
        }
        for (name, v) in [
            ("balance_weight", ctx.balance_weight),
            ("social_weight", ctx.social_weight),
            ("coverage_primary_weight", ctx.coverage_primary_weight),
        ] {
            if let Some(v) = v {
                c.finite(&format!("{p}.{name}"), v, name);
            }
        }
        for (j, offset) in &ctx.brand {
            c.one_of(&format!("{p}.brand"), j, &platforms, "platform");
            c.finite(&format!("{p}.brand.{j}"), *offset, "brand offset");
        }
        if !s
            .channels
            .iter()
            .any(|ch| ch.context.as_deref() == Some(&ctx.id))
        {
            c.push(
                p.clone(),
                format!(
                    "context {:?} has no channel; name it in some channel's `context` or remove it",
                    ctx.id
                ),
            );
        }
    }
    let ids = s.context_ids();
    for ch in &s.channels {
        let p = format!("channel.{}.context", ch.id);
        match (&ch.context, s.contexts.is_empty()) {
            (Some(k), true) => c.push(
                p,
                format!(
                    "channel names context {k:?} but the scenario declares no [[context]]; declare it, or remove the field (every channel is then in the implicit context \"all\")"
                ),
            ),
            (Some(k), false) => {
                c.one_of(&p, k, &ids, "context");
            }
            (None, false) => c.push(
                p,
                format!(
                    "the scenario declares contexts, so every channel names one; known: {}",
                    ids.join(", ")
                ),
            ),
            (None, true) => {}
        }
    }
}
