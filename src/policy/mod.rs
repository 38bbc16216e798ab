//! The policy timeline: typed events and the policy state they produce month by month.
//!
//! [`Timeline`] turns a scenario's events into typed [`Action`]s with resolved indices;
//! [`Policy`] is the state of prices, allowed sets, imitation weights, links and membership
//! paths in force in one month. Applying month `t` ([`Policy::advance`]) applies the events dated
//! `t` in file order and re-evaluates the windows (subsidies, campaigns, windowed shifts and
//! interop links). This module knows the scenario's format and nothing about agents.
//!
//! Owns: `Timeline`, `Policy` and how events change it. Reads: the scenario, months, draws. Never:
//! agents, output.

use crate::month::Month;
use crate::rng::{u01, Stream, StreamId};
use crate::scenario::{ChannelKind, Logistic, Scenario, SizeClass};
use serde::{Deserialize, Serialize};

mod timeline;

pub use timeline::*;

/// A gradual opening of channel `c` to new contracts with platform `j`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PhaseIn {
    /// Step the `allow` took effect.
    pub at: usize,
    /// Phase-in length in months.
    pub months: u32,
    /// Event key for the per-merchant draws.
    pub key: u64,
}

/// An interop link in force.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// Payer's platform.
    pub from: usize,
    /// Platform the merchant accepts.
    pub to: usize,
    /// Channel, or all.
    pub channel: Option<usize>,
}

/// The policy in force in one month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Number of platforms.
    pub platforms: usize,
    /// Number of channels.
    pub channels: usize,
    /// `use_c`: platforms usable in each channel (bitmask).
    pub use_set: Vec<u8>,
    /// Platforms fully open to new contracts in each channel (bitmask).
    pub new_open: Vec<u8>,
    /// Phase-ins under way, per `c * P + j`.
    pub phase: Vec<Option<PhaseIn>>,
    /// Merchant fee per `(j * C + c) * 2 + class` (class 0 small, 1 large).
    pub fee: Vec<f64>,
    /// Outside-option cost per channel.
    pub cash_cost: Vec<f64>,
    /// Deposit per `j * C + c`.
    pub deposit: Vec<f64>,
    /// Withdrawal fee per platform.
    pub withdrawal_fee: Vec<f64>,
    /// Subsidy outside event windows (scenario values, then the platform's strategy), per `j * C + c`.
    pub base_subsidy: Vec<f64>,
    /// Subsidy in force this month, per `j * C + c`.
    pub subsidy: Vec<f64>,
    /// Campaign multiplier `κ_j` in force this month.
    pub campaign: Vec<f64>,
    /// Imitation weight per `j * S1 + s` (S1 = networks including everyone).
    pub imitation: Vec<f64>,
    /// Permanent spending-weight factors per `c * S1 + s`.
    pub shift: Vec<f64>,
    /// Spending-weight factors this month (permanent times windowed), per `c * S1 + s`.
    pub shift_now: Vec<f64>,
    /// Permanent interop links.
    pub links: Vec<Link>,
    /// Links in force this month (permanent and windowed).
    pub links_now: Vec<Link>,
    /// Membership paths per declared network (index 0 is everyone and has none).
    pub paths: Vec<Vec<(Month, f64)>>,
    /// Logistic membership curves per declared network (index 0 is everyone), where a network
    /// has one instead of a path; a `network` event's path replaces it. Left out of a
    /// checkpoint when there is none (so files without curves keep their bytes), see
    /// [`Policy::fill_unsaved`].
    #[serde(default, skip_serializing_if = "no_curves")]
    pub curves: Vec<Option<Logistic>>,
    /// Each channel's weight path, where it has one (the scenario's, never changed by an
    /// event: not saved in checkpoints, see [`Policy::fill_unsaved`]).
    #[serde(skip)]
    pub weight_paths: Vec<Option<Vec<(Month, f64)>>>,
    /// Each channel's weight path in force this month (1 for a channel without one): the
    /// spending weight is `ω_c · weight_now[c]` before shifts. Not saved: recomputed.
    #[serde(skip)]
    pub weight_now: Vec<f64>,
    /// Number of contexts (1 when the scenario declares none). (absent from checkpoints of format 2, see `fill_unsaved`)
    #[serde(default)]
    pub contexts: usize,
    /// Brand offsets `θ_{j,κ}` outside event windows, per `j * K + κ`. (absent from checkpoints of format 2, see `fill_unsaved`)
    #[serde(default)]
    pub base_brand: Vec<f64>,
    /// Brand offsets in force this month, per `j * K + κ`. (absent from checkpoints of format 2, see `fill_unsaved`)
    #[serde(default)]
    pub brand: Vec<f64>,
    /// Fixed cost per shop outside event windows, per `j * C + c`. (absent from checkpoints of format 2, see `fill_unsaved`)
    #[serde(default)]
    pub base_fixed: Vec<f64>,
    /// Fixed cost per shop in force this month, per `j * C + c`. (absent from checkpoints of format 2, see `fill_unsaved`)
    #[serde(default)]
    pub fixed: Vec<f64>,
}

