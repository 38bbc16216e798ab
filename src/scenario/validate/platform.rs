//! The platforms' checks: ids, prices, adoption, launch and strategies, each problem with its
//! field path, the bad value and what to do.

use super::super::*;
use super::{merchant_channels, Checker};

/// `[[platform]]`: ids, prices, adoption, launch, strategies.
pub(super) fn platform_section(c: &mut Checker, s: &Scenario) {
    let networks = s.network_ids();
    if s.platforms.is_empty() {
        c.push("platform", "declare at least one [[platform]]");
    }
    if s.platforms.len() > MAX_PLATFORMS {
        c.push(
            "platform",
            format!(
                "at most {MAX_PLATFORMS} platforms, got {}",
                s.platforms.len()
            ),
        );
    }
    for d in duplicates(s.platforms.iter().map(|p| p.id.as_str())) {
        c.push("platform", format!("platform id {d:?} is declared twice"));
    }
    let channels = s.channel_ids();
    let merchant_channels = merchant_channels(s);
    for (k, pl) in s.platforms.iter().enumerate() {
        platform(c, s, k, pl, &networks, &channels, &merchant_channels);
    }
    // Each fringe share in range (checked above), they must also add up to at most 0.99.
    let fringes: Vec<String> = s
        .platforms
        .iter()
        .filter(|p| p.fringe_share != 0.0)
        .map(|p| format!("{} = {}", p.id, p.fringe_share))
        .collect();
    let fringe: f64 = s.platforms.iter().map(|p| p.fringe_share).sum();
    let each_valid = s
        .platforms
        .iter()
        .all(|p| (0.0..=0.99).contains(&p.fringe_share));
    if each_valid && fringe > 0.99 {
        c.push(
            "platform",
            format!(
                "the platforms' fringe_share add up to {fringe} ({}); together they may be at most 0.99, so that the simulated wallets carry some of the value: lower them",
                fringes.join(", ")
            ),
        );
    }
}

/// The fields of platform `k`.
fn platform(
    c: &mut Checker,
    s: &Scenario,
    k: usize,
    pl: &super::Platform,
    networks: &[&str],
    channels: &[&str],
    merchant_channels: &[&str],
) {
    let p = format!("platform.{}", pl.id);
    if pl.id.trim().is_empty() {
        c.push(
            format!("platform[{k}].id"),
            "a platform needs a non-empty id",
        );
    }
    if ["cash", "lost", "none", "all"].contains(&pl.id.as_str()) {
        c.push(
            format!("platform[{k}].id"),
            format!("{:?} is reserved in the output; choose another id", pl.id),
        );
    }
    c.share(&format!("{p}.fee"), pl.fee, "fee");
    for (o, fo) in pl.fee_overrides.iter().enumerate() {
        let op = format!("{p}.fee_overrides[{o}]");
        if let Some(ch) = &fo.channel {
            c.one_of(
                &format!("{op}.channel"),
                ch,
                merchant_channels,
                "merchant channel",
            );
        }
        c.share(&format!("{op}.fee"), fo.fee, "fee");
    }
    for (ch, amount) in &pl.deposit {
        c.one_of(
            &format!("{p}.deposit"),
            ch,
            merchant_channels,
            "merchant channel",
        );
        c.nonneg(
            &format!("{p}.deposit.{ch}"),
            *amount,
            "deposit (RMB per shop)",
        );
    }
    for (ch, rate) in &pl.subsidy {
        c.one_of(&format!("{p}.subsidy"), ch, channels, "channel");
        c.share(&format!("{p}.subsidy.{ch}"), *rate, "subsidy rate");
    }
    c.share(
        &format!("{p}.withdrawal_fee"),
        pl.withdrawal_fee,
        "withdrawal fee",
    );
    c.share(
        &format!("{p}.innovation"),
        pl.innovation,
        "innovation (per month)",
    );
    for (net, q) in &pl.imitation {
        c.one_of(&format!("{p}.imitation"), net, networks, "network");
        c.nonneg(&format!("{p}.imitation.{net}"), *q, "imitation weight");
    }
    c.finite(&format!("{p}.brand"), pl.brand, "brand weight");
    c.one_of(&format!("{p}.requires"), &pl.requires, networks, "network");
    c.share(
        &format!("{p}.init_users"),
        pl.init_users,
        "initial adopter share",
    );
    if let Some(l) = pl.launch {
        if l > s.start && pl.init_users > 0.0 {
            c.push(
                format!("{p}.init_users"),
                format!(
                    "the platform launches in {l}, after the start {}, so it can have no initial users (got {})",
                    s.start, pl.init_users
                ),
            );
        }
    }
    c.nonneg(&format!("{p}.fixed_cost"), pl.fixed_cost, "fixed cost");
    strategy(c, &p, pl.strategy.as_ref(), channels);
    if pl.fringe_share != 0.0 {
        c.range(
            &format!("{p}.fringe_share"),
            pl.fringe_share,
            0.0,
            0.99,
            "fringe share of third-party value",
        );
        if !pl.third_party {
            c.push(
                format!("{p}.fringe_share"),
                format!(
                    "only a third-party platform can carry the fringe's flows, and this one has third_party = false (got fringe_share = {}); set third_party = true or move the fringe to a third-party platform",
                    pl.fringe_share
                ),
            );
        }
    }
}

/// A `defend_share` strategy's shares, budget and channels.
fn strategy(c: &mut Checker, p: &str, strategy: Option<&StrategySpec>, channels: &[&str]) {
    if let Some(StrategySpec::DefendShare {
        threshold,
        step,
        cap,
        budget,
        channels: chs,
        ..
    }) = strategy
    {
        c.share(&format!("{p}.strategy.threshold"), *threshold, "threshold");
        c.share(&format!("{p}.strategy.step"), *step, "step");
        c.share(&format!("{p}.strategy.cap"), *cap, "cap");
        c.nonneg(&format!("{p}.strategy.budget"), *budget, "budget");
        for ch in chs {
            c.one_of(&format!("{p}.strategy.channels"), ch, channels, "channel");
        }
    }
}
