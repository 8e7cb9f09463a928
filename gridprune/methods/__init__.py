"""Pruning methods, each a job type on the engine (`gridprune.engine.Method`, on `methods.base.MethodBase`):
its settings, strategy, task kinds and export. A method is registered by one import and one entry here."""

from __future__ import annotations

from gridprune.engine import Method
from gridprune.methods.comflp import Comflp
from gridprune.methods.ga_blocks import GaBlocks
from gridprune.methods.layer_ga import LayerGa
from gridprune.methods.parp import Parp
from gridprune.methods.srp import Srp

METHODS: dict[str, Method] = {method.name: method for method in (GaBlocks(), Comflp(), Parp(), Srp(), LayerGa())}
