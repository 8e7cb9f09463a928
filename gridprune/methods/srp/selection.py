"""Which groups one keep fraction removes, from each group's importance: the least important go.

FFN neurons by one global count over all layers (a layer may lose every neuron); attention dimensions
the same count in every head of every layer, the query/key and the value sets chosen apart. At a tie the
lower index is removed first, so a selection follows from the importance alone. A selection is JSON: per layer the
kept FFN neurons, and per head the kept query/key and value dimensions (indices within the head).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

import torch

from gridprune.methods.srp.budget import Plan
from gridprune.methods.srp.gates import Gates


def select(importance: Gates, plan: Plan, heads: int) -> dict[str, Any]:
    """The kept groups of `plan` under `importance` (`Gates` of scores; larger = more important)."""
    widths = [len(layer) for layer in importance.ffn]
    order = torch.argsort(torch.cat(importance.ffn), stable=True)[:plan.ffn_removed].tolist()
    removed: list[set[int]] = [set() for _ in widths]
    starts = [sum(widths[:index]) for index in range(len(widths))]
    for flat in order:
        layer = bisect_right(starts, flat) - 1
        removed[layer].add(flat - starts[layer])
    return {
        "ffn": [[j for j in range(width) if j not in gone] for width, gone in zip(widths, removed)],
        "qk": [_kept_per_head(scores, heads, plan.qk_removed) for scores in importance.qk],
        "v": [_kept_per_head(scores, heads, plan.v_removed) for scores in importance.vo],
    }


def _kept_per_head(scores: torch.Tensor, heads: int, removed: int) -> list[list[int]]:
    per_head = scores.reshape(heads, -1)
    kept = []
    for head in per_head:
        gone = set(torch.argsort(head, stable=True)[:removed].tolist())
        kept.append([j for j in range(len(head)) if j not in gone])
    return kept


def removed_mask(selection: dict[str, Any], gates: Gates) -> Gates:
    """Per layer and group kind, True where `selection` removes the group (in the gates' flat layout)."""
    device = gates.ffn[0].device

    def mask(kept: list[int], size: int) -> torch.Tensor:
        keep = torch.zeros(size, dtype=torch.bool, device=device)
        keep[kept] = True
        return ~keep

    def heads_mask(kept_per_head: list[list[int]], size: int) -> torch.Tensor:
        width = size // len(kept_per_head)
        return mask([head * width + j for head, kept in enumerate(kept_per_head) for j in kept], size)

    return Gates(ffn=[mask(kept, len(g)) for kept, g in zip(selection["ffn"], gates.ffn)],
                 qk=[heads_mask(kept, len(g)) for kept, g in zip(selection["qk"], gates.qk)],
                 vo=[heads_mask(kept, len(g)) for kept, g in zip(selection["v"], gates.vo)])
