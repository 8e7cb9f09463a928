"""How many of each group SRP removes so that a given fraction of the model's parameters remains (no torch).

Counted linearly, group by group (the original's formula assumes the hidden size shrinks too, which
stage 2 alone never does): an FFN neuron owns its intermediate row and bias and its output column; a
query/key dimension its q and k rows and biases; a value dimension its v row and bias and its out_proj
column. Attention dimensions go the same count from every head of every layer (at least one query/key
dimension stays in each head; value dimensions may all go), FFN neurons by one global count.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


class BudgetError(ValueError):
    """A keep fraction this model cannot meet; the message says the range it can."""


@dataclass(frozen=True)
class Budget:
    """The parameter counts of a model's prunable groups."""

    parameters: int  # the whole model's
    layers: int
    heads: int
    ffn_neurons: int  # over all layers
    qk_head_dim: int
    v_head_dim: int
    ffn_cost: int  # parameters per FFN neuron
    qk_cost: int  # per query/key dimension
    v_cost: int  # per value dimension

    @property
    def prunable(self) -> int:
        """Parameters in prunable groups."""
        per_head = self.qk_head_dim * self.qk_cost + self.v_head_dim * self.v_cost
        return self.ffn_neurons * self.ffn_cost + self.layers * self.heads * per_head

    def attention_cost(self, qk_removed: int, v_removed: int) -> int:
        """Parameters removed by taking these many dimensions from every head of every layer."""
        return self.layers * self.heads * (qk_removed * self.qk_cost + v_removed * self.v_cost)


@dataclass(frozen=True)
class Plan:
    """What one keep fraction removes, and the fraction that then remains."""

    keep: float
    ffn_removed: int  # over all layers
    qk_removed: int  # per head
    v_removed: int  # per head
    kept_parameters: int
    kept_fraction: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def budget_of(model: Any) -> Budget:
    """The budget of a Wav2Vec2ForCTC (real or on the meta device; its attention whole or pruned)."""
    from gridprune.models.heads import head_dims
    from gridprune.models.pruning import count_parameters

    layers = model.wav2vec2.encoder.layers
    first = layers[0]
    attention, feed_forward = first.attention, first.feed_forward
    hidden = attention.q_proj.in_features
    bias = int(attention.q_proj.bias is not None)
    ffn_bias = int(feed_forward.intermediate_dense.bias is not None)
    qk_dim, v_dim = head_dims(attention)
    return Budget(parameters=count_parameters(model), layers=len(layers),
                  heads=attention.num_heads,
                  ffn_neurons=sum(layer.feed_forward.intermediate_dense.out_features for layer in layers),
                  qk_head_dim=qk_dim, v_head_dim=v_dim, ffn_cost=2 * hidden + ffn_bias, qk_cost=2 * (hidden + bias),
                  v_cost=2 * hidden + bias)


def plan(budget: Budget, keep: float, qk_keep: float | None = None, v_keep: float | None = None) -> Plan:
    """The removal that leaves `keep` of the parameters (to within one FFN neuron), attention dimensions
    removed in the same share as FFN neurons unless `qk_keep` / `v_keep` (fractions of each head's
    dimensions kept) say otherwise."""
    target = round((1 - keep) * budget.parameters)
    share = min(1.0, target / budget.prunable) if budget.prunable else 0.0
    qk = _removed(budget.qk_head_dim, share if qk_keep is None else 1 - qk_keep, budget.qk_head_dim - 1)
    v = _removed(budget.v_head_dim, share if v_keep is None else 1 - v_keep, budget.v_head_dim)
    ffn = round((target - budget.attention_cost(qk, v)) / budget.ffn_cost) if budget.ffn_cost else 0
    if ffn > budget.ffn_neurons:
        lowest = 1 - (budget.ffn_neurons * budget.ffn_cost + budget.attention_cost(qk, v)) / budget.parameters
        raise BudgetError(f"{keep} is below the lowest fraction of parameters this model can keep "
                          f"({lowest:.4f}: every FFN neuron and {qk} query/key and {v} value dimensions of each head "
                          f"removed; the rest of the model is not prunable)")
    if ffn < 0:
        raise BudgetError(f"qk_keep / v_keep: the attention dimensions they remove already leave less than keep "
                          f"{keep} of the parameters; raise them or lower keep")
    kept = budget.parameters - ffn * budget.ffn_cost - budget.attention_cost(qk, v)
    return Plan(keep=keep, ffn_removed=ffn, qk_removed=qk, v_removed=v, kept_parameters=kept,
                kept_fraction=kept / budget.parameters)


def _removed(dims: int, share: float, most: int) -> int:
    return max(0, min(most, round(share * dims)))
