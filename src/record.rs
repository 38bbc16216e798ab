//! Recording: the month's metrics (MODEL.md section 6) and the recorders that turn them into
//! output.
//!
//! A [`MonthReport`] holds one month's rows in people, shops and RMB. A [`Recorder`] receives
//! every report in order; [`CsvRecorder`] writes the four tidy CSV files, [`Collect`] keeps the
//! reports in memory. The rules never see this module's output formats.

use crate::error::{Error, Result};
use crate::month::Month;
use crate::output::{number as num, StagedCsv};
use crate::scenario::Scenario;
use crate::world::{Merchants, Users};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One platform in one month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformRow {
    /// Platform id.
    pub platform: String,
    /// People holding it at the end of the month.
    pub users: f64,
    /// People who used it this month.
    pub active_users: f64,
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

/// Writes `platforms.csv`, `market.csv`, `channels.csv` and `events.csv` into a directory.
///
/// Crash-safe: rows go to temporary files (`.platforms.csv.partial`, …) that
/// [`Recorder::finish`] renames into place, then it writes the completion manifest
/// (`manifest.json`, see [`crate::output`]) unless [`CsvRecorder::without_manifest`] was asked
/// for (when more files belong to the same set and the caller writes the manifest last). A run
/// that fails or is killed leaves no complete-looking file.
pub struct CsvRecorder {
    dir: PathBuf,
    platforms: StagedCsv,
    market: StagedCsv,
    channels: StagedCsv,
    events: StagedCsv,
    manifest: bool,
}

/// The names of the files a [`CsvRecorder`] writes.
pub const CSV_FILES: [&str; 4] = ["platforms.csv", "market.csv", "channels.csv", "events.csv"];

/// Creates `dir` if needed.
fn make_dir(dir: &Path) -> Result<PathBuf> {
    crate::output::create_dir(dir)?;
    Ok(dir.to_path_buf())
}

impl CsvRecorder {
    /// Creates the directory if needed and opens the four files with their headers.
    pub fn create(dir: impl AsRef<Path>) -> Result<CsvRecorder> {
        CsvRecorder::open(dir.as_ref(), None)
    }

    /// Like [`CsvRecorder::create`], but continues the files already in `dir` from month
    /// `from` (a run resumed from a checkpoint continues the files of the run that saved it):
    /// rows dated before `from` are kept, later ones dropped and written again, so resuming
    /// twice, or again after a resume was killed, gives the files of the uninterrupted run.
    /// The caller checks first that the rows are the same run's ([`crate::output::Identity`]).
    pub fn resume(dir: impl AsRef<Path>, from: Month) -> Result<CsvRecorder> {
        CsvRecorder::open(dir.as_ref(), Some(from))
    }

    /// Leaves the manifest to the caller (see [`crate::output::write_manifest`]).
    pub fn without_manifest(mut self) -> CsvRecorder {
        self.manifest = false;
        self
    }

    fn open(dir: &Path, resume: Option<Month>) -> Result<CsvRecorder> {
        let dir = make_dir(dir)?;
        crate::output::clear_manifest(&dir)?;
        let open = |name: &str, header: &[&str]| match resume {
            Some(from) => StagedCsv::resume(&dir, name, header, from),
            None => StagedCsv::open(&dir, name, header),
        };
        Ok(CsvRecorder {
            platforms: open(
                CSV_FILES[0],
                &[
                    "run",
                    "scenario",
                    "month",
                    "platform",
                    "users",
                    "active_users",
                    "primary_users",
                    "merchants",
                    "value",
                    "merchant_value",
                    "p2p_value",
                    "own_value",
                    "value_share",
                    "fee_revenue",
                    "subsidy_cost",
                ],
            )?,
            market: open(
                CSV_FILES[1],
                &[
                    "run",
                    "scenario",
                    "month",
                    "spend",
                    "platform_value",
                    "cash_value",
                    "lost_value",
                    "hhi",
                    "multihoming_users",
                    "multihoming_merchants",
                    "adopters",
                ],
            )?,
            channels: open(
                CSV_FILES[2],
                &[
                    "run",
                    "scenario",
                    "month",
                    "channel",
                    "platform",
                    "merchants_accepting",
                    "value",
                ],
            )?,
            events: open(
                CSV_FILES[3],
                &[
                    "run", "scenario", "month", "kind", "platform", "channel", "detail", "source",
                ],
            )?,
            dir,
            manifest: true,
        })
    }
}

impl Recorder for CsvRecorder {
    fn record(&mut self, r: &MonthReport) -> Result<()> {
        let run = r.run.to_string();
        let month = r.month.to_string();
        crate::output::pause_point(format_args!("record {month}"));
        for p in &r.platforms {
            self.platforms.write([
                run.as_str(),
                &r.scenario,
                &month,
                &p.platform,
                &num(p.users),
                &num(p.active_users),
                &num(p.primary_users),
                &num(p.merchants),
                &num(p.value()),
                &num(p.merchant_value),
                &num(p.p2p_value),
                &num(p.own_value),
                &p.value_share.map(num).unwrap_or_default(),
                &num(p.fee_revenue),
                &num(p.subsidy_cost),
            ])?;
        }
        let m = &r.market;
        self.market.write([
            run.as_str(),
            &r.scenario,
            &month,
            &num(m.spend),
            &num(m.platform_value),
            &num(m.cash_value),
            &num(m.lost_value),
            &num(m.hhi),
            &num(m.multihoming_users),
            &num(m.multihoming_merchants),
            &num(m.adopters),
        ])?;
        for ch in &r.channels {
            for (j, p) in r.platforms.iter().enumerate() {
                let acc = ch
                    .merchants_accepting
                    .as_ref()
                    .map(|a| num(a[j]))
                    .unwrap_or_default();
                self.channels.write([
                    run.as_str(),
                    &r.scenario,
                    &month,
                    &ch.channel,
                    &p.platform,
                    &acc,
                    &num(ch.value[j]),
                ])?;
            }
            for (name, v) in [("cash", ch.cash), ("lost", ch.lost)] {
                self.channels.write([
                    run.as_str(),
                    &r.scenario,
                    &month,
                    &ch.channel,
                    name,
                    "",
                    &num(v),
                ])?;
            }
        }
        for ev in &r.events {
            self.events.write([
                run.as_str(),
                &r.scenario,
                &month,
                &ev.kind,
                &ev.platform,
                &ev.channel,
                &ev.detail,
                &ev.source,
            ])?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        for w in [
            &mut self.platforms,
            &mut self.market,
            &mut self.channels,
            &mut self.events,
        ] {
            w.commit()?;
        }
        if self.manifest {
            crate::output::write_manifest(&self.dir, &CSV_FILES.map(String::from))?;
        }
        Ok(())
    }
}

impl Drop for CsvRecorder {
    fn drop(&mut self) {
        // Keep what was written for inspection, under the temporary names only.
        for w in [
            &mut self.platforms,
            &mut self.market,
            &mut self.channels,
            &mut self.events,
        ] {
            let _ = w.flush();
        }
    }
}

/// The files an [`AgentPanel`] writes.
pub const PANEL_FILES: [&str; 2] = ["panel_users.csv", "panel_merchants.csv"];

/// A fixed random sample of users and merchants written every month to `panel_users.csv` and
/// `panel_merchants.csv`: micro data whose size depends on the sample, not the population.
///
/// The sample keeps each agent with probability `fraction`, drawn from the run's seed. The files
/// are staged and renamed into place at [`Recorder::finish`], like [`CsvRecorder`]'s; the panel
/// writes no manifest of its own (the command that writes the set does).
pub struct AgentPanel {
    fraction: f64,
    users: StagedCsv,
    merchants: StagedCsv,
    sample: Option<(Vec<u64>, Vec<u64>)>,
}

fn set_names(set: u8, ids: &[String]) -> String {
    let mut out = Vec::new();
    for (j, id) in ids.iter().enumerate() {
        if set & (1 << j) != 0 {
            out.push(id.as_str());
        }
    }
    out.join("|")
}

impl AgentPanel {
    /// Opens the two panel files in `dir` for a sample of `fraction` of the agents.
    pub fn create(dir: impl AsRef<Path>, fraction: f64) -> Result<AgentPanel> {
        AgentPanel::open(dir.as_ref(), fraction, None)
    }

    /// Like [`AgentPanel::create`], but continues the panel files of a run from month `from`
    /// (see [`CsvRecorder::resume`]); the sample is the run's, drawn from its seed.
    pub fn resume(dir: impl AsRef<Path>, fraction: f64, from: Month) -> Result<AgentPanel> {
        AgentPanel::open(dir.as_ref(), fraction, Some(from))
    }

    fn open(dir: &Path, fraction: f64, resume: Option<Month>) -> Result<AgentPanel> {
        if !(0.0..=1.0).contains(&fraction) {
            return Err(Error::Config(format!(
                "the panel fraction must be between 0 and 1, got {fraction}"
            )));
        }
        let dir = make_dir(dir)?;
        let open = |name: &str, header: &[&str]| match resume {
            Some(from) => StagedCsv::resume(&dir, name, header, from),
            None => StagedCsv::open(&dir, name, header),
        };
        Ok(AgentPanel {
            users: open(
                PANEL_FILES[0],
                &[
                    "run", "scenario", "month", "user", "spend", "wallets", "primary",
                ],
            )?,
            merchants: open(
                PANEL_FILES[1],
                &[
                    "run", "scenario", "month", "merchant", "channel", "size", "class", "accepted",
                ],
            )?,
            fraction,
            sample: None,
        })
    }
}

impl Recorder for AgentPanel {
    fn record(&mut self, _report: &MonthReport) -> Result<()> {
        Ok(())
    }

    fn observe(&mut self, a: &AgentsView) -> Result<()> {
        let (users, merchants) = self.sample.get_or_insert_with(|| {
            (
                crate::rng::sample_indices(a.users.len() as u64, self.fraction, a.seed, 1),
                crate::rng::sample_indices(a.merchants.size.len() as u64, self.fraction, a.seed, 2),
            )
        });
        let ids: Vec<String> = a.scenario.platforms.iter().map(|p| p.id.clone()).collect();
        let run = a.run.to_string();
        let month = a.month.to_string();
        for &i in users.iter() {
            let i = i as usize;
            let primary = a
                .users
                .primary(i)
                .map(|j| ids[j].clone())
                .unwrap_or_default();
            self.users.write([
                run.as_str(),
                &a.scenario.name,
                &month,
                &i.to_string(),
                &num(a.users.spend[i] as f64),
                &set_names(a.users.wallets(i), &ids),
                &primary,
            ])?;
        }
        for &k in merchants.iter() {
            let k = k as usize;
            let m = a.merchants;
            self.merchants.write([
                run.as_str(),
                &a.scenario.name,
                &month,
                &k.to_string(),
                &a.scenario.channels[m.channel[k] as usize].id,
                &num(m.size[k] as f64),
                if m.class[k] == 0 { "small" } else { "large" },
                &set_names(m.accepted[k], &ids),
            ])?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.users.commit()?;
        self.merchants.commit()
    }
}
