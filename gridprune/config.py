"""Run configuration: a YAML file, validated on load, with `--set KEY=VALUE` overrides.

The top level names the job (`method`), the model, the data, the seed and the backend; each
registered backend has its section (`local:`, `slurm:`, `inprocess:`), and the method's own
settings live under the method's section (`ga:` for `ga_blocks`), the datasets it declares there
included. An unknown or mistyped key is an error that names it and where it was set.
"""

from __future__ import annotations

import copy
import difflib
import logging
from pathlib import Path
from typing import Annotated, Any, Mapping, Protocol, Sequence, get_args, get_origin

import yaml
from pydantic import BaseModel, Discriminator, Field, Tag, ValidationError, create_model, field_validator

from gridprune.adapters.factory import FactoryModel
from gridprune.backends import BACKENDS
from gridprune.sections import (ConfigError, ConfigValueError, DataSource, Origins, Override, Section,
                                data_source_input)

__all__ = ["ConfigError", "ConfigValueError", "DataSource", "KindResources", "MethodSection", "Origins", "Override",
           "RunConfig", "Section", "apply_overrides", "as_overrides", "describe_validation_error", "load_config",
           "parse_config", "parse_override", "upgrade_stored_config"]

log = logging.getLogger(__name__)
DATASET_KEYS = ("data", "heldout")  # the top-level keys that take a path or {path, audio_dir}
MOVED_TO_METHOD = {"fitness": "ga_blocks"}  # top-level sections of older configs that now belong to a method


class MethodSection(Protocol):
    """What the config needs to know of a method: its section's key and the datasets in it."""

    section: str
    datasets: Sequence[str]  # keys of its section that take a dataset (a path or {path, audio_dir})


class KindResources(Section):
    """`resources: {<task kind>: {...}}`: what one task of that kind gets on Slurm (and `gpus` anywhere);
    a key left out keeps the method's default for the kind."""

    cpus: int | None = Field(None, gt=0, description="CPUs per task (sbatch --cpus-per-task)")
    mem_gb: float | None = Field(None, gt=0, description="memory per task, GB (sbatch --mem)")
    time_min: int | None = Field(None, gt=0, description="time limit of a job of this kind, minutes (sbatch --time)")
    gpus: int | None = Field(None, ge=0, description="GPUs per task (sbatch --gpus-per-node); 0 = CPU only")


class _RunConfigBase(Section):
    """Everything a run needs; `settings` holds the method's own section, validated by the method."""

    method: str
    model: Annotated[Annotated[str, Tag("path")] | Annotated[FactoryModel, Tag("factory")],
                     Discriminator(lambda value: "path" if isinstance(value, str) else "factory")] = Field(
        description="a wav2vec2 checkpoint folder (or `demo`), or a factory model (layer_ga): {factory, evaluate, ...}")
    data: DataSource
    heldout: DataSource | None = None
    seed: int = Field(0, ge=0)
    run_dir: str | None = None
    backend: str = "local"
    resources: dict[str, KindResources] = Field(default_factory=dict, description="per task kind, e.g. ffn_eval")
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("data", "heldout", mode="before")
    @classmethod
    def _path_or_mapping(cls, value: Any) -> Any:
        return data_source_input(value)

    @field_validator("backend")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in BACKENDS:
            raise ValueError(f"must be one of {', '.join(BACKENDS)}, not {value!r}")
        return value

    def backend_settings(self) -> Any:
        """The section of the backend the run uses."""
        return getattr(self, self.backend)

    def resolved_paths(self, base: Path, section_datasets: Sequence[str] = ()) -> Any:
        """A copy whose file paths are absolute, relative ones taken from `base` (`demo` stays `demo`);
        `section_datasets` are the keys of the method's section that hold datasets."""
        def resolve(value: str | None) -> str | None:
            if value is None or value == "demo":
                return value
            return str((base / Path(value).expanduser()).resolve())

        def resolve_source(source: Any) -> Any:
            if isinstance(source, str):
                return resolve(source)
            if isinstance(source, DataSource):
                return DataSource(path=resolve(source.path), audio_dir=resolve(source.audio_dir))
            if isinstance(source, dict) and isinstance(source.get("path"), str):
                return {**source, "path": resolve(source["path"]), "audio_dir": resolve(source.get("audio_dir"))}
            return source

        settings = {key: resolve_source(value) if key in section_datasets else value
                    for key, value in self.settings.items()}
        return self.model_copy(update={
            "model": resolve(self.model) if isinstance(self.model, str) else self.model, "data": resolve_source(self.data),
            "heldout": resolve_source(self.heldout), "run_dir": resolve(self.run_dir), "settings": settings,
        })


