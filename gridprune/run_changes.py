"""What `gridprune resume RUN_DIR --set KEY=VALUE` may change in a run, and how the change is recorded.

Safe to change: how long the search runs (the method's `resumable_keys`, e.g. its generations),
where and how tasks run (`backend`, every backend's section, `resources.*`). Everything that enters
a result's key or the saved search state is refused, naming the key and why.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Sequence

from gridprune.backends import BACKENDS
from gridprune.config import ConfigError, Origins, Override, apply_overrides, dataset_keys, parse_config, upgrade_stored_config
from gridprune.methods import METHODS
from gridprune.run_setup import RunSetup, rounds_done, setup_of
from gridprune.store import RunDir

FREE_SECTIONS = (*BACKENDS, "resources")
FREE_KEYS = ("backend",)
REASONS = {
    "method": "a run directory holds the run of one method",
    "model": "every result is keyed by the model: another model is another run",
    "data": "every result is keyed by the search set: another set is another run",
    "heldout": "the run's exports are compared on the held-out set it started with",
    "fitness": "every result is keyed by the fitness settings (ga.fitness)",
    "seed": "the search's random generator was seeded with it: another seed is another run",
    "run_dir": "the run directory is the one being resumed",
}


def refusal(key: str, method_name: str) -> str | None:
    """Why `resume --set` may not change `key`, or None if it may."""
    method = METHODS[method_name]
    top = key.split(".")[0]
    if top in FREE_SECTIONS or key in FREE_KEYS:
        return None
    if top == method.section:
        if key in method.resumable_keys:
            return None
        unchangeable = method.unchangeable()
        section_key = next((k for k in unchangeable if key == k or key.startswith(k + ".")), None)
        example = f", e.g. {method.resumable_keys[0]}" if method.resumable_keys else ""
        return unchangeable[section_key] if section_key else f"set one key of {method.section} at a time{example}"
    return REASONS.get(top, "it is not a key of this run's config")


def _raw_config(run: RunDir) -> dict[str, Any]:
    """run.json's config in the form of a YAML config (the method's section under its own name)."""
    raw = copy.deepcopy(upgrade_stored_config(run.run_info["config"]))
    raw[METHODS[raw["method"]].section] = raw.pop("settings", {})
    return raw


def _value_at(raw: dict[str, Any], key: str) -> Any:
    node: Any = raw
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def changed_setup(run: RunDir, overrides: Sequence[Override]) -> RunSetup:
    """The run's setup with `overrides` applied; ConfigError naming each key it may not change, and why."""
    origins = Origins(str(run.run_json), overrides)
    before = _raw_config(run)
    method = METHODS[before["method"]]
    after = apply_overrides(_raw_config(run), overrides, dataset_keys(METHODS, before["method"]))
    setup = setup_of(parse_config(after, origins, METHODS), origins)
    problems = []
    for override in overrides:
        if _value_at(before, override.key) == _value_at(after, override.key):
            continue  # setting a key to the value it has changes nothing
        reason = refusal(override.key, before["method"])
        if reason is not None:
            problems.append(f"{override.origin}: cannot be changed on resume: {reason}")
    if problems:
        raise ConfigError("\n".join(problems))
    completed = rounds_done(run)
    planned = method.planned_rounds(setup.settings)
    if planned is not None and planned < completed and method.resumable_keys:
        key = method.resumable_keys[0]
        raise ConfigError(f"{origins.where(key)}: {planned} is fewer than the {completed} {method.round_name}s "
                          "the run has completed")
    return setup


def record_changes(run: RunDir, setup: RunSetup, overrides: Sequence[Override]) -> None:
    """Write the changed config to run.json, with a line in its `changes` saying what was set when."""
    info = dict(run.run_info)
    new = setup.config.model_dump(mode="json")
    if new == info["config"]:
        return
    info["config"] = new
    info["changes"] = [*info.get("changes", []), {"at": time.time(), "set": {o.key: o.value for o in overrides}}]
    run.replace_run_info(info)
