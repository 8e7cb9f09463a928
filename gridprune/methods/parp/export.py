"""Export of a PARP sweep: each trained model as a dense checkpoint (zeros in place) that plain
transformers reloads, its sparse form (bitmask or CSR) with its measured size, and one report of the sweep:
in the report contract, one model per point (`<point>/model`), the most sparse point (the one timed) its headline."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from gridprune.engine import BASELINE_LABEL, EngineError, artifact_dir, model_entry
from gridprune.methods.parp.settings import ParpSettings
from gridprune.methods.parp.strategy import ParpSweep, headline
from gridprune.methods.sweep import UNPRUNED
from gridprune.store import RunDir

SPARSE_FILE = "sparse.pt"  # gridprune.models.sparse_file: the pruned matrices stored sparse, the rest dense
MODEL_FOLDER = "model"  # of each point's folder: the dense checkpoint
NO_SPEEDUP = ("unstructured sparsity gives no dense speedup: the pruned model has the dense shapes and "
              "runs the same dense kernels; the gain is storage (the sparse file) only")


def save_sparse_model(model: torch.nn.Module, path: Path, biases: bool = True) -> int:
    """Write the model's state with every prunable weight matrix stored sparse; returns the file's bytes."""
    from gridprune.methods.parp.pruning import prunable_parameters
    from gridprune.models.sparse_file import save_sparse

    return save_sparse(model.state_dict(), {n for n, p in prunable_parameters(model, biases) if p.dim() == 2}, path)


def _slug(label: str) -> str:
    return re.sub(r"[^\w.-]+", "_", label.replace(" s=", "_s"))


def export_sweep(sweep: ParpSweep | None, run: RunDir, config: Any, settings: ParpSettings, out: Path, *,
                 threads: int | None = None, rounds: int | None = None) -> dict[str, Any]:
    """Write every evaluated point of `sweep` (as `run` saved it) to out/<label>/ (model/, sparse.pt) and return
    the sweep's report."""
    from gridprune.data import read_hrl
    from gridprune.methods.parp.pruning import measured_sparsity
    from gridprune.models import load_checkpoint
    from gridprune.models.loading import load_pruned
    from gridprune.models.export import contract_fields, size_report, speed_fields
    from gridprune.models.pruned import save_model
    from gridprune.models.speed import (
        DEFAULT_ROUNDS,
        DEFAULT_THREADS,
        DEFAULT_UTTERANCES,
        compare_speed,
    )

    if sweep is None:
        raise EngineError(f"{run.root}: the sweep has not started; nothing to export")
    unpruned = sweep.scores.get(UNPRUNED) or {}
    before = unpruned.get("metrics", {})
    base = load_checkpoint(config.model)
    out.mkdir(parents=True, exist_ok=True)
    base_sparse = out / f"unpruned_{SPARSE_FILE}"
    dense_sparse_bytes = save_sparse_model(base.model, base_sparse, settings.prune_biases)
    base_sparse.unlink()
    points, models = [], {}
    for row in sweep.points():
        if row["key"] is None or row["wer"] is None:
            continue  # not trained or not evaluated (yet)
        folder = out / _slug(row["label"])
        model = load_pruned(artifact_dir(run, row["key"]) / "model")
        layout = save_model(model, base.processor, folder / MODEL_FOLDER)
        sparse_bytes = save_sparse_model(model, folder / SPARSE_FILE, settings.prune_biases)
        point = {
            **row, "layout": layout, **measured_sparsity(model, settings.prune_biases),
            **size_report(base.model, base.path, model, folder / MODEL_FOLDER),
            "sparse_bytes": sparse_bytes, "sparse_bytes_unpruned": dense_sparse_bytes,
            "wer_before": before.get("wer"), "wer_after": row["wer"],
            "heldout_wer_before": before.get("heldout_wer"), "heldout_wer_after": row["heldout_wer"],
            "folder": folder.name,
        }
        points.append(point)
        models[row["label"]] = model
    if not points:
        raise EngineError(f"{run.root}: no trained model has been evaluated yet; nothing to export")
    main = headline(points)
    report: dict[str, Any] = {"method": "parp", "points": points, "wer_before": before.get("wer"),
                              "heldout_wer_before": before.get("heldout_wer"), "no_speedup": NO_SPEEDUP}
    audio = read_hrl(config.data.path, config.data.audio_dir).head(DEFAULT_UTTERANCES).audio()
    speed = compare_speed(base.model, models[main], base.processor, audio, rounds=rounds or DEFAULT_ROUNDS,
                          threads=threads or DEFAULT_THREADS)
    report.update(speed.report())
    report["speed_model"] = main
    report["speed_summary"] = f"{main}: {speed.describe()}"
    report["no_speedup"] = (f"{NO_SPEEDUP} (measured, {main}: decode {speed.seconds_before:.3f} s "
                            f"dense, {speed.seconds_after:.3f} s pruned, {speed.speedup:.2f}x)")
    timed = next(p for p in points if p["label"] == main)
    report.update({"wer_after": timed["wer_after"], "heldout_wer_after": timed["heldout_wer_after"],
                   "headline": main})
    if report["heldout_wer_before"] is None:
        del report["heldout_wer_after"]
    base_speed, timed_speed = speed_fields(speed)
    report["models"] = [model_entry(f"{p['folder']}/{MODEL_FOLDER}", p["label"], **contract_fields(p, "after"),
                                    sparse_bytes=p["sparse_bytes"], **(timed_speed if p is timed else {}))
                        for p in points]
    report["baseline"] = model_entry(config.model, BASELINE_LABEL, **contract_fields(timed, "before"),
                                     sparse_bytes=dense_sparse_bytes, **base_speed)
    report["summary"] = "\n".join([
        f"a sweep of {len(points)} points, each a model in <point>/{MODEL_FOLDER} (dense, the pruned weights zero) "
        f"with its sparse form in <point>/{SPARSE_FILE}",
        f"headline: {main}, the most sparse point (the one timed)", NO_SPEEDUP])
    return report
