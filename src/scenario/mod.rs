//! Scenarios: the typed, serde-deserializable description of a market and its history.
//!
//! A [`Scenario`] is plain data: time span, population, social networks, platforms, channels,
//! behavioural parameters and dated events. It can be built in code or read from TOML
//! ([`Scenario::from_toml_str`], [`Scenario::load`]); [`Scenario::validate`] checks it and reports
//! every problem with its field path. This module knows nothing about agents or their storage.
//!
//! Owns: `Scenario` and its serde structs, reading, ids, fingerprints. Reads: errors, months.
//! Never: agents, policy, output.

use crate::error::{Error, Problem, Result};
use crate::month::Month;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

mod context;
mod event;
mod explain;
mod params;
pub mod path;
mod platform;
mod validate;

pub use context::{Context, ALL_CONTEXTS, MAX_CONTEXTS};
pub use event::EventKind;
pub(crate) use explain::duplicates;
use explain::explain_toml_error;
pub use params::Params;
use platform::{d_everyone, d_true};
pub use platform::{FeeOverride, Platform, SizeClass, StrategySpec};

/// Most platforms a scenario may have (wallet sets are stored as `u8` bitmasks).
pub const MAX_PLATFORMS: usize = 8;
/// Most channels a scenario may have.
pub const MAX_CHANNELS: usize = 8;
/// Most social networks a scenario may declare (the implicit `everyone` comes on top).
pub const MAX_NETWORKS: usize = 8;
/// The implicit network every user belongs to.
pub const EVERYONE: &str = "everyone";

/// A whole scenario: what is simulated, from when to when, and what happens on the way.
///
/// ```
/// let s = paymarket::Scenario::from_toml_str(r#"
///     name = "tiny"
///     start = "2020-01"
///     end = "2020-12"
///     population = 1e6
///     [[platform]]
///     id = "a"
///     [[channel]]
///     id = "shops"
///     kind = "merchant"
///     weight = 1.0
///     shops = 1000
/// "#, "tiny.toml").unwrap();
/// assert_eq!(s.platforms[0].fee, 0.006);
/// assert!(s.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A short name, written in every output row.
    pub name: String,
    /// Free text: what the scenario represents.
    #[serde(default)]
    pub description: String,
    /// First simulated month.
    pub start: Month,
    /// Last simulated month (inclusive).
    pub end: Month,
    /// People represented by the user agents.
    pub population: f64,
    /// Master seed of the run.
    #[serde(default = "d_seed")]
    pub seed: u64,
    /// How many agents stand for the population and the shops.
    #[serde(default)]
    pub agents: Agents,
    /// Behavioural parameters (MODEL.md section 9).
    #[serde(default)]
    pub params: Params,
    /// Social networks with exogenous membership paths.
    #[serde(default, rename = "network")]
    pub networks: Vec<Network>,
    /// Payment platforms (wallets), at most 8.
    #[serde(default, rename = "platform")]
    pub platforms: Vec<Platform>,
    /// Where money flows, at most 8.
    #[serde(default, rename = "channel")]
    pub channels: Vec<Channel>,
    /// Contexts of payment, at most 4 (MODEL.md section 2, **Contexts**): a user has one
    /// default wallet in each. None declared: the single implicit context `all`.
    #[serde(default, rename = "context", skip_serializing_if = "Vec::is_empty")]
    pub contexts: Vec<Context>,
    /// Dated policy and business shocks, applied in file order within a month.
    #[serde(default, rename = "event")]
    pub events: Vec<Event>,
}

fn d_seed() -> u64 {
    1
}

/// Agent counts. Each user agent stands for `population / users` people; merchant agents are
/// split across merchant channels in proportion to their shop counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agents {
    /// Number of user agents `N`.
    #[serde(default = "d_users")]
    pub users: u64,
    /// Number of merchant agents `M`.
    #[serde(default = "d_merchants")]
    pub merchants: u64,
    /// Where a long-range contact's state is read from ([`LongRange`]); left out of written
    /// scenarios at its default, so that their bytes and hashes do not change.
    #[serde(default, skip_serializing_if = "LongRange::is_population")]
    pub long_range: LongRange,
}

