"""Starting, resuming and describing runs: the glue between the CLI, the config, the store and a method.

Every method runs through the engine's one loop (`gridprune.engine.run_method`); its settings
are validated once here into the method's typed `Settings`, which every method hook receives.
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
from gridprune.config import (ConfigError, ConfigValueError, Origins, Override, RunConfig, as_overrides,
                              describe_validation_error, load_config)
from gridprune.engine import Method, TaskKind, read_checkpoint, with_resources
from gridprune.errors import GridpruneError
from gridprune.methods import METHODS, method_sections
from gridprune.store import RunDir, StoreError, atomic_write_json, read_json
from gridprune.store.history import history_problem, read_history_rows, rebuild_history, stored_result
from gridprune.store.rundir import check_can_create
from gridprune.status import MASTER_JOBS

log = logging.getLogger(__name__)


def read_config(path: str | Path, overrides: Sequence[str | Override] = ()) -> RunConfig:
    """A YAML config, with overrides, whose method settings are checked too."""
    overrides = as_overrides(overrides)
    config = load_config(path, overrides, method_sections())
    check_method_settings(config, Origins(str(path), overrides))
    return config


def check_method_settings(config: RunConfig, source: str | Origins) -> Any:
    """The method's own section validated into its typed settings; ConfigError naming the key (and
    where it was set) unless it is valid. Called once per command: the result is passed on."""
    method = METHODS[config.method]
    try:
        return method.Settings.model_validate(config.settings)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(source, exc, prefix=method.section, model=method.Settings)) from None


def method_of(config: RunConfig) -> Method:
    """The method `config` runs."""
    return METHODS[config.method]


def task_kinds(config: RunConfig, settings: Any) -> dict[str, TaskKind]:
    """The method's task kinds with the resources the config gives them: `slurm.cpus_per_task`, `mem_gb`
    and `time_min` where set away from their defaults (for every kind), then `resources.<kind>`."""
    method = method_of(config)
    kinds = dict(method.kinds(config, settings))
    unknown = sorted(set(config.resources) - set(kinds))
    if unknown:
        raise ConfigValueError(f"resources.{unknown[0]}", f"{config.method} has no task kind {unknown[0]!r}; "
                                                          f"its kinds: {', '.join(sorted(kinds))}")
    slurm, defaults = config.slurm, type(config.slurm)()
    legacy = {name: getattr(slurm, field) for name, field in
              (("cpus", "cpus_per_task"), ("mem_gb", "mem_gb"), ("time_min", "time_min"))
              if getattr(slurm, field) != getattr(defaults, field)}
    for name, kind in kinds.items():
        given = config.resources.get(name)
        kinds[name] = with_resources(with_resources(kind, **legacy), **(given.model_dump() if given else {}))
    return kinds


def check_inputs(config: RunConfig, origins: Origins, settings: Any = None) -> tuple[str, str]:
    """Check the model folder, the settings against the model, the task kinds' resources and the
    datasets, without torch; returns the fingerprints of model and search set."""
    from gridprune.checkpoint_files import checkpoint_fingerprint, resolve_model_path
    from gridprune.data import read_hrl

    if settings is None:
        settings = check_method_settings(config, origins)
    try:
        method_of(config).check(config, settings)
        task_kinds(config, settings)
    except ConfigValueError as exc:
        raise exc.located(origins) from None
    dataset = read_hrl(config.data.path, config.data.audio_dir)
    if config.heldout:
        read_hrl(config.heldout.path, config.heldout.audio_dir)
    return checkpoint_fingerprint(resolve_model_path(config.model)), dataset.fingerprint()


def prepare_run(config_path: str | Path, overrides: Sequence[str | Override] = ()) -> tuple[RunConfig, dict]:
    """The checked config of `gridprune run`/`submit` and the run.json to write for it."""
    overrides = as_overrides(overrides)
    config = read_config(config_path, overrides)
    fingerprints = check_inputs(config, Origins(str(config_path), overrides))
    return config, run_info(config, fingerprints, config_path)


def default_run_dir(config_path: str | Path) -> Path:
    """`runs/<config name>` under the working directory."""
    return Path("runs") / re.sub(r"[^\w.-]", "_", Path(config_path).stem)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def run_info(config: RunConfig, fingerprints: tuple[str, str], config_path: str | Path | None = None) -> dict:
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
    keys = ("config", "method", "model_fingerprint", "dataset_fingerprint")
    return all(a.get(key) == b.get(key) for key in keys)


def _differences(held: dict, wanted: dict) -> str:
    """The config keys in which two run.json configs differ, as `key: held -> wanted`, at most five."""
    def flat(node: Any, prefix: str = "") -> dict[str, Any]:
        if isinstance(node, dict):
            return {k: v for key, value in node.items() for k, v in flat(value, f"{prefix}{key}.").items()}
        return {prefix[:-1]: node}
    a, b = flat(held.get("config", {})), flat(wanted.get("config", {}))
    section = METHODS[wanted["method"]].section if wanted.get("method") in METHODS else "settings"
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

def start_run(config: RunConfig, run_dir: str | Path, info: dict, export: bool = False) -> tuple[RunDir, dict | None]:
    """Create the run directory for `config` (run.json: `info`) and run it to the end;
    with `export`, export the best into RUN_DIR/best too, still as the run's master. Returns the run
    and the export's report (None without `export`)."""
    run = _claim(run_dir, info)
    with run.master_lock():
        _write_run_info(run, info)
        log.info("run directory %s", run.root)
        settings = check_method_settings(config, str(run.run_json))
        _run_locked(run, config, settings)
        return run, export_best(run, replace_own=True, _settings=(config, settings)) if export else None


