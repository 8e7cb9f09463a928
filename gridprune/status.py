"""What a run has done so far, read from its run directory alone (no model, no torch).

The checkpoint, the round files (generations/) and the results are the truth: counts of
evaluations are the results the run stored, and a history.jsonl that disagrees
with them is shown rebuilt from them (its lost timings as `-`). Whether the
master lives is read from the master lock (free once its holder died), the
recorded pid on this host, and the master's Slurm job where it has one.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from gridprune.backends.slurm.masters import MASTER_NAME, master_jobs_in_queue
from gridprune.engine.protocols import Column, figure
from gridprune.engine.report import report_rounds_key
from gridprune.engine.status import round_table
from gridprune.store import RunDir, read_json
from gridprune.store.history import (
    history_problem,
    read_history_rows,
    rebuild_history,
    round_counts,
)

QUEUED_STATES = ("PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD")


def master_state(run: RunDir, completed: int, finished: bool) -> dict[str, Any]:
    """`state` (running, queued, stopped, finished, not started) with what it rests on."""
    info = run.master_info() or {}
    state: dict[str, Any] = {key: info.get(key) for key in ("pid", "host", "started", "slurm_job_id")}
    jobs = master_jobs_in_queue(run)
    alive = run.master_alive()
    if alive:
        job = info.get("slurm_job_id")
        if jobs is not None and job and not any(j.matches(str(job)) for j in jobs):
            state.update(state="stopped", detail=f"its Slurm job {job} has ended (the lock is the filesystem's to free)")
        else:
            state.update(state="running", detail=None)
        return state
    queued = [job for job in jobs or [] if job.state in QUEUED_STATES and job.name == MASTER_NAME]
    if queued:
        state.update(state="queued", detail=f"master job {queued[0].id} is queued ({queued[0].state})")
    elif finished:
        state.update(state="finished", detail=None)
    elif not run.started():
        state.update(state="not started", detail=None)
    else:
        state.update(state="stopped", detail=_why_gone(info, jobs))
    return state


def _why_gone(info: dict[str, Any], jobs) -> str | None:
    if not info:
        return None
    job = info.get("slurm_job_id")
    if job and jobs is not None and not any(j.matches(str(job)) for j in jobs):
        return f"its Slurm job {job} has ended"
    pid, host = info.get("pid"), info.get("host")
    if host == socket.gethostname() and isinstance(pid, int) and not _pid_alive(pid):
        return f"the master, pid {pid} on {host}, is gone"
    return f"the master, pid {pid} on {host}, no longer holds the lock"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_status(run: RunDir, planned_rounds: int | None = None, round_name: str = "round",
               value_name: str = "WER", has_best: bool = True) -> dict[str, Any]:
    """A JSON-ready summary: the engine's shared one (rounds, best value, counts, timings) with the
    master's state, the history checked against the store (rebuilt where it disagrees) and the export."""
    from gridprune.engine.checkpoint import read_checkpoint
    from gridprune.engine.status import summarise_run

    saved = read_checkpoint(run)
    completed = saved["round"] if saved else 0
    rows, read_problem = read_history_rows(run)
    counts = round_counts(run, completed)
    problem = history_problem(run, rows, read_problem, completed, round_name=round_name)
    history = (rebuild_history(run, completed, kept=rows, counts=counts, round_name=round_name) if problem
               else [dict(r) for r in rows[:completed]])
    for row, count in zip(history, counts):  # the store's counts, whichever master did the work
        row.update(evaluated=count["evaluated"], cache_hits=count["cache_hits"], failed=count["failed"])
    status = summarise_run(run, planned_rounds, history=history)
    planned = status["planned_rounds"]
    finished = status["finished"] or (planned is not None and completed >= planned)
    master = master_state(run, completed, finished)
    unfinished = 0.0 if finished else _unfinished_round_seconds(run, history, master)
    status.update({
        "round_name": round_name,
        "value_name": value_name,
        "has_best": has_best,
        "finished": finished,
        "state": master["state"],
        "all_failed": completed > 0 and status["best_value"] is None and status["failed"] > 0,
        "evaluations": sum(row["evaluated"] for row in history),
        "results_on_disk": status["evaluations"],
        "elapsed_seconds": status["elapsed_seconds"] + unfinished,
        "unfinished_round_seconds": unfinished,
        "estimated_seconds_left": status["estimated_seconds_left"] if master["state"] == "running" else None,
        "history_rebuilt": problem,
        "master": master,
        "exported": _export_report(run, round_name),
        "still_running": _still_running(run) if master["state"] != "running" else [],
        "activity": _activity(run) if master["state"] == "running" else [],
        "history": history,
    })
    return status


def _still_running(run: RunDir) -> list[str]:
    """What the backends still run for a run whose master is not running (each backend finds its own)."""
    from gridprune.backends import BACKENDS
    from gridprune.engine import BackendError

    try:
        return [line for backend in BACKENDS.values() for line in backend.find(run)]
    except BackendError as exc:
        return [str(exc)]


def _activity(run: RunDir) -> list[str]:
    """What the backends do for the live master (e.g. the pilot pools), from the files it writes."""
    from gridprune.backends import BACKENDS

    return [line for backend in BACKENDS.values() for line in backend.activity(run)]


