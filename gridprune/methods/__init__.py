"""Pruning methods, each a job type on the engine (`gridprune.engine.Method`): its settings, strategy,
task kinds and export. A method is registered by one import and one entry in `_METHODS`."""

from __future__ import annotations

from gridprune.engine import Method
from gridprune.methods.comflp import Comflp
from gridprune.methods.ga_blocks import GaBlocks
from gridprune.methods.parp import Parp

_METHODS: tuple[Method, ...] = (
    GaBlocks(),
    Comflp(),
    Parp(),
)
METHODS: dict[str, Method] = {method.name: method for method in _METHODS}


def method_sections() -> dict[str, str]:
    """Each method's name and the config section that holds its settings."""
    return {name: method.section for name, method in METHODS.items()}