/// Where a long-range contact's state comes from (docs/MODEL.md section 3, *Contacts*). Only a
/// contact's state enters the rules, so both are the same model: runs differ by sampling noise
/// only (`tests/ensemble_equivalence.rs`), but not byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LongRange {
    /// The drawn user's word in last month's buffer: a random memory access per long-range
    /// contact, which at 10^9 users also misses the address translation caches.
    #[default]
    Population,
    /// A draw from the month's table of every user's word (an alias table built after the
    /// memberships of the month are written, counting each distinct word): the same
    /// distribution to 2^-16 of a column (the draw's resolution), the drawing user included in
    /// the counts (one in `N`), and no access to the population's array. Needs the memberships
    /// in the state words (at most four networks).
    Table,
}

/// Most networks a scenario with `agents.long_range = "table"` may declare: the memberships
/// the state words hold (`world::STATE_NETWORKS`, which a test keeps equal).
pub const TABLE_MAX_NETWORKS: usize = 4;

impl LongRange {
    /// Whether this is the default, [`LongRange::Population`].
    pub fn is_population(&self) -> bool {
        *self == LongRange::Population
    }
}

fn d_users() -> u64 {
    100_000
}
fn d_merchants() -> u64 {
    10_000
}

/// Reads an agent count written as a whole number, with `_` separators or in exponent form
/// when exact (`1000000`, `1_000_000`, `1e6`); `None` otherwise.
///
/// ```
/// use paymarket::scenario::parse_count;
/// assert_eq!(parse_count("1e9"), Some(1_000_000_000));
/// assert_eq!(parse_count("2_500"), Some(2500));
/// assert_eq!(parse_count("1.5"), None);
/// ```
pub fn parse_count(v: &str) -> Option<u64> {
    let clean = v.trim().replace('_', "");
    clean.parse::<u64>().ok().or_else(|| {
        clean
            .parse::<f64>()
            .ok()
            .filter(|x| x.fract() == 0.0 && *x >= 0.0 && *x < 1.8e19)
            .map(|x| x as u64)
    })
}

impl Default for Agents {
    fn default() -> Self {
        Agents {
            users: d_users(),
            merchants: d_merchants(),
            long_range: LongRange::Population,
        }
    }
}

/// A social network with an exogenous membership path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Identifier used by platforms, channels and events.
    pub id: String,
    /// Parent network: members of this one are drawn among the parent's members.
    #[serde(default)]
    pub within: Option<String>,
    /// Dated points `["YYYY-MM", people]`, sorted by month; linear in between, flat outside.
    /// Empty when the membership follows [`Network::logistic`] instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<(Month, f64)>,
    /// A two-parameter membership curve instead of a path, for a network with no sourced
    /// path (for example the people ready to pay by phone: a bank card bound, the app, trust):
    /// the share, of the parent's members or of the population, is
    /// `1 / (1 + exp(-(y - mid) / width))` at `y`, the month as a decimal year
    /// (`year + (month - 1) / 12`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logistic: Option<Logistic>,
    /// Where the figures come from.
    #[serde(default)]
    pub source: String,
}

/// A logistic membership curve ([`Network::logistic`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logistic {
    /// The decimal year at which half of the eligible people are members, e.g. `2015.5`.
    pub mid: f64,
    /// The curve's scale in years (positive): the share goes from 27% at `mid - width` to
    /// 73% at `mid + width`.
    pub width: f64,
}

impl Logistic {
    /// The member share in `month`.
    pub fn share(&self, month: Month) -> f64 {
        let y = month.year() as f64 + (month.month_of_year() - 1) as f64 / 12.0;
        1.0 / (1.0 + (-(y - self.mid) / self.width).exp())
    }
}

/// What kind of flow a channel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Purchases from merchant agents.
    Merchant,
    /// Transfers to contacts.
    P2p,
    /// Flows between a user's own accounts.
    Own,
}

