"""paymarket for Python: agent-based simulation of payment-platform markets.

Load a scenario, change it by field path, run it, and get its five tables (platforms, market,
channels, events, defaults) as pandas or polars data frames, with the same values as the
command-line tool's CSV files, bit for bit:

>>> import paymarket
>>> s = paymarket.Scenario.load("data/scenarios/duopoly.toml")
>>> s["params.churn_rate"]
0.1
>>> s.set("params.churn_rate", 0.05)
>>> r = paymarket.run(s, users=2_000, merchants=200, seed=1)
>>> list(r.market.columns[:3])
['run', 'scenario', 'month']

The tables cross from the engine as Arrow arrays (the Arrow C data interface), never one Python
object per cell. The simulation runs without the interpreter lock, and Ctrl-C stops it between
months.
"""

from __future__ import annotations

import numbers
import os
from typing import Union

import sys
import time

from ._paymarket import Scenario, ScenarioError, Table, __version__
from ._paymarket import Simulation as _Simulation
from ._paymarket import calibrate as _calibrate
from ._paymarket import compare as _compare
from ._paymarket import ensemble as _ensemble
from ._paymarket import sweep as _sweep
from ._paymarket import problems as _problems
from ._paymarket import run as _run
from ._paymarket import sensitivity as _sensitivity

__all__ = [
    "Scenario",
    "ScenarioError",
    "Run",
    "Simulation",
    "Ensemble",
    "Comparison",
    "Sweep",
    "Calibration",
    "Sensitivity",
    "run",
    "sweep",
    "ensemble",
    "compare",
    "calibrate",
    "sensitivity",
    "problems",
    "__version__",
]

TABLES = ("platforms", "market", "channels", "events", "defaults")
FRAMES = ("pandas", "polars", "arrow")


def problems(text: str) -> list:
    """The problems of a scenario's TOML text, as (field path, message) pairs; empty if it runs."""
    return _problems(text)


class _Tables:
    """Named tables as attributes and by ``[name]``."""

    def __init__(self, tables: dict):
        self._tables = tables
        for name, table in tables.items():
            setattr(self, name, table)

    def __getitem__(self, name: str):
        if name not in self._tables:
            raise KeyError(f"no table {name!r}: the tables are {', '.join(self._tables)}")
        return self._tables[name]

    def _sizes(self) -> str:
        return ", ".join(f"{n}: {len(t)} rows" for n, t in self._tables.items())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._sizes()})"


class Run(_Tables):
    """One run's tables, each a data frame with the columns of the CSV file of the same name.

    ``platforms``, ``market``, ``channels``, ``events`` and ``defaults``: pandas data frames by
    default, polars with ``frame="polars"``, pyarrow tables with ``frame="arrow"``.
    """

    def __init__(self, tables: dict, scenario: Scenario):
        super().__init__(tables)
        self.scenario = scenario

    def __repr__(self) -> str:
        return f"Run({self.scenario.name!r}; {self._sizes()})"