# one section per registered backend, named as the backend
RunConfig = create_model("RunConfig", __base__=_RunConfigBase,
                         **{name: (entry.Settings, entry.Settings()) for name, entry in BACKENDS.items()})


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


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str | Override],
                    dataset_keys: Sequence[str] = DATASET_KEYS) -> dict[str, Any]:
    """Set the dotted key of each override in `raw` (changed in place and returned); `dataset_keys` (dotted)
    take a path or {path, audio_dir}, so `--set data.audio_dir=X` works on `data: x.hrl`."""
    for override in as_overrides(overrides):
        node = raw
        parts = override.key.split(".")
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if ".".join(parts[:depth + 1]) in dataset_keys and isinstance(child, str):
                child = node[part] = {"path": child}
            if not isinstance(child, dict):
                raise ConfigError(f"{override.origin}: {'.'.join(parts[:depth + 1])} is not a section")
            node = child
        node[parts[-1]] = override.value
    return raw


def dataset_keys(methods: Mapping[str, MethodSection], method: Any) -> tuple[str, ...]:
    """The dotted keys of a config of `method` that take a dataset."""
    entry = methods.get(method) if isinstance(method, str) else None
    own = tuple(f"{entry.section}.{key}" for key in entry.datasets) if entry is not None else ()
    return DATASET_KEYS + own


def parse_config(raw: Any, source: str | Origins, methods: Mapping[str, MethodSection]) -> Any:
    """Validate a config mapping into a `RunConfig`; `methods` are the registered methods by name."""
    origins = source if isinstance(source, Origins) else Origins(source)
    if not isinstance(raw, dict):
        raise ConfigError(f"{origins.source}: a config is a mapping of keys to values")
    raw = dict(raw)
    method = raw.get("method")
    if method is None:
        raise ConfigError(f"{origins.where('method')}: missing; name the job type, one of {', '.join(methods)} "
                          "(`gridprune methods` lists them)")
    if method not in methods:
        hint = _suggestion(str(method), list(methods))
        raise ConfigError(f"{origins.where('method')}: {method!r} is not a method; one of {', '.join(methods)}{hint}")
    section = methods[method].section
    _move_to_method(raw, method, methods, origins)
    raw["settings"] = raw.pop(section, None) or {}
    for name, other in methods.items():
        if other.section != section and other.section in raw:
            raise ConfigError(f"{origins.where(other.section)}: this section belongs to {name}, not to {method}")
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        top_keys = [name for name in RunConfig.model_fields if name != "settings"] + [section]
        raise ConfigError(describe_validation_error(
            origins, exc, renames={"settings": section}, model=RunConfig, top_keys=top_keys)) from None


def _move_to_method(raw: dict[str, Any], method: str, methods: Mapping[str, MethodSection], origins: Origins) -> None:
    """A top-level section of older configs (`fitness:`) goes under its method's section, with one warning;
    in a config of another method it is an error naming the section's home."""
    for key, owner in MOVED_TO_METHOD.items():
        if key not in raw:
            continue
        home = f"{methods[owner].section}.{key}"
        if method != owner:
            raise ConfigError(f"{origins.where(key)}: belongs to {owner} (as {home}); {method} has no such settings")
        section = raw.setdefault(methods[owner].section, {}) or {}
        if isinstance(section, dict) and key not in section:
            raw[methods[owner].section] = {**section, key: raw.pop(key)}
            log.warning("%s: a top-level `%s:` is read as %s, its place from now on; move it there",
                        origins.where(key), key, home)
            origins.overrides += [Override(f"{methods[owner].section}.{o.key}", o.value, o.origin)
                                  for o in list(origins.overrides) if o.key == key or o.key.startswith(key + ".")]


def upgrade_stored_config(config: dict[str, Any]) -> dict[str, Any]:
    """A run.json config written by an older gridprune, in today's form (older run directories resume):
    a top-level `fitness` goes into the settings of the method that owns it, and is dropped elsewhere."""
    config = copy.deepcopy(config)
    for key, owner in MOVED_TO_METHOD.items():
        if key in config:
            value = config.pop(key)
            if config.get("method") == owner:
                config.setdefault("settings", {}).setdefault(key, value)
    return config


