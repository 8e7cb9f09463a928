"""Pruning methods, each a job type that composes the search, models, store and backends."""

from __future__ import annotations

from gridprune.methods.ga_blocks import GaBlocks

METHODS = {method.name: method for method in (GaBlocks(),)}


def method_sections() -> dict[str, str]:
    """Each method's name and the config section that holds its settings."""
    return {name: method.section for name, method in METHODS.items()}
