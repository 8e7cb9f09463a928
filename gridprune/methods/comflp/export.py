"""Export of CoMFLP's best set: the model without those layers, saved plain, and its report (the report
contract's one model: the export folder itself, labelled by the layers it lacks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gridprune.engine import artifact_dir, read_checkpoint
from gridprune.methods.one_model import measure_one_model
from gridprune.store import RunDir, StoreError


def best_dropped(run: RunDir) -> tuple[list[int], float, dict[str, Any]]:
    """The layers the best candidate drops, its recorded WER and the saved strategy state."""
    saved = read_checkpoint(run)
    if saved is None or saved["best"] is None:
        raise StoreError(f"{run.root}: no candidate has been scored yet; nothing to export")
    return list(saved["best"]["trial"]["params"]["dropped"]), saved["best"]["value"], saved["strategy"]


def export_best(run: RunDir, config: Any, settings: Any, out: Path, *, threads: int | None = None,
                rounds: int | None = None) -> dict[str, Any]:
    """Write the best candidate with fewer layers to `out` (plain transformers reloads it); its report."""
    from gridprune.models import load_checkpoint
    from gridprune.models.loading import load_model
    from gridprune.models.layers import save_dropped

    dropped, recorded, state = best_dropped(run)
    checkpoint = load_checkpoint(config.model)
    layers_before = len(checkpoint.model.wav2vec2.encoder.layers)
    out = Path(out)
    save_dropped(checkpoint, dropped, out)
    exported = load_model(out)
    report: dict[str, Any] = {"method": "comflp", "dropped_layers": dropped, "layers_before": layers_before,
                              "layers_after": exported.config.num_hidden_layers, "wer_recorded": recorded,
                              "measure": None if state["search"] == "glp" else state["analysis"]["measure"],
                              "search": state["search"]}
    named = ", ".join(map(str, dropped))
    report.update(measure_one_model(checkpoint, exported, out, config, f"without layers {named}", threads=threads,
                                    rounds=rounds))
    report.update(_search_keys(run, state))
    which = "layer" if len(dropped) == 1 else "layers"
    report["summary"] = (f"removed encoder {which} {named} (numbered from 0) of the {layers_before}: "
                         f"{layers_before} -> {report['layers_after']} layers; {report['params_after']:,} of "
                         f"{report['params_before']:,} parameters kept ({report['params_kept']:.1%})")
    return report


def _search_keys(run: RunDir, state: dict[str, Any]) -> dict[str, Any]:
    """What the search did: the matrix (and where it lies in the run directory), the candidates and their WERs."""
    wers = {tuple(w["dropped"]): w["wer"] for w in state["wers"]}
    keys: dict[str, Any] = {"evaluations": len(wers)}
    if state["search"] == "glp":
        keys["glp_steps"] = state["glp"]["history"]
        keys["candidates"] = [{"dropped": list(layers), "wer": wer} for layers, wer in wers.items()]
        return keys
    folder = artifact_dir(run, state["matrix_key"])
    keys["matrix_path"] = str((folder / "matrix.json").relative_to(run.root))
    keys["matrix_key"] = state["matrix_key"]
    keys["coarse_seconds"] = state["coarse_seconds"]
    keys["analysis"] = state["analysis"]
    keys["candidates"] = [{"dropped": c["dropped"], "score": c["score"], "wer": wers.get(tuple(c["dropped"]))}
                          for c in state["coarse"]]
    return keys
