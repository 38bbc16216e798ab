//! Recording: the month's metrics (MODEL.md section 6) and the recorders that turn them into
//! output.
//!
//! A [`MonthReport`] holds one month's rows in people, shops and RMB. A [`Recorder`] receives
//! every report in order; [`CsvRecorder`] writes the four tidy CSV files, [`Collect`] keeps the
//! reports in memory. The rules never see this module's output formats.

use crate::error::{Error, Result};
use crate::month::Month;
use crate::scenario::Scenario;
use crate::world::{Merchants, Users};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// One platform in one month.
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
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
pub struct CsvRecorder {
    dir: PathBuf,
    platforms: CsvOut,
    market: CsvOut,
    channels: CsvOut,
    events: CsvOut,
}

/// The names of the files a [`CsvRecorder`] writes.
pub const CSV_FILES: [&str; 4] = ["platforms.csv", "market.csv", "channels.csv", "events.csv"];

fn num(x: f64) -> String {
    // Rust prints the shortest string that reads back to the same f64: deterministic and exact.
    if x == 0.0 {
        "0".to_string()
    } else {
        format!("{x}")
    }
}

type CsvOut = csv::Writer<BufWriter<File>>;

/// Creates `dir` if needed.
fn make_dir(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(dir.to_path_buf())
}

/// Creates `dir/name` and writes its header; with `append`, adds to an existing non-empty file
/// instead (its header already written).
fn open_csv(dir: &Path, name: &str, header: &[&str], append: bool) -> Result<CsvOut> {
    let path = dir.join(name);
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    let existing = append
        && std::fs::metadata(&path)
            .map(|m| m.len() > 0)
            .unwrap_or(false);
    let f = if existing {
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io)?
    } else {
        File::create(&path).map_err(io)?
    };
    let mut w = csv::Writer::from_writer(BufWriter::new(f));
    if !existing {
        w.write_record(header)
            .map_err(|source| Error::Csv { path, source })?;
    }
    Ok(w)
}

/// Flushes each writer, naming its file in any error.
fn flush_csv(dir: &Path, writers: &mut [(&mut CsvOut, &str)]) -> Result<()> {
    for (w, name) in writers.iter_mut() {
        w.flush().map_err(|source| Error::Io {
            path: dir.join(name),
            source,
        })?;
    }
    Ok(())
}

impl CsvRecorder {
    /// Creates the directory if needed and opens the four files with their headers.
    pub fn create(dir: impl AsRef<Path>) -> Result<CsvRecorder> {
        CsvRecorder::open(dir.as_ref(), false)
    }

    /// Like [`CsvRecorder::create`], but adds rows to files already in `dir` (a run resumed
    /// from a checkpoint continues the files of the run that saved it).
    pub fn append(dir: impl AsRef<Path>) -> Result<CsvRecorder> {
        CsvRecorder::open(dir.as_ref(), true)
    }

    fn open(dir: &Path, append: bool) -> Result<CsvRecorder> {
        let dir = make_dir(dir)?;
        let open = |name: &str, header: &[&str]| open_csv(&dir, name, header, append);
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
        })
    }

    fn err(&self, name: &str) -> impl Fn(csv::Error) -> Error + use<> {
        let path = self.dir.join(name);
        move |source| Error::Csv {
            path: path.clone(),
            source,
        }
    }
}

