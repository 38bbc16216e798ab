//! The explorer (`paymarket serve`, feature `serve`): a local web server that runs the real
//! engine for one page. The page edits the served scenario (events switched off, moved or given
//! another number; parameters; agent counts, replicates, seed), runs it and draws the market
//! month by month as the runs stream in, against the served scenario on the same seeds when
//! asked (the paired effect with its 95% band), and downloads what it shows (CSV, Parquet) and
//! the edited scenario (TOML) so the CLI can run it again.
//!
//! Safety: loopback by default; every request read within bounds ([`http`]); a `Host` header
//! other than the server's own refused (no DNS rebinding); every edit validated by the
//! scenario's own rules before it reaches the engine ([`api::apply`]); agent counts and
//! replicates capped ([`api::Limits`]); one run at a time, the others queued up to
//! `max_queue`; no path from a request to the file system. A bad request gets a 4xx and a
//! message.
//!
//! Endpoints: `GET /` (the page), `/app.js`, `/style.css`, `/api/scenario` (the scenario
//! described: [`api::describe`]); `POST /api/run` (edits as JSON → one JSON line a month:
//! [`run::stream`]), `/api/cancel` (`{"id": N}`), `/api/toml` (edits → the edited scenario);
//! `GET /api/result?id=N&format=csv|parquet` (a finished run's table).
//!
//! Owns: [`Config`], [`Server`]. Reads: `api`, `run`, `http`. Never: the rules.

pub mod api;
pub mod http;
pub mod run;

use crate::error::{Error, Result};
use crate::record::{Format, Frame};
use crate::scenario::Scenario;
use http::{read_request, respond, Request, Stream};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

const PAGE: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/app.js");
const STYLE: &str = include_str!("page/style.css");

/// What the server serves and within which bounds.
#[derive(Debug, Clone)]
pub struct Config {
    /// The scenario the page explores.
    pub scenario: Scenario,
    /// The interface to listen on (`127.0.0.1` unless told otherwise).
    pub host: String,
    /// The port (0: any free one).
    pub port: u16,
    /// Default user agents of a run.
    pub users: u64,
    /// Default merchant agents of a run.
    pub merchants: u64,
    /// What one request may ask for.
    pub limits: api::Limits,
    /// Bytes of a request body at most.
    pub max_body: usize,
    /// Connections served at once at most (more get 503).
    pub max_connections: usize,
    /// Runs waiting for their turn at most (more get 503).
    pub max_queue: usize,
}

impl Config {
    /// A configuration for `scenario` on 127.0.0.1, port 8080, 50,000 users and 5,000
    /// merchants by default, default limits.
    pub fn new(scenario: Scenario) -> Config {
        Config {
            scenario,
            host: "127.0.0.1".into(),
            port: 8080,
            users: 50_000,
            merchants: 5_000,
            limits: api::Limits::default(),
            max_body: 64 * 1024,
            max_connections: 32,
            max_queue: 8,
        }
    }
}

/// Runs waiting and running, and their cancel flags.
#[derive(Default)]
struct Runs {
    running: Option<u64>,
    queue: VecDeque<u64>,
    cancel: HashMap<u64, Arc<AtomicBool>>,
}

/// Finished runs kept for download: id, table, the edited scenario's TOML.
type Kept = VecDeque<(u64, Frame, String)>;

/// Finished runs kept for download at most.
const KEPT: usize = 16;

struct State {
    config: Config,
    hosts: Vec<String>,
    next_id: AtomicU64,
    runs: Mutex<Runs>,
    turn: Condvar,
    results: Mutex<Kept>,
    connections: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A bound server; [`Server::run`] serves until the process ends.
pub struct Server {
    listener: TcpListener,
    state: Arc<State>,
}

impl Server {
    /// Validates the scenario and binds the address.
    pub fn bind(config: Config) -> Result<Server> {
        config.scenario.validate_as("the served scenario")?;
        let listener = TcpListener::bind((config.host.as_str(), config.port)).map_err(|e| {
            Error::Config(format!(
                "cannot listen on {}:{}: {e}; choose another --port or --host",
                config.host, config.port
            ))
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::Config(format!("no local address: {e}")))?
            .port();
        let mut hosts: Vec<String> = ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .map(|h| format!("{h}:{port}"))
            .collect();
        hosts.push(format!("{}:{port}", config.host));
        Ok(Server {
            listener,
            state: Arc::new(State {
                config,
                hosts,
                next_id: AtomicU64::new(1),
                runs: Mutex::new(Runs::default()),
                turn: Condvar::new(),
                results: Mutex::new(VecDeque::new()),
                connections: AtomicUsize::new(0),
            }),
        })
    }

    /// The address it listens on.
    pub fn address(&self) -> Result<SocketAddr> {
        self.listener
            .local_addr()
            .map_err(|e| Error::Config(format!("no local address: {e}")))
    }

    /// Serves connections, each on its own thread, until the process ends.
    pub fn run(self) {
        for stream in self.listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let state = self.state.clone();
            if state.connections.fetch_add(1, Ordering::SeqCst) >= state.config.max_connections {
                state.connections.fetch_sub(1, Ordering::SeqCst);
                refuse(&mut stream, 503, "too many connections; try again shortly");
                continue;
            }
            std::thread::spawn(move || {
                // A failure inside one request never takes the server down.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    connection(&state, stream)
                }));
                state.connections.fetch_sub(1, Ordering::SeqCst);
            });
        }
    }

    /// Serves on a background thread; returns the address (for tests and embedding).
    pub fn spawn(self) -> Result<SocketAddr> {
        let address = self.address()?;
        std::thread::spawn(move || self.run());
        Ok(address)
    }
}

