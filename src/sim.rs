//! The runner: [`Simulation`] owns a scenario's world and steps it month by month
//! (MODEL.md section 3), handing each month's [`MonthReport`] to the recorders.
//!
//! Step order: policy (events of the month) → tables from last month's aggregates → users
//! (payments and decisions, in parallel) → merchants (decisions, in parallel) → platforms'
//! bookkeeping and strategies → record. Every sum over agents is taken in fixed-size chunks
//! combined in chunk order, so results do not depend on the number of threads.

use crate::error::{Error, Result};
use crate::invariants;
use crate::merchants::{merchant_pass, MerchantAcc, MerchantChannel, MerchantCtx};
use crate::month::Month;
use crate::payments::{channel_tables, profit_terms, ChannelInput, ChannelTables, Kind};
use crate::platforms::{DefendShare, PlatformStrategy, Scripted, StrategyView};
use crate::policy::{Policy, Timeline};
use crate::record::{
    AgentsView, ChannelRow, EventRow, MarketRow, MonthReport, PlatformRow, Recorder,
};
use crate::rng::{Stream, StreamId};
use crate::scenario::{ChannelKind, Scenario, StrategySpec};
use crate::social::Membership;
use crate::users::{user_pass, P2pChannel, TableInputs, UserAcc, UserCtx, UserTables};
use crate::world::{init, Merchants, Users};

mod checkpoint;
pub use checkpoint::{fork_compatible, FORMAT as CHECKPOINT_FORMAT};

/// The built-in strategy of each platform, as its scenario declares it.
fn build_strategies(scenario: &Scenario) -> Vec<Box<dyn PlatformStrategy>> {
    let channel_ids = scenario.channel_ids();
    scenario
        .platforms
        .iter()
        .map(|pl| -> Box<dyn PlatformStrategy> {
            match &pl.strategy {
                None | Some(StrategySpec::Scripted) => Box::new(Scripted),
                Some(StrategySpec::DefendShare {
                    start,
                    threshold,
                    step,
                    cap,
                    budget,
                    channels,
                }) => Box::new(DefendShare {
                    start: *start,
                    threshold: *threshold,
                    step: *step,
                    cap: *cap,
                    budget: *budget,
                    channels: channel_ids
                        .iter()
                        .map(|id| channels.is_empty() || channels.iter().any(|c| c == id))
                        .collect(),
                    floor: channel_ids
                        .iter()
                        .map(|id| pl.subsidy.get(*id).copied().unwrap_or(0.0))
                        .collect(),
                }),
            }
        })
        .collect()
}

/// A running simulation of one scenario.
///
/// ```
/// use paymarket::{Scenario, Simulation, record::Collect};
/// let mut scenario = Scenario::load("data/scenarios/duopoly.toml")?;
/// scenario.agents.users = 2_000;
/// scenario.agents.merchants = 200;
/// let mut sim = Simulation::new(scenario)?;
/// let mut out = Collect::default();
/// sim.run(&mut [&mut out])?;
/// let last = out.reports.last().unwrap();
/// let shares: f64 = last.platforms.iter().filter_map(|p| p.value_share).sum();
/// assert!((shares - 1.0).abs() < 1e-9);
/// # Ok::<(), paymarket::Error>(())
/// ```
pub struct Simulation {
    scenario: Scenario,
    timeline: Timeline,
    policy: Policy,
    users: Users,
    merchants: Merchants,
    strategies: Vec<Box<dyn PlatformStrategy>>,
    t: usize,
    run: u64,
    seed: u64,
    user_weight: f64,
    shop_weight: Vec<f64>,
    share_history: Vec<Vec<f64>>,
    last: Option<MonthReport>,
}

