//! Recording: the month's metrics (MODEL.md section 6) and the recorders that turn them into
//! output.
//!
//! A [`MonthReport`] holds one month's rows in people, shops and RMB. A [`Recorder`] receives
//! every report in order; [`CsvRecorder`] writes the five tidy CSV files, [`Frames`] keeps the
//! same tables as typed columns in memory, [`Collect`] keeps the reports. The rules never see this module's output formats.
//!
//! Owns: the report rows, `Recorder`, `Collect`, `AgentsView`. Reads: the agents' state for views.
//! Never: the rules.

use crate::error::Result;
use crate::month::Month;
use crate::scenario::Scenario;
use crate::world::{Merchants, Users};
use serde::{Deserialize, Serialize};

#[cfg(feature = "arrow")]
pub mod arrow;
pub mod columns;
mod csv;
mod frame;
mod table;

pub use self::csv::*;
pub use frame::{Frame, Frames, Kind, Value, Values};
pub use table::{frame_bytes, write_frame, Format, TableWriter};

/// One platform in one month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformRow {
    /// Platform id.
    pub platform: String,
    /// People holding it at the end of the month.
    pub users: f64,
    /// People who used it this month.
    pub active_users: f64,
    /// People who used it in the last 12 months (a wallet dropped within them counted; one
    /// taken up counts as used in its first month).
    #[serde(default)]
    pub annual_users: f64,
    /// People whose primary wallet it is at the end of the month.
    pub primary_users: f64,
    /// Shops accepting it at the end of the month.
    pub merchants: f64,
    /// Value in merchant channels, RMB.
    pub merchant_value: f64,
    /// Value in p2p channels, RMB.
    pub p2p_value: f64,
    /// Value in own-account channels, RMB.
    pub own_value: f64,
    /// Share of the value of all third-party platforms (`None` for others, or when there is none).
    pub value_share: Option<f64>,
    /// Merchant fees earned, RMB.
    pub fee_revenue: f64,
    /// User subsidies paid, RMB.
    pub subsidy_cost: f64,
}

impl PlatformRow {
    /// `merchant_value + p2p_value + own_value`.
    pub fn value(&self) -> f64 {
        self.merchant_value + self.p2p_value + self.own_value
    }
}

/// The market as a whole in one month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketRow {
    /// All spending, RMB.
    pub spend: f64,
    /// Value paid through platforms.
    pub platform_value: f64,
    /// Value paid by the outside option.
    pub cash_value: f64,
    /// Value lost (no usable wallet where cash does not work).
    pub lost_value: f64,
    /// `Σ (100·value_share)²` over third-party platforms.
    pub hhi: f64,
    /// Share of wallet holders holding two or more.
    pub multihoming_users: f64,
    /// Share of accepting shops accepting two or more.
    pub multihoming_merchants: f64,
    /// People holding at least one wallet.
    pub adopters: f64,
}

/// One channel in one month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelRow {
    /// Channel id.
    pub channel: String,
    /// Spending in the channel, RMB.
    pub spend: f64,
    /// Value per platform, RMB.
    pub value: Vec<f64>,
    /// Shops accepting each platform (`None` for channels without merchants).
    pub merchants_accepting: Option<Vec<f64>>,
    /// Value paid by the outside option.
    pub cash: f64,
    /// Value lost.
    pub lost: f64,
}

/// An event applied this month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    /// Event kind.
    pub kind: String,
    /// Platform (or `from` of an interop), empty if none.
    pub platform: String,
    /// Channel, empty if none.
    pub channel: String,
    /// The event's other fields, `key=value` separated by `;`.
    pub detail: String,
    /// Where the episode is documented.
    pub source: String,
}

/// A context's defaults this month (`defaults.csv`, MODEL.md section 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefaultRow {
    /// Context id (`all` when the scenario declares none).
    pub context: String,
    /// Platform id, or `none` for holders without a default there.
    pub platform: String,
    /// People whose default in the context is the platform.
    pub default_users: f64,
    /// Value through the platform in the context's channels (`None` for `none`).
    pub value: Option<f64>,
}

/// One month's metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthReport {
    /// Run number (replicate).
    pub run: u64,
    /// Scenario name.
    pub scenario: String,
    /// The month.
    pub month: Month,
    /// Per platform, in scenario order.
    pub platforms: Vec<PlatformRow>,
    /// The market.
    pub market: MarketRow,
    /// Per channel, in scenario order.
    pub channels: Vec<ChannelRow>,
    /// Events applied this month, in file order.
    pub events: Vec<EventRow>,
    /// Per context, then platform (and `none`): the defaults.
    #[serde(default)]
    pub defaults: Vec<DefaultRow>,
}

/// A read-only view of the agents at the end of a month, for recorders that sample them.
pub struct AgentsView<'a> {
    /// Run number.
    pub run: u64,
    /// Master seed of the run.
    pub seed: u64,
    /// The scenario.
    pub scenario: &'a Scenario,
    /// The month just simulated.
    pub month: Month,
    /// User agents (state at the end of `month`).
    pub users: &'a Users,
    /// Merchant agents (state at the end of `month`).
    pub merchants: &'a Merchants,
}

/// Something that watches a run month by month.
///
/// ```
/// use paymarket::{MonthReport, Recorder, Result};
/// /// Prints Alipay's share each December.
/// struct Decembers;
/// impl Recorder for Decembers {
///     fn record(&mut self, r: &MonthReport) -> Result<()> {
///         if r.month.month_of_year() == 12 {
///             println!("{} {:?}", r.month, r.platforms[0].value_share);
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait Recorder {
    /// Called once per simulated month, in order.
    fn record(&mut self, report: &MonthReport) -> Result<()>;
    /// Called once per simulated month, after [`Recorder::record`], with the agents themselves
    /// (for micro-level samples); does nothing unless implemented.
    fn observe(&mut self, _agents: &AgentsView) -> Result<()> {
        Ok(())
    }
    /// Called once after the last month.
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Keeps every report in memory.
#[derive(Debug, Clone, Default)]
pub struct Collect {
    /// The reports, in month order.
    pub reports: Vec<MonthReport>,
}

impl Recorder for Collect {
    fn record(&mut self, report: &MonthReport) -> Result<()> {
        self.reports.push(report.clone());
        Ok(())
    }
}
