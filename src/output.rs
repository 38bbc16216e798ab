//! Crash-safe output: every file is written under a temporary name next to its final one
//! (`.NAME.partial`) and renamed into place only when complete, and a completion manifest
//! (`manifest.json`, written last, the same way) lists the files of a complete output set with
//! their sizes and CRC-32 checksums.
//!
//! A run killed at any point therefore leaves, under the final names, only complete files;
//! without `manifest.json` (or with files that do not match it) the set is partial. Renaming
//! within one directory is atomic on POSIX file systems.
//!
//! ```
//! use paymarket::output::{check_manifest, write_atomic, write_manifest};
//! let dir = std::env::temp_dir().join("paymarket-doc-output");
//! std::fs::create_dir_all(&dir)?;
//! write_atomic(&dir.join("a.csv"), b"x,y\n1,2\n")?;
//! write_manifest(&dir, &["a.csv".to_string()])?;
//! assert_eq!(check_manifest(&dir)?.files[0].bytes, 8);
//! std::fs::write(dir.join("a.csv"), b"x,y\n1,3\n")?; // changed behind the manifest's back
//! assert!(check_manifest(&dir).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Owns: staged files, manifests, provenance, identity, output sets, the CSV number format. Reads:
//! errors, months. Never: scenarios, the model.

