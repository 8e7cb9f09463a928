"""Load a local Hugging Face Wav2Vec2ForCTC checkpoint and its processor, offline."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from transformers import Wav2Vec2ForCTC, Wav2Vec2Processor
from transformers.utils import logging as transformers_logging

from gridprune.checkpoint_files import (  # the torch-free half of loading
    CheckpointError,
    check_checkpoint_folder,
    checkpoint_fingerprint,
    read_model_config,
    resolve_model_path,
)
from gridprune.models.pruned import build_recorded, read_record

# No model is ever fetched from a hub: a checkpoint is a folder on disk.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers_logging.disable_progress_bar()

# Parameters the model has that inference never reads: SpecAugment's mask embedding is used in training only.
UNUSED_IN_INFERENCE = {"wav2vec2.masked_spec_embed"}

log = logging.getLogger(__name__)


@dataclass
class Checkpoint:
    """A loaded model in eval mode with its processor."""

    path: Path
    model: Wav2Vec2ForCTC
    processor: Wav2Vec2Processor
    fingerprint: str


def load_checkpoint(spec: str | Path) -> Checkpoint:
    """Load `spec` (a checkpoint folder, or `demo`) for CPU inference; exported folders whose layers
    differ in size (a `gridprune` record in config.json) included."""
    path = resolve_model_path(spec)
    check_checkpoint_folder(path)
    model = load_model(path)
    try:
        processor = Wav2Vec2Processor.from_pretrained(path, local_files_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot load the processor (feature extractor + tokenizer): {exc}") from None
    check_vocabulary(path, model, processor)
    return Checkpoint(path=path, model=model, processor=processor, fingerprint=checkpoint_fingerprint(path))


def load_pruned(path: str | Path) -> Wav2Vec2ForCTC:
    """The exported model at `path` (plain or with per-layer sizes), in eval mode on the CPU, float32."""
    return load_model(resolve_model_path(path))


def load_model(path: Path) -> Wav2Vec2ForCTC:
    """The checked model of the checkpoint folder `path` (no processor needed), eval mode, float32."""
    config = read_model_config(path)
    layers = read_record(config, path)
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # its load table would only repeat what is checked below
    try:
        if layers is None:
            model, info = Wav2Vec2ForCTC.from_pretrained(path, local_files_only=True, output_loading_info=True,
                                                         ignore_mismatched_sizes=True)
        else:
            model, info = build_recorded(path, config, layers)
    except CheckpointError:
        raise
    except Exception as exc:  # torch, safetensors and transformers each raise their own kinds
        raise CheckpointError(f"{path}: cannot load the model: {exc}") from None
    finally:
        transformers_logging.set_verbosity(verbosity)
    check_loading_info(path, info)
    return model.float().eval()


def _names(keys, limit: int = 8) -> str:
    keys = sorted(keys)
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def check_loading_info(path: Path, info: dict) -> None:
    """CheckpointError if the model needs weights the checkpoint lacks or has in another shape; warn of unused ones.

    transformers would initialise such weights at random, differently in every
    process, so every worker would score a different model.
    """
    missing = set(info["missing_keys"]) - UNUSED_IN_INFERENCE
    if missing:
        hint = " (a wav2vec2 without its CTC head, i.e. not fine-tuned for recognition?)" if any(
            key.startswith("lm_head.") for key in missing) else ""
        raise CheckpointError(f"{path}: the checkpoint lacks weights the model needs{hint}: {_names(missing)}")
    if info["mismatched_keys"]:
        shapes = {f"{key} is {tuple(found)} in the checkpoint, {tuple(wanted)} by config.json"
                  for key, found, wanted in info["mismatched_keys"]}
        raise CheckpointError(f"{path}: weights do not match the shapes config.json gives: {_names(shapes, 4)}")
    if info["unexpected_keys"]:
        log.warning("%s: the checkpoint has weights Wav2Vec2ForCTC does not use (ignored): %s",
                    path, _names(info["unexpected_keys"]))


def check_vocabulary(path: Path, model: Wav2Vec2ForCTC, processor: Wav2Vec2Processor) -> None:
    """CheckpointError if the tokenizer has ids the CTC head cannot output; warn if the head has outputs without a token."""
    outputs = model.lm_head.out_features
    ids = processor.tokenizer.get_vocab().values()
    if max(ids) >= outputs:
        raise CheckpointError(f"{path}: the tokenizer has token ids up to {max(ids)} but the CTC head "
                              f"(lm_head, vocab_size in config.json) has only {outputs} outputs")
    if len(set(ids)) < outputs:
        log.warning("%s: %d of the CTC head's %d outputs have no token in the tokenizer; they decode as nothing",
                    path, outputs - len(set(ids)), outputs)
