"""Errors of the engine."""

from gridprune.errors import GridpruneError


class EngineError(GridpruneError):
    """A run the engine cannot go on with (e.g. a checkpoint it cannot read); the message names the file."""


class ProtocolError(RuntimeError):
    """A strategy, method or handler broke its side of the engine's protocols: a bug, not the user's input."""
