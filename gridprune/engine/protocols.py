"""What a strategy and a method declare to run on the engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Protocol, Sequence

from gridprune.engine.kinds import TaskKind
from gridprune.engine.outcome import Outcome
from gridprune.engine.trial import Trial
from gridprune.store import RunDir

if TYPE_CHECKING:
    from pydantic import BaseModel

Config = Any  # the run's validated config (gridprune.config.RunConfig): the engine reads none of it


class Strategy(Protocol):
    """Asks for trials and is told their outcomes, one round at a time.

    A round is what one `ask()` returns; `round` counts the rounds fully told, and must go up by
    exactly one when the last trial of a round is told. A `synchronous` strategy (a GA generation,
    a beam step) is told a whole round at once by `tell_round`, in the order asked; any other (a
    sweep) is told each outcome by `tell` as it arrives, and checkpointed after each. A failed
    trial's outcome has status "failed" and value None. `state_dict()` is JSON; restored (by the
    method), the strategy asks what the original would have asked next.
    """

    synchronous: bool
    round: int
    planned_rounds: int | None  # None where not known in advance
    finished: bool
    best: tuple[Trial, float] | None  # the best trial told so far and its value

    def ask(self) -> list[Trial]: ...

    def tell(self, trial: Trial, outcome: Outcome) -> None: ...

    def tell_round(self, trials: Sequence[Trial], outcomes: Sequence[Outcome]) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    # optional: `describe_round() -> dict`, JSON kept beside the round's keys in generations/NNNN.json
    # (e.g. a GA's population in slot order), read after `ask()`.


class RoundObserver(Protocol):
    """Told what the loop does as it does it (e.g. to draw a progress bar per round); every call is optional
    to act on and must return at once."""

    def round_started(self, index: int, planned: int | None, tasks: int) -> None:
        """Round `index` (0-based) of `planned` starts, with `tasks` to run (the rest were stored)."""

    def task_done(self, trial: Trial, outcome: Outcome) -> None:
        """A task of the round has its outcome (ok or failed)."""

    def round_ended(self, row: dict[str, Any]) -> None:
        """The round's history row is written."""


@dataclass(frozen=True)
class Column:
    """A column a method adds to history rows and `status`: the row's `key`, shown under `header`."""

    key: str
    header: str
    format: str = "{}"

    def show(self, row: Mapping[str, Any]) -> str:
        return figure(row.get(self.key), self.format)


def figure(value: Any, form: str = "{:.4f}") -> str:
    """A value as `form` shows it (a WER by default), "-" where there is none."""
    return "-" if value is None else form.format(value)


def size_figure(size: int | None) -> str:
    """Bytes as MiB, or KiB below one MiB; "-" for none."""
    if size is None:
        return "-"
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 2**10:.0f} KiB"


class Method(Protocol):
    """A pruning method as a job type. `section` is its config key; `Settings` validates it once per
    command, and the typed settings are what every hook below receives as `settings`.
    `gridprune.methods.base.MethodBase` gives every hook but `kinds`, `new_strategy`,
    `restore_strategy` and `export` a default.

    `plot(run, out)` is optional: `status --plot` of a method whose rounds are not the axis to plot
    against (e.g. a sweep's WER over sparsity)."""

    name: str
    section: str  # the config key of its settings
    Settings: type[BaseModel]
    summary: str  # one line: what it prunes and how
    columns: Sequence[Column]
    round_name: str  # what a round is called in messages and reports ("generation", "step", "round")
    resumable_keys: Sequence[str]  # keys of its section that `resume --set` may change (e.g. "ga.generations")
    datasets: Sequence[str]  # keys of its section that take a dataset (e.g. "train")
    value_name: str  # what a trial's value is ("WER")
    lower_is_better: bool
    has_best: bool  # False where the result is a set of points (a sweep), none of them "the best"

    def check(self, config: Config, settings: Any) -> None:
        """Checks before a run starts (reading no weight where it can: config.json and the data files);
        GridpruneError (ConfigValueError naming the key) if the run cannot work."""

    def unchangeable(self) -> dict[str, str]:
        """Keys of its section that `resume --set` refuses, each with the reason."""

    def planned_rounds(self, settings: Any) -> int | None:
        """The rounds the settings plan (None where not known in advance)."""

    def resize(self, state: dict[str, Any], settings: Any) -> dict[str, Any]:
        """The saved strategy state made to run to `settings` (after `resume --set` of a resumable key)."""

    def kinds(self, config: Config, settings: Any) -> Mapping[str, TaskKind]:
        """The task kinds its trials run as, by name."""

    def key_context(self, run: RunDir, config: Config, settings: Any) -> dict[str, Any]:
        """What besides a trial changes its outcome: model and dataset fingerprints, settings that matter."""

    def new_strategy(self, run: RunDir, config: Config, settings: Any) -> Strategy:
        """The strategy of a new run."""

    def restore_strategy(self, run: RunDir, state: dict[str, Any], config: Config, settings: Any) -> Strategy:
        """The strategy `state_dict()` saved; EngineError naming the checkpoint if it cannot be restored."""

    def round_columns(self, strategy: Strategy, trials: Sequence[Trial], outcomes: Sequence[Outcome]) -> dict[str, Any]:
        """Its columns' values for the history row of the round just told."""

    def status_fields(self, status: dict[str, Any]) -> dict[str, Any]:
        """Keys it adds to the status summary (e.g. names it has always used)."""

    def status_lines(self, status: dict[str, Any]) -> list[str]:
        """Lines `gridprune status` prints after the rounds (e.g. a training's live step and loss)."""

    def export(self, run: RunDir, config: Config, settings: Any, out: Path, *, threads: int | None = None,
               rounds: int | None = None) -> dict[str, Any]:
        """Write the result (a pruned model) to `out` and return the report's dict (the caller saves it as
        out/report.json). `threads` and `rounds` are for the speed measurement (None: its defaults)."""
