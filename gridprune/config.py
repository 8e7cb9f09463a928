"""Run configuration: a YAML file, validated on load, with `--set KEY=VALUE` overrides.

The top level names the job (`method`), the model, the data, the seed and the
backend; the method's own settings live under the method's section (`ga:` for
`ga_blocks`). An unknown or mistyped key is an error that names it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Sequence

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gridprune.errors import GridpruneError


class ConfigError(GridpruneError, ValueError):
    """A configuration that cannot be used; the message names the file and key."""


class ConfigValueError(ConfigError):
    """A config value that does not fit (e.g. the model): `key` names it, the message starts with it."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem

    def located(self, origins: "Origins") -> ConfigError:
        """The same problem, named as where the key was set (`FILE: key` or `--set key`)."""
        return ConfigError(f"{origins.where(self.key)}: {self.problem}")


class Section(BaseModel):
    """A config section: unknown keys are errors, values are checked strictly."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FitnessSettings(Section):
    """The `fitness:` section: what a search scores its individuals on, and how (all of it keys the results)."""

    subset: int | None = Field(None, gt=0, description="utterances per generation (seeded); null = all")
    score: Literal["corpus", "utterance_mean"] = Field(
        "corpus", description="corpus WER, or the mean of per-utterance WERs (the original code's)")
    normalise: bool = Field(
        True, description="normalise texts before scoring; false = lower-case, split on single spaces (the original)")
    subsample: float | None = Field(
        None, gt=0, le=1,
        description="each evaluation scores this fraction of the utterances, drawn from (seed, generation, individual)")


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


class KindResources(Section):
    """`resources: {<task kind>: {...}}`: what one task of that kind gets on Slurm (and `gpus` anywhere);
    a key left out keeps the method's default for the kind."""

    cpus: int | None = Field(None, gt=0, description="CPUs per task (sbatch --cpus-per-task)")
    mem_gb: float | None = Field(None, gt=0, description="memory per task, GB (sbatch --mem)")
    time_min: int | None = Field(None, gt=0, description="time limit of a job of this kind, minutes (sbatch --time)")
    gpus: int | None = Field(None, ge=0, description="GPUs per task (sbatch --gpus-per-node); 0 = CPU only")


class DataSource(Section):
    """A dataset: its `.hrl` file, and the folder its audio file names are relative to (default: the file's folder)."""

    path: str
    audio_dir: str | None = None

    def __str__(self) -> str:
        return self.path


class RunConfig(Section):
    """Everything a run needs; `settings` holds the method's own section, validated by the method."""

    method: str
    model: str
    data: DataSource
    heldout: DataSource | None = None
    seed: int = Field(0, ge=0)
    run_dir: str | None = None
    backend: Literal["local", "slurm"] = "local"
    fitness: FitnessSettings = FitnessSettings()
    local: LocalSettings = LocalSettings()
    slurm: SlurmSettings = SlurmSettings()
    resources: dict[str, KindResources] = Field(default_factory=dict, description="per task kind, e.g. ffn_eval")
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("data", "heldout", mode="before")
    @classmethod
    def _path_or_mapping(cls, value: Any) -> Any:
        """`data: set.hrl` is short for `data: {path: set.hrl}`."""
        if isinstance(value, str):
            return {"path": value}
        if value is not None and not isinstance(value, (dict, DataSource)):
            raise ValueError("expected a path, or a mapping {path: FILE.hrl, audio_dir: FOLDER}")
        return value

    def resolved_paths(self, base: Path) -> "RunConfig":
        """A copy whose file paths are absolute, relative ones taken from `base` (`demo` stays `demo`)."""
        def resolve(value: str | None) -> str | None:
            if value is None or value == "demo":
                return value
            return str((base / Path(value).expanduser()).resolve())

        def resolve_source(source: DataSource | None) -> DataSource | None:
            if source is None:
                return None
            return DataSource(path=resolve(source.path), audio_dir=resolve(source.audio_dir))
        settings = dict(self.settings)
        train = settings.get(SECTION_DATASET_KEY)
        if isinstance(train, str):
            settings[SECTION_DATASET_KEY] = resolve(train)
        elif isinstance(train, dict) and isinstance(train.get("path"), str):
            settings[SECTION_DATASET_KEY] = {**train, "path": resolve(train["path"]),
                                            "audio_dir": resolve(train.get("audio_dir"))}
        return self.model_copy(update={
            "model": resolve(self.model), "data": resolve_source(self.data),
            "heldout": resolve_source(self.heldout), "run_dir": resolve(self.run_dir), "settings": settings,
        })


@dataclass(frozen=True)
class Override:
    """One command-line change to a config: a dotted key, its value, and how the user wrote it."""

    key: str
    value: Any
    origin: str  # e.g. "--set ga.population" or "--workers"


def parse_override(item: str) -> Override:
    """`KEY=VALUE` as given to `--set`; VALUE is read as YAML (`3`, `0.5`, `[1, 2]`, `null`)."""
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set {item}: expected KEY=VALUE, for example ga.population=30")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = str(exc).splitlines()[0]
        raise ConfigError(f"--set {key}: the value {text!r} is not valid YAML ({problem})") from None
    return Override(key, value, f"--set {key}")


