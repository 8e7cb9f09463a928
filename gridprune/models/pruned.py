"""Pruned models whose encoder layers differ in size: writing them without padding, and building them back.

transformers' `Wav2Vec2Config` has one `intermediate_size` for every layer and
one head width. A model whose layers keep the same FFN width (or that only lost
whole layers) and whole attentions is written as a plain checkpoint. Any other
gets a `gridprune` record in its `config.json`, one entry per encoder layer:

    "gridprune": {"format": 1, "layers": [{"intermediate_size": 768}, {"intermediate_size": 0,
        "attention": {"heads": 4, "qk_head_dim": 40, "v_head_dim": 48, "scaling": 0.125}}, ...]}

and the weights in exactly those shapes. A width of 0 is a layer whose FFN lost
every neuron (it adds its output bias). `attention` is a layer whose heads kept
fewer query/key or value dimensions (`gridprune.models.heads.PrunedAttention`,
with the original scaling). The top-level `intermediate_size` is the widest
layer's, so plain `from_pretrained` refuses such a folder with a size mismatch
instead of loading it wrongly; `gridprune.models.loading.load_pruned` builds it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

from gridprune.checkpoint_files import CheckpointError
from gridprune.models.heads import PrunedAttention, attention_outputs
from gridprune.models.pruning import quiet_empty_init

RECORD_KEY = "gridprune"
RECORD_FORMAT = 1
LAYER_KEYS = {"intermediate_size", "attention"}
ATTENTION_KEYS = ("heads", "qk_head_dim", "v_head_dim", "scaling")


def ffn_widths(model: Wav2Vec2ForCTC) -> list[int]:
    """The FFN width of each encoder layer as the model is now."""
    widths = []
    for index, layer in enumerate(model.wav2vec2.encoder.layers):
        intermediate, output = layer.feed_forward.intermediate_dense, layer.feed_forward.output_dense
        if intermediate.out_features != output.in_features:
            raise ValueError(f"encoder layer {index}: intermediate_dense has {intermediate.out_features} rows "
                             f"but output_dense {output.in_features} columns")
        widths.append(int(intermediate.out_features))
    return widths


def attention_shapes(model: Wav2Vec2ForCTC) -> list[dict[str, Any] | None]:
    """Each encoder layer's pruned attention sizes (`PrunedAttention.shape`), None where the attention is whole."""
    return [layer.attention.shape() if isinstance(layer.attention, PrunedAttention) else None
            for layer in model.wav2vec2.encoder.layers]


def layout(model: Wav2Vec2ForCTC) -> dict[str, Any]:
    """`{"plain": bool, "encoder_layers": n, "ffn_widths": [...]}`: how `save_model` writes `model`, with
    `attention` (per layer, its pruned attention's sizes or None) where an attention is pruned."""
    widths, attention = ffn_widths(model), attention_shapes(model)
    plain = len(set(widths)) <= 1 and min(widths, default=1) > 0 and not any(attention)
    shape = {"plain": plain, "encoder_layers": len(widths), "ffn_widths": widths}
    return {**shape, "attention": attention} if any(attention) else shape


def _layer_entry(width: int, attention: dict[str, Any] | None) -> dict[str, Any]:
    return {"intermediate_size": width} if attention is None else {"intermediate_size": width, "attention": attention}


def save_model(model: Wav2Vec2ForCTC, processor, out: Path) -> dict[str, Any]:
    """Write `model` (any per-layer FFN widths, any number of layers) and `processor` to `out`; returns `layout`.

    The weights keep their in-memory shapes; a plain checkpoint when every layer
    has the same width, else one with the `gridprune` record. `model.config` is
    left as it was.
    """
    shape = layout(model)
    widths = shape["ffn_widths"]
    config = model.config
    saved = {key: getattr(config, key) for key in ("num_hidden_layers", "intermediate_size")}
    had_record, old_record = hasattr(config, RECORD_KEY), getattr(config, RECORD_KEY, None)
    config.num_hidden_layers = len(widths)
    config.intermediate_size = max(widths)
    if shape["plain"]:
        if had_record:
            delattr(config, RECORD_KEY)
    else:
        setattr(config, RECORD_KEY, {"format": RECORD_FORMAT, "layers": [
            _layer_entry(width, attention) for width, attention in zip(widths, attention_shapes(model))]})
    try:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out, safe_serialization=True)
    finally:
        for key, value in saved.items():
            setattr(config, key, value)
        if had_record:
            setattr(config, RECORD_KEY, old_record)
        elif hasattr(config, RECORD_KEY):
            delattr(config, RECORD_KEY)
    if processor is not None:
        processor.save_pretrained(out)
    return shape


def read_record(config: dict[str, Any], path: Path) -> list[dict[str, Any]] | None:
    """The per-layer sizes a `config.json` records, checked; None for a plain checkpoint."""
    record = config.get(RECORD_KEY)
    if record is None:
        return None
    where = f"{path / 'config.json'}: {RECORD_KEY}"
    if not isinstance(record, dict):
        raise CheckpointError(f"{where} must be a mapping, not {type(record).__name__}")
    if record.get("format") != RECORD_FORMAT:
        raise CheckpointError(f"{where}.format is {record.get('format')!r}; this gridprune reads format {RECORD_FORMAT}")
    layers = record.get("layers")
    count = config.get("num_hidden_layers")
    if not isinstance(layers, list) or len(layers) != count:
        found = len(layers) if isinstance(layers, list) else repr(layers)
        raise CheckpointError(f"{where}.layers must list one entry per encoder layer ({count}), found {found}")
    checked = []
    for index, entry in enumerate(layers):
        key = f"{where}.layers[{index}]"
        if not isinstance(entry, dict):
            raise CheckpointError(f"{key} must be a mapping, not {type(entry).__name__}")
        unknown = sorted(entry.keys() - LAYER_KEYS)
        if unknown:
            raise CheckpointError(f"{key}: unknown key {unknown[0]!r} (known: {', '.join(sorted(LAYER_KEYS))})")
        width = entry.get("intermediate_size")
        if not _count(width, 0):
            raise CheckpointError(f"{key}.intermediate_size is {width!r}, not an integer >= 0")
        checked.append(_layer_entry(width, _read_attention(entry.get("attention"), f"{key}.attention")))
    return checked


