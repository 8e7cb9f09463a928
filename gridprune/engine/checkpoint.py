"""checkpoint.json of an engine run: the strategy's state after its last told outcome, and a summary."""

from __future__ import annotations

from typing import Any, Mapping

from gridprune.engine.errors import EngineError
from gridprune.engine.protocols import Strategy
from gridprune.engine.trial import trial_key
from gridprune.store import RunDir

CHECKPOINT_FORMAT = "gridprune.engine.checkpoint"
CHECKPOINT_VERSION = 1


def checkpoint_of(strategy: Strategy, context: Mapping[str, Any]) -> dict[str, Any]:
    """The checkpoint of strategy: {"round", "planned_rounds", "finished", "best", "strategy", ...}."""
    best = None
    if strategy.best is not None:
        trial, value = strategy.best
        best = {"key": trial_key(trial, context), "trial": trial.to_json(), "value": value}
    return {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "round": strategy.round,
        "planned_rounds": strategy.planned_rounds,
        "finished": strategy.finished,
        "best": best,
        "strategy": strategy.state_dict(),
    }


def read_checkpoint(run: RunDir) -> dict[str, Any] | None:
    """The run's checkpoint, None if none yet; EngineError naming the file if the engine did not write it."""
    saved = run.read_checkpoint()
    if saved is None:
        return None
    if "format" not in saved and "completed_generations" in saved:
        raise EngineError(f"{run.checkpoint_path}: written by an earlier gridprune (before the engine, "
                          f"{saved['completed_generations']} generations done), which this version cannot resume; "
                          f"start a new run with another --run-dir, or finish this one with the gridprune that "
                          f"started it ({run.run_info.get('versions', {}).get('gridprune', 'see run.json')})")
    if saved.get("format") != CHECKPOINT_FORMAT or saved.get("version") != CHECKPOINT_VERSION:
        found = saved.get("format", "no format"), saved.get("version", "no version")
        raise EngineError(f"{run.checkpoint_path}: written by another version of gridprune ({found[0]}, "
                          f"{found[1]}; expected {CHECKPOINT_FORMAT} {CHECKPOINT_VERSION}), so this run cannot "
                          "be resumed; start a new run")
    return saved
