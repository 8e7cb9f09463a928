"""`comflp`: CoMFLP layer pruning (Liu et al., Interspeech 2023) and its GLP baseline, on the engine.

A correlation matrix between the encoder's layer boundaries (distance correlation or SVCCA of
time-pooled hidden states on the search set) is one analysis trial, stored as an artifact; a
coarse search over it (beam, greedy, exhaustive) picks the top candidate sets of layers to drop,
each then scored by WER as an evaluation trial; the best is exported with fewer layers.
`search: glp` instead removes one layer per round, the one whose removal costs least WER.
"""

from gridprune.methods.comflp.method import Comflp
from gridprune.methods.comflp.settings import ComflpSettings

__all__ = ["Comflp", "ComflpSettings"]

