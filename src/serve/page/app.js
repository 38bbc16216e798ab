// The paymarket explorer's page: edits the served scenario, runs it on the server and draws
// the market as the months stream in. No external requests: everything is served by
// `paymarket serve`.
"use strict";

const COLORS = ["#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"];
const $ = (id) => document.getElementById(id);
const state = {
  desc: null,      // the served scenario, as /api/scenario describes it
  series: [],      // [metric, key1, key2] of each value in a month line
  months: [],      // month lines received
  shown: 0,        // months drawn
  playing: true,
  id: null,        // the run's id on the server
  done: false,
  compare: false,
  abort: null,
};

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function monthIndex(m) {
  const [y, mo] = m.split("-").map(Number);
  const [y0, m0] = state.desc.start.split("-").map(Number);
  return (y - y0) * 12 + (mo - m0);
}

function addMonths(m, k) {
  const [y, mo] = m.split("-").map(Number);
  const t = y * 12 + (mo - 1) + k;
  return `${Math.floor(t / 12)}-${String((t % 12) + 1).padStart(2, "0")}`;
}

function problemBox(path) {
  return el("div", { class: "problem", "data-path": path });
}

// ---- The controls -------------------------------------------------------------------------

function fillEvents() {
  const list = $("events");
  list.replaceChildren();
  for (const e of state.desc.events) {
    const li = el("li", { id: `event-${e.index}`, "data-index": e.index });
    const on = el("input", { type: "checkbox", class: "on", title: "in force" });
    on.checked = true;
    on.addEventListener("change", () => {
      setGroup(e, (x) => { x.querySelector(".on").checked = on.checked; });
      draw();
    });
    const at = el("input", { type: "month", class: "at", value: e.at, min: state.desc.start, max: state.desc.end });
    at.dataset.was = e.at;
    at.addEventListener("change", () => {
      if (!/^\d{4}-\d{2}$/.test(at.value)) return;
      setGroup(e, null, monthIndex(at.value) - monthIndex(at.dataset.was));
      at.dataset.was = at.value;
      draw();
    });
    const what = [e.kind, e.platform, e.channel, e.context, e.network].filter(Boolean).join(" · ");
    li.append(on, " ", at, " ", el("span", { class: "what", text: what }));
    if (e.group) li.append(" ", el("span", { class: "group", text: e.group }));
    if (e.number) {
      const n = e.number;
      const num = el("input", { type: "number", class: "number", step: "any", value: n.value, min: n.lo, max: n.hi, title: n.field });
      li.append(" ", el("label", { text: `${n.field} ` }, num));
      li.append(problemBox(`event[${e.index}].${n.field}`));
    }
    li.append(el("span", { class: "source", text: e.source || "" }));
    li.append(problemBox(`event[${e.index}]`), problemBox(`event[${e.index}].at`));
    list.append(li);
  }
}

// Applies `f` to every event of `e`'s group (and to `e`); a move shifts them all by `shift`.
function setGroup(e, f, shift) {
  const members = e.group ? state.desc.events.filter((x) => x.group === e.group) : [e];
  for (const m of members) {
    const li = $(`event-${m.index}`);
    if (shift !== undefined && m.index !== e.index) {
      const a = li.querySelector(".at");
      a.value = addMonths(a.value, shift);
      a.dataset.was = a.value;
    } else if (shift === undefined) {
      f(li);
      li.classList.toggle("off", !li.querySelector(".on").checked);
    }
  }
}

function fillParams() {
  const box = $("params");
  box.replaceChildren();
  for (const p of state.desc.params) {
    const step = (p.hi - p.lo) / 100 || 0.01;
    const range = el("input", { type: "range", min: p.lo, max: p.hi, step, value: p.value });
    const num = el("input", { type: "number", step: "any", value: p.value, class: "value", "data-param": p.path });
    range.addEventListener("input", () => { num.value = range.value; });
    num.addEventListener("input", () => { range.value = num.value; });
    box.append(el("div", { class: "param", title: p.why || "" },
      el("label", { text: p.path }), range, " ", num, problemBox(p.path)));
  }
}

