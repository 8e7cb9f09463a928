"""Self-attention whose heads keep fewer query/key and value dimensions than the model was built with.

transformers' `Wav2Vec2Attention` ties every head's q/k and v width to hidden_size / heads. After
structured pruning a head keeps `qk_head_dim` query/key dimensions and `v_head_dim` value dimensions
(each the same in every head of the layer, any of them smaller than the original), and the scores keep
the ORIGINAL scaling 1/sqrt(original head dim): the pruned model then computes exactly what the model
with those dimensions gated to 0 computed (recomputing the scaling from the new width would not).
The module is a drop-in for the encoder layer's `attention`: same call, same return arity as the
installed transformers' attention (two outputs since 5.x, three before).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gridprune.models.pruning import quiet_empty_init


class PrunedAttention(nn.Module):
    """Multi-head self-attention with `heads` heads of `qk_head_dim` query/key and `v_head_dim` value dims."""

    def __init__(self, hidden: int, heads: int, qk_head_dim: int, v_head_dim: int, scaling: float, *,
                 bias: bool = True, dropout: float = 0.0, outputs: int = 2):
        super().__init__()
        if heads < 1 or qk_head_dim < 1 or v_head_dim < 0:
            raise ValueError(f"a pruned attention needs heads >= 1, qk_head_dim >= 1 and v_head_dim >= 0, "
                             f"not {heads}, {qk_head_dim}, {v_head_dim}")
        self.num_heads, self.qk_head_dim, self.v_head_dim = heads, qk_head_dim, v_head_dim
        self.scaling, self.dropout, self.outputs = scaling, dropout, outputs
        self.q_proj = nn.Linear(hidden, heads * qk_head_dim, bias=bias)
        self.k_proj = nn.Linear(hidden, heads * qk_head_dim, bias=bias)
        self.v_proj = nn.Linear(hidden, heads * v_head_dim, bias=bias)
        self.out_proj = nn.Linear(heads * v_head_dim, hidden, bias=bias)

    def shape(self) -> dict[str, Any]:
        """The sizes a saved model records for this layer (`gridprune.models.pruned`)."""
        return {"heads": self.num_heads, "qk_head_dim": self.qk_head_dim, "v_head_dim": self.v_head_dim,
                "scaling": self.scaling}

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None,
                **_: Any) -> tuple[torch.Tensor, ...]:
        batch, frames, _hidden = hidden_states.shape

        def split(states: torch.Tensor, width: int) -> torch.Tensor:
            return states.view(batch, frames, self.num_heads, width).transpose(1, 2)

        query = split(self.q_proj(hidden_states), self.qk_head_dim)
        key = split(self.k_proj(hidden_states), self.qk_head_dim)
        value = split(self.v_proj(hidden_states), self.v_head_dim)
        if self.v_head_dim:
            mixed = F.scaled_dot_product_attention(
                query, key, value, attn_mask=attention_mask, dropout_p=self.dropout if self.training else 0.0,
                scale=self.scaling)
        else:  # no value dimension left: the heads output nothing, out_proj gives its bias
            mixed = value
        output = self.out_proj(mixed.transpose(1, 2).reshape(batch, frames, self.num_heads * self.v_head_dim))
        return (output, None) if self.outputs == 2 else (output, None, None)


def attention_outputs(attention: nn.Module, hidden: int) -> int:
    """How many outputs the installed transformers' attention returns (and its encoder layer unpacks),
    found by calling `attention` on one frame (on the meta device when its weights are there)."""
    device = next(attention.parameters()).device
    with torch.no_grad():
        return len(attention(torch.zeros(1, 1, hidden, device=device)))


def pruned_attention(attention: nn.Module, qk_keep: list[list[int]], v_keep: list[list[int]]) -> PrunedAttention:
    """A `PrunedAttention` holding the kept dimensions of a transformers attention (or of a pruned one):
    per head, the indices (within the head) of the query/key dimensions and of the value dimensions it keeps."""
    heads = attention.num_heads
    if len(qk_keep) != heads or len(v_keep) != heads:
        raise ValueError(f"give the kept dimensions of each of the {heads} heads")
    qk_dim, v_dim = {len(kept) for kept in qk_keep}, {len(kept) for kept in v_keep}
    if len(qk_dim) != 1 or len(v_dim) != 1:
        raise ValueError("every head of a layer keeps the same number of q/k dimensions, and of v dimensions")
    old_qk, old_v = head_dims(attention)
    qk_rows = torch.tensor([h * old_qk + i for h, kept in enumerate(qk_keep) for i in sorted(kept)], dtype=torch.long)
    v_rows = torch.tensor([h * old_v + i for h, kept in enumerate(v_keep) for i in sorted(kept)], dtype=torch.long)
    hidden = attention.q_proj.in_features
    outputs = attention_outputs(attention, hidden)
    with torch.device("meta"), quiet_empty_init():
        pruned = PrunedAttention(hidden, heads, qk_dim.pop(), v_dim.pop(), float(attention.scaling),
                                 bias=attention.q_proj.bias is not None, dropout=float(attention.dropout),
                                 outputs=outputs)
    state = {}
    for name, rows in (("q_proj", qk_rows), ("k_proj", qk_rows), ("v_proj", v_rows)):
        source = getattr(attention, name)
        state[f"{name}.weight"] = source.weight.detach()[rows].clone()
        if source.bias is not None:
            state[f"{name}.bias"] = source.bias.detach()[rows].clone()
    state["out_proj.weight"] = attention.out_proj.weight.detach()[:, v_rows].clone()
    if attention.out_proj.bias is not None:
        state["out_proj.bias"] = attention.out_proj.bias.detach().clone()
    pruned.load_state_dict(state, assign=True)
    return pruned.train(attention.training)


def head_dims(attention: nn.Module) -> tuple[int, int]:
    """(q/k dims, v dims) per head of a transformers attention or of a `PrunedAttention`."""
    if isinstance(attention, PrunedAttention):
        return attention.qk_head_dim, attention.v_head_dim
    return attention.head_dim, attention.head_dim
