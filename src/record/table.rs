//! One output table written as a file in the format asked for: CSV (always) or Parquet
//! (feature `parquet`, on by default). Every recorder and writer of tables goes through
//! [`TableWriter`], so the two formats hold the same tables, columns, rows and values.
//!
//! The Parquet files (one per table, named like the CSV with `.parquet`): the columns of the
//! CSV in its order, typed as [`super::arrow`] says (`int64` and `utf8` never null, `float64`
//! null where the CSV cell is empty); text and integer columns dictionary-encoded, number
//! columns plain; zstd compression (level 3); row groups of up to 1,048,576 rows; the Arrow
//! schema in the file's metadata. They are staged and renamed into place when complete, like
//! the CSV files, and byte-identical for the same rows.
//!
//! Owns: [`Format`], [`TableWriter`]. Reads: frames, the staged files of [`crate::output`].
//! Never: the rules.

use super::frame::{Frame, Kind, Value};
use crate::error::{Error, Result};
use crate::month::Month;
use crate::output::StagedCsv;
use std::path::Path;

/// The format of the table files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Comma-separated text, a header line first.
    #[default]
    Csv,
    /// Apache Parquet (needs the `parquet` feature).
    Parquet,
}

impl Format {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }

    /// The file name of a table: `platforms` → `platforms.csv` or `platforms.parquet`.
    pub fn file(self, table: &str) -> String {
        format!("{table}.{}", self.extension())
    }

    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        self.extension()
    }

    /// An error unless this build can write the format.
    pub fn check(self) -> Result<Format> {
        if self == Format::Parquet && !cfg!(feature = "parquet") {
            return Err(Error::Config(
                "this build of paymarket has no Parquet support: build it with the `parquet` \
                 feature (on by default), or write CSV"
                    .into(),
            ));
        }
        Ok(self)
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Format, String> {
        match s {
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            _ => Err(format!("unknown format {s:?}: choose csv or parquet")),
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One table's file, staged under a temporary name until [`TableWriter::commit`].
pub struct TableWriter {
    inner: Inner,
    kinds: Vec<Kind>,
}

enum Inner {
    Csv(StagedCsv),
    #[cfg(feature = "parquet")]
    Parquet(parquet_file::ParquetTable),
}

impl TableWriter {
    /// Opens `dir/TABLE.EXT` (creating `dir`) for a table with these columns.
    pub fn open(
        dir: &Path,
        table: &str,
        header: &[(String, Kind)],
        format: Format,
    ) -> Result<TableWriter> {
        TableWriter::open_or_resume(dir, table, header, format, None)
    }

    /// [`TableWriter::open`], or, from month `from`, continues the CSV file of a resumed run
    /// ([`StagedCsv::resume`]); a Parquet file cannot be continued, so that is an error.
    pub fn open_or_resume(
        dir: &Path,
        table: &str,
        header: &[(String, Kind)],
        format: Format,
        from: Option<Month>,
    ) -> Result<TableWriter> {
        crate::output::create_dir(dir)?;
        let name = format.check()?.file(table);
        let inner = match format {
            Format::Csv => {
                let names: Vec<&str> = header.iter().map(|(n, _)| n.as_str()).collect();
                Inner::Csv(StagedCsv::open_or_resume(dir, &name, &names, from)?)
            }
            #[cfg(feature = "parquet")]
            Format::Parquet => {
                if from.is_some() {
                    return Err(Error::Config(format!(
                        "{}: a run written as Parquet cannot be resumed (its files are written \
                         whole at the end); run it again with --format csv to resume it",
                        dir.join(&name).display()
                    )));
                }
                Inner::Parquet(parquet_file::ParquetTable::open(&dir.join(&name), header)?)
            }
            #[cfg(not(feature = "parquet"))]
            Format::Parquet => unreachable!("checked above"),
        };
        Ok(TableWriter {
            inner,
            kinds: header.iter().map(|(_, k)| *k).collect(),
        })
    }

    /// Writes one row (one value per column, of its kind).
    pub fn write(&mut self, row: Vec<Value>) -> Result<()> {
        let fits = row.len() == self.kinds.len()
            && row.iter().zip(&self.kinds).all(|(v, k)| {
                matches!(
                    (v, k),
                    (Value::Integer(_), Kind::Integer)
                        | (Value::Number(_), Kind::Number)
                        | (Value::Text(_), Kind::Text)
                )
            });
        if !fits {
            return Err(Error::Config(format!(
                "{}: a row that does not match the table's columns (a bug)",
                self.name()
            )));
        }
        match &mut self.inner {
            Inner::Csv(w) => w.write(row.iter().map(Value::text)),
            #[cfg(feature = "parquet")]
            Inner::Parquet(w) => w.write(row),
        }
    }

    /// Writes every row of a frame of the same columns.
    pub fn write_frame(&mut self, frame: &Frame) -> Result<()> {
        for k in 0..frame.rows() {
            self.write(frame.row(k))?;
        }
        Ok(())
    }

    /// Flushes what is buffered to the temporary file (not committed).
    pub fn flush(&mut self) -> Result<()> {
        match &mut self.inner {
            Inner::Csv(w) => w.flush(),
            #[cfg(feature = "parquet")]
            Inner::Parquet(_) => Ok(()),
        }
    }

    /// Finishes the file and renames it into place.
    pub fn commit(&mut self) -> Result<()> {
        match &mut self.inner {
            Inner::Csv(w) => w.commit(),
            #[cfg(feature = "parquet")]
            Inner::Parquet(w) => w.commit(),
        }
    }

    /// The final file name.
    pub fn name(&self) -> String {
        match &self.inner {
            Inner::Csv(w) => w.name(),
            #[cfg(feature = "parquet")]
            Inner::Parquet(w) => w.name(),
        }
    }
}

/// A whole frame as the bytes of its file in `format` (for a download rather than a file).
pub fn frame_bytes(frame: &Frame, format: Format) -> Result<Vec<u8>> {
    match format.check()? {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let failed = |e: csv::Error| Error::Config(format!("table {} as CSV: {e}", frame.name));
            w.write_record(frame.names()).map_err(failed)?;
            for k in 0..frame.rows() {
                w.write_record(frame.row(k).iter().map(Value::text))
                    .map_err(failed)?;
            }
            w.into_inner()
                .map_err(|e| Error::Config(format!("table {} as CSV: {e}", frame.name)))
        }
        #[cfg(feature = "parquet")]
        Format::Parquet => parquet_file::bytes(frame),
        #[cfg(not(feature = "parquet"))]
        Format::Parquet => unreachable!("checked above"),
    }
}

/// Writes a whole frame as `dir/NAME.EXT` (its name the frame's) and returns the file name.
pub fn write_frame(dir: &Path, frame: &Frame, format: Format) -> Result<String> {
    let mut w = TableWriter::open(dir, frame.name, &frame.header(), format)?;
    w.write_frame(frame)?;
    w.commit()?;
    Ok(w.name())
}

#[cfg(feature = "parquet")]
mod parquet_file {
    use super::super::arrow::{record_batch, schema};
    use super::super::frame::{Frame, Kind, Value};
    use crate::error::{Error, Result};
    use crate::output::Staged;
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;
    use parquet::schema::types::ColumnPath;
    use std::fs::File;
    use std::path::Path;
    use std::sync::Arc;

    /// The files' writer properties: zstd level 3, text and integer columns
    /// dictionary-encoded, number columns plain.
    fn properties(header: &[(String, Kind)]) -> parquet::errors::Result<WriterProperties> {
        let mut props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
            .set_dictionary_enabled(true);
        for (name, kind) in header {
            if *kind == Kind::Number {
                props = props.set_column_dictionary_enabled(ColumnPath::from(name.as_str()), false);
            }
        }
        Ok(props.build())
    }

    /// A whole frame as the bytes of a Parquet file.
    pub(super) fn bytes(frame: &Frame) -> Result<Vec<u8>> {
        let failed = |e: parquet::errors::ParquetError| {
            Error::Config(format!("table {} as Parquet: {e}", frame.name))
        };
        let props = properties(&frame.header()).map_err(failed)?;
        let mut w = ArrowWriter::try_new(Vec::new(), Arc::new(schema(frame)), Some(props))
            .map_err(failed)?;
        w.write(&record_batch(frame)?).map_err(failed)?;
        w.into_inner().map_err(failed)
    }

    /// Rows gathered before they go to the writer as one record batch.
    const BATCH: usize = 8192;

    /// A Parquet file being written: rows gathered in a frame, handed to the writer a batch at
    /// a time.
    pub(super) struct ParquetTable {
        staged: Staged,
        rows: Frame,
        writer: Option<ArrowWriter<File>>,
    }

    fn failed(path: &Path, e: impl std::fmt::Display) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(format!("writing Parquet: {e}")),
        }
    }

    impl ParquetTable {
        pub(super) fn open(path: &Path, header: &[(String, Kind)]) -> Result<Self> {
            let (staged, file) = Staged::create(path)?;
            // The frame's name is only a label: the file is named by `path`.
            let rows = Frame::with_columns("table", header);
            let writer = ArrowWriter::try_new(
                file,
                Arc::new(schema(&rows)),
                Some(properties(header).map_err(|e| failed(path, e))?),
            )
            .map_err(|e| failed(path, e))?;
            Ok(ParquetTable {
                staged,
                rows,
                writer: Some(writer),
            })
        }

        pub(super) fn write(&mut self, row: Vec<Value>) -> Result<()> {
            self.rows.push(row);
            if self.rows.rows() >= BATCH {
                self.hand_on()?;
            }
            Ok(())
        }

        /// Hands the gathered rows to the writer.
        fn hand_on(&mut self) -> Result<()> {
            let path = self.staged.path().to_path_buf();
            let batch = record_batch(&self.rows)?;
            let w = self
                .writer
                .as_mut()
                .ok_or_else(|| failed(&path, "the file is already closed"))?;
            w.write(&batch).map_err(|e| failed(&path, e))?;
            self.rows.clear();
            Ok(())
        }

        pub(super) fn commit(&mut self) -> Result<()> {
            if self.rows.rows() > 0 {
                self.hand_on()?;
            }
            let path = self.staged.path().to_path_buf();
            if let Some(w) = self.writer.take() {
                w.close().map_err(|e| failed(&path, e))?;
            }
            self.staged.commit()
        }

        pub(super) fn name(&self) -> String {
            self.staged
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        }
    }
}