fn refuse(stream: &mut impl Write, status: u16, message: &str) {
    let body = json!({ "error": message }).to_string();
    respond(stream, status, "application/json", body.as_bytes(), &[]);
}

fn connection(state: &State, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let request = match read_request(&mut stream, state.config.max_body) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(r) => return refuse(&mut stream, r.status, &r.message),
    };
    if !state.hosts.contains(&request.host) {
        let message = format!(
            "Host {:?} is not this server's; open it as http://{}",
            request.host, state.hosts[0]
        );
        return refuse(&mut stream, 403, &message);
    }
    route(state, &request, &mut stream);
}

fn route(state: &State, r: &Request, out: &mut TcpStream) {
    let ok = |out: &mut TcpStream, kind: &str, body: &[u8]| respond(out, 200, kind, body, &[]);
    match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/") => ok(out, "text/html; charset=utf-8", PAGE.as_bytes()),
        ("GET", "/app.js") => ok(out, "text/javascript; charset=utf-8", SCRIPT.as_bytes()),
        ("GET", "/style.css") => ok(out, "text/css; charset=utf-8", STYLE.as_bytes()),
        ("GET", "/api/scenario") => {
            let c = &state.config;
            let body = api::describe(&c.scenario, c.users, c.merchants, &c.limits).to_string();
            ok(out, "application/json", body.as_bytes())
        }
        ("POST", "/api/run") => run_request(state, r, out),
        ("POST", "/api/cancel") => cancel(state, r, out),
        ("POST", "/api/toml") => match prepare(state, r) {
            Ok(p) => match p.edited.to_toml() {
                Ok(text) => respond(
                    out,
                    200,
                    "application/toml; charset=utf-8",
                    text.as_bytes(),
                    &[("Content-Disposition", attachment(&p.edited.name, "toml"))],
                ),
                Err(e) => refuse(out, 422, &e.to_string()),
            },
            Err((status, body)) => respond(out, status, "application/json", body.as_bytes(), &[]),
        },
        ("GET", "/api/result") => result(state, r, out),
        (_, "/" | "/app.js" | "/style.css" | "/api/scenario" | "/api/result") => {
            refuse(out, 405, &format!("{} takes GET", r.path))
        }
        (_, "/api/run" | "/api/cancel" | "/api/toml") => {
            refuse(out, 405, &format!("{} takes POST", r.path))
        }
        _ => refuse(out, 404, &format!("nothing at {}", r.path)),
    }
}

fn attachment(name: &str, ext: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("attachment; filename=\"{safe}.{ext}\"")
}

/// The request's edits applied, or the status and JSON body of the refusal: 400 for a body
/// that is not the edits' JSON, 422 with `problems` (field path, message) for edits the
/// scenario's rules refuse.
fn prepare(state: &State, r: &Request) -> std::result::Result<api::Prepared, (u16, String)> {
    let edits: api::Edits = serde_json::from_slice(&r.body).map_err(|e| {
        (
            400,
            json!({ "error": format!("the request body is not the edits' JSON: {e}") }).to_string(),
        )
    })?;
    let c = &state.config;
    api::apply(&c.scenario, &edits, &c.limits, c.users, c.merchants).map_err(|problems| {
        let list: Vec<Value> = problems
            .iter()
            .map(|p| json!({"path": p.path, "message": p.message}))
            .collect();
        (
            422,
            json!({ "error": "the edits do not make a valid scenario", "problems": list })
                .to_string(),
        )
    })
}

/// Leaves the queue (or the running slot) whatever way the request ends.
struct Turn<'a> {
    state: &'a State,
    id: u64,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut runs = lock(&self.state.runs);
        runs.queue.retain(|&q| q != self.id);
        if runs.running == Some(self.id) {
            runs.running = None;
        }
        runs.cancel.remove(&self.id);
        self.state.turn.notify_all();
    }
}

