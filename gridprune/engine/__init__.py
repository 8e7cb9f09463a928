"""The engine every pruning method runs on; it knows no model, method, search or backend.

- A `Trial` is a task kind plus canonical JSON params; `trial_key(trial, context)` hashes
  (kind, params, context) with context = model/dataset fingerprints and the settings that matter.
  The key names the trial's result (`Outcome` record), artifact folder and progress folder.
- A `Strategy` asks for a round of trials and is told their `Outcome`s: all at once
  (`synchronous`: a GA generation, a beam step) or one by one as they finish (a sweep); `round`
  counts rounds fully told; `state_dict()` is JSON and the method restores it.
- A `TaskKind` has a name, `Resources` and a picklable `factory(threads) -> handler`, built once
  per worker; `handler(task, context) -> {"value", "metrics"[, "seconds"]}` writes its files
  through `context.artifacts` and long tasks save `context.progress`. `execute` (via
  `WorkerFactory`, the handler-factory shape backends take) calls it, publishes the artifacts
  and stores the result: handlers never write results.
- A `Method` declares its settings (validated once by the caller; hooks get the typed object),
  `check`, `kinds`, `key_context`, `new_strategy` / `restore_strategy`, `round_columns`,
  `status_fields`, `columns`, `round_name`, `planned_rounds`, what `resume --set` may change
  (`resumable_keys`, `unchangeable`, `resize`) and `export`.
- Each round's trials and keys go to generations/NNNN.json (with the strategy's optional
  `describe_round()`), so the store can rebuild the history.
- `run_method` / `run_strategy` is the one loop: ask, key, skip what is stored, submit to a
  backend (`backend.run(tasks, on_done)`), tell, write a history row and `checkpoint.json`.
- The backend contract (`Backend`, `TaskFailure`, `Retries`, `BackendError`) is the engine's;
  backends (`gridprune.backends`) implement it and import the engine, never the reverse.
- `summarise_run` summarises any run from its run directory, `round_table` draws its rounds.
"""

from gridprune.engine.artifacts import ArtifactWriter, SavedProgress, artifact_dir, artifact_file, progress_dir
from gridprune.engine.backend import Backend, BackendError, Retries, TaskFailure
from gridprune.engine.checkpoint import CHECKPOINT_FORMAT, checkpoint_of, read_checkpoint
from gridprune.engine.errors import EngineError, ProtocolError
from gridprune.engine.execute import TaskRunner, WorkerFactory, execute, make_task
from gridprune.engine.kinds import (Handler, HandlerFactory, Resources, Task, TaskContext, TaskKind, visible_device,
                                    with_resources)
from gridprune.engine.loop import run_method, run_strategy
from gridprune.engine.outcome import Outcome, load_outcome, store_outcome
from gridprune.engine.protocols import Column, Method, RoundObserver, Strategy, figure, size_figure
from gridprune.engine.report import (BASELINE_LABEL, check_report, headline_model, model_entry, report_rounds_key,
                                     single_model_report)
from gridprune.engine.status import overhead, round_table, summarise_run
from gridprune.engine.trial import Trial, check_json, trial_key

__all__ = [
    "ArtifactWriter", "BASELINE_LABEL", "Backend", "BackendError", "CHECKPOINT_FORMAT", "Column", "EngineError",
    "Handler", "HandlerFactory", "Method", "Outcome", "ProtocolError", "Resources", "Retries", "RoundObserver",
    "SavedProgress", "Strategy", "Task", "TaskContext", "TaskFailure", "TaskKind", "TaskRunner", "Trial",
    "WorkerFactory", "artifact_dir", "artifact_file", "check_json", "check_report", "checkpoint_of", "execute",
    "figure", "size_figure", "headline_model", "load_outcome", "make_task", "model_entry", "overhead", "progress_dir",
    "read_checkpoint", "report_rounds_key", "round_table", "run_method", "run_strategy", "single_model_report",
    "store_outcome", "summarise_run", "trial_key", "visible_device", "with_resources",
]
