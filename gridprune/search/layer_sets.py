"""Which encoder layers to remove: CoMFLP's coarse search over a correlation matrix, and GLP's greedy steps.

Layers are numbered from 0; layer i maps the hidden state at boundary i to
boundary i+1, so a model of L layers has boundaries 0..L and an (L+1, L+1)
correlation matrix M between them. Removing a maximal run of consecutive
layers i..j feeds boundary i where boundary j+1 was expected: the run's score
is M[i, j+1] (the paper's M[a-1, b] for its layers a..b counted from 1). A set
of layers scores the mean over its maximal runs; higher is better.

Ties are broken by the sorted tuple of layer indexes, smallest first, so every
search here is deterministic.
"""

from __future__ import annotations

import heapq
import itertools
import math
import numbers
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from gridprune.errors import GridpruneError

DEFAULT_EXHAUSTIVE_LIMIT = 100_000
# Seconds `exhaustive_search` spends on each set it ranks: CPU time (time.process_time, the 2-core machine
# was shared) of exhaustive_search(random matrix, drop, limit=count), the fastest of 30 timings each: 3.0,
# 4.0 and 4.7 µs a set at 3, 6 and 8 of 24 layers; its scoring of the first 200,000 sets of 10 and of 24 of
# 48 layers (fastest of 18): 4.6 and 7.2 µs. A set of more layer runs costs more; 4.4 µs fits the searches
# near an hour (8-10 of 48 layers).
EXHAUSTIVE_SECONDS_PER_SET = 4.4e-6
GLP_STATE_FORMAT = "gridprune.search.GreedyLayerRemoval"
GLP_STATE_VERSION = 1


class LayerSearchError(GridpruneError, ValueError):
    """A layer-set search asked for something impossible or too large; the message names the setting."""


@dataclass(frozen=True)
class LayerSet:
    """A set of layers to remove (sorted 0-based indexes) and its coarse score."""

    layers: tuple[int, ...]
    score: float


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_drop(layers: int, drop: int) -> None:
    """Raise LayerSearchError unless 1 <= drop < layers."""
    if not _is_int(layers) or layers < 2:
        raise LayerSearchError(f"a model needs at least 2 layers to remove any, got {layers!r}")
    if not _is_int(drop) or not 1 <= drop < layers:
        raise LayerSearchError(f"drop must be an int in [1, {layers - 1}] for {layers} layers, got {drop!r}")


def layer_set_count(layers: int, drop: int) -> int:
    """How many sets of `drop` layers a model of `layers` layers has."""
    return math.comb(layers, drop)


def exhaustive_seconds(count: int) -> float:
    """About how long `exhaustive_search` takes to rank `count` sets."""
    return count * EXHAUSTIVE_SECONDS_PER_SET


def how_long(seconds: float) -> str:
    """A duration as a person says it: `under a second`, `about 40 s`, `about 12 min`, `about 3.2 hours`, ...
    `about 3.2 years`."""
    if seconds < 1:
        return "under a second"
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600)):
        if seconds >= size:
            value = seconds / size
            return f"about {value:.1f} {unit}" if value < 10 else f"about {value:,.0f} {unit}"
    return f"about {seconds:.0f} s" if seconds < 120 else f"about {seconds / 60:.0f} min"


def runs(dropped: Iterable[int]) -> list[tuple[int, int]]:
    """The maximal runs (first, last) of consecutive indexes, ascending: [1, 2, 5] -> [(1, 2), (5, 5)]."""
    result: list[tuple[int, int]] = []
    for index in sorted(set(dropped)):
        if result and index == result[-1][1] + 1:
            result[-1] = (result[-1][0], index)
        else:
            result.append((index, index))
    return result


def drop_score(matrix: np.ndarray, dropped: Iterable[int]) -> float:
    """The mean over the maximal runs i..j of `dropped` of matrix[i, j + 1]."""
    pieces = runs(dropped)
    if not pieces:
        raise LayerSearchError("a set of layers to drop must not be empty")
    return float(sum(matrix[first, last + 1] for first, last in pieces) / len(pieces))


def check_matrix(matrix: np.ndarray) -> np.ndarray:
    """The matrix as float64 if it is square, at least 3 x 3 and finite, else LayerSearchError."""
    array = np.asarray(matrix, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] != array.shape[1] or array.shape[0] < 3:
        raise LayerSearchError(f"a correlation matrix must be square, (layers + 1) on a side and at least 3 x 3; "
                               f"got shape {array.shape}")
    if not np.isfinite(array).all():
        i, j = np.argwhere(~np.isfinite(array))[0]
        raise LayerSearchError(f"the correlation matrix has a non-finite entry at [{i}, {j}]")
    return array


def _ranked(scored: Iterable[LayerSet], count: int) -> list[LayerSet]:
    return heapq.nsmallest(count, scored, key=lambda c: (-c.score, c.layers))


def _check_count(name: str, value: Any) -> int:
    if not _is_int(value) or value < 1:
        raise LayerSearchError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def beam_search(matrix: np.ndarray, drop: int, beam: int = 10, candidates: int = 10) -> list[LayerSet]:
    """The `candidates` best sets of `drop` layers found by adding one layer per step to each of the `beam` best.

    The last step ranks every extension of the beam and returns the top
    `candidates` of them (so more candidates than the beam width are possible).
    """
    array = check_matrix(matrix)
    layers = array.shape[0] - 1
    check_drop(layers, drop)
    beam, candidates = _check_count("beam", beam), _check_count("candidates", candidates)
    frontier: list[tuple[int, ...]] = [()]
    for step in range(drop):
        grown = {tuple(sorted((*chosen, layer))) for chosen in frontier for layer in range(layers) if layer not in chosen}
        scored = (LayerSet(s, drop_score(array, s)) for s in grown)
        if step == drop - 1:
            return _ranked(scored, candidates)
        frontier = [c.layers for c in _ranked(scored, beam)]
    raise AssertionError("unreachable: drop >= 1")


