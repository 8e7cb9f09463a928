"""Errors of the run directory store."""

from gridprune.errors import GridpruneError


class StoreError(GridpruneError):
    """The run directory is missing, unreadable or inconsistent; the message names the file."""


class MasterLockedError(StoreError):
    """Another live master holds the lock of the run directory."""