impl Policy {
    /// The policy before any event: the scenario's declared values.
    pub fn new(s: &Scenario) -> Policy {
        let p = s.platforms.len();
        let c = s.channels.len();
        let s1 = s.networks.len() + 1;
        let channels = s.channel_ids();
        let networks = s.network_ids();
        let all = ((1u16 << p) - 1) as u8;
        let use_set: Vec<u8> = s
            .channels
            .iter()
            .map(|ch| match &ch.platforms {
                None => all,
                Some(list) => list.iter().fold(0u8, |m, id| {
                    m | s
                        .platforms
                        .iter()
                        .position(|pl| &pl.id == id)
                        .map_or(0, |j| 1u8 << j)
                }),
            })
            .collect();
        let mut fee = vec![0.0; p * c * 2];
        let mut deposit = vec![0.0; p * c];
        let mut base_subsidy = vec![0.0; p * c];
        let mut imitation = vec![0.0; p * s1];
        for (j, pl) in s.platforms.iter().enumerate() {
            for ci in 0..c {
                fee[(j * c + ci) * 2] = pl.fee;
                fee[(j * c + ci) * 2 + 1] = pl.fee;
            }
            for o in &pl.fee_overrides {
                for ci in 0..c {
                    if o.channel.as_ref().is_some_and(|id| id != channels[ci]) {
                        continue;
                    }
                    for (k, class) in [SizeClass::Small, SizeClass::Large].into_iter().enumerate() {
                        if o.class.is_none_or(|cl| cl == class) {
                            fee[(j * c + ci) * 2 + k] = o.fee;
                        }
                    }
                }
            }
            for (id, amount) in &pl.deposit {
                if let Some(ci) = channels.iter().position(|x| x == id) {
                    deposit[j * c + ci] = *amount;
                }
            }
            for (id, rate) in &pl.subsidy {
                if let Some(ci) = channels.iter().position(|x| x == id) {
                    base_subsidy[j * c + ci] = *rate;
                }
            }
            for (id, q) in &pl.imitation {
                if let Some(si) = networks.iter().position(|x| x == id) {
                    imitation[j * s1 + si] = *q;
                }
            }
        }
        let mut paths = vec![Vec::new()];
        paths.extend(s.networks.iter().map(|n| n.path.clone()));
        let weight_paths: Vec<_> = s.channels.iter().map(|ch| ch.weight_path.clone()).collect();
        let mut curves = vec![None];
        curves.extend(s.networks.iter().map(|n| n.logistic));
        let k_n = s.contexts.len().max(1);
        let mut base_brand = vec![0.0; p * k_n];
        for (k, ctx) in s.contexts.iter().enumerate() {
            for (id, offset) in &ctx.brand {
                if let Some(j) = s.platforms.iter().position(|pl| &pl.id == id) {
                    base_brand[j * k_n + k] = *offset;
                }
            }
        }
        let base_fixed: Vec<f64> = s
            .platforms
            .iter()
            .flat_map(|pl| std::iter::repeat_n(pl.fixed_cost, c))
            .collect();
        Policy {
            platforms: p,
            channels: c,
            new_open: use_set.clone(),
            use_set,
            phase: vec![None; p * c],
            fee,
            cash_cost: s.channels.iter().map(|ch| ch.cash_cost).collect(),
            deposit,
            withdrawal_fee: s.platforms.iter().map(|pl| pl.withdrawal_fee).collect(),
            subsidy: base_subsidy.clone(),
            base_subsidy,
            campaign: vec![1.0; p],
            imitation,
            shift: vec![1.0; c * s1],
            shift_now: vec![1.0; c * s1],
            links: Vec::new(),
            links_now: Vec::new(),
            paths,
            curves,
            weight_now: weights_at(&weight_paths, s.start),
            weight_paths,
            contexts: k_n,
            brand: base_brand.clone(),
            base_brand,
            fixed: base_fixed.clone(),
            base_fixed,
        }
    }

