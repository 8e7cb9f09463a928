"""The per-layer GA over pruning masks (in progress, not yet a method: its masks packed one bit per gene, its
genetic operators, the original's and gridprune's, the original's steady-state loop as ask/tell, and the evaluation
of a masked wav2vec2 tensor under a WER ceiling)."""
