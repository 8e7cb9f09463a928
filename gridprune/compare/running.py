"""Running a compare: its entries one after another, each an ordinary run in its own directory (started, resumed
where it stopped, or skipped once finished and exported), then every exported model measured together with the
unpruned one, and the report, table and plots written. A compare of finished runs skips to the measuring."""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from gridprune import __version__
from gridprune.compare.config import (
    Entry,
    MeasureSettings,
    entry_origins,
    entry_setup,
    may_change_on_resume,
    raw_form,
    read_compare,
)
from gridprune.compare.directory import CompareDir, path_under
from gridprune.compare.measure import ExportSource, measure_exports
from gridprune.compare.output import write_plots, write_table
from gridprune.compare.pareto import mark_fronts
from gridprune.config import ConfigError, Override, as_overrides
from gridprune.engine import read_checkpoint
from gridprune.errors import GridpruneError
from gridprune.run_setup import stored_config
from gridprune.runs import (
    check_inputs,
    continue_run,
    default_run_dir,
    export_best,
    is_exported,
    read_report,
    run_info,
    start_run,
)
from gridprune.store import RunDir, StoreError, atomic_write_json
from gridprune.store.files import read_json_object

log = logging.getLogger(__name__)


def start_compare(config_path: str | Path, run_dir: str | Path | None = None,
                  overrides: Sequence[str | Override] = ()) -> dict[str, Any]:
    """Check every entry of the compare config (nothing is written before), create the compare directory, run
    the entries and measure them; returns the report."""
    plan = read_compare(config_path, overrides)
    for entry in plan.entries:
        check_inputs(entry.setup)
    root = run_dir or plan.run_dir or default_run_dir(config_path)
    record = _record([_entry_record(entry) for entry in plan.entries], plan.measure,
                     str(Path(config_path).resolve()))
    return _run_and_measure(CompareDir.create(root, record), ())


def resume_compare(root: str | Path, overrides: Sequence[str | Override] = (), remeasure: bool = False) -> dict[str, Any]:
    """Continue a compare where it stopped; `overrides` may change where tasks run (backend and its section) and
    are kept for its later resumes. A finished compare is left as it is, unless `remeasure`: then its models
    are measured again (e.g. on an idle machine)."""
    compare = CompareDir.open(root)
    overrides = as_overrides(overrides)
    for override in overrides:
        if not may_change_on_resume(override.key):
            raise ConfigError(f"{override.origin}: a compare resumes with its entries as they are; only backend and "
                              "the backends' sections (local.*, slurm.*, inprocess.*) may change")
    report = read_json_object(compare.report_path)
    if report is not None and not remeasure:
        log.info("compare %s has finished; its report is kept (measure again with --remeasure)", compare.root)
        return {**report, "compare_dir": str(compare.root)}
    if remeasure:
        unfinished = [entry["label"] for entry in compare.entries if not _finished(compare.entry_dir(entry))]
        if unfinished:
            raise GridpruneError(f"{compare.root}: --remeasure measures finished entries again, and "
                                 f"{', '.join(unfinished)} {'has' if len(unfinished) == 1 else 'have'} not finished; "
                                 "resume without --remeasure")
    if overrides:
        _record_overrides(compare, overrides)
    return _run_and_measure(compare, overrides)


def compare_runs(run_dirs: Sequence[str | Path], out: str | Path, measure: MeasureSettings) -> dict[str, Any]:
    """Measure the exports of finished runs of one model together (each exported first where it is not);
    GridpruneError naming the runs if their models or held-out sets differ, or one has not finished."""
    runs = [RunDir.open(path) for path in run_dirs]
    roots = [run.root.resolve() for run in runs]
    repeated = sorted({str(root) for root in roots if roots.count(root) > 1})
    if repeated:
        raise GridpruneError(f"{repeated[0]} is given twice")
    check_comparable(runs)
    entries = [{"label": label, "method": run.run_info["method"], "run": str(root), "config": None}
               for label, run, root in zip(_unique_labels(roots), runs, roots)]
    return _run_and_measure(CompareDir.create(out, _record(entries, measure, None)), ())


def check_comparable(runs: Sequence[RunDir]) -> None:
    """GridpruneError unless every run has finished and they prune one wav2vec2 model, scored on one held-out set."""
    from gridprune.data import read_hrl

    configs = {}
    for run in runs:
        saved = read_checkpoint(run)
        if not saved or not saved["finished"]:
            raise GridpruneError(f"{run.root} has not finished; `gridprune resume {run.root}` first, then compare")
        configs[run.root] = stored_config(run)
        if not isinstance(configs[run.root].model, str):
            raise GridpruneError(f"{run.root} prunes a factory model; a compare times wav2vec2 checkpoints")
    _refuse_different("models", runs, lambda run: run.run_info.get("model_fingerprint"))

    def heldout(run: RunDir) -> str | None:
        source = configs[run.root].heldout
        return read_hrl(source.path, source.audio_dir).fingerprint() if source else None

    _refuse_different("held-out sets", runs, heldout)


def _refuse_different(what: str, runs: Sequence[RunDir], value: Callable[[RunDir], Any]) -> None:
    groups: dict[Any, list[str]] = {}
    for run in runs:
        groups.setdefault(value(run), []).append(str(run.root))
    if len(groups) > 1:
        shown = "; ".join(", ".join(roots) for roots in groups.values())
        raise GridpruneError(f"these runs differ in their {what}, so their figures do not compare: {shown}")