def run_config(run: RunDir) -> RunConfig:
    """The config a run was started with (and changed by `resume --set` since)."""
    return run_config_and_settings(run)[0]


def run_config_and_settings(run: RunDir) -> tuple[RunConfig, Any]:
    """The config a run was started with (and changed by `resume --set` since) and its method's typed settings."""
    config = RunConfig.model_validate(run.run_info["config"])
    return config, check_method_settings(config, str(run.run_json))


def round_name_of(method: str | None) -> str:
    """What the method calls a round ("generation" for ga_blocks), "round" otherwise."""
    return getattr(METHODS.get(method or ""), "round_name", "round")


def rounds_done(run: RunDir) -> int:
    """The rounds the run's checkpoint counts as complete (0 before the first); EngineError naming the file
    if the checkpoint was written by an earlier gridprune."""
    saved = read_checkpoint(run)
    return saved["round"] if saved else 0


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


def _run_locked(run: RunDir, config: RunConfig, settings: Any) -> None:
    """Run (or resume) `run` to its last round on the engine; the caller holds the master lock."""
    from gridprune.backends import make_backend
    from gridprune.engine import run_method

    repair_history(run)
    method = method_of(config)
    backend = make_backend(config, run, task_kinds(config, settings))
    try:
        run_method(method, run, config, settings, backend)
    finally:
        backend.close()
    check_search_succeeded(run)


def check_search_succeeded(run: RunDir) -> None:
    """GridpruneError if every evaluation of the search failed: there is no best, whatever the checkpoint says."""
    saved = read_checkpoint(run)
    if saved and saved["round"] > 0 and saved.get("best") is None:
        failures = _failure_reasons(run, saved["round"])
        reason = f"; the last error: {failures[-1]}" if failures else ""
        raise GridpruneError(f"every evaluation of the search in {run.root} failed ({len(failures)} failed results "
                             f"in {run.results_dir}){reason}; there is no best to export")


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


