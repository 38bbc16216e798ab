//! The explorer's server (`paymarket serve`) over real HTTP: every endpoint with good and bad
//! requests, the limits, streaming, cancelling and queueing, downloads; the streamed numbers
//! against the library's runs, ensembles and comparisons of the same edits.
#![cfg(feature = "serve")]

use paymarket::experiment::{compare, ensemble, Plan};
use paymarket::serve::{api::Limits, Config, Server};
use paymarket::{Scenario, Simulation};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};

fn duopoly() -> Scenario {
    Scenario::load("data/scenarios/duopoly.toml").unwrap()
}

fn server(max_queue: usize) -> SocketAddr {
    let mut c = Config::new(duopoly());
    c.port = 0;
    c.users = 2_000;
    c.merchants = 200;
    c.max_queue = max_queue;
    c.limits = Limits {
        max_users: 300_000,
        max_merchants: 30_000,
        max_replicates: 8,
        ..Limits::default()
    };
    Server::bind(c).unwrap().spawn().unwrap()
}

/// Sends raw bytes; returns the status, the head and the body (read to the end).
fn raw(addr: SocketAddr, bytes: &[u8]) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(bytes).unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an answer");
    let head = String::from_utf8_lossy(&all[..end]).to_string();
    let status = head[9..12].parse().unwrap();
    (status, head, all[end + 4..].to_vec())
}

fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String, Vec<u8>) {
    let text = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\n\r\n{body}",
        addr.port(),
        body.len()
    );
    raw(addr, text.as_bytes())
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap()
}

/// A run's lines, read as they stream.
fn run_lines(addr: SocketAddr, edits: &Value) -> Vec<Value> {
    let (status, _, body) = request(addr, "POST", "/api/run", &edits.to_string());
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    body.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

/// The run's `start` line.
fn started(lines: &[Value]) -> &Value {
    lines
        .iter()
        .find(|l| l["type"] == "start")
        .expect("a start line")
}

/// The `[mean, lo, hi, n]` of series `(metric, key1)` on side `side` of a month line.
fn cell<'a>(start: &Value, line: &'a Value, side: &str, metric: &str, key1: &str) -> &'a Value {
    let k = start["series"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s[0] == metric && s[1] == key1)
        .unwrap_or_else(|| panic!("no series {metric} {key1}"));
    &line[side][k]
}

#[test]
fn the_page_and_its_assets_are_served_and_request_nothing_from_elsewhere() {
    let addr = server(8);
    for (path, kind) in [
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/style.css", "text/css"),
    ] {
        let (status, head, body) = request(addr, "GET", path, "");
        assert_eq!(status, 200, "{path}");
        assert!(head.contains(&format!("Content-Type: {kind}")), "{head}");
        assert!(head.contains("Content-Security-Policy: default-src 'self'"));
        let text = String::from_utf8(body).unwrap();
        // The SVG namespace is a name, not a request.
        let outside = text
            .replace("http://www.w3.org/2000/svg", "")
            .contains("http");
        assert!(!outside, "{path} refers to another site");
    }
    let (_, _, page) = request(addr, "GET", "/", "");
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("src=\"/app.js\"") && page.contains("href=\"/style.css\""));
}

#[test]
fn the_scenario_is_described_with_its_events_numbers_groups_and_bounds() {
    let mut c =
        Config::new(Scenario::load("data/scenarios/china_2012_2021_calibrated.toml").unwrap());
    c.port = 0;
    let addr = Server::bind(c).unwrap().spawn().unwrap();
    let (status, _, body) = request(addr, "GET", "/api/scenario", "");
    assert_eq!(status, 200);
    let d = json_of(&body);
    let s = Scenario::load("data/scenarios/china_2012_2021_calibrated.toml").unwrap();
    let events = d["events"].as_array().unwrap();
    assert_eq!(events.len(), s.events.len());
    assert_eq!(
        (d["users"].as_u64(), d["merchants"].as_u64()),
        (Some(50_000), Some(5_000))
    );
    let grouped = events.iter().filter(|e| e["group"] == "miit_2021").count();
    assert_eq!(grouped, 6, "the 2021 order's events share a group");
    let deposit = events
        .iter()
        .find(|e| e["kind"] == "deposit")
        .expect("the deposit event");
    assert_eq!(deposit["number"]["field"], "amount");
    assert_eq!(deposit["number"]["value"].as_f64(), Some(50_000.0));
    for e in events {
        if let Some(n) = e["number"].as_object() {
            let (lo, v, hi) = (
                n["lo"].as_f64().unwrap(),
                n["value"].as_f64().unwrap(),
                n["hi"].as_f64().unwrap(),
            );
            assert!(lo <= v && v <= hi, "{e}");
        }
    }
    let params = d["params"].as_array().unwrap();
    assert!(params.iter().any(|p| p["path"] == "params.churn_rate"));
    for p in params {
        let (lo, v, hi) = (
            p["lo"].as_f64().unwrap(),
            p["value"].as_f64().unwrap(),
            p["hi"].as_f64().unwrap(),
        );
        assert!(lo <= v && v <= hi, "{p}");
    }
}

