//! CSV against Parquet for a sweep's summaries: file size and write time.
//!
//! Runs a Latin-hypercube sweep of the calibrated history (100 settings × 10 replicates by
//! default, at a small population: the summaries' size does not depend on it), keeps every
//! setting's summary in memory, then writes all of them as CSV and as Parquet `--repeats`
//! times each, alternating, and prints the median write time and the bytes of each format.
//!
//! `cargo run --release --example formats -- [--settings 100] [--replicates 10] [--users 3000]
//! [--repeats 7]`
use paymarket::experiment::{sweep, Plan, Summary, SummaryWriter};
use paymarket::record::{Format, Kind, Value};
use paymarket::Scenario;
use std::time::Instant;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|k| args.get(k + 1))
        .and_then(|v| paymarket::scenario::parse_count(v))
        .unwrap_or(default)
}

fn main() -> paymarket::Result<()> {
    let (settings, replicates) = (arg("--settings", 100), arg("--replicates", 10));
    let (users, repeats) = (arg("--users", 3_000), arg("--repeats", 7));
    let mut s = Scenario::load("data/scenarios/china_2012_2021_calibrated.toml")?;
    s.agents.users = users;
    s.agents.merchants = users / 10;
    let ranges = [
        "params.churn_rate=0.02:0.2".to_string(),
        "params.social_weight=0:3".to_string(),
    ];
    let design = sweep::Design::from_specs(&[], &ranges, Some(settings as usize), &[], 1)?;
    let plan = Plan {
        replicates,
        seed: 1,
        ..Plan::default()
    };
    let start = Instant::now();
    let mut kept: Vec<(usize, Vec<f64>, Summary)> = Vec::new();
    sweep::sweep(&s, &design, &plan, |k, point, summary| {
        kept.push((k, point.to_vec(), summary));
        Ok(())
    })?;
    eprintln!(
        "{settings} settings × {replicates} runs of {} months at {users} users in {:.1} s",
        s.months(),
        start.elapsed().as_secs_f64()
    );
    let mut extra = vec![("setting".to_string(), Kind::Integer)];
    extra.extend(design.paths.iter().map(|p| (p.clone(), Kind::Number)));
    let dir = std::env::temp_dir().join(format!("paymarket-formats-{}", std::process::id()));
    let mut times: Vec<(Format, Vec<f64>, u64, u64)> = [Format::Csv, Format::Parquet]
        .into_iter()
        .map(|f| (f, Vec::new(), 0, 0))
        .collect();
    for _ in 0..repeats {
        for (format, t, bytes, rows) in times.iter_mut() {
            let _ = std::fs::remove_dir_all(&dir);
            let start = Instant::now();
            let mut w = SummaryWriter::create(&dir, &extra, *format)?;
            for (k, point, summary) in &kept {
                let mut lead = vec![Value::Integer(*k as i64)];
                lead.extend(point.iter().map(|v| Value::number(*v)));
                w.write(summary, &lead)?;
            }
            let names = w.finish()?;
            t.push(start.elapsed().as_secs_f64());
            *bytes = names
                .iter()
                .map(|n| std::fs::metadata(dir.join(n)).map(|m| m.len()).unwrap_or(0))
                .sum();
            *rows = kept
                .iter()
                .map(|(_, _, s)| (s.months().len() * s.cells().len()) as u64)
                .sum();
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("format   rows        bytes     MB   median write s  (of {repeats})");
    for (format, mut t, bytes, rows) in times {
        t.sort_by(f64::total_cmp);
        println!(
            "{:<8} {rows:<11} {bytes:<9} {:>5.1} {:>10.3}",
            format.name(),
            bytes as f64 / 1e6,
            t[t.len() / 2]
        );
    }
    Ok(())
}
