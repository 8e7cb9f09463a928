"""The run directory on the shared filesystem: atomic JSON files, result files, checkpoints, the master lock.

Imports the standard library, filelock and numpy only.
"""

from gridprune.store.errors import MasterLockedError, StoreError
from gridprune.store.files import atomic_write_bytes, atomic_write_json, read_json
from gridprune.store.results import RESULT_STATUSES, result_problem
from gridprune.store.rundir import RunDir

__all__ = [
    "RESULT_STATUSES",
    "MasterLockedError",
    "RunDir",
    "StoreError",
    "atomic_write_bytes",
    "atomic_write_json",
    "read_json",
    "result_problem",
]