/// One replicate is `Simulation::new` of the edited scenario (what `paymarket run` of the
/// downloaded file does): every month's value share and holders, exactly.
#[test]
fn a_run_streams_every_month_and_is_the_librarys_run_of_the_edits() {
    let addr = server(8);
    let edits = json!({"users": 3000, "merchants": 300, "seed": 5,
                       "params": {"params.churn_rate": 0.05}});
    let lines = run_lines(addr, &edits);
    assert_eq!(lines[0]["type"], "accepted", "the id comes first");
    let start = started(&lines);
    let months: Vec<&Value> = lines.iter().filter(|l| l["type"] == "month").collect();
    let mut s = duopoly();
    assert_eq!(months.len(), s.months());
    assert_eq!(lines.last().unwrap()["type"], "done");
    s.agents.users = 3000;
    s.agents.merchants = 300;
    s.seed = 5;
    s.params.churn_rate = 0.05;
    let mut collect = paymarket::Collect::default();
    Simulation::new(s)
        .unwrap()
        .run(&mut [&mut collect])
        .unwrap();
    for (line, report) in months.iter().zip(&collect.reports) {
        assert_eq!(line["month"], report.month.to_string());
        for p in &report.platforms {
            let share = cell(start, line, "edited", "value_share", &p.platform);
            assert_eq!(
                share[0].as_f64(),
                p.value_share,
                "{} {}",
                report.month,
                p.platform
            );
            let users = cell(start, line, "edited", "users", &p.platform);
            assert_eq!(users[0].as_f64(), Some(p.users));
            assert_eq!(users[3], 1);
            assert!(users[1].is_null(), "no interval from one run");
        }
    }
    // The scenario download is the edited scenario, the one just compared with.
    let (status, head, toml) = request(addr, "POST", "/api/toml", &edits.to_string());
    assert_eq!(status, 200);
    assert!(
        head.contains("attachment; filename=\"duopoly.toml\""),
        "{head}"
    );
    let back = Scenario::from_toml_str(std::str::from_utf8(&toml).unwrap(), "download").unwrap();
    assert_eq!(
        (back.agents.users, back.seed, back.params.churn_rate),
        (3000, 5, 0.05)
    );
    // The run's table: every month, side and series.
    let id = start["id"].as_u64().unwrap();
    let (status, _, csv) = request(addr, "GET", &format!("/api/result?id={id}&format=csv"), "");
    assert_eq!(status, 200);
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with("month,side,metric,key1,key2,mean,ci_low,ci_high,n\n"));
    let series = start["series"].as_array().unwrap().len();
    assert_eq!(csv.lines().count(), 1 + months.len() * series);
    let (status, _, parquet) = request(
        addr,
        "GET",
        &format!("/api/result?id={id}&format=parquet"),
        "",
    );
    assert_eq!(status, 200);
    assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
}

/// Several replicates are the ensemble of `paymarket ensemble --seed`; a comparison's effect
/// is the paired effect of `paymarket compare` on the same seeds.
#[test]
fn replicates_are_the_ensemble_and_the_effect_is_the_paired_comparison() {
    let addr = server(8);
    let base = duopoly();
    let block = base
        .events
        .iter()
        .position(|e| e.at >= "2021-01".parse().unwrap())
        .expect("a late event");
    let edits = json!({"users": 2000, "merchants": 200, "seed": 9, "replicates": 3,
                       "compare": true, "events": [{"index": block, "enabled": false}]});
    let lines = run_lines(addr, &edits);
    let start = started(&lines);
    let last = lines.iter().rev().find(|l| l["type"] == "month").unwrap();
    let mut original = base.clone();
    original.agents.users = 2000;
    original.agents.merchants = 200;
    original.seed = 9;
    let mut edited = original.clone();
    edited.events.remove(block);
    edited.name = "edited".into();
    let plan = Plan {
        replicates: 3,
        seed: 9,
        ..Plan::default()
    };
    let summary = ensemble(&edited, &plan, &mut []).unwrap();
    let effects = compare(&original, &edited, &plan, None, &mut []).unwrap();
    let t = summary.months().len() - 1;
    for p in original.platform_ids() {
        let got = cell(start, last, "edited", "value_share", p);
        let want = summary.get(t, "platforms", p, "", "value_share").unwrap();
        assert_eq!(got[0].as_f64(), Some(want.mean()), "{p}");
        assert_eq!(got[3], 3);
        let got = cell(start, last, "effect", "value_share", p);
        let want = effects.get(t, "platforms", p, "", "value_share").unwrap();
        assert_eq!(got[0].as_f64(), Some(want.mean()), "{p}");
        let (lo, hi) = want.ci95();
        assert_eq!(
            (got[1].as_f64(), got[2].as_f64()),
            (Some(lo), Some(hi)),
            "{p}"
        );
    }
}

