"""Starting, resuming and describing runs: the glue between the CLI, the config, the store and a method.

Every method runs through the engine's one loop (`gridprune.engine.run_method`); each command
validates its config once into a `RunSetup` (`gridprune.run_setup`) and carries it to every hook.
Every check that needs no model weights (config keys and values, the model's
`config.json` against the settings, the datasets, the run directory) is made
before anything is written, and without importing torch.
"""

from __future__ import annotations

import logging
import platform
import re
import shutil
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

from pydantic import ValidationError

from gridprune import __version__
from gridprune.backends import make_backend
from gridprune.backends.slurm.masters import record_master_job
from gridprune.config import Override, as_overrides
from gridprune.engine import Method, check_report, read_checkpoint, report_rounds_key, run_method
from gridprune.errors import GridpruneError
from gridprune.run_changes import changed_setup, record_changes
from gridprune.run_progress import RoundProgress
from gridprune.run_setup import (
    RunSetup,
    canonical_config,
    method_named,
    read_setup,
    round_name_of,
    rounds_done,
    stored_setup,
)
from gridprune.sections import ConfigValueError
from gridprune.store import RunDir, StoreError, atomic_write_json, read_json
from gridprune.store.files import follow_umask
from gridprune.store.history import (
    history_problem,
    read_history_rows,
    rebuild_history,
    stored_result,
)
from gridprune.store.rundir import check_can_create

log = logging.getLogger(__name__)


def check_inputs(setup: RunSetup) -> tuple[str, str]:
    """Check the model (through its adapter), the settings against the model, the task kinds' resources and
    the datasets; returns the fingerprints of model and search set. A wav2vec2 checkpoint's weights are not
    read (torch is imported only by methods that count the model's parameters on the meta device); a
    factory model is built and scored, the factory being the only way to reach it."""
    from gridprune.adapters import adapter_for

    config = setup.config
    adapter = adapter_for(config.model)
    try:
        setup.method.check(config, setup.settings)
        adapter.check(config.data, config.heldout)
        setup.kinds()
        return adapter.fingerprint(), adapter.data_fingerprint(config.data)
    except ConfigValueError as exc:
        raise exc.located(setup.origins) from None


def prepare_run(config_path: str | Path, overrides: Sequence[str | Override] = ()) -> tuple[RunSetup, dict]:
    """The checked setup of `gridprune run`/`submit` and the run.json to write for it."""
    setup = read_setup(config_path, overrides)
    return setup, run_info(setup.config, check_inputs(setup), config_path)


def default_run_dir(config_path: str | Path) -> Path:
    """`runs/<config name>` under the working directory."""
    return Path("runs") / re.sub(r"[^\w.-]", "_", Path(config_path).stem)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def run_info(config: Any, fingerprints: tuple[str, str], config_path: str | Path | None = None) -> dict:
    """What run.json records: the whole config and its file, versions and the fingerprints of model and data."""
    return {
        "config": config.model_dump(mode="json"),
        "config_file": str(Path(config_path).resolve()) if config_path is not None else None,
        "method": config.method,
        "seed": config.seed,
        "created_at": time.time(),
        "versions": {"gridprune": __version__, "torch": _version("torch"),
                     "transformers": _version("transformers"), "python": platform.python_version()},
        "model_fingerprint": fingerprints[0],
        "dataset_fingerprint": fingerprints[1],
    }


# ---------------------------------------------------------------- claiming a run directory

def _same_run(a: dict, b: dict) -> bool:
    keys = ("method", "model_fingerprint", "dataset_fingerprint")
    return all(a.get(key) == b.get(key) for key in keys) and _comparable(a) == _comparable(b)


def _comparable(info: dict) -> dict:
    """run.json's config with every default filled in; as written where it no longer validates."""
    try:
        return canonical_config(info.get("config", {}))
    except (ValidationError, KeyError):
        return info.get("config", {})