impl Simulation {
    /// Validates the scenario and builds the initial state with the scenario's seed.
    ///
    /// Before allocating, it estimates the memory the agents need and refuses with
    /// [`Error::OutOfMemory`] when the machine does not have it available.
    pub fn new(scenario: Scenario) -> Result<Simulation> {
        scenario.validate()?;
        let (users, merchants, p) = (
            scenario.agents.users,
            scenario.agents.merchants,
            scenario.platforms.len(),
        );
        crate::world::check_memory(users, merchants, p, 1)?;
        let seed = scenario.seed;
        let policy = Policy::new(&scenario);
        let (users, merchants) = init(&scenario, &policy, seed);
        Ok(Simulation::from_parts(scenario, users, merchants, seed))
    }

    /// A simulation at its first month with the given agents (from [`init`], a fork or a
    /// checkpoint): the derived weights, timeline, policy and strategies are built here.
    fn from_parts(scenario: Scenario, users: Users, merchants: Merchants, seed: u64) -> Simulation {
        let timeline = Timeline::new(&scenario);
        let policy = Policy::new(&scenario);
        let user_weight = scenario.population / scenario.agents.users as f64;
        let shop_weight = scenario
            .channels
            .iter()
            .zip(&merchants.ranges)
            .map(|(ch, r)| {
                if r.is_empty() {
                    0.0
                } else {
                    ch.shops / r.len() as f64
                }
            })
            .collect();
        let strategies = build_strategies(&scenario);
        let p = scenario.platforms.len();
        Simulation {
            scenario,
            timeline,
            policy,
            users,
            merchants,
            strategies,
            t: 0,
            run: 0,
            seed,
            user_weight,
            shop_weight,
            share_history: vec![Vec::new(); p],
            last: None,
        }
    }

    /// Sets the run number written in the `run` column (default 0).
    pub fn with_run(mut self, run: u64) -> Simulation {
        self.run = run;
        self
    }

    /// Replaces platform `id`'s strategy with a custom one.
    pub fn with_strategy(
        mut self,
        id: &str,
        strategy: Box<dyn PlatformStrategy>,
    ) -> Result<Simulation> {
        let j = self
            .scenario
            .platforms
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(|| {
                Error::Config(format!(
                    "no platform {id:?} in scenario {}",
                    self.scenario.name
                ))
            })?;
        self.strategies[j] = strategy;
        Ok(self)
    }

    /// The seed of this run's draws (the scenario's, or a replicate's derived seed).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The scenario being run.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The policy in force (after the last step's events).
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The month the next [`Simulation::step`] will simulate.
    pub fn month(&self) -> Month {
        self.scenario.start.plus(self.t as i32)
    }

    /// Whether every month has been simulated.
    pub fn is_finished(&self) -> bool {
        self.t >= self.scenario.months()
    }

    /// The last month's report.
    pub fn last_report(&self) -> Option<&MonthReport> {
        self.last.as_ref()
    }

    /// The user agents' state.
    pub fn users(&self) -> &Users {
        &self.users
    }

    /// The merchant agents' state.
    pub fn merchants(&self) -> &Merchants {
        &self.merchants
    }

    /// Runs every remaining month, giving each report to every recorder, then finishes them.
    pub fn run(&mut self, recorders: &mut [&mut dyn Recorder]) -> Result<()> {
        while self.step()?.is_some() {
            let report = self.last.as_ref().expect("a step was taken");
            let view = self.agents_view();
            for r in recorders.iter_mut() {
                r.record(report)?;
                r.observe(&view)?;
            }
        }
        for r in recorders.iter_mut() {
            r.finish()?;
        }
        Ok(())
    }

