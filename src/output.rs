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

use crate::error::{Error, Result};
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
pub(crate) fn number(x: f64) -> String {
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

    /// Starts from a copy of the existing `path` (if any), to append to it.
    pub fn append(path: &Path) -> Result<(Staged, File)> {
        let tmp = partial_name(path);
        if path.exists() {
            std::fs::copy(path, &tmp).map_err(io(&tmp))?;
        } else {
            File::create(&tmp).map_err(io(&tmp))?;
        }
        let f = std::fs::OpenOptions::new()
            .append(true)
            .open(&tmp)
            .map_err(io(&tmp))?;
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
    /// The files, in the order written.
    pub files: Vec<Entry>,
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
    /// Opens `dir/name` for writing (with `header` first), or, with `append`, continues an
    /// existing non-empty file (its header already written).
    pub fn open(dir: &Path, name: &str, header: &[&str], append: bool) -> Result<StagedCsv> {
        let path = dir.join(name);
        let existing = append
            && std::fs::metadata(&path)
                .map(|m| m.len() > 0)
                .unwrap_or(false);
        let (staged, f) = if existing {
            Staged::append(&path)?
        } else {
            Staged::create(&path)?
        };
        let mut w = csv::Writer::from_writer(BufWriter::new(f));
        if !existing {
            w.write_record(header).map_err(|source| Error::Csv {
                path: path.clone(),
                source,
            })?;
        }
        Ok(StagedCsv { staged, w })
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
