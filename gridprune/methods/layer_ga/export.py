"""Export of the per-layer mask GA: the final model (fine-tuned with every mask held), in the report contract.

- `unit: weight`: the masked dense model (zeros where pruned) and beside it `sparse.pt`, the masked tensors in
  their compact form (`gridprune.models.sparse_file`); smaller on disk, no faster.
- `unit: neuron`: the model with its pruned FFN neurons and attention dimensions physically removed (a head
  keeps as many q/k and v dimensions as the layer's fullest head: the extra ones are zero), loadable by
  `gridprune.load_pruned`; faster.
The report adds each target's sparsity and the overall one, the errors before and after, and, for wav2vec2,
the decode speed measured against the unpruned model with the FLOP prediction.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gridprune.engine import EngineError, artifact_dir, single_model_report
from gridprune.store import RunDir

if TYPE_CHECKING:
    from gridprune.methods.layer_ga.strategy import LayerGaStrategy

SPARSE_FILE = "sparse.pt"


def neuron_keep_lists(model: Any, masks: dict[str, np.ndarray]) -> tuple[list, list, list]:
    """(ffn_keep per layer, qk_keep per layer per head, v_keep per layer per head) of `unit: neuron` masks, each
    head padded with its pruned (zero) dimensions to the layer's fullest head."""
    from gridprune.methods.layer_ga.targets import ENCODER_LAYER, neuron_groups
    from gridprune.models.heads import head_dims

    ffn_keep, qk_keep, v_keep = [], [], []
    for index, layer in enumerate(model.wav2vec2.encoder.layers):
        counts = neuron_groups(layer)
        keep = masks.get(ENCODER_LAYER.format(index), np.ones(sum(counts.values()), dtype=bool))
        ffn, qk, v = np.split(keep, np.cumsum(list(counts.values()))[:-1])
        ffn_keep.append(np.flatnonzero(ffn).tolist())
        heads = layer.attention.num_heads
        qk_dim, v_dim = head_dims(layer.attention)
        qk_keep.append(_padded(qk.reshape(heads, qk_dim)))
        v_keep.append(_padded(v.reshape(heads, v_dim), least=0))
    return ffn_keep, qk_keep, v_keep


def _padded(kept: np.ndarray, least: int = 1) -> list[list[int]]:
    """Per head (a row of `kept`), its kept dimensions plus its first pruned ones, up to the fullest head's count
    (at least `least`: a head keeps one q/k dimension)."""
    width = max(least, int(kept.sum(axis=1).max()))
    heads = []
    for row in kept:
        chosen = list(np.flatnonzero(row)) + list(np.flatnonzero(~row))
        heads.append(sorted(int(i) for i in chosen[:width]))
    return heads


def export_final(strategy: LayerGaStrategy, run: RunDir, config: Any, settings: Any, out: Path, *, threads: int | None = None,
                 rounds: int | None = None) -> dict[str, Any]:
    """Write the final model to `out`; its report."""
    from gridprune.training.kind import MODEL_DIR

    if strategy.final is None:
        raise EngineError(f"{run.root}: the final model has not been trained and evaluated yet (stage: "
                          f"{strategy.summary()['stage']}); nothing to export")
    masks = strategy.chosen_masks()
    folder = artifact_dir(run, strategy.weights) / MODEL_DIR
    out.mkdir(parents=True, exist_ok=True)
    rows = strategy.summary()["targets"]
    report: dict[str, Any] = {"method": "layer_ga", "unit": settings.unit, "operators": settings.operators,
                              "masks": strategy.masks, "mode": strategy.mode, "targets": rows,
                              "repair_rounds": strategy.repairs}
    if isinstance(config.model, str):
        report.update(_export_wav2vec2(folder, masks, config, settings, out, threads, rounds))
    else:
        report.update(_export_factory(strategy, folder, masks, config, settings, out))
    report["sparsity"] = sum(int((~m).sum()) for m in masks.values()) / sum(strategy.genes.values())
    label = report["models"][0]["label"]
    report["summary"] = "\n".join([
        f"{settings.unit} masks of {len(masks)} of {len(rows)} targets ({strategy.mode}, {settings.operators}'s "
        f"operators, {strategy.masks} masks): {report['sparsity']:.1%} of their genes pruned",
        f"headline: {label}, {report['models'][0]['nonzero_params']:,} non-zero of "
        f"{report['baseline']['nonzero_params']:,} parameters"])
    return report


def _export_wav2vec2(folder: Path, masks: dict[str, np.ndarray], config: Any, settings: Any, out: Path,
                     threads: int | None, rounds: int | None) -> dict[str, Any]:
    from gridprune.methods.one_model import measure_one_model
    from gridprune.models import load_checkpoint
    from gridprune.models.loading import load_pruned
    from gridprune.models.pruned import save_model
    from gridprune.models.sparse_file import save_sparse
    from gridprune.models.structured import remove_structured

    checkpoint = load_checkpoint(config.model)
    model = load_pruned(folder)
    if settings.unit == "neuron":
        model = remove_structured(model, *neuron_keep_lists(model, masks))
    save_model(model, checkpoint.processor, out)
    sparse_bytes = save_sparse(model.state_dict(), set(masks), out / SPARSE_FILE) if settings.unit == "weight" else None
    label = f"layer_ga {settings.unit}"
    report = measure_one_model(checkpoint, model, out, config, label, threads=threads, rounds=rounds)
    report["models"][0]["sparse_bytes"] = sparse_bytes
    return report


def _export_factory(strategy: LayerGaStrategy, folder: Path, masks: dict[str, np.ndarray], config: Any, settings: Any,
                    out: Path) -> dict[str, Any]:
    from gridprune.adapters import FactoryAdapter
    from gridprune.adapters.factory import WEIGHTS_FILE
    from gridprune.models.export import model_sizes
    from gridprune.models.sparse_file import save_sparse

    adapter = FactoryAdapter(config.model)
    base, model = adapter.instance(), adapter.load_saved(folder)
    adapter.save(model, out)
    sparse_bytes = save_sparse(model.state_dict(), set(masks), out / SPARSE_FILE)
    base_sizes, sizes = model_sizes(base), model_sizes(model)
    before, after = strategy.baseline or {}, strategy.final["metrics"]
    fields = {"params": sizes["params"], "nonzero_params": sizes["nonzero_params"],
              "bytes": (out / WEIGHTS_FILE).stat().st_size, "sparse_bytes": sparse_bytes,
              "wer_search": after.get("wer"), "wer_heldout": after.get("heldout_wer")}
    baseline = {"params": base_sizes["params"], "nonzero_params": base_sizes["nonzero_params"],
                "bytes": fields["bytes"], "wer_search": before.get("wer"), "wer_heldout": before.get("heldout_wer")}
    report = single_model_report("layer_ga weight", fields, None, baseline)
    report.update(score_before=before.get("score"), score_after=after.get("score"),
                  heldout_score_before=before.get("heldout_score"), heldout_score_after=after.get("heldout_score"),
                  error_is="1 - score" if config.model.higher_is_better else "score")
    return report
