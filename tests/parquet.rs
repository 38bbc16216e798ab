//! The Parquet files (`--format parquet`, `record::Format::Parquet`) hold the frames of the
//! same runs value for value, with the documented types, compression and encodings (that they
//! are byte-identical on 1 and 2 threads: `tests/experiments.rs`).
#![cfg(feature = "parquet")]

mod common;

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, Encoding};
use parquet::file::reader::FileReader;
use parquet::file::serialized_reader::SerializedFileReader;
use paymarket::experiment::{
    compare, effects_frames, ensemble, summary_frames, write_comparison, Plan, SummaryWriter,
};
use paymarket::record::arrow::record_batch;
use paymarket::record::{FileRecorder, Format, Frame, Frames, Kind, TableWriter};
use paymarket::Simulation;
use std::path::{Path, PathBuf};

fn temp(label: &str) -> PathBuf {
    common::tmp_dir("parquet", label)
}

/// `dir/NAME.parquet` read back in one batch.
fn read(dir: &Path, name: &str) -> RecordBatch {
    let f = std::fs::File::open(dir.join(format!("{name}.parquet"))).unwrap();
    let mut reader = ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .with_batch_size(1 << 24)
        .build()
        .unwrap();
    let batch = reader.next().unwrap().unwrap();
    assert!(reader.next().is_none(), "{name}: one batch");
    batch
}

/// The file of `frame` holds its columns: names, types, nullability and every value. Returns
/// the number of nulls.
fn assert_file_is_frame(frame: &Frame, dir: &Path) -> usize {
    let got = read(dir, frame.name);
    let want = record_batch(frame).unwrap();
    assert!(frame.rows() > 0, "{} has rows", frame.name);
    assert_eq!(got.num_rows(), frame.rows(), "{}", frame.name);
    assert_eq!(
        got.schema().fields(),
        want.schema().fields(),
        "{}",
        frame.name
    );
    let mut nulls = 0;
    for (k, (name, _)) in frame.columns.iter().enumerate() {
        assert_eq!(got.column(k), want.column(k), "{} {name}", frame.name);
        nulls += got.column(k).null_count();
    }
    nulls
}

/// Every column chunk is zstd; text and integer columns are dictionary-encoded, number columns
/// plain.
fn assert_layout(frame: &Frame, dir: &Path) {
    let f = std::fs::File::open(dir.join(format!("{}.parquet", frame.name))).unwrap();
    let meta = SerializedFileReader::new(f).unwrap().metadata().clone();
    assert!(meta.num_row_groups() >= 1);
    for g in meta.row_groups() {
        for (chunk, (name, kind)) in g.columns().iter().zip(frame.header()) {
            assert!(
                matches!(chunk.compression(), Compression::ZSTD(_)),
                "{} {name}: {:?}",
                frame.name,
                chunk.compression()
            );
            let dict = chunk.encodings().any(|e| e == Encoding::RLE_DICTIONARY);
            assert_eq!(dict, kind != Kind::Number, "{} {name}", frame.name);
        }
    }
}

/// A run's Parquet files are its frames (the frames are its CSV files: `tests/frames.rs`), in
/// the calibrated history (contexts, events, missing shares) and the duopoly.
#[test]
fn a_runs_parquet_files_are_its_frames() {
    for path in [
        "data/scenarios/china_2012_2021_calibrated.toml",
        "data/scenarios/duopoly.toml",
    ] {
        let dir = temp("run");
        let mut frames = Frames::default();
        let mut files = FileRecorder::create_as(&dir, Format::Parquet).unwrap();
        Simulation::new(common::sized(path, 3_000))
            .unwrap()
            .run(&mut [&mut frames, &mut files])
            .unwrap();
        let mut nulls = 0;
        for frame in frames.all() {
            nulls += assert_file_is_frame(frame, &dir);
            assert_layout(frame, &dir);
        }
        // Missing values are nulls: the cash and lost rows' `merchants_accepting` at least.
        assert!(nulls > 0, "{path}: nulls");
        let listed = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
        for t in paymarket::record::RUN_TABLES {
            assert!(listed.contains(&format!("\"{t}.parquet\"")), "{t} listed");
            assert!(!dir.join(format!("{t}.csv")).exists());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// An ensemble's summary files are its summary frames.
#[test]
fn an_ensembles_summary_files_are_its_frames() {
    let dir = temp("ensemble");
    let plan = Plan {
        replicates: 3,
        seed: 11,
        ..Plan::default()
    };
    let summary = ensemble(
        &common::sized("data/scenarios/duopoly.toml", 2_000),
        &plan,
        &mut [],
    )
    .unwrap();
    let mut w = SummaryWriter::create(&dir, &[], Format::Parquet).unwrap();
    w.write(&summary, &[]).unwrap();
    let names = w.finish().unwrap();
    assert_eq!(names.len(), 4);
    for frame in summary_frames(&[&summary]).unwrap() {
        assert_file_is_frame(&frame, &dir);
        assert_layout(&frame, &dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_comparisons_effect_files_are_its_frames() {
    let dir = temp("cmp");
    let b = common::sized("data/scenarios/duopoly.toml", 2_000);
    let mut a = b.clone();
    a.name = "other".into();
    a.params.churn_rate *= 2.0;
    let plan = Plan {
        replicates: 3,
        seed: 5,
        ..Plan::default()
    };
    let e = compare(&b, &a, &plan, None, &mut []).unwrap();
    let names = write_comparison(&dir, &e, Format::Parquet).unwrap();
    assert_eq!(names.len(), 8);
    assert!(names.iter().all(|n| n.ends_with(".parquet")));
    for frame in effects_frames(&e).unwrap() {
        assert_file_is_frame(&frame, &dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A table that overflows the gathering batch (8,192 rows) still reads back whole; an empty
/// table is a valid file with its columns.
#[test]
fn long_and_empty_tables_read_back() {
    let dir = temp("long");
    let header = [
        ("k".to_string(), Kind::Integer),
        ("x".to_string(), Kind::Number),
        ("t".to_string(), Kind::Text),
    ];
    let mut f = Frame::with_columns("long", &header);
    for k in 0..20_000i64 {
        let x = if k % 7 == 0 {
            None
        } else {
            Some(k as f64 / 3.0)
        };
        f.push([
            paymarket::record::Value::Integer(k),
            paymarket::record::Value::Number(x),
            paymarket::record::Value::Text(format!("key{}", k % 5)),
        ]);
    }
    paymarket::record::write_frame(&dir, &f, Format::Parquet).unwrap();
    assert_eq!(
        assert_file_is_frame(&f, &dir),
        2858,
        "one null in 7 of 20,000"
    );
    let mut w = TableWriter::open(&dir, "empty", &header, Format::Parquet).unwrap();
    w.commit().unwrap();
    let file = std::fs::File::open(dir.join("empty.parquet")).unwrap();
    let b = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    assert_eq!(b.schema().fields().len(), 3);
    assert_eq!(b.metadata().file_metadata().num_rows(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Parquet table cannot be continued from a month: the error says so and what to do.
#[test]
fn a_parquet_table_is_not_resumed() {
    let dir = temp("resume");
    let header = [("month".to_string(), Kind::Text)];
    let e = TableWriter::open_or_resume(
        &dir,
        "market",
        &header,
        Format::Parquet,
        Some("2020-01".parse().unwrap()),
    )
    .err()
    .expect("refused")
    .to_string();
    assert!(
        e.contains("market.parquet") && e.contains("--format csv"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
