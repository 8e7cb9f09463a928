"""Exporting a physically pruned model, and the sizes its report gives (parameters, non-zero ones, bytes),
with the fields of the report contract's model entries (`gridprune.engine.report`) made from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from gridprune.models.loading import Checkpoint
from gridprune.models.pruned import save_model
from gridprune.models.pruning import FfnPruner, count_parameters
from gridprune.models.speed import SpeedFigures, torch_threads


def save_pruned(checkpoint: Checkpoint, pruned: Mapping[int, Sequence[int]], granularity: int,
                out: Path) -> dict[str, Any]:
    """Write the checkpoint with `pruned` blocks ({layer: [block, ...]}) removed to `out`; returns its layout
    (`gridprune.models.pruned.layout`: plain or not, encoder layers, FFN width of each layer).

    Every layer keeps exactly its own width: a plain checkpoint when all layers
    keep the same, else one whose config.json records each layer's width
    (`gridprune.load_pruned` and `load_checkpoint` build it). The checkpoint's
    model is unpruned again on return.
    """
    pruner = FfnPruner(checkpoint.model, granularity)
    try:
        return save_model(pruner.apply(pruned), checkpoint.processor, Path(out))
    finally:
        pruner.restore()


def weight_bytes(folder: Path) -> int:
    """Bytes of the weight files (*.safetensors, *.bin) in a checkpoint folder."""
    return sum(file.stat().st_size for file in Path(folder).iterdir()
               if file.is_file() and file.suffix in (".safetensors", ".bin"))


def model_sizes(model: nn.Module, folder: Path | None = None) -> dict[str, int | None]:
    """`{"params", "nonzero_params", "bytes"}` of a model; bytes of the weight files in `folder`, None without one."""
    with torch.no_grad():
        nonzero = sum(int(torch.count_nonzero(p)) for p in model.parameters())
    return {"params": count_parameters(model), "nonzero_params": nonzero,
            "bytes": weight_bytes(folder) if folder is not None else None}


def size_report(before: nn.Module, before_folder: Path, after: nn.Module, after_folder: Path) -> dict[str, Any]:
    """The report's size keys: params, nonzero_params and bytes (weight files on disk), each `_before` and
    `_after`, with `params_kept` and `bytes_kept` (after / before)."""
    report: dict[str, Any] = {}
    for when, model, folder in (("before", before, before_folder), ("after", after, after_folder)):
        for key, value in model_sizes(model, folder).items():
            report[f"{key}_{when}"] = value
    report["params_kept"] = report["params_after"] / report["params_before"]
    report["bytes_kept"] = report["bytes_after"] / report["bytes_before"]
    return report


def contract_fields(figures: Mapping[str, Any], when: str) -> dict[str, Any]:
    """A model's size and WER fields of the report contract, from the `<key>_<when>` keys of `size_report` and
    `measure_wers` in `figures` (`when`: "before" for the baseline, "after" for a pruned model)."""
    return {"params": figures[f"params_{when}"], "nonzero_params": figures[f"nonzero_params_{when}"],
            "bytes": figures[f"bytes_{when}"], "wer_search": figures.get(f"wer_{when}"),
            "wer_heldout": figures.get(f"heldout_wer_{when}")}


def speed_fields(speed: SpeedFigures) -> tuple[dict[str, Any], dict[str, Any]]:
    """The contract's speed fields of the baseline and of the model timed against it."""
    return ({"decode_seconds": speed.seconds_before},
            {"decode_seconds": speed.seconds_after, "speedup": speed.speedup, "speedup_min": speed.speedup_min,
             "speedup_max": speed.speedup_max, "predicted_speedup": speed.predicted_speedup,
             "speed_uncertain": speed.uncertain})


def pair_fields(report: Mapping[str, Any], speed: SpeedFigures) -> tuple[dict[str, Any], dict[str, Any]]:
    """The contract fields of the baseline and of the pruned model of a one-model export, from its report's
    `_before`/`_after` keys and its timing."""
    before, after = speed_fields(speed)
    return {**contract_fields(report, "before"), **before}, {**contract_fields(report, "after"), **after}


def summary(pruned: Mapping[int, Sequence[int]], granularity: int, layers: int, params_before: int,
            params_after: int) -> dict:
    """What an export kept and removed, as report keys and one sentence (`summary`), e.g.
    "kept 71.3% of parameters (2,607,840 of 3,658,464); removed 50% of FFN rows in 4 of 4 layers"."""
    shares = {layer: len(blocks) / granularity for layer, blocks in pruned.items() if blocks}
    removed = sum(shares.values()) / layers  # of all FFN rows, every layer the same width
    kept = params_after / params_before
    text = f"kept {kept:.1%} of parameters ({params_after:,} of {params_before:,}); "
    if not shares:
        text += "removed no FFN rows"
    else:
        low, high = min(shares.values()), max(shares.values())
        share = _percent(low) if low == high else f"{_percent(low)}-{_percent(high)}"
        text += f"removed {share} of FFN rows in {len(shares)} of {layers} layers"
        if low != high or len(shares) != layers:
            text += f" ({_percent(removed)} of all FFN rows)"
    return {
        "params_kept": kept,
        "ffn_rows_removed": removed,
        "ffn_rows_removed_per_layer": {str(layer): share for layer, share in sorted(shares.items())},
        "pruned_layers": len(shares),
        "encoder_layers": layers,
        "summary": text,
    }


def _percent(share: float) -> str:
    """50%, 62.5%, 33.3%: at most one decimal, none when it is whole."""
    text = f"{share * 100:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + "%"


def measure_wers(before, after, processor, sets: dict[str, Any], threads: int) -> dict[str, float]:
    """`<prefix>wer_before` / `_after` for each (prefix -> dataset) of `sets`: one decode of each set
    with each model on `threads` threads (fixed, as for the timing: an export takes the same share of
    a node each time)."""
    from gridprune.models.evaluator import decode_dataset
    from gridprune.progress_bar import ProgressBar

    figures = {}
    with torch_threads(threads):
        with ProgressBar(2 * len(sets), "export: WER before and after", unit="decode") as progress:
            for prefix, dataset in sets.items():
                for when, model in (("before", before), ("after", after)):
                    figures[f"{prefix}wer_{when}"] = decode_dataset(model, processor, dataset).result.wer
                    progress.step(f"{'held-out' if prefix else 'search'} set, {when}")
    return figures
