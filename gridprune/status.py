"""What a run has done so far, read from its run directory alone (no model, no torch)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from gridprune.store import RunDir


def run_status(run: RunDir, planned_generations: int) -> dict[str, Any]:
    """A JSON-ready summary: generations, WERs, evaluation counts, times."""
    saved = run.read_checkpoint()
    completed = saved["completed_generations"] if saved else 0
    history = run.read_history()[:completed]
    best = saved["search"]["best"] if saved else None
    seconds = [row["seconds"] for row in history]
    startup = sum(row.get("startup_seconds", 0.0) for row in history)
    remaining = max(planned_generations - completed, 0)
    info = run.run_info
    return {
        "run_dir": str(run.root),
        "method": info["method"],
        "completed_generations": completed,
        "planned_generations": planned_generations,
        "finished": completed >= planned_generations,
        "best_wer": best["fitness"] if best else None,
        "best_chromosome": best["chromosome"] if best else None,
        "evaluations": sum(row["evaluated"] for row in history),
        "failed": sum(row["failed"] for row in history),
        "cache_hits": sum(row["cache_hits"] for row in history),
        "results_on_disk": sum(1 for _ in run.results_dir.glob("*/*.json")) if run.results_dir.is_dir() else 0,
        "elapsed_seconds": sum(seconds) + startup,
        "startup_seconds": round(startup, 1),  # a backend with nothing to start records a few microseconds
        "estimated_seconds_left": statistics.fmean(seconds) * remaining if seconds else None,
        "master": run.master_info(),
        "started_at": info["created_at"],
        "now": time.time(),
        "history": history,
    }


def format_status(status: dict[str, Any]) -> str:
    """The human-readable form of `run_status`."""
    lines = [
        f"run {status['run_dir']} ({status['method']}): "
        f"{status['completed_generations']}/{status['planned_generations']} generations"
        + (" - finished" if status["finished"] else ""),
    ]
    master = status["master"]
    if master and not status["finished"]:
        lines.append(f"master: pid {master.get('pid')} on {master.get('host')}")
    lines.append(f"{'gen':>4} {'best':>8} {'mean':>8} {'so far':>8} {'evals':>6} {'cached':>6} {'failed':>6} "
                 f"{'seconds':>8} {'overhead':>8}")
    for row in status["history"]:
        ratio = overhead(row)
        lines.append(
            f"{row['generation']:>4} {_wer(row['best']):>8} {_wer(row['mean']):>8} {_wer(row['best_so_far']):>8} "
            f"{row['evaluated']:>6} {row['cache_hits']:>6} {row['failed']:>6} {row['seconds']:>8.1f} "
            f"{'-' if ratio is None else f'{ratio:.2f}':>8}"
        )
    left = status["estimated_seconds_left"]
    lines.append(
        f"best WER {_wer(status['best_wer'])}; {status['evaluations']} evaluations, {status['failed']} failed, "
        f"{status['cache_hits']} cache hits; elapsed {status['elapsed_seconds']:.0f} s"
        + (f" (worker start-up {status['startup_seconds']:.0f} s)" if status["startup_seconds"] else "")
        + ("" if status["finished"] or left is None else f", about {left:.0f} s left")
    )
    return "\n".join(lines)


def overhead(row: dict[str, Any]) -> float | None:
    """A generation's wall time over its pure decode time per worker (1.0 = no overhead at all)."""
    if not row.get("workers") or not row.get("decode_seconds"):
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
