"""The base of a method's config section when the method trains (PARP, SRP): its `train` set given as a path or a
mapping, its `lr` read as the number YAML 1.1 leaves as a string (no torch)."""

from __future__ import annotations

from typing import Any, Callable

from pydantic import field_validator

from gridprune.sections import Section, data_source_input


def yaml_float(value: Any) -> Any:
    """YAML 1.1 reads `5e-5` (no dot) as a string: take such a number as the float it spells."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def sweep_points(value: float | list[float], *, one: str, many: str, inside: Callable[[float], bool],
                 allowed: str) -> float | list[float]:
    """`value` (one point or a list) checked as a sweep's points: some, each `inside` its range (`allowed` says it,
    e.g. "keep must lie in (0, 1]"), no two alike to two decimals (the points' names are made of them)."""
    points = value if isinstance(value, list) else [value]
    if not points:
        raise ValueError(f"give at least one {one}")
    bad = [p for p in points if not inside(p)]
    if bad:
        raise ValueError(f"each {allowed}, not {bad}")
    if len({f"{p:.2f}" for p in points}) != len(points):
        raise ValueError(f"two {many} of {points} are the same to two decimals (the points' names)")
    return value


class TrainingSection(Section):
    """A section with a `train` dataset and an `lr` (each declared by the subclass, with its own default)."""

    @field_validator("train", mode="before", check_fields=False)
    @classmethod
    def _path_or_mapping(cls, value: Any) -> Any:
        return data_source_input(value)

    @field_validator("lr", mode="before", check_fields=False)
    @classmethod
    def _lr_number(cls, value: Any) -> Any:
        return yaml_float(value)
