"""A model's weights with its unstructured-sparse matrices stored compactly: the file `sparse.pt`.

Each listed tensor is kept in whichever of three forms is smallest for its density:
- a bitmask: `{"layout": "bitmask", "shape": [...], "mask": uint8, "values": 1-D}`, one bit per
  entry (numpy's packbits order, row-major) and the non-zero values in that order; smaller than
  dense once more than 1/(8 x bytes per value) of the entries are zero (3% for float32);
- CSR with 32-bit indices (a torch sparse CSR tensor, matrices only), smaller than the bitmask only
  past about 97% sparsity (torch's default 64-bit indices would make it larger than dense below 67%);
- dense, when neither is smaller.
Every other tensor is stored dense. `torch.load(path, weights_only=True)` reads the file;
`load_sparse` gives back the dense state dict.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Collection, Mapping

import numpy as np
import torch

BITMASK = "bitmask"


def save_sparse(state: Mapping[str, torch.Tensor], sparse: Collection[str], path: Path) -> int:
    """Write `state` with the matrices named in `sparse` in their smaller sparse form; returns the file's bytes."""
    torch.save({name: (_compact(tensor) if name in sparse else tensor) for name, tensor in state.items()}, path)
    return path.stat().st_size


def load_sparse(path: Path) -> dict[str, torch.Tensor]:
    """The dense state dict of a file `save_sparse` wrote."""
    return {name: _dense(entry) for name, entry in torch.load(path, weights_only=True).items()}


def _compact(tensor: torch.Tensor) -> torch.Tensor | dict[str, Any]:
    dense = tensor.detach().cpu()
    nonzero, value_bytes = int(torch.count_nonzero(dense)), dense.element_size()
    sizes = {"dense": dense.numel() * value_bytes, BITMASK: dense.numel() / 8 + nonzero * value_bytes}
    if dense.dim() == 2:
        sizes["csr"] = (dense.shape[0] + 1) * 4 + nonzero * (4 + value_bytes)
    form = min(sizes, key=sizes.get)
    if form == "dense":
        return dense
    if form == BITMASK:
        mask = dense != 0
        return {"layout": BITMASK, "shape": list(dense.shape),
                "mask": torch.from_numpy(np.packbits(mask.numpy().reshape(-1))), "values": dense[mask]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        csr = dense.to_sparse_csr()
        return torch.sparse_csr_tensor(csr.crow_indices().int(), csr.col_indices().int(), csr.values(),
                                       dense.shape, check_invariants=True)


def _dense(entry: torch.Tensor | dict[str, Any]) -> torch.Tensor:
    if isinstance(entry, dict):
        count = int(np.prod(entry["shape"]))
        mask = torch.from_numpy(np.unpackbits(entry["mask"].numpy(), count=count).astype(bool))
        dense = torch.zeros(count, dtype=entry["values"].dtype)
        dense[mask] = entry["values"]
        return dense.reshape(entry["shape"])
    return entry.to_dense() if entry.layout == torch.sparse_csr else entry
