//! The tables as typed columns (`record::Frames`, `experiment::summary_frames`,
//! `experiment::effects_frames`) against the CSV files the same runs write.

use paymarket::experiment::{
    compare, effects_frames, ensemble, summary_frames, write_comparison, Plan,
};
use paymarket::output::number;
use paymarket::record::{CsvRecorder, Frame, Frames, Values};
use paymarket::Simulation;
use std::path::{Path, PathBuf};

mod common;

fn temp(label: &str) -> PathBuf {
    common::tmp_dir("frames", label)
}

/// `frame` holds `dir/NAME.csv` cell for cell: the same header, rows and cells, a number
/// written as the CSV writes it (its shortest exact text, empty when missing). Returns the
/// number of missing values.
fn assert_frame_is_file(frame: &Frame, dir: &Path) -> usize {
    let text = std::fs::read_to_string(dir.join(format!("{}.csv", frame.name))).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, frame.names(), "{}", frame.name);
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), frame.rows(), "{}", frame.name);
    assert!(frame.rows() > 0, "{} has rows", frame.name);
    let mut missing = 0;
    for (c, (name, values)) in frame.columns.iter().enumerate() {
        for (row, record) in records.iter().enumerate() {
            let cell = match values {
                Values::Integer(v) => v[row].to_string(),
                Values::Text(v) => v[row].clone(),
                Values::Number(v) => {
                    missing += v[row].is_none() as usize;
                    v[row].map(number).unwrap_or_default()
                }
            };
            assert_eq!(cell, record[c], "{} {name} row {row}", frame.name);
        }
    }
    missing
}

/// A run's frames are its CSV files, in the calibrated historical scenario (contexts, events,
/// missing shares) and the duopoly.
#[test]
fn frames_are_the_csv_files_cell_for_cell() {
    for path in [
        "data/scenarios/china_2012_2021_calibrated.toml",
        "data/scenarios/duopoly.toml",
    ] {
        let s = common::sized(path, 3000);
        let dir = temp(&s.name);
        let mut csv = CsvRecorder::create(&dir).unwrap().without_manifest();
        let mut frames = Frames::default();
        Simulation::new(s)
            .unwrap()
            .run(&mut [&mut csv, &mut frames])
            .unwrap();
        drop(csv);
        let missing: usize = frames
            .all()
            .into_iter()
            .map(|f| assert_frame_is_file(f, &dir))
            .sum();
        assert!(missing > 0, "{path}: some cells are missing values");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// A comparison's summary and effect frames are its `summary_*.csv` and `effects_*.csv`
/// files (both sides' summaries in the same tables, told apart by `scenario`), and an
/// ensemble's summary frames hold its summary's rows.
#[test]
fn summary_and_effect_frames_are_the_csv_files() {
    let base = common::sized("data/scenarios/duopoly.toml", 2000);
    let alt = common::sized("tests/fixtures/reference/duopoly_no_order.toml", 2000);
    let plan = Plan {
        replicates: 3,
        ..Plan::default()
    };
    let effects = compare(&base, &alt, &plan, None, &mut []).unwrap();
    let dir = temp("compare");
    write_comparison(&dir, &effects, paymarket::record::Format::Csv).unwrap();
    let frames = summary_frames(&[&effects.baseline, &effects.alternative]).unwrap();
    assert_eq!(frames.len(), 4);
    for f in frames.iter().chain(&effects_frames(&effects).unwrap()) {
        assert_frame_is_file(f, &dir);
    }
    std::fs::remove_dir_all(&dir).unwrap();
    // The ensemble of the baseline alone has the baseline's summary: the same rows.
    let summary = ensemble(&base, &plan, &mut []).unwrap();
    let alone = summary_frames(&[&summary]).unwrap();
    let both = summary_frames(&[&effects.baseline]).unwrap();
    assert_eq!(alone, both);
}

/// A watch stopped while an ensemble runs stops it at the next run taken: the recorder below
/// stops the watch when it receives the first run, so exactly one of the five runs is taken
/// and the ensemble returns `Error::Stopped` with `done` 1 (it would take all five otherwise).
#[test]
fn a_stopped_watch_stops_an_ensemble_at_the_next_run() {
    use paymarket::experiment::Watch;
    use paymarket::record::{MonthReport, Recorder};
    use std::sync::Arc;
    struct StopAtFirst(Arc<Watch>, usize);
    impl Recorder for StopAtFirst {
        fn record(&mut self, r: &MonthReport) -> paymarket::Result<()> {
            if r.run == 0 {
                self.0.stop();
            }
            self.1 += 1;
            Ok(())
        }
    }
    let s = common::sized("data/scenarios/duopoly.toml", 500);
    let watch = Arc::new(Watch::default());
    let plan = Plan {
        replicates: 5,
        in_flight: 1,
        watch: Some(watch.clone()),
        ..Plan::default()
    };
    let mut rec = StopAtFirst(watch.clone(), 0);
    let got = ensemble(&s, &plan, &mut [&mut rec]);
    assert!(
        matches!(got, Err(paymarket::Error::Stopped { done: 1, total: 5 })),
        "{got:?}"
    );
    assert_eq!(watch.done(), 1);
    assert_eq!(rec.1, s.months(), "one run's months recorded");
}