    /// A view of the agents as they stand after the last step.
    pub fn agents_view(&self) -> AgentsView<'_> {
        AgentsView {
            run: self.run,
            seed: self.seed,
            scenario: &self.scenario,
            month: self.scenario.start.plus(self.t as i32 - 1),
            users: &self.users,
            merchants: &self.merchants,
        }
    }

    /// Checks the last report against MODEL.md section 7.
    pub fn check_invariants(&self) -> Result<()> {
        match &self.last {
            None => Ok(()),
            Some(r) => invariants::check(r, &self.policy, &self.scenario),
        }
    }

    /// Simulates one month and returns its report, or `None` when the scenario is over.
    ///
    /// Every step, in every build, checks the month's report with the explicit invariant
    /// checker ([`crate::invariants::check`]: money conserved per channel, shares in range,
    /// nothing NaN, nothing used where it is not allowed) and returns
    /// [`Error::Invariant`] (with the month, the channel or platform and the size of the
    /// discrepancy) instead of carrying a numerical error on. The check reads only the month's
    /// aggregates: microseconds a month.
    pub fn step(&mut self) -> Result<Option<&MonthReport>> {
        if self.is_finished() {
            return Ok(None);
        }
        let report = self.advance();
        self.last = Some(report);
        self.check_invariants()?;
        Ok(self.last.as_ref())
    }

    fn advance(&mut self) -> MonthReport {
        let s = &self.scenario;
        let t = self.t;
        let month = self.month();
        let p = s.platforms.len();
        let c_n = s.channels.len();
        let n_sets = 1usize << p;
        let hp_n = n_sets * (p + 1);
        let s1 = s.networks.len() + 1;
        let prm = &s.params;

        // 1. Policy.
        let applied = self.policy.advance(s, &self.timeline, t);
        let policy = &self.policy;

        // Membership and the spending weights open to each membership mask.
        let member = Membership::new(&policy.membership(s, month));
        let networks = s.network_ids();
        let req_bit: Vec<u16> = s
            .channels
            .iter()
            .map(|ch| 1u16 << networks.iter().position(|x| *x == ch.requires).unwrap_or(0))
            .collect();
        let n_masks = 1usize << s1;
        let open_weight = open_weights(s, policy, &req_bit);

        // 3. Tables from last month's merchant aggregates.
        let brand: Vec<f64> = s.platforms.iter().map(|pl| pl.brand).collect();
        let inputs: Vec<ChannelInput> = (0..c_n)
            .map(|c| {
                let ch = &s.channels[c];
                ChannelInput {
                    c,
                    kind: match ch.kind {
                        ChannelKind::Merchant => Kind::Merchant {
                            has_merchants: !self.merchants.ranges[c].is_empty(),
                        },
                        ChannelKind::P2p => Kind::P2p,
                        ChannelKind::Own => Kind::Own,
                    },
                    cash: ch.cash,
                    steering: ch.steering,
                    mass: &self.merchants.mass[c * 2 * n_sets..][..2 * n_sets],
                    loyalty: prm.loyalty,
                    brand: &brand,
                    subsidy_split: prm.subsidy_split,
                }
            })
            .collect();
        let tables: Vec<ChannelTables> = inputs
            .iter()
            .map(|inp| channel_tables(policy, inp))
            .collect();

        // 4–5. Users.
        let launched: u8 = s
            .platforms
            .iter()
            .enumerate()
            .filter(|(_, pl)| pl.launch.is_none_or(|l| l <= month))
            .fold(0, |m, (j, _)| m | (1 << j));
        let routed: Vec<usize> = (0..c_n)
            .filter(|&c| s.channels[c].kind != ChannelKind::P2p)
            .collect();
        let is_p2p: Vec<bool> = s
            .channels
            .iter()
            .map(|ch| ch.kind == ChannelKind::P2p)
            .collect();
        let p2p: Vec<P2pChannel> = (0..c_n)
            .filter(|&c| is_p2p[c])
            .map(|c| {
                P2pChannel::new(
                    p,
                    c,
                    req_bit[c],
                    s.channels[c].cash,
                    policy.use_set[c],
                    &tables[c],
                    prm.loyalty,
                )
            })
            .collect();
        let per_platform = |f: &dyn Fn(usize) -> f64| {
            let mut a = [0.0; 8];
            for (j, x) in a.iter_mut().enumerate().take(p) {
                *x = f(j);
            }
            a
        };
        let innovation: Vec<f64> = s.platforms.iter().map(|pl| pl.innovation).collect();
        let user_tables = UserTables::new(&TableInputs {
            p,
            open_weight: &open_weight,
            routed: &routed,
            tables: &tables,
            is_p2p: &is_p2p,
            subsidy: &policy.subsidy,
            innovation: &innovation,
            brand: &brand,
            gamma: prm.coverage_weight,
            delta: prm.subsidy_weight,
            eta: prm.subsidy_split,
            beta_cov: prm.coverage_primary_weight,
        });
        let requires: Vec<u16> = s
            .platforms
            .iter()
            .map(|pl| 1u16 << networks.iter().position(|x| *x == pl.requires).unwrap_or(0))
            .collect();
        let adoptable: Vec<u8> = (0..n_masks)
            .map(|mask| {
                launched
                    & (0..p)
                        .filter(|&j| mask as u16 & requires[j] != 0)
                        .fold(0u8, |a, j| a | 1 << j)
            })
            .collect();
        let mut imitation_list = [0u8; 9];
        let mut imitation_list_len = 0;
        for sn in 0..s1 {
            if (0..p).any(|j| policy.imitation[j * s1 + sn] != 0.0) {
                imitation_list[imitation_list_len] = sn as u8;
                imitation_list_len += 1;
            }
        }
        let mut imitation_terms = [[(0u8, 0.0f64); 9]; 8];
        let mut imitation_len = [0usize; 8];
        for j in 0..p {
            for sn in 0..s1 {
                let q = policy.imitation[j * s1 + sn];
                if q != 0.0 {
                    imitation_terms[j][imitation_len[j]] = (sn as u8, q);
                    imitation_len[j] += 1;
                }
            }
        }
        let uses_networks = s
            .platforms
            .iter()
            .any(|pl| pl.requires != crate::scenario::EVERYONE)
            || s.channels
                .iter()
                .any(|ch| ch.requires != crate::scenario::EVERYONE)
            || policy
                .imitation
                .chunks(s1)
                .any(|q| q[1..].iter().any(|&x| x != 0.0));
        // Memberships of this month into the state words, when they fit.
        let masks_in_state = s1 - 1 <= crate::world::STATE_NETWORKS;
        let member_stream = Stream::new(self.seed, StreamId::Membership, 0);
        if masks_in_state && s1 > 1 {
            crate::users::membership_pass(&mut self.users, &member, member_stream);
        }
        let ctx = UserCtx {
            p,
            n: self.users.len() as u64,
            b: prm.community_size as u64,
            eps16: (prm.long_range * 65536.0).round() as u32,
            k: prm.contacts as usize,
            member: &member,
            member_stream,
            contact_stream: Stream::new(self.seed, StreamId::Contacts, t as u64),
            step_stream: Stream::new(self.seed, StreamId::UserStep, t as u64),
            tables: &user_tables,
            p2p: &p2p,
            p2p_use: p2p.iter().fold(0, |m, ch| m | ch.usable),
            adoptable: &adoptable,
            campaign: per_platform(&|j| policy.campaign[j]),
            imitation_terms,
            imitation_len,
            imitation_list,
            imitation_list_len,
            contact_masks: s1 > 1 && uses_networks,
            masks_in_state,
            balance_factor: per_platform(&|j| 1.0 + policy.withdrawal_fee[j] / 0.001),
            gamma: prm.coverage_weight,
            phi: prm.rescue_weight,
            primary_review: prm.primary_review,
            beta_bal: prm.balance_weight,
            beta_soc: prm.social_weight,
            churn_months: prm.churn_months,
            churn_rate: prm.churn_rate,
            per_ticket: 1.0 / prm.ticket,
        };
        let ua = user_pass(&ctx, c_n, &mut self.users);
        let wu = self.user_weight;
        // Spending per channel and (H, π): the users' spending by class times the class weights.
        let mut w_c = vec![0.0f64; c_n * hp_n];
        let mut spend_c = vec![0.0f64; c_n];
        for (cls, wt) in user_tables.weight.iter().enumerate() {
            let sp = &ua.spend[cls * hp_n..][..hp_n];
            for c in 0..c_n {
                if wt[c] == 0.0 {
                    continue;
                }
                for (hp, &x) in sp.iter().enumerate() {
                    w_c[c * hp_n + hp] += x * wt[c];
                }
            }
        }
        for c in 0..c_n {
            spend_c[c] = w_c[c * hp_n..][..hp_n].iter().sum();
        }

        let flows = flows(s, &tables, &w_c, &spend_c, &ua, wu);

        // 6. Merchants.
        let mchannels: Vec<MerchantChannel> = (0..c_n)
            .map(|c| {
                let ch = &s.channels[c];
                let spend = spend_c[c] * wu;
                let range = &self.merchants.ranges[c];
                if ch.kind != ChannelKind::Merchant || range.is_empty() || spend <= 0.0 {
                    return MerchantChannel {
                        y_per_size: 0.0,
                        margin: ch.margin,
                        terms: vec![0.0; 2 * n_sets],
                    };
                }
                let total_w = spend_c[c];
                let customers: Vec<f64> = w_c[c * hp_n..][..hp_n]
                    .iter()
                    .map(|w| w / total_w)
                    .collect();
                let terms = profit_terms(policy, &inputs[c], &tables[c], &customers, ch.margin);
                MerchantChannel {
                    y_per_size: spend / (self.shop_weight[c] * self.merchants.size_sum[c]),
                    margin: ch.margin,
                    terms,
                }
            })
            .collect();
        let mut fixed = [0.0; 8];
        for (j, pl) in s.platforms.iter().enumerate() {
            fixed[j] = pl.fixed_cost;
        }
        let mctx = MerchantCtx {
            p,
            t,
            seed: self.seed,
            stream: Stream::new(self.seed, StreamId::MerchantStep, t as u64),
            policy,
            channels: &mchannels,
            launched,
            fixed,
            review: prm.merchant_review,
            scale: prm.merchant_logit_scale,
            inertia: prm.merchant_inertia,
            interest: prm.interest,
            months_liquidity: prm.months_liquidity,
            t_min: prm.contract_min,
            t_max: prm.contract_max,
        };
        drop(inputs);
        let mut ma = merchant_pass(&mctx, &mut self.merchants);
        self.merchants.mass = std::mem::take(&mut ma.mass);

        // 7–8. Bookkeeping, the report, and the strategies (which act from next month).
        let report = self.report(month, &applied, &flows, &ua, &ma);
        self.run_strategies(month, &report, &flows);
        self.t += 1;
        report
    }

    /// The month's report: MODEL.md section 6, in people, shops and RMB.
    fn report(
        &self,
        month: Month,
        applied: &[usize],
        f: &Flows,
        ua: &UserAcc,
        ma: &MerchantAcc,
    ) -> MonthReport {
        let s = &self.scenario;
        let (p, c_n) = (s.platforms.len(), s.channels.len());
        let wu = self.user_weight;
        let value = &f.value;
        let kind_value = |j: usize, kind: ChannelKind| -> f64 {
            (0..c_n)
                .filter(|&c| s.channels[c].kind == kind)
                .map(|c| value[c][j])
                .sum()
        };
        let third_total: f64 = (0..p)
            .filter(|&j| s.platforms[j].third_party)
            .map(|j| (0..c_n).map(|c| value[c][j]).sum::<f64>())
            .sum();
        let mut platforms = Vec::with_capacity(p);
        for (j, pl) in s.platforms.iter().enumerate() {
            let v: f64 = (0..c_n).map(|c| value[c][j]).sum();
            let share = (pl.third_party && third_total > 0.0).then(|| v / third_total);
            platforms.push(PlatformRow {
                platform: pl.id.clone(),
                users: ua.holders(j) as f64 * wu,
                active_users: ua.active[j] as f64 * wu,
                primary_users: ua.primaries(j) as f64 * wu,
                merchants: (0..c_n)
                    .map(|c| ma.accepting[c * p + j] as f64 * self.shop_weight[c])
                    .sum(),
                merchant_value: kind_value(j, ChannelKind::Merchant),
                p2p_value: kind_value(j, ChannelKind::P2p),
                own_value: kind_value(j, ChannelKind::Own),
                value_share: share,
                fee_revenue: f.fees[j],
                subsidy_cost: (0..c_n)
                    .map(|c| value[c][j] * self.policy.subsidy[j * c_n + c])
                    .sum(),
            });
        }
        let any_shops: f64 = (0..c_n)
            .map(|c| ma.any[c] as f64 * self.shop_weight[c])
            .sum();
        let multi_shops: f64 = (0..c_n)
            .map(|c| ma.multi[c] as f64 * self.shop_weight[c])
            .sum();
        let market = MarketRow {
            spend: f.spend.iter().sum(),
            platform_value: value.iter().flatten().sum(),
            cash_value: f.cash.iter().sum(),
            lost_value: f.lost.iter().sum(),
            hhi: platforms
                .iter()
                .filter_map(|r| r.value_share)
                .map(|sh| (100.0 * sh) * (100.0 * sh))
                .sum(),
            multihoming_users: if ua.adopters() > 0 {
                ua.multihoming() as f64 / ua.adopters() as f64
            } else {
                0.0
            },
            multihoming_merchants: if any_shops > 0.0 {
                multi_shops / any_shops
            } else {
                0.0
            },
            adopters: ua.adopters() as f64 * wu,
        };
        let channels = (0..c_n)
            .map(|c| ChannelRow {
                channel: s.channels[c].id.clone(),
                spend: f.spend[c],
                value: value[c].clone(),
                // Empty (None) for channels without shops: p2p, own-account flows, and merchant
                // channels with no shop (`shops = 0`), where no count of acceptors exists.
                merchants_accepting: (s.channels[c].kind == ChannelKind::Merchant
                    && !self.merchants.ranges[c].is_empty())
                .then(|| {
                    (0..p)
                        .map(|j| ma.accepting[c * p + j] as f64 * self.shop_weight[c])
                        .collect()
                }),
                cash: f.cash[c],
                lost: f.lost[c],
            })
            .collect();
        let events = applied
            .iter()
            .map(|&k| event_row(&s.events[self.timeline.events[k].index]))
            .collect();
        MonthReport {
            run: self.run,
            scenario: s.name.clone(),
            month,
            platforms,
            market,
            channels,
            events,
        }
    }

    /// Each platform's strategy sees the month just reported and sets next month's subsidies.
    fn run_strategies(&mut self, month: Month, report: &MonthReport, f: &Flows) {
        let c_n = self.scenario.channels.len();
        for (j, row) in report.platforms.iter().enumerate() {
            self.share_history[j].push(row.value_share.unwrap_or(0.0));
            let vals: Vec<f64> = (0..c_n).map(|c| f.value[c][j]).collect();
            let base: Vec<f64> = (0..c_n)
                .map(|c| self.policy.base_subsidy[j * c_n + c])
                .collect();
            let usable: Vec<bool> = (0..c_n)
                .map(|c| self.policy.use_set[c] & (1 << j) != 0)
                .collect();
            let view = StrategyView {
                month,
                share_history: &self.share_history[j],
                value: &vals,
                subsidy: &base,
                usable: &usable,
            };
            if let Some(next) = self.strategies[j].decide(&view) {
                for c in 0..c_n {
                    self.policy.base_subsidy[j * c_n + c] = next[c].clamp(0.0, 1.0);
                }
            }
        }
    }
}

