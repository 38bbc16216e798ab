//! The Parquet files (`--format parquet`, `record::Format::Parquet`) hold the frames of the
//! same runs value for value, with the documented types, compression and encodings, and are
//! byte-identical on 1 and 2 threads.
#![cfg(feature = "parquet")]

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
use paymarket::{Scenario, Simulation};
use std::path::{Path, PathBuf};

fn temp(label: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("paymarket-parquet-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn small(path: &str, users: u64) -> Scenario {
    let mut s = Scenario::load(path).unwrap();
    s.agents.users = users;
    s.agents.merchants = users / 10;
    s
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
        Simulation::new(small(path, 3_000))
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

/// An ensemble's per-run and summary files on `threads` threads; returns every file's bytes.
fn ensemble_files(threads: usize, dir: &Path) -> Vec<(String, Vec<u8>)> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let plan = Plan {
            replicates: 3,
            seed: 11,
            ..Plan::default()
        };
        let mut runs = FileRecorder::create_as(dir, Format::Parquet).unwrap();
        let s = small("data/scenarios/duopoly.toml", 2_000);
        let summary = ensemble(&s, &plan, &mut [&mut runs]).unwrap();
        let mut w = SummaryWriter::create(dir, &[], Format::Parquet).unwrap();
        w.write(&summary, &[]).unwrap();
        w.finish().unwrap();
        for frame in summary_frames(&[&summary]).unwrap() {
            assert_file_is_frame(&frame, dir);
            assert_layout(&frame, dir);
        }
    });
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    assert_eq!(out.len(), 9, "five run tables and four summaries");
    out.into_iter()
        .map(|(p, b)| {
            (
                Path::new(&p).file_name().unwrap().to_string_lossy().into(),
                b,
            )
        })
        .collect()
}

#[test]
fn an_ensembles_parquet_files_are_its_frames_and_the_same_bytes_on_1_and_2_threads() {
    let (a, b) = (temp("ens1"), temp("ens2"));
    let one = ensemble_files(1, &a);
    let two = ensemble_files(2, &b);
    assert!(one == two, "the files differ between 1 and 2 threads");
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}

#[test]
fn a_comparisons_effect_files_are_its_frames() {
    let dir = temp("cmp");
    let b = small("data/scenarios/duopoly.toml", 2_000);
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