function resetControls() {
  const d = state.desc;
  $("name").textContent = d.name;
  $("description").textContent = d.description || "";
  $("users").value = d.users;
  $("users").max = d.limits.max_users;
  $("merchants").value = d.merchants;
  $("merchants").max = d.limits.max_merchants;
  $("replicates").value = 1;
  $("replicates").max = d.limits.max_replicates;
  $("seed").value = d.seed;
  $("compare").checked = false;
  fillEvents();
  fillParams();
  const ctx = $("context");
  ctx.replaceChildren(...(d.contexts.length ? d.contexts : ["all"]).map((c) => el("option", { value: c, text: c })));
}

function edits() {
  const d = state.desc;
  const out = {
    users: Number($("users").value),
    merchants: Number($("merchants").value),
    replicates: Number($("replicates").value),
    seed: Number($("seed").value),
    compare: $("compare").checked,
    params: {},
    events: [],
  };
  for (const p of d.params) {
    const v = document.querySelector(`[data-param="${CSS.escape(p.path)}"]`).value;
    if (Number(v) !== p.value) out.params[p.path] = Number(v);
  }
  for (const e of d.events) {
    const li = $(`event-${e.index}`);
    const edit = { index: e.index };
    if (!li.querySelector(".on").checked) edit.enabled = false;
    const at = li.querySelector(".at").value;
    if (at !== e.at) edit.at = at;
    const num = li.querySelector(".number");
    if (num && Number(num.value) !== e.number.value) edit.value = Number(num.value);
    if (Object.keys(edit).length > 1) out.events.push(edit);
  }
  return out;
}

function showProblems(problems) {
  for (const box of document.querySelectorAll(".problem")) box.textContent = "";
  const unplaced = [];
  for (const p of problems || []) {
    const box = document.querySelector(`.problem[data-path="${CSS.escape(p.path)}"]`);
    if (box) box.textContent = p.message; else unplaced.push(`${p.path}: ${p.message}`);
  }
  return unplaced;
}

function status(text) {
  $("status").textContent = text;
}

// ---- Runs -----------------------------------------------------------------------------------

async function cancelRun() {
  if (state.id !== null && !state.done) {
    await fetch("/api/cancel", { method: "POST", body: JSON.stringify({ id: state.id }) });
  }
  if (state.abort) state.abort.abort();
  state.abort = null;
}

async function run(playing) {
  await cancelRun();
  state.months = []; state.shown = 0; state.id = null; state.done = false;
  state.playing = playing;
  $("play").textContent = playing ? "Pause" : "Play";
  $("csv").disabled = true; $("parquet").disabled = true;
  const body = edits();
  if (!Number.isSafeInteger(body.seed) || body.seed < 0) {
    showProblems([{ path: "seed", message: "choose a whole seed from 0 to 2^53 − 1 here (the CLI takes any 64-bit seed)" }]);
    status("Not run: the seed.");
    return;
  }
  state.compare = body.compare;
  $("effect-box").hidden = !state.compare;
  draw();
  showProblems([]);
  status("Starting…");
  const abort = new AbortController();
  state.abort = abort;
  let response;
  try {
    response = await fetch("/api/run", { method: "POST", body: JSON.stringify(body), signal: abort.signal });
  } catch (e) {
    state.abort = null;
    status(`The server did not answer: ${e}`);
    return;
  }
  if (!response.ok) {
    state.abort = null;
    const err = await response.json().catch(() => ({ error: response.statusText }));
    const rest = showProblems(err.problems);
    status(`Not run: ${err.error}${rest.length ? ` (${rest.join("; ")})` : ""}`);
    return;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = text.indexOf("\n")) >= 0) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        if (line) receive(JSON.parse(line));
      }
    }
  } catch (e) {
    if (abort.signal.aborted) return;
    status(`The run's stream broke: ${e}`);
  }
}

function receive(msg) {
  if (msg.type === "accepted" || msg.type === "waiting") {
    state.id = msg.id;
  } else if (msg.type === "queued") {
    state.id = msg.id;
    status(`Waiting: ${msg.ahead} run(s) ahead.`);
  } else if (msg.type === "start") {
    state.id = msg.id;
    state.series = msg.series;
    status(`Running ${msg.replicates} replicate(s)${msg.compare ? " against the original" : ""}…`);
  } else if (msg.type === "month") {
    state.months.push(msg);
    if (state.playing) state.shown = state.months.length;
    else if (state.shown === 0) state.shown = 1;
    draw();
  } else if (msg.type === "done") {
    state.done = true;
    $("csv").disabled = false; $("parquet").disabled = false;
    status(`Done: ${state.months.length} months (run ${msg.id}).`);
  } else if (msg.type === "cancelled") {
    state.done = true;
    status(`Cancelled after ${state.months.length} months.`);
  } else if (msg.type === "error") {
    status(`The run failed: ${msg.message}`);
  }
}

