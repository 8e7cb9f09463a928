"""What every handler does once per worker: set torch's threads, load the model and read its datasets."""

from __future__ import annotations

import logging
from typing import Sequence

import torch

from gridprune.data import Dataset, read_hrl
from gridprune.models.loading import Checkpoint, load_checkpoint

log = logging.getLogger(__name__)


def load_for_worker(threads: int, model: str, sources: Sequence[tuple[str, str | None] | None] = ()
                    ) -> tuple[Checkpoint, list[Dataset | None]]:
    """Set torch to `threads` threads, load `model` and read each (path, audio_dir) source (None stays None)."""
    torch.set_num_threads(max(1, threads))
    log.info("loading the model %s", model)
    checkpoint = load_checkpoint(model)
    return checkpoint, [None if source is None else read_hrl(*source) for source in sources]
