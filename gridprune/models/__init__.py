"""Loading, pruning, decoding and exporting wav2vec2 CTC models."""

from gridprune.models.decoding import GreedyCtcDecoder, input_values, transcribe
from gridprune.models.evaluator import Evaluation, Evaluator
from gridprune.checkpoint_files import DEMO_MODEL, CheckpointError
from gridprune.models.loading import Checkpoint, load_checkpoint

__all__ = [
    "DEMO_MODEL",
    "Checkpoint",
    "CheckpointError",
    "Evaluation",
    "Evaluator",
    "GreedyCtcDecoder",
    "input_values",
    "load_checkpoint",
    "transcribe",
]
