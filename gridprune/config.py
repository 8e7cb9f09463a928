"""Run configuration: a YAML file, validated on load, with `--set KEY=VALUE` overrides.

The top level names the job (`method`), the model, the data, the seed and the
backend; the method's own settings live under the method's section (`ga:` for
`ga_blocks`). An unknown or mistyped key is an error that names it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Sequence

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gridprune.errors import GridpruneError


class ConfigError(GridpruneError, ValueError):
    """A configuration that cannot be used; the message names the file and key."""


class Section(BaseModel):
    """A config section: unknown keys are errors, values are checked strictly."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FitnessSettings(Section):
    subset: int | None = Field(None, gt=0, description="utterances per generation (seeded); null = all")


class LocalSettings(Section):
    workers: int = Field(2, gt=0)
    threads_per_worker: int | None = Field(None, gt=0, description="default: cores / workers")
    max_retries: int = Field(2, ge=0, description="retries of a chromosome whose worker died or raised")


class SlurmSettings(Section):
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time_min: int = Field(60, gt=0)
    cpus_per_task: int = Field(2, gt=0)
    mem_gb: float = Field(4.0, gt=0)
    array_parallelism: int | None = Field(None, gt=0)
    chunk_size: int = Field(8, gt=0, description="chromosomes per array task")
    max_retries: int = Field(2, ge=0, description="resubmissions of a chromosome whose job ended without its result")
    max_num_timeout: int = Field(3, ge=0, description="requeues of a chunk that hit its time limit")
    signal_delay_s: int = Field(90, ge=0, description="seconds before the time limit that a job is warned")
    extra_sbatch: dict[str, str | int | bool] = Field(default_factory=dict, description="more sbatch options")
    python: str | None = Field(None, description="python command on the nodes, e.g. 'apptainer exec gridprune.sif python'")
    master_partition: str | None = Field(None, description="partition of the master job (default: partition)")
    master_time_min: int = Field(2880, gt=0, description="time limit of the master job")
    master_mem_gb: float = Field(4.0, gt=0)
    poll_interval_s: float = Field(1.0, gt=0, description="how often the run directory is checked for results")
    sacct_interval_s: float = Field(10.0, gt=0, description="how often Slurm is asked for job states (one sacct)")
    vanish_s: float = Field(180.0, gt=0, description="a job sacct does not know after this long is taken as lost")


class RunConfig(Section):
    """Everything a run needs; `settings` holds the method's own section, validated by the method."""

    method: str
    model: str
    data: str
    heldout: str | None = None
    seed: int = 0
    run_dir: str | None = None
    backend: Literal["local", "slurm"] = "local"
    fitness: FitnessSettings = FitnessSettings()
    local: LocalSettings = LocalSettings()
    slurm: SlurmSettings = SlurmSettings()
    settings: dict[str, Any] = Field(default_factory=dict)

    def resolved_paths(self, base: Path) -> "RunConfig":
        """A copy whose file paths are absolute, relative ones taken from `base` (`demo` stays `demo`)."""
        def resolve(value: str | None) -> str | None:
            if value is None or value == "demo":
                return value
            return str((base / Path(value).expanduser()).resolve())
        return self.model_copy(update={
            "model": resolve(self.model), "data": resolve(self.data),
            "heldout": resolve(self.heldout), "run_dir": resolve(self.run_dir),
        })


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Set dotted keys from `KEY=VALUE` strings; VALUE is read as YAML (`3`, `0.5`, `[1, 2]`, `null`)."""
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, for example ga.population=30")
        node = raw
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {item!r}: {part} is not a section")
            node = child
        try:
            node[parts[-1]] = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item!r}: the value is not valid YAML: {exc}") from None
    return raw


def parse_config(raw: Any, source: str, sections: dict[str, str]) -> RunConfig:
    """Validate a config mapping; `sections` maps each method name to its settings section's key."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a config is a mapping of keys to values")
    raw = dict(raw)
    method = raw.get("method")
    if method not in sections:
        raise ConfigError(f"{source}: method: {method!r} is not one of {', '.join(sorted(sections))}")
    section = sections[method]
    raw["settings"] = raw.pop(section, None) or {}
    for other in set(sections.values()) - {section}:
        if other in raw:
            raise ConfigError(f"{source}: {other}: this section belongs to another method than {method}")
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(source, exc, renames={"settings": section})) from None


def describe_validation_error(source: str, exc: ValidationError, prefix: str = "",
                              renames: dict[str, str] | None = None) -> str:
    """One line per problem, each naming the dotted key at fault (under `prefix`, top keys renamed by `renames`)."""
    renames = renames or {}
    lines = []
    for error in exc.errors():
        loc = [renames.get(str(part), str(part)) if i == 0 else str(part) for i, part in enumerate(error["loc"])]
        key = ".".join(([prefix] if prefix else []) + loc) or "(top level)"
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        lines.append(f"{source}: {key}: {message}")
    return "\n".join(lines)


def load_config(path: str | Path, overrides: Sequence[str], sections: dict[str, str]) -> RunConfig:
    """Read, override and validate a YAML config; paths in it are taken relative to the working directory."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    raw = raw if raw is not None else {}
    if isinstance(raw, dict):  # parse_config reports anything else
        try:
            raw = apply_overrides(raw, overrides)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    return parse_config(raw, str(path), sections).resolved_paths(Path.cwd())