#[test]
fn bad_requests_get_a_4xx_and_a_message_and_the_server_goes_on() {
    let addr = server(8);
    let problems = |edits: Value| -> Vec<String> {
        let (status, _, body) = request(addr, "POST", "/api/run", &edits.to_string());
        assert_eq!(status, 422, "{edits}: {}", String::from_utf8_lossy(&body));
        json_of(&body)["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["path"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        problems(json!({"params": {"params.churn_rate": 7}})),
        ["params.churn_rate"]
    );
    assert_eq!(
        problems(json!({"params": {"params.nothing": 1}})),
        ["params.nothing"]
    );
    assert_eq!(problems(json!({"users": 10_000_000})), ["agents.users"]);
    // The limits hold whichever way the counts are asked for.
    assert_eq!(
        problems(json!({"params": {"agents.users": 1e9}})),
        ["agents.users"]
    );
    assert_eq!(problems(json!({"params": {"seed": 3}})), ["seed"]);
    assert_eq!(problems(json!({"replicates": 0})), ["replicates"]);
    assert_eq!(problems(json!({"replicates": 9})), ["replicates"]);
    assert_eq!(
        problems(json!({"events": [{"index": 999}]})),
        ["event[999]"]
    );
    assert_eq!(
        problems(json!({"events": [{"index": 0, "at": "2021-13"}]})),
        ["event[0].at"]
    );
    assert_eq!(
        problems(json!({"events": [{"index": 0, "at": "1999-01"}]})).len(),
        1,
        "an event moved before the start"
    );
    for (method, path, body, status) in [
        ("POST", "/api/run", "{not json", 400),
        ("POST", "/api/run", "{\"bogus\": 1}", 400),
        ("POST", "/api/run", "{\"users\": -5}", 400),
        ("GET", "/api/run", "", 405),
        ("POST", "/", "", 405),
        ("GET", "/etc/passwd", "", 404),
        ("GET", "/../Cargo.toml", "", 404),
        ("POST", "/api/cancel", "{}", 400),
        ("GET", "/api/result", "", 400),
        ("GET", "/api/result?id=77", "", 404),
        ("GET", "/api/result?id=1&format=xml", "", 400),
        ("GET", "/api/result?path=/etc", "", 400),
    ] {
        let (got, _, answer) = request(addr, method, path, body);
        assert_eq!(got, status, "{method} {path} {body}");
        assert!(json_of(&answer)["error"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    let big = "x".repeat(65 * 1024);
    assert_eq!(request(addr, "POST", "/api/run", &big).0, 413);
    let port = addr.port();
    for (bytes, status) in [
        (format!("GET / HTTP/1.1\r\nHost: evil.example:{port}\r\n\r\n"), 403),
        ("GET / HTTP/1.1\r\n\r\n".to_string(), 403),
        (format!("POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n\r\n"), 411),
        ("\u{1}\u{2} garbage\r\n\r\n".to_string(), 400),
        (format!("GET / HTTP/9\r\nHost: 127.0.0.1:{port}\r\n\r\n"), 505),
    ] {
        assert_eq!(raw(addr, bytes.as_bytes()).0, status, "{bytes:?}");
    }
    // Still serving.
    assert_eq!(request(addr, "GET", "/api/scenario", "").0, 200);
}

/// One run at a time: a second waits, told how many are ahead; a third beyond the queue is
/// refused; a cancel ends a run between months, and the next one goes.
#[test]
fn runs_queue_and_cancel() {
    let addr = server(1);
    let long = json!({"users": 300_000, "merchants": 30_000, "replicates": 8});
    let mut a = TcpStream::connect(addr).unwrap();
    let body = long.to_string();
    write!(
        a,
        "POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\n\r\n{body}",
        addr.port(),
        body.len()
    )
    .unwrap();
    let mut a = BufReader::new(a);
    let mut line = String::new();
    while line != "\r\n" {
        line.clear();
        a.read_line(&mut line).unwrap();
    }
    let mut id = None;
    while id.is_none() {
        line.clear();
        a.read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        if v["type"] == "start" {
            id = v["id"].as_u64();
        }
    }
    let id = id.unwrap();
    // The second waits behind the first.
    let second =
        std::thread::spawn(move || run_lines(addr, &json!({"users": 1000, "merchants": 100})));
    std::thread::sleep(std::time::Duration::from_millis(300));
    // The queue holds one: a third is refused.
    let (status, _, _) = request(addr, "POST", "/api/run", "{}");
    assert_eq!(status, 503);
    let (status, _, body) = request(addr, "POST", "/api/cancel", &json!({"id": id}).to_string());
    assert_eq!(status, 200);
    assert_eq!(json_of(&body)["cancelled"], true);
    let mut rest = String::new();
    a.read_to_string(&mut rest).unwrap();
    let last: Value = serde_json::from_str(rest.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "cancelled");
    let months = rest.lines().filter(|l| l.contains("\"month\"")).count();
    assert!(months < duopoly().months(), "cancelled before the end");
    let lines = second.join().unwrap();
    assert_eq!(lines[0]["type"], "accepted");
    assert_eq!(lines[1]["type"], "queued");
    assert_eq!(lines[1]["ahead"], 1);
    assert_eq!(lines.last().unwrap()["type"], "done");
    let (_, _, body) = request(
        addr,
        "POST",
        "/api/cancel",
        &json!({"id": 12345}).to_string(),
    );
    assert_eq!(json_of(&body)["cancelled"], false);
}
