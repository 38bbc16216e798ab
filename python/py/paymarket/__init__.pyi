import os
from typing import Any, Union

__version__: str
TABLES: tuple[str, ...]
FRAMES: tuple[str, ...]
SUMMARIES: tuple[str, ...]
EFFECTS: tuple[str, ...]

class ScenarioError(Exception):
    """A scenario that cannot be read or run."""

    problems: list[tuple[str, str]]

class Scenario:
    """A scenario, read from a file or TOML text and changed by field path."""

    @staticmethod
    def load(path: Union[str, os.PathLike[str]]) -> Scenario: ...
    @staticmethod
    def from_toml(text: str) -> Scenario:
        """Reads a scenario from TOML text; ``validate()`` or a run checks the whole."""
    def to_toml(self) -> str: ...
    def get(self, path: str) -> float: ...
    def set(self, path: str, value: float) -> None: ...
    def __getitem__(self, path: str) -> float: ...
    def __setitem__(self, path: str, value: float) -> None: ...
    def validate(self) -> None: ...
    @property
    def name(self) -> str: ...
    @name.setter
    def name(self, value: str) -> None: ...
    @property
    def months(self) -> int: ...
    @property
    def events(self) -> list[dict[str, Any]]: ...
    def without_events(self, indices: list[int], name: str) -> Scenario: ...
    @property
    def platforms(self) -> list[str]: ...
    @property
    def channels(self) -> list[str]: ...
    @property
    def networks(self) -> list[str]: ...

class Table:
    """One output table, exported through the Arrow PyCapsule interface."""

    @property
    def name(self) -> str: ...
    def __len__(self) -> int: ...
    def __arrow_c_array__(self, requested_schema: Any = ...) -> tuple[Any, Any]: ...

class Run:
    """One run's five tables as data frames."""

    scenario: Scenario
    platforms: Any
    market: Any
    channels: Any
    events: Any
    defaults: Any
    def __getitem__(self, name: str) -> Any: ...

class Simulation:
    """A simulation stepped month by month."""

    scenario: Scenario
    frame: str
    def __init__(
        self,
        scenario: Union[Scenario, str, os.PathLike[str]],
        users: int | None = ...,
        merchants: int | None = ...,
        seed: int | None = ...,
        threads: int = ...,
        frame: str = ...,
    ) -> None: ...
    def step(self) -> bool: ...
    @property
    def month(self) -> str: ...
    @property
    def finished(self) -> bool: ...
    def report(self) -> Run: ...
    def tables(self) -> Run: ...

def problems(text: str) -> list[tuple[str, str]]: ...
def run(
    scenario: Union[Scenario, str, os.PathLike[str]],
    users: int | None = ...,
    merchants: int | None = ...,
    seed: int | None = ...,
    threads: int = ...,
    frame: str = ...,
    progress: bool = ...,
) -> Run: ...

class Ensemble:
    """An ensemble's summary tables."""

    summary_platforms: Any
    summary_market: Any
    summary_channels: Any
    summary_defaults: Any
    runs: Run | None
    def __getitem__(self, name: str) -> Any: ...

class Comparison:
    """A comparison's paired effects and both sides' summaries."""

    effects_platforms: Any
    effects_market: Any
    effects_channels: Any
    effects_defaults: Any
    summary_platforms: Any
    summary_market: Any
    summary_channels: Any
    summary_defaults: Any
    runs: Run | None
    def __getitem__(self, name: str) -> Any: ...

def ensemble(
    scenario: Union[Scenario, str, os.PathLike[str]],
    replicates: int = ...,
    users: int | None = ...,
    merchants: int | None = ...,
    seed: int | None = ...,
    threads: int = ...,
    posterior: Union[str, os.PathLike[str], None] = ...,
    runs: bool = ...,
    frame: str = ...,
    progress: bool = ...,
) -> Ensemble: ...
def compare(
    baseline: Union[Scenario, str, os.PathLike[str]],
    alternative: Union[Scenario, str, os.PathLike[str]],
    replicates: int = ...,
    fork_at: str | None = ...,
    users: int | None = ...,
    merchants: int | None = ...,
    seed: int | None = ...,
    threads: int = ...,
    posterior: Union[str, os.PathLike[str], None] = ...,
    runs: bool = ...,
    frame: str = ...,
    progress: bool = ...,
) -> Comparison: ...

class Sweep:
    """A sweep's summary tables, led by the setting and each swept path's value."""

    summary_platforms: Any
    summary_market: Any
    summary_channels: Any
    summary_defaults: Any
    def __getitem__(self, name: str) -> Any: ...

def sweep(
    scenario: Union[Scenario, str, os.PathLike[str]],
    grid: dict[str, list[float]] | None = ...,
    points: list[dict[str, float]] | None = ...,
    ranges: dict[str, tuple[float, float]] | None = ...,
    lhs: int | None = ...,
    replicates: int = ...,
    users: int | None = ...,
    merchants: int | None = ...,
    seed: int | None = ...,
    threads: int = ...,
    frame: str = ...,
    progress: bool = ...,
) -> Sweep: ...

class Calibration:
    """A calibration's tables (the tool's files of the same names), the calibrated scenario,
    the printed account, the files written and the posterior file (ABC with ``out``)."""

    method: str
    scenario: Scenario
    text: str
    files: list[str]
    posterior_file: str | None
    fit: Any
    summary_platforms: Any
    summary_market: Any
    summary_channels: Any
    summary_defaults: Any
    def __getitem__(self, name: str) -> Any: ...

def calibrate(
    scenario: Union[Scenario, str, os.PathLike[str]],
    targets: str | os.PathLike[str],
    params: str | os.PathLike[str] | None = ...,
    method: str = ...,
    budget: int = ...,
    seed: int = ...,
    replicates: int = ...,
    report_replicates: int = ...,
    window_end: str = ...,
    users_weight: float = ...,
    users: int = ...,
    merchants: int = ...,
    particles: int = ...,
    alpha: float = ...,
    min_acceptance: float = ...,
    out: str | os.PathLike[str] | None = ...,
    write_scenario: str | os.PathLike[str] | None = ...,
    threads: int = ...,
    frame: str = ...,
    progress: bool = ...,
) -> Calibration: ...

class Sensitivity:
    """A sensitivity analysis's tables (the tool's files of the same names), the printed
    account and the files written."""

    method: str
    text: str
    files: list[str]
    reused: int
    sensitivity: Any
    design: Any
    outputs: Any
    noise: Any
    def __getitem__(self, name: str) -> Any: ...

def sensitivity(
    scenario: Union[Scenario, str, os.PathLike[str]],
    ranges: dict[str, tuple[float, float]],
    outputs: str | list[str],
    method: str = ...,
    budget: int = ...,
    replicates: int = ...,
    seed: int | None = ...,
    bootstrap: int = ...,
    vs: Union[Scenario, str, os.PathLike[str], None] = ...,
    effect_of: str | None = ...,
    end: str | None = ...,
    independent_seeds: bool = ...,
    spread: bool = ...,
    users: int | None = ...,
    merchants: int | None = ...,
    extend: str | os.PathLike[str] | None = ...,
    out: str | os.PathLike[str] | None = ...,
    threads: int = ...,
    frame: str = ...,
    progress: bool = ...,
) -> Sensitivity: ...
