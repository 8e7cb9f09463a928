"""`comflp` as a job type: settings, checks, task kinds, strategy and export."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from gridprune.engine import Column, Outcome, Resources, TaskKind, Trial, artifact_file
from gridprune.methods.base import MethodBase, model_shape
from gridprune.methods.comflp.settings import SECTION, ComflpSettings, analysis_params, check_settings
from gridprune.methods.comflp.strategy import ANALYSIS, EVALUATION, ComflpStrategy
from gridprune.methods.comflp.tasks import MATRIX_JSON, AnalysisFactory, EvaluationFactory, read_matrix
from gridprune.store import RunDir

class Comflp(MethodBase):
    """CoMFLP (correlation-guided layer pruning) and its GLP baseline."""

    name = "comflp"
    section = SECTION
    Settings = ComflpSettings
    summary = ("CoMFLP: drops whole encoder layers, chosen by how well the layers' correlation says their "
               "input predicts their output, then scored by WER (or GLP: greedy removal by WER)")
    columns = (Column("phase", "phase"), Column("best_dropped", "dropped"))
    key_format = 1  # bump when what a comflp trial's outcome depends on changes

    def check(self, config: Any, settings: ComflpSettings) -> None:
        """The settings against the model's `config.json` (no torch); ConfigValueError naming the key."""
        check_settings(settings, model_shape(config).layers)

    def planned_rounds(self, settings: ComflpSettings) -> int | None:
        """Two (analysis, candidates), or one per layer GLP removes."""
        return settings.drop if settings.search == "glp" else 2

    def kinds(self, config: Any, settings: ComflpSettings) -> Mapping[str, TaskKind]:
        """The evaluation kind, and the analysis kind unless GLP runs (it needs no matrix)."""
        data = (config.data.path, config.data.audio_dir)
        evaluation = EvaluationFactory(config.model, *data, cache_bytes=int(settings.cache_gb * 2**30))
        kinds = {EVALUATION: TaskKind(EVALUATION, evaluation, Resources(cpus=1, mem_gb=settings.cache_gb + 2.0,
                                                                       time_min=30), at_start=True)}
        if settings.search != "glp":
            kinds[ANALYSIS] = TaskKind(ANALYSIS, AnalysisFactory(config.model, *data),
                                       Resources(cpus=1, mem_gb=8.0, time_min=120), tasks_per_job=1)
        return kinds

    def key_settings(self, config: Any, settings: ComflpSettings) -> dict[str, Any]:
        return {"score": "corpus"}

    def new_strategy(self, run: RunDir, config: Any, settings: ComflpSettings) -> ComflpStrategy:
        from gridprune.checkpoint_files import encoder_shape, resolve_model_path

        layers = encoder_shape(resolve_model_path(config.model)).layers
        return ComflpStrategy(layers, settings.drop, settings.search, beam=settings.beam,
                              candidates=settings.candidates, exhaustive_limit=settings.exhaustive_limit,
                              analysis=analysis_params(settings, config.seed), read_matrix=self._reader(run))

    def restore_strategy(self, run: RunDir, state: dict[str, Any], config: Any,
                         settings: ComflpSettings) -> ComflpStrategy:
        return ComflpStrategy.from_state(state, self._reader(run))

    @staticmethod
    def _reader(run: RunDir):
        def read(key: str) -> np.ndarray:
            return read_matrix(artifact_file(run, key, MATRIX_JSON))
        return read

    def round_columns(self, strategy: ComflpStrategy, trials: Sequence[Trial],
                      outcomes: Sequence[Outcome]) -> dict[str, Any]:
        phase = "glp" if strategy.glp is not None else ("analysis" if trials[0].kind == ANALYSIS else "candidates")
        # GLP: the set each step chose (its strategy's best is the last step's alone)
        chosen = strategy.glp.best.layers if strategy.glp is not None and strategy.glp.best else (
            strategy.best[0].params["dropped"] if strategy.best else None)
        columns: dict[str, Any] = {"phase": phase, "best_dropped": None if chosen is None else ",".join(map(str, chosen))}
        if phase == "analysis" and outcomes[0].ok:
            columns["matrix_seconds"] = outcomes[0].metrics.get("matrix_seconds")
            columns["states_seconds"] = outcomes[0].metrics.get("states_seconds")
            columns["coarse_seconds"] = strategy.coarse_seconds
        return columns

    def status_fields(self, status: dict[str, Any]) -> dict[str, Any]:
        best = status.get("best_trial")
        return {"best_wer": status.get("best_value"),
                "best_dropped": None if not best else best["params"]["dropped"]}

    def export(self, run: RunDir, config: Any, settings: ComflpSettings, out: Path, *, threads: int | None = None,
               rounds: int | None = None) -> dict[str, Any]:
        from gridprune.methods.comflp.export import export_best

        return export_best(run, config, settings, out, threads=threads, rounds=rounds)