def _unfinished_round_seconds(run: RunDir, history: Sequence[dict[str, Any]], master: dict[str, Any]) -> float:
    """Time spent on the round under way: since the last finished round (or the master's start), until now while
    the master runs, else until the run directory last changed (its newest result or saved progress)."""
    master_start = datetime.fromisoformat(master["started"]).timestamp() if master.get("started") else 0.0
    started = max([row.get("finished_at") or 0.0 for row in history[-1:]] + [master_start])
    if not started or master["state"] == "not started":
        return 0.0
    if master["state"] == "running":
        return max(0.0, time.time() - started)
    # a folder's time changes when an entry is added: results/<ab>/ for a stored result, progress/<key>/ for a save
    latest = max((path.stat().st_mtime for folder in (run.results_dir, run.root / "progress") if folder.is_dir()
                  for path in folder.iterdir() if path.is_dir()), default=started)
    return max(0.0, latest - started)


def _export_report(run: RunDir, round_name: str = "round") -> dict[str, Any] | None:
    """Where the best is exported and after which round, if it is."""
    path = run.best_dir / "report.json"
    if not path.is_file():
        return None
    try:
        report = read_json(path)
    except Exception:  # a report being replaced or damaged: status still answers
        return None
    return {"out": str(run.best_dir), "rounds_completed": report.get(report_rounds_key(round_name))}


def format_status(status: dict[str, Any], columns: Sequence[Column] = ()) -> str:
    """The human-readable form of `run_status`, with the method's `columns` after the shared ones."""
    completed, planned = status["rounds_completed"], status["planned_rounds"]
    noun = status.get("round_name", "round")
    planned_text = "?" if planned is None else planned
    state = status["master"]["state"]
    lines = [f"run {status['run_dir']} ({status['method']}): {completed}/{planned_text} {noun}s"
             + (" - finished" if status["finished"] else "")]
    master = status["master"]
    if state == "running":
        job = f", Slurm job {master['slurm_job_id']}" if master.get("slurm_job_id") else ""
        doing = ", exporting the best" if status["finished"] else ""
        lines.append(f"master: running, pid {master.get('pid')} on {master.get('host')}{job}{doing}")
        lines += status.get("activity", [])
    elif state == "queued":
        lines.append(f"{master['detail']}; the search starts when it runs")
    elif state == "stopped":
        lines.append(f"stopped after {noun} {completed} of {planned_text}; "
                     f"continue with `gridprune resume {status['run_dir']}`"
                     + (f" ({master['detail']})" if master.get("detail") else ""))
    elif state == "not started":
        lines.append(f"no {noun} started yet: start it with `gridprune resume {status['run_dir']}`, or, if its "
                     f"config was wrong, `gridprune run CONFIG --run-dir {status['run_dir']}` with the corrected "
                     "config (a run directory in which nothing started takes it)")
    if status.get("still_running"):
        lines.append(f"still running for this run: {'; '.join(status['still_running'])} "
                     f"(`gridprune cancel {status['run_dir']}` stops them)")
    if status["history_rebuilt"]:
        lines.append(f"note: {status['history_rebuilt']}; the rows below are rebuilt from checkpoint.json, "
                     "generations/ and results/ (lost timings shown as -)")
    lines += round_table(status["history"], columns, noun if len(noun) <= 6 else noun[:3], width=6)
    left = status["estimated_seconds_left"]
    value = status.get("value_name", "WER")
    best = f"best {value} {figure(status['best_value'])}; " if status["has_best"] else ""
    unfinished = status.get("unfinished_round_seconds") or 0.0
    lines.append(
        f"{best}{status['evaluations']} evaluations, {status['failed']} failed, "
        f"{status['cache_hits']} cache hits; elapsed {status['elapsed_seconds']:.0f} s"
        + (f" ({unfinished:.0f} s of it in the unfinished {noun})" if unfinished >= 1 else "")
        + (f" (worker start-up {status['startup_seconds']:.0f} s)" if status["startup_seconds"] else "")
        + ("" if left is None else f", about {left:.0f} s left")
    )
    if status["all_failed"]:
        lines.append("every evaluation failed: there is no model to export; the error of each is in its "
                     f"result file under {status['run_dir']}/results")
    elif status["best_value"] is None and not status["finished"]:
        then = {"running": "it will have one once its evaluations finish",
                "stopped": f"continue it with `gridprune resume {status['run_dir']}`"}.get(state, "")
        lines.append("nothing to export yet: no model chosen so far" + (f"; {then}" if then else ""))
    elif status["exported"]:
        done = status["exported"]["rounds_completed"]
        lines.append(f"exported to {status['exported']['out']}"
                     + (f" (after {noun} {done})" if done is not None else ""))
    return "\n".join(lines)


def plot_history(status: dict[str, Any], path: Path) -> None:
    """A PNG of the best and mean value (WER) per round."""
    noun = status.get("round_name", "round")
    rounds = [row["round"] for row in status["history"]]
    lines = {
        f"best of {noun}": ([row["best"] for row in status["history"]], {"marker": "o"}),
        f"mean of {noun}": ([row["mean"] for row in status["history"]], {"marker": "."}),
        "best so far": ([row["best_so_far"] for row in status["history"]], {"linestyle": "--"}),
    }
    value = status.get("value_name", "WER")
    line_plot(rounds, lines, noun, f"{value} (search set)", f"{status['method']}: {Path(status['run_dir']).name}", path)


def require_matplotlib() -> None:
    """GridpruneError saying how to install matplotlib (the `plot` extra) unless it can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        from gridprune.errors import GridpruneError

        raise GridpruneError("plots need matplotlib: pip install 'gridprune[plot]'") from None


def line_plot(x: list[float], lines: dict[str, tuple[list[float | None], dict[str, Any]]],
              x_label: str, y_label: str, title: str, path: Path) -> None:
    """Write a PNG of labelled lines over `x` (each line: its values and matplotlib style)."""
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6, 4))
    for label, (values, style) in lines.items():
        axes.plot(x, values, label=label, **style)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
