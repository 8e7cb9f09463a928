"""`status --plot` of a sweep (PARP, SRP): WER against the sweep's axis (sparsity, kept fraction), each variant
(the method, one-shot, ...) a line, on the search and the held-out set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

STYLES = {"one-shot": ("tab:red", "o"), "parp": ("tab:blue", "s"), "parp-p": ("tab:green", "^"),
          "srp": ("tab:blue", "s"), "one-shot+ft": ("tab:orange", "D")}


def plot_sweep(data: dict[str, Any], out: Path, x_label: str) -> Path:
    """Draw a sweep's `series` (`TrainingSweep.series`) against `x_label` (search set left, held-out right) to
    the image `out`; returns it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
        axis.set_xlabel(x_label)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("WER")
    labelled = [axis for axis in axes[::-1] if axis.get_legend_handles_labels()[0]]
    if labelled:  # the held-out side, unless the run has no held-out set
        labelled[0].legend()
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=100)
    plt.close(figure)
    return out
