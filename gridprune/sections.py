"""The pieces every config section is made of, below the config, the methods and the backends.

A `Section` is a strict pydantic model (unknown keys are errors); a `DataSource` is a dataset
(`path` or `{path, audio_dir}`); a `ConfigValueError` names the key at fault and `Origins` says
where that key was set (the YAML file or a command-line override).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from pydantic import BaseModel, ConfigDict

from gridprune.errors import GridpruneError


class ConfigError(GridpruneError, ValueError):
    """A configuration that cannot be used; the message names the file and key."""


@dataclass(frozen=True)
class Override:
    """One command-line change to a config: a dotted key, its value, and how the user wrote it."""

    key: str
    value: Any
    origin: str  # e.g. "--set ga.population" or "--workers"


class Origins:
    """Where each key of a config came from: the YAML file, or an override on the command line."""

    def __init__(self, source: str, overrides: Sequence[Override] = ()):
        self.source = source
        self.overrides = list(overrides)

    def where(self, key: str) -> str:
        """`--set ga.populaton` for a key an override set (or lies under), else `FILE: key`.

        A problem found in a section as a whole (`parp.progressive`) is blamed on the last override
        inside it, if any: that is the change that made the section wrong."""
        for override in reversed(self.overrides):
            if key == override.key or key.startswith(override.key + "."):
                return override.origin if key == override.key else f"{override.origin}: {key}"
        for override in reversed(self.overrides):
            if override.key.startswith(key + "."):
                return override.origin
        return f"{self.source}: {key}"


class ConfigValueError(ConfigError):
    """A config value that does not fit (e.g. the model): `key` names it, the message starts with it."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem

    def located(self, origins: Origins) -> ConfigError:
        """The same problem, named as where the key was set (`FILE: key` or `--set key`)."""
        return ConfigError(f"{origins.where(self.key)}: {self.problem}")


class Section(BaseModel):
    """A config section: unknown keys are errors, values are checked strictly."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DataSource(Section):
    """A dataset: its `.hrl` file, and the folder its audio file names are relative to (default: the file's folder)."""

    path: str
    audio_dir: str | None = None

    def __str__(self) -> str:
        return self.path


def data_source_input(value: Any) -> Any:
    """`x.hrl` is short for `{path: x.hrl}` (a pydantic before-validator of a dataset field)."""
    if isinstance(value, str):
        return {"path": value}
    if value is not None and not isinstance(value, (dict, DataSource)):
        raise ValueError("expected a path, or a mapping {path: FILE.hrl, audio_dir: FOLDER}")
    return value