impl Recorder for CsvRecorder {
    fn record(&mut self, r: &MonthReport) -> Result<()> {
        let run = r.run.to_string();
        let month = r.month.to_string();
        let e = self.err(CSV_FILES[0]);
        for p in &r.platforms {
            self.platforms
                .write_record([
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
                ])
                .map_err(&e)?;
        }
        let m = &r.market;
        let e = self.err(CSV_FILES[1]);
        self.market
            .write_record([
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
            ])
            .map_err(&e)?;
        let e = self.err(CSV_FILES[2]);
        for ch in &r.channels {
            for (j, p) in r.platforms.iter().enumerate() {
                let acc = ch
                    .merchants_accepting
                    .as_ref()
                    .map(|a| num(a[j]))
                    .unwrap_or_default();
                self.channels
                    .write_record([
                        run.as_str(),
                        &r.scenario,
                        &month,
                        &ch.channel,
                        &p.platform,
                        &acc,
                        &num(ch.value[j]),
                    ])
                    .map_err(&e)?;
            }
            for (name, v) in [("cash", ch.cash), ("lost", ch.lost)] {
                self.channels
                    .write_record([
                        run.as_str(),
                        &r.scenario,
                        &month,
                        &ch.channel,
                        name,
                        "",
                        &num(v),
                    ])
                    .map_err(&e)?;
            }
        }
        let e = self.err(CSV_FILES[3]);
        for ev in &r.events {
            self.events
                .write_record([
                    run.as_str(),
                    &r.scenario,
                    &month,
                    &ev.kind,
                    &ev.platform,
                    &ev.channel,
                    &ev.detail,
                    &ev.source,
                ])
                .map_err(&e)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.flush_all()
    }
}

impl CsvRecorder {
    fn flush_all(&mut self) -> Result<()> {
        flush_csv(
            &self.dir,
            &mut [
                (&mut self.platforms, CSV_FILES[0]),
                (&mut self.market, CSV_FILES[1]),
                (&mut self.channels, CSV_FILES[2]),
                (&mut self.events, CSV_FILES[3]),
            ],
        )
    }
}

impl Drop for CsvRecorder {
    fn drop(&mut self) {
        let _ = self.flush_all();
    }
}

/// The files an [`AgentPanel`] writes.
pub const PANEL_FILES: [&str; 2] = ["panel_users.csv", "panel_merchants.csv"];

/// A fixed random sample of users and merchants written every month to `panel_users.csv` and
/// `panel_merchants.csv`: micro data whose size depends on the sample, not the population.
///
/// The sample keeps each agent with probability `fraction`, drawn from the run's seed.
pub struct AgentPanel {
    dir: PathBuf,
    fraction: f64,
    users: CsvOut,
    merchants: CsvOut,
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
        if !(0.0..=1.0).contains(&fraction) {
            return Err(Error::Config(format!(
                "the panel fraction must be between 0 and 1, got {fraction}"
            )));
        }
        let dir = make_dir(dir.as_ref())?;
        let open = |name: &str, header: &[&str]| open_csv(&dir, name, header, false);
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
            dir,
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
        let path = self.dir.join(PANEL_FILES[0]);
        for &i in users.iter() {
            let i = i as usize;
            let primary = a
                .users
                .primary(i)
                .map(|j| ids[j].clone())
                .unwrap_or_default();
            self.users
                .write_record([
                    run.as_str(),
                    &a.scenario.name,
                    &month,
                    &i.to_string(),
                    &num(a.users.spend[i] as f64),
                    &set_names(a.users.wallets(i), &ids),
                    &primary,
                ])
                .map_err(|source| Error::Csv {
                    path: path.clone(),
                    source,
                })?;
        }
        let path = self.dir.join(PANEL_FILES[1]);
        for &k in merchants.iter() {
            let k = k as usize;
            let m = a.merchants;
            self.merchants
                .write_record([
                    run.as_str(),
                    &a.scenario.name,
                    &month,
                    &k.to_string(),
                    &a.scenario.channels[m.channel[k] as usize].id,
                    &num(m.size[k] as f64),
                    if m.class[k] == 0 { "small" } else { "large" },
                    &set_names(m.accepted[k], &ids),
                ])
                .map_err(|source| Error::Csv {
                    path: path.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        flush_csv(
            &self.dir,
            &mut [
                (&mut self.users, PANEL_FILES[0]),
                (&mut self.merchants, PANEL_FILES[1]),
            ],
        )
    }
}
