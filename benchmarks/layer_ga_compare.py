"""The per-layer mask GA: gridprune's operators against the original's, against magnitude pruning at the same
sparsity, sequential against independent, and the decodes early rejection saves.

    python benchmarks/layer_ga_compare.py [--seeds 0 1 2] [--units weight neuron] [--evaluations 70] [--population 10]
        [--search search80.hrl] [--heldout heldout80.hrl]
        [--runs-dir runs/layer_ga_compare] [--masks search magnitude] [--independent] [--digits] [--set KEY=VALUE ...] [--json OUT.json]

Each variant is one `gridprune run configs/layer_ga_demo.yaml` (local backend, 2 workers) on the demo model, all
four encoder layers, search on search80.hrl, held-out on heldout80.hrl, WER ceiling unpruned + 0.02 (spread
over the targets for both operator sets), no fine-tune (finetune_steps and final_steps 0: the searches alone
are compared), the same number of mask evaluations per target for both operator sets. For each run:
- the sparsity reached per target and overall, and the WERs, from its export report (and the measured decode
  speedup for unit neuron);
- magnitude pruning at the same sparsity, held-out WER: per target at the GA's per-target sparsity, and global
  (one threshold over all the targets' genes at the GA's overall sparsity; for unit weight this is PARP's
  one-shot prune of the same weights);
- early rejection: the utterances the mask evaluations decoded against the whole search set per evaluation;
- the wall time of the search (the seconds of the rounds that searched or repaired).
`--digits` adds the digits CNN (configs/layer_ga_digits.yaml) for each operator set, with its fine-tunes and
without, and magnitude pruning (no update) at the GA's per-layer sparsities: the fair comparison is the one
without fine-tunes.
A finished run directory is read, not run again; with --read-only, nothing is run and what has not finished is
left out (it says so).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from common import REPO, print_table, set_options, write_json

from gridprune.store import RunDir

EXAMPLES = REPO / "wav_files_example"
DEMO = REPO / "configs" / "layer_ga_demo.yaml"
DIGITS = REPO / "configs" / "layer_ga_digits.yaml"
DIGITS_HELDOUT = str(REPO / "gridprune" / "examples" / "digits" / "heldout.txt")


def run_to_end(config: Path, run_dir: Path, overrides: list[str], read_only: bool = False) -> RunDir | None:
    """The exported run in `run_dir` (run, or resumed if a former call left it unfinished); with `read_only`,
    None unless it is exported already."""
    from gridprune.runs import is_exported

    if read_only:
        exported = (run_dir / "run.json").is_file() and is_exported(RunDir.open(run_dir))
        return RunDir.open(run_dir) if exported else None
    if not (run_dir / "run.json").is_file():
        subprocess.run([sys.executable, "-m", "gridprune.cli", "run", str(config), "--run-dir", str(run_dir),
                        *set_options(overrides)], check=True)
    elif not is_exported(RunDir.open(run_dir)):
        subprocess.run([sys.executable, "-m", "gridprune.cli", "resume", str(run_dir)], check=True)
    return RunDir.open(run_dir)


def rejection_counts(run: RunDir) -> dict[str, int]:
    """Mask evaluations, the utterances they decoded and how many were rejected."""
    from gridprune.engine.outcome import load_outcome

    evaluations = decoded = rejected = 0
    seen = set()
    for path in sorted((run.root / "generations").glob("*.json")):
        round_ = json.loads(path.read_text())
        for key, trial in zip(round_["keys"], round_["trials"]):
            if trial["kind"] != "evaluate_mask" or key in seen:
                continue
            seen.add(key)
            outcome = load_outcome(run, key)
            if outcome is None or not outcome.ok or outcome.metrics.get("utterances") is None:
                continue
            evaluations += 1
            decoded += outcome.metrics["utterances"]
            rejected += bool(outcome.metrics["rejected"])
    return {"evaluations": evaluations, "decoded": decoded, "rejected": rejected}


def magnitude_heldout(report: dict[str, Any], unit: str, heldout: Path) -> dict[str, float]:
    """Held-out WER of magnitude masks at the GA's sparsities: per target, and one global threshold."""
    import numpy as np

    from gridprune.data import read_hrl
    from gridprune.methods.layer_ga.operators import magnitude_mask
    from gridprune.methods.layer_ga.targets import apply_mask, magnitude_scores
    from gridprune.models import load_checkpoint
    from gridprune.models.evaluator import decode_dataset

    checkpoint = load_checkpoint("demo")
    dataset = read_hrl(heldout)
    targets = {row["target"]: row["sparsity"] for row in report["targets"]}
    scores = {t: magnitude_scores(checkpoint.model, t, unit) for t in targets}

    def wer_with(masks: dict[str, np.ndarray]) -> float:
        model = copy.deepcopy(checkpoint.model)
        for target, keep in masks.items():
            apply_mask(model, target, unit, keep)
        return decode_dataset(model, checkpoint.processor, dataset).result.wer

    per_target = {t: magnitude_mask(scores[t], s) for t, s in targets.items()}
    pooled = np.concatenate([scores[t] for t in targets])
    keep = magnitude_mask(pooled, report["sparsity"])
    bounds = np.cumsum([0] + [len(scores[t]) for t in targets])
    global_masks = {t: keep[bounds[i]:bounds[i + 1]] for i, t in enumerate(targets)}
    return {"magnitude_per_target": wer_with(per_target), "magnitude_global": wer_with(global_masks)}


