"""The per-layer GA over pruning masks (in progress, not yet a method: its masks packed one bit per gene, and its
genetic operators, the original's and gridprune's)."""
