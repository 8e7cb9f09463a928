"""SRP against one-shot structured pruning and one-shot plus the same fine-tuning, on the demo model, over seeds.

    python benchmarks/srp_sweep.py [--keeps 0.8,0.6,0.4] [--seeds 0 1 2] [--scores taylor_abs signed l1]
        [--finetuned-scores taylor_abs l1] [--runs-dir runs/srp_sweep] [--set KEY=VALUE ...] [--json OUT.json]

For each seed and score, one `gridprune run configs/srp_demo.yaml` (local backend) with the keeps, search on
search80.hrl and held-out on heldout80.hrl: SRP and one-shot removal of the groups that score chooses (no
update); for the --finetuned-scores also the one-shot model fine-tuned with as many updates as SRP makes. Each
exported model's parameters, size on disk, WERs and decode speedup (measured against the unpruned model, and as
its FLOPs predict) come from the run's export report. A finished run directory is read, not run again; one that
was stopped is resumed (`gridprune resume`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from common import REPO, print_table, set_options, write_json

from gridprune.runs import is_exported
from gridprune.store import RunDir

EXAMPLES = REPO / "wav_files_example"
CONFIG = REPO / "configs" / "srp_demo.yaml"


def run_to_end(run_dir: Path, overrides: list[str]) -> RunDir:
    """The exported run in `run_dir`: run `configs/srp_demo.yaml` with `overrides` there, or resume the run a
    former call left unfinished (its own settings: `overrides` are not compared with them)."""
    if not (run_dir / "run.json").is_file():
        subprocess.run([sys.executable, "-m", "gridprune.cli", "run", str(CONFIG), "--run-dir", str(run_dir),
                        *set_options(overrides)], check=True)
    elif not is_exported(RunDir.open(run_dir)):
        subprocess.run([sys.executable, "-m", "gridprune.cli", "resume", str(run_dir)], check=True)
    return RunDir.open(run_dir)


def sweep_rows(report: dict[str, Any], score: str, seed: int) -> list[dict[str, Any]]:
    """One row per exported model of a run's report."""
    rows = []
    for model, point in zip(report["models"], report["points"]):
        rows.append({"variant": point["variant"], "score": score, "seed": seed, "keep": point["keep"],
                     "kept": model["params"] / report["baseline"]["params"], "params": model["params"],
                     "bytes": model["bytes"], "wer_search": model["wer_search"], "wer_heldout": model["wer_heldout"],
                     "speedup": model["speedup"], "predicted": model["predicted_speedup"]})
    return rows


def means(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows averaged over seeds, per (variant, score, keep), with the speedup's share of the FLOP prediction."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["variant"], row["score"], row["keep"]), []).append(row)
    averaged = []
    for (variant, score, keep), members in sorted(groups.items(), key=lambda item: (-item[0][2], item[0][:2])):
        mean = {key: statistics.mean(r[key] for r in members) for key in
                ("kept", "params", "bytes", "wer_search", "wer_heldout", "speedup", "predicted")}
        averaged.append({"variant": variant, "score": score, "keep": keep, "seeds": len(members), **mean,
                         "heldout_min": min(r["wer_heldout"] for r in members),
                         "heldout_max": max(r["wer_heldout"] for r in members),
                         "of_predicted": mean["speedup"] / mean["predicted"]})
    return averaged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keeps", default="0.8,0.6,0.4")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--scores", nargs="+", default=["taylor_abs", "signed", "l1"])
    parser.add_argument("--finetuned-scores", nargs="*", default=["taylor_abs", "l1"])
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/srp_sweep"))
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    rows = []
    for seed in args.seeds:
        for score in args.scores:
            overrides = [f"seed={seed}", f"srp.score={score}", f"srp.keep=[{args.keeps}]",
                         f"srp.oneshot_finetune={'true' if score in args.finetuned_scores else 'false'}",
                         f"data={EXAMPLES / 'search80.hrl'}", f"heldout={EXAMPLES / 'heldout80.hrl'}",
                         *args.overrides]
            run = run_to_end(args.runs_dir / f"{score}_seed{seed}", overrides)
            report = json.loads((run.best_dir / "report.json").read_text())
            rows.extend(sweep_rows(report, score, seed))
    averaged = means(rows)
    print_table(averaged, [("variant", "variant", ""), ("score", "score", ""), ("keep", "keep", ".2f"),
                           ("kept", "kept", ".4f"), ("params", "params", ",.0f"), ("bytes", "bytes", ",.0f"),
                           ("wer_search", "WER search", ".4f"), ("wer_heldout", "WER held-out", ".4f"),
                           ("heldout_min", "min", ".4f"), ("heldout_max", "max", ".4f"),
                           ("speedup", "speedup", ".2f"), ("predicted", "FLOPs predict", ".2f"),
                           ("of_predicted", "of predicted", ".0%")])
    write_json(args.json, {"rows": rows, "means": averaged})


if __name__ == "__main__":
    main()
