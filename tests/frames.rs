//! `record::Frames` against the CSV files the same run writes.

use paymarket::output::number;
use paymarket::record::{CsvRecorder, Frames, Values};
use paymarket::{Scenario, Simulation};

/// The frames hold the CSV files' tables cell for cell: the same headers, and every cell
/// written as the CSV writes it (numbers by their shortest exact text, missing ones empty)
/// is the file's cell, in the calibrated historical scenario (contexts, events, missing
/// shares) and the duopoly.
#[test]
fn frames_are_the_csv_files_cell_for_cell() {
    for path in [
        "data/scenarios/china_2012_2021_calibrated.toml",
        "data/scenarios/duopoly.toml",
    ] {
        let mut s = Scenario::load(path).unwrap();
        s.agents.users = 3000;
        s.agents.merchants = 300;
        let dir = std::env::temp_dir().join(format!(
            "paymarket-frames-{}-{}",
            std::process::id(),
            s.name
        ));
        let mut csv = CsvRecorder::create(&dir).unwrap().without_manifest();
        let mut frames = Frames::default();
        Simulation::new(s)
            .unwrap()
            .run(&mut [&mut csv, &mut frames])
            .unwrap();
        drop(csv);
        let mut missing = 0;
        for frame in frames.all() {
            let text = std::fs::read_to_string(dir.join(format!("{}.csv", frame.name))).unwrap();
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
            assert_eq!(header, frame.names(), "{path} {}", frame.name);
            let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
            assert_eq!(records.len(), frame.rows(), "{path} {}", frame.name);
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
                    assert_eq!(cell, record[c], "{path} {} {name} row {row}", frame.name);
                }
            }
        }
        assert!(missing > 0, "{path}: some cells are missing values");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
