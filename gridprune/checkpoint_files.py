"""What a checkpoint folder holds, read without torch: its files, its `config.json` and its fingerprint.

Everything here is cheap (no torch, no transformers), so that a command whose
model path or model-dependent setting is wrong answers at once.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridprune.errors import GridpruneError

DEMO_MODEL = Path(__file__).resolve().parent / "demo" / "model"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")
PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")


class CheckpointError(GridpruneError, ValueError):
    """A checkpoint folder cannot be loaded; the message names the path and what is missing."""


@dataclass(frozen=True)
class EncoderShape:
    """The sizes of a wav2vec2 encoder that pruning settings depend on, from `config.json`."""

    layers: int
    ffn_width: int


def resolve_model_path(spec: str | Path) -> Path:
    """`demo` names the shipped demo model; anything else is a folder path."""
    return DEMO_MODEL if str(spec) == "demo" else Path(spec).expanduser()


def read_model_config(path: Path) -> dict[str, Any]:
    """The checked `config.json` of a checkpoint folder; CheckpointError naming what is wrong."""
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint folder")
    if not path.is_dir():
        raise CheckpointError(f"{path}: a checkpoint must be a folder (with config.json and weights)")
    config_file = path / "config.json"
    if not config_file.is_file():
        raise CheckpointError(f"{path}: missing config.json")
    try:
        config = json.loads(config_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{config_file}: unreadable: {exc}") from None
    if not isinstance(config, dict) or config.get("model_type") != "wav2vec2":
        found = config.get("model_type") if isinstance(config, dict) else None
        raise CheckpointError(f"{config_file}: model_type is {found!r}; gridprune needs 'wav2vec2'")
    return config


def check_checkpoint_folder(path: Path) -> None:
    """Raise CheckpointError naming what a checkpoint folder lacks."""
    read_model_config(path)
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        raise CheckpointError(f"{path}: missing model weights (one of {', '.join(WEIGHT_FILES)})")
    if not any((path / name).is_file() for name in PROCESSOR_FILES):
        raise CheckpointError(f"{path}: missing the feature extractor config (one of {', '.join(PROCESSOR_FILES)})")
    if not (path / "vocab.json").is_file() and not (path / "tokenizer.json").is_file():
        raise CheckpointError(f"{path}: missing the tokenizer vocabulary (vocab.json)")
    check_layers_have_weights(path)


_LAYER_WEIGHT = re.compile(r"^(?:wav2vec2\.)?encoder\.layers\.(\d+)\.")


def safetensors_names(file: Path) -> list[str] | None:
    """The tensor names in a safetensors file's header (read without torch); None if it is not one."""
    try:
        with file.open("rb") as stream:
            (size,) = struct.unpack("<Q", stream.read(8))
            if size > 100 * 2**20:
                return None
            header = json.loads(stream.read(size))
    except (OSError, struct.error, ValueError):
        return None
    return [name for name in header if name != "__metadata__"] if isinstance(header, dict) else None


def check_layers_have_weights(path: Path) -> None:
    """CheckpointError if `config.json` names more encoder layers than `model.safetensors` has weights for
    (every worker would fail to load it); other weight files are checked when the model loads."""
    names = safetensors_names(path / "model.safetensors") if (path / "model.safetensors").is_file() else None
    if not names:
        return
    present = {int(match.group(1)) for name in names if (match := _LAYER_WEIGHT.match(name))}
    layers = read_model_config(path).get("num_hidden_layers")
    if present and isinstance(layers, int) and layers > len(present):
        raise CheckpointError(f"{path}: config.json names {layers} encoder layers (num_hidden_layers) but "
                              f"model.safetensors holds weights for {len(present)}")


def encoder_shape(path: Path) -> EncoderShape:
    """Encoder layers and FFN width of the checkpoint at `path`, from its `config.json`."""
    config = read_model_config(path)
    values = {}
    for key in ("num_hidden_layers", "intermediate_size"):
        value = config.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise CheckpointError(f"{path / 'config.json'}: {key} is {value!r}, not a positive integer")
        values[key] = value
    return EncoderShape(layers=values["num_hidden_layers"], ffn_width=values["intermediate_size"])


def checkpoint_fingerprint(path: Path) -> str:
    """A hash of the config and weight files' contents, independent of the folder's location."""
    digest = hashlib.sha256()
    weights = sorted(p for p in path.iterdir() if p.suffix in (".safetensors", ".bin") and p.is_file())
    for file in [path / "config.json", *weights]:
        digest.update(file.name.encode())
        with file.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
