"""What the benchmark scripts share: the models they measure, the machine, tables, JSON, memory.

Models are named `demo` (the shipped demo model), `base` (random weights in the
shape of wav2vec2-base: 12 post-norm layers, 768 wide, FFN 3072) and `large`
(random weights in the shape of XLSR-53: 24 pre-norm layers, 1024 wide, FFN
4096), or given as a checkpoint folder. Random models are built once, with the
demo model's tokenizer, into `--models-dir` and reused.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from gridprune.store import RunDir

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_DATA = REPO / "wav_files_example" / "example.hrl"
GRANULARITY = 32  # FFN blocks per layer in every benchmark, as in the paper
DEFAULT_MODELS_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gridprune" / "benchmark-models"

RANDOM_SHAPES: dict[str, dict[str, Any]] = {
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                 feat_extract_norm="group", do_stable_layer_norm=False, conv_bias=False),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                  feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True),
}


def model_path(name: str, models_dir: Path = DEFAULT_MODELS_DIR) -> str:
    """A checkpoint folder for `name`: `demo`, `base`, `large` (built on first use) or a folder path."""
    if name == "demo":
        from gridprune.checkpoint_files import DEMO_MODEL

        return str(DEMO_MODEL)
    if name not in RANDOM_SHAPES:
        return name
    folder = models_dir / name
    if not (folder / "config.json").is_file():
        _build_random_checkpoint(RANDOM_SHAPES[name], folder)
    return str(folder)


def _build_random_checkpoint(shape: dict[str, Any], folder: Path) -> None:
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    from gridprune.models import load_checkpoint

    demo = load_checkpoint("demo")
    tokenizer = demo.processor.tokenizer
    torch.manual_seed(0)
    config = Wav2Vec2Config(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **shape)
    model = Wav2Vec2ForCTC(config).eval()
    part = folder.with_name(folder.name + ".part")
    model.save_pretrained(part)
    demo.processor.save_pretrained(part)
    part.rename(folder)  # a half-written model is never taken for a finished one


def add_model_arguments(parser) -> None:
    """`--models-dir`, shared by every script that measures random-weight models."""
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR,
                        help=f"where random-weight models are built and kept (default {DEFAULT_MODELS_DIR})")


def task_key(index: int) -> str:
    """A valid result key (64 hex digits) for the `index`-th task of a benchmark."""
    return hashlib.sha256(str(index).encode()).hexdigest()


def random_chromosomes(layers: int, prune: float, count: int, seed: int) -> list[dict[str, list[int]]]:
    """`count` chromosomes, as a worker's task takes them, pruning the share `prune` of every layer's blocks."""
    import numpy as np

    from gridprune.methods.ga_blocks import chromosome_mapping
    from gridprune.search import SearchSpace, random_chromosome

    space = SearchSpace(tuple(range(layers)), GRANULARITY, (round(prune * GRANULARITY),) * layers)
    rng = np.random.default_rng(seed)
    return [chromosome_mapping(random_chromosome(space, rng), space) for _ in range(count)]


def finished_run(config: Path, run_dir: Path, cli_args: list[str]) -> RunDir:
    """The finished run in `run_dir`: `gridprune run CONFIG` with `cli_args` first if there is none there yet."""
    from gridprune.runs import status_of
    from gridprune.store import RunDir

    if not (run_dir / "run.json").is_file():
        subprocess.run([sys.executable, "-m", "gridprune.cli", "run", str(config), "--run-dir", str(run_dir), *cli_args],
                       check=True)
    run = RunDir.open(run_dir)
    if not status_of(run)["finished"]:
        raise SystemExit(f"{run_dir}: the run has not finished; `gridprune resume {run_dir}` first")
    return run


def set_options(overrides: list[str]) -> list[str]:
    """`--set KEY=VALUE` arguments of the gridprune command for each override."""
    return [item for override in overrides for item in ("--set", override)]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import torch
    import transformers

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(memory_kb / 2**20, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]]) -> None:
    """Print `rows` as aligned columns; each column is (key, heading, format spec)."""
    cells = [[heading for _, heading, _ in columns]]
    for row in rows:
        cells.append(["-" if row.get(key) is None else format(row[key], spec) for key, _, spec in columns])
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    for line in cells:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths)))


def write_json(path: Path | None, payload: dict[str, Any]) -> None:
    """Write the figures with the machine they were measured on."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"machine": machine(), **payload}, indent=2) + "\n")
        print(f"figures written to {path}")


def memory_mib() -> dict[str, float]:
    """This process's resident memory now (`rss`) and at its peak (`peak`), in MiB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {"rss": int(fields["VmRSS"].split()[0]) / 1024, "peak": int(fields["VmHWM"].split()[0]) / 1024}