// ---- Charts ---------------------------------------------------------------------------------

function fmt(x, share) {
  if (x === null || x === undefined || !isFinite(x)) return "–";
  if (share) return `${(100 * x).toFixed(1)}%`;
  const a = Math.abs(x);
  if (a >= 1e9) return `${(x / 1e9).toFixed(1)}B`;
  if (a >= 1e6) return `${(x / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toPrecision(3);
}

function indices(metric, key1, key2) {
  const out = [];
  state.series.forEach(([m, k1, k2], i) => {
    if (m === metric && (key1 === undefined || k1 === key1) && (key2 === undefined || k2 === key2)) out.push(i);
  });
  return out;
}

const NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// Lines (and bands) of `lines` on chart `id`: each {label, color, side, index}.
function chart(id, lines, share, zero) {
  const box = $(id);
  box.replaceChildren();
  const W = 640, H = 240, L = 56, R = 10, T = 10, B = 24;
  const n = state.desc.months;
  const shown = state.months.slice(0, state.shown);
  let lo = zero ? 0 : Infinity, hi = zero ? 0 : -Infinity;
  for (const line of lines) for (const m of shown) {
    const c = (m[line.side] || [])[line.index];
    if (!c) continue;
    for (const v of [c[0], c[1], c[2]]) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  }
  if (!isFinite(lo)) { lo = 0; hi = 1; }
  // Counts and shares start at zero; only an effect goes below it (a band is cut there).
  if (lo > 0 || !zero) lo = 0;
  if (hi === lo) hi = lo + 1;
  const x = (k) => L + (W - L - R) * k / Math.max(1, n - 1);
  const y = (v) => T + (H - T - B) * (1 - (Math.max(v, lo) - lo) / (hi - lo));
  box.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: y(lo), y2: y(lo) }));
  box.append(svg("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }));
  if (lo < 0) box.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: y(0), y2: y(0) }));
  for (let t = 0; t <= 4; t++) {
    const v = lo + (hi - lo) * t / 4;
    box.append(svg("text", { class: "tick", x: L - 4, y: y(v) + 3, "text-anchor": "end" }, fmt(v, share)));
  }
  for (let k = 0; k < n; k++) {
    const m = addMonths(state.desc.start, k);
    if (m.endsWith("-01")) box.append(svg("text", { class: "tick", x: x(k), y: H - 8, "text-anchor": "middle" }, m.slice(0, 4)));
  }
  for (const e of state.desc.events) {
    const li = $(`event-${e.index}`);
    if (!li || !li.querySelector(".on").checked) continue;
    const k = monthIndex(li.querySelector(".at").value);
    const mark = svg("line", { class: "marker", x1: x(k), x2: x(k), y1: T, y2: H - B });
    mark.append(svg("title", {}, `${li.querySelector(".at").value} ${e.kind} ${e.platform || ""} ${e.channel || ""}`));
    box.append(mark);
  }
  for (const line of lines) {
    const pts = shown.map((m) => [monthIndex(m.month), (m[line.side] || [])[line.index]]).filter(([, c]) => c && c[0] !== null);
    const band = pts.filter(([, c]) => c[1] !== null && c[2] !== null);
    if (band.length > 1) {
      const d = band.map(([k, c]) => `${x(k)},${y(c[2])}`).concat(band.slice().reverse().map(([k, c]) => `${x(k)},${y(c[1])}`));
      box.append(svg("polygon", { class: "band", fill: line.color, points: d.join(" ") }));
    }
    if (pts.length) {
      const p = svg("polyline", { fill: "none", stroke: line.color, "stroke-width": 1.6, points: pts.map(([k, c]) => `${x(k)},${y(c[0])}`).join(" ") });
      if (line.side === "original") p.setAttribute("class", "original");
      p.append(svg("title", {}, line.label));
      box.append(p);
    }
  }
}

function platformLines(metric, key2) {
  const lines = [];
  state.desc.platforms.forEach((p, j) => {
    const [i] = key2 === undefined ? indices(metric, p) : indices(metric, key2, p);
    if (i === undefined) return;
    lines.push({ label: p, color: COLORS[j % COLORS.length], side: "edited", index: i });
    if (state.compare) lines.push({ label: `${p} (original)`, color: COLORS[j % COLORS.length], side: "original", index: i });
  });
  return lines;
}

function draw() {
  const d = state.desc;
  if (!d) return;
  chart("chart-value_share", platformLines("value_share"), true);
  chart("chart-users", platformLines("users"));
  chart("chart-merchants", platformLines("merchants"));
  const ctx = $("context").value;
  const lines = [];
  [...d.platforms, "none"].forEach((p, j) => {
    const [i] = indices("default_users", ctx, p);
    if (i !== undefined) lines.push({ label: p, color: COLORS[j % COLORS.length], side: "edited", index: i });
  });
  chart("chart-default_users", lines);
  const [lost] = indices("lost_value");
  const lostLines = lost === undefined ? [] : [{ label: "lost", color: "#444", side: "edited", index: lost }];
  if (state.compare && lost !== undefined) lostLines.push({ label: "lost (original)", color: "#444", side: "original", index: lost });
  chart("chart-lost_value", lostLines);
  if (state.compare) {
    const metric = $("effect-metric").value;
    const eff = metric === "lost_value"
      ? (lost === undefined ? [] : [{ label: "lost", color: "#444", side: "effect", index: lost }])
      : platformLines(metric).filter((l) => l.side === "edited").map((l) => ({ ...l, side: "effect" }));
    chart("chart-effect", eff, metric === "value_share", true);
  }
  const body = $("last").querySelector("tbody");
  body.replaceChildren();
  const last = state.months[state.shown - 1];
  $("last").dataset.month = last ? last.month : "";
  for (const p of d.platforms) {
    const row = el("tr", {}, el("td", { text: p }));
    for (const [metric, share] of [["value_share", true], ["users", false], ["merchants", false]]) {
      const [i] = indices(metric, p);
      const c = last && i !== undefined ? last.edited[i] : null;
      const cell = el("td", { id: `last-${metric}-${p}`, text: fmt(c ? c[0] : null, share) });
      cell.dataset.value = c && c[0] !== null ? String(c[0]) : "";
      row.append(cell);
    }
    body.append(row);
  }
  $("legend").replaceChildren(...[...d.platforms, "none"].map((p, j) => {
    const swatch = el("i", {});
    swatch.style.background = COLORS[j % COLORS.length];
    return el("span", {}, swatch, p);
  }));
}

// ---- Downloads ------------------------------------------------------------------------------

function save(blob, name) {
  const a = el("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

async function downloadToml() {
  const r = await fetch("/api/toml", { method: "POST", body: JSON.stringify(edits()) });
  if (!r.ok) {
    const err = await r.json();
    showProblems(err.problems);
    status(`No scenario: ${err.error}`);
    return;
  }
  save(await r.blob(), `${state.desc.name}.toml`);
}

async function downloadTable(format) {
  const r = await fetch(`/api/result?id=${state.id}&format=${format}`);
  if (!r.ok) { status((await r.json()).error); return; }
  save(await r.blob(), `explorer-${state.id}.${format}`);
}

// ---- Wiring -----------------------------------------------------------------------------------

async function load() {
  const r = await fetch("/api/scenario");
  state.desc = await r.json();
  resetControls();
  draw();
  $("run").addEventListener("click", () => run(true));
  $("step").addEventListener("click", () => {
    if (!state.months.length && !state.abort) { run(false); return; }
    state.playing = false;
    $("play").textContent = "Play";
    state.shown = Math.min(state.shown + 1, state.months.length);
    draw();
  });
  $("play").addEventListener("click", () => {
    state.playing = !state.playing;
    $("play").textContent = state.playing ? "Pause" : "Play";
    if (state.playing) state.shown = state.months.length;
    draw();
  });
  $("cancel").addEventListener("click", cancelRun);
  $("reset").addEventListener("click", async () => {
    await cancelRun();
    state.months = []; state.shown = 0; state.id = null;
    resetControls(); showProblems([]); draw(); status("Ready.");
  });
  $("context").addEventListener("change", draw);
  $("effect-metric").addEventListener("change", draw);
  $("toml").addEventListener("click", downloadToml);
  $("csv").addEventListener("click", () => downloadTable("csv"));
  $("parquet").addEventListener("click", () => downloadTable("parquet"));
  document.body.dataset.ready = "1";
}

load();
