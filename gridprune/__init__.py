"""gridprune: prune pre-trained speech models with a genetic search, locally or on Slurm."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["load_pruned"]


def __getattr__(name: str) -> Any:
    # Imported on first use: `import gridprune` stays free of torch and transformers.
    if name == "load_pruned":
        from gridprune.models.loading import load_pruned

        globals()[name] = load_pruned
        return load_pruned
    raise AttributeError(f"module 'gridprune' has no attribute {name!r}")
