"""PARP (Lai et al., NeurIPS 2021) as a job type: global magnitude pruning of the encoder's attention
and FFN weights, CTC fine-tuning in which pruned weights may regrow, re-pruning every n updates and at
the end; one-shot magnitude pruning (no updates) beside every point as the baseline; PARP-P raising the
sparsity at each re-prune. The fine-tuning is the shared training task kind (`gridprune.training`)."""

from gridprune.methods.parp.method import Parp

__all__ = ["Parp"]
