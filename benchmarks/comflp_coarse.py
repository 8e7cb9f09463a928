"""Time of CoMFLP's coarse search: the layer correlation matrix, then the search over it.

    python benchmarks/comflp_coarse.py [--utterances N] [--repeats R] [--threads T]
        [--no-demo] [--data HRL] [--json OUT.json]

For the 12-layer shape of wav2vec2-base (768 wide) and the 24-layer shape of
XLSR-53 (1024 wide), random pooled hidden states of N utterances (default 80)
stand in for a model's; timed: the distance correlation matrix (batches of 32,
10 batches, and its bias-corrected variant), the SVCCA matrix (threshold 0.99),
then beam search (width 10), greedy search and, where it is allowed, exhaustive
search, each dropping half the layers and returning 10 candidates. Medians of R
runs. With the demo model (unless --no-demo): the time to collect the pooled
hidden states of every layer boundary for each utterance of --data
(default wav_files_example/dev.hrl): reading the audio, the front end and
every encoder layer, as the analysis task does.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np

from common import REPO, print_table, write_json
from gridprune.analysis.correlation import distance_correlation_matrix, svcca_matrix
from gridprune.search.layer_sets import (
    DEFAULT_EXHAUSTIVE_LIMIT,
    beam_search,
    exhaustive_search,
    greedy_search,
    layer_set_count,
)

SHAPES = {"base": (12, 768), "large": (24, 1024)}


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def coarse_rows(utterances: int, repeats: int) -> list[dict]:
    rows = []
    for name, (layers, width) in SHAPES.items():
        rng = np.random.default_rng(0)
        states = rng.standard_normal((layers + 1, utterances, width))
        dc = distance_correlation_matrix(states)
        drop = layers // 2
        row = {
            "shape": name, "layers": layers, "width": width, "utterances": utterances, "drop": drop,
            "dc_seconds": median_seconds(lambda: distance_correlation_matrix(states), repeats),
            "dc_u_seconds": median_seconds(lambda: distance_correlation_matrix(states, bias_corrected=True), repeats),
            "svcca_seconds": median_seconds(lambda: svcca_matrix(states), repeats),
            "beam_seconds": median_seconds(lambda: beam_search(dc, drop, beam=10, candidates=10), repeats),
            "greedy_seconds": median_seconds(lambda: greedy_search(dc, drop, candidates=10), repeats),
            "sets": layer_set_count(layers, drop),
            "exhaustive_seconds": None,
        }
        if row["sets"] <= DEFAULT_EXHAUSTIVE_LIMIT:
            row["exhaustive_seconds"] = median_seconds(lambda: exhaustive_search(dc, drop, candidates=10), repeats)
        rows.append(row)
    return rows


def demo_collection(data: Path, repeats: int) -> dict:
    from gridprune.data import read_hrl
    from gridprune.models import load_checkpoint
    from gridprune.models.layers import dataset_pooled_states

    checkpoint = load_checkpoint("demo")
    dataset = read_hrl(data)
    states, _ = dataset_pooled_states(checkpoint, dataset)  # warm-up, files in the page cache
    seconds = median_seconds(lambda: dataset_pooled_states(checkpoint, dataset), repeats)
    return {"data": str(data.relative_to(REPO)) if data.is_relative_to(REPO) else str(data),
            "utterances": len(dataset.utterances), "boundaries": int(states.shape[0]), "seconds": seconds,
            "seconds_per_utterance": seconds / len(dataset.utterances)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--utterances", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (default 1)")
    parser.add_argument("--no-demo", action="store_true", help="skip the hidden-state collection on the demo model")
    parser.add_argument("--data", type=Path, default=REPO / "wav_files_example" / "dev.hrl")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads)
    except ImportError:
        pass
    rows = coarse_rows(args.utterances, args.repeats)
    print_table(rows, [("shape", "shape", "s"), ("layers", "layers", "d"), ("width", "width", "d"),
                       ("utterances", "N", "d"), ("drop", "drop", "d"), ("dc_seconds", "DC s", ".4f"),
                       ("dc_u_seconds", "DC(U) s", ".4f"), ("svcca_seconds", "SVCCA s", ".4f"),
                       ("beam_seconds", "beam10 s", ".4f"), ("greedy_seconds", "greedy s", ".4f"),
                       ("sets", "sets", "d"), ("exhaustive_seconds", "exhaustive s", ".4f")])
    payload: dict = {"threads": args.threads, "repeats": args.repeats, "coarse": rows}
    if not args.no_demo:
        import torch

        torch.set_num_threads(args.threads)
        demo = demo_collection(args.data.resolve(), args.repeats)
        print(f"\npooled hidden states, demo model, {demo['data']}: {demo['utterances']} utterances x "
              f"{demo['boundaries']} boundaries in {demo['seconds']:.3f} s "
              f"({1000 * demo['seconds_per_utterance']:.1f} ms per utterance)")
        payload["demo_collection"] = demo
    write_json(args.json, payload)


if __name__ == "__main__":
    main()
