"""Content-addressed inputs of trials: large values (packed masks) a trial's parameters name by digest.

A trial's params hold the digest, so its key changes with the content and the cache and `resume` work as
for any other parameter, while `generations/` and the results stay small. `inputs/<2 hex>/<digest>` is
written once (first write wins: the same digest means the same bytes) and checked on every read.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from gridprune.store.errors import StoreError
from gridprune.store.files import publish_exclusive
from gridprune.store.rundir import RunDir

INPUTS = "inputs"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def input_path(run: RunDir, digest: str) -> Path:
    """Where the input of `digest` lives in the run directory."""
    if not _DIGEST.match(digest):
        raise StoreError(f"{digest!r} is not an input digest (64 lowercase hex digits)")
    return run.root / INPUTS / digest[:2] / digest


def put_input(run: RunDir, data: bytes) -> str:
    """Store `data` (once) and return its digest, the name a trial's params give it."""
    digest = hashlib.sha256(data).hexdigest()
    path = input_path(run, digest)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        publish_exclusive(path, data)
    return digest


def read_input(run: RunDir, digest: str) -> bytes:
    """The bytes stored under `digest`; StoreError naming the file if it is missing or not what its name says."""
    path = input_path(run, digest)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StoreError(f"{path}: missing input (a trial names it, but it was never stored here)") from None
    if hashlib.sha256(data).hexdigest() != digest:
        raise StoreError(f"{path}: corrupt input (its content does not match its name)")
    return data