def _differences(held: dict, wanted: dict) -> str:
    """The config keys in which two run.json configs differ, as `key: held -> wanted`, at most five."""
    def flat(node: Any, prefix: str = "") -> dict[str, Any]:
        if isinstance(node, dict):
            return {k: v for key, value in node.items() for k, v in flat(value, f"{prefix}{key}.").items()}
        return {prefix[:-1]: node}
    if held.get("method") != wanted.get("method"):
        return f"it is a {held.get('method')} run, this config runs {wanted.get('method')}"
    a, b = flat(_comparable(held)), flat(_comparable(wanted))
    method = method_named(wanted.get("method"))
    section = method.section if method is not None else "settings"
    changed = [f"{key.replace('settings.', section + '.', 1)} {a.get(key)!r} there, {b.get(key)!r} here"
               for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]
    for what in ("model", "dataset"):
        if held.get(f"{what}_fingerprint") != wanted.get(f"{what}_fingerprint") and not changed:
            changed.append(f"the {what} files have changed since")
    return "; ".join(changed[:5]) + (f"; and {len(changed) - 5} more" if len(changed) > 5 else "")


def _refuse_other_run(run: RunDir, wanted: dict) -> None:
    """StoreError unless `run` may take `wanted`: it is new, holds the same run, or never started a generation."""
    if not run.run_json.exists():
        return
    held = run.run_info
    if not run.started():
        return  # nothing was done under the old config: it may be replaced
    done = rounds_done(run)
    noun = round_name_of(held.get("method"))
    source = held.get("config_file") or "a config"
    if _same_run(held, wanted):
        raise StoreError(f"run directory {run.root} already holds this run ({done} {noun}s done); "
                         f"continue it with `gridprune resume {run.root}`")
    raise StoreError(f"run directory {run.root} already holds a run of {source} with {done} {noun}s done, "
                     f"which differs from this one: {_differences(held, wanted)}. `gridprune resume {run.root}` "
                     "would continue that run; choose another --run-dir for this config")


def _claim(run_dir: str | Path, info: dict) -> RunDir:
    """The run directory for `info`, made if missing; StoreError (nothing written) if it holds another run.

    The caller then takes the master lock and writes run.json with `_write_run_info`.
    """
    run = RunDir(run_dir)
    check_can_create(run.root)
    if run.run_json.exists():
        run = RunDir.open(run.root)
        _refuse_other_run(run, info)
    try:
        run.root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StoreError(f"cannot create the run directory {run.root}: {err.strerror or err}") from None
    return run


def _write_run_info(run: RunDir, info: dict) -> None:
    """Under the master lock: write run.json (checking again what _claim checked, now race-free)."""
    if run.run_json.exists():
        run.reload()
        _refuse_other_run(run, info)
        held = run.run_info
        if _same_run(held, info):
            run.make_folders()
            return
        log.warning("%s held a run of %s that never started a %s; replacing it with this config",
                    run.root, held.get("config_file") or "another config", round_name_of(held.get("method")))
        run.discard_start()
        run.replace_run_info(info)
    else:
        RunDir.create(run.root, info)
    run.make_folders()


# ---------------------------------------------------------------- running

def start_run(setup: RunSetup, run_dir: str | Path, info: dict, export: bool = False,
              **speed: Any) -> tuple[RunDir, dict | None]:
    """Create the run directory for `setup` (run.json: `info`) and run it to the end;
    with `export`, export the best into RUN_DIR/best too, still as the run's master (`speed`: the export's
    threads and rounds). Returns the run and the export's report (None without `export`)."""
    run = _claim(run_dir, info)
    with run.master_lock():
        _write_run_info(run, info)
        log.info("run directory %s", run.root)
        _run_locked(run, setup)
        return run, export_best(run, replace_own=True, setup=setup, **speed) if export else None


def repair_history(run: RunDir) -> str | None:
    """Rebuild history.jsonl if it disagrees with the checkpoint; returns what was wrong (None: nothing)."""
    completed = rounds_done(run)
    noun = round_name_of(run.run_info.get("method"))
    rows, read_problem = read_history_rows(run)
    problem = history_problem(run, rows, read_problem, completed, round_name=noun)
    if problem is None and read_problem is not None and run.history_path.exists():
        problem = read_problem  # a bad line after the completed rows: the master would stop at it
    if problem is None:
        return None
    run.write_history(rebuild_history(run, completed, kept=rows, round_name=noun))
    log.warning("%s; rebuilt it from checkpoint.json, generations/ and results/ (timings of the rebuilt rows are "
                "lost)", problem)
    return problem


def repair(run: RunDir) -> str | None:
    """`repair_history` under the master lock (for a run that has nothing left to run)."""
    with run.master_lock():
        return repair_history(run)


