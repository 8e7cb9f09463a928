"""What the sweep methods (PARP, SRP) share: a strategy that trains every point in parallel and then evaluates each
trained model, told one outcome at a time; and a method base with the hooks such a sweep needs (its unchangeable
keys, the training sets' fingerprints, its state restored, the status of its points and trainings, its plot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

from gridprune.engine import EngineError, Outcome, Strategy, Trial, read_checkpoint
from gridprune.methods.base import MethodBase
from gridprune.store import RunDir

UNPRUNED = "unpruned"  # the label of a sweep's evaluation of the base model


class TrainingSweep:
    """Training trials by label and the evaluations of what they trained (not synchronous: each outcome is told
    as it arrives). A subclass says in which round it is (`round`, `finished`), what it asks (`ask`), how it is
    saved (`state_dict`, `from_state_dict`) and its rows for status and export (`points`)."""

    synchronous = False
    planned_rounds: ClassVar[int]

    def __init__(self, trials: Sequence[Trial], trained: dict[str, Any] | None = None,
                 scores: dict[str, Any] | None = None):
        self.trials = list(trials)
        self.trained: dict[str, Any] = dict(trained or {})  # label -> {"key", "ok", "metrics", "params"}
        self.scores: dict[str, Any] = dict(scores or {})  # label -> {"value", "metrics"} (None: failed)

    def trained_ok(self) -> list[str]:
        """The labels of the trainings that succeeded, in the trials' order."""
        return [t.label for t in self.trials if self.trained.get(t.label, {}).get("ok")]

    def evaluations_left(self) -> list[Trial]:
        """An evaluation of each model trained but not yet evaluated."""
        return [Trial("evaluate", {"weights": self.trained[name]["key"]}, name)
                for name in self.trained_ok() if name not in self.scores]

    def all_evaluated(self) -> bool:
        """Some training succeeded and every one that did is evaluated."""
        ok = self.trained_ok()
        return bool(ok) and all(name in self.scores for name in ok)

    @property
    def best(self) -> tuple[Trial, float] | None:
        done = sorted((s["value"], name) for name, s in self.scores.items()
                      if s is not None and s["value"] is not None and name != UNPRUNED)
        if not done:
            return None
        name = done[0][1]
        return Trial("evaluate", {"weights": self.trained[name]["key"]}, name), done[0][0]

    def tell(self, trial: Trial, outcome: Outcome) -> None:
        if trial.kind == "train":
            self.trained[trial.label] = {"key": outcome.key, "ok": outcome.ok, "params": trial.params,
                                         "metrics": outcome.metrics if outcome.ok else {"error": outcome.error}}
        else:
            self.scores[trial.label] = {"value": outcome.value, "metrics": outcome.metrics} if outcome.ok else None

    def tell_round(self, trials: Sequence[Trial], outcomes: Sequence[Outcome]) -> None:
        raise NotImplementedError("a sweep is told one outcome at a time")

    def series(self, x: str) -> dict[str, Any]:
        """{"unpruned": {wer, heldout_wer} | None, "series": {variant: [(x, wer, heldout_wer), ...]}}: the evaluated
        points of each variant against their key `x` (`points()`), for the plot."""
        series: dict[str, list[tuple[float, float | None, float | None]]] = {}
        for row in self.points():
            if row["wer"] is not None:
                series.setdefault(row["variant"], []).append((row[x], row["wer"], row["heldout_wer"]))
        unpruned = (self.scores.get(UNPRUNED) or {}).get("metrics")
        return {"unpruned": unpruned, "series": {k: sorted(v) for k, v in series.items()}}

    def rows(self) -> list[tuple[Trial, dict[str, Any], dict[str, Any]]]:
        """(trial, its training's record, its evaluation's metrics) of every training trial ({} where none yet)."""
        return [(trial, self.trained.get(trial.label) or {},
                 (self.scores.get(trial.label) or {}).get("metrics", {})) for trial in self.trials]


class SweepMethod(MethodBase):
    """A method whose result is a sweep of trained points (`Sweep`), plotted against the points' `axis` key."""

    Sweep: ClassVar[Any]  # its TrainingSweep subclass
    axis: ClassVar[tuple[str, str]]  # the points' key the plot's x axis shows, and its name
    headline: ClassVar[Callable[[Sequence[dict[str, Any]]], str | None]]  # the label of the main point
    point_column: ClassVar[tuple[str, str]]  # the points' key `status` shows beside the WERs, and its heading
    headline_means: ClassVar[str]  # which point the headline is, in words
    datasets = ("train",)
    has_best = False  # a sweep's points are its result, none is "the best"

    def unchangeable(self) -> dict[str, str]:
        return {f"{self.section}.{name}": "the sweep's trials were made from it"
                for name in self.Settings.model_fields if name != "save_every"}

    def planned_rounds(self, settings: Any) -> int | None:
        return self.Sweep.planned_rounds

    def key_settings(self, config: Any, settings: Any) -> dict[str, Any]:
        """The training and held-out sets' fingerprints (the trials train and score on them)."""
        from gridprune.data import read_hrl

        def fingerprint(source: Any) -> str | None:
            return None if source is None else read_hrl(source.path, source.audio_dir).fingerprint()

        return {"train_fingerprint": fingerprint(settings.train), "heldout_fingerprint": fingerprint(config.heldout)}

    def restore_strategy(self, run: RunDir, state: dict[str, Any], config: Any, settings: Any) -> Strategy:
        try:
            return self.Sweep.from_state_dict(state)
        except (KeyError, TypeError) as exc:
            raise EngineError(f"checkpoint.json: not a {self.name} sweep's state ({exc})") from None

    def saved_sweep(self, run: RunDir) -> Any:
        """The sweep as the run's checkpoint holds it; None before the first checkpoint."""
        saved = read_checkpoint(run)
        return self.Sweep.from_state_dict(saved["strategy"]) if saved else None

    def status_fields(self, status: dict[str, Any]) -> dict[str, Any]:
        """`training`: each running training task's step and loss; `points`: the sweep so far."""
        from gridprune.training.status import training_progress

        run = RunDir.open(status["run_dir"])
        sweep = self.saved_sweep(run)
        return {"training": training_progress(run.root), "points": sweep.points() if sweep else []}

    def status_lines(self, status: dict[str, Any]) -> list[str]:
        """Each point's WERs and `point_column` (the headline marked), then each training task that runs (or, in a
        stopped run, waits to be resumed)."""
        from gridprune.engine import figure
        from gridprune.training.status import format_training

        points = status.get("points", [])
        main = self.headline(points)
        key, heading = self.point_column
        width = max([16, *(len(p["label"]) for p in points)])
        lines = [f"{'':2}{'point':>{width}}  {'WER search':>10}  {'WER held-out':>12}  {heading}"]
        for point in points:
            lines.append(f"{'*' if point['label'] == main else ' ':2}{point['label']:>{width}}  "
                         f"{figure(point['wer']):>10}  {figure(point['heldout_wer']):>12}  {figure(point[key])}")
        if main is not None:
            lines.append(f"* the headline: {self.headline_means}, the one `gridprune eval --model RUN_DIR/best` "
                         "evaluates once exported")
        return lines + format_training(status.get("training", []), stopped=status.get("state") != "running")

    def plot(self, run: RunDir, out: Path) -> Path:
        """`status --plot`: WER against the sweep's axis, each variant a line, on the search and held-out sets."""
        from gridprune.methods.sweep_plot import plot_sweep

        sweep = self.saved_sweep(run)
        key, name = self.axis
        return plot_sweep(sweep.series(key) if sweep else {"unpruned": None, "series": {}}, Path(out), name)
