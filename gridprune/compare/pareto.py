"""Pareto fronts of a compare's rows: the models no other model beats on both WER and a cost (parameters kept,
size on disk) or a gain (speedup) at once."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

Row = Mapping[str, Any]


def smallest_bytes(row: Row) -> int:
    """The smaller of a model's files on disk: the dense weights, or its sparse file where it has one."""
    return min(size for size in (row["bytes"], row["sparse_bytes"]) if size is not None)


# axis name -> (its value of a row, whether higher is better); the y axis of every front is WER, lower better
AXES: dict[str, tuple[Callable[[Row], float | None], bool]] = {
    "params": (lambda row: row["nonzero_params"], False),
    "size": (smallest_bytes, False),
    "speed": (lambda row: row["speedup"], True),
}


def wer_of(row: Row) -> float | None:
    """The WER a compare ranks by: held-out, or the search set's where there is no held-out set."""
    return row["wer_heldout"] if row["wer_heldout"] is not None else row["wer_search"]


def front(points: Sequence[tuple[float, float] | None]) -> list[bool]:
    """Which of `points` (x, y), both lower better, no other point dominates: at least as good on both and
    better on one. None (not measured) is never on the front."""
    on_front = []
    for point in points:
        if point is None:
            on_front.append(False)
            continue
        x, y = point
        beaten = any(other is not None and other[0] <= x and other[1] <= y and other != point for other in points)
        on_front.append(not beaten)
    return on_front


def mark_fronts(rows: Sequence[dict[str, Any]]) -> None:
    """Set each row's `front`: the names of the AXES on whose front (against WER) it lies."""
    for row in rows:
        row["front"] = []
    for axis, (value, higher_is_better) in AXES.items():
        points = []
        for row in rows:
            x, y = value(row), wer_of(row)
            points.append(None if x is None or y is None else (-x if higher_is_better else x, y))
        for row, on_front in zip(rows, front(points)):
            if on_front:
                row["front"].append(axis)
