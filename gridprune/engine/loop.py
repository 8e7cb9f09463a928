"""The one loop of every method: ask, key, skip what is stored, submit, wait, tell, checkpoint."""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Mapping, Sequence

from gridprune.engine.backend import Backend
from gridprune.engine.checkpoint import checkpoint_of, read_checkpoint
from gridprune.engine.errors import ProtocolError
from gridprune.engine.execute import make_task
from gridprune.engine.kinds import Task
from gridprune.engine.outcome import Outcome, load_outcome, store_outcome
from gridprune.engine.protocols import Method, RoundObserver, Strategy
from gridprune.engine.trial import Trial, trial_key
from gridprune.store import RunDir

RoundColumns = Callable[[Strategy, Sequence[Trial], Sequence[Outcome]], dict[str, Any]]


def run_method(method: Method, run: RunDir, config: Any, settings: Any, backend: Backend, *,
               max_rounds: int | None = None, observer: RoundObserver | None = None) -> Strategy:
    """Run or resume `method` in `run` on `backend` until its strategy is finished (or `max_rounds` more rounds)."""
    context = method.key_context(run, config, settings)
    saved = read_checkpoint(run)
    if saved is None:
        strategy = method.new_strategy(run, config, settings)
        run.write_checkpoint(checkpoint_of(strategy, context))  # a costly or random start is made once
    else:
        strategy = method.restore_strategy(run, saved["strategy"], config, settings)
    run_strategy(run, strategy, backend, context, columns=method.round_columns, max_rounds=max_rounds,
                 lower_is_better=method.lower_is_better, observer=observer)
    return strategy


def run_strategy(run: RunDir, strategy: Strategy, backend: Backend, context: Mapping[str, Any], *,
                 columns: RoundColumns | None = None, max_rounds: int | None = None,
                 lower_is_better: bool = True, observer: RoundObserver | None = None) -> None:
    """Run rounds until the strategy is finished or `max_rounds` rounds ran; one history row and a
    checkpoint after each round (and after each outcome of a strategy that is not synchronous).
    A row's `best` and `worst` follow `lower_is_better`.

    The backend is started first; its start-up time is recorded apart, in the first row.
    """
    history = run.read_history()[: strategy.round]
    started = time.time()
    backend.start()
    startup = time.time() - started
    rounds = 0
    while not strategy.finished and (max_rounds is None or rounds < max_rounds):
        row = _run_round(run, strategy, backend, context, columns, lower_is_better, observer)
        row["startup_seconds"], startup = startup, 0.0
        history.append(row)
        run.write_history(history)  # before the checkpoint: a crash between them leaves a row resume drops
        run.write_checkpoint(checkpoint_of(strategy, context))
        if observer is not None:
            observer.round_ended(row)
        rounds += 1


def _run_round(run: RunDir, strategy: Strategy, backend: Backend, context: Mapping[str, Any],
               columns: RoundColumns | None, lower_is_better: bool,
               observer: RoundObserver | None) -> dict[str, Any]:
    index = strategy.round
    started = time.time()
    trials = strategy.ask()
    if not trials:
        raise ProtocolError(f"{type(strategy).__name__} asked for no trials in round {index} but is not finished")
    keys = [trial_key(trial, context) for trial in trials]
    describe = getattr(strategy, "describe_round", None)
    run.write_generation(index, {"round": index, "keys": keys, "trials": [trial.to_json() for trial in trials],
                                 **(describe() if describe is not None else {})})
    slots: dict[str, list[int]] = {}
    for position, key in enumerate(keys):
        slots.setdefault(key, []).append(position)
    outcomes: list[Outcome | None] = [None] * len(trials)

    def deliver(key: str, outcome: Outcome, save: bool = True) -> None:
        if save and observer is not None:
            observer.task_done(trials[slots[key][0]], outcome)
        for position in slots[key]:
            outcomes[position] = outcome
            if not strategy.synchronous:
                strategy.tell(trials[position], outcome)
        if save and not strategy.synchronous and strategy.round == index:
            run.write_checkpoint(checkpoint_of(strategy, context))  # the round's last outcome waits for its row

    pending: list[Task] = []
    for key, positions in slots.items():
        stored = load_outcome(run, key)
        if stored is None:
            pending.append(make_task(trials[positions[0]], key))
        else:
            deliver(key, stored, save=False)
    if len(pending) < len(slots) and not strategy.synchronous and strategy.round == index:
        run.write_checkpoint(checkpoint_of(strategy, context))  # once for all cache hits
    counters_before = dict(backend.counters)
    if observer is not None:
        observer.round_started(index, strategy.planned_rounds, len(pending))

    def on_done(task: Task) -> None:
        outcome = load_outcome(run, task["key"])
        if outcome is None:  # the task said it succeeded but its result is unreadable
            outcome = store_outcome(run, task["key"], Trial.from_json(task),
                                    Outcome.failed("result missing after the task finished", 1))
        deliver(task["key"], outcome)

    failures = backend.run(pending, on_done)
    for failure in failures:
        task = failure.task
        deliver(task["key"], store_outcome(run, task["key"], Trial.from_json(task),
                                           Outcome.failed(failure.reason, failure.attempts)))
    missing = [keys[i][:12] for i, outcome in enumerate(outcomes) if outcome is None]
    if missing:
        raise ProtocolError(f"the backend returned without finishing {len(missing)} tasks: {', '.join(missing)}")
    told: list[Outcome] = outcomes  # type: ignore[assignment]  # all set now
    if strategy.synchronous:
        strategy.tell_round(trials, told)
    if strategy.round != index + 1:
        raise ProtocolError(f"{type(strategy).__name__} is at round {strategy.round} after round {index} was told")

    fresh = {task["key"] for task in pending}
    values = [o.value for o in told if o.ok and o.value is not None]
    row: dict[str, Any] = {
        "round": index,
        "rounds_done": strategy.round,
        "planned_rounds": strategy.planned_rounds,
        "trials": len(trials),
        "evaluated": len(pending),
        "cache_hits": len(trials) - len(pending),
        "failed": sum(not told[slots[key][0]].ok for key in fresh),
        "best": (min if lower_is_better else max)(values) if values else None,
        "mean": statistics.fmean(values) if values else None,
        "worst": (max if lower_is_better else min)(values) if values else None,
        "best_so_far": strategy.best[1] if strategy.best else None,
        "seconds": time.time() - started,
        "task_seconds": sum(told[slots[key][0]].seconds for key in fresh if told[slots[key][0]].ok),
        "workers": backend.parallelism,
        **{name: count - counters_before.get(name, 0) for name, count in backend.counters.items()},
        "finished_at": time.time(),
    }
    if columns is not None:
        row.update(columns(strategy, trials, told))
    return row

