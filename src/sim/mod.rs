//! The runner: [`Simulation`] owns a scenario's world and steps it month by month
//! (MODEL.md section 3), handing each month's [`MonthReport`] to the recorders.
//!
//! Step order: policy (events of the month) → tables from last month's aggregates → users
//! (payments and decisions, in parallel) → merchants (decisions, in parallel) → platforms'
//! bookkeeping and strategies → record. Every sum over agents is taken in fixed-size chunks
//! combined in chunk order, so results do not depend on the number of threads.
//!
//! Owns: `Simulation` and the month's order of steps. Reads: every rule module, the market, the
//! policy. Never: output formats.

use crate::error::{Error, Result};
use crate::market::Market;
use crate::merchants::{self, merchant_pass, MerchantAcc, MerchantCtx};
use crate::month::Month;
use crate::payments;
use crate::platforms::{PlatformStrategy, StrategyView};
use crate::policy::{Policy, Timeline};
use crate::record::{
    AgentsView, ChannelRow, DefaultRow, EventRow, MarketRow, MonthReport, PlatformRow, Recorder,
};
use crate::scenario::{ChannelKind, LongRange, Scenario, ValidScenario};
use crate::social::Membership;
use crate::users::{
    channel_spending, user_pass, Draws, FarTable, P2pChannel, UserAcc, UserCtx, UserTables,
};
use crate::world::{init, Merchants, Users, NO_PRIMARY};
use book::Flows;

mod book;
mod checkpoint;
#[cfg(test)]
mod equivalence;
mod fork;
pub mod invariants;
pub use checkpoint::FORMAT as CHECKPOINT_FORMAT;
pub use fork::fork_compatible;

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
    /// The scenario resolved into indices once (rebuilt on fork and load).
    market: Market,
    share_history: Vec<Vec<f64>>,
    last: Option<MonthReport>,
}

impl Simulation {
    /// Validates the scenario and builds the initial state with the scenario's seed.
    ///
    /// Before allocating, it estimates the memory the agents need and refuses with
    /// [`Error::OutOfMemory`] when the machine does not have it available.
    pub fn new(scenario: Scenario) -> Result<Simulation> {
        Simulation::from_valid(scenario.into_valid()?)
    }

    /// Like [`Simulation::new`] for a scenario already validated: nothing is checked twice.
    pub fn from_valid(scenario: ValidScenario) -> Result<Simulation> {
        let scenario = scenario.into_inner();
        let (users, merchants, p) = (
            scenario.agents.users,
            scenario.agents.merchants,
            scenario.platforms.len(),
        );
        crate::world::check_memory(users, merchants, p, 1, scenario.contexts.len().max(1))?;
        let seed = scenario.seed;
        let policy = Policy::new(&scenario);
        let (users, merchants) = init(&scenario, &policy, seed);
        Simulation::from_parts(scenario, users, merchants, seed, policy)
    }

    /// A simulation at its first month with the given agents (from [`init`], a fork or a
    /// checkpoint): the derived weights, timeline, policy and strategies are built here.
    fn from_parts(
        scenario: Scenario,
        users: Users,
        merchants: Merchants,
        seed: u64,
        policy: Policy,
    ) -> Result<Simulation> {
        let timeline = Timeline::new(&scenario)?;
        let market = Market::new(&scenario, users.len(), &merchants.ranges);
        let strategies = crate::platforms::from_spec(&scenario);
        let p = scenario.platforms.len();
        Ok(Simulation {
            scenario,
            timeline,
            policy,
            users,
            merchants,
            strategies,
            t: 0,
            run: 0,
            seed,
            market,
            share_history: vec![Vec::new(); p],
            last: None,
        })
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
        self.run_until(None, recorders)
    }

