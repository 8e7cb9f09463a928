"""Export of an SRP sweep: each trained model with its removed groups physically gone (FFN rows and columns, q/k
rows, v rows and out_proj columns; attention with the original scaling), loadable by `gridprune.load_pruned`,
and one report in the report contract: one model per point (`<point>/`), the smallest keep its headline.

Models of one keep have the same shapes, so one of them is timed against the unpruned model per keep and
its speed stands for all of that keep (the report's summary says so).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from gridprune.engine import BASELINE_LABEL, EngineError, artifact_dir, model_entry
from gridprune.methods.srp.scoring import SELECTION_FILE, selection_of
from gridprune.methods.srp.strategy import SrpSweep, headline
from gridprune.methods.sweep import UNPRUNED
from gridprune.store import RunDir


def _slug(label: str) -> str:
    return re.sub(r"[^\w.+-]+", "_", label.replace(" k=", "_k"))


def physically_pruned(model: Any, selection: dict[str, Any]) -> Any:
    """`model` (a trained SRP model, its removed groups zero) with those groups removed, in place (the attention
    left whole where no dimension goes)."""
    from gridprune.models.structured import remove_structured

    plan = selection["plan"]
    if plan["qk_removed"] or plan["v_removed"]:
        return remove_structured(model, selection["ffn"], selection["qk"], selection["v"])
    return remove_structured(model, selection["ffn"])


def export_sweep(sweep: SrpSweep | None, run: RunDir, config: Any, out: Path, *, threads: int | None = None,
                 rounds: int | None = None) -> dict[str, Any]:
    """Write every evaluated point of `sweep` (as `run` saved it) to out/<label>/ and return the sweep's report."""
    from gridprune.data import read_hrl
    from gridprune.models import load_checkpoint
    from gridprune.models.export import contract_fields, size_report, speed_fields
    from gridprune.models.loading import load_pruned
    from gridprune.models.pruned import save_model
    from gridprune.models.speed import (
        DEFAULT_ROUNDS,
        DEFAULT_THREADS,
        DEFAULT_UTTERANCES,
        compare_speed,
    )

    if sweep is None or sweep.scored is None:
        raise EngineError(f"{run.root}: the groups have not been scored yet; nothing to export")
    if not sweep.scored["ok"]:
        raise EngineError(f"{run.root}: scoring the groups failed ({sweep.scored['metrics'].get('error')}); "
                          "nothing to export")
    selections = json.loads((artifact_dir(run, sweep.scored["key"]) / SELECTION_FILE).read_text())
    before = (sweep.scores.get(UNPRUNED) or {}).get("metrics", {})
    base = load_checkpoint(config.model)
    audio = read_hrl(config.data.path, config.data.audio_dir).head(DEFAULT_UTTERANCES).audio()
    out.mkdir(parents=True, exist_ok=True)
    points, timed, base_speed = [], {}, {}
    for row in sweep.points():
        if row["key"] is None or row["wer"] is None:
            continue  # not trained or not evaluated (yet)
        folder = out / _slug(row["label"])
        selection = selection_of(selections, row["keep"])
        model = physically_pruned(load_pruned(artifact_dir(run, row["key"]) / "model"), selection)
        layout = save_model(model, base.processor, folder)
        if row["keep"] not in timed:
            speed = compare_speed(base.model, model, base.processor, audio, rounds=rounds or DEFAULT_ROUNDS,
                                  threads=threads or DEFAULT_THREADS)
            base_speed, timed[row["keep"]] = speed_fields(speed)
        points.append({**row, "layout": layout, "plan": selection["plan"], "folder": folder.name,
                       **size_report(base.model, base.path, model, folder),
                       "wer_before": before.get("wer"), "wer_after": row["wer"],
                       "heldout_wer_before": before.get("heldout_wer"), "heldout_wer_after": row["heldout_wer"],
                       "speed": timed[row["keep"]]})
    if not points:
        raise EngineError(f"{run.root}: no trained model has been evaluated yet; nothing to export")
    main = headline(points)
    report: dict[str, Any] = {"method": "srp", "points": points, "headline": main,
                              "wer_before": before.get("wer"), "heldout_wer_before": before.get("heldout_wer")}
    report["models"] = [model_entry(p["folder"], p["label"], **contract_fields(p, "after"), **p["speed"])
                        for p in points]
    report["baseline"] = model_entry(config.model, BASELINE_LABEL, **contract_fields(points[0], "before"),
                                     **base_speed)
    report["summary"] = "\n".join([
        f"a sweep of {len(points)} points, each a physically pruned model in <point>/ (gridprune.load_pruned)",
        f"headline: {main}, the smallest keep evaluated",
        "one model per keep is timed; the others of that keep have the same shapes and take its speed"])
    return report
