"""Pruning masks packed one bit per gene (a mask of ResNet-18's largest conv, 2.4 M weights, is 295 KiB), to be
stored as content-addressed trial inputs (`gridprune.store.inputs`), never as JSON lists.

Layout: a 4-byte little-endian header length, a JSON header {"shape": [...]}, then the bits (numpy's
`packbits`, big-endian bit order, zero-padded to a whole byte). True = the gene is kept.
"""

from __future__ import annotations

import json
import struct

import numpy as np


def pack_mask(mask: np.ndarray) -> bytes:
    """The packed bytes of a boolean mask of any shape."""
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise ValueError(f"a mask is boolean, not {mask.dtype}")
    header = json.dumps({"shape": list(mask.shape)}).encode()
    return struct.pack("<I", len(header)) + header + np.packbits(mask.reshape(-1)).tobytes()


def unpack_mask(data: bytes) -> np.ndarray:
    """The boolean mask `pack_mask` packed; ValueError if the bytes are not one."""
    try:
        (size,) = struct.unpack_from("<I", data)
        shape = tuple(json.loads(data[4:4 + size])["shape"])
    except (struct.error, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a packed mask: {exc}") from None
    count = int(np.prod(shape, dtype=np.int64))
    bits = np.frombuffer(data, dtype=np.uint8, offset=4 + size)
    if len(bits) != (count + 7) // 8:
        raise ValueError(f"not a packed mask: {len(bits)} bytes of bits for {count} genes")
    return np.unpackbits(bits, count=count).astype(bool).reshape(shape)


def hex_store(mask: np.ndarray) -> str:
    """A mask as JSON text: its packed bytes in hex (for small masks; large ones are stored as trial inputs)."""
    return pack_mask(mask).hex()


def hex_load(text: str) -> np.ndarray:
    """The mask `hex_store` wrote."""
    return unpack_mask(bytes.fromhex(text))
