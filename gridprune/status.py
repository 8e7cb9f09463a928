"""What a run has done so far, read from its run directory alone (no model, no torch).

The checkpoint, the generation files and the results are the truth: counts of
evaluations are the results the run stored, and a history.jsonl that disagrees
with them is shown rebuilt from them (its lost timings as `-`). Whether the
master lives is read from the master lock (free once its holder died), the
recorded pid on this host, and the master's Slurm job where it has one.
"""

from __future__ import annotations

import os
import socket
import statistics
import time
from pathlib import Path
from typing import Any

from gridprune.store import RunDir, read_json
from gridprune.store.history import generation_counts, history_problem, read_history_rows, rebuild_history

MASTER_JOBS = "master_jobs.json"  # under RUN_DIR/jobs: the master jobs `gridprune submit` started
QUEUED_STATES = ("PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD")


def recorded_master_jobs(run: RunDir) -> list[str]:
    """Ids of the master jobs submitted for this run (by `gridprune submit`, or recorded by a running master)."""
    ids = []
    path = run.jobs_dir / MASTER_JOBS
    if path.is_file():
        ids.extend(str(entry["job_id"]) for entry in read_json(path).get("jobs", []))
    info = run.master_info()
    if info and info.get("slurm_job_id"):
        ids.append(str(info["slurm_job_id"]))
    return list(dict.fromkeys(ids))


def master_state(run: RunDir, completed: int, planned: int) -> dict[str, Any]:
    """`state` (running, queued, stopped, finished, not started) with what it rests on."""
    info = run.master_info() or {}
    state: dict[str, Any] = {key: info.get(key) for key in ("pid", "host", "started", "slurm_job_id")}
    jobs = _slurm_jobs_of_master(run)
    alive = run.master_alive()
    if alive:
        job = info.get("slurm_job_id")
        if jobs is not None and job and not any(j.matches(str(job)) for j in jobs):
            state.update(state="stopped", detail=f"its Slurm job {job} has ended (the lock is the filesystem's to free)")
        else:
            state.update(state="running", detail=None)
        return state
    queued = [job for job in jobs or [] if job.state in QUEUED_STATES and job.name == "gridprune-master"]
    if queued:
        state.update(state="queued", detail=f"master job {queued[0].id} is queued ({queued[0].state})")
    elif completed >= planned:
        state.update(state="finished", detail=None)
    elif not run.started():
        state.update(state="not started", detail=None)
    else:
        state.update(state="stopped", detail=_why_gone(info, jobs))
    return state


def _slurm_jobs_of_master(run: RunDir):
    """This run's master jobs that Slurm still lists; None where that cannot be known (no Slurm, no job)."""
    recorded = recorded_master_jobs(run)
    if not recorded:
        return None
    from gridprune.backends.slurm_jobs import slurm_available, user_jobs

    if not slurm_available():
        return None
    try:
        return [job for job in user_jobs() if any(job.matches(r) for r in recorded)]
    except (OSError, TimeoutError):
        return None


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


def run_status(run: RunDir, planned_generations: int) -> dict[str, Any]:
    """A JSON-ready summary: generations, WERs, evaluation counts, times, the master's state."""
    saved = run.read_checkpoint()
    completed = saved["completed_generations"] if saved else 0
    rows, read_problem = read_history_rows(run)
    counts = generation_counts(run, completed)
    problem = history_problem(run, rows, read_problem, completed)
    history = rebuild_history(run, completed, kept=rows, counts=counts) if problem else [dict(r) for r in rows[:completed]]
    for row, count in zip(history, counts):  # the store's counts, whichever master did the work
        row.update(evaluated=count["evaluated"], cache_hits=count["cache_hits"], failed=count["failed"])
    best = saved["search"]["best"] if saved else None
    seconds = [row["seconds"] for row in history if row.get("seconds") is not None]
    startup = sum(row.get("startup_seconds") or 0.0 for row in history)
    remaining = max(planned_generations - completed, 0)
    master = master_state(run, completed, planned_generations)
    info = run.run_info
    report = _export_report(run)
    return {
        "run_dir": str(run.root),
        "method": info["method"],
        "completed_generations": completed,
        "planned_generations": planned_generations,
        "finished": completed >= planned_generations,
        "state": master["state"],
        "best_wer": best["fitness"] if best else None,
        "best_chromosome": best["chromosome"] if best else None,
        "all_failed": completed > 0 and (best is None or best["fitness"] is None),
        "evaluations": sum(row["evaluated"] for row in history),
        "failed": sum(row["failed"] for row in history),
        "cache_hits": sum(row["cache_hits"] for row in history),
        "results_on_disk": sum(1 for _ in run.results_dir.glob("*/*.json")) if run.results_dir.is_dir() else 0,
        "elapsed_seconds": sum(seconds) + startup,
        "startup_seconds": round(startup, 1),  # a backend with nothing to start records a few microseconds
        "estimated_seconds_left": (statistics.fmean(seconds) * remaining
                                   if seconds and master["state"] == "running" else None),
        "history_rebuilt": problem,
        "master": master,
        "exported": report,
        "started_at": info["created_at"],
        "now": time.time(),
        "history": history,
    }


