"""What a compare writes: the table (markdown, sorted by WER, the Pareto-optimal rows marked) and the plots of WER
against parameters kept, size on disk and measured speedup, one marker per method, each front drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from gridprune.compare.pareto import AXES, smallest_bytes, wer_of

Row = Mapping[str, Any]
PLOTS = {  # axis -> (file name, x label)
    "params": ("wer_vs_params.png", "non-zero parameters kept (fraction of the unpruned model's)"),
    "size": ("wer_vs_size.png", "size on disk, MiB (the sparse file where smaller)"),
    "speed": ("wer_vs_speedup.png", "measured speedup over the unpruned model (median of the rounds)"),
}


def ranked(rows: Sequence[Row]) -> list[Row]:
    """`rows` by WER (held-out, else search), unmeasured last; ties by fewer non-zero parameters."""
    return sorted(rows, key=lambda row: (wer_of(row) is None, wer_of(row) or 0.0, row["nonzero_params"]))


def table_lines(baseline: Row, rows: Sequence[Row]) -> list[str]:
    """The markdown table of the unpruned model and every model, ranked."""
    from gridprune.engine import figure, size_figure

    base = baseline["params"]
    header = ["model", "method", "params kept", "non-zero kept", "size", "sparse file", "speedup (rounds)",
              "FLOPs predict", "WER search", "WER held-out", "Pareto front"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in ranked([baseline, *rows]):
        cells = [
            f"**{row['label']}**" if row["front"] else row["label"],
            row.get("method") or "-",
            f"{row['params'] / base:.1%}",
            f"{row['nonzero_params'] / base:.1%}",
            size_figure(row["bytes"]),
            size_figure(row["sparse_bytes"]),
            f"{row['speedup']:.2f}x ({row['speedup_min']:.2f}-{row['speedup_max']:.2f})"
            + ("!" if row["speed_uncertain"] else ""),
            figure(row["predicted_speedup"], "{:.2f}x"),
            figure(row["wer_search"]),
            figure(row["wer_heldout"]),
            ", ".join(row["front"]) or "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def write_table(path: Path, baseline: Row, rows: Sequence[Row], measure: Mapping[str, Any]) -> None:
    """Write table.md: how the models were measured, then the table."""
    wer = "held-out" if measure.get("heldout_set") else "search-set"
    text = "\n".join([
        f"Models ranked by {wer} WER; **bold**: on a Pareto front of WER against non-zero parameters (params), "
        "size on disk (size) or measured speedup (speed), the unpruned model included.",
        f"Speed: every model timed in turns with the others, utterance by utterance, over {measure['utterances']} "
        f"utterances of the search set, {measure['rounds']} rounds, {measure['threads']} thread(s); the speedup is "
        "the median of the rounds' ratios with their range (! where the range exceeds a quarter of it: the machine "
        "was busy).",
        "",
        *table_lines(baseline, rows),
    ])
    path.write_text(text + "\n")


def write_plots(folder: Path, baseline: Row, rows: Sequence[Row]) -> list[Path]:
    """One PNG per axis of AXES: WER against it, one marker per method, the front drawn, the unpruned model a
    star; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    folder.mkdir(parents=True, exist_ok=True)
    markers = "osD^vP*Xh<>"
    methods = list(dict.fromkeys(row["method"] for row in rows))
    written = []
    for axis, (value, higher_is_better) in AXES.items():
        name, label = PLOTS[axis]
        x_of = _x_reader(axis, value, baseline)
        figure, axes = pyplot.subplots(figsize=(7, 4.5))
        for index, method in enumerate(methods):
            points = [(x_of(row), wer_of(row), row) for row in rows if row["method"] == method]
            points = [(x, y, row) for x, y, row in points if x is not None and y is not None]
            if not points:
                continue
            xs, ys = [x for x, _, _ in points], [y for _, y, _ in points]
            style = {"marker": markers[index % len(markers)], "linestyle": "none", "label": method}
            if axis == "speed":
                spans = [[x - row["speedup_min"] for x, _, row in points], [row["speedup_max"] - x for x, _, row in points]]
                axes.errorbar(xs, ys, xerr=spans, capsize=3, **style)
            else:
                axes.plot(xs, ys, **style)
            for x, y, row in points:
                axes.annotate(row["label"], (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        base_x, base_y = x_of(baseline), wer_of(baseline)
        if base_x is not None and base_y is not None:
            axes.plot([base_x], [base_y], marker="*", markersize=14, color="black", linestyle="none", label="unpruned")
        on_front = sorted((x_of(row), wer_of(row)) for row in [baseline, *rows] if axis in row["front"])
        if len(on_front) > 1:
            axes.step([x for x, _ in on_front], [y for _, y in on_front], where="pre" if higher_is_better else "post", color="grey",
                      linestyle="--", label="Pareto front")
        axes.set_xlabel(label)
        axes.set_ylabel("WER, held-out set" if baseline["wer_heldout"] is not None else "WER, search set")
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
        figure.tight_layout()
        figure.savefig(folder / name, dpi=100)
        pyplot.close(figure)
        written.append(folder / name)
    return written


def _x_reader(axis: str, value: Callable[[Row], float | None], baseline: Row) -> Callable[[Row], float | None]:
    """The x a plot shows for a row: parameters as a fraction of the unpruned model's, sizes in MiB."""
    if axis == "params":
        return lambda row: row["nonzero_params"] / baseline["params"]
    if axis == "size":
        return lambda row: smallest_bytes(row) / 2**20
    return value