    /// Completes a policy read from a checkpoint of format 2, written before contexts, brand
    /// offsets and per-channel fixed costs existed: such a scenario has one context and no
    /// `brand` or `fixed_cost` event, so the values in force are the scenario's own.
    /// Also restores what no checkpoint saves: the weight paths, their values in the last
    /// month stepped (`t` steps done), and the absent list of curves (none in force).
    pub fn fill_unsaved(&mut self, s: &Scenario, t: usize) {
        if self.curves.is_empty() {
            self.curves = vec![None; self.paths.len()];
        }
        self.weight_paths = s.channels.iter().map(|ch| ch.weight_path.clone()).collect();
        let last = s.start.plus(t.saturating_sub(1) as i32);
        self.weight_now = weights_at(&self.weight_paths, last);
        if self.contexts == 0 {
            let fresh = Policy::new(s);
            self.contexts = fresh.contexts;
            self.brand = fresh.brand;
            self.base_brand = fresh.base_brand;
            self.fixed = fresh.fixed;
            self.base_fixed = fresh.base_fixed;
        }
    }

    /// Applies the events dated step `t` (file order) and re-evaluates every window for month `t`.
    /// Returns the indices (into the timeline) of the events applied.
    pub fn advance(&mut self, s: &Scenario, timeline: &Timeline, t: usize) -> Vec<usize> {
        let mut applied = Vec::new();
        for (k, e) in timeline.events.iter().enumerate() {
            if e.t == t {
                applied.push(k);
                self.apply(s, &e.action, t, e.key);
            }
        }
        self.finish_phase_ins(t);
        self.refresh_windows(timeline, t);
        self.weight_now = weights_at(&self.weight_paths, s.start.plus(t as i32));
        applied
    }

    /// Apply one event's lasting change; windowed kinds are evaluated by
    /// [`refresh_windows`](Self::refresh_windows).
    fn apply(&mut self, s: &Scenario, action: &Action, t: usize, key: u64) {
        let c_n = self.channels;
        match action {
            Action::Block { j, c, use_scope } => {
                let bit = 1u8 << j;
                self.new_open[*c] &= !bit;
                self.phase[c * self.platforms + j] = None;
                if *use_scope {
                    self.use_set[*c] &= !bit;
                }
            }
            Action::Allow { j, c, months } => {
                let bit = 1u8 << j;
                self.use_set[*c] |= bit;
                if *months <= 1 {
                    self.new_open[*c] |= bit;
                    self.phase[c * self.platforms + j] = None;
                } else if self.new_open[*c] & bit == 0 {
                    self.phase[c * self.platforms + j] = Some(PhaseIn {
                        at: t,
                        months: *months,
                        key,
                    });
                }
            }
            Action::Shift {
                c,
                factor,
                network,
                months: None,
            } => {
                self.shift[c * (self.paths.len()) + network] *= factor;
            }
            Action::Deposit { j, c, amount } => self.deposit[j * c_n + c] = *amount,
            Action::Fee {
                j,
                c,
                class,
                rate,
                factor,
            } => self.set_fee(s, *j, *c, *class, *rate, *factor),
            Action::WithdrawalFee { j, rate } => self.withdrawal_fee[*j] = *rate,
            Action::Interop {
                from,
                to,
                mutual,
                c,
                months: None,
            } => {
                self.links.push(Link {
                    from: *from,
                    to: *to,
                    channel: *c,
                });
                if *mutual {
                    self.links.push(Link {
                        from: *to,
                        to: *from,
                        channel: *c,
                    });
                }
            }
            Action::Tie { j, s: si, weight } => {
                self.imitation[j * self.paths.len() + si] = *weight;
            }
            Action::Network {
                s: si,
                path,
                extend,
            } => {
                // A path replaces a logistic curve (there is nothing to extend).
                let extend = *extend && self.curves[*si].is_none();
                self.curves[*si] = None;
                let old = &mut self.paths[*si];
                if extend {
                    let first = path.first().map(|p| p.0);
                    old.retain(|p| Some(p.0) < first);
                    old.extend(path.iter().cloned());
                } else {
                    *old = path.clone();
                }
            }
            Action::Brand {
                j,
                k,
                offset,
                months: None,
            } => {
                let k_n = self.contexts;
                for ki in 0..k_n {
                    if k.is_none_or(|x| x == ki) {
                        self.base_brand[j * k_n + ki] = *offset;
                    }
                }
            }
            Action::FixedCost {
                j,
                c,
                amount,
                months: None,
            } => {
                for ci in 0..c_n {
                    // Only merchant channels read it; others keep an unused value.
                    if c.is_none_or(|x| x == ci) {
                        self.base_fixed[j * c_n + ci] = *amount;
                    }
                }
            }
            // Windowed kinds are evaluated below.
            Action::Shift { .. }
            | Action::Subsidy { .. }
            | Action::Campaign { .. }
            | Action::Interop { .. }
            | Action::Brand { .. }
            | Action::FixedCost { .. } => {}
        }
    }