/// `ω_ic` for every membership mask (`mask * C + c`): each open channel's weight, shifted by
/// the factors in force for the networks in the mask, normalised over the open channels.
fn open_weights(s: &Scenario, policy: &Policy, req_bit: &[u16]) -> Vec<f64> {
    let c_n = s.channels.len();
    let s1 = s.networks.len() + 1;
    let n_masks = 1usize << s1;
    let mut open_weight = vec![0.0; n_masks * c_n];
    for mask in (1..n_masks).step_by(2) {
        let w = &mut open_weight[mask * c_n..][..c_n];
        for (c, ch) in s.channels.iter().enumerate() {
            if mask as u16 & req_bit[c] == 0 {
                continue;
            }
            let mut f = ch.weight;
            for sn in 0..s1 {
                if mask & (1 << sn) != 0 {
                    f *= policy.shift_now[c * s1 + sn];
                }
            }
            w[c] = f;
        }
        let total: f64 = w.iter().sum();
        if total > 0.0 {
            w.iter_mut().for_each(|x| *x /= total);
        }
    }
    open_weight
}

/// One month's money per channel, in RMB.
struct Flows {
    /// Value per channel and platform.
    value: Vec<Vec<f64>>,
    /// Paid by the outside option, per channel.
    cash: Vec<f64>,
    /// Lost, per channel.
    lost: Vec<f64>,
    /// Merchant fees per platform.
    fees: Vec<f64>,
    /// Spending per channel.
    spend: Vec<f64>,
}