def _count(value: Any, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _read_attention(entry: Any, key: str) -> dict[str, Any] | None:
    """A layer's recorded attention sizes, checked (None: the attention is whole)."""
    if entry is None:
        return None
    if not isinstance(entry, dict) or set(entry) != set(ATTENTION_KEYS):
        raise CheckpointError(f"{key} must be a mapping of exactly {', '.join(ATTENTION_KEYS)}, not {entry!r}")
    for name, least in (("heads", 1), ("qk_head_dim", 1), ("v_head_dim", 0)):
        if not _count(entry[name], least):
            raise CheckpointError(f"{key}.{name} is {entry[name]!r}, not an integer >= {least}")
    if not isinstance(entry["scaling"], (int, float)) or isinstance(entry["scaling"], bool) or entry["scaling"] <= 0:
        raise CheckpointError(f"{key}.scaling is {entry['scaling']!r}, not a positive number")
    return dict(entry)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor in the checkpoint's weight files (single or sharded, safetensors or torch)."""
    from safetensors.torch import load_file

    def load(file: Path) -> dict[str, torch.Tensor]:
        if file.suffix == ".safetensors":
            return load_file(str(file))
        return torch.load(file, map_location="cpu", weights_only=True)

    for single in ("model.safetensors", "pytorch_model.bin"):
        if (path / single).is_file():
            return load(path / single)
    for index in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        if (path / index).is_file():
            files = sorted(set(json.loads((path / index).read_text())["weight_map"].values()))
            tensors: dict[str, torch.Tensor] = {}
            for name in files:
                tensors.update(load(path / name))
            return tensors
    raise CheckpointError(f"{path}: missing model weights (model.safetensors or pytorch_model.bin)")


def build_recorded(path: Path, config: dict[str, Any], layers: list[dict[str, Any]]) -> tuple[Wav2Vec2ForCTC, dict]:
    """A Wav2Vec2ForCTC with each layer's recorded sizes and the folder's weights, and a loading info
    dict as `from_pretrained(output_loading_info=True)` gives (missing, unexpected, mismatched keys).

    The model is built on the meta device, so no weight is initialised only to
    be overwritten; weights the folder lacks are left as zeros (and listed).
    """
    settings = {key: value for key, value in config.items() if key != RECORD_KEY}
    with torch.device("meta"), quiet_empty_init():
        model = Wav2Vec2ForCTC(Wav2Vec2Config.from_dict(settings))
        for layer, entry in zip(model.wav2vec2.encoder.layers, layers):
            width, hidden = entry["intermediate_size"], model.config.hidden_size
            feed_forward = layer.feed_forward
            feed_forward.intermediate_dense = nn.Linear(hidden, width, bias=feed_forward.intermediate_dense.bias is not None)
            feed_forward.output_dense = nn.Linear(width, hidden, bias=feed_forward.output_dense.bias is not None)
            if "attention" in entry:
                layer.attention = _recorded_attention(layer.attention, hidden, entry["attention"])
    try:
        weights = _weights(path)
    except (OSError, RuntimeError, ValueError, KeyError) as exc:  # safetensors, torch and json each raise their own
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"{path}: cannot read the weights: {exc}") from None
    expected = model.state_dict()
    mismatched = [(key, tuple(weights[key].shape), tuple(value.shape)) for key, value in expected.items()
                  if key in weights and tuple(weights[key].shape) != tuple(value.shape)]
    unexpected = sorted(weights.keys() - expected.keys())
    missing = sorted(expected.keys() - weights.keys())
    usable = {key: value for key, value in weights.items()
              if key in expected and tuple(value.shape) == tuple(expected[key].shape)}
    model.load_state_dict(usable, strict=False, assign=True)
    _materialise(model, path)
    info = {"missing_keys": missing, "unexpected_keys": unexpected, "mismatched_keys": mismatched}
    return model, info


def _recorded_attention(whole: nn.Module, hidden: int, sizes: dict[str, Any]) -> nn.Module:
    """The empty `PrunedAttention` a layer's record describes (built where `whole` is: on the meta device)."""
    return PrunedAttention(hidden, sizes["heads"], sizes["qk_head_dim"], sizes["v_head_dim"], sizes["scaling"],
                           bias=whole.q_proj.bias is not None, dropout=float(whole.dropout),
                           outputs=attention_outputs(whole, hidden))


def _materialise(model: nn.Module, path: Path) -> None:
    """Replace the weights the folder lacked (still on the meta device) by zeros; `check_loading_info`
    then refuses the model unless inference never reads them."""
    for module_name, module in model.named_modules():
        for name, param in list(module.named_parameters(recurse=False)):
            if param.is_meta:
                setattr(module, name, nn.Parameter(torch.zeros(param.shape, dtype=param.dtype),
                                                   requires_grad=param.requires_grad))
        for name, buffer in list(module.named_buffers(recurse=False)):
            if buffer is None or not buffer.is_meta:
                continue
            if name in module._non_persistent_buffers_set:  # computed in __init__, not stored: zeros would be wrong
                raise CheckpointError(f"{path}: cannot build {module_name}.{name} from the per-layer sizes record")
            module.register_buffer(name, torch.zeros(buffer.shape, dtype=buffer.dtype))

