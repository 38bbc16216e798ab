"""The Python package against the command-line tool and the library's rules.

Run from the repository's root after `pip install ./python`: `pytest python/tests`.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import paymarket

# The Ctrl-C tests send SIGINT to this process: it must raise KeyboardInterrupt even when the
# runner was started with SIGINT ignored (a background job of a non-interactive shell inherits
# that, and Python then keeps ignoring it).
signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parents[2]
DUOPOLY = str(ROOT / "data" / "scenarios" / "duopoly.toml")
HISTORY = str(ROOT / "data" / "scenarios" / "china_2012_2021_calibrated.toml")


def cli(*args: str) -> None:
    """The command-line tool, built from this repository if needed."""
    subprocess.run(["cargo", "run", "--release", "--quiet", "--bin", "paymarket", "--", *args],
                   cwd=ROOT, check=True)


def cli_run(scenario: str, out: Path, users: int, merchants: int, seed: int) -> None:
    cli("run", scenario, "--users", str(users), "--merchants", str(merchants), "--seed", str(seed),
        "--quiet", "--out", str(out))


def assert_table_is_file(table: pa.Table, path: Path) -> int:
    """`table` holds the CSV file cell for cell; returns the number of missing values."""
    csv = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert table.column_names == list(csv.columns), path
    assert table.num_rows == len(csv) > 0, path
    missing = 0
    for col in csv.columns:
        kind = table.schema.field(col).type
        for row, (w, h) in enumerate(zip(csv[col].tolist(), table.column(col).to_pylist())):
            if pa.types.is_floating(kind):
                if w == "":
                    assert h is None, (path, col, row, h)
                    missing += 1
                else:
                    assert h == float(w), (path, col, row, w, h)
            elif pa.types.is_integer(kind):
                assert h == int(w), (path, col, row, w, h)
            else:
                assert h == w, (path, col, row, w, h)
    return missing


@pytest.mark.parametrize("scenario", [DUOPOLY, HISTORY])
def test_tables_are_the_csv_files_value_for_value(tmp_path, scenario):
    cli_run(scenario, tmp_path, 3000, 300, 7)
    r = paymarket.run(scenario, users=3000, merchants=300, seed=7, frame="arrow")
    missing = sum(assert_table_is_file(r[name], tmp_path / f"{name}.csv") for name in paymarket.TABLES)
    assert missing > 0


def test_ensemble_and_comparison_are_the_tools_files(tmp_path):
    alt = str(ROOT / "tests" / "fixtures" / "reference" / "duopoly_no_order.toml")
    cli("ensemble", DUOPOLY, "-r", "3", "--users", "2000", "--merchants", "200", "--seed", "9",
        "--quiet", "--summary-only", "--out", str(tmp_path / "ens"))
    e = paymarket.ensemble(DUOPOLY, replicates=3, users=2000, merchants=200, seed=9, frame="arrow",
                           runs=True)
    for name in paymarket.SUMMARIES:
        assert_table_is_file(e[name], tmp_path / "ens" / f"{name}.csv")
    assert sorted(set(e.runs.market.column("run").to_pylist())) == [0, 1, 2]
    cli("compare", DUOPOLY, alt, "-r", "3", "--fork-at", "2021-06", "--users", "2000",
        "--merchants", "200", "--seed", "9", "--quiet", "--summary-only", "--out", str(tmp_path / "cmp"))
    c = paymarket.compare(DUOPOLY, alt, replicates=3, fork_at="2021-06", users=2000, merchants=200,
                          seed=9, frame="arrow")
    assert c.runs is None
    for name in paymarket.SUMMARIES + paymarket.EFFECTS:
        assert_table_is_file(c[name], tmp_path / "cmp" / f"{name}.csv")
    # Before the fork both worlds are one: every effect there is exactly zero.
    m = c.effects_market.to_pandas()
    before = m[m["month"] < "2021-06"]
    assert len(before) > 0 and (before["effect"] == 0).all()
    with pytest.raises(ValueError):
        paymarket.compare(DUOPOLY, alt, replicates=0)
    with pytest.raises(ValueError):
        paymarket.compare(DUOPOLY, alt, replicates=2, fork_at="June")
    with pytest.raises(ValueError):
        paymarket.compare(DUOPOLY, DUOPOLY, replicates=2, users=1000, merchants=100)


def test_same_seed_same_tables_on_any_thread_count():
    one = paymarket.run(DUOPOLY, users=2000, merchants=200, seed=3, threads=1, frame="arrow")
    two = paymarket.run(DUOPOLY, users=2000, merchants=200, seed=3, threads=2, frame="arrow")
    other = paymarket.run(DUOPOLY, users=2000, merchants=200, seed=4, threads=2, frame="arrow")
    for name in paymarket.TABLES:
        assert one[name].equals(two[name]), name
    assert not one["market"].equals(other["market"])


def test_frames_pandas_polars_arrow_agree():
    arrow = paymarket.run(DUOPOLY, users=2000, merchants=200, seed=1, frame="arrow")
    polars = paymarket.run(DUOPOLY, users=2000, merchants=200, seed=1, frame="polars")
    pandas = paymarket.run(DUOPOLY, users=2000, merchants=200, seed=1)
    assert isinstance(arrow.platforms, pa.Table)
    assert isinstance(polars.platforms, pl.DataFrame)
    assert isinstance(pandas.platforms, pd.DataFrame)
    assert arrow.platforms.schema.field("run").type == pa.int64()
    assert arrow.platforms.schema.field("value_share").type == pa.float64()
    assert arrow.platforms.schema.field("month").type in (pa.string(), pa.large_string(), pa.string_view())
    assert polars.platforms["users"].to_list() == pandas.platforms["users"].tolist()
    assert arrow.market.column("adopters").to_pylist() == pandas.market["adopters"].tolist()


def test_a_missing_value_is_null_not_a_number():
    # The historical scenario's UnionPay is not a third-party wallet: its value share does not
    # exist and its cells are empty in platforms.csv.
    r = paymarket.run(HISTORY, users=2000, merchants=200, seed=1, frame="arrow")
    rows = r.platforms.filter(pa.compute.equal(r.platforms.column("platform"), "unionpay"))
    assert rows.num_rows == 120
    assert rows.column("value_share").null_count == 120


def test_scenario_fields_by_path():
    s = paymarket.Scenario.load(DUOPOLY)
    assert s.name == "duopoly"
    assert s.platforms == ["alpha", "beta"]
    assert s["params.churn_rate"] == 0.1
    s.set("params.churn_rate", 0.25)
    assert s.get("params.churn_rate") == 0.25
    s["platform.beta.brand"] = 0.5
    assert s["platform.beta.brand"] == 0.5
    again = paymarket.Scenario.from_toml(s.to_toml())
    assert again["params.churn_rate"] == 0.25
    # A changed parameter changes the run; the same one does not.
    base = paymarket.run(DUOPOLY, users=2000, merchants=200, seed=1, frame="arrow")
    same = paymarket.run(paymarket.Scenario.load(DUOPOLY), users=2000, merchants=200, seed=1, frame="arrow")
    changed = paymarket.run(s, users=2000, merchants=200, seed=1, frame="arrow")
    assert base.platforms.equals(same.platforms)
    assert not base.platforms.equals(changed.platforms)


def test_errors_name_the_field_and_never_crash():
    s = paymarket.Scenario.load(DUOPOLY)
    with pytest.raises(paymarket.ScenarioError) as e:
        s.set("params.no_such_field", 1.0)
    assert "params.no_such_field" in str(e.value)
    # A value out of its range is refused where it is set, with its field path.
    with pytest.raises(paymarket.ScenarioError) as e:
        s.set("params.churn_rate", -1.0)
    assert any(path == "params.churn_rate" for path, _ in e.value.problems), e.value.problems
    assert s["params.churn_rate"] == 0.1
    s.validate()
    text = s.to_toml()
    broken = text.replace("churn_rate = 0.1", "churn_rate = 2.0")
    assert broken != text
    # Read, then checked as a whole: by validate() and by run().
    b = paymarket.Scenario.from_toml(broken)
    with pytest.raises(paymarket.ScenarioError) as e:
        b.validate()
    assert any(path == "params.churn_rate" for path, _ in e.value.problems), e.value.problems
    with pytest.raises(paymarket.ScenarioError) as e:
        paymarket.run(b, users=1000, merchants=100)
    assert any(path == "params.churn_rate" for path, _ in e.value.problems), e.value.problems
    assert any(path == "params.churn_rate" for path, _ in paymarket.problems(broken))
    with pytest.raises(paymarket.ScenarioError) as e:
        paymarket.Scenario.from_toml("name = 3")
    assert e.value.problems
    with pytest.raises(FileNotFoundError):
        paymarket.Scenario.load(str(ROOT / "no_such_file.toml"))
    for bad in [dict(users=0), dict(users=2.5), dict(users="10"), dict(seed=-1), dict(threads=-2),
                dict(frame="excel")]:
        with pytest.raises(ValueError):
            paymarket.run(DUOPOLY, **{"users": 1000, "merchants": 100, **bad})
    assert paymarket.problems(Path(DUOPOLY).read_text()) == []
    assert paymarket.problems("name = 3")


def test_progress_counts_the_months_and_ctrl_c_stops_between_months():
    import signal

    seen = []
    tables = paymarket._run(paymarket.Scenario.load(DUOPOLY), users=1000, merchants=100, seed=1,
                            threads=1, progress=lambda done, total, month: seen.append((done, total, month)))
    assert [t.name for t in tables] == list(paymarket.TABLES)
    assert seen[0] == (1, 48, "2018-01") and seen[-1] == (48, 48, "2021-12") and len(seen) == 48

    def interrupt(done, total, month):
        seen.append(done)
        if done == 3:
            os.kill(os.getpid(), signal.SIGINT)

    seen.clear()
    with pytest.raises(KeyboardInterrupt):
        paymarket._run(paymarket.Scenario.load(DUOPOLY), users=1000, merchants=100, seed=1,
                       progress=interrupt)
    assert 3 <= max(seen) <= 4


def test_a_simulation_stepped_by_hand_is_the_run():
    sim = paymarket.Simulation(DUOPOLY, users=2000, merchants=200, seed=5, frame="arrow")
    assert sim.month == "2018-01" and not sim.finished
    assert sim.report().market.num_rows == 0
    months = 0
    while sim.step():
        months += 1
        last = sim.report()
        assert last.market.column("month").to_pylist() == [sim.tables().market.column("month")[-1].as_py()]
    assert months == 48 and sim.finished and not sim.step()
    whole = paymarket.run(DUOPOLY, users=2000, merchants=200, seed=5, frame="arrow", progress=False)
    for name in paymarket.TABLES:
        assert sim.tables()[name].equals(whole[name]), name


def test_sweeps_are_the_tools_files(tmp_path):
    cli("sweep", DUOPOLY, "-r", "2", "--grid", "params.churn_rate=0.05,0.2", "--grid",
        "platform.beta.brand=0,0.5", "--users", "1500", "--merchants", "150", "--seed", "4",
        "--quiet", "--out", str(tmp_path / "grid"))
    g = paymarket.sweep(DUOPOLY, grid={"params.churn_rate": [0.05, 0.2], "platform.beta.brand": [0, 0.5]},
                        replicates=2, users=1500, merchants=150, seed=4, frame="arrow")
    for name in paymarket.SUMMARIES:
        assert_table_is_file(g[name], tmp_path / "grid" / f"{name}.csv")
    m = g.summary_market.to_pandas()
    assert sorted(m["setting"].unique()) == [0, 1, 2, 3]
    assert sorted(set(zip(m["params.churn_rate"], m["platform.beta.brand"]))) == [
        (0.05, 0.0), (0.05, 0.5), (0.2, 0.0), (0.2, 0.5)]
    cli("sweep", DUOPOLY, "-r", "2", "--lhs", "3", "--range", "params.churn_rate=0.05:0.2",
        "--users", "1500", "--merchants", "150", "--seed", "4", "--quiet", "--out", str(tmp_path / "lhs"))
    h = paymarket.sweep(DUOPOLY, ranges={"params.churn_rate": (0.05, 0.2)}, lhs=3, replicates=2,
                        users=1500, merchants=150, seed=4, frame="arrow")
    for name in paymarket.SUMMARIES:
        assert_table_is_file(h[name], tmp_path / "lhs" / f"{name}.csv")
    p = paymarket.sweep(DUOPOLY, points=[{"params.churn_rate": 0.05}, {"params.churn_rate": 0.2}],
                        replicates=2, users=1500, merchants=150, seed=4, frame="arrow")
    # The listed settings are the grid's first axis at the scenario's beta brand (0.0).
    pm = p.summary_market.to_pandas()
    gm = m[m["platform.beta.brand"] == 0.0]
    for churn in (0.05, 0.2):
        a = pm[pm["params.churn_rate"] == churn]["mean"].tolist()
        b = gm[gm["params.churn_rate"] == churn]["mean"].tolist()
        assert a == b
    for bad in [dict(), dict(grid={}), dict(grid={"params.churn_rate": ["x"]}),
                dict(grid={"params.churn_rate": []}),
                dict(ranges={"params.churn_rate": (0.2, 0.05)}, lhs=3),
                dict(ranges={"params.churn_rate": (0.05, 0.2)}),
                dict(grid={"params.churn_rate": [0.1]}, points=[{"params.churn_rate": 0.1}])]:
        with pytest.raises(ValueError):
            paymarket.sweep(DUOPOLY, replicates=1, users=1000, merchants=100, **bad)
    with pytest.raises(paymarket.ScenarioError):
        paymarket.sweep(DUOPOLY, grid={"params.no_such": [1.0]}, replicates=1, users=1000, merchants=100)


def test_events_listed_and_removed_for_a_counterfactual():
    h = paymarket.Scenario.load(HISTORY)
    events = h.events
    assert [e["index"] for e in events] == list(range(len(events)))
    assert all(len(e["at"]) == 7 and e["source"] for e in events)
    blocks = [e["index"] for e in events if e["kind"] == "block" and e["at"].startswith("2014")]
    assert blocks, "the history has 2014 blocks"
    open_world = h.without_events(blocks, "open_world")
    assert open_world.name == "open_world" and h.name != "open_world"
    assert len(open_world.events) == len(events) - len(blocks)
    assert not any(e["kind"] == "block" and e["at"].startswith("2014") for e in open_world.events)
    open_world.validate()
    with pytest.raises(ValueError):
        h.without_events([len(events)], "x")
    renamed = paymarket.Scenario.load(DUOPOLY)
    renamed.name = "duopoly_copy"
    assert renamed.name == "duopoly_copy"
    # Removing nothing changes nothing but the name: the runs are the same.
    same = paymarket.Scenario.load(DUOPOLY).without_events([], "duopoly_again")
    a = paymarket.run(DUOPOLY, users=1000, merchants=100, seed=2, frame="arrow", progress=False)
    b = paymarket.run(same, users=1000, merchants=100, seed=2, frame="arrow", progress=False)
    assert a.market.drop_columns(["scenario"]).equals(b.market.drop_columns(["scenario"]))


def test_experiments_report_their_runs_and_stop_on_ctrl_c():
    import signal

    alt = str(ROOT / "tests" / "fixtures" / "reference" / "duopoly_no_order.toml")
    seen = []
    paymarket._ensemble(paymarket.Scenario.load(DUOPOLY), replicates=6, users=1000, merchants=100,
                        progress=lambda done, total, _: seen.append((done, total)))
    assert seen[-1] == (6, 6) and all(t == 6 for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)

    def interrupt(done, total, _):
        os.kill(os.getpid(), signal.SIGINT)

    for call in [
        lambda: paymarket._ensemble(paymarket.Scenario.load(DUOPOLY), replicates=40, users=3000,
                                    merchants=300, progress=interrupt),
        lambda: paymarket._compare(paymarket.Scenario.load(DUOPOLY), paymarket.Scenario.load(alt),
                                   replicates=40, users=3000, merchants=300, progress=interrupt),
        lambda: paymarket._sweep(paymarket.Scenario.load(DUOPOLY), grid=[("params.churn_rate", [0.05, 0.1])],
                                 replicates=20, users=3000, merchants=300, progress=interrupt),
    ]:
        start = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            call()
        assert time.monotonic() - start < 30
    # Without a callback, a signal still stops it.
    import threading

    threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        paymarket._ensemble(paymarket.Scenario.load(DUOPOLY), replicates=2000, users=5000, merchants=500)


def test_numpy_numbers_paths_and_pickled_errors():
    import pickle

    import numpy as np

    a = paymarket.run(Path(DUOPOLY), users=np.int64(1000), merchants=np.int32(100), seed=np.uint64(3),
                      frame="arrow", progress=False)
    b = paymarket.run(DUOPOLY, users=1000, merchants=100, seed=3, frame="arrow", progress=False)
    assert a.market.equals(b.market)
    assert paymarket.Scenario.load(Path(DUOPOLY)).name == "duopoly"
    g = paymarket.sweep(DUOPOLY, grid={"params.churn_rate": np.array([0.05, 0.1])}, replicates=1,
                        users=1000, merchants=100, frame="arrow", progress=False)
    assert sorted(set(g.summary_market.column("params.churn_rate").to_pylist())) == [0.05, 0.1]
    for bad in [dict(users=np.float64(2.5)), dict(seed=2**64), dict(users=2**70)]:
        with pytest.raises(ValueError):
            paymarket.run(DUOPOLY, **{"users": 1000, "merchants": 100, **bad})
    with pytest.raises(paymarket.ScenarioError) as e:
        paymarket.Scenario.load(DUOPOLY).set("params.churn_rate", 5.0)
    again = pickle.loads(pickle.dumps(e.value))
    assert type(again) is paymarket.ScenarioError and "churn_rate" in str(again)


def test_the_tools_parquet_files_read_back_as_its_csv_files(tmp_path):
    """A run and a sweep written as Parquet by the tool read back in pandas and in polars equal
    to the CSV files of the same command, with the documented types."""
    size = ["--users", "2000", "--merchants", "200", "--seed", "5", "--quiet"]
    sweep = ["sweep", DUOPOLY, "-r", "2", "--grid", "params.churn_rate=0.05,0.1", *size]
    for fmt in ["csv", "parquet"]:
        cli("run", HISTORY, *size, "--format", fmt, "--out", str(tmp_path / f"run-{fmt}"))
        cli(*sweep, "--format", fmt, "--out", str(tmp_path / f"sweep-{fmt}"))
    pairs = [("run", name) for name in paymarket.TABLES]
    pairs += [("sweep", name) for name in paymarket.SUMMARIES]
    missing = 0
    for command, name in pairs:
        parquet = tmp_path / f"{command}-parquet" / f"{name}.parquet"
        csv = tmp_path / f"{command}-csv" / f"{name}.csv"
        assert not (tmp_path / f"{command}-parquet" / f"{name}.csv").exists()
        via_pandas = pd.read_parquet(parquet)
        via_polars = pl.read_parquet(parquet)
        missing += assert_table_is_file(pa.Table.from_pandas(via_pandas, preserve_index=False), csv)
        assert_table_is_file(via_polars.to_arrow(), csv)
        # Types: whole numbers int64, numbers float64 (null where the CSV cell is empty), text.
        for col, dtype in via_polars.schema.items():
            if col in ("run", "setting", "n"):
                assert dtype == pl.Int64, (name, col)
            elif col in ("scenario", "month", "platform", "channel", "context", "metric", "kind",
                         "detail", "source"):
                assert dtype == pl.String, (name, col)
                assert pd.api.types.is_string_dtype(via_pandas[col]), (name, col)
            else:
                assert dtype == pl.Float64, (name, col)
                assert via_pandas[col].dtype == "float64", (name, col)
    assert missing > 0


CALIBRATION = ["--budget", "12", "--report-replicates", "2", "--window-end", "2014-12", "--users",
               "2000", "--merchants", "200", "--seed", "3", "--quiet"]
HISTORY_V2 = str(ROOT / "data" / "scenarios" / "china_2012_2021.toml")


@pytest.mark.parametrize("method", ["point", "abc"])
def test_calibrate_is_the_tools_calibration(tmp_path, method):
    """Both methods: every table equals the tool's file of the same name, the output set's
    files are the tool's byte for byte, the calibrated scenario is the tool's, and a Scenario
    object calibrates as its file does."""
    params = tmp_path / "params.toml"
    params.write_text('[[parameter]]\npath = "platform.tenpay.brand"\nlo = -1.0\nhi = 1.0\nwhy = "t"\n'
                      '[[parameter]]\npath = "params.churn_rate"\nlo = 0.01\nhi = 0.2\nwhy = "t"\n')
    abc = ["--method", "abc", "--particles", "6"] if method == "abc" else []
    cli("calibrate", HISTORY_V2, "--targets", str(ROOT / "data" / "observed"), "--params", str(params),
        *CALIBRATION, *abc, "--out", str(tmp_path / "cli"))
    kw = dict(params=params, method=method, budget=12, report_replicates=2, window_end="2014-12",
              users=2000, merchants=200, seed=3, particles=6, progress=False)
    c = paymarket.calibrate(HISTORY_V2, ROOT / "data" / "observed", out=tmp_path / "py", frame="arrow", **kw)
    expected = {"point": ["fit", "identification", "trace"],
                "abc": ["posterior", "prior_sample", "abc_generations", "posterior_summary",
                        "posterior_correlations", "noise", "fit", "predictive", "probabilities"]}
    assert list(c._tables) == expected[method] + list(paymarket.SUMMARIES)
    for name in c._tables:
        assert_table_is_file(c[name], tmp_path / "cli" / f"{name}.csv")
    csvs = sorted(p.name for p in (tmp_path / "cli").glob("*.csv"))
    assert csvs and sorted(f for f in c.files if f.endswith(".csv")) == csvs
    for name in csvs:
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    assert "fit.svg" in c.files
    tool = paymarket.Scenario.load(tmp_path / "cli" / "calibrated.toml")
    assert c.scenario.to_toml() == tool.to_toml()
    assert c.scenario.name == "china_2012_2021_calibrated"
    assert c.text.startswith("ABC:" if method == "abc" else "Objective")
    if method == "abc":
        assert c.posterior_file == str(tmp_path / "py" / "calibrated_posterior.csv")
        # The posterior feeds an ensemble over parameter uncertainty.
        e = paymarket.ensemble(c.scenario, replicates=2, users=1000, merchants=100,
                               posterior=c.posterior_file, progress=False)
        assert len(e.summary_market) > 0
    # A Scenario object, nothing written: the same tables.
    again = paymarket.calibrate(paymarket.Scenario.load(HISTORY_V2), ROOT / "data" / "observed",
                                frame="arrow", **kw)
    assert again.files == [] and again.posterior_file is None
    for name in c._tables:
        assert again[name].equals(c[name]), name


def test_calibrate_errors_and_ctrl_c(tmp_path):
    import signal

    observed = ROOT / "data" / "observed"
    for kw in [dict(method="grid"), dict(alpha=1.5, method="abc"), dict(particles=1, method="abc"),
               dict(budget=0), dict(window_end="2014"), dict(users_weight=-1.0),
               dict(write_scenario=tmp_path / "s.toml")]:
        with pytest.raises(ValueError):
            paymarket.calibrate(HISTORY_V2, observed, users=1000, merchants=100, progress=False, **kw)
    with pytest.raises(FileNotFoundError):
        paymarket.calibrate(HISTORY_V2, tmp_path / "nowhere", users=1000, merchants=100, progress=False)
    with pytest.raises(ValueError, match="outside"):
        paymarket.calibrate(HISTORY_V2, observed, window_end="2030-01", users=1000, merchants=100,
                            progress=False)
    assert not (tmp_path / "s.toml").exists()
    # Ctrl-C after the first runs: it stops at the next candidate, long before the budget.
    seen = []

    def interrupt(done, total, _):
        seen.append(done)
        os.kill(os.getpid(), signal.SIGINT)

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        paymarket._calibrate(paymarket.Scenario.load(HISTORY_V2), str(observed), budget=4000,
                             window_end="2014-12", users=3000, merchants=300, progress=interrupt)
    assert time.monotonic() - start < 20 and seen and seen[0] < 8000


SENSITIVITY_RANGES = {"params.loyalty": (0.3, 0.9), "params.churn_rate": (0.05, 0.2)}
SENSITIVITY_OUTPUTS = ["platforms.alpha.value_share@2021-12", "market.multihoming_users@2021-01:2021-12"]


def test_sensitivity_is_the_tools_analysis(tmp_path):
    """Every table equals the tool's file of the same name, the output set is the tool's byte
    for byte (but for the manifest's command line), and the tool reruns it."""
    args = []
    for p, (lo, hi) in SENSITIVITY_RANGES.items():
        args += ["--range", f"{p}={lo}:{hi}"]
    for o in SENSITIVITY_OUTPUTS:
        args += ["--output", o]
    cli("sensitivity", DUOPOLY, "--method", "sobol", *args, "--budget", "16", "-r", "2", "--users", "1000",
        "--merchants", "100", "--bootstrap", "200", "--seed", "5", "--quiet", "--out", str(tmp_path / "cli"))
    s = paymarket.sensitivity(DUOPOLY, SENSITIVITY_RANGES, SENSITIVITY_OUTPUTS, method="sobol", budget=16,
                              replicates=2, users=1000, merchants=100, bootstrap=200, seed=5,
                              out=tmp_path / "py", frame="arrow", progress=False)
    assert list(s._tables) == ["sensitivity", "design", "outputs", "noise"]
    for name in s._tables:
        assert_table_is_file(s[name], tmp_path / "cli" / f"{name}.csv")
    # Sobol with N = 16 // (2 + 2) = 4 rows: 4 × 4 points, 2 indices × 2 parameters × 2 outputs.
    assert s.design.num_rows == 16 and s.sensitivity.num_rows == 8
    assert s.outputs.num_rows == 16 * 2 * 2
    written = sorted(p.name for p in (tmp_path / "cli").iterdir() if p.name != "manifest.json")
    assert "sensitivity_1.svg" in written and "scenario.resolved.toml" in written
    assert sorted(p.name for p in (tmp_path / "py").iterdir() if p.name != "manifest.json") == written
    for name in written:
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    assert sorted(s.files) == sorted(n for n in written if n.endswith((".csv", ".svg")))
    assert "seed noise is" in s.text
    cli("rerun", str(tmp_path / "py"), "--quiet", "--out", str(tmp_path / "again"))
    for name in written:
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "py" / name).read_bytes(), name
    # A Scenario object and nothing written: the same tables.
    again = paymarket.sensitivity(paymarket.Scenario.load(DUOPOLY), SENSITIVITY_RANGES, SENSITIVITY_OUTPUTS,
                                  method="sobol", budget=16, replicates=2, users=1000, merchants=100,
                                  bootstrap=200, seed=5, frame="arrow",
                                  progress=False)
    assert again.files == []
    for name in s._tables:
        assert again[name].equals(s[name]), name
    # Twice the budget, extending the set above: the analysis run whole at that budget.
    kw = dict(method="sobol", budget=32, replicates=2, users=1000, merchants=100, bootstrap=200, seed=5,
              frame="arrow", progress=False)
    whole = paymarket.sensitivity(DUOPOLY, SENSITIVITY_RANGES, SENSITIVITY_OUTPUTS, **kw)
    extended = paymarket.sensitivity(DUOPOLY, SENSITIVITY_RANGES, SENSITIVITY_OUTPUTS, extend=tmp_path / "py", **kw)
    for name in s._tables:
        assert extended[name].equals(whole[name]), name
    assert (extended.reused, whole.reused) == (16, 0)
    # Progress counts the runs taken: the 16 points the set lacks × 2 replicates.
    seen = []
    kw.pop("progress")
    paymarket._sensitivity(paymarket.Scenario.load(DUOPOLY), paymarket._ranges(SENSITIVITY_RANGES),
                           SENSITIVITY_OUTPUTS, extend=str(tmp_path / "py"),
                           progress=lambda done, total, _: seen.append((done, total)),
                           **{k: v for k, v in kw.items() if k != "frame"})
    assert seen and seen[-1] == (32, 32)


