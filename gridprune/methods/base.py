"""`MethodBase`: the defaults of a method's optional hooks, and the checks and key context methods share.

A method subclasses it and sets `name`, `section`, `Settings` and `summary`, then implements
`kinds`, `new_strategy`, `restore_strategy` and `export`; everything else has a default here.
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

from gridprune.checkpoint_files import EncoderShape, check_checkpoint_folder, encoder_shape, resolve_model_path
from gridprune.engine import Column, Outcome, Strategy, Trial
from gridprune.sections import ConfigValueError, Section
from gridprune.store import RunDir


def model_shape(config: Any) -> EncoderShape:
    """The checked checkpoint folder of `config.model` and its encoder's shape (no torch)."""
    if not isinstance(config.model, str):
        raise ConfigValueError("model", f"{config.method} prunes wav2vec2 checkpoints: give a checkpoint folder "
                                        "(a factory model, any torch model, is for layer_ga)")
    path = resolve_model_path(config.model)
    check_checkpoint_folder(path)
    return encoder_shape(path)


class MethodBase:
    """A pruning method as a job type (`gridprune.engine.Method`), with the optional hooks' defaults."""

    name: ClassVar[str]
    section: ClassVar[str]  # the config key of its settings
    Settings: ClassVar[type[Section]]
    summary: ClassVar[str]  # one line: what it prunes and how (`gridprune methods`)
    columns: ClassVar[Sequence[Column]] = ()
    round_name: ClassVar[str] = "round"
    resumable_keys: ClassVar[Sequence[str]] = ()  # keys `resume --set` may change, e.g. "ga.generations"
    datasets: ClassVar[Sequence[str]] = ()  # keys of its section that take a dataset (e.g. "train")
    value_name: ClassVar[str] = "WER"  # what a trial's value is
    lower_is_better: ClassVar[bool] = True
    has_best: ClassVar[bool] = True  # False where the result is a set of points (a sweep), none "the best"
    key_format: ClassVar[int | None] = None  # bumped when what a trial's outcome depends on changes

    def check(self, config: Any, settings: Any) -> None:
        """The checkpoint folder is one gridprune can load (no torch); methods add their own checks."""
        model_shape(config)

    def unchangeable(self) -> dict[str, str]:
        """Every key of its section but the resumable ones: the saved strategy was built with them."""
        return {f"{self.section}.{name}": "the saved search state was built with it"
                for name in self.Settings.model_fields if f"{self.section}.{name}" not in self.resumable_keys}

    def planned_rounds(self, settings: Any) -> int | None:
        return None

    def resize(self, state: dict[str, Any], settings: Any) -> dict[str, Any]:
        """The saved state unchanged: a method without resumable keys never resizes."""
        return state

    def key_context(self, run: RunDir, config: Any, settings: Any) -> dict[str, Any]:
        """The method, the model and search-set fingerprints (run.json), and `key_settings`."""
        info = run.run_info
        context = {"method": self.name, "model_fingerprint": info["model_fingerprint"],
                   "dataset_fingerprint": info["dataset_fingerprint"]}
        if self.key_format is not None:
            context["format"] = self.key_format
        return {**context, **self.key_settings(config, settings)}

    def key_settings(self, config: Any, settings: Any) -> dict[str, Any]:
        """What else changes every trial's outcome (settings that are not in the trials' params)."""
        return {}

    def round_columns(self, strategy: Strategy, trials: Sequence[Trial], outcomes: Sequence[Outcome]) -> dict[str, Any]:
        return {}

    def status_fields(self, status: dict[str, Any]) -> dict[str, Any]:
        return {}

    def status_lines(self, status: dict[str, Any]) -> list[str]:
        """Lines `gridprune status` prints after the rounds."""
        return []


def check_model_layers(config: Any, key: str = "model") -> int:
    """The encoder's layer count; ConfigValueError naming `key` if it has none to prune."""
    layers = model_shape(config).layers
    if layers < 1:
        raise ConfigValueError(key, f"{config.model} has no encoder layers to prune")
    return layers