    /// Runs up to (not including) `stop`, or to the end when `stop` is `None` or outside the
    /// run; every recorder sees every month's report and the agents after it, and is finished
    /// once the loop ends (so its files are complete at the stop month: a checkpoint saved then
    /// continues them).
    ///
    /// ```
    /// use paymarket::{record::Collect, Scenario, Simulation};
    /// let mut s = Scenario::load("data/scenarios/duopoly.toml")?;
    /// s.agents.users = 2_000;
    /// s.agents.merchants = 200;
    /// let mut sim = Simulation::new(s)?;
    /// let stop = sim.month().plus(6);
    /// let mut first = Collect::default();
    /// sim.run_until(Some(stop), &mut [&mut first])?;
    /// assert_eq!((first.reports.len(), sim.month()), (6, stop));
    /// # Ok::<(), paymarket::Error>(())
    /// ```
    pub fn run_until(
        &mut self,
        stop: Option<Month>,
        recorders: &mut [&mut dyn Recorder],
    ) -> Result<()> {
        while !self.is_finished() && Some(self.month()) != stop {
            self.step()?;
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
    /// checker ([`invariants::check`]: money conserved per channel, shares in range,
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

    /// One month, MODEL.md section 3 step by step; each step is a call into the module that
    /// owns it, which builds its own inputs from the market, the policy and the state.
    fn advance(&mut self) -> MonthReport {
        let (t, month) = (self.t, self.month());
        let market = &self.market;
        // 1. Policy: every event dated this month, in file order.
        let applied = self.policy.advance(&self.scenario, &self.timeline, t);
        let policy = &self.policy;
        let member = Membership::new(&policy.membership(&self.scenario, month));
        // 2. Aggregates: W_c[H, π] is summed inside the user pass from last month's (H, π);
        //    G_c[A] is merchants.mass from last month's merchant pass.
        // 3. Tables, once a step, O(C·P·4^P).
        let tables = payments::month_tables(market, policy, &self.merchants.mass);
        let user_tables = UserTables::for_month(market, policy, &tables);
        let p2p = P2pChannel::for_month(market, policy, &tables);
        // 4–5. Users pay and decide (memberships of this month first, when the state holds them).
        let draws = Draws {
            seed: self.seed,
            t,
            month,
        };
        let n = self.users.len() as u64;
        let mut ctx = UserCtx::for_month(market, policy, &user_tables, &p2p, &member, draws, n);
        if ctx.masks_in_state && market.networks > 1 {
            crate::users::membership_pass(&mut self.users, &member, ctx.member_stream);
        }
        // Long-range contacts from a table of last month's words with this month's
        // memberships, when the scenario asks for it (validated: the memberships are in them).
        let far = (self.scenario.agents.long_range == LongRange::Table)
            .then(|| FarTable::of_users(&self.users));
        ctx.far = far.as_ref();
        let ua = user_pass(&ctx, market.channels, &mut self.users);
        let (w_c, spend_c) = channel_spending(market, &user_tables, &ua);
        let flows = book::flows(market, &tables, &w_c, &spend_c, &ua);
        // 6. Merchants decide, from this month's spending and last month's acceptance.
        let mchannels =
            merchants::month_channels(market, policy, &tables, &w_c, &spend_c, &self.merchants);
        let mctx = MerchantCtx::for_month(market, policy, &mchannels, self.seed, t, month);
        let mut ma = merchant_pass(&mctx, &mut self.merchants);
        self.merchants.mass = std::mem::take(&mut ma.mass);
        // 7–8. Book the month, report it; the strategies act from next month.
        // Each platform's simulated value and their third-party sum, for the report and the
        // strategies alike.
        let simulated = simulated_values(&self.scenario, &flows.value);
        let report = self.report(month, &applied, (&flows, &simulated), &ua, &ma);
        self.run_strategies(month, &report, &flows, &simulated);
        self.t += 1;
        report
    }

    /// The month's report: MODEL.md section 6, in people, shops and RMB.
    fn report(
        &self,
        month: Month,
        applied: &[usize],
        (f, (values, simulated)): (&Flows, &(Vec<f64>, f64)),
        ua: &UserAcc,
        ma: &MerchantAcc,
    ) -> MonthReport {
        let s = &self.scenario;
        let (p, c_n) = (s.platforms.len(), s.channels.len());
        let wu = self.market.user_weight;
        let value = &f.value;
        let kind_value = |j: usize, kind: ChannelKind| -> f64 {
            (0..c_n)
                .filter(|&c| s.channels[c].kind == kind)
                .map(|c| value[c][j])
                .sum()
        };
        let simulated = *simulated;
        // The fringe (`Platform::fringe_share`): flows outside the simulation, booked to their
        // platforms so that together they are the share `S` of all third-party value. Only
        // third-party platforms carry one (validation).
        let fringe: f64 = s
            .platforms
            .iter()
            .filter(|pl| pl.third_party)
            .map(|pl| pl.fringe_share)
            .sum();
        let third_total = if fringe > 0.0 {
            simulated / (1.0 - fringe)
        } else {
            simulated
        };
        let mut platforms = Vec::with_capacity(p);
        for (j, pl) in s.platforms.iter().enumerate() {
            let mut merchant_value = kind_value(j, ChannelKind::Merchant);
            let mut v = values[j];
            if pl.third_party && pl.fringe_share > 0.0 {
                let flows = pl.fringe_share * third_total;
                merchant_value += flows;
                v += flows;
            }
            let share = (pl.third_party && third_total > 0.0).then(|| v / third_total);
            platforms.push(PlatformRow {
                platform: pl.id.clone(),
                users: ua.holders(j) as f64 * wu,
                active_users: ua.active[j] as f64 * wu,
                annual_users: ua.annual(j) as f64 * wu,
                primary_users: ua.primaries(j) as f64 * wu,
                merchants: (0..c_n)
                    .map(|c| ma.accepting[c * p + j] as f64 * self.market.shop_weight[c])
                    .sum(),
                merchant_value,
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
            .map(|c| ma.any[c] as f64 * self.market.shop_weight[c])
            .sum();
        let multi_shops: f64 = (0..c_n)
            .map(|c| ma.multi[c] as f64 * self.market.shop_weight[c])
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
                        .map(|j| ma.accepting[c * p + j] as f64 * self.market.shop_weight[c])
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
            defaults: self.default_rows(value, ua),
        }
    }

    /// `defaults.csv`'s rows: per context, each platform's default users and value in the
    /// context's channels, then `none` (holders without a default there).
    fn default_rows(&self, value: &[Vec<f64>], ua: &UserAcc) -> Vec<DefaultRow> {
        let s = &self.scenario;
        let wu = self.market.user_weight;
        let mut rows = Vec::new();
        for (k, id) in s.context_ids().into_iter().enumerate() {
            for (j, pl) in s.platforms.iter().enumerate() {
                let v = (0..s.channels.len())
                    .filter(|&c| self.market.context_of[c] == k)
                    .map(|c| value[c][j])
                    .sum();
                rows.push(DefaultRow {
                    context: id.to_string(),
                    platform: pl.id.clone(),
                    default_users: ua.defaults(k, j) as f64 * wu,
                    value: Some(v),
                });
            }
            let none = ua
                .defaults(k, NO_PRIMARY as usize)
                .saturating_sub(ua.by_set[0]);
            rows.push(DefaultRow {
                context: id.to_string(),
                platform: "none".to_string(),
                default_users: none as f64 * wu,
                value: None,
            });
        }
        rows
    }

    /// Each platform's strategy sees the month just reported and sets next month's subsidies.
    fn run_strategies(
        &mut self,
        month: Month,
        report: &MonthReport,
        f: &Flows,
        (values, simulated): &(Vec<f64>, f64),
    ) {
        let c_n = self.scenario.channels.len();
        let simulated = *simulated;
        // Strategies see the simulated value shares, the fringe's flows left out, so that a
        // fringe changes no decision (`Platform::fringe_share`).
        for (j, _) in report.platforms.iter().enumerate() {
            let pl = &self.scenario.platforms[j];
            let share = if pl.third_party && simulated > 0.0 {
                values[j] / simulated
            } else {
                0.0
            };
            self.share_history[j].push(share);
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

fn event_row(e: &crate::scenario::Event) -> EventRow {
    EventRow {
        kind: e.kind.name().to_string(),
        platform: e.actor().to_string(),
        channel: e.channel.clone().unwrap_or_default(),
        detail: e.detail(),
        source: e.source.clone(),
    }
}

/// Each platform's simulated value this month (over every channel) and the sum of it over the
/// third-party platforms: the value shares without the fringe's flows.
fn simulated_values(s: &Scenario, value: &[Vec<f64>]) -> (Vec<f64>, f64) {
    let c_n = s.channels.len();
    let values: Vec<f64> = (0..s.platforms.len())
        .map(|j| (0..c_n).map(|c| value[c][j]).sum::<f64>())
        .collect();
    let simulated = values
        .iter()
        .zip(&s.platforms)
        .filter(|(_, pl)| pl.third_party)
        .map(|(v, _)| *v)
        .sum();
    (values, simulated)
}

#[cfg(test)]
mod tests;