/// Routes the month's spending: routed channels through their tables (`w_c`: agent spending per
/// channel and `(H, π)`), p2p channels from the users' own sums; `wu` people per user agent.
fn flows(
    s: &Scenario,
    tables: &[ChannelTables],
    w_c: &[f64],
    spend_c: &[f64],
    ua: &UserAcc,
    wu: f64,
) -> Flows {
    let (p, c_n) = (s.platforms.len(), s.channels.len());
    let hp_n = (1usize << p) * (p + 1);
    let mut f = Flows {
        value: vec![vec![0.0f64; p]; c_n],
        cash: vec![0.0f64; c_n],
        lost: vec![0.0f64; c_n],
        fees: vec![0.0f64; p],
        spend: spend_c.iter().map(|x| x * wu).collect(),
    };
    for c in 0..c_n {
        if s.channels[c].kind == ChannelKind::P2p {
            let v = &ua.p2p[c * (p + 2)..][..p + 2];
            for j in 0..p {
                f.value[c][j] = v[j] * wu;
            }
            f.cash[c] = v[p] * wu;
            f.lost[c] = v[p + 1] * wu;
            continue;
        }
        let w = &w_c[c * hp_n..][..hp_n];
        let tb = &tables[c];
        for (hp, &wv) in w.iter().enumerate() {
            if wv == 0.0 {
                continue;
            }
            let r = &tb.route[hp * (p + 2)..][..p + 2];
            for j in 0..p {
                f.value[c][j] += wv * r[j];
                f.fees[j] += wv * tb.fee_route[hp * p + j];
            }
            f.cash[c] += wv * r[p];
            f.lost[c] += wv * r[p + 1];
        }
        for j in 0..p {
            f.value[c][j] *= wu;
        }
        f.cash[c] *= wu;
        f.lost[c] *= wu;
    }
    for x in &mut f.fees {
        *x *= wu;
    }
    f
}

fn event_row(e: &crate::scenario::Event) -> EventRow {
    let mut detail = Vec::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            detail.push(format!("{k}={v}"));
        }
    };
    put("scope", e.scope.clone());
    put("months", e.months.map(|x| x.to_string()));
    put("factor", e.factor.map(|x| x.to_string()));
    put("rate", e.rate.map(|x| x.to_string()));
    put("amount", e.amount.map(|x| x.to_string()));
    put("multiplier", e.multiplier.map(|x| x.to_string()));
    put("weight", e.weight.map(|x| x.to_string()));
    put("network", e.network.clone());
    put("to", e.to.clone());
    put("mutual", e.mutual.map(|x| x.to_string()));
    put("class", e.class.map(|c| format!("{c:?}").to_lowercase()));
    put("mode", e.mode.clone());
    put("points", e.path.as_ref().map(|p| p.len().to_string()));
    EventRow {
        kind: e.kind.clone(),
        platform: e
            .platform
            .clone()
            .or_else(|| e.from.clone())
            .unwrap_or_default(),
        channel: e.channel.clone().unwrap_or_default(),
        detail: detail.join(";"),
        source: e.source.clone(),
    }
}
