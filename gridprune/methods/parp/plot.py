"""`status --plot` of a PARP sweep: WER against sparsity, PARP and one-shot side by side, on both sets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gridprune.methods.parp.strategy import UNPRUNED, saved_sweep
from gridprune.store import RunDir

STYLES = {"one-shot": ("tab:red", "o"), "parp": ("tab:blue", "s"), "parp-p": ("tab:green", "^")}


def sweep_series(run: RunDir) -> dict[str, Any]:
    """{"unpruned": {wer, heldout_wer} | None, "series": {variant: [(sparsity, wer, heldout_wer), ...]}}."""
    sweep = saved_sweep(run)
    if sweep is None:
        return {"unpruned": None, "series": {}}
    series: dict[str, list[tuple[float, float | None, float | None]]] = {}
    for row in sweep.points():
        if row["wer"] is not None:
            series.setdefault(row["variant"], []).append((row["sparsity"], row["wer"], row["heldout_wer"]))
    unpruned = (sweep.scores.get(UNPRUNED) or {}).get("metrics")
    return {"unpruned": unpruned, "series": {k: sorted(v) for k, v in series.items()}}


def plot_sweep(run: RunDir, out: Path) -> Path:
    """Draw WER against sparsity (search set left, held-out right) to the image `out`; returns it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = sweep_series(run)
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for axis, index, title in ((axes[0], 1, "search set"), (axes[1], 2, "held-out set")):
        for variant, points in data["series"].items():
            shown = [(p[0], p[index]) for p in points if p[index] is not None]
            if shown:
                color, marker = STYLES.get(variant, ("black", "x"))
                axis.plot(*zip(*shown), color=color, marker=marker, label=variant)
        unpruned = data["unpruned"]
        key = "wer" if index == 1 else "heldout_wer"
        if unpruned and unpruned.get(key) is not None:
            axis.axhline(unpruned[key], color="gray", linestyle="--", label="unpruned")
        axis.set_title(title)
        axis.set_xlabel("sparsity")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("WER")
    axes[1].legend()
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=100)
    plt.close(figure)
    return out