/// A channel: where money flows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// Identifier, e.g. `offline`.
    pub id: String,
    /// Merchant, p2p or own.
    pub kind: ChannelKind,
    /// Owner group or `neutral` (informational).
    #[serde(default = "d_neutral")]
    pub owner: String,
    /// Spending weight `ω_c` (relative to the other channels open to a user); with
    /// [`Channel::weight_path`], the factor that converts the path's units into a weight.
    pub weight: f64,
    /// Dated points `["YYYY-MM", value]` of the channel's size in its source's units (RMB bn
    /// of GMV, say), sorted by month, linear in between and flat outside: the weight in month
    /// `t` is `weight · path(t)`. Absent: the weight is constant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_path: Option<Vec<(Month, f64)>>,
    /// Network a user must belong to for this channel to be open.
    #[serde(default = "d_everyone")]
    pub requires: String,
    /// Whether cash or bank cards work here; where they do not, a payment with no usable wallet is lost.
    #[serde(default = "d_true")]
    pub cash: bool,
    /// Platforms allowed at the start (both `new` and `use`); all when absent.
    #[serde(default)]
    pub platforms: Option<Vec<String>>,
    /// Number of shops (merchant channels).
    #[serde(default)]
    pub shops: f64,
    /// `σ_z`: dispersion of log shop size.
    #[serde(default = "d_one")]
    pub size_sigma: f64,
    /// Gross margin on sales.
    #[serde(default = "d_margin")]
    pub margin: f64,
    /// Cost of the outside option to the merchant, share of value.
    #[serde(default = "d_cash_cost")]
    pub cash_cost: f64,
    /// `s_c`: how strongly customers with a wallet prefer shops that take it.
    #[serde(default = "d_steering")]
    pub steering: f64,
    /// Size quantile below which a shop is `small`.
    #[serde(default = "d_small_quantile")]
    pub small_quantile: f64,
    /// Initial acceptance share per platform id.
    #[serde(default)]
    pub init_accept: BTreeMap<String, f64>,
    /// The context the channel belongs to (required once the scenario declares contexts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

fn d_neutral() -> String {
    "neutral".to_string()
}
fn d_one() -> f64 {
    1.0
}
fn d_margin() -> f64 {
    0.2
}
fn d_cash_cost() -> f64 {
    0.005
}
fn d_steering() -> f64 {
    0.5
}
fn d_small_quantile() -> f64 {
    0.8
}

/// A dated event as written in a scenario. Which fields it needs depends on `kind`
/// (see [`Scenario::validate`] and MODEL.md section 4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Month it takes effect.
    pub at: Month,
    /// What it does (`kind = "block"` in the file).
    pub kind: EventKind,
    /// Where the episode is documented.
    #[serde(default)]
    pub source: String,
    /// Platform id (`cash` for an outside-option `fee`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Channel id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Network id (`shift` for members only, `tie`, `network`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// `block`: `new` or `use`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Window length in months (subsidy, campaign; optional for shift and interop), or the
    /// phase-in length of an `allow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months: Option<u32>,
    /// `shift`: multiplier of the spending weight; `fee`: multiplier of the current fee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// `fee`, `withdrawal_fee`, `subsidy`: the new rate (share of value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// `deposit`: RMB per shop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    /// `campaign`: multiplier `κ_j` of imitation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiplier: Option<f64>,
    /// `tie`: the new imitation weight `q_{j,s}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// `interop`: the payer's platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// `interop`: the platform the merchant accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `interop`: both directions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutual: Option<bool>,
    /// `fee`: size class (both when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<SizeClass>,
    /// `network`: points replacing or extending the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<(Month, f64)>>,
    /// `network`: `replace` (default) or `extend`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// `brand`: the context (`all` for every one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// `brand`: the new brand offset `θ_{j,κ}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<f64>,
    /// A label shared by events that belong together (the several events of one order, say
    /// `miit_2021`): the explorer (`paymarket serve`) switches and moves them together. It does
    /// not change the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl Default for Month {
    fn default() -> Self {
        Month::new(2000, 1).expect("valid month")
    }
}

/// The event kinds of MODEL.md section 4, as the scenario file writes them.
pub const EVENT_KINDS: [&str; 11] = [
    "block",
    "allow",
    "shift",
    "deposit",
    "fee",
    "withdrawal_fee",
    "subsidy",
    "campaign",
    "interop",
    "tie",
    "network",
];