def _run_locked(run: RunDir, setup: RunSetup) -> None:
    """Run (or resume) `run` to its last round on the engine; the caller holds the master lock."""
    repair_history(run)
    config = setup.config
    backend = make_backend(config.backend, run, config.backend_settings(), setup.kinds())
    progress = RoundProgress(run, setup.method)
    try:
        run_method(setup.method, run, config, setup.settings, backend, observer=progress)
    finally:
        progress.close()
        backend.close()
    check_search_succeeded(run)


def check_search_succeeded(run: RunDir) -> None:
    """GridpruneError if the run has no value to export: every evaluation failed, or none has finished yet."""
    saved = read_checkpoint(run)
    if saved and saved["round"] > 0 and saved.get("best") is None:
        failures = _failure_reasons(run, saved["round"])
        if not failures:
            noun = round_name_of(run.run_info.get("method"))
            raise GridpruneError(f"{run.root}: nothing to export yet after {saved['round']} {noun}s (no model "
                                 f"chosen so far); let the run go on, or continue it with `gridprune resume "
                                 f"{run.root}`")
        reason = f"; the last error: {failures[-1]}"
        raise GridpruneError(f"every evaluation of the search in {run.root} failed ({len(failures)} failed results "
                             f"in {run.results_dir}){reason}; there is no model to export")


def _failure_reasons(run: RunDir, completed: int) -> list[str]:
    keys: list[str] = []
    for index in range(completed):
        keys.extend((run.read_generation(index) or {}).get("keys", []))
    reasons = []
    for key in dict.fromkeys(keys):
        record = stored_result(run, key)
        if record is not None and record["status"] != "ok":
            reasons.append(str(record.get("error", "?")).strip().splitlines()[-1] if record.get("error") else "?")
    return reasons


def continue_run(run: RunDir, overrides: Sequence[str | Override] = (), export: bool = False,
                 **speed: Any) -> dict | None:
    """Run (or resume) `run` to its last round, as its one master, after applying `overrides` (only those
    `resume --set` allows); with `export`, export the best into RUN_DIR/best as its master still (`speed`: the
    export's threads and rounds), and return the export's report. Everything is checked under the master lock,
    once."""
    overrides = as_overrides(overrides)
    with run.master_lock():
        setup = changed_setup(run, overrides) if overrides else stored_setup(run)
        check_fingerprints_unchanged(run, setup.config, check_inputs(setup))
        if overrides:
            record_changes(run, setup, overrides)
            _resize(run, setup.method, setup.settings)
        _run_locked(run, setup)
        return export_best(run, replace_own=True, setup=setup, **speed) if export else None


def _resize(run: RunDir, method: Method, settings: Any) -> None:
    """Make the saved strategy run to `settings` (after `resume --set` of a resumable key)."""
    saved = read_checkpoint(run)
    if saved is None:
        return
    planned = method.planned_rounds(settings)
    state = method.resize(saved["strategy"], settings)
    if state != saved["strategy"] or planned != saved["planned_rounds"]:
        finished = saved["finished"] and (planned is None or saved["round"] >= planned)
        run.write_checkpoint({**saved, "strategy": state, "planned_rounds": planned, "finished": finished})


def check_fingerprints_unchanged(run: RunDir, config: Any, fingerprints: tuple[str, str]) -> None:
    """StoreError naming the path if the model or the search set changed since the run started."""
    for what, path, now in (("model", config.model, fingerprints[0]), ("dataset", config.data, fingerprints[1])):
        if run.run_info.get(f"{what}_fingerprint") != now:
            raise StoreError(f"{run.root}: the {what} at {path} has changed since the run started; "
                             "start a new run for it")


def progress_of(run: RunDir) -> tuple[int, int | None]:
    """Completed and planned rounds of a run."""
    saved = read_checkpoint(run)
    if saved is not None:
        return saved["round"], saved["planned_rounds"]
    setup = stored_setup(run)
    return 0, setup.method.planned_rounds(setup.settings)


def status_of(run: RunDir) -> dict:
    """`gridprune status` of a run: the shared summary plus the method's own keys."""
    from gridprune.status import run_status

    setup = stored_setup(run)
    method = setup.method
    status = run_status(run, method.planned_rounds(setup.settings), round_name=method.round_name,
                        value_name=method.value_name, has_best=method.has_best)
    status.update(method.status_fields(status))
    return status


