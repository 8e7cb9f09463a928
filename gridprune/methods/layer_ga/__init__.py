"""`layer_ga`: the per-layer GA over pruning masks (Godse), the original's operators and gridprune's."""

from gridprune.methods.layer_ga.method import LayerGa

__all__ = ["LayerGa"]