fn run_request(state: &State, r: &Request, out: &mut TcpStream) {
    let job = match prepare(state, r) {
        Ok(p) => p,
        Err((status, body)) => {
            return respond(out, status, "application/json", body.as_bytes(), &[]);
        }
    };
    let id = state.next_id.fetch_add(1, Ordering::SeqCst);
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let mut runs = lock(&state.runs);
        if runs.queue.len() >= state.config.max_queue {
            drop(runs);
            return refuse(out, 503, "too many runs are waiting; try again shortly");
        }
        runs.queue.push_back(id);
        runs.cancel.insert(id, cancel.clone());
    }
    let turn = Turn { state, id };
    let Ok(mut stream) = Stream::start(out, "application/x-ndjson") else {
        return;
    };
    let mut send = |v: &Value| stream.line(&v.to_string()).is_ok();
    // The id first, so the page can cancel the run from the start.
    if !send(&json!({"type": "accepted", "id": id})) {
        return;
    }
    // Wait for the turn, saying where in the queue the run is.
    let mut shown = usize::MAX;
    {
        let mut runs = lock(&state.runs);
        loop {
            if cancel.load(Ordering::Relaxed) {
                drop(runs);
                send(&json!({"type": "cancelled", "id": id}));
                return;
            }
            let place = runs.queue.iter().position(|&q| q == id).unwrap_or(0);
            if runs.running.is_none() && place == 0 {
                runs.queue.pop_front();
                runs.running = Some(id);
                break;
            }
            let ahead = place + usize::from(runs.running.is_some());
            // Keep the client informed (and notice one that left) without holding the lock
            // while writing to it.
            drop(runs);
            let line = if ahead != shown {
                json!({"type": "queued", "id": id, "ahead": ahead})
            } else {
                json!({"type": "waiting", "id": id})
            };
            shown = ahead;
            if !send(&line) {
                return;
            }
            runs = lock(&state.runs);
            runs = state
                .turn
                .wait_timeout(runs, Duration::from_millis(250))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
    match run::stream(&job, id, &cancel, &mut send) {
        Ok((run::Ended::Done, table)) => {
            let toml = job.edited.to_toml().unwrap_or_default();
            let mut kept = lock(&state.results);
            kept.push_back((id, table, toml));
            while kept.len() > KEPT {
                kept.pop_front();
            }
            drop(kept);
            send(&json!({"type": "done", "id": id}));
        }
        Ok((run::Ended::Cancelled, _)) => {
            send(&json!({"type": "cancelled", "id": id}));
        }
        Ok((run::Ended::Gone, _)) => {}
        Err(e) => {
            send(&json!({"type": "error", "id": id, "message": e.to_string()}));
        }
    }
    drop(turn);
}

fn cancel(state: &State, r: &Request, out: &mut TcpStream) {
    let id = serde_json::from_slice::<Value>(&r.body)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_u64));
    let Some(id) = id else {
        return refuse(out, 400, "the body must be {\"id\": N}, N a run's id");
    };
    let flag = lock(&state.runs).cancel.get(&id).cloned();
    let found = flag.is_some();
    if let Some(f) = flag {
        f.store(true, Ordering::Relaxed);
        state.turn.notify_all();
    }
    let body = json!({"id": id, "cancelled": found}).to_string();
    respond(out, 200, "application/json", body.as_bytes(), &[]);
}

fn result(state: &State, r: &Request, out: &mut TcpStream) {
    let mut id = None;
    let mut format = Format::Csv;
    for pair in r.query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("id", v)) => id = v.parse::<u64>().ok(),
            Some(("format", v)) => match v.parse::<Format>() {
                Ok(f) => format = f,
                Err(e) => return refuse(out, 400, &e),
            },
            _ => {
                return refuse(
                    out,
                    400,
                    &format!("unknown query {pair:?}: use id=N&format=csv"),
                )
            }
        }
    }
    let Some(id) = id else {
        return refuse(
            out,
            400,
            "say which run: /api/result?id=N&format=csv|parquet",
        );
    };
    let kept = lock(&state.results);
    let Some((_, table, _)) = kept.iter().find(|(k, _, _)| *k == id) else {
        return refuse(
            out,
            404,
            &format!("no finished run {id} is kept (the last {KEPT} are)"),
        );
    };
    match crate::record::frame_bytes(table, format) {
        Ok(bytes) => {
            let kind = match format {
                Format::Csv => "text/csv; charset=utf-8",
                Format::Parquet => "application/vnd.apache.parquet",
            };
            let name = attachment(&format!("explorer-{id}"), format.extension());
            respond(out, 200, kind, &bytes, &[("Content-Disposition", name)]);
        }
        Err(e) => refuse(out, 400, &e.to_string()),
    }
}