def continue_run(run: RunDir, overrides: Sequence[str | Override] = (), export: bool = False) -> dict | None:
    """Run (or resume) `run` to its last generation, as its one master, after applying `overrides`
    (only those `resume --set` allows); with `export`, export the best into RUN_DIR/best as its master
    still, and return the export's report."""
    from gridprune.run_changes import changed_config, record_changes

    overrides = as_overrides(overrides)
    config = changed_config(run, overrides) if overrides else run_config(run)
    origins = Origins(str(run.run_json), overrides)
    settings = check_method_settings(config, origins)
    fingerprints = check_inputs(config, origins, settings)
    check_fingerprints_unchanged(run, config, fingerprints)
    with run.master_lock():
        if overrides:
            config = changed_config(run, overrides)  # again, now that no master can change the run
            settings = check_method_settings(config, origins)
            record_changes(run, config, overrides)
            _resize(run, method_of(config), settings)
        _run_locked(run, config, settings)
        return export_best(run, replace_own=True, _settings=(config, settings)) if export else None


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


def check_fingerprints_unchanged(run: RunDir, config: RunConfig, fingerprints: tuple[str, str]) -> None:
    """StoreError naming the path if the model or the search set changed since the run started."""
    for what, path, now in (("model", config.model, fingerprints[0]), ("dataset", config.data, fingerprints[1])):
        if run.run_info.get(f"{what}_fingerprint") != now:
            raise StoreError(f"{run.root}: the {what} at {path} has changed since the run started; "
                             "start a new run for it")


def progress_of(run: RunDir) -> tuple[int, int | None]:
    """Completed and planned rounds of a run."""
    config, settings = run_config_and_settings(run)
    saved = read_checkpoint(run)
    if saved is not None:
        return saved["round"], saved["planned_rounds"]
    return 0, method_of(config).planned_rounds(settings)


def status_of(run: RunDir) -> dict:
    """`gridprune status` of a run: the shared summary plus the method's own keys."""
    from gridprune.status import run_status

    config, settings = run_config_and_settings(run)
    method = method_of(config)
    status = run_status(run, method.planned_rounds(settings), round_name=method.round_name)
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


def report_rounds_key(method: str | None) -> str:
    """The report key saying after how many rounds it was exported: `completed_generations` for the GA."""
    return f"completed_{round_name_of(method)}s"


def is_exported(run: RunDir) -> bool:
    """Whether RUN_DIR/best holds the export of the run's current best, after its last round."""
    report, saved = read_report(run.best_dir), read_checkpoint(run)
    if report is None or saved is None:
        return False
    return report.get(report_rounds_key(run.run_info.get("method"))) == saved["round"]


def export_best(run: RunDir, out: str | Path | None = None, *, force: bool = False, replace_own: bool = False,
                _settings: tuple[RunConfig, Any] | None = None, **speed: Any) -> dict:
    """Export the best individual of `run` (default: into RUN_DIR/best) and return its report.

    An existing export is replaced only with `force`, or (`replace_own`, at the end
    of `run` and `resume`) when it is RUN_DIR/best; the report says what it replaced.
    `speed` is passed to the method's export (threads, rounds).
    """
    config, settings = _settings or run_config_and_settings(run)
    rounds_key, noun = report_rounds_key(config.method), round_name_of(config.method)
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
        report = method_of(config).export(run, config, settings, partial, **speed)
        report[rounds_key] = rounds_done(run)
        atomic_write_json(report_path(partial), report)
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

def submit_master(config: RunConfig, run_dir: str | Path, info: dict) -> tuple[str, RunDir]:
    """Create the run directory here and submit its master as a Slurm job; returns the job id."""
    import subprocess
    import sys
    from importlib.resources import files

    run = _claim(run_dir, info)
    with run.master_lock():
        _write_run_info(run, info)
    slurm = config.slurm
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


def record_master_job(run: RunDir, job_id: str) -> None:
    """Add `job_id` to RUN_DIR/jobs/master_jobs.json, which `status` and `cancel` read."""
    path = run.jobs_dir / MASTER_JOBS
    jobs = read_json(path).get("jobs", []) if path.is_file() else []
    jobs.append({"job_id": job_id, "submitted_at": time.time()})
    atomic_write_json(path, {"jobs": jobs})
