"""SRP (selective regularisation pruning) as a job type, stage 2 of the original: FFN neurons and per-head
query/key and value dimensions are scored once (`scoring`), the least important chosen to meet a kept
fraction of the parameters (`budget`, `selection`), their gates shrunk to 0 while the rest of the model
trains (`hooks`, on the shared training task kind), and removed physically at export (`export`). One-shot
removal (no update) is the baseline beside every point."""

from gridprune.methods.srp.method import Srp

__all__ = ["Srp"]
