"""A run's method, its typed settings and its task kinds: validated once per command, then carried.

Below both `runs` (start, resume, export) and `run_changes` (what `resume --set` may change): each
command builds one `RunSetup`, from a YAML file or from a run directory's run.json, and every step
after that takes it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from pydantic import ValidationError

from gridprune.config import (ConfigError, ConfigValueError, Origins, Override, RunConfig, as_overrides,
                              describe_validation_error, load_config, upgrade_stored_config)
from gridprune.engine import Method, TaskKind, read_checkpoint, with_resources
from gridprune.methods import METHODS
from gridprune.store import RunDir


@dataclass(frozen=True)
class RunSetup:
    """A validated config with its method and the method's typed settings; `origins` says where each key
    was set (for error messages)."""

    config: Any  # RunConfig
    method: Method
    settings: Any
    origins: Origins

    def kinds(self) -> dict[str, TaskKind]:
        """The method's task kinds with the resources the config gives them: `slurm.cpus_per_task`, `mem_gb`
        and `time_min` where set away from their defaults (for every kind), then `resources.<kind>`."""
        config = self.config
        kinds = dict(self.method.kinds(config, self.settings))
        unknown = sorted(set(config.resources) - set(kinds))
        if unknown:
            raise ConfigValueError(f"resources.{unknown[0]}", f"{config.method} has no task kind {unknown[0]!r}; "
                                                              f"its kinds: {', '.join(sorted(kinds))}")
        slurm, defaults = config.slurm, type(config.slurm)()
        legacy = {name: getattr(slurm, field) for name, field in
                  (("cpus", "cpus_per_task"), ("mem_gb", "mem_gb"), ("time_min", "time_min"))
                  if getattr(slurm, field) != getattr(defaults, field)}
        for name, kind in kinds.items():
            given = config.resources.get(name)
            kinds[name] = with_resources(with_resources(kind, **legacy), **(given.model_dump() if given else {}))
        return kinds


def setup_of(config: Any, origins: Origins) -> RunSetup:
    """`config` with its method's section validated into typed settings; ConfigError naming each key at
    fault and where it was set."""
    method = METHODS.get(config.method)
    if method is None:
        raise ConfigError(f"{origins.where('method')}: {config.method!r} is a method this gridprune does not have "
                          f"(it has {', '.join(METHODS)}); use the gridprune that made the run")
    try:
        settings = method.Settings.model_validate(config.settings)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(origins, exc, prefix=method.section, model=method.Settings)) from None
    return RunSetup(config, method, settings, origins)


def read_setup(path: str | Path, overrides: Sequence[str | Override] = ()) -> RunSetup:
    """The setup of a YAML config file with `--set` overrides."""
    origins = Origins(str(path), as_overrides(overrides))  # a bad --set is reported before the file is read
    return setup_of(load_config(path, origins.overrides, METHODS, origins), origins)


def stored_config(run: RunDir) -> Any:
    """The config a run was started with (and changed by `resume --set` since), in today's form."""
    return RunConfig.model_validate(upgrade_stored_config(run.run_info["config"]))


def stored_setup(run: RunDir) -> RunSetup:
    """The setup of the run in `run` (its run.json)."""
    return setup_of(stored_config(run), Origins(str(run.run_json)))


def canonical_config(stored: dict[str, Any]) -> dict[str, Any]:
    """A run.json config with every default filled in (its method's settings too), in today's form: two runs
    have the same config exactly when these are equal, whichever gridprune wrote them."""
    config = RunConfig.model_validate(upgrade_stored_config(stored))
    settings = METHODS[config.method].Settings.model_validate(config.settings)
    return {**config.model_dump(mode="json"), "settings": settings.model_dump(mode="json")}


def method_named(name: str | None) -> Method | None:
    """The registered method `name`, None for an unknown one (a run of a later gridprune)."""
    return METHODS.get(name or "")


def round_name_of(method: str | None) -> str:
    """What the method calls a round ("generation" for ga_blocks), "round" otherwise."""
    return getattr(method_named(method), "round_name", "round")


def rounds_done(run: RunDir) -> int:
    """The rounds the run's checkpoint counts as complete (0 before the first); EngineError naming the file
    if the checkpoint was written by an earlier gridprune."""
    saved = read_checkpoint(run)
    return saved["round"] if saved else 0
