"""Load a local Hugging Face Wav2Vec2ForCTC checkpoint and its processor, offline."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from transformers import Wav2Vec2ForCTC, Wav2Vec2Processor
from transformers.utils import logging as transformers_logging

from gridprune.errors import GridpruneError

# No model is ever fetched from a hub: a checkpoint is a folder on disk.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers_logging.disable_progress_bar()

DEMO_MODEL = Path(__file__).resolve().parent.parent / "demo" / "model"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")
PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")


class CheckpointError(GridpruneError, ValueError):
    """A checkpoint folder cannot be loaded; the message names the path and what is missing."""


@dataclass
class Checkpoint:
    """A loaded model in eval mode with its processor."""

    path: Path
    model: Wav2Vec2ForCTC
    processor: Wav2Vec2Processor
    fingerprint: str


def resolve_model_path(spec: str | Path) -> Path:
    """`demo` names the shipped demo model; anything else is a folder path."""
    return DEMO_MODEL if str(spec) == "demo" else Path(spec).expanduser()


def load_checkpoint(spec: str | Path) -> Checkpoint:
    """Load `spec` (a checkpoint folder, or `demo`) for CPU inference."""
    path = resolve_model_path(spec)
    check_checkpoint_folder(path)
    try:
        model = Wav2Vec2ForCTC.from_pretrained(path, local_files_only=True)
    except Exception as exc:  # torch, safetensors and transformers each raise their own kinds
        raise CheckpointError(f"{path}: cannot load the model: {exc}") from None
    try:
        processor = Wav2Vec2Processor.from_pretrained(path, local_files_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot load the processor (feature extractor + tokenizer): {exc}") from None
    model.float().eval()
    return Checkpoint(path=path, model=model, processor=processor, fingerprint=checkpoint_fingerprint(path))


def check_checkpoint_folder(path: Path) -> None:
    """Raise CheckpointError naming what a checkpoint folder lacks."""
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
    if config.get("model_type") != "wav2vec2":
        raise CheckpointError(f"{config_file}: model_type is {config.get('model_type')!r}; gridprune needs 'wav2vec2'")
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        raise CheckpointError(f"{path}: missing model weights (one of {', '.join(WEIGHT_FILES)})")
    if not any((path / name).is_file() for name in PROCESSOR_FILES):
        raise CheckpointError(f"{path}: missing the feature extractor config (one of {', '.join(PROCESSOR_FILES)})")
    if not (path / "vocab.json").is_file() and not (path / "tokenizer.json").is_file():
        raise CheckpointError(f"{path}: missing the tokenizer vocabulary (vocab.json)")


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