def _unique_labels(roots: Sequence[Path]) -> list[str]:
    """Each run's folder name, with as many of its parents as tell it from the others."""
    for depth in range(1, max(len(root.parts) for root in roots) + 1):
        labels = ["/".join(root.parts[-depth:]) for root in roots]
        if len(set(labels)) == len(labels):
            return labels
    return [str(root) for root in roots]


def _record(entries: list[dict[str, Any]], measure: MeasureSettings, config_file: str | None) -> dict[str, Any]:
    return {"kind": "gridprune compare", "gridprune": __version__, "created_at": time.time(),
            "config_file": config_file, "measure": measure.model_dump(), "entries": entries}


def _entry_record(entry: Entry) -> dict[str, Any]:
    return {"label": entry.label, "method": entry.method, "run": entry.run, "config": entry.config}


def _record_overrides(compare: CompareDir, overrides: Sequence[Override]) -> None:
    """Write `overrides` into the configs of the compare's own entries (checked first), so that a later resume
    keeps them; a started entry's run records them too, as `resume --set` does."""
    record = copy.deepcopy(compare.record)
    for number, entry in enumerate(record["entries"]):
        if entry["config"] is not None:
            origins = entry_origins(str(compare.record_path), number, entry["label"], overrides)
            entry["config"] = raw_form(entry_setup(entry["config"], origins, overrides).config)
    compare.replace_record(record)


def _run_and_measure(compare: CompareDir, overrides: Sequence[Override]) -> dict[str, Any]:
    """Under the compare's lock: every entry to its export, then the measuring and the outputs."""
    with compare.master_lock():
        external = [RunDir.open(compare.entry_dir(entry)) for entry in compare.entries if entry["config"] is None]
        if external:
            check_comparable(external)  # again: a run may have been resumed since
        measure = MeasureSettings.model_validate(compare.record["measure"])
        speed = {"threads": measure.threads, "rounds": measure.rounds}  # the entries' exports time as the compare
        sources = [_run_entry_to_export(compare, number, entry, overrides, speed)
                   for number, entry in enumerate(compare.entries)]
        config = stored_config(RunDir.open(compare.entry_dir(compare.entries[0])))
        log.info("compare: measuring %d models together with the unpruned one",
                 sum(len(source.models()) for source in sources))
        measured = measure_exports(sources, config, measure, compare.root)
        baseline, models = measured["baseline"], measured["models"]
        mark_fronts([baseline, *models])
        write_table(compare.table_path, baseline, models, measured["measure"])
        report = {
            "kind": "gridprune compare", "compare_dir": str(compare.root), "baseline": baseline, "models": models,
            "measure": measured["measure"],
            "entries": [{"label": source.label, "method": source.method,
                         "export": path_under(source.folder, compare.root), "summary": source.report.get("summary")}
                        for source in sources],
            "table": compare.table_path.name, "plots": _plots(compare, baseline, models),
            "summary": f"{len(models)} models of {len(sources)} entries and the unpruned model, measured together",
        }
        atomic_write_json(compare.report_path, report)
    return report


def _run_entry_to_export(compare: CompareDir, number: int, entry: dict[str, Any], overrides: Sequence[Override],
                         speed: dict[str, int | None]) -> ExportSource:
    """The entry's export, after running (or resuming) its run where it is the compare's own and unfinished."""
    root = compare.entry_dir(entry)
    if entry["config"] is None:  # a finished run given to `compare RUN_DIR ...`
        try:
            run = RunDir.open(root)
        except StoreError as exc:
            raise GridpruneError(f"{compare.record_path}: the run of entry {entry['label']!r} is gone ({exc})") from None
        if not is_exported(run):
            with run.master_lock():
                export_best(run, replace_own=True, **speed)
    elif not _finished(root):
        log.info("compare: entry %d of %d, %s (%s), in %s", number + 1, len(compare.entries), entry["label"],
                 entry["method"], root)
        started = RunDir.open(root) if (root / "run.json").exists() else None
        if started is not None and started.started():
            continue_run(started, overrides, export=True, **speed)
        else:
            setup = entry_setup(entry["config"], entry_origins(str(compare.record_path), number, entry["label"]),
                                overrides)
            start_run(setup, root, run_info(setup.config, check_inputs(setup), compare.record.get("config_file")),
                      export=True, **speed)
    run = RunDir.open(root)
    report = read_report(run.best_dir)
    if report is None or "models" not in report:
        raise GridpruneError(f"{run.best_dir}: no export report; `gridprune export {run.root}` writes it")
    return ExportSource(entry["label"], entry["method"], run.best_dir, report)


def _finished(root: Path) -> bool:
    """Whether the run in `root` has run its last round and exported its result."""
    if not (root / "run.json").exists():
        return False
    run = RunDir.open(root)
    saved = read_checkpoint(run)
    return bool(saved and saved["finished"]) and is_exported(run)


def _plots(compare: CompareDir, baseline: dict[str, Any], models: list[dict[str, Any]]) -> list[str]:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        log.warning("no plots: they need matplotlib (pip install 'gridprune[plot]'); the table is in %s",
                    compare.table_path)
        return []
    return [path_under(path, compare.root) for path in write_plots(compare.plots_dir, baseline, models)]
