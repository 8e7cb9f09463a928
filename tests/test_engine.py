"""The engine with a toy method (a quadratic over integers, no model): keys, outcomes, artifacts,
progress, the loop with synchronous and one-at-a-time strategies, resume, failures, status."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pytest

from gridprune.backends.local import LocalBackend
from gridprune.engine import (
    Column,
    EngineError,
    Outcome,
    ProtocolError,
    Resources,
    TaskKind,
    Trial,
    WorkerFactory,
    SavedProgress,
    artifact_dir,
    progress_dir,
    read_checkpoint,
    round_table,
    run_method,
    run_strategy,
    summarise_run,
    trial_key,
    visible_device,
)
from gridprune.backends.inprocess import InProcessBackend
from gridprune.engine.artifacts import ArtifactWriter
from gridprune.store import RunDir

CONTEXT = {"model_fingerprint": "toy-model", "dataset_fingerprint": "toy-data", "settings": {"subset": None}}
REPO = Path(__file__).resolve().parents[1]


def quadratic(params: dict[str, int]) -> int:
    return (params["x"] - 3) ** 2 + (params["y"] + 1) ** 2


def logged(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


# ------------------------------------------------------------------ handlers (picklable factories)


@dataclass(frozen=True)
class QuadraticFactory:
    """Evaluates the quadratic; logs each call's key; raises ValueError at x == fail_x, and
    KeyboardInterrupt (a killed master) on its `interrupt_at`-th call."""

    log: str
    fail_x: int | None = None
    interrupt_at: int | None = None

    def __call__(self, threads: int) -> QuadraticHandler:
        return QuadraticHandler(self)


class QuadraticHandler:
    def __init__(self, spec: QuadraticFactory):
        self.spec = spec
        self.calls = 0

    def __call__(self, task: dict, context) -> dict:
        self.calls += 1
        if self.calls == self.spec.interrupt_at:
            raise KeyboardInterrupt
        params = task["params"]
        if params["x"] == self.spec.fail_x:
            raise ValueError(f"x = {params['x']} is out of the toy's domain")
        with open(self.spec.log, "a") as file:
            file.write(context.key + "\n")
        return {"value": float(quadratic(params)), "metrics": {"x": params["x"], "device": context.device}}


@dataclass(frozen=True)
class TrainFactory:
    """A long task: `steps` steps, each saved as progress; the first one to reach step 3 raises once."""

    log: str
    crash_marker: str

    def __call__(self, threads: int) -> TrainHandler:
        return TrainHandler(self)


class TrainHandler:
    def __init__(self, spec: TrainFactory):
        self.spec = spec

    def __call__(self, task: dict, context) -> dict:
        x, steps = task["params"]["x"], task["params"]["steps"]
        saved = context.progress.load()
        step, total = (saved[0]["step"], int(saved[1]["weights.bin"])) if saved else (0, 0)
        for step in range(step, steps):
            if step == 3 and not Path(self.spec.crash_marker).exists():
                Path(self.spec.crash_marker).touch()
                raise RuntimeError("preempted at step 3")
            with open(self.spec.log, "a") as file:
                file.write(f"{x}:{step}\n")
            total += x * (step + 1)
            context.progress.save({"step": step + 1}, {"weights.bin": str(total).encode()})
        context.artifacts.write_bytes("weights.bin", str(total).encode())
        context.artifacts.write_json("meta/train.json", {"steps": steps})
        return {"value": float(steps), "metrics": {"total": total}}


@dataclass(frozen=True)
class EvaluateFactory:
    def __call__(self, threads: int) -> EvaluateHandler:
        return EvaluateHandler()


class EvaluateHandler:
    def __call__(self, task: dict, context) -> dict:
        total = int(context.artifact_of(task["params"]["weights"], "weights.bin").read_bytes())
        return {"value": float(abs(total - 40)), "seconds": 0.25}


# ------------------------------------------------------------------ strategies


class GenerationStrategy:
    """Synchronous: each round a population of integer points around the best so far."""

    synchronous = True

    def __init__(self, size: int = 6, rounds: int = 4, seed: int = 0):
        self.size, self.planned_rounds, self.round = size, rounds, 0
        self.rng = np.random.default_rng(seed)
        self.population = [[int(v) for v in self.rng.integers(-10, 11, size=2)] for _ in range(size)]
        self.best_point: list[int] | None = None
        self.best_value: float | None = None
        self.told_none = 0

    @property
    def finished(self) -> bool:
        return self.round >= self.planned_rounds

    @property
    def best(self) -> tuple[Trial, float] | None:
        if self.best_point is None:
            return None
        return Trial("quadratic", {"x": self.best_point[0], "y": self.best_point[1]}), self.best_value

    def ask(self) -> list[Trial]:
        return [Trial("quadratic", {"x": x, "y": y}, label=f"r{self.round}") for x, y in self.population]

    def tell(self, trial: Trial, outcome: Outcome) -> None:
        raise AssertionError("a synchronous strategy is told whole rounds")

    def tell_round(self, trials: Sequence[Trial], outcomes: Sequence[Outcome]) -> None:
        for trial, outcome in zip(trials, outcomes):
            if outcome.value is None:
                self.told_none += 1
                continue
            if self.best_value is None or outcome.value < self.best_value:
                self.best_point, self.best_value = [trial.params["x"], trial.params["y"]], outcome.value
        centre = self.best_point or [0, 0]
        self.population = [[centre[0] + int(self.rng.integers(-2, 3)), centre[1] + int(self.rng.integers(-2, 3))]
                           for _ in range(self.size)]
        self.round += 1

    def state_dict(self) -> dict[str, Any]:
        return {"size": self.size, "rounds": self.planned_rounds, "round": self.round, "population": self.population,
                "best_point": self.best_point, "best_value": self.best_value, "told_none": self.told_none,
                "rng": self.rng.bit_generator.state}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> GenerationStrategy:
        strategy = cls(state["size"], state["rounds"])
        strategy.round, strategy.population = state["round"], state["population"]
        strategy.best_point, strategy.best_value = state["best_point"], state["best_value"]
        strategy.told_none = state["told_none"]
        strategy.rng.bit_generator.state = state["rng"]
        return strategy


class SweepStrategy:
    """One at a time: every x of a list at y = 0, in one round."""

    synchronous = False
    planned_rounds = 1

    def __init__(self, xs: Sequence[int], told: dict[str, float | None] | None = None):
        self.xs, self.told = list(xs), dict(told or {})

    @property
    def round(self) -> int:
        return int(len(self.told) == len(self.xs))

    @property
    def finished(self) -> bool:
        return self.round == 1

    @property
    def best(self) -> tuple[Trial, float] | None:
        done = [(v, int(x)) for x, v in self.told.items() if v is not None]
        return (Trial("quadratic", {"x": min(done)[1], "y": 0}), min(done)[0]) if done else None

    def ask(self) -> list[Trial]:
        return [Trial("quadratic", {"x": x, "y": 0}) for x in self.xs if str(x) not in self.told]

    def tell(self, trial: Trial, outcome: Outcome) -> None:
        self.told[str(trial.params["x"])] = outcome.value

    def tell_round(self, trials, outcomes) -> None:
        raise AssertionError("a sweep is told one outcome at a time")

    def state_dict(self) -> dict[str, Any]:
        return {"xs": self.xs, "told": self.told}


class TrainThenEvaluate:
    """One at a time, two rounds: train each x (a long task), then evaluate each trained weight file."""

    synchronous = False
    planned_rounds = 2

    def __init__(self, xs: Sequence[int]):
        self.xs = list(xs)
        self.trained: dict[str, str] = {}  # x -> key of its training trial
        self.scores: dict[str, float | None] = {}  # training key -> value

    @property
    def round(self) -> int:
        return (len(self.trained) == len(self.xs)) + (len(self.scores) == len(self.xs))

    @property
    def finished(self) -> bool:
        return self.round == 2

    @property
    def best(self) -> tuple[Trial, float] | None:
        done = sorted((v, k) for k, v in self.scores.items() if v is not None)
        return (Trial("evaluate", {"weights": done[0][1]}), done[0][0]) if done else None

    def ask(self) -> list[Trial]:
        if self.round == 0:
            return [Trial("train", {"x": x, "steps": 5}) for x in self.xs if str(x) not in self.trained]
        return [Trial("evaluate", {"weights": k}) for k in self.trained.values() if k not in self.scores]

    def tell(self, trial: Trial, outcome: Outcome) -> None:
        if trial.kind == "train":
            self.trained[str(trial.params["x"])] = outcome.key
        else:
            self.scores[trial.params["weights"]] = outcome.value

    def state_dict(self) -> dict[str, Any]:
        return {"xs": self.xs, "trained": self.trained, "scores": self.scores}


class QuadraticMethod:
    """The toy method: a GenerationStrategy over the quadratic."""

    name, section, Settings = "toy", "toy", dict
    columns = (Column("distinct", "distinct"),)
    lower_is_better = True

    def __init__(self, log: Path, fail_x: int | None = None, interrupt_at: int | None = None):
        self.factory = QuadraticFactory(str(log), fail_x, interrupt_at)

    def check(self, config, settings) -> None:
        pass

    def kinds(self, config, settings) -> dict[str, TaskKind]:
        return {"quadratic": TaskKind("quadratic", self.factory, Resources(cpus=1, mem_gb=0.5, time_min=1))}

    def key_context(self, run, config, settings) -> dict[str, Any]:
        return CONTEXT

    def new_strategy(self, run, config, settings) -> GenerationStrategy:
        return GenerationStrategy(size=settings["size"], rounds=settings["rounds"], seed=config["seed"])

    def restore_strategy(self, run, state, config, settings) -> GenerationStrategy:
        return GenerationStrategy.from_state_dict(state)

    def round_columns(self, strategy, trials, outcomes) -> dict[str, Any]:
        return {"distinct": len({json.dumps(t.params, sort_keys=True) for t in trials})}

    def status_fields(self, status: dict[str, Any]) -> dict[str, Any]:
        return {"completed_generations": status["rounds_completed"]}

    def export(self, run, config, settings, out) -> dict[str, Any]:
        return {}


CONFIG, SETTINGS = {"seed": 7}, {"size": 6, "rounds": 4}


def new_run(path: Path) -> RunDir:
    return RunDir.create(path, {"method": "toy", "created_at": 0.0})


def run_toy(run: RunDir, method: QuadraticMethod, max_rounds: int | None = None):
    backend = InProcessBackend(run, method.kinds(CONFIG, SETTINGS), max_retries=1)
    try:
        return run_method(method, run, CONFIG, SETTINGS, backend, max_rounds=max_rounds)
    finally:
        backend.close()


# ------------------------------------------------------------------ the trial key


def test_the_key_is_stable_and_changes_with_kind_params_and_context():
    trial = Trial("quadratic", {"x": 1, "y": [2, 3]})
    key = trial_key(trial, CONTEXT)
    assert key == trial_key(Trial("quadratic", {"y": [2, 3], "x": 1}, label="a label"), dict(reversed(CONTEXT.items())))
    # the canonical form is part of the run directory's format: a change here orphans every stored result
    assert key == "ce863909d6f2e32b6f930df3d0f3ed2f5a03feaa994d030e0d383174151931c2"
    others = {
        trial_key(Trial("evaluate", {"x": 1, "y": [2, 3]}), CONTEXT),
        trial_key(Trial("quadratic", {"x": 1, "y": [3, 2]}), CONTEXT),
        trial_key(Trial("quadratic", {"x": 1.0, "y": [2, 3]}), CONTEXT),
        trial_key(trial, {**CONTEXT, "dataset_fingerprint": "other-data"}),
        trial_key(trial, {**CONTEXT, "settings": {"subset": 10}}),
    }
    assert key not in others and len(others) == 5


@pytest.mark.parametrize("params, where", [
    ({"x": np.int64(3)}, "['x']"), ({"genes": (1, 2)}, "['genes']"), ({"x": math.nan}, "['x']"),
    ({"layers": {1: [0]}}, "['layers']"), ({"x": [1, {2, 3}]}, "['x'][1]"),
])
def test_params_that_are_not_canonical_json_are_refused_naming_the_place(params, where):
    with pytest.raises(ProtocolError, match="not JSON|JSON value|JSON keys") as caught:
        Trial("quadratic", params)
    assert where in str(caught.value)


def test_a_context_that_is_not_json_is_refused():
    with pytest.raises(ProtocolError, match="key context"):
        trial_key(Trial("quadratic", {"x": 1}), {"model": Path("/m")})


# ------------------------------------------------------------------ artifacts and progress


def test_an_artifact_folder_appears_whole_and_the_first_writer_wins(tmp_path):
    run = new_run(tmp_path / "run")
    key = trial_key(Trial("train", {"x": 1}), CONTEXT)
    first = ArtifactWriter(artifact_dir(run, key))
    first.write_bytes("weights.bin", b"first")
    first.write_json("sub/meta.json", {"n": 1})
    assert not artifact_dir(run, key).exists()  # nothing visible before the commit
    assert first.commit() == ("sub/meta.json", "weights.bin")
    second = ArtifactWriter(artifact_dir(run, key))
    second.write_bytes("weights.bin", b"second")
    second.write_bytes("extra.bin", b"x")
    assert second.commit() == ("sub/meta.json", "weights.bin")
    assert (artifact_dir(run, key) / "weights.bin").read_bytes() == b"first"
    assert [p.name for p in artifact_dir(run, key).parent.iterdir()] == [key]  # no staging folder left
    with pytest.raises(ProtocolError):
        second.path("../escape.bin")


def _crash_in_child(run: RunDir, key: str, body: str) -> None:
    script = textwrap.dedent(f"""
        import os
        import gridprune.engine.artifacts as artifacts
        from gridprune.store import RunDir
        run, key = RunDir.open({str(run.root)!r}), {key!r}
    """) + textwrap.dedent(body)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 9, proc.stderr


def test_a_crash_mid_write_leaves_no_artifact_folder_and_keeps_the_older_progress(tmp_path):
    run = new_run(tmp_path / "run")
    key = trial_key(Trial("train", {"x": 2}), CONTEXT)
    _crash_in_child(run, key, """
        writer = artifacts.ArtifactWriter(artifacts.artifact_dir(run, key))
        writer.write_bytes("weights.bin", b"half")
        os._exit(9)  # killed before the handler returned
    """)
    assert not artifact_dir(run, key).exists()
    _crash_in_child(run, key, """
        progress = artifacts.SavedProgress(artifacts.progress_dir(run, key))
        progress.save({"step": 1}, {"weights.bin": b"one"})
        artifacts._publish_folder = lambda staging, final: os._exit(9)  # killed after writing, before the rename
        progress.save({"step": 2}, {"weights.bin": b"two"})
    """)
    assert SavedProgress(progress_dir(run, key)).load() == ({"step": 1}, {"weights.bin": b"one"})
    writer = ArtifactWriter(artifact_dir(run, key))
    writer.write_bytes("weights.bin", b"whole")
    assert writer.commit() == ("weights.bin",)


def test_progress_round_trip_replaces_the_state_as_a_whole(tmp_path):
    progress = SavedProgress(tmp_path / "progress" / "k")
    assert progress.load() is None
    progress.save({"step": 1, "loss": 0.5}, {"model.pt": b"\x00\x01", "optim.pt": b"\x02"})
    progress.save({"step": 2, "loss": 0.25}, {"model.pt": b"\x03"})
    assert progress.load() == ({"step": 2, "loss": 0.25}, {"model.pt": b"\x03"})
    assert len(list(progress.folder.iterdir())) == 1  # the older snapshot is gone
    with pytest.raises(ProtocolError):
        progress.save({"step": 3}, {"state.json": b"{}"})
    with pytest.raises(ProtocolError):
        progress.save({"step": 3, "loss": math.inf})
    progress.clear()
    assert progress.load() is None and not progress.folder.exists()


# ------------------------------------------------------------------ the loop


def test_a_synchronous_strategy_runs_all_rounds_and_skips_what_is_stored(tmp_path):
    run = new_run(tmp_path / "run")
    method = QuadraticMethod(tmp_path / "calls.log")
    strategy = run_toy(run, method)

    history = run.read_history()
    calls = logged(tmp_path / "calls.log")
    assert strategy.finished and [row["round"] for row in history] == [0, 1, 2, 3]
    assert len(calls) == len(set(calls)) == sum(row["evaluated"] for row in history)
    assert sum(row["evaluated"] + row["cache_hits"] for row in history) == 4 * 6
    assert sum(row["cache_hits"] for row in history) > 0  # points revisited around the best
    assert all(row["evaluated"] <= row["distinct"] <= row["trials"] == 6 for row in history)
    saved = read_checkpoint(run)
    assert saved["round"] == 4 and saved["finished"] and saved["best"]["value"] == strategy.best_value
    record = run.read_result(saved["best"]["key"])
    assert record["value"] == strategy.best_value == quadratic(record["trial"]["params"])
    assert record["metrics"]["device"] == "cpu" and record["attempts"] == 1


def test_killed_between_or_within_rounds_the_resumed_run_evaluates_nothing_twice(tmp_path):
    straight = new_run(tmp_path / "straight")
    reference = run_toy(straight, QuadraticMethod(tmp_path / "straight.log"))

    between = new_run(tmp_path / "between")
    run_toy(between, QuadraticMethod(tmp_path / "between.log"), max_rounds=2)
    assert read_checkpoint(between)["round"] == 2
    resumed = run_toy(between, QuadraticMethod(tmp_path / "between.log"))

    within = new_run(tmp_path / "within")
    with pytest.raises(KeyboardInterrupt):
        run_toy(within, QuadraticMethod(tmp_path / "within.log", interrupt_at=9))
    assert read_checkpoint(within)["round"] == 1  # killed in round 1, after some of its evaluations
    again = run_toy(within, QuadraticMethod(tmp_path / "within.log"))

    expected = logged(tmp_path / "straight.log")
    for log, strategy in (("between.log", resumed), ("within.log", again)):
        assert logged(tmp_path / log) == expected  # the same evaluations, in the same order, none twice
        assert strategy.state_dict() == reference.state_dict()
    assert [row["round"] for row in within.read_history()] == [0, 1, 2, 3]
    assert read_checkpoint(within)["best"] == read_checkpoint(straight)["best"]


def test_a_task_that_keeps_failing_is_recorded_failed_and_told_without_value(tmp_path):
    run = new_run(tmp_path / "run")
    kinds = {"quadratic": TaskKind("quadratic", QuadraticFactory(str(tmp_path / "calls.log"), fail_x=2))}
    backend = InProcessBackend(run, kinds, max_retries=2)
    strategy = SweepStrategy([0, 1, 2, 3, 4])
    run_strategy(run, strategy, backend, CONTEXT)

    failed_key = trial_key(Trial("quadratic", {"x": 2, "y": 0}), CONTEXT)
    record = run.read_result(failed_key)
    assert record["status"] == "failed" and record["value"] is None and record["attempts"] == 3
    assert "x = 2 is out of the toy's domain" in record["error"]
    assert record["trial"] == {"kind": "quadratic", "params": {"x": 2, "y": 0}, "label": None}
    assert strategy.told["2"] is None and strategy.told["3"] == quadratic({"x": 3, "y": 0})
    assert strategy.best[1] == 1.0 and strategy.best[0].params == {"x": 3, "y": 0}
    row = run.read_history()[0]
    assert (row["evaluated"], row["failed"], row["attempts"]) == (5, 1, 4 + 3)

    status = summarise_run(run)
    assert (status["rounds_completed"], status["planned_rounds"], status["finished"]) == (1, 1, True)
    assert (status["evaluations"], status["failed"], status["best_value"]) == (5, 1, 1.0)
    assert status["best_trial"]["params"] == {"x": 3, "y": 0}


def test_a_sweep_is_checkpointed_after_each_outcome_and_resumes_with_the_rest(tmp_path):
    run = new_run(tmp_path / "run")
    log = tmp_path / "calls.log"

    def kinds(interrupt_at=None):
        return {"quadratic": TaskKind("quadratic", QuadraticFactory(str(log), interrupt_at=interrupt_at))}

    with pytest.raises(KeyboardInterrupt):
        run_strategy(run, SweepStrategy(range(6)), InProcessBackend(run, kinds(interrupt_at=4)), CONTEXT)
    saved = read_checkpoint(run)
    assert saved["round"] == 0 and sorted(saved["strategy"]["told"]) == ["0", "1", "2"]
    assert run.read_history() == []

    strategy = SweepStrategy(saved["strategy"]["xs"], saved["strategy"]["told"])
    run_strategy(run, strategy, InProcessBackend(run, kinds()), CONTEXT)
    assert len(logged(log)) == len(set(logged(log))) == 6
    assert strategy.finished and strategy.best[1] == 1.0
    assert run.read_history()[0]["evaluated"] == 3


def test_a_long_task_continues_from_its_saved_progress_and_publishes_its_artifacts(tmp_path):
    run = new_run(tmp_path / "run")
    steps_log = tmp_path / "steps.log"
    kinds = {
        "train": TaskKind("train", TrainFactory(str(steps_log), str(tmp_path / "crashed")),
                          Resources(cpus=4, mem_gb=16, time_min=600, gpus=1), tasks_per_job=1),
        "evaluate": TaskKind("evaluate", EvaluateFactory()),
    }
    strategy = TrainThenEvaluate([1, 2, 3])
    run_strategy(run, strategy, InProcessBackend(run, kinds, max_retries=1), CONTEXT)

    steps = logged(steps_log)
    assert len(steps) == len(set(steps)) == 15  # 3 trainings x 5 steps, none redone after the crash
    train_keys = list(strategy.trained.values())
    records = [run.read_result(key) for key in train_keys]
    assert [r["attempts"] for r in records] == [2, 1, 1]  # the first one crashed at step 3, once
    for x, key, record in zip([1, 2, 3], train_keys, records):
        total = x * 15
        assert record["metrics"]["total"] == total and record["artifacts"] == ["meta/train.json", "weights.bin"]
        assert (artifact_dir(run, key) / "weights.bin").read_bytes() == str(total).encode()
        assert not progress_dir(run, key).exists()  # dropped once the result is stored
    assert strategy.best[1] == 5.0  # |45 - 40|: x = 3
    history = run.read_history()
    assert [row["round"] for row in history] == [0, 1] and history[1]["task_seconds"] == 0.75


def test_an_old_checkpoint_is_refused_naming_the_file(tmp_path):
    run = new_run(tmp_path / "run")
    run.write_checkpoint({"completed_generations": 3, "search": {}})
    with pytest.raises(EngineError, match=r"checkpoint\.json: written by an earlier gridprune.*cannot resume; start a new run"):
        run_toy(run, QuadraticMethod(tmp_path / "calls.log"))


def test_a_strategy_that_does_not_advance_its_round_is_a_protocol_error(tmp_path):
    run = new_run(tmp_path / "run")
    stuck = GenerationStrategy()
    stuck.tell_round = lambda trials, outcomes: None
    kinds = {"quadratic": TaskKind("quadratic", QuadraticFactory(str(tmp_path / "calls.log")))}
    with pytest.raises(ProtocolError, match="round 0 after round 0"):
        run_strategy(run, stuck, InProcessBackend(run, kinds), CONTEXT)


def test_status_rows_and_the_methods_columns(tmp_path):
    run = new_run(tmp_path / "run")
    method = QuadraticMethod(tmp_path / "calls.log")
    run_toy(run, method, max_rounds=3)
    status = summarise_run(run)
    assert (status["rounds_completed"], status["planned_rounds"], status["finished"]) == (3, 4, False)
    assert status["evaluations"] == len(logged(tmp_path / "calls.log"))
    assert status["cache_hits"] == sum(row["cache_hits"] for row in run.read_history())
    assert status["estimated_seconds_left"] is not None
    assert method.status_fields(status) == {"completed_generations": 3}
    lines = round_table(status["history"], method.columns)
    assert "distinct" in lines[0] and len(lines) == 1 + 3


def test_the_device_follows_the_kind_and_the_environment(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    assert (visible_device(0), visible_device(1)) == ("cpu", "cuda")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_device(1) == "cpu"


def test_worker_processes_of_the_local_backend_run_engine_tasks(tmp_path):
    run = new_run(tmp_path / "run")
    kinds = QuadraticMethod(tmp_path / "calls.log").kinds(CONFIG, SETTINGS)
    backend = LocalBackend(WorkerFactory(str(run.root), kinds), workers=2, threads=1, max_retries=1)
    reference_run = new_run(tmp_path / "reference")
    try:
        strategy = GenerationStrategy(seed=3)
        run_strategy(run, strategy, backend, CONTEXT)
    finally:
        backend.close()
    reference = GenerationStrategy(seed=3)
    run_strategy(reference_run, reference, InProcessBackend(reference_run, kinds), CONTEXT)
    assert strategy.state_dict() == reference.state_dict()
    assert run.read_history()[0]["workers"] == 2
