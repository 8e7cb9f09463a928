"""gridprune: prune pre-trained speech models with a genetic search, locally or on Slurm."""

__version__ = "0.1.0"
