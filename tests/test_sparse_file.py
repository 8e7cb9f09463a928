"""The sparse file: each sparse matrix in its smaller form (bitmask or CSR), read back exactly."""

from __future__ import annotations

import pytest
import torch

from gridprune.models.sparse_file import BITMASK, load_sparse, save_sparse


def sparse_matrix(sparsity: float, shape=(64, 96), seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    values = torch.randn(shape, generator=generator)
    values[torch.rand(shape, generator=generator) < sparsity] = 0.0
    return values


def form_of(entry) -> str:
    if isinstance(entry, dict):
        return entry["layout"]
    return "csr" if entry.layout == torch.sparse_csr else "dense"


@pytest.mark.parametrize("sparsity, form, dtype", [
    (0.0, "dense", torch.float32), (0.3, BITMASK, torch.float32), (0.9, BITMASK, torch.float32),
    (0.96, BITMASK, torch.float32), (0.98, "csr", torch.float32), (0.5, BITMASK, torch.float16),
    (0.05, "dense", torch.float16),  # a bit per entry is 1/16 of a half: not worth it at 5%
])
def test_each_matrix_takes_its_smallest_form_and_reads_back_exactly(tmp_path, sparsity, form, dtype):
    state = {"layer.weight": sparse_matrix(sparsity, (256, 256)).to(dtype), "layer.bias": torch.randn(64),
             "scale": torch.tensor(2.0)}
    save_sparse(state, {"layer.weight", "scale"}, tmp_path / "sparse.pt")
    stored = torch.load(tmp_path / "sparse.pt", weights_only=True)  # plain torch reads it
    assert form_of(stored["layer.weight"]) == form
    assert torch.equal(stored["layer.bias"], state["layer.bias"])  # not listed: stored dense
    loaded = load_sparse(tmp_path / "sparse.pt")
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[n], t) and loaded[n].dtype == t.dtype for n, t in state.items())


def test_the_file_shrinks_with_sparsity_below_dense_from_a_few_percent(tmp_path):
    def stored_bytes(sparsity: float) -> int:
        return save_sparse({"w": sparse_matrix(sparsity, (512, 512))}, {"w"}, tmp_path / f"{sparsity}.pt")

    torch.save({"w": sparse_matrix(0.0, (512, 512))}, tmp_path / "dense.pt")
    dense = (tmp_path / "dense.pt").stat().st_size
    sizes = [stored_bytes(s) for s in (0.1, 0.3, 0.5, 0.7, 0.9)]
    assert all(a > b for a, b in zip(sizes, sizes[1:]))
    assert sizes[0] < dense and sizes[2] < 0.56 * dense  # half the values and one bit per entry
