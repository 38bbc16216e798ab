//! The file recorders: the five tidy tables of a run (`FileRecorder`, CSV or Parquet) and the agent panel
//! (`AgentPanel`), staged and renamed into place when complete; a resumed run continues them.
//!
//! Owns: `FileRecorder` (`CsvRecorder`), `AgentPanel`, `RUN_TABLES`, `CSV_FILES`, `PANEL_FILES`. Reads: month reports and
//! their rows as the frames make them (`frame::report_rows`), the agents' view. Never: the
//! rules.

use super::table::{Format, TableWriter};
use super::{AgentsView, MonthReport, Recorder};
use crate::error::{Error, Result};
use crate::month::Month;
use crate::output::{number as num, StagedCsv};
use std::path::{Path, PathBuf};

/// Writes the five tables of a run (`platforms`, `market`, `channels`, `events`, `defaults`)
/// into a directory, as CSV files (`platforms.csv`, …) or, with [`FileRecorder::create_as`],
/// Parquet files ([`Format`]).
///
/// Crash-safe: rows go to temporary files (`.platforms.csv.partial`, …) that
/// [`Recorder::finish`] renames into place, then it writes the completion manifest
/// (`manifest.json`, see [`crate::output`]) unless [`FileRecorder::without_manifest`] was asked
/// for (when more files belong to the same set and the caller writes the manifest last). A run
/// that fails or is killed leaves no complete-looking file.
pub struct FileRecorder {
    dir: PathBuf,
    /// The tables of [`RUN_TABLES`], in that order.
    files: Vec<TableWriter>,
    format: Format,
    manifest: bool,
}

/// The recorder of a run's tables by its first name: [`FileRecorder`], which writes CSV
/// unless told otherwise.
pub type CsvRecorder = FileRecorder;

/// The tables a [`FileRecorder`] writes, in order.
pub const RUN_TABLES: [&str; 5] = ["platforms", "market", "channels", "events", "defaults"];

/// The names of the CSV files a [`FileRecorder`] writes.
pub const CSV_FILES: [&str; 5] = [
    "platforms.csv",
    "market.csv",
    "channels.csv",
    "events.csv",
    "defaults.csv",
];

/// The names of the files a [`FileRecorder`] writes in `format`.
pub fn run_files(format: Format) -> Vec<String> {
    RUN_TABLES.iter().map(|t| format.file(t)).collect()
}

/// Creates `dir` if needed.
pub(crate) fn make_dir(dir: &Path) -> Result<PathBuf> {
    crate::output::create_dir(dir)?;
    Ok(dir.to_path_buf())
}

impl FileRecorder {
    /// Creates the directory if needed and opens the five CSV files with their headers.
    pub fn create(dir: impl AsRef<Path>) -> Result<FileRecorder> {
        FileRecorder::open(dir.as_ref(), None, Format::Csv)
    }

    /// Like [`FileRecorder::create`], in `format`.
    pub fn create_as(dir: impl AsRef<Path>, format: Format) -> Result<FileRecorder> {
        FileRecorder::open(dir.as_ref(), None, format)
    }

    /// Like [`FileRecorder::create`], but continues the CSV files already in `dir` from month
    /// `from` (a run resumed from a checkpoint continues the files of the run that saved it):
    /// rows dated before `from` are kept, later ones dropped and written again, so resuming
    /// twice, or again after a resume was killed, gives the files of the uninterrupted run.
    /// The caller checks first that the rows are the same run's ([`crate::output::Identity`]).
    pub fn resume(dir: impl AsRef<Path>, from: Month) -> Result<FileRecorder> {
        FileRecorder::open(dir.as_ref(), Some(from), Format::Csv)
    }

    /// Leaves the manifest to the caller (see [`crate::output::write_manifest`]).
    pub fn without_manifest(mut self) -> FileRecorder {
        self.manifest = false;
        self
    }

    fn open(dir: &Path, resume: Option<Month>, format: Format) -> Result<FileRecorder> {
        let dir = make_dir(dir)?;
        crate::output::clear_manifest(&dir)?;
        // The headers are the frames' columns: one definition of every table
        // ([`super::Frames`]).
        let empty = super::Frames::default();
        let files = RUN_TABLES
            .iter()
            .zip(empty.all())
            .map(|(table, frame)| {
                TableWriter::open_or_resume(&dir, table, &frame.header(), format, resume)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FileRecorder {
            files,
            dir,
            format,
            manifest: true,
        })
    }
}

impl Recorder for FileRecorder {
    fn record(&mut self, r: &MonthReport) -> Result<()> {
        crate::output::pause_point(format_args!("record {}", r.month));
        let files = &mut self.files;
        super::frame::report_rows(r, |k, row| files[k].write(row))
    }

    fn finish(&mut self) -> Result<()> {
        for w in &mut self.files {
            w.commit()?;
        }
        if self.manifest {
            crate::output::write_manifest(&self.dir, &run_files(self.format))?;
        }
        Ok(())
    }
}

impl Drop for FileRecorder {
    fn drop(&mut self) {
        // Keep what was written for inspection, under the temporary names only.
        for w in &mut self.files {
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

pub(crate) fn set_names(set: u8, ids: &[String]) -> String {
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
        let open =
            |name: &str, header: &[&str]| StagedCsv::open_or_resume(&dir, name, header, resume);
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