# ---------------------------------------------------------------- export

def report_path(out: Path) -> Path:
    return out / "report.json"


def read_report(out: Path) -> dict | None:
    """The report.json of an export in `out`, None if there is none (or it cannot be read)."""
    try:
        report = read_json(report_path(out))
    except (FileNotFoundError, StoreError):
        return None
    return report if isinstance(report, dict) else None


def is_exported(run: RunDir) -> bool:
    """Whether RUN_DIR/best holds the export of the run's current best, after its last round."""
    report, saved = read_report(run.best_dir), read_checkpoint(run)
    if report is None or saved is None:
        return False
    return report.get(report_rounds_key(round_name_of(run.run_info.get("method")))) == saved["round"]


def export_best(run: RunDir, out: str | Path | None = None, *, force: bool = False, replace_own: bool = False,
                setup: RunSetup | None = None, **speed: Any) -> dict:
    """Export the best individual of `run` (default: into RUN_DIR/best) and return its report.

    An existing export is replaced only with `force`, or (`replace_own`, at the end
    of `run` and `resume`) when it is RUN_DIR/best; the report says what it replaced.
    `speed` is passed to the method's export (threads, rounds).
    """
    setup = setup or stored_setup(run)
    config = setup.config
    noun = setup.method.round_name
    rounds_key = report_rounds_key(noun)
    out = Path(out) if out is not None else run.best_dir
    check_search_succeeded(run)
    previous = read_report(out)
    may_replace = force or (replace_own and out.resolve() == run.best_dir.resolve())
    check_can_create(out, "export folder", "--out")
    if previous is not None and not may_replace:
        raise StoreError(f"{report_path(out)} already exists (exported after {noun} "
                         f"{previous.get(rounds_key, '?')}); pass --force to replace it")
    if previous is None and out.is_dir() and any(out.iterdir()) and not may_replace:
        raise StoreError(f"{out} is not empty and holds no export; choose another --out or pass --force")
    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)  # left by an export that was killed
    partial.mkdir(parents=True)
    try:
        report = setup.method.export(run, config, setup.settings, partial, **speed)
        report[rounds_key] = rounds_done(run)
        report.update(value_name=setup.method.value_name, lower_is_better=setup.method.lower_is_better)
        check_report(report)
        atomic_write_json(report_path(partial), report)
        follow_umask(partial)
        _swap_in(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    replaced = previous.get(rounds_key, "?") if previous is not None else None
    return {"out": str(out), "replaced": replaced, "round_name": noun, **report}


def _swap_in(partial: Path, out: Path) -> None:
    """Put the finished export `partial` in place of `out`; the old one is removed only once the new one is there."""
    old = out.with_name(f".{out.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    partial.rename(out)
    shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------- Slurm master

def submit_master(setup: RunSetup, run_dir: str | Path, info: dict) -> tuple[str, RunDir]:
    """Create the run directory here and submit its master as a Slurm job; returns the job id."""
    import subprocess
    import sys
    from importlib.resources import files

    run = _claim(run_dir, info)
    with run.master_lock():
        _write_run_info(run, info)
    slurm = setup.config.slurm
    command = ["sbatch", "--parsable", f"--output={run.jobs_dir.resolve() / 'master-%j.log'}",
               f"--export=ALL,GRIDPRUNE_PYTHON={sys.executable}",
               f"--time={slurm.master_time_min}", f"--mem={int(slurm.master_mem_gb * 1024)}M"]
    for option, value in (("partition", slurm.master_partition or slurm.partition),
                          ("account", slurm.account), ("qos", slurm.qos)):
        if value:
            command.append(f"--{option}={value}")
    template = files("gridprune.templates") / "master.sbatch"
    try:
        proc = subprocess.run([*command, str(template), str(run.root.resolve())], capture_output=True, text=True)
    except FileNotFoundError:
        raise GridpruneError("sbatch not found: `gridprune submit` runs on a Slurm login node") from None
    if proc.returncode:
        raise GridpruneError(f"sbatch refused the master job of {run.root}: {proc.stderr.strip()}")
    job_id = proc.stdout.strip().split(";")[0]
    record_master_job(run, job_id)
    return job_id, run