    /// Set (`rate`) or scale (`factor`) the fee of platform `j` (the outside option's cost when
    /// `None`) in merchant channel `c` (every one when `None`), for one size class or both.
    fn set_fee(
        &mut self,
        s: &Scenario,
        j: Option<usize>,
        c: Option<usize>,
        class: Option<SizeClass>,
        rate: Option<f64>,
        factor: f64,
    ) {
        let c_n = self.channels;
        for ci in 0..c_n {
            if c.is_some_and(|x| x != ci) || s.channels[ci].kind != ChannelKind::Merchant {
                continue;
            }
            match j {
                None => self.cash_cost[ci] = rate.unwrap_or(self.cash_cost[ci] * factor),
                Some(j) => {
                    for k in 0..2 {
                        let this = if k == 0 {
                            SizeClass::Small
                        } else {
                            SizeClass::Large
                        };
                        if class.is_some_and(|cl| cl != this) {
                            continue;
                        }
                        let f = &mut self.fee[(j * c_n + ci) * 2 + k];
                        *f = rate.unwrap_or(*f * factor);
                    }
                }
            }
        }
    }

    /// Phase-ins that have run their course become fully open.
    fn finish_phase_ins(&mut self, t: usize) {
        for ci in 0..self.channels {
            for j in 0..self.platforms {
                if let Some(ph) = self.phase[ci * self.platforms + j] {
                    if t + 1 >= ph.at + ph.months as usize {
                        self.new_open[ci] |= 1 << j;
                        self.phase[ci * self.platforms + j] = None;
                    }
                }
            }
        }
    }