/// A scenario that passed validation: the type says so, so nothing validates it twice. Made
/// by [`Scenario::into_valid`]; a replicate's seed can change without losing it.
///
/// ```
/// use paymarket::Scenario;
/// let s = Scenario::load("data/scenarios/duopoly.toml")?;
/// let v = s.into_valid()?.with_seed(3);
/// assert_eq!(v.seed, 3);
/// # Ok::<(), paymarket::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ValidScenario(Scenario);

impl ValidScenario {
    /// The same scenario with another seed (the seed takes part in no validation rule).
    pub fn with_seed(mut self, seed: u64) -> ValidScenario {
        self.0.seed = seed;
        self
    }

    /// The scenario.
    pub fn into_inner(self) -> Scenario {
        self.0
    }
}

impl std::ops::Deref for ValidScenario {
    type Target = Scenario;

    fn deref(&self) -> &Scenario {
        &self.0
    }
}

impl Scenario {
    /// Reads a scenario from TOML text; `origin` names it in error messages (usually the file).
    /// The result is parsed, not yet validated: call [`Scenario::validate`] (or
    /// [`crate::Simulation::new`], which does).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Scenario> {
        let de = toml::Deserializer::parse(text).map_err(|e| Error::Scenario {
            origin: origin.to_string(),
            problems: vec![Problem {
                path: String::new(),
                message: format!("not valid TOML: {}", e.to_string().trim_end()),
            }],
        })?;
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            Error::Scenario {
                origin: origin.to_string(),
                problems: vec![Problem {
                    path: if path == "." { String::new() } else { path },
                    message: explain_toml_error(&inner),
                }],
            }
        })
    }

    /// Reads and validates a scenario file.
    pub fn load(path: impl AsRef<Path>) -> Result<Scenario> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let origin = path.display().to_string();
        let s = Scenario::from_toml_str(&text, &origin)?;
        s.validate_as(&origin)?;
        Ok(s)
    }

    /// Checks the scenario and returns every problem found, each with its field path.
    pub fn problems(&self) -> Vec<Problem> {
        validate::problems(self)
    }

    /// Checks the scenario; the error lists every problem found.
    pub fn validate(&self) -> Result<()> {
        self.validate_as("<in memory>")
    }

    /// Validates the scenario into a [`ValidScenario`].
    pub fn into_valid(self) -> Result<ValidScenario> {
        self.validate()?;
        Ok(ValidScenario(self))
    }

    /// Like [`Scenario::validate`], naming the scenario `origin` in the error.
    pub fn validate_as(&self, origin: &str) -> Result<()> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Scenario {
                origin: origin.to_string(),
                problems,
            })
        }
    }

    /// The scenario as TOML text that [`Scenario::from_toml_str`] reads back as an equal
    /// scenario (every field written, defaults included: the resolved scenario of a run).
    ///
    /// ```
    /// use paymarket::Scenario;
    /// let s = Scenario::load("data/scenarios/duopoly.toml")?;
    /// let back = Scenario::from_toml_str(&s.to_toml()?, "resolved")?;
    /// assert_eq!(back, s);
    /// # Ok::<(), paymarket::Error>(())
    /// ```
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| {
            Error::Config(format!(
                "scenario {:?} cannot be written as TOML: {e}",
                self.name
            ))
        })
    }

    /// A fingerprint of the resolved scenario: 16 hex digits of the 64-bit FNV-1a hash of its
    /// canonical JSON form (every field, maps in key order, numbers in their shortest exact
    /// form). Equal scenarios have equal fingerprints on every machine; output directories
    /// record it so that rows of different scenarios are never mixed.
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in json.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{h:016x}")
    }

    /// Number of simulated months.
    pub fn months(&self) -> usize {
        (self.start.months_until(self.end) + 1).max(0) as usize
    }

    /// Ids of the declared networks, with `everyone` first.
    pub fn network_ids(&self) -> Vec<&str> {
        std::iter::once(EVERYONE)
            .chain(self.networks.iter().map(|n| n.id.as_str()))
            .collect()
    }

    /// The platform ids in declaration order (bit `j` of a wallet set is platform `j`).
    pub fn platform_ids(&self) -> Vec<&str> {
        self.platforms.iter().map(|p| p.id.as_str()).collect()
    }

    /// The channel ids in declaration order.
    pub fn channel_ids(&self) -> Vec<&str> {
        self.channels.iter().map(|c| c.id.as_str()).collect()
    }
}
