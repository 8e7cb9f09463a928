"""The measuring half of an export that writes one model (ga_blocks, comflp): once the pruned model is written,
its sizes, its WER on the search and held-out sets beside the unpruned model's, its speed measured against it,
and the report contract's keys for both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gridprune.engine import single_model_report


def evaluation_sets(config: Any) -> dict[str, Any]:
    """The sets an export scores on, by the prefix of their report keys: "" (search), "heldout_" (if any)."""
    from gridprune.data import read_hrl

    sets = {"": read_hrl(config.data.path, config.data.audio_dir)}
    if config.heldout:
        sets["heldout_"] = read_hrl(config.heldout.path, config.heldout.audio_dir)
    return sets


def measure_one_model(checkpoint: Any, exported: Any, out: Path, config: Any, label: str, *,
                      threads: int | None = None, rounds: int | None = None) -> dict[str, Any]:
    """The report keys of `exported` (written to `out`) against the unpruned `checkpoint`: sizes, WERs, speed
    (on `threads` threads over `rounds` rounds; None: the defaults) and the contract's `models`, `headline`
    (`label`) and `baseline`."""
    from gridprune.models.export import measure_wers, pair_fields, size_report
    from gridprune.models.speed import DEFAULT_ROUNDS, DEFAULT_THREADS, DEFAULT_UTTERANCES, compare_speed

    threads = threads or DEFAULT_THREADS
    sets = evaluation_sets(config)
    report = size_report(checkpoint.model, checkpoint.path, exported, out)
    report.update(measure_wers(checkpoint.model, exported, checkpoint.processor, sets, threads))
    speed = compare_speed(checkpoint.model, exported, checkpoint.processor, sets[""].head(DEFAULT_UTTERANCES).audio(),
                          rounds=rounds or DEFAULT_ROUNDS, threads=threads)
    report.update(speed.report())
    report["speed_summary"] = speed.describe()
    baseline, fields = pair_fields(report, speed)
    report.update(single_model_report(label, fields, config.model, baseline))
    return report
