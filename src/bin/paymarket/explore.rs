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
    use paymarket::experiment::sensitivity::{analyse, write_files, Method, Output, Spec};
    let root = pool(a.common.threads)?;
    let mut s = load(&a.scenario, Some(&a.size))?;
    let mut vs = a.vs.as_ref().map(|p| load(p, Some(&a.size))).transpose()?;
    if let Some(end) = a.end {
        for x in std::iter::once(&mut s).chain(vs.as_mut()) {
            if end < x.start {
                return Err(
                    format!("--end {end} is before the scenario's start {}", x.start).into(),
                );
            }
            x.end = end;
            x.validate_as("the scenario extended by --end")?;
        }
    }
    let ranges: Vec<(String, f64, f64)> = a
        .range
        .iter()
        .map(|spec| {
            let parsed = spec.split_once('=').and_then(|(p, r)| {
                let (lo, hi) = r.split_once(':')?;
                Some((p.to_string(), lo.parse().ok()?, hi.parse().ok()?))
            });
            parsed.ok_or_else(|| {
                format!("--range {spec:?}: write PATH=LO:HI, e.g. params.churn_rate=0.05:0.2")
            })
        })
        .collect::<Result<_, _>>()?;
    // The scenario as given (the set's resolved scenario), then the analysed pair.
    let given = s.clone();
    if let Some(group) = &a.effect_of {
        let without: Vec<_> = s
            .events
            .iter()
            .filter(|e| e.group.as_deref() != Some(group.as_str()))
            .cloned()
            .collect();
        if without.len() == s.events.len() {
            return Err(format!(
                "--effect-of {group}: no event of {} has group = {group:?}",
                a.scenario.display()
            )
            .into());
        }
        vs = Some(s.clone());
        s.events = without;
        s.name = format!("{}_without_{group}", s.name);
    }
    let outputs: Vec<Output> = a
        .output
        .iter()
        .map(|o| Output::parse(o, &s))
        .collect::<paymarket::Result<_>>()?;
    let spec = Spec {
        method: Method::with_budget(&a.method, a.budget as usize, ranges.len())?,
        ranges,
        outputs,
        replicates: a.replicates,
        seed: a.seed.unwrap_or(s.seed),
        bootstrap: a.bootstrap as usize,
        vs,
        independent: a.independent_seeds,
    };
    let report = analyse(&s, &spec)?;
    if !root {
        return Ok(ExitCode::SUCCESS);
    }
    let mut rerun = vec![
        "sensitivity".to_string(),
        RESOLVED.into(),
        "--method".into(),
        spec.method.name().into(),
    ];
    for r in &a.range {
        rerun.extend(["--range".into(), r.clone()]);
    }
    for o in &a.output {
        rerun.extend(["--output".into(), o.clone()]);
    }
    for (flag, v) in [
        ("--budget", a.budget.to_string()),
        ("--replicates", spec.replicates.to_string()),
        ("--seed", spec.seed.to_string()),
        ("--bootstrap", a.bootstrap.to_string()),
    ] {
        rerun.extend([flag.to_string(), v]);
    }
    if a.independent_seeds {
        rerun.push("--independent-seeds".into());
    }
    let alt = "alternative.resolved.toml";
    let mut scenarios = vec![(RESOLVED, &given)];
    if let Some(group) = &a.effect_of {
        rerun.extend(["--effect-of".into(), group.clone()]);
    } else if let Some(v) = &spec.vs {
        rerun.extend(["--vs".into(), alt.into()]);
        scenarios.push((alt, v));
    }
    let mut set = begin(
        &a.common.out,
        "sensitivity",
        &scenarios,
        spec.seed,
        None,
        rerun,
    )?;
    set.add(write_files(&a.common.out, &report, &spec)?);
    #[cfg(feature = "charts")]
    set.add(paymarket::chart::sensitivity_chart(&a.common.out, &report)?);
    set.finish()?;
    for r in &report.rows {
        let zero = if r.estimate.includes_zero() {
            "  (interval includes 0)"
        } else {
            ""
        };
        println!(
            "{:<44} {:<32} {:<8} {:>11.4} [{:.4}, {:.4}]{zero}",
            r.output, r.parameter, r.index, r.estimate.estimate, r.estimate.lo, r.estimate.hi
        );
    }
    for (o, n) in spec.outputs.iter().zip(&report.noise) {
        println!(
            "{}: seed noise is {:.1}% of its variance",
            o.text,
            100.0 * n.share()
        );
    }
    done(
        &format!(
            "{} points × {} replicates",
            report.points.len(),
            spec.replicates
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
