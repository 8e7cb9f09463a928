"""Small real models, datasets and wavs built inside the tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile
import torch
from transformers import (
    Wav2Vec2Config,
    Wav2Vec2CTCTokenizer,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2ForCTC,
    Wav2Vec2Processor,
)

TOKENS = ["<pad>", "<s>", "</s>", "<unk>", "|", "'", *[chr(c) for c in range(ord("A"), ord("Z") + 1)]]
HRL_HEADER = "#head;hrl;2.0;utf-8#source reference_paper\n#ref#audio_input#speaker#transcription\nhead#test\n"


def tiny_config(stable_layer_norm: bool, layers: int = 3, intermediate: int = 64, hidden: int = 32) -> Wav2Vec2Config:
    """A random-weight wav2vec2 of either encoder style, small enough for unit tests."""
    return Wav2Vec2Config(
        vocab_size=len(TOKENS), pad_token_id=0, hidden_size=hidden, num_hidden_layers=layers,
        num_attention_heads=2, intermediate_size=intermediate,
        conv_dim=(16, 16, 16), conv_stride=(5, 4, 4), conv_kernel=(10, 4, 4),
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
        do_stable_layer_norm=stable_layer_norm, feat_extract_norm="layer" if stable_layer_norm else "group",
    )


def make_processor(folder: Path) -> Wav2Vec2Processor:
    """A character CTC tokenizer plus feature extractor (vocab.json is written to `folder`)."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.json"
    vocab_file.write_text(json.dumps({t: i for i, t in enumerate(TOKENS)}))
    tokenizer = Wav2Vec2CTCTokenizer(str(vocab_file), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|")
    extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0,
                                         do_normalize=True, return_attention_mask=False)
    return Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer)


def make_checkpoint(folder: Path, stable_layer_norm: bool, layout: str = "current", seed: int = 0,
                    **config_overrides) -> Path:
    """Save a random-weight Wav2Vec2ForCTC checkpoint.

    layout "current": what transformers 5 writes (model.safetensors, processor_config.json);
    layout "legacy": the older hub layout (pytorch_model.bin, preprocessor_config.json,
    tokenizer_config.json, vocab.json).
    """
    torch.manual_seed(seed)
    model = Wav2Vec2ForCTC(tiny_config(stable_layer_norm, **config_overrides)).eval()
    processor = make_processor(folder)
    if layout == "current":
        model.save_pretrained(folder)
        processor.save_pretrained(folder)
    elif layout == "legacy":
        model.config.save_pretrained(folder)
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
        processor.feature_extractor.save_pretrained(folder)
        processor.tokenizer.save_pretrained(folder)
    else:
        raise ValueError(layout)
    return folder


def write_wav(path: Path, seconds: float = 1.0, rate: int = 16000, channels: int = 1, seed: int = 0) -> Path:
    """A short noisy tone, 16-bit PCM."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    signal = 0.3 * np.sin(2 * np.pi * (200 + 50 * seed) * t) + 0.05 * rng.standard_normal(t.size)
    data = np.stack([signal] * channels, axis=1) if channels > 1 else signal
    soundfile.write(str(path), data.astype(np.float32), rate, subtype="PCM_16")
    return path


def write_dataset(folder: Path, transcriptions: list[str], name: str = "set.hrl", seconds: float = 0.6) -> Path:
    """An .hrl file in the original format with one generated wav per transcription."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for index, text in enumerate(transcriptions):
        write_wav(folder / f"file{index}.wav", seconds=seconds + 0.1 * index, seed=index)
        lines.append(f"ref#file{index}.wav#TEST#{text}\n")
    path = folder / name
    path.write_text(HRL_HEADER + "".join(lines))
    return path