def as_overrides(overrides: Sequence[str | Override]) -> list[Override]:
    """Overrides given as `KEY=VALUE` strings (from `--set`) or already parsed."""
    return [item if isinstance(item, Override) else parse_override(item) for item in overrides]


DATASET_KEYS = ("data", "heldout")  # the keys that take a path or {path, audio_dir}
SECTION_DATASET_KEY = "train"  # a method's own labelled set (parp.train), taken the same way


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str | Override]) -> dict[str, Any]:
    """Set the dotted key of each override in `raw` (changed in place and returned)."""
    for override in as_overrides(overrides):
        node = raw
        parts = override.key.split(".")
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if ((depth == 0 and part in DATASET_KEYS) or (depth == 1 and part == SECTION_DATASET_KEY)) \
                    and isinstance(child, str):
                child = node[part] = {"path": child}  # `data: x.hrl` is short for `data: {path: x.hrl}`
            if not isinstance(child, dict):
                raise ConfigError(f"{override.origin}: {'.'.join(parts[:depth + 1])} is not a section")
            node = child
        node[parts[-1]] = override.value
    return raw


class Origins:
    """Where each key of a config came from: the YAML file, or an override on the command line."""

    def __init__(self, source: str, overrides: Sequence[Override] = ()):
        self.source = source
        self.overrides = list(overrides)

    def where(self, key: str) -> str:
        """`--set ga.populaton` for a key an override set (or lies under), else `FILE: key`."""
        for override in reversed(self.overrides):
            if key == override.key or key.startswith(override.key + "."):
                return override.origin if key == override.key else f"{override.origin}: {key}"
        return f"{self.source}: {key}"


def parse_config(raw: Any, source: str | Origins, sections: dict[str, str]) -> RunConfig:
    """Validate a config mapping; `sections` maps each method name to its settings section's key."""
    origins = source if isinstance(source, Origins) else Origins(source)
    source = origins.source
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a config is a mapping of keys to values")
    raw = dict(raw)
    method = raw.get("method")
    if method not in sections:
        hint = _suggestion(str(method), sections) if isinstance(method, str) else ""
        raise ConfigError(f"{origins.where('method')}: {method!r} is not one of {', '.join(sorted(sections))}{hint}")
    section = sections[method]
    raw["settings"] = raw.pop(section, None) or {}
    for other in set(sections.values()) - {section}:
        if other in raw:
            raise ConfigError(f"{origins.where(other)}: this section belongs to another method than {method}")
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        top_keys = [name for name in RunConfig.model_fields if name != "settings"] + [section]
        raise ConfigError(describe_validation_error(
            origins, exc, renames={"settings": section}, model=RunConfig, top_keys=top_keys)) from None


def describe_validation_error(source: str | Origins, exc: ValidationError, prefix: str = "",
                              renames: dict[str, str] | None = None, model: type[BaseModel] | None = None,
                              top_keys: Sequence[str] | None = None) -> str:
    """One line per problem, each naming where the key at fault came from and the dotted key.

    Keys lie under `prefix`; top keys are renamed by `renames`. With `model` (the
    validated class), an unknown key gets the closest valid one suggested.
    """
    origins = source if isinstance(source, Origins) else Origins(source)
    renames = renames or {}
    lines = []
    for error in exc.errors():
        loc = [renames.get(str(part), str(part)) if i == 0 else str(part) for i, part in enumerate(error["loc"])]
        key = ".".join(([prefix] if prefix else []) + loc) or "(top level)"
        if error["type"] == "extra_forbidden":
            message = "unknown key"
            if model is not None:
                valid = _valid_keys(model, [str(part) for part in error["loc"]][:-1], top_keys)
                parent = key.rpartition(".")[0]
                message += _suggestion(loc[-1], [f"{parent}.{k}" if parent else k for k in valid], key=key)
        else:
            message = error["msg"]
            if not isinstance(error.get("input"), (dict, list)) and error["type"] != "missing":
                message += f", not {error['input']!r}"
        lines.append(f"{origins.where(key)}: {message}")
    return "\n".join(lines)


def _valid_keys(model: type[BaseModel], path: Sequence[str], top_keys: Sequence[str] | None) -> list[str]:
    """The keys allowed at `path` inside `model` (its own fields at the top, or `top_keys` there)."""
    if not path and top_keys is not None:
        return list(top_keys)
    for part in path:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _suggestion(word: str, candidates: Sequence[str], key: str | None = None) -> str:
    """`; did you mean X?` for the candidate closest to `word` (compared on its last part), else ''."""
    names = {candidate.rpartition(".")[2]: candidate for candidate in candidates}
    close = difflib.get_close_matches(word, list(names), n=1, cutoff=0.6)
    return f"; did you mean {names[close[0]]}?" if close else ""


def load_config(path: str | Path, overrides: Sequence[str | Override], sections: dict[str, str]) -> RunConfig:
    """Read, override and validate a YAML config; paths in it are taken relative to the working directory."""
    path = Path(path)
    overrides = as_overrides(overrides)  # a bad --set is reported before the file is read
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a folder, not a config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    raw = raw if raw is not None else {}
    if isinstance(raw, dict):  # parse_config reports anything else
        raw = apply_overrides(raw, overrides)
    return parse_config(raw, Origins(str(path), overrides), sections).resolved_paths(Path.cwd())