def _export_report(run: RunDir) -> dict[str, Any] | None:
    """Where the best is exported and after which generation, if it is."""
    path = run.best_dir / "report.json"
    if not path.is_file():
        return None
    try:
        report = read_json(path)
    except Exception:  # a report being replaced or damaged: status still answers
        return None
    return {"out": str(run.best_dir), "completed_generations": report.get("completed_generations")}


def format_status(status: dict[str, Any]) -> str:
    """The human-readable form of `run_status`."""
    completed, planned = status["completed_generations"], status["planned_generations"]
    state = status["master"]["state"]
    lines = [f"run {status['run_dir']} ({status['method']}): {completed}/{planned} generations"
             + (" - finished" if status["finished"] else "")]
    master = status["master"]
    if state == "running":
        job = f", Slurm job {master['slurm_job_id']}" if master.get("slurm_job_id") else ""
        doing = ", exporting the best" if status["finished"] else ""
        lines.append(f"master: running, pid {master.get('pid')} on {master.get('host')}{job}{doing}")
    elif state == "queued":
        lines.append(f"{master['detail']}; the search starts when it runs")
    elif state == "stopped":
        lines.append(f"stopped after generation {completed} of {planned}; "
                     f"continue with `gridprune resume {status['run_dir']}`"
                     + (f" ({master['detail']})" if master.get("detail") else ""))
    elif state == "not started":
        lines.append(f"no generation started yet; start it with `gridprune resume {status['run_dir']}`")
    if status["history_rebuilt"]:
        lines.append(f"note: {status['history_rebuilt']}; the rows below are rebuilt from checkpoint.json, "
                     "generations/ and results/ (lost timings shown as -)")
    lines.append(f"{'gen':>4} {'best':>8} {'mean':>8} {'so far':>8} {'evals':>6} {'cached':>6} {'failed':>6} "
                 f"{'seconds':>8} {'overhead':>8}")
    for row in status["history"]:
        ratio = overhead(row)
        secs = "-" if row.get("seconds") is None else f"{row['seconds']:.1f}"
        lines.append(
            f"{row['generation']:>4} {_wer(row['best']):>8} {_wer(row['mean']):>8} {_wer(row['best_so_far']):>8} "
            f"{row['evaluated']:>6} {row['cache_hits']:>6} {row['failed']:>6} {secs:>8} "
            f"{'-' if ratio is None else f'{ratio:.2f}':>8}"
        )
    left = status["estimated_seconds_left"]
    lines.append(
        f"best WER {_wer(status['best_wer'])}; {status['evaluations']} evaluations, {status['failed']} failed, "
        f"{status['cache_hits']} cache hits; elapsed {status['elapsed_seconds']:.0f} s"
        + (f" (worker start-up {status['startup_seconds']:.0f} s)" if status["startup_seconds"] else "")
        + ("" if left is None else f", about {left:.0f} s left")
    )
    if status["all_failed"]:
        lines.append("every evaluation failed: there is no best to export; the error of each is in its "
                     f"result file under {status['run_dir']}/results")
    elif status["exported"]:
        lines.append(f"best model exported to {status['exported']['out']}"
                     + (f" (after generation {status['exported']['completed_generations']})"
                        if status["exported"]["completed_generations"] is not None else ""))
    return "\n".join(lines)


def overhead(row: dict[str, Any]) -> float | None:
    """A generation's wall time over its pure decode time per worker (1.0 = no overhead at all)."""
    if not row.get("workers") or not row.get("decode_seconds") or row.get("seconds") is None:
        return None
    return row["seconds"] / (row["decode_seconds"] / row["workers"])


def _wer(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def plot_history(status: dict[str, Any], path: Path) -> None:
    """A PNG of the best and mean WER per generation."""
    generations = [row["generation"] for row in status["history"]]
    lines = {
        "best of generation": ([row["best"] for row in status["history"]], {"marker": "o"}),
        "mean of generation": ([row["mean"] for row in status["history"]], {"marker": "."}),
        "best so far": ([row["best_so_far"] for row in status["history"]], {"linestyle": "--"}),
    }
    line_plot(generations, lines, "generation", "WER (search set)", f"{status['method']}: {Path(status['run_dir']).name}", path)


def line_plot(x: list[float], lines: dict[str, tuple[list[float | None], dict[str, Any]]],
              x_label: str, y_label: str, title: str, path: Path) -> None:
    """Write a PNG of labelled lines over `x` (each line: its values and matplotlib style)."""
    try:
        import matplotlib
    except ImportError:
        from gridprune.errors import GridpruneError

        raise GridpruneError("plots need matplotlib: pip install 'gridprune[plot]'") from None
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