def test_sensitivity_of_an_effect_and_its_errors(tmp_path):
    """The paired effect of a scenario against itself is exactly 0 at every run, so every
    Morris index is 0; bad arguments raise ValueError naming them; Ctrl-C stops the runs."""
    import signal

    seen = []
    s = paymarket._sensitivity(paymarket.Scenario.load(DUOPOLY), list((p, lo, hi) for p, (lo, hi) in SENSITIVITY_RANGES.items()),
                               SENSITIVITY_OUTPUTS[:1], budget=6, replicates=2, bootstrap=50, users=800,
                               merchants=80, vs=paymarket.Scenario.load(DUOPOLY),
                               progress=lambda done, total, _: seen.append((done, total)))
    tables, text, files, _ = s
    frames = {t.name: pa.Table.from_batches([pa.record_batch(t)]) for t in tables}
    assert set(frames["outputs"]["value"].to_pylist()) == {0.0}
    assert set(frames["sensitivity"]["estimate"].to_pylist()) == {0.0}
    assert "(interval includes 0)" in text and files == []
    # 2 trajectories × 3 points × 2 replicates × 2 scenarios.
    assert seen and seen[-1] == (24, 24)
    r = paymarket.sensitivity(HISTORY, {"params.loyalty": (0.4, 0.8)}, "platforms.tenpay.value_share@2022-06",
                              effect_of="miit_2021", end="2022-06", budget=4, replicates=1, bootstrap=50,
                              users=800, merchants=80, progress=False)
    assert len(r.design) == 4 and list(r.sensitivity["index"]) == ["mu_star", "mu", "sigma"]
    kw = dict(users=800, merchants=80, budget=4, progress=False)
    ranges, output = {"params.loyalty": (0.4, 0.8)}, "platforms.alpha.value_share@2021-12"
    for bad, message in [
        (dict(method="grid"), "method"),
        (dict(ranges={"params.loyalty": (0.8, 0.4)}), "low end below"),
        (dict(ranges={"params.nowhere": (0.1, 0.2)}), "params.nowhere"),
        (dict(outputs="platforms.alpha.value_share"), "say when"),
        (dict(outputs="platforms.zeta.value_share@2021-12"), "zeta"),
        (dict(outputs=[]), "outputs"),
        (dict(effect_of="miit_2021"), "no event"),
        (dict(vs=DUOPOLY, effect_of="x"), "not both"),
        (dict(end="2021"), "YYYY-MM"),
        (dict(budget=0), "budget"),
    ]:
        args = dict(ranges=ranges, outputs=output, **kw)
        args.update(bad)
        with pytest.raises((ValueError, paymarket.ScenarioError), match=message):
            paymarket.sensitivity(DUOPOLY, **args)

    def interrupt(done, total, _):
        os.kill(os.getpid(), signal.SIGINT)

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        paymarket._sensitivity(paymarket.Scenario.load(DUOPOLY), [("params.loyalty", 0.3, 0.9)], [output],
                               budget=4000, users=3000, merchants=300, progress=interrupt)
    assert time.monotonic() - start < 20
