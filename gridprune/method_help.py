"""`gridprune methods [NAME]`: every registered method in one line, and a method's settings with their
defaults and meaning, read from the settings classes themselves (so the listing cannot drift)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from gridprune.errors import GridpruneError
from gridprune.methods import METHODS
from gridprune.sections import DataSource


def method_lines(indent: str = "") -> list[str]:
    """One line per method: its name, its config section and what it does."""
    width = max(map(len, METHODS))
    return [f"{indent}{name:<{width}}  ({method.section}:)  {method.summary}" for name, method in METHODS.items()]


def list_methods() -> list[str]:
    """`gridprune methods`: every method, then how to see one's settings."""
    return method_lines() + ["", "settings of one method, with their defaults: gridprune methods NAME"]


def describe_method(name: str) -> list[str]:
    """A method's section: each key, its default and its meaning; nested sections indented."""
    method = METHODS.get(name)
    if method is None:
        raise GridpruneError(f"no method {name!r}; the methods: {', '.join(METHODS)}")
    lines = [f"{name}: {method.summary}", "",
             f"{method.section}:  (the section of a config with `method: {name}`)"]
    lines += _fields(method.Settings, indent=2)
    if method.resumable_keys:
        lines += ["", f"`resume --set` may change: {', '.join(method.resumable_keys)}"]
    return lines


def _fields(model: type[BaseModel], indent: int) -> list[str]:
    lines = []
    for key, field in model.model_fields.items():
        nested = _section_type(field.annotation)
        default = _default(field)
        meaning = field.description or ""
        if nested is not None:
            optional = " (optional: absent unless given)" if field.default is None else ""
            lines.append(f"{' ' * indent}{key}:" + (f"  # {meaning}{optional}" if meaning or optional else ""))
            lines += _fields(nested, indent + 2)
            continue
        lines.append(f"{' ' * indent}{key}: {default}" + (f"  # {meaning}" if meaning else ""))
    return lines


def _section_type(annotation: Any) -> type[BaseModel] | None:
    """The settings class of a nested section (`fitness:`, `progressive:`), also where it may be null."""
    candidates = [annotation, *getattr(annotation, "__args__", ())]
    return next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)
                 and not issubclass(c, DataSource)), None)


def _default(field: Any) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "(required)"
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        value = value.model_dump()
    return json.dumps(value) if not isinstance(value, str) else value