def greedy_search(matrix: np.ndarray, drop: int, candidates: int = 10) -> list[LayerSet]:
    """Beam search of width 1: the best layer added at each step."""
    return beam_search(matrix, drop, beam=1, candidates=candidates)


def exhaustive_search(matrix: np.ndarray, drop: int, candidates: int = 10,
                      limit: int = DEFAULT_EXHAUSTIVE_LIMIT) -> list[LayerSet]:
    """The `candidates` best of all sets of `drop` layers; refused when there are more than `limit` sets."""
    array = check_matrix(matrix)
    layers = array.shape[0] - 1
    check_drop(layers, drop)
    candidates = _check_count("candidates", candidates)
    count = layer_set_count(layers, drop)
    if count > limit:
        raise LayerSearchError(f"exhaustive search over {count} sets of {drop} of {layers} layers exceeds the "
                               f"limit of {limit} sets (it would take {how_long(exhaustive_seconds(count))}); "
                               "use beam or greedy search, or drop fewer layers")
    scored = (LayerSet(s, drop_score(array, s)) for s in itertools.combinations(range(layers), drop))
    return _ranked(scored, candidates)


class GreedyLayerRemoval:
    """GLP, greedy WER-based layer removal, as ask/tell; the cost (WER) is minimised.

    Each step asks for every set made of the layers removed so far plus one of
    the remaining layers; told their costs, it keeps the cheapest (ties: the
    smaller layer index), until `drop` layers are removed. A cost of None, NaN
    or infinity is a failed evaluation; a step where all fail is refused.
    Removing `drop` of L layers costs L + (L-1) + ... + (L-drop+1) evaluations.

    State (`state_dict`): {"format", "version", "layers", "drop", "removed": [int],
    "history": [{"removed": [int], "cost": float}]} (one history entry per step done).
    """

    def __init__(self, layers: int, drop: int):
        check_drop(layers, drop)
        self.layers = int(layers)
        self.drop = int(drop)
        self.removed: tuple[int, ...] = ()
        self.history: list[tuple[tuple[int, ...], float]] = []

    @property
    def done(self) -> bool:
        return len(self.removed) == self.drop

    @property
    def step(self) -> int:
        """Steps done so far."""
        return len(self.removed)

    @property
    def planned_evaluations(self) -> int:
        return sum(self.layers - k for k in range(self.drop))

    @property
    def best(self) -> LayerSet | None:
        """The set chosen at the last step done, with its cost as the score (lower is better here)."""
        if not self.history:
            return None
        layers, cost = self.history[-1]
        return LayerSet(layers, cost)

    def ask(self) -> list[tuple[int, ...]]:
        """This step's sets to evaluate, by the added layer ascending; empty when done."""
        if self.done:
            return []
        return [tuple(sorted((*self.removed, layer))) for layer in range(self.layers) if layer not in self.removed]

    def tell(self, sets: Sequence[Sequence[int]], costs: Sequence[float | None]) -> None:
        """The costs of this step's sets (in any order); keeps the cheapest and moves to the next step."""
        asked = self.ask()
        if not asked:
            raise LayerSearchError(f"the greedy layer removal is done ({self.drop} layers removed)")
        given = [tuple(sorted(int(i) for i in s)) for s in sets]
        if len(given) != len(costs) or sorted(given) != asked:
            raise LayerSearchError(f"step {self.step}: tell needs the costs of exactly the sets asked, {asked}; got {given}")
        finite = [(float(c), s) for s, c in zip(given, costs) if c is not None and math.isfinite(float(c))]
        if not finite:
            raise LayerSearchError(f"step {self.step}: every evaluation failed; no layer can be chosen")
        cost, chosen = min(finite)
        self.removed = chosen
        self.history.append((chosen, cost))

    def state_dict(self) -> dict[str, Any]:
        """JSON-ready state; `from_state` rebuilds an equal object."""
        return {
            "format": GLP_STATE_FORMAT,
            "version": GLP_STATE_VERSION,
            "layers": self.layers,
            "drop": self.drop,
            "removed": list(self.removed),
            "history": [{"removed": list(layers), "cost": cost} for layers, cost in self.history],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> GreedyLayerRemoval:
        """Restore from `state_dict`; a state of another format or version is refused."""
        if not isinstance(state, dict) or state.get("format") != GLP_STATE_FORMAT:
            raise LayerSearchError(f"not a {GLP_STATE_FORMAT} state")
        if state.get("version") != GLP_STATE_VERSION:
            raise LayerSearchError(f"{GLP_STATE_FORMAT} state version {state.get('version')!r}; "
                                   f"this gridprune reads version {GLP_STATE_VERSION}")
        search = cls(state["layers"], state["drop"])
        history = [(tuple(entry["removed"]), float(entry["cost"])) for entry in state["history"]]
        for step, (layers, _) in enumerate(history):
            previous = history[step - 1][0] if step else ()
            if len(layers) != step + 1 or not set(previous) < set(layers) or len(layers) > search.drop:
                raise LayerSearchError(f"{GLP_STATE_FORMAT} state: history step {step} removes {list(layers)} "
                                       f"after {list(previous)}")
        removed = tuple(state["removed"])
        if removed != (history[-1][0] if history else ()):
            raise LayerSearchError(f"{GLP_STATE_FORMAT} state: removed {list(removed)} is not the last history step")
        search.removed, search.history = removed, history
        return search
