//! The five output tables as columns in memory: the same tables, columns, rows and values as
//! the CSV files ([`super::CsvRecorder`]), typed (integers, numbers with missing values, text)
//! instead of written as text, for callers that hand them on as data frames (the Python
//! package passes them as Arrow arrays) rather than read files back.
//!
//! Owns: [`Frames`], [`Frame`], [`Values`], [`Value`], [`Kind`]. Reads: month reports, the column list
//! ([`super::columns`]). Never: files, the rules.
//!
//! ```
//! use paymarket::record::{Frames, Values};
//! use paymarket::{Scenario, Simulation};
//! let mut s = Scenario::load("data/scenarios/duopoly.toml")?;
//! s.agents.users = 2_000;
//! s.agents.merchants = 200;
//! let months = s.months();
//! let mut frames = Frames::default();
//! Simulation::new(s)?.run(&mut [&mut frames])?;
//! let market = &frames.market;
//! assert_eq!(market.rows(), months);
//! assert_eq!(market.names()[..3], ["run", "scenario", "month"]);
//! match market.column("adopters") {
//!     Some(Values::Number(v)) => assert!(v.iter().all(|x| x.is_some())),
//!     _ => unreachable!("adopters is a number column"),
//! }
//! # Ok::<(), paymarket::Error>(())
//! ```

use super::columns::{Column, DEFAULT, MARKET, PLATFORM};
use super::{MonthReport, Recorder};
use crate::error::Result;

/// One column's values, one per row.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Whole numbers (the run index).
    Integer(Vec<i64>),
    /// Numbers; `None` where the CSV cell is empty (a value that does not exist, such as the
    /// value share of a platform outside the published third-party shares). A negative zero
    /// is stored as zero, as the CSV writes it.
    Number(Vec<Option<f64>>),
    /// Text: keys (scenario, month as `YYYY-MM`, platform, channel, context) and event details.
    Text(Vec<String>),
}

impl Values {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::Integer(v) => v.len(),
            Values::Number(v) => v.len(),
            Values::Text(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the column holds.
    pub fn kind(&self) -> Kind {
        match self {
            Values::Integer(_) => Kind::Integer,
            Values::Number(_) => Kind::Number,
            Values::Text(_) => Kind::Text,
        }
    }
}

/// One table: its name (the CSV file's, without `.csv`) and its columns in the CSV's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// `platforms`, `market`, `channels`, `events` or `defaults`.
    pub name: &'static str,
    /// Column names and values, in the CSV header's order.
    pub columns: Vec<(String, Values)>,
}

impl Frame {
    /// An empty table with these columns.
    pub fn with_columns(name: &'static str, header: &[(String, Kind)]) -> Frame {
        let columns = header
            .iter()
            .map(|(n, kind)| {
                let v = match kind {
                    Kind::Integer => Values::Integer(Vec::new()),
                    Kind::Text => Values::Text(Vec::new()),
                    Kind::Number => Values::Number(Vec::new()),
                };
                (n.clone(), v)
            })
            .collect();
        Frame { name, columns }
    }

    fn new(name: &'static str, keys: &[(&str, Kind)], numbers: &[&str]) -> Frame {
        let mut header: Vec<(String, Kind)> =
            keys.iter().map(|(n, k)| (n.to_string(), *k)).collect();
        header.extend(numbers.iter().map(|n| (n.to_string(), Kind::Number)));
        Frame::with_columns(name, &header)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, v)| v.len())
    }

    /// The column names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Values> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The column names and kinds, in order.
    pub fn header(&self) -> Vec<(String, Kind)> {
        self.columns
            .iter()
            .map(|(n, v)| (n.clone(), v.kind()))
            .collect()
    }

    /// Row `k`'s cells, in column order.
    pub fn row(&self, k: usize) -> Vec<Value> {
        self.columns
            .iter()
            .map(|(_, v)| match v {
                Values::Integer(x) => Value::Integer(x[k]),
                Values::Number(x) => Value::Number(x[k]),
                Values::Text(x) => Value::Text(x[k].clone()),
            })
            .collect()
    }

    /// Removes every row, keeping the columns.
    pub fn clear(&mut self) {
        for (_, v) in &mut self.columns {
            match v {
                Values::Integer(x) => x.clear(),
                Values::Number(x) => x.clear(),
                Values::Text(x) => x.clear(),
            }
        }
    }

    /// Appends one row, its cells in column order, each of its column's kind (a row of another
    /// length or a cell of another kind is a bug of the caller: it panics).
    pub fn push(&mut self, cells: impl IntoIterator<Item = Value>) {
        let cells: Vec<Value> = cells.into_iter().collect();
        assert_eq!(
            cells.len(),
            self.columns.len(),
            "a row of {} needs one value per column",
            self.name
        );
        for ((name, col), cell) in self.columns.iter_mut().zip(cells) {
            match (col, cell) {
                (Values::Integer(v), Value::Integer(x)) => v.push(x),
                (Values::Text(v), Value::Text(x)) => v.push(x),
                (Values::Number(v), Value::Number(x)) => v.push(x),
                (_, cell) => panic!("column {name} of {} given {cell:?}", self.name),
            }
        }
    }
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Whole numbers.
    Integer,
    /// Text.
    Text,
    /// Numbers, some missing.
    Number,
}

/// One cell of a row: what a CSV writer formats ([`Value::text`]) and a [`Frame`] keeps.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A whole number.
    Integer(i64),
    /// Text.
    Text(String),
    /// A number, `None` where it does not exist.
    Number(Option<f64>),
}

