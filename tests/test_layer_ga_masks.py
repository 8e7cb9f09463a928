"""Masks packed one bit per gene round trip bit-exactly, and trial inputs are stored by their content."""

from __future__ import annotations

import numpy as np
import pytest

from gridprune.methods.layer_ga.masks import pack_mask, unpack_mask
from gridprune.store import RunDir
from gridprune.store.errors import StoreError
from gridprune.store.inputs import input_path, put_input, read_input


@pytest.mark.parametrize("shape", [(1,), (7,), (8,), (13, 5), (3, 1, 3, 3), (512, 512, 3, 3)])
def test_a_packed_mask_round_trips_bit_exactly(shape):
    mask = np.random.default_rng(0).random(shape) < 0.3
    data = pack_mask(mask)
    assert len(data) < mask.size // 8 + 64  # one bit per gene, plus a small header
    back = unpack_mask(data)
    assert back.shape == mask.shape and back.dtype == np.bool_ and np.array_equal(back, mask)


def test_what_is_not_a_packed_mask_is_refused():
    with pytest.raises(ValueError, match="a mask is boolean"):
        pack_mask(np.zeros(4))
    with pytest.raises(ValueError, match="not a packed mask: 1 bytes of bits for 20 genes"):
        unpack_mask(pack_mask(np.ones(20, dtype=bool))[:-2])


def test_inputs_are_stored_once_by_content_and_checked_when_read(tmp_path):
    run = RunDir.create(tmp_path / "run", {"method": "test"})
    data = pack_mask(np.arange(100) % 3 == 0)
    digest = put_input(run, data)
    assert put_input(run, data) == digest  # the same bytes, the same name, stored once
    assert read_input(run, digest) == data
    assert put_input(run, data + b"x") != digest
    path = input_path(run, digest)
    path.write_bytes(data[:-1] + b"\xff")
    with pytest.raises(StoreError, match="corrupt input"):
        read_input(run, digest)
    with pytest.raises(StoreError, match="missing input"):
        read_input(run, "0" * 64)
    with pytest.raises(StoreError, match="not an input digest"):
        read_input(run, "../run.json")
