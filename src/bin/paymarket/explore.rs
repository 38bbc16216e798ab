//! The commands that look at a scenario beyond its runs: `sensitivity` (which of its guesses
//! an answer depends on) and `serve` (the explorer in the browser).
//!
//! Owns: one function per command. Reads: the library's public API and the helpers the other
//! commands share (`commands`, `provenance`). Never: the model's internals.

use super::commands::{done, load, pool};
use super::provenance::*;
use super::*;
use paymarket::Scenario;
use std::process::ExitCode;

/// `paymarket sensitivity`.
pub fn sensitivity(a: SensitivityArgs, start: Instant) -> Res<ExitCode> {
    use paymarket::experiment::sensitivity::Study;
    let root = pool(a.common.threads)?;
    let study = Study {
        vs: a.vs.as_ref().map(|p| load(p, Some(&a.size))).transpose()?,
        effect_of: a.effect_of.clone(),
        end: a.end,
        ranges: a.range.clone(),
        outputs: a.output.clone(),
        method: a.method.clone(),
        budget: a.budget as usize,
        replicates: a.replicates,
        seed: a.seed,
        bootstrap: a.bootstrap as usize,
        independent: a.independent_seeds,
        extend: a.extend.clone(),
        spread: a.spread,
        ..Study::new(load(&a.scenario, Some(&a.size))?)
    };
    let (prepared, report) = study.run()?;
    if !root {
        return Ok(ExitCode::SUCCESS);
    }
    #[cfg(feature = "charts")]
    let draw: Option<paymarket::experiment::sensitivity::study::Drawer> =
        Some(paymarket::chart::sensitivity_chart);
    #[cfg(not(feature = "charts"))]
    let draw = None;
    study.write(&a.common.out, &prepared, &report, command_line(), draw)?;
    print!("{}", report.text(&prepared.spec));
    if let Some(dir) = &a.extend {
        println!(
            "{} of {} points reused from {}",
            report.reused,
            report.points.len(),
            dir.display()
        );
    }
    done(
        &format!(
            "{} points × {} replicates",
            report.points.len(),
            prepared.spec.replicates
        ),
        start,
        &a.common.out,
    );
    Ok(ExitCode::SUCCESS)
}

/// The scenario `paymarket serve` explores without a file: the calibrated history.
#[cfg(feature = "serve")]
const HISTORY: &str = include_str!("../../../data/scenarios/china_2012_2021_calibrated.toml");

/// `paymarket serve`.
#[cfg(feature = "serve")]
pub fn serve(a: ServeArgs) -> Res<ExitCode> {
    use paymarket::serve::{api::Limits, Config, Server};
    pool(a.threads)?;
    let scenario = match &a.scenario {
        Some(p) => Scenario::load(p)?,
        None => Scenario::from_toml_str(HISTORY, "the built-in calibrated history")?,
    };
    let merchants = a.merchants.unwrap_or(a.users / 10);
    let mut config = Config::new(scenario);
    config.host = a.host.clone();
    config.port = a.port;
    config.users = a.users;
    config.merchants = merchants;
    config.limits = Limits {
        max_users: a.max_users,
        max_merchants: a.max_merchants,
        max_replicates: a.max_replicates,
        ..Limits::default()
    };
    if a.users > a.max_users || merchants > a.max_merchants {
        return Err(format!(
            "--users {} and --merchants {merchants} must be within --max-users {} and --max-merchants {}",
            a.users, a.max_users, a.max_merchants
        )
        .into());
    }
    let loopback = a
        .host
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(a.host == "localhost");
    let server = Server::bind(config)?;
    let address = server.address()?;
    if !loopback {
        eprintln!(
            "warning: listening on {address}: anyone who can reach this port can run simulations \
             on this machine (within --max-users and --max-replicates)"
        );
    }
    let shown = if loopback {
        format!("http://127.0.0.1:{}", address.port())
    } else {
        format!("http://{address}")
    };
    println!("paymarket explorer at {shown}  (Ctrl-C stops it)");
    server.run();
    Ok(ExitCode::SUCCESS)
}