use crate::error::{Error, Result};
use crate::month::Month;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The completion manifest's file name.
pub const MANIFEST: &str = "manifest.json";

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` (and its parents) if needed, naming it in any error.
pub fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io(dir))
}

/// A number as the CSV files write it: the shortest text that reads back to the same `f64`
/// (deterministic and exact), `0` for either zero, empty for NaN (a value that does not exist).
pub fn number(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else if x == 0.0 {
        "0".to_string()
    } else {
        format!("{x}")
    }
}

/// The temporary name of `path`: `.NAME.partial` in the same directory.
pub fn partial_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

/// A file being written under its temporary name.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    tmp: PathBuf,
}

impl Staged {
    /// Creates the temporary file for `path` (truncating any earlier one).
    pub fn create(path: &Path) -> Result<(Staged, File)> {
        let tmp = partial_name(path);
        let f = File::create(&tmp).map_err(io(&tmp))?;
        Ok((
            Staged {
                path: path.to_path_buf(),
                tmp,
            },
            f,
        ))
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary path.
    pub fn tmp(&self) -> &Path {
        &self.tmp
    }

    /// Makes the file durable and renames it into place. Call after the last write has been
    /// flushed.
    pub fn commit(&self) -> Result<()> {
        if let Ok(f) = File::open(&self.tmp) {
            // Data on disk before the name: a crash never exposes a name without its data.
            let _ = f.sync_all();
        }
        pause_point(format_args!("commit {}", self.path.display()));
        std::fs::rename(&self.tmp, &self.path).map_err(io(&self.path))
    }
}

/// Writes `bytes` to `path` through a temporary name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let (staged, mut f) = Staged::create(path)?;
    f.write_all(bytes).map_err(io(staged.tmp()))?;
    drop(f);
    staged.commit()
}

/// A testing hook for crash-safety tests: when the environment variable `PAYMARKET_PAUSE_AT`
/// is a prefix of `point`, prints `paused at POINT` on stderr and waits forever, so a test can
/// kill the process at exactly that point. Does nothing otherwise.
pub fn pause_point(point: std::fmt::Arguments) {
    // Read once: the hook is consulted every month by the CSV recorder.
    static PAUSE_AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let at = PAUSE_AT.get_or_init(|| {
        std::env::var("PAYMARKET_PAUSE_AT")
            .ok()
            .filter(|p| !p.is_empty())
    });
    if let Some(p) = at {
        // The point's text is only built when the hook is on.
        let point = point.to_string();
        if point.contains(p.as_str()) {
            eprintln!("paused at {point}");
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
    }
}

/// One file of a complete output set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// File name within the directory.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// CRC-32 of its content.
    pub crc32: u32,
}

/// The completion manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The paymarket version that wrote the set.
    pub paymarket: String,
    /// How the set was made and how to make it again (absent in sets written by library code
    /// that gave none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// The files, in the order written.
    pub files: Vec<Entry>,
}

/// How an output set was made: enough to make it again from the directory alone.
///
/// `rerun` holds the command's arguments (after `paymarket`, without `--out`), in which every
/// input is a file of the set itself (the resolved scenario, copies of calibration targets):
/// `paymarket rerun DIR --out NEW` runs them and writes the same files into `NEW`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The command line as it was typed (the program named `paymarket`).
    pub command: Vec<String>,
    /// The master seed.
    pub seed: u64,
    /// Worker threads, for the record: the files do not depend on it.
    pub threads: usize,
    /// The arguments that make the set again, inputs named by their file names in the set.
    pub rerun: Vec<String>,
    /// The files of the set that `rerun` reads.
    pub inputs: Vec<String>,
}

/// The identity file's name: written before any row, it says whose rows a directory holds.
pub const IDENTITY: &str = "identity.json";

/// Whose rows an output directory holds: the command, each scenario's name and
/// [`crate::Scenario::fingerprint`], the master seed, and the panel fraction of a run.
/// Commands that add rows to an existing directory (`resume`) compare it first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// The command that started the directory (`run`, `ensemble`, `sweep`, `compare`,
    /// `calibrate`).
    pub command: String,
    /// The scenarios whose rows it holds, in the command's order.
    pub scenarios: Vec<ScenarioId>,
    /// The (master) seed.
    pub seed: u64,
    /// The agent panel's sampling fraction, for a run that writes one.
    #[serde(default)]
    pub panel: Option<f64>,
}

/// A scenario's name and fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioId {
    /// The scenario's `name`.
    pub name: String,
    /// Its [`crate::Scenario::fingerprint`].
    pub fingerprint: String,
}

impl ScenarioId {
    /// The id of a resolved scenario from its name and fingerprint:
    /// `ScenarioId::new(&s.name, s.fingerprint())`.
    pub fn new(name: &str, fingerprint: String) -> ScenarioId {
        ScenarioId {
            name: name.to_string(),
            fingerprint,
        }
    }
}

/// Writes `dir/identity.json` (atomically).
pub fn write_identity(dir: &Path, id: &Identity) -> Result<()> {
    let text = serde_json::to_string_pretty(id).expect("an identity serialises");
    write_atomic(&dir.join(IDENTITY), text.as_bytes())
}

/// Reads `dir/identity.json`; `Ok(None)` when there is none.
pub fn read_identity(dir: &Path) -> Result<Option<Identity>> {
    let p = dir.join(IDENTITY);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Io { path: p, source }),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Error::Config(format!(
            "{}: not a paymarket identity file: {e}; remove it only if the directory holds no rows",
            p.display()
        ))
    })
}

/// One output set being written: [`OutputSet::begin`] creates the directory, removes any old
/// manifest, writes the identity and the resolved inputs before any row; the command adds the
/// names of the files it completes; [`OutputSet::finish`] writes the manifest last, with the
/// provenance.
#[derive(Debug)]
pub struct OutputSet {
    dir: PathBuf,
    files: Vec<String>,
    provenance: Provenance,
}

impl OutputSet {
    /// Starts a set in `dir`: identity first, then each `(file name, text)` input (the resolved
    /// scenario, copies of calibration targets; names may contain `/` for a subfolder).
    pub fn begin(
        dir: &Path,
        identity: &Identity,
        mut provenance: Provenance,
        inputs: &[(String, String)],
    ) -> Result<OutputSet> {
        create_dir(dir)?;
        clear_manifest(dir)?;
        write_identity(dir, identity)?;
        let mut files = vec![IDENTITY.to_string()];
        for (name, text) in inputs {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                create_dir(parent)?;
            }
            write_atomic(&path, text.as_bytes())?;
            files.push(name.clone());
        }
        provenance.inputs = inputs.iter().map(|(n, _)| n.clone()).collect();
        Ok(OutputSet {
            dir: dir.to_path_buf(),
            files,
            provenance,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds completed files (names within the directory) to the set.
    pub fn add<S: Into<String>>(&mut self, names: impl IntoIterator<Item = S>) {
        self.files.extend(names.into_iter().map(Into::into));
    }

    /// Writes the manifest, last.
    pub fn finish(self) -> Result<()> {
        write_manifest_with(&self.dir, &self.files, Some(&self.provenance))
    }
}

fn crc_of(path: &Path) -> Result<(u64, u32)> {
    let mut f = File::open(path).map_err(io(path))?;
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).map_err(io(path))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, h.finalize()))
}

/// Removes `dir/manifest.json`: call before writing a new set into a directory, so an old
/// manifest never vouches for new, partial files.
pub fn clear_manifest(dir: &Path) -> Result<()> {
    let p = dir.join(MANIFEST);
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Io { path: p, source }),
    }
}

/// Writes `dir/manifest.json` for the named files (which must all be in place), last.
pub fn write_manifest(dir: &Path, names: &[String]) -> Result<()> {
    write_manifest_with(dir, names, None)
}

/// Like [`write_manifest`], recording how the set was made.
pub fn write_manifest_with(
    dir: &Path,
    names: &[String],
    provenance: Option<&Provenance>,
) -> Result<()> {
    let mut files = Vec::new();
    for name in names {
        let (bytes, crc32) = crc_of(&dir.join(name))?;
        files.push(Entry {
            name: name.clone(),
            bytes,
            crc32,
        });
    }
    let m = Manifest {
        paymarket: env!("CARGO_PKG_VERSION").to_string(),
        provenance: provenance.cloned(),
        files,
    };
    let text = serde_json::to_string_pretty(&m).expect("a manifest serialises");
    write_atomic(&dir.join(MANIFEST), text.as_bytes())
}

/// Checks that `dir` holds a complete output set: the manifest exists and every file it lists
/// has its size and checksum. Returns the manifest, or an error naming what is missing or
/// different.
pub fn check_manifest(dir: &Path) -> Result<Manifest> {
    let p = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&p).map_err(|source| Error::Io {
        path: p.clone(),
        source,
    })?;
    let m: Manifest = serde_json::from_str(&text)
        .map_err(|e| Error::Config(format!("{}: not a paymarket manifest: {e}", p.display())))?;
    for e in &m.files {
        let path = dir.join(&e.name);
        let (bytes, crc) = crc_of(&path)?;
        if (bytes, crc) != (e.bytes, e.crc32) {
            return Err(Error::Config(format!(
                "{}: {bytes} bytes with CRC-32 {crc:08x}, but the manifest says {} bytes with {:08x}: \
                 the output set is not the one the manifest describes",
                path.display(),
                e.bytes,
                e.crc32
            )));
        }
    }
    Ok(m)
}

/// A buffered CSV writer on a staged file.
pub struct StagedCsv {
    staged: Staged,
    w: csv::Writer<BufWriter<File>>,
}

impl StagedCsv {
    /// Opens `dir/name` for writing, `header` first.
    pub fn open(dir: &Path, name: &str, header: &[&str]) -> Result<StagedCsv> {
        let path = dir.join(name);
        let (staged, f) = Staged::create(&path)?;
        let mut w = csv::Writer::from_writer(BufWriter::new(f));
        w.write_record(header).map_err(|source| Error::Csv {
            path: path.clone(),
            source,
        })?;
        Ok(StagedCsv { staged, w })
    }

    /// [`StagedCsv::open`], or [`StagedCsv::resume`] from month `from` when given: how a
    /// recorder opens each of its files.
    pub fn open_or_resume(
        dir: &Path,
        name: &str,
        header: &[&str],
        from: Option<Month>,
    ) -> Result<StagedCsv> {
        match from {
            Some(from) => StagedCsv::resume(dir, name, header, from),
            None => StagedCsv::open(dir, name, header),
        }
    }

    /// Opens `dir/name` to continue a run from month `from`: the header is checked, the rows
    /// dated before `from` (column `month`, the third) are copied and every later row is
    /// dropped, so that a resume repeated, or started again after it was killed, writes the
    /// same file. A missing file starts empty, with the header.
    pub fn resume(dir: &Path, name: &str, header: &[&str], from: Month) -> Result<StagedCsv> {
        let path = dir.join(name);
        let mut out = StagedCsv::open(dir, name, header)?;
        let f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(source) => return Err(Error::Io { path, source }),
        };
        let csv_err = |source| Error::Csv {
            path: path.clone(),
            source,
        };
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(std::io::BufReader::new(f));
        let mut records = r.byte_records();
        match records.next() {
            Some(first) => {
                let first = first.map_err(csv_err)?;
                if first.iter().ne(header.iter().map(|h| h.as_bytes())) {
                    return Err(Error::Config(format!(
                        "{}: its header is not the one this version writes; resume into the directory of the run that saved the checkpoint",
                        path.display()
                    )));
                }
            }
            None => return Ok(out),
        }
        let col = header.iter().position(|h| *h == "month").unwrap_or(2);
        for (k, rec) in records.enumerate() {
            let rec = rec.map_err(csv_err)?;
            let month = rec
                .get(col)
                .and_then(|m| std::str::from_utf8(m).ok())
                .and_then(|m| m.parse::<Month>().ok())
                .ok_or_else(|| {
                    Error::Config(format!(
                        "{}: row {} has no month in column {}; the file is damaged",
                        path.display(),
                        k + 2,
                        col + 1
                    ))
                })?;
            if month < from {
                out.w.write_byte_record(&rec).map_err(|source| Error::Csv {
                    path: path.clone(),
                    source,
                })?;
            }
        }
        Ok(out)
    }

    /// Writes one record.
    pub fn write<I, T>(&mut self, record: I) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.w.write_record(record).map_err(|source| Error::Csv {
            path: self.staged.path().to_path_buf(),
            source,
        })
    }

    /// Flushes the buffer to the temporary file (not committed).
    pub fn flush(&mut self) -> Result<()> {
        self.w.flush().map_err(io(self.staged.tmp()))
    }

    /// Flushes and renames the file into place.
    pub fn commit(&mut self) -> Result<()> {
        self.flush()?;
        self.staged.commit()
    }

    /// The final file name.
    pub fn name(&self) -> String {
        self.staged
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}
