"""CoMFLP's rounds as an engine strategy (no torch): the analysis, the coarse search, the WER-scored candidates.

`search: beam|greedy|exhaustive` runs two rounds: round 0 is one analysis trial (the layer
correlation matrix), after which the coarse search over the matrix runs here, in the master
(milliseconds); round 1 scores its top candidates by WER, as independent evaluation trials.
`search: glp` runs `drop` rounds of GLP, each one evaluation per remaining layer. The best is the
lowest WER told (ties: the earlier candidate of the coarse ranking); GLP's is the set its last step
chooses, so before that step there is none (each earlier step's set drops fewer layers than asked, and
its WER, the round's best, would read as a best so far that rises).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from gridprune.engine import EngineError, Outcome, ProtocolError, Trial
from gridprune.search.layer_sets import (GreedyLayerRemoval, LayerSearchError, LayerSet, beam_search,
                                         exhaustive_search, greedy_search)

ANALYSIS = "layer_correlation"
EVALUATION = "layer_drop_eval"
STATE_FORMAT = "gridprune.methods.comflp.strategy"
STATE_VERSION = 1

MatrixReader = Callable[[str], np.ndarray]  # analysis trial key -> its correlation matrix


def drop_trial(dropped: Sequence[int]) -> Trial:
    """The evaluation trial of the model without layers `dropped`."""
    layers = sorted(int(i) for i in dropped)
    return Trial(EVALUATION, {"dropped": layers}, label="drop " + ",".join(map(str, layers)))


def coarse_search(matrix: np.ndarray, drop: int, search: str, beam: int, candidates: int,
                  exhaustive_limit: int) -> list[LayerSet]:
    """The top `candidates` sets of `drop` layers by coarse score, best first."""
    if search == "beam":
        return beam_search(matrix, drop, beam=beam, candidates=candidates)
    if search == "greedy":
        return greedy_search(matrix, drop, candidates=candidates)
    if search == "exhaustive":
        return exhaustive_search(matrix, drop, candidates=candidates, limit=exhaustive_limit)
    raise ProtocolError(f"no coarse search {search!r}")


class ComflpStrategy:
    """Synchronous rounds; `state_dict()` holds everything, so a restored strategy asks what was next."""

    synchronous = True

    def __init__(self, layers: int, drop: int, search: str, *, beam: int = 10, candidates: int = 10,
                 exhaustive_limit: int = 100_000, analysis: dict[str, Any] | None = None,
                 read_matrix: MatrixReader | None = None):
        self.layers, self.drop, self.search = int(layers), int(drop), search
        self.beam, self.candidate_count, self.exhaustive_limit = beam, candidates, exhaustive_limit
        self.analysis = dict(analysis or {})
        self.read_matrix = read_matrix
        self.round = 0
        self.matrix_key: str | None = None
        self.coarse: list[LayerSet] = []
        self.coarse_seconds: float | None = None
        self.wers: dict[tuple[int, ...], float | None] = {}  # evaluated set -> WER (None: failed)
        self.glp = GreedyLayerRemoval(self.layers, self.drop) if search == "glp" else None
        if self.glp is None and read_matrix is None:
            raise ProtocolError("a coarse CoMFLP search needs a reader of the analysis matrix")

    # -------------------------------------------------------------- the Strategy protocol

    @property
    def planned_rounds(self) -> int:
        return self.drop if self.glp is not None else 2

    @property
    def finished(self) -> bool:
        return self.round >= self.planned_rounds

    @property
    def best(self) -> tuple[Trial, float] | None:
        if self.glp is not None:
            chosen = self.glp.best if self.glp.done else None  # an earlier step's set drops fewer layers
            return None if chosen is None else (drop_trial(chosen.layers), chosen.score)
        scored = [(wer, rank, c.layers) for rank, c in enumerate(self.coarse)
                  if (wer := self.wers.get(c.layers)) is not None]
        if not scored:
            return None
        wer, _, layers = min(scored)
        return drop_trial(layers), wer

    @property
    def evaluations(self) -> int:
        """Evaluation trials told so far."""
        return len(self.wers)

    def ask(self) -> list[Trial]:
        if self.finished:
            return []
        if self.glp is not None:
            return [drop_trial(s) for s in self.glp.ask()]
        if self.round == 0:
            return [Trial(ANALYSIS, dict(self.analysis), label=f"{self.analysis.get('measure')} matrix")]
        return [drop_trial(c.layers) for c in self.coarse]

    def describe_round(self) -> dict[str, Any]:
        """What the round just asked is, for generations/NNNN.json."""
        if self.glp is not None:
            return {"phase": "glp", "removed": list(self.glp.removed)}
        if self.round == 0:
            return {"phase": "analysis", "analysis": dict(self.analysis)}
        return {"phase": "candidates", "coarse": [{"dropped": list(c.layers), "score": c.score} for c in self.coarse]}

    def tell(self, trial: Trial, outcome: Outcome) -> None:
        raise ProtocolError("ComflpStrategy is synchronous: it is told whole rounds")

    def tell_round(self, trials: Sequence[Trial], outcomes: Sequence[Outcome]) -> None:
        asked = self.ask()
        if [t.params for t in trials] != [t.params for t in asked] or len(outcomes) != len(trials):
            raise ProtocolError(f"round {self.round}: told other trials than asked")
        if self.glp is None and self.round == 0:
            self._tell_analysis(outcomes[0])
            return
        costs = []
        for trial, outcome in zip(trials, outcomes):
            layers = tuple(trial.params["dropped"])
            self.wers[layers] = outcome.value if outcome.ok else None
            costs.append(self.wers[layers])
        if self.glp is not None:
            try:
                self.glp.tell([t.params["dropped"] for t in trials], costs)
            except LayerSearchError as err:
                raise EngineError(f"GLP step {self.round}: {err}") from None
        self.round += 1

    def _tell_analysis(self, outcome: Outcome) -> None:
        if not outcome.ok or outcome.key is None:
            raise EngineError(f"the layer correlation analysis failed ({outcome.error}); "
                              "nothing to search; start a new run once the cause is fixed")
        assert self.read_matrix is not None
        matrix = self.read_matrix(outcome.key)
        started = time.perf_counter()
        self.coarse = coarse_search(matrix, self.drop, self.search, self.beam, self.candidate_count,
                                    self.exhaustive_limit)
        self.coarse_seconds = time.perf_counter() - started
        self.matrix_key = outcome.key
        self.round = 1

    # -------------------------------------------------------------- state

    def state_dict(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT, "version": STATE_VERSION,
            "layers": self.layers, "drop": self.drop, "search": self.search, "beam": self.beam,
            "candidates": self.candidate_count, "exhaustive_limit": self.exhaustive_limit,
            "analysis": self.analysis, "round": self.round, "matrix_key": self.matrix_key,
            "coarse": [{"dropped": list(c.layers), "score": c.score} for c in self.coarse],
            "coarse_seconds": self.coarse_seconds,
            "wers": [{"dropped": list(layers), "wer": wer} for layers, wer in self.wers.items()],
            "glp": None if self.glp is None else self.glp.state_dict(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], read_matrix: MatrixReader | None = None) -> ComflpStrategy:
        """The strategy `state_dict` saved; EngineError if it is not one."""
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT or state.get("version") != STATE_VERSION:
            found = state.get("format") if isinstance(state, dict) else type(state).__name__
            raise EngineError(f"the checkpoint holds no {STATE_FORMAT} version {STATE_VERSION} state (found {found})")
        strategy = cls(state["layers"], state["drop"], state["search"], beam=state["beam"],
                       candidates=state["candidates"], exhaustive_limit=state["exhaustive_limit"],
                       analysis=state["analysis"], read_matrix=read_matrix or _no_reader)
        strategy.round, strategy.matrix_key = state["round"], state["matrix_key"]
        strategy.coarse = [LayerSet(tuple(c["dropped"]), c["score"]) for c in state["coarse"]]
        strategy.coarse_seconds = state["coarse_seconds"]
        strategy.wers = {tuple(w["dropped"]): w["wer"] for w in state["wers"]}
        if state["glp"] is not None:
            try:
                strategy.glp = GreedyLayerRemoval.from_state(state["glp"])
            except LayerSearchError as err:
                raise EngineError(f"the checkpoint's GLP state: {err}") from None
        return strategy


def _no_reader(key: str) -> np.ndarray:
    raise ProtocolError("this restored strategy was given no matrix reader")