    /// Recomputes the windowed values in force in step `t`: the event declared last wins among
    /// overlapping subsidy or campaign windows for the same platform and channel; windowed shift
    /// factors multiply; windowed links add to the permanent ones.
    fn refresh_windows(&mut self, timeline: &Timeline, t: usize) {
        let c_n = self.channels;
        self.subsidy.clone_from(&self.base_subsidy);
        self.campaign.iter_mut().for_each(|k| *k = 1.0);
        self.shift_now.clone_from(&self.shift);
        self.links_now.clone_from(&self.links);
        self.brand.clone_from(&self.base_brand);
        self.fixed.clone_from(&self.base_fixed);
        let k_n = self.contexts;
        // File order, so later declarations overwrite earlier ones.
        let s1 = self.paths.len();
        for e in timeline.by_file.iter().map(|&k| &timeline.events[k]) {
            if e.t > t {
                continue;
            }
            let live = |months: u32| t < e.t + months as usize;
            match &e.action {
                Action::Subsidy { j, c, rate, months } if live(*months) => {
                    for ci in 0..c_n {
                        if c.is_none_or(|x| x == ci) {
                            self.subsidy[j * c_n + ci] = *rate;
                        }
                    }
                }
                Action::Campaign {
                    j,
                    multiplier,
                    months,
                } if live(*months) => {
                    self.campaign[*j] = *multiplier;
                }
                Action::Shift {
                    c,
                    factor,
                    network,
                    months: Some(m),
                } if live(*m) => {
                    self.shift_now[c * s1 + network] *= factor;
                }
                Action::Interop {
                    from,
                    to,
                    mutual,
                    c,
                    months: Some(m),
                } if live(*m) => {
                    self.links_now.push(Link {
                        from: *from,
                        to: *to,
                        channel: *c,
                    });
                    if *mutual {
                        self.links_now.push(Link {
                            from: *to,
                            to: *from,
                            channel: *c,
                        });
                    }
                }
                Action::Brand {
                    j,
                    k,
                    offset,
                    months: Some(m),
                } if live(*m) => {
                    for ki in 0..k_n {
                        if k.is_none_or(|x| x == ki) {
                            self.brand[j * k_n + ki] = *offset;
                        }
                    }
                }
                Action::FixedCost {
                    j,
                    c,
                    amount,
                    months: Some(m),
                } if live(*m) => {
                    for ci in 0..c_n {
                        if c.is_none_or(|x| x == ci) {
                            self.fixed[j * c_n + ci] = *amount;
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether merchant `k` may sign or renew a contract with platform `j` in channel `c` in
    /// step `t` (fully open, or reached by the `allow` phase-in).
    #[inline]
    pub fn may_sign(&self, seed: u64, k: u64, j: usize, c: usize, t: usize) -> bool {
        let bit = 1u8 << j;
        if self.use_set[c] & bit == 0 {
            return false;
        }
        if self.new_open[c] & bit != 0 {
            return true;
        }
        match self.phase[c * self.platforms + j] {
            Some(ph) => {
                let u = u01(Stream::keyed(seed, StreamId::Event, ph.key)
                    .agent(k)
                    .draw(0));
                u < (t + 1 - ph.at) as f64 / ph.months as f64
            }
            None => false,
        }
    }

    /// `m_s(t)` for every network (index 0, everyone, is 1): the members' share of the
    /// population, and for a nested network the share conditional on the parent.
    pub fn membership(&self, s: &Scenario, month: Month) -> Vec<(usize, f64)> {
        let mut shares = vec![1.0f64];
        let mut out = vec![(0usize, 1.0f64)];
        for (k, n) in s.networks.iter().enumerate() {
            let parent = n
                .within
                .as_ref()
                .and_then(|p| s.networks.iter().position(|x| &x.id == p))
                .map_or(0, |i| i + 1);
            if let Some(curve) = &self.curves[k + 1] {
                // A logistic curve gives the conditional share itself.
                let cond = curve.share(month);
                shares.push(cond * shares[parent]);
                out.push((parent, cond));
                continue;
            }
            let m = (interpolate(&self.paths[k + 1], month) / s.population).clamp(0.0, 1.0);
            shares.push(m);
            let cond = if parent == 0 {
                m
            } else if shares[parent] > 0.0 {
                (m / shares[parent]).min(1.0)
            } else {
                0.0
            };
            out.push((parent, cond));
        }
        out
    }
}

fn no_curves(curves: &[Option<Logistic>]) -> bool {
    curves.iter().all(Option::is_none)
}

/// Each channel's weight path in `month` (1 without a path).
fn weights_at(paths: &[Option<Vec<(Month, f64)>>], month: Month) -> Vec<f64> {
    paths
        .iter()
        .map(|p| p.as_ref().map_or(1.0, |p| interpolate(p, month)))
        .collect()
}

/// Linear interpolation of a membership path, flat before the first and after the last point.
pub fn interpolate(path: &[(Month, f64)], month: Month) -> f64 {
    match path {
        [] => 0.0,
        [(m0, v0), ..] if month <= *m0 => *v0,
        [.., (m1, v1)] if month >= *m1 => *v1,
        _ => {
            let k = path
                .iter()
                .position(|(m, _)| *m > month)
                .expect("inside the path");
            let (m0, v0) = path[k - 1];
            let (m1, v1) = path[k];
            let w = m0.months_until(month) as f64 / m0.months_until(m1) as f64;
            v0 + w * (v1 - v0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Month {
        s.parse().unwrap()
    }

    #[test]
    fn interpolation_is_linear_and_flat_outside() {
        let path = vec![(m("2012-12"), 420.0), (m("2013-12"), 500.0)];
        assert_eq!(interpolate(&path, m("2012-01")), 420.0);
        assert_eq!(interpolate(&path, m("2013-06")), 420.0 + 80.0 * 6.0 / 12.0);
        assert_eq!(interpolate(&path, m("2020-01")), 500.0);
        assert_eq!(interpolate(&path[..1], m("2020-01")), 420.0);
    }
}