impl Value {
    /// A number as the CSV keeps it: missing for NaN, zero for either zero.
    pub fn number(x: f64) -> Value {
        Value::Number(if x.is_nan() { None } else { Some(x + 0.0) })
    }

    /// The cell as the CSV files write it: numbers by the shortest text that reads back to
    /// the same `f64` ([`crate::output::number`]), a missing number empty.
    pub fn text(&self) -> String {
        match self {
            Value::Integer(x) => x.to_string(),
            Value::Text(s) => s.clone(),
            Value::Number(x) => x.map(crate::output::number).unwrap_or_default(),
        }
    }
}

/// The value columns of a row, from the shared column list.
fn numbers<'a, R>(columns: &'a [Column<R>], row: &'a R) -> impl Iterator<Item = Value> + 'a {
    columns
        .iter()
        .map(move |c| (c.get)(row).map_or(Value::Number(None), Value::number))
}

/// A [`Recorder`] that keeps the five tables in memory as columns: the CSV files' tables,
/// columns, rows and values, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Frames {
    /// `platforms.csv`: one row per month and platform.
    pub platforms: Frame,
    /// `market.csv`: one row per month.
    pub market: Frame,
    /// `channels.csv`: one row per month, channel and platform, then `cash` and `lost`.
    pub channels: Frame,
    /// `events.csv`: one row per event in force from its month.
    pub events: Frame,
    /// `defaults.csv`: one row per month, context and platform (and `none`).
    pub defaults: Frame,
}

fn names<R>(columns: &[Column<R>]) -> Vec<&'static str> {
    columns.iter().map(|c| c.name).collect()
}

impl Default for Frames {
    fn default() -> Frames {
        use Kind::*;
        let (run, scenario, month) = (("run", Integer), ("scenario", Text), ("month", Text));
        Frames {
            platforms: Frame::new(
                "platforms",
                &[run, scenario, month, ("platform", Text)],
                &names(PLATFORM),
            ),
            market: Frame::new("market", &[run, scenario, month], &names(MARKET)),
            channels: Frame::new(
                "channels",
                &[
                    run,
                    scenario,
                    month,
                    ("channel", Text),
                    ("platform", Text),
                    ("merchants_accepting", Number),
                ],
                &["value"],
            ),
            events: Frame::new(
                "events",
                &[
                    run,
                    scenario,
                    month,
                    ("kind", Text),
                    ("platform", Text),
                    ("channel", Text),
                    ("detail", Text),
                    ("source", Text),
                ],
                &[],
            ),
            defaults: Frame::new(
                "defaults",
                &[run, scenario, month, ("context", Text), ("platform", Text)],
                &names(DEFAULT),
            ),
        }
    }
}

impl Frames {
    /// The five tables, in the order of the CSV files.
    pub fn all(&self) -> [&Frame; 5] {
        [
            &self.platforms,
            &self.market,
            &self.channels,
            &self.events,
            &self.defaults,
        ]
    }

    fn all_mut(&mut self) -> [&mut Frame; 5] {
        [
            &mut self.platforms,
            &mut self.market,
            &mut self.channels,
            &mut self.events,
            &mut self.defaults,
        ]
    }
}

/// Every row of a month's report: `f(k, cells)` with `k` the table's place in the order of
/// the CSV files ([`Frames::all`]). The one place the per-run rows are made, for the CSV
/// files ([`super::CsvRecorder`]) and the frames alike.
pub(crate) fn report_rows(
    r: &MonthReport,
    mut f: impl FnMut(usize, Vec<Value>) -> Result<()>,
) -> Result<()> {
    let run = r.run as i64;
    let month = r.month.to_string();
    let keys = |extra: &[&str]| {
        let mut k = vec![
            Value::Integer(run),
            Value::Text(r.scenario.clone()),
            Value::Text(month.clone()),
        ];
        k.extend(extra.iter().map(|s| Value::Text(s.to_string())));
        k
    };
    for p in &r.platforms {
        let mut cells = keys(&[&p.platform]);
        cells.extend(numbers(PLATFORM, p));
        f(0, cells)?;
    }
    let mut cells = keys(&[]);
    cells.extend(numbers(MARKET, &r.market));
    f(1, cells)?;
    for ch in &r.channels {
        for (j, p) in r.platforms.iter().enumerate() {
            let acc = ch
                .merchants_accepting
                .as_ref()
                .map_or(Value::Number(None), |a| Value::number(a[j]));
            let mut cells = keys(&[&ch.channel, &p.platform]);
            cells.extend([acc, Value::number(ch.value[j])]);
            f(2, cells)?;
        }
        for (name, v) in [("cash", ch.cash), ("lost", ch.lost)] {
            let mut cells = keys(&[&ch.channel, name]);
            cells.extend([Value::Number(None), Value::number(v)]);
            f(2, cells)?;
        }
    }
    for ev in &r.events {
        f(
            3,
            keys(&[&ev.kind, &ev.platform, &ev.channel, &ev.detail, &ev.source]),
        )?;
    }
    for d in &r.defaults {
        let mut cells = keys(&[&d.context, &d.platform]);
        cells.extend(numbers(DEFAULT, d));
        f(4, cells)?;
    }
    Ok(())
}

impl Recorder for Frames {
    fn record(&mut self, r: &MonthReport) -> Result<()> {
        let mut tables = self.all_mut();
        report_rows(r, |k, row| {
            tables[k].push(row);
            Ok(())
        })
    }
}