def describe_validation_error(source: str | Origins, exc: ValidationError, prefix: str = "",
                              renames: dict[str, str] | None = None, model: type[BaseModel] | None = None,
                              top_keys: Sequence[str] | None = None) -> str:
    """One line per key at fault, naming where it was set and the dotted key, in plain words.

    Keys lie under `prefix`; top keys are renamed by `renames`. With `model` (the validated class),
    an unknown key gets the closest valid one suggested, and the alternatives pydantic tries for a
    value that may take several types are reported as one line.
    """
    origins = source if isinstance(source, Origins) else Origins(source)
    renames = renames or {}
    problems: dict[str, tuple[list[str], list[str]]] = {}
    for error in exc.errors():
        parts = _field_path(model, [str(part) for part in error["loc"]]) if model else [str(p) for p in error["loc"]]
        loc = [renames.get(part, part) if i == 0 else part for i, part in enumerate(parts)]
        key = ".".join(([prefix] if prefix else []) + loc) or "(top level)"
        if error["type"] == "extra_forbidden":
            message = "unknown key"
            if model is not None:
                valid = _valid_keys(model, parts[:-1], top_keys)
                parent = key.rpartition(".")[0]
                message += _suggestion(loc[-1], [f"{parent}.{k}" if parent else k for k in valid])
        else:
            message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        reasons, given = problems.setdefault(key, ([], []))
        if message not in reasons:
            reasons.append(message)
        value = error.get("input")
        if error["type"] not in ("missing", "extra_forbidden", "value_error") and not isinstance(value, (dict, list)):
            given.append(f", not {value!r}")
    return "\n".join(f"{origins.where(key)}: {_alternatives(reasons)}{given[0] if given else ''}"
                     for key, (reasons, given) in problems.items())


def _alternatives(reasons: Sequence[str]) -> str:
    """`Input should be a valid number or a valid list`: what each type a value may take asks, in one line."""
    prefix = "Input should be "
    rest = [r.removeprefix(prefix) if reasons[0].startswith(prefix) else r for r in reasons[1:]]
    return " or ".join([reasons[0], *rest])


def _field_path(model: type[BaseModel], loc: Sequence[str]) -> list[str]:
    """The part of a pydantic error location that names keys, without the type tags pydantic adds for
    each alternative of a value that may take several types (`sparsity.float`, `sparsity.list[float]`)."""
    path: list[str] = []
    current: Any = model
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            path.append(part)
            field = current.model_fields.get(part)
            if field is None:
                break  # an unknown key
            current = field.annotation
        elif get_origin(current) is dict:  # e.g. resources: {<kind>: KindResources}: any key, then its value
            path.append(part)
            current = get_args(current)[1]
        elif part in _tagged_sections(current):  # e.g. model: a path, or a factory's section (tag "factory")
            current = _tagged_sections(current)[part]
        else:
            break  # a value's own type tags and indexes
    return path


def _tagged_sections(annotation: Any) -> dict[str, type[BaseModel]]:
    """{tag: section} of the sections among the tagged alternatives of a union (`Annotated[Section, Tag(...)]`)."""
    found = {}
    for member in get_args(annotation):
        if get_origin(member) is Annotated:
            base, *meta = get_args(member)
            tags = [m.tag for m in meta if isinstance(m, Tag)]
            if tags and isinstance(base, type) and issubclass(base, BaseModel):
                found[tags[0]] = base
    return found


def _valid_keys(model: type[BaseModel], path: Sequence[str], top_keys: Sequence[str] | None) -> list[str]:
    """The keys allowed at `path` inside `model` (its own fields at the top, or `top_keys` there)."""
    if not path and top_keys is not None:
        return list(top_keys)
    for part in path:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        sections = list(_tagged_sections(annotation).values())
        if len(sections) == 1:
            annotation = sections[0]
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _suggestion(word: str, candidates: Sequence[str]) -> str:
    """`; did you mean X?` for the candidate closest to `word` (compared on its last part), else ''."""
    names = {candidate.rpartition(".")[2]: candidate for candidate in candidates}
    close = difflib.get_close_matches(word, list(names), n=1, cutoff=0.6)
    return f"; did you mean {names[close[0]]}?" if close else ""


def read_yaml(path: Path) -> Any:
    """The YAML file at `path`, as Python data; ConfigError naming the file if it cannot be read."""
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a folder, not a config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def load_config(path: str | Path, overrides: Sequence[str | Override], methods: Mapping[str, MethodSection],
                origins: Origins | None = None) -> Any:
    """Read the YAML config at `path`, apply `overrides` and validate it; paths in it are taken relative to the
    working directory. Pass `origins` (of these overrides) to keep where moved keys went, for later messages."""
    path = Path(path)
    origins = origins or Origins(str(path), as_overrides(overrides))
    raw = read_yaml(path)
    raw = raw if raw is not None else {}
    if isinstance(raw, dict):  # parse_config reports anything else
        raw = apply_overrides(raw, origins.overrides, dataset_keys(methods, raw.get("method")))
    config = parse_config(raw, origins, methods)
    return config.resolved_paths(Path.cwd(), methods[config.method].datasets)