def _count(name: str, value, positive: bool = True):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, numbers.Real)):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if not isinstance(value, numbers.Integral):
        if not float(value).is_integer():
            raise ValueError(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    if value < (1 if positive else 0):
        raise ValueError(f"{name} must be {'at least 1' if positive else 'at least 0'}, got {value!r}")
    if value >= 2**64:
        raise ValueError(f"{name} must be below 2**64, got {value!r}")
    return value


def _frame(table: Table, frame: str):
    import pyarrow as pa

    batch = pa.record_batch(table)
    arrow = pa.Table.from_batches([batch])
    if frame == "arrow":
        return arrow
    if frame == "polars":
        import polars as pl

        return pl.from_arrow(arrow)
    return arrow.to_pandas()


def _named(tables, frame: str) -> dict:
    """The engine's tables by name, each as a ``frame`` data frame."""
    return {t.name: _frame(t, frame) for t in tables}


class _Progress:
    """Work done, once it has taken a second: a tqdm bar where tqdm is installed (terminal or
    notebook), else one line rewritten on stderr. Called as ``progress(done, total, label)``
    (a month for a run, ``None`` for an experiment's runs)."""

    def __init__(self, total: int, label: str, unit: str):
        self.total, self.label, self.unit, self.bar = total, label, unit, None
        self.start, self.shown, self.count = time.monotonic(), 0.0, 0
        try:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=label, unit=unit, delay=1.0)
        except ImportError:
            pass

    def __call__(self, done: int, total: int, month=None) -> None:
        if total is not None and total != self.total:
            # Work whose size the engine knows only once it has started (a design's points).
            self.total = total
            if self.bar is not None:
                self.bar.total = total
                self.bar.refresh()
        if self.bar is not None:
            self.bar.update(done - self.count)
            self.count = done
            return
        now = time.monotonic()
        if now - self.start >= 1.0 and (now - self.shown >= 0.2 or done == total):
            self.shown = now
            at = f"{month} " if month else ""
            of = f"{done}/{total}" if total is not None else f"{done}"
            print(f"\r{self.label}: {at}({of} {self.unit}s)", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.shown:
            print(file=sys.stderr, flush=True)


def _watching(progress: bool, total: int, label: str, unit: str, call):
    """Calls ``call(progress_callback)`` with a progress display if asked, closing it after."""
    bar = _Progress(total, label, unit) if progress else None
    try:
        return call(bar)
    finally:
        if bar is not None:
            bar.close()


def _scenario(scenario) -> Scenario:
    if isinstance(scenario, (str, os.PathLike)):
        scenario = Scenario.load(os.fspath(scenario))
    if not isinstance(scenario, Scenario):
        raise ValueError(f"scenario must be a paymarket.Scenario or a path, got {type(scenario).__name__}")
    return scenario


def _frame_kind(frame: str) -> str:
    """Checks ``frame`` and that its package is installed, before any work is done."""
    if frame not in FRAMES:
        raise ValueError(f"frame must be one of {', '.join(FRAMES)}, got {frame!r}")
    if frame in ("pandas", "polars"):
        try:
            __import__(frame)
        except ImportError as e:
            raise ImportError(
                f"frame={frame!r} needs {frame}: pip install {frame}, or pass frame='arrow'"
            ) from e
    return frame


def _sizes(users, merchants, seed, threads):
    return (
        _count("users", users),
        _count("merchants", merchants),
        _count("seed", seed, positive=False),
        _count("threads", threads, positive=False),
    )


def run(
    scenario: Union[Scenario, str, os.PathLike],
    users: int | None = None,
    merchants: int | None = None,
    seed: int | None = None,
    threads: int = 0,
    frame: str = "pandas",
    progress: bool = True,
) -> Run:
    """Runs a scenario once and returns its tables (see :class:`Run`).

    ``scenario`` is a :class:`Scenario` or the path of a scenario file. ``users``, ``merchants``
    and ``seed`` replace the scenario's own; ``threads`` is the number of worker threads (0:
    one per core; the results do not depend on it). ``frame`` is ``"pandas"``, ``"polars"`` or
    ``"arrow"``. ``progress`` shows the months done (tqdm if installed, else a line on
    stderr); ``False`` silences it. Raises :class:`ScenarioError` (with ``.problems``, the
    field paths and what to do) for a scenario that cannot run, ``ValueError`` for a bad
    argument, ``KeyboardInterrupt`` on Ctrl-C (checked between months).
    """
    scenario = _scenario(scenario)
    frame = _frame_kind(frame)
    users, merchants, seed, threads = _sizes(users, merchants, seed, threads)
    tables = _watching(
        progress,
        scenario.months,
        scenario.name,
        "month",
        lambda bar: _run(scenario, users=users, merchants=merchants, seed=seed, threads=threads, progress=bar),
    )
    return Run(_named(tables, frame), scenario)


class Simulation:
    """A simulation stepped month by month (for teaching, or to watch a run unfold).

    >>> sim = Simulation("data/scenarios/duopoly.toml", users=2_000, merchants=200, seed=1)
    >>> sim.month
    '2018-01'
    >>> sim.step()
    True
    >>> sim.report().market["month"].tolist()
    ['2018-01']

    ``step()`` simulates the next month without the interpreter lock and returns ``False`` once
    the scenario has ended; ``report()`` is the last month's rows and ``tables()`` every month
    so far, as a :class:`Run` of data frames (``frame`` as in :func:`run`).
    """

    def __init__(self, scenario, users=None, merchants=None, seed=None, threads=0, frame="pandas"):
        self.scenario = _scenario(scenario)
        self.frame = _frame_kind(frame)
        users, merchants, seed, threads = _sizes(users, merchants, seed, threads)
        self._sim = _Simulation(self.scenario, users=users, merchants=merchants, seed=seed, threads=threads)

    def step(self) -> bool:
        """Simulates the next month; ``False`` (and nothing done) once the scenario has ended."""
        return self._sim.step()

    @property
    def month(self) -> str:
        """The month the next step simulates, ``YYYY-MM``."""
        return self._sim.month

    @property
    def finished(self) -> bool:
        """Whether every month has been simulated."""
        return self._sim.finished

    def report(self) -> Run:
        """The last month simulated, as the five tables."""
        return Run(_named(self._sim.report(), self.frame), self.scenario)

    def tables(self) -> Run:
        """Every month simulated so far, as the five tables."""
        return Run(_named(self._sim.tables(), self.frame), self.scenario)


SUMMARIES = ("summary_platforms", "summary_market", "summary_channels", "summary_defaults")
EFFECTS = ("effects_platforms", "effects_market", "effects_channels", "effects_defaults")


class Ensemble(_Tables):
    """An ensemble's summaries: ``summary_platforms``, ``summary_market``, ``summary_channels``
    and ``summary_defaults`` (one row per month, keys and metric with ``mean, sd, ci_low,
    ci_high, n``), the tool's ``summary_*.csv`` files; ``runs`` is every run's tables (a
    :class:`Run`, the ``run`` column telling them apart) when asked for, else ``None``."""


class Comparison(_Tables):
    """A comparison's paired effects ``effects_platforms`` … ``effects_defaults`` (per month,
    keys and metric: both sides' means, ``effect`` = alternative − baseline with ``sd``,
    ``ci_low``, ``ci_high``, ``n``, and the unpaired interval for contrast) and both sides'
    summaries ``summary_*`` (told apart by ``scenario``), the tool's ``effects_*.csv`` and
    ``summary_*.csv`` files; ``runs`` as in :class:`Ensemble`."""


def _replicates(replicates) -> int:
    return _count("replicates", replicates)


def ensemble(
    scenario,
    replicates: int = 10,
    users: int | None = None,
    merchants: int | None = None,
    seed: int | None = None,
    threads: int = 0,
    posterior: str | os.PathLike | None = None,
    runs: bool = False,
    frame: str = "pandas",
    progress: bool = True,
) -> Ensemble:
    """Runs ``replicates`` replicates of a scenario and summarises every metric of every month.

    Replicate ``r`` runs with a seed derived from ``seed`` (the scenario's by default) and
    ``r``, as the tool's ``ensemble`` does, so the summaries are its files, value for value.
    ``posterior`` (a ``*_posterior.csv`` written by ``calibrate --method abc``) draws one
    parameter vector per replicate, so the bands include parameter uncertainty. ``runs=True``
    also returns every run's tables. ``progress`` shows the runs done (tqdm if installed, else
    a line on stderr; ``False`` silences it); Ctrl-C stops it between months of the runs in flight and
    raises ``KeyboardInterrupt``.
    """
    scenario = _scenario(scenario)
    frame = _frame_kind(frame)
    users, merchants, seed, threads = _sizes(users, merchants, seed, threads)
    replicates = _replicates(replicates)
    summary, all_runs = _watching(
        progress,
        replicates,
        scenario.name,
        "run",
        lambda bar: _ensemble(
            scenario,
            replicates=replicates,
            users=users,
            merchants=merchants,
            seed=seed,
            threads=threads,
            posterior=None if posterior is None else os.fspath(posterior),
            runs=bool(runs),
            progress=bar,
        ),
    )
    out = Ensemble(_named(summary, frame))
    out.runs = Run(_named(all_runs, frame), scenario) if runs else None
    return out


def compare(
    baseline,
    alternative,
    replicates: int = 10,
    fork_at: str | None = None,
    users: int | None = None,
    merchants: int | None = None,
    seed: int | None = None,
    threads: int = 0,
    posterior: str | os.PathLike | None = None,
    runs: bool = False,
    frame: str = "pandas",
    progress: bool = True,
) -> Comparison:
    """The paired effect of ``alternative`` against ``baseline`` on common random numbers.

    Each replicate runs both scenarios with the same seed; with ``fork_at="YYYY-MM"`` it runs
    their shared past once and both branches from that month (the alternative must agree with
    the baseline before it). The two scenarios need names of their own. The tables are the
    tool's ``compare`` files, value for value.
    """
    baseline, alternative = _scenario(baseline), _scenario(alternative)
    frame = _frame_kind(frame)
    users, merchants, seed, threads = _sizes(users, merchants, seed, threads)
    if fork_at is not None and not isinstance(fork_at, str):
        raise ValueError(f"fork_at must be a month 'YYYY-MM', got {fork_at!r}")
    replicates = _replicates(replicates)
    summary, effects, all_runs = _watching(
        progress,
        replicates,
        f"{alternative.name} vs {baseline.name}",
        "pair",
        lambda bar: _compare(
            baseline,
            alternative,
            replicates=replicates,
            fork_at=fork_at,
            users=users,
            merchants=merchants,
            seed=seed,
            threads=threads,
            posterior=None if posterior is None else os.fspath(posterior),
            runs=bool(runs),
            progress=bar,
        ),
    )
    tables = _named(effects + summary, frame)
    out = Comparison(tables)
    out.runs = Run(_named(all_runs, frame), baseline) if runs else None
    return out


def _number(path: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise ValueError(f"{path}: {v!r} is not a number")
    return float(v)


def _paths(d, what: str):
    if not isinstance(d, dict) or not d:
        raise ValueError(f"{what} must be a non-empty dict of field paths, got {d!r}")
    return d.items()


def _ranges(ranges) -> list:
    """``{path: (lo, hi)}`` as ``[(path, lo, hi)]``, checked."""
    out = []
    for p, r in _paths(ranges, "ranges"):
        if not isinstance(r, (list, tuple)) or len(r) != 2:
            raise ValueError(f"ranges: {p} must map to (lo, hi), got {r!r}")
        out.append((p, _number(p, r[0]), _number(p, r[1])))
    return out


class Sweep(_Tables):
    """A sweep's summaries ``summary_platforms`` … ``summary_defaults``, each row led by
    ``setting`` (the setting's index) and the value of each swept path, then as an
    :class:`Ensemble`'s: the tool's ``sweep`` files (where the setting columns are text)."""


def sweep(
    scenario,
    grid: dict | None = None,
    points: list | None = None,
    ranges: dict | None = None,
    lhs: int | None = None,
    replicates: int = 10,
    users: int | None = None,
    merchants: int | None = None,
    seed: int | None = None,
    threads: int = 0,
    frame: str = "pandas",
    progress: bool = True,
) -> Sweep:
    """Runs every setting of a design, ``replicates`` replicates each, as the tool's ``sweep``.

    One design: ``grid={"params.churn_rate": [0.05, 0.1], ...}`` (a full grid),
    ``points=[{"params.churn_rate": 0.05, "platform.beta.brand": 0.5}, ...]`` (a list of
    settings) or ``ranges={"params.churn_rate": (0.05, 0.2), ...}`` with ``lhs=N`` (a Latin
    hypercube of N settings drawn from the seed). Every setting is checked before the first
    run; a path that does not exist or a value out of range raises :class:`ScenarioError`.
    """
    scenario = _scenario(scenario)
    frame = _frame_kind(frame)
    users, merchants, seed, threads = _sizes(users, merchants, seed, threads)

    grid_ = None if grid is None else [(p, [_number(p, v) for v in vs]) for p, vs in _paths(grid, "grid")]
    if grid_ is not None and any(not vs for _, vs in grid_):
        raise ValueError("grid: every path needs at least one value")
    points_ = None
    if points is not None:
        if not isinstance(points, (list, tuple)) or not points:
            raise ValueError(f"points must be a non-empty list of dicts, got {points!r}")
        points_ = [[(p, _number(p, v)) for p, v in _paths(pt, "each point")] for pt in points]
    ranges_ = None if ranges is None else _ranges(ranges)
    lhs = _count("lhs", lhs)
    replicates = _replicates(replicates)
    if grid_ is not None:
        settings = 1
        for _, values in grid_:
            settings *= len(values)
    else:
        settings = len(points_) if points_ is not None else (lhs or 0)
    tables = _watching(
        progress,
        settings * replicates,
        scenario.name,
        "run",
        lambda bar: _sweep(
            scenario,
            grid=grid_,
            points=points_,
            ranges=ranges_,
            lhs=lhs,
            replicates=replicates,
            users=users,
            merchants=merchants,
            seed=seed,
            threads=threads,
            progress=bar,
        ),
    )
    return Sweep(_named(tables, frame))


class Calibration(_Tables):
    """A calibration's tables, the tool's files of the same names, and what it made.

    Point search (``method="point"``): ``fit`` (every target with the calibrated scenario's
    mean, spread, interval and error), ``identification`` (the objective when each parameter
    moves ±10%), ``trace`` (every candidate in order). ABC (``method="abc"``): ``posterior``
    and ``prior_sample`` (the particles, one column per parameter), ``abc_generations``,
    ``posterior_summary``, ``posterior_correlations``, ``noise``, ``fit`` (the prior and
    posterior predictive bands of every target), ``predictive``, ``probabilities``. Both: the
    calibrated scenario's forecast over its whole horizon, ``summary_platforms`` …
    ``summary_defaults``.

    ``scenario`` is the calibrated :class:`Scenario` (the best point, or the posterior mean),
    ``text`` the tool's printed account, ``files`` the files written into ``out`` (empty
    without), ``posterior_file`` the posterior sample beside the calibrated scenario (ABC with
    ``out``), for ``ensemble(..., posterior=...)``.
    """

    def __repr__(self) -> str:
        return f"Calibration({self.method}, {self.scenario.name!r}; {self._sizes()})"


def calibrate(
    scenario,
    targets: str | os.PathLike,
    params: str | os.PathLike | None = None,
    method: str = "point",
    budget: int = 120,
    seed: int = 1,
    replicates: int = 2,
    report_replicates: int = 10,
    window_end: str = "2016-12",
    users_weight: float = 0.01,
    users: int = 50_000,
    merchants: int = 5_000,
    particles: int = 200,
    alpha: float = 0.5,
    min_acceptance: float = 0.05,
    out: str | os.PathLike | None = None,
    write_scenario: str | os.PathLike | None = None,
    threads: int = 0,
    frame: str = "pandas",
    progress: bool = True,
) -> Calibration:
    """Calibrates a scenario's behavioural parameters to observed figures, as the tool's
    ``calibrate``: the same arguments (``--budget`` is ``budget``, and so on), the same search,
    the same numbers.

    ``targets`` is a directory of ``market_shares.csv``, ``user_counts.csv`` and
    ``context_figures.csv`` (such as ``data/observed``); ``params`` a parameter file
    (``[[parameter]]`` path, lo, hi, why; default: the tool's default parameters).
    ``method="point"`` searches for one best point (a Latin hypercube, then Nelder–Mead, within
    ``budget`` candidates); ``method="abc"`` draws a posterior sample of ``particles`` particles
    by approximate Bayesian computation (``alpha``, ``min_acceptance``). Each candidate runs
    ``replicates`` replicates of ``users`` and ``merchants`` agents up to ``window_end``; the
    fit and the forecast use ``report_replicates``.

    A path as ``scenario`` keeps its text (comments and all) in the calibrated file; a
    :class:`Scenario` is calibrated as it is. With ``out`` the output set is written as the
    tool writes it (and the calibrated scenario to ``write_scenario``, default
    ``OUT/calibrated.toml``); without, nothing is written. ``progress`` counts the runs;
    Ctrl-C stops it at its next candidate and raises ``KeyboardInterrupt``.
    """
    path = None
    if isinstance(scenario, (str, os.PathLike)):
        path = os.fspath(scenario)
    scenario = _scenario(scenario)
    frame = _frame_kind(frame)
    if method not in ("point", "abc"):
        raise ValueError(f"method must be 'point' or 'abc', got {method!r}")
    counts = {
        name: _count(name, value)
        for name, value in [
            ("budget", budget),
            ("replicates", replicates),
            ("report_replicates", report_replicates),
            ("users", users),
            ("merchants", merchants),
            ("particles", particles),
        ]
    }
    seed = _count("seed", seed, positive=False)
    threads = _count("threads", threads, positive=False)
    numbers_ = {}
    for name, value in [("users_weight", users_weight), ("alpha", alpha), ("min_acceptance", min_acceptance)]:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{name} must be a number, got {value!r}")
        numbers_[name] = float(value)
    if not isinstance(window_end, str):
        raise ValueError(f"window_end must be a month 'YYYY-MM', got {window_end!r}")
    fspath = lambda p: None if p is None else os.fspath(p)  # noqa: E731
    tables, calibrated, text, files, beside = _watching(
        progress,
        None,
        f"calibrate {scenario.name}",
        "run",
        lambda bar: _calibrate(
            scenario,
            os.fspath(targets),
            path=path,
            params=fspath(params),
            method=method,
            seed=seed,
            window_end=window_end,
            out=fspath(out),
            write_scenario=fspath(write_scenario),
            threads=threads,
            progress=bar,
            **counts,
            **numbers_,
        ),
    )
    result = Calibration(_named(tables, frame))
    result.method, result.scenario, result.text = method, calibrated, text
    result.files, result.posterior_file = list(files), beside
    return result


class Sensitivity(_Tables):
    """A sensitivity analysis's tables, the tool's files of the same names.

    ``sensitivity``: one row per output, parameter and index (``mu_star``, ``mu``, ``sigma``
    for Morris, in the output's units over each parameter's whole range; ``first`` and
    ``total`` for Sobol), with ``estimate``, the 95% bootstrap interval ``ci_low``,
    ``ci_high`` and ``n`` (trajectories or rows). ``design``: every point in the parameters'
    units. ``outputs``: every run's output (``point``, ``replicate``, ``output``, ``value``).
    ``noise``: per output, the variance of every run's output and its seed-noise part.

    ``text`` is the tool's printed account (indices whose interval includes 0 marked as such),
    ``files`` the files written into ``out`` (empty without), ``reused`` the design points
    whose runs came from the set extended (``extend=``).
    """

    def __repr__(self) -> str:
        return f"Sensitivity({self.method}; {self._sizes()})"


def sensitivity(
    scenario,
    ranges: dict,
    outputs,
    method: str = "morris",
    budget: int = 200,
    replicates: int = 2,
    seed: int | None = None,
    bootstrap: int = 1000,
    vs=None,
    effect_of: str | None = None,
    end: str | None = None,
    independent_seeds: bool = False,
    spread: bool = False,
    users: int | None = None,
    merchants: int | None = None,
    extend: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    threads: int = 0,
    frame: str = "pandas",
    progress: bool = True,
) -> Sensitivity:
    """Which of a scenario's guesses an answer depends on, as the tool's ``sensitivity``: the
    same arguments, the same design, the same numbers.

    ``ranges={"params.loyalty": (0.3, 0.9), ...}`` are the parameters and their ranges;
    ``outputs`` one output or a list, each ``TABLE.KEYS.METRIC@YYYY-MM`` or
    ``@YYYY-MM:YYYY-MM`` for a window's mean (``"platforms.tenpay.value_share@2020-12"``,
    ``"market.lost_value@2016-01:2016-12"``). ``method="morris"`` screens (μ*, μ, σ of the
    elementary effects on ``budget // (k + 1)`` random trajectories; ``spread=True`` chooses
    them for spread, which favours the cube's corners); ``method="sobol"`` estimates
    first- and total-order indices (``budget // (k + 2)`` rows). Each design point runs
    ``replicates`` replicates on common seeds (``independent_seeds=True``: fresh seeds at
    every point). With ``vs`` (a scenario or a path) every output becomes the paired effect of
    ``vs`` against ``scenario``; with ``effect_of`` (a group of the scenario's events, such as
    ``"miit_2021"``) the effect of those events. ``end`` (``"YYYY-MM"``) extends the
    scenarios. With ``out`` the output set is written as the tool writes it. ``extend`` is an
    output set of the same analysis at another budget (the tool's, or this function's with
    ``out``): its runs are reused for the design points both share, and the result is the
    analysis run whole. ``progress`` counts the runs; Ctrl-C stops the analysis between months
    and raises ``KeyboardInterrupt``.
    """
    path = os.fspath(scenario) if isinstance(scenario, (str, os.PathLike)) else None
    scenario = _scenario(scenario)
    vs_path = os.fspath(vs) if isinstance(vs, (str, os.PathLike)) else None
    vs = None if vs is None else _scenario(vs)
    frame = _frame_kind(frame)
    if method not in ("morris", "sobol"):
        raise ValueError(f"method must be 'morris' or 'sobol', got {method!r}")
    ranges_ = _ranges(ranges)
    if isinstance(outputs, str):
        outputs = [outputs]
    if not isinstance(outputs, (list, tuple)) or not outputs or not all(isinstance(o, str) for o in outputs):
        raise ValueError(f"outputs must be an output or a non-empty list of them, got {outputs!r}")
    for name, value in [("effect_of", effect_of), ("end", end)]:
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be a string, got {value!r}")
    users, merchants, seed, threads = _sizes(users, merchants, seed, threads)
    counts = {name: _count(name, value) for name, value in [("budget", budget), ("replicates", replicates), ("bootstrap", bootstrap)]}
    tables, text, files, reused = _watching(
        progress,
        None,
        f"sensitivity {scenario.name}",
        "run",
        lambda bar: _sensitivity(
            scenario,
            ranges_,
            list(outputs),
            method=method,
            seed=seed,
            vs=vs,
            effect_of=effect_of,
            end=end,
            independent_seeds=bool(independent_seeds),
            spread=bool(spread),
            users=users,
            merchants=merchants,
            path=path,
            vs_path=vs_path,
            extend=None if extend is None else os.fspath(extend),
            out=None if out is None else os.fspath(out),
            threads=threads,
            progress=bar,
            **counts,
        ),
    )
    result = Sensitivity(_named(tables, frame))
    result.method, result.text, result.files, result.reused = method, text, list(files), reused
    return result
