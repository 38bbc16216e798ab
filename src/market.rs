//! The scenario resolved once into indices, bitmasks and numbers: what the monthly rules read
//! about the market's fixed structure (platforms, channels, networks, weights per agent), so that
//! the step never searches a string or re-reads the raw scenario.
//!
//! Owns: [`Market`]. Reads: the scenario. Never: agents, the policy in force, output.
//! Built when a simulation is made, forked or loaded.

use crate::month::Month;
use crate::scenario::{ChannelKind, Params, Scenario, EVERYONE};
use std::ops::Range;

/// The scenario as the rules read it (MODEL.md sections 2–3), indices in declaration order: bit
/// `j` of a wallet set is platform `j`, bit `s` of a membership mask is network `s` (`everyone`
/// is bit 0).
#[derive(Debug, Clone)]
pub struct Market {
    /// `P`: platforms.
    pub platforms: usize,
    /// `C`: channels.
    pub channels: usize,
    /// Networks including `everyone` (membership mask bits).
    pub networks: usize,
    /// `2^P`: wallet sets.
    pub n_sets: usize,
    /// `2^P · (P + 1)`: (wallet set, primary) cells.
    pub hp_n: usize,
    /// `2^(networks)`: membership masks.
    pub n_masks: usize,
    /// Each platform's prerequisite network as a mask bit.
    pub platform_requires: Vec<u16>,
    /// Each channel's prerequisite network as a mask bit.
    pub channel_requires: Vec<u16>,
    /// `θ_j`: brand weights.
    pub brand: Vec<f64>,
    /// `p_j`: innovation per month.
    pub innovation: Vec<f64>,
    /// Launch months (`None`: launched before the start).
    pub launch: Vec<Option<Month>>,
    /// Each channel's kind.
    pub kind: Vec<ChannelKind>,
    /// Each channel's spending weight before shifts.
    pub weight: Vec<f64>,
    /// Whether each channel is a p2p channel.
    pub is_p2p: Vec<bool>,
    /// The channels routed by table (merchant and own-account channels), in order.
    pub routed: Vec<usize>,
    /// Whether the outside option works in each channel.
    pub cash: Vec<bool>,
    /// `s_c`: steering strength per channel.
    pub steering: Vec<f64>,
    /// Gross margin per channel.
    pub margin: Vec<f64>,
    /// Whether a merchant channel has merchant agents.
    pub has_merchants: Vec<bool>,
    /// People per user agent.
    pub user_weight: f64,
    /// Shops per merchant agent, per channel (0 for channels without agents).
    pub shop_weight: Vec<f64>,
    /// Whether any platform or channel requires a network other than `everyone`.
    pub requires_networks: bool,
    /// The behavioural parameters (MODEL.md section 9).
    pub params: Params,
    /// `K`: contexts (1 when the scenario declares none: the implicit `all`).
    pub contexts: usize,
    /// `κ(c)`: each channel's context.
    pub context_of: Vec<usize>,
    /// Each context's parameters, the global values where the scenario leaves them out.
    pub context: Vec<ContextParams>,
}

/// A context's default-wallet parameters (MODEL.md section 2, **Contexts**).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContextParams {
    /// `loyalty_κ`.
    pub loyalty: f64,
    /// `ρ_π,κ`.
    pub primary_review: f64,
    /// `β_bal,κ`.
    pub balance_weight: f64,
    /// `β_soc,κ`.
    pub social_weight: f64,
    /// `β_cov,κ`.
    pub coverage_primary_weight: f64,
    /// Whether the balance share `b_ij` counts only the context's own p2p channels (an option;
    /// MODEL.md v2 counts every p2p channel in every context).
    pub own_balance: bool,
}

impl ContextParams {
    /// The parameters of each context of `s`, in declaration order; the single implicit
    /// context `all` has the global values.
    pub fn of(s: &Scenario) -> Vec<ContextParams> {
        let g = &s.params;
        let global = ContextParams {
            loyalty: g.loyalty,
            primary_review: g.primary_review,
            balance_weight: g.balance_weight,
            social_weight: g.social_weight,
            coverage_primary_weight: g.coverage_primary_weight,
            own_balance: false,
        };
        if s.contexts.is_empty() {
            return vec![global];
        }
        s.contexts
            .iter()
            .map(|k| ContextParams {
                loyalty: k.loyalty.unwrap_or(global.loyalty),
                primary_review: k.primary_review.unwrap_or(global.primary_review),
                balance_weight: k.balance_weight.unwrap_or(global.balance_weight),
                social_weight: k.social_weight.unwrap_or(global.social_weight),
                coverage_primary_weight: k
                    .coverage_primary_weight
                    .unwrap_or(global.coverage_primary_weight),
                own_balance: k.own_balance,
            })
            .collect()
    }
}

impl Market {
    /// Resolves `s` for a population of `users` agents and merchants grouped in `ranges` (one
    /// range of agent indices per channel).
    pub fn new(s: &Scenario, users: usize, ranges: &[Range<usize>]) -> Market {
        let networks = s.network_ids();
        let bit = |id: &str| 1u16 << networks.iter().position(|x| *x == id).unwrap_or(0);
        let p = s.platforms.len();
        let kind: Vec<ChannelKind> = s.channels.iter().map(|ch| ch.kind).collect();
        Market {
            platforms: p,
            channels: s.channels.len(),
            networks: networks.len(),
            n_sets: 1 << p,
            hp_n: (1 << p) * (p + 1),
            n_masks: 1 << networks.len(),
            platform_requires: s.platforms.iter().map(|pl| bit(&pl.requires)).collect(),
            channel_requires: s.channels.iter().map(|ch| bit(&ch.requires)).collect(),
            brand: s.platforms.iter().map(|pl| pl.brand).collect(),
            innovation: s.platforms.iter().map(|pl| pl.innovation).collect(),
            launch: s.platforms.iter().map(|pl| pl.launch).collect(),
            weight: s.channels.iter().map(|ch| ch.weight).collect(),
            is_p2p: kind.iter().map(|k| *k == ChannelKind::P2p).collect(),
            routed: (0..kind.len())
                .filter(|&c| kind[c] != ChannelKind::P2p)
                .collect(),
            kind,
            cash: s.channels.iter().map(|ch| ch.cash).collect(),
            steering: s.channels.iter().map(|ch| ch.steering).collect(),
            margin: s.channels.iter().map(|ch| ch.margin).collect(),
            has_merchants: ranges.iter().map(|r| !r.is_empty()).collect(),
            user_weight: s.population / users as f64,
            shop_weight: s
                .channels
                .iter()
                .zip(ranges)
                .map(|(ch, r)| {
                    if r.is_empty() {
                        0.0
                    } else {
                        ch.shops / r.len() as f64
                    }
                })
                .collect(),
            requires_networks: s.platforms.iter().any(|pl| pl.requires != EVERYONE)
                || s.channels.iter().any(|ch| ch.requires != EVERYONE),
            params: s.params.clone(),
            contexts: s.contexts.len().max(1),
            context_of: s.channel_contexts(),
            context: ContextParams::of(s),
        }
    }

    /// The platforms launched by `month`, as a wallet set.
    pub fn launched(&self, month: Month) -> u8 {
        self.launch
            .iter()
            .enumerate()
            .filter(|(_, l)| l.is_none_or(|l| l <= month))
            .fold(0, |m, (j, _)| m | (1 << j))
    }
}