def search_seconds(run: RunDir) -> float:
    """The wall time of the rounds that searched or repaired (not the baseline, fine-tunes and final evaluation)."""
    stages = {json.loads(p.read_text())["round"]: json.loads(p.read_text())["stage"]
              for p in (run.root / "generations").glob("*.json")}
    return sum(row["seconds"] for row in run.read_history() if stages.get(row["round"]) in ("search", "repair"))


def demo_row(run: RunDir, unit: str, operators: str, mode: str, seed: int) -> dict[str, Any]:
    """One run's figures (module docstring)."""
    from gridprune.data import read_hrl

    config = run.run_info["config"]
    utterances = len(read_hrl(config["data"]["path"]).utterances)
    report = json.loads((run.best_dir / "report.json").read_text())
    model = report["models"][0]
    counts = rejection_counts(run)
    row = {"unit": unit, "operators": operators, "mode": mode, "seed": seed, "sparsity": report["sparsity"],
           "per_target": {r["target"]: r["sparsity"] for r in report["targets"]},
           "wer_before": report["baseline"]["wer_search"], "wer_search": model["wer_search"],
           "heldout_before": report["baseline"]["wer_heldout"], "wer_heldout": model["wer_heldout"],
           "params_kept": model["params"] / report["baseline"]["params"],
           "nonzero_kept": model["nonzero_params"] / report["baseline"]["nonzero_params"],
           "speedup": model["speedup"], "predicted": model["predicted_speedup"],
           "search_seconds": search_seconds(run), **counts,
           "decodes_saved": 1 - counts["decoded"] / (utterances * counts["evaluations"]) if counts["evaluations"]
           else None}
    row.update(magnitude_heldout(report, unit, Path(config["heldout"]["path"])))
    return row


def digits_row(run: RunDir, operators: str, finetuned: bool, seed: int) -> dict[str, Any]:
    """The digits CNN's figures: sparsity, test (held-out) accuracy, and magnitude pruning (no update) at the GA's
    per-layer sparsities."""
    from gridprune.examples.digits import accuracy, build
    from gridprune.methods.layer_ga.operators import magnitude_mask
    from gridprune.methods.layer_ga.targets import apply_mask, magnitude_scores

    report = json.loads((run.best_dir / "report.json").read_text())
    model = build()
    for row in report["targets"]:
        scores = magnitude_scores(model, row["target"], "weight")
        apply_mask(model, row["target"], "weight", magnitude_mask(scores, row["sparsity"]))
    return {"operators": operators, "finetuned": finetuned, "seed": seed, "sparsity": report["sparsity"],
            "accuracy_before": report["heldout_score_before"], "accuracy": report["heldout_score_after"],
            "search_accuracy": report["score_after"], "magnitude_accuracy": accuracy(model, DIGITS_HELDOUT)}


def generations(operators: str, evaluations: int, population: int) -> int:
    """The generations that give a target `evaluations` mask evaluations with either operator set."""
    per_generation = population * (2 if operators == "original" else 1)
    if (evaluations - population) % per_generation:
        raise SystemExit(f"--evaluations {evaluations}: population {population} plus a whole number of "
                         f"generations of {per_generation} (gridprune's and the original's) is needed")
    return (evaluations - population) // per_generation


def variants(operators: list[str], masks: list[str], independent: bool) -> list[tuple[str, str, str]]:
    """(operators, masks, mode) of each run a seed and unit get: the original's operators search the genes, one
    layer after another; gridprune's every `masks` choice, sequential and (with `independent`) independent."""
    modes = ["sequential", "independent"] if independent else ["sequential"]
    return [(ops, kind, mode) for kind in masks for ops in operators for mode in modes
            if ops == "gridprune" or (kind == "search" and mode == "sequential")]


