"""PARP against one-shot magnitude pruning on the demo model, the sweep's parallel wall time, and the
updates a SIGKILLed training task loses.

    python benchmarks/parp_sweep.py [--points 0.1,...,0.9] [--steps 120] [--reprune-every 30]
        [--lr 1e-4] [--schedule constant] [--distill 0.5] [--batch-size 4] [--seeds 0 1 2]
        [--progressive-start 0.3] [--progressive-points 0.7,0.9]
        [--workers 2] [--compare-points 0.5,0.9] [--save-every 20] [--kill-after 50]
        [--runs-dir runs/parp_sweep] [--parts sweep compare kill] [--data dev.hrl] [--heldout heldout.hrl]
        [--json OUT.json]

--parts runs only the named measurements (all three by default); the JSON holds only what ran.

1. The sweep: every point pruned one-shot and with PARP (the same number of updates at each point),
   PARP-P at --progressive-points; WER on --data and --heldout (default: dev.hrl, heldout.hrl), through the local
   backend with --workers worker processes (1 thread each); once per --seeds, with the means over them.
2. Parallel against one after another: the points of --compare-points swept on the local backend,
   then the same trials in this process one after another on one thread, each into a fresh run.
3. A training task SIGKILLed once it is --kill-after updates in, then run again: the updates it
   redid (at most --save-every).
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

from common import REPO, print_table, write_json

from gridprune.backends.inprocess import InProcessBackend
from gridprune.backends.local import LocalBackend
from gridprune.config import RunConfig
from gridprune.engine import (
    WorkerFactory,
    execute,
    make_task,
    run_method,
    trial_key,
)
from gridprune.methods.parp import Parp
from gridprune.methods.parp.settings import ParpSettings
from gridprune.store import RunDir
from gridprune.training.schedule import SCHEDULES
from gridprune.training.status import read_live

EXAMPLES = REPO / "wav_files_example"


def floats(text: str) -> list[float]:
    return [float(item) for item in text.split(",") if item]


def make_config(args: argparse.Namespace, seed: int | None = None) -> RunConfig:
    """The run config of the benchmark; `seed` defaults to the first of --seeds."""
    return RunConfig(method="parp", model="demo", data=str(args.data), heldout=str(args.heldout),
                     seed=args.seeds[0] if seed is None else seed)


def new_run(run_dir: Path, config: RunConfig) -> RunDir:
    """An empty run directory whose run.json names the method and the fingerprints its trials are keyed by."""
    from gridprune.checkpoint_files import checkpoint_fingerprint, resolve_model_path
    from gridprune.data import read_hrl

    return RunDir.create(run_dir, {"method": "parp", "created_at": time.time(),
                                   "model_fingerprint": checkpoint_fingerprint(resolve_model_path(config.model)),
                                   "dataset_fingerprint": read_hrl(config.data.path).fingerprint()})


def make_settings(args: argparse.Namespace, points: list[float], progressive: list[float]) -> ParpSettings:
    section = {"sparsity": points, "steps": args.steps, "reprune_every": args.reprune_every, "lr": args.lr,
               "schedule": args.schedule, "distill": args.distill, "batch_size": args.batch_size,
               "save_every": args.save_every, "train": str(EXAMPLES / "train.hrl")}
    if progressive:
        section["progressive"] = {"start": args.progressive_start, "sparsity": progressive}
    return ParpSettings.model_validate(section)


def sweep(run_dir: Path, config: RunConfig, settings: ParpSettings, backend_name: str,
          workers: int) -> tuple[float, object]:
    """Run the sweep into a fresh run directory; (wall seconds, strategy)."""
    method = Parp()
    method.check(config, settings)
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    run = new_run(run_dir, config)
    kinds = dict(method.kinds(config, settings))
    if backend_name == "local":
        backend = LocalBackend(WorkerFactory(str(run.root), kinds), workers=workers, threads=1, max_retries=1)
    else:
        backend = InProcessBackend(run, kinds, max_retries=1, threads=1)  # one worker's share, as each local worker has
    started = time.perf_counter()
    try:
        strategy = run_method(method, run, config, settings, backend)
    finally:
        backend.close()
    return time.perf_counter() - started, strategy


def killed_and_resumed(run_dir: Path, config: RunConfig, settings: ParpSettings, kill_after: int) -> dict:
    """SIGKILL a PARP training task once it has made `kill_after` updates, run it again; what it redid."""
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    run = new_run(run_dir, config)
    method = Parp()
    trial = next(t for t in method.new_strategy(run, config, settings).trials if t.label.startswith("parp "))
    task = make_task(trial, trial_key(trial, method.key_context(run, config, settings)))
    script = (f"from gridprune.engine import execute\nfrom gridprune.store import RunDir\n"
              f"from gridprune.methods.parp import Parp\nfrom gridprune.methods.parp.settings import ParpSettings\n"
              f"from gridprune.config import RunConfig\n"
              f"config = RunConfig.model_validate({config.model_dump(mode='json')!r})\n"
              f"settings = ParpSettings.model_validate({settings.model_dump(mode='json')!r})\n"
              f"handler = Parp().kinds(config, settings)['train'].factory(1)\n"
              f"execute(handler, {task!r}, RunDir.open({str(run.root)!r}))\n")
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    folder = run.root / "progress" / task["key"]
    while (read_live(folder) or {}).get("step", 0) < kill_after:
        if child.poll() is not None:
            raise SystemExit(f"the training task ended (code {child.returncode}) before it was killed")
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    reached = read_live(folder)["step"]
    handler = Parp().kinds(config, settings)["train"].factory(1)
    outcome = execute(handler, task, run)
    return {"killed_at_step": reached, "resumed_from": outcome.metrics["resumed_from"],
            "steps_redone": outcome.metrics["steps_redone"], "save_every": settings.save_every,
            "steps": outcome.metrics["steps"]}


def sweep_part(args: argparse.Namespace) -> dict:
    """1. The sweep: one-shot, PARP and PARP-P at every point, once per seed; the means over the seeds."""
    settings = make_settings(args, args.points, [p for p in args.progressive_points if p in args.points])
    per_seed, seconds = {}, {}
    for seed in args.seeds:
        seconds[seed], strategy = sweep(args.runs_dir / f"sweep_seed{seed}", make_config(args, seed), settings,
                                        "local", args.workers)
        per_seed[seed] = strategy.points()
        unpruned = strategy.scores["unpruned"]["metrics"]
        print(f"sweep, seed {seed}: {len(per_seed[seed])} trained models, {seconds[seed]:.0f} s on {args.workers} "
              f"workers; unpruned WER dev {unpruned['wer']:.4f}, held-out {unpruned['heldout_wer']:.4f}")
    table = mean_table(per_seed)
    spread = len(args.seeds) > 1
    print(f"WER, mean over seeds {args.seeds}" + (" (min-max of PARP held-out)" if spread else ""))
    columns = [("sparsity", "sparsity", ".1f"), ("one_shot_dev", "one-shot dev", ".4f"),
               ("parp_dev", "PARP dev", ".4f"), ("parp_p_dev", "PARP-P dev", ".4f"),
               ("one_shot_heldout", "one-shot held-out", ".4f"), ("parp_heldout", "PARP held-out", ".4f"),
               ("parp_p_heldout", "PARP-P held-out", ".4f")]
    if spread:
        columns += [("parp_heldout_min", "min", ".4f"), ("parp_heldout_max", "max", ".4f")]
    print_table(table, columns)
    wins = [p["sparsity"] for p in table if p["sparsity"] >= 0.5 and p.get("parp_heldout") is not None
            and p["parp_heldout"] < p["one_shot_heldout"]]
    print(f"PARP below one-shot on held-out at sparsity >= 0.5: {wins}")
    return {"settings": settings.model_dump(mode="json"), "seeds": args.seeds, "sweep_seconds": seconds,
            "unpruned": unpruned, "rows": per_seed, "table": table, "parp_wins_heldout": wins}


def mean_table(per_seed: dict[int, list[dict]]) -> list[dict]:
    """Per sparsity and variant: the mean WER over the seeds on both sets, the min and max on held-out."""
    collected: dict[float, dict[str, list[float]]] = {}
    for rows in per_seed.values():
        for row in rows:
            point = collected.setdefault(row["sparsity"], {})
            prefix = row["variant"].replace("-", "_")
            for name, value in ((f"{prefix}_dev", row["wer"]), (f"{prefix}_heldout", row["heldout_wer"])):
                if value is not None:
                    point.setdefault(name, []).append(value)
    table = []
    for sparsity in sorted(collected):
        values = collected[sparsity]
        row = {"sparsity": sparsity, **{name: sum(v) / len(v) for name, v in values.items()},
               "seeds_averaged": {name: len(v) for name, v in values.items()}}  # fewer where a task failed
        if "parp_heldout" in values:
            row["parp_heldout_min"], row["parp_heldout_max"] = min(values["parp_heldout"]), max(values["parp_heldout"])
        table.append(row)
    return table


def compare_part(args: argparse.Namespace) -> dict:
    """2. The points of --compare-points on the local backend, then one after another in this process."""
    compare = make_settings(args, args.compare_points, [])
    parallel, _ = sweep(args.runs_dir / "compare_local", make_config(args), compare, "local", args.workers)
    serial, _ = sweep(args.runs_dir / "compare_serial", make_config(args), compare, "inprocess", args.workers)
    print(f"points {args.compare_points}: {parallel:.0f} s on the local backend ({args.workers} workers), "
          f"{serial:.0f} s one after another in one process: {serial / parallel:.2f}x")
    return {"compare": {"points": args.compare_points, "local_seconds": parallel, "serial_seconds": serial,
                        "workers": args.workers}}


def kill_part(args: argparse.Namespace) -> dict:
    """3. A training task SIGKILLed and run again."""
    settings = make_settings(args, [0.5], [])
    kill = killed_and_resumed(args.runs_dir / "kill", make_config(args), settings, args.kill_after)
    print(f"killed at update {kill['killed_at_step']}, resumed from {kill['resumed_from']}: "
          f"{kill['steps_redone']} updates redone (save every {kill['save_every']})")
    return {"kill": kill}


PARTS = {"sweep": sweep_part, "compare": compare_part, "kill": kill_part}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=EXAMPLES / "dev.hrl", help="the set WER is measured on")
    parser.add_argument("--heldout", type=Path, default=EXAMPLES / "heldout.hrl", help="the held-out set")
    parser.add_argument("--points", type=floats, default=[round(0.1 * i, 1) for i in range(1, 10)])
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--reprune-every", type=int, default=30)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--schedule", choices=SCHEDULES, default="constant")
    parser.add_argument("--distill", type=float, default=0.5,
                        help="weight of distillation from the unpruned model (0: CTC alone, as the paper)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="the sweep once per run seed (the trainings' batch order); the table has the means")
    parser.add_argument("--progressive-start", type=float, default=0.3)
    parser.add_argument("--progressive-points", type=floats, default=[0.7, 0.9])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--compare-points", type=floats, default=[0.5, 0.9])
    parser.add_argument("--save-every", type=int, default=20)
    parser.add_argument("--kill-after", type=int, default=50)
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/parp_sweep"))
    parser.add_argument("--parts", nargs="+", choices=list(PARTS), default=list(PARTS),
                        help="the measurements to run (default all three)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    figures: dict = {}
    for name, part in PARTS.items():
        if name in args.parts:
            figures.update(part(args))
    total = time.perf_counter() - started
    print(f"benchmark: {total:.0f} s")
    write_json(args.json, {**figures, "total_seconds": total})


if __name__ == "__main__":
    main()
