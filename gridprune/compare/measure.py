"""Measuring every exported model of a compare, and the unpruned one, together: sizes on disk and parameters, WER
on the search and held-out sets (one decode each, on the same thread count), and speed timed in turns, utterance
by utterance, so that every speedup is taken against the unpruned model at nearly the same moment
(`gridprune.models.speed.time_models`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from gridprune.compare.config import MeasureSettings
from gridprune.compare.directory import path_under
from gridprune.engine import BASELINE_LABEL, model_entry
from gridprune.errors import GridpruneError


@dataclass(frozen=True)
class ExportSource:
    """An entry's export: its label, method, folder and report.json."""

    label: str
    method: str
    folder: Path
    report: Mapping[str, Any]

    def models(self) -> list[tuple[str, Mapping[str, Any]]]:
        """(row name, report entry) of each model of the export; the entry's label alone for a one-model export."""
        models = self.report["models"]
        return [(self.label if len(models) == 1 else f"{self.label}: {model['label']}", model) for model in models]


def measure_exports(sources: Sequence[ExportSource], config: Any, settings: MeasureSettings,
                    relative_to: Path) -> dict[str, Any]:
    """{"baseline": row, "models": [row, ...], "measure": how it was measured}: one row per model of `sources`,
    in the report contract's fields (`folder` relative to `relative_to` where it lies inside it), with
    `entry`, `method`, `headline` and `flops` beside them. `config` is an entry's run config: its model is the
    unpruned one, its sets the ones scored."""
    from gridprune.data import read_hrl
    from gridprune.models import load_checkpoint
    from gridprune.models.evaluator import decode_dataset
    from gridprune.models.export import model_sizes
    from gridprune.models.loading import load_pruned
    from gridprune.models.speed import (
        DEFAULT_ROUNDS,
        DEFAULT_THREADS,
        DEFAULT_UTTERANCES,
        load_average,
        time_models,
        torch_threads,
    )
    from gridprune.progress_bar import ProgressBar

    threads = settings.threads or DEFAULT_THREADS
    rounds = settings.rounds or DEFAULT_ROUNDS
    utterances = settings.utterances or DEFAULT_UTTERANCES
    base = load_checkpoint(config.model)
    sets = {"wer_search": read_hrl(config.data.path, config.data.audio_dir)}
    if config.heldout:
        sets["wer_heldout"] = read_hrl(config.heldout.path, config.heldout.audio_dir)
    models: dict[str, Any] = {BASELINE_LABEL: base.model}  # by row name, the baseline first
    rows: dict[str, dict[str, Any]] = {BASELINE_LABEL: {"folder": config.model, "entry": None, "method": None,
                                                        "headline": False, "sparse_bytes": None}}
    for source in sources:
        for name, model in source.models():
            if name in rows:
                raise GridpruneError(f"two models of the compare are named {name!r}; give its entries labels that "
                                     "tell them apart")
            folder = (source.folder / model["folder"]).resolve()
            models[name] = load_pruned(folder)
            rows[name] = {"folder": path_under(folder, relative_to), "entry": source.label, "method": source.method,
                          "headline": model["label"] == source.report["headline"],
                          "sparse_bytes": model.get("sparse_bytes")}
    with torch_threads(threads):
        with ProgressBar(len(models) * len(sets), f"compare: WER of {len(models)} models", unit="decode") as progress:
            for name, model in models.items():
                for key, dataset in sets.items():
                    rows[name][key] = decode_dataset(model, base.processor, dataset).result.wer
                    progress.step(name)
    audio = sets["wer_search"].head(utterances).audio()
    timings = time_models(models, BASELINE_LABEL, base.processor, audio, rounds, threads,
                          what=f"compare: timing {len(models)} models in turns")
    base_flops = timings[BASELINE_LABEL].flops
    table = []
    for name, model in models.items():
        timing, row = timings[name], rows[name]
        folder = base.path if name == BASELINE_LABEL else _absolute(Path(row["folder"]), relative_to)
        entry = model_entry(row["folder"], name, **model_sizes(model, folder),
                            sparse_bytes=row["sparse_bytes"], wer_search=row["wer_search"],
                            wer_heldout=row.get("wer_heldout"), decode_seconds=timing.seconds,
                            speedup=timing.speedup, speedup_min=timing.speedup_min, speedup_max=timing.speedup_max,
                            predicted_speedup=base_flops / timing.flops, speed_uncertain=timing.uncertain)
        table.append({**entry, "entry": row["entry"], "method": row["method"], "headline": row["headline"],
                      "flops": timing.flops})
    here = Path.cwd()
    measured = {"threads": threads, "rounds": rounds, "utterances": len(audio), "load_average": load_average(),
                "search_set": path_under(Path(config.data.path), here),
                "heldout_set": path_under(Path(config.heldout.path), here) if config.heldout else None}
    return {"baseline": table[0], "models": table[1:], "measure": measured}


def _absolute(folder: Path, root: Path) -> Path:
    return folder if folder.is_absolute() else root / folder

