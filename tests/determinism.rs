//! The reproducibility promise: the same scenario and seed give byte-identical output files on
//! any number of threads, and across runs.

use paymarket::scenario::LongRange;
use paymarket::{CsvRecorder, Scenario, Simulation};
use std::path::Path;

fn run_in_pool(threads: usize, dir: &Path, users: u64, long_range: LongRange) -> Vec<Vec<u8>> {
    let mut s = Scenario::load("data/scenarios/china_2012_2021.toml").unwrap();
    s.agents.users = users;
    s.agents.long_range = long_range;
    s.agents.merchants = users / 10;
    // 2013-06 to 2015-05 covers the WeChat Pay launch, the cut-off and both red-envelope years.
    s.start = "2013-06".parse().unwrap();
    s.end = "2015-05".parse().unwrap();
    s.events.retain(|e| e.at >= s.start && e.at <= s.end);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut sim = Simulation::new(s).unwrap();
        let mut csv = CsvRecorder::create(dir).unwrap();
        sim.run(&mut [&mut csv]).unwrap();
    });
    paymarket::record::CSV_FILES
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect()
}

#[test]
fn output_is_byte_identical_on_1_2_and_4_threads() {
    // 300,000 users = 74 chunks of 4,096: about 18 chunks per thread with 4 threads, and
    // 30,000 merchants span 8 merchant chunks.
    let users = 300_000;
    let root = std::env::temp_dir().join(format!("paymarket-determinism-{}", std::process::id()));
    let pop = LongRange::Population;
    let one = run_in_pool(1, &root.join("t1"), users, pop);
    let two = run_in_pool(2, &root.join("t2"), users, pop);
    let four = run_in_pool(4, &root.join("t4"), users, pop);
    let again = run_in_pool(4, &root.join("t4b"), users, pop);
    for (k, name) in paymarket::record::CSV_FILES.iter().enumerate() {
        assert!(one[k].len() > 100, "{name} is empty");
        assert!(one[k] == two[k], "{name} differs between 1 and 2 threads");
        assert!(one[k] == four[k], "{name} differs between 1 and 4 threads");
        assert!(four[k] == again[k], "{name} differs between two runs");
    }
    let _ = std::fs::remove_dir_all(root);
}

/// Long-range contacts drawn from the month's table (`agents.long_range = "table"`): the same
/// promise, the table's counts and its order being the same on any number of threads; and not
/// the same files as the population's reads (other draws, the same model).
#[test]
fn the_table_of_long_range_contacts_is_byte_identical_on_1_and_3_threads() {
    let users = 300_000;
    let root = std::env::temp_dir().join(format!("paymarket-table-{}", std::process::id()));
    let one = run_in_pool(1, &root.join("t1"), users, LongRange::Table);
    let three = run_in_pool(3, &root.join("t3"), users, LongRange::Table);
    let population = run_in_pool(3, &root.join("p3"), users, LongRange::Population);
    for (k, name) in paymarket::record::CSV_FILES.iter().enumerate() {
        assert!(one[k].len() > 100, "{name} is empty");
        assert!(one[k] == three[k], "{name} differs between 1 and 3 threads");
    }
    assert!(one != population, "the table changed no file");
    let _ = std::fs::remove_dir_all(root);
}