def mean_rows(rows: list[dict[str, Any]], by: tuple[str, ...], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """`rows` averaged over seeds per value of the `by` keys (a field is None where a row lacks it), with the
    spread (population standard deviation) of sparsity and held-out WER."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in by), []).append(row)
    out = []
    for key, members in groups.items():
        mean = {f: statistics.fmean(m[f] for m in members) if all(m.get(f) is not None for m in members) else None
                for f in fields}
        spread = {f"{f}_sd": statistics.pstdev(m[f] for m in members) if mean[f] is not None and len(members) > 1
                  else None for f in ("sparsity", "wer_heldout") if f in fields}
        out.append({**dict(zip(by, key)), "seeds": len(members), **mean, **spread})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--units", nargs="*", default=["weight", "neuron"])
    parser.add_argument("--operators", nargs="+", default=["gridprune", "original"])
    parser.add_argument("--evaluations", type=int, default=70, help=(
        "mask evaluations per target for either operator set: the population, then gridprune's generations of "
        "population children or the original's of 2 x population (its steps of two)"))
    parser.add_argument("--population", type=int, default=10)
    parser.add_argument("--search", type=Path, default=EXAMPLES / "search80.hrl", help="the demo runs' search set")
    parser.add_argument("--heldout", type=Path, default=EXAMPLES / "heldout80.hrl", help="their held-out set")
    parser.add_argument("--masks", nargs="+", default=["search"], choices=["search", "magnitude"], help=(
        "gridprune's masks: searched gene by gene, or magnitude masks at searched sparsities (the original's "
        "operators always search the genes)"))
    parser.add_argument("--independent", action="store_true", help="also gridprune's operators, independent mode")
    parser.add_argument("--digits", action="store_true", help="also the digits CNN")
    parser.add_argument("--read-only", action="store_true", help="read the finished runs only; run nothing")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/layer_ga_compare"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    rows = []
    for seed in args.seeds:
        for unit in args.units:
            for operators, masks, mode in variants(args.operators, args.masks, args.independent):
                name = f"{unit}_{operators}{'' if masks == 'search' else '-' + masks}_{mode}_s{seed}"
                overrides = [f"data={args.search}", f"heldout={args.heldout}", f"seed={seed}", f"layer_ga.unit={unit}",
                             f"layer_ga.operators={operators}", f"layer_ga.masks={masks}",
                             f"layer_ga.mode={mode}", f"layer_ga.population={args.population}",
                             f"layer_ga.generations={generations(operators, args.evaluations, args.population)}",
                             "layer_ga.finetune_steps=0", "layer_ga.final_steps=0", *args.overrides]
                run = run_to_end(DEMO, args.runs_dir / name, overrides, args.read_only)
                if run is None:
                    print(f"{name}: not finished, left out", flush=True)
                    continue
                rows.append({**demo_row(run, unit, operators, mode, seed), "masks": masks})
                print(json.dumps({k: v for k, v in rows[-1].items() if k != "per_target"}), flush=True)
    fields = ("sparsity", "wer_search", "wer_heldout", "magnitude_per_target", "magnitude_global", "speedup",
              "predicted", "search_seconds", "evaluations", "decodes_saved")
    summary = mean_rows(rows, ("unit", "operators", "masks", "mode"), fields)
    print_table(summary, [("unit", "unit", ""), ("operators", "operators", ""), ("masks", "masks", ""),
                          ("mode", "mode", ""),
                          ("seeds", "seeds", "d"), ("sparsity", "sparsity", ".3f"), ("sparsity_sd", "sd", ".3f"),
                          ("wer_search", "WER search", ".4f"), ("wer_heldout", "held-out", ".4f"),
                          ("magnitude_per_target", "mag/target", ".4f"), ("magnitude_global", "mag global", ".4f"),
                          ("speedup", "speedup", ".2f"), ("predicted", "FLOPs", ".2f"),
                          ("search_seconds", "seconds", ".0f"), ("evaluations", "evals", ".0f"),
                          ("decodes_saved", "saved", ".3f")])
    digits = []
    if args.digits:
        for seed in args.seeds:
            for operators in args.operators:
                for finetuned in (True, False):
                    steps = [] if finetuned else ["layer_ga.finetune_steps=0", "layer_ga.final_steps=0"]
                    name = f"digits_{operators}_{'ft' if finetuned else 'noft'}_s{seed}"
                    run = run_to_end(DIGITS, args.runs_dir / name,
                                     [f"seed={seed}", f"layer_ga.operators={operators}", *steps, *args.overrides],
                                     args.read_only)
                    if run is None:
                        print(f"{name}: not finished, left out", flush=True)
                        continue
                    digits.append(digits_row(run, operators, finetuned, seed))
        digits_summary = mean_rows(digits, ("operators", "finetuned"),
                                   ("sparsity", "accuracy_before", "search_accuracy", "accuracy",
                                    "magnitude_accuracy"))
        print_table(digits_summary, [("operators", "operators", ""), ("finetuned", "fine-tuned", ""),
                                     ("seeds", "seeds", "d"), ("sparsity", "sparsity", ".4f"),
                                     ("accuracy_before", "test before", ".4f"),
                                     ("search_accuracy", "search after", ".4f"), ("accuracy", "test after", ".4f"),
                                     ("magnitude_accuracy", "magnitude test", ".4f")])
    write_json(args.json, {"evaluations_per_target": args.evaluations, "population": args.population, "rows": rows, "summary": summary, "digits": digits})


if __name__ == "__main__":
    main()
