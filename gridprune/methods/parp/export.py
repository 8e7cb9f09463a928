"""Export of a PARP sweep: each trained model as a dense checkpoint (zeros in place) that plain
transformers reloads, its sparse form (bitmask or CSR) with its measured size, and one report of the sweep."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from gridprune.config import RunConfig
from gridprune.engine import EngineError, artifact_dir
from gridprune.methods.parp.settings import ParpSettings
from gridprune.methods.parp.strategy import UNPRUNED, saved_sweep
from gridprune.store import RunDir

SPARSE_FILE = "sparse.pt"  # gridprune.models.sparse_file: the pruned matrices stored sparse, the rest dense
NO_SPEEDUP = ("unstructured sparsity gives no dense speedup: the pruned model has the dense shapes and "
              "runs the same dense kernels; the gain is storage (the sparse file) only")


def save_sparse_model(model: torch.nn.Module, path: Path, biases: bool = True) -> int:
    """Write the model's state with every prunable weight matrix stored sparse; returns the file's bytes."""
    from gridprune.methods.parp.pruning import prunable_parameters
    from gridprune.models.sparse_file import save_sparse

    return save_sparse(model.state_dict(), {n for n, p in prunable_parameters(model, biases) if p.dim() == 2}, path)


def _slug(label: str) -> str:
    return re.sub(r"[^\w.-]+", "_", label.replace(" s=", "_s"))


def export_sweep(run: RunDir, config: RunConfig, settings: ParpSettings, out: Path, *,
                 threads: int | None = None, rounds: int | None = None) -> dict[str, Any]:
    """Write every evaluated point to out/<label>/ (model/, sparse.pt) and return the sweep's report."""
    from gridprune.data import read_hrl
    from gridprune.methods.parp.pruning import measured_sparsity
    from gridprune.models import load_checkpoint
    from gridprune.models.export import size_report
    from gridprune.models.pruned import save_model
    from gridprune.models.speed import (
        DEFAULT_ROUNDS,
        DEFAULT_THREADS,
        DEFAULT_UTTERANCES,
        compare_speed,
    )

    sweep = saved_sweep(run)
    if sweep is None:
        raise EngineError(f"{run.root}: the sweep has not started; nothing to export")
    unpruned = sweep.scores.get(UNPRUNED) or {}
    before = unpruned.get("metrics", {})
    base = load_checkpoint(config.model)
    out.mkdir(parents=True, exist_ok=True)
    base_sparse = out / f"unpruned_{SPARSE_FILE}"
    dense_sparse_bytes = save_sparse_model(base.model, base_sparse, settings.prune_biases)
    base_sparse.unlink()
    points, most_sparse = [], None
    for row in sweep.points():
        if row["key"] is None or row["wer"] is None:
            continue  # not trained or not evaluated (yet)
        folder = out / _slug(row["label"])
        model = load_checkpoint(artifact_dir(run, row["key"]) / "model").model
        layout = save_model(model, base.processor, folder / "model")
        sparse_bytes = save_sparse_model(model, folder / SPARSE_FILE, settings.prune_biases)
        point = {
            **row, "layout": layout, **measured_sparsity(model, settings.prune_biases),
            **size_report(base.model, base.path, model, folder / "model"),
            "sparse_bytes": sparse_bytes, "sparse_bytes_unpruned": dense_sparse_bytes,
            "wer_before": before.get("wer"), "wer_after": row["wer"],
            "heldout_wer_before": before.get("heldout_wer"), "heldout_wer_after": row["heldout_wer"],
            "folder": folder.name,
        }
        points.append(point)
        if most_sparse is None or (row["sparsity"], row["variant"] == "parp") > most_sparse[0]:
            most_sparse = ((row["sparsity"], row["variant"] == "parp"), model, row["label"])
    if not points:
        raise EngineError(f"{run.root}: no trained model has been evaluated yet; nothing to export")
    report: dict[str, Any] = {"points": points, "wer_before": before.get("wer"),
                              "heldout_wer_before": before.get("heldout_wer"), "no_speedup": NO_SPEEDUP}
    audio = read_hrl(config.data.path, config.data.audio_dir).head(DEFAULT_UTTERANCES).audio()
    speed = compare_speed(base.model, most_sparse[1], base.processor, audio, rounds=rounds or DEFAULT_ROUNDS,
                          threads=threads or DEFAULT_THREADS)
    report.update(speed.report())
    report["speed_model"] = most_sparse[2]
    report["speed_summary"] = f"{most_sparse[2]}: {speed.describe()}"
    report["no_speedup"] = (f"{NO_SPEEDUP} (measured, {most_sparse[2]}: decode {speed.seconds_before:.3f} s "
                            f"dense, {speed.seconds_after:.3f} s pruned, {speed.speedup:.2f}x)")
    headline = next(p for p in points if p["label"] == most_sparse[2])
    report.update({"wer_after": headline["wer_after"], "heldout_wer_after": headline["heldout_wer_after"],
                   "headline": headline["label"]})
    if report["heldout_wer_before"] is None:
        del report["heldout_wer_after"]
    report["summary"] = "\n".join([*(_describe(p) for p in points), report["no_speedup"]])
    return report


def _describe(point: dict[str, Any]) -> str:
    """One line of a point: measured sparsity, non-zero parameters, sizes, WERs."""
    def wer(before: float | None, after: float | None) -> str:
        return "-" if after is None else (f"{after:.4f}" if before is None else f"{before:.4f} -> {after:.4f}")

    return (f"{point['folder']}/: sparsity {point['sparsity_measured']:.4f} of the pruned weights "
            f"(target {point['sparsity']}), {point['nonzero_params_after'] / 1e6:.2f} M of "
            f"{point['params_after'] / 1e6:.2f} M parameters non-zero; sparse file "
            f"{point['sparse_bytes'] / 2**20:.1f} MiB (dense {point['bytes_after'] / 2**20:.1f} MiB); WER search "
            f"{wer(point['wer_before'], point['wer_after'])}, held-out "
            f"{wer(point['heldout_wer_before'], point['heldout_wer_after'])}")
