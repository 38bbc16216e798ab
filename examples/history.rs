//! The historical replay: China's mobile-payment market, 2012–2021.
//!
//! ```text
//! cargo run --release --example history -- [--scenario PATH] [--users N] [--merchants M]
//!     [--seed S] [--threads T] [--out DIR]
//! ```
//!
//! Writes `platforms.csv`, `market.csv`, `channels.csv` and `events.csv` into `--out`
//! (default `out/history`) and prints value shares and users per platform each December.

use paymarket::{Collect, CsvRecorder, Scenario, Simulation};
use std::process::ExitCode;
use std::time::Instant;

struct Args {
    scenario: String,
    users: u64,
    merchants: u64,
    seed: Option<u64>,
    threads: usize,
    out: String,
}

const USAGE: &str = "usage: history [--scenario PATH] [--users N] [--merchants M] [--seed S] [--threads T] [--out DIR]
  --scenario  scenario file (default data/scenarios/china_2012_2021.toml)
  --users     user agents (default 1000000)
  --merchants merchant agents (default 100000)
  --seed      master seed (default: the scenario's)
  --threads   worker threads (default: all cores)
  --out       output directory (default out/history)";

fn parse() -> Result<Args, String> {
    let mut a = Args {
        scenario: "data/scenarios/china_2012_2021.toml".into(),
        users: 1_000_000,
        merchants: 100_000,
        seed: None,
        threads: 0,
        out: "out/history".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.to_string());
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let num = |v: &str| -> Result<u64, String> {
            v.replace('_', "")
                .parse()
                .map_err(|_| format!("{flag} takes a whole number, got {v:?}\n{USAGE}"))
        };
        match flag.as_str() {
            "--scenario" => a.scenario = value,
            "--users" => a.users = num(&value)?,
            "--merchants" => a.merchants = num(&value)?,
            "--seed" => a.seed = Some(num(&value)?),
            "--threads" => a.threads = num(&value)? as usize,
            "--out" => a.out = value,
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> paymarket::Result<()> {
    let mut s = Scenario::load(&args.scenario)?;
    s.agents.users = args.users;
    s.agents.merchants = args.merchants;
    if let Some(seed) = args.seed {
        s.seed = seed;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .map_err(|e| {
            paymarket::Error::Config(format!("cannot start {} threads: {e}", args.threads))
        })?;
    let started = Instant::now();
    let mut collect = Collect::default();
    pool.install(|| -> paymarket::Result<()> {
        let mut sim = Simulation::new(s.clone())?;
        let mut csv = CsvRecorder::create(&args.out)?;
        sim.run(&mut [&mut csv, &mut collect])
    })?;
    let secs = started.elapsed().as_secs_f64();

    println!(
        "{} · {} users, {} merchants, seed {}, {} threads · {:.1} s",
        s.name,
        s.agents.users,
        s.agents.merchants,
        s.seed,
        pool.current_num_threads(),
        secs
    );
    println!("\nValue share of third-party mobile payments (%) and people holding each wallet (millions), December of each year:\n");
    let ids: Vec<&str> = s.platform_ids();
    print!("{:<8}", "year");
    for id in &ids {
        print!(" {:>14}", format!("{id} %"));
    }
    for id in &ids {
        print!(" {:>14}", format!("{id} M"));
    }
    println!();
    for r in collect
        .reports
        .iter()
        .filter(|r| r.month.month_of_year() == 12)
    {
        print!("{:<8}", r.month.year());
        for p in &r.platforms {
            match p.value_share {
                Some(sh) => print!(" {:>14.1}", 100.0 * sh),
                None => print!(" {:>14}", "-"),
            }
        }
        for p in &r.platforms {
            print!(" {:>14.0}", p.users / 1e6);
        }
        println!();
    }
    println!(
        "\nWrote {} in {}",
        paymarket::record::CSV_FILES.join(", "),
        args.out
    );
    Ok(())
}
