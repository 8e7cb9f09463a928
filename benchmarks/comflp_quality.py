"""How well CoMFLP chooses layers to drop on the demo model, against every set and against GLP.

    python benchmarks/comflp_quality.py [--drops 1 2] [--rounds R] [--threads T] [--skip-coarse] [--json OUT.json]

On the demo model (4 encoder layers): every set of `drop` layers is evaluated, by WER on the
search set (wav_files_example/dev.hrl) and on the held-out set (heldout.hrl), from cached hidden
states as the method's evaluation tasks do. For each correlation measure (DC bias-corrected, the
default; DC as the original computes it; SVCCA) the layer correlation matrix is computed once on
the search set, beam search (width 10) ranks the sets, and CoMFLP keeps the lowest search-set WER
among its top K candidates (K = 10, the default, and K = 1, the coarse search's own first choice).
GLP removes one layer per step by search-set WER. Each row counts the evaluations it used. The
choice of the default (DC bias-corrected, K = 10) is exported with fewer layers: parameters and the
decode speedup (gridprune.models.speed, R rounds). Then the coarse search's time on the 12- and
24-layer random shapes (benchmarks/comflp_coarse.py).
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

from common import REPO, machine, print_table, write_json

MEASURES = {
    "DC (bias-corrected)": {"measure": "dc", "bias_corrected": True},
    "DC (original V-statistic)": {"measure": "dc", "bias_corrected": False},
    "SVCCA": {"measure": "svcca"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drops", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=7, help="rounds of the speed measurement")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-coarse", action="store_true", help="skip the 12/24-layer coarse search timing")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import torch
    from transformers import Wav2Vec2ForCTC

    from gridprune.data import read_hrl
    from gridprune.methods.comflp.settings import ComflpSettings, analysis_params
    from gridprune.methods.comflp.tasks import correlation_matrix
    from gridprune.models import load_checkpoint
    from gridprune.models.layers import DroppedLayerEvaluator, dataset_pooled_states, save_dropped
    from gridprune.models.pruning import count_parameters
    from gridprune.models.speed import DEFAULT_UTTERANCES, compare_speed
    from gridprune.search.layer_sets import GreedyLayerRemoval, beam_search

    torch.set_num_threads(args.threads)
    checkpoint = load_checkpoint("demo")
    search_set = read_hrl(REPO / "wav_files_example" / "dev.hrl")
    heldout = read_hrl(REPO / "wav_files_example" / "heldout.hrl")
    layers = len(checkpoint.model.wav2vec2.encoder.layers)
    on_search = DroppedLayerEvaluator(checkpoint, search_set)
    on_heldout = DroppedLayerEvaluator(checkpoint, heldout)
    states, states_seconds = dataset_pooled_states(checkpoint, search_set)
    matrices, matrix_seconds = {}, {}
    for name, options in MEASURES.items():
        settings = ComflpSettings.model_validate({"drop": 1, **options})
        started = time.perf_counter()
        matrices[name] = correlation_matrix(states, analysis_params(settings, seed=0))
        matrix_seconds[name] = time.perf_counter() - started

    payload: dict = {"machine": machine(), "layers": layers, "search_utterances": len(search_set),
                     "heldout_utterances": len(heldout), "states_seconds": states_seconds,
                     "matrix_seconds": matrix_seconds, "matrices": {k: v.tolist() for k, v in matrices.items()},
                     "drops": {}}
    for drop in args.drops:
        sets = list(itertools.combinations(range(layers), drop))
        wer = Scores(on_search)  # every set GLP passes through is scored too
        held = Scores(on_heldout)
        rows = [{"chooser": f"every set ({len(sets)})", "dropped": _show(min(sets, key=lambda s: (wer[s], s))),
                 "wer": min(wer[s] for s in sets), "heldout": held[min(sets, key=lambda s: (wer[s], s))],
                 "evaluations": len(sets)}]
        scores = {}
        for name, matrix in matrices.items():
            ranked = beam_search(matrix, drop, beam=10, candidates=10)
            scores[name] = {_show(c.layers): c.score for c in ranked}
            for k in (1, 10):
                top = ranked[:k]
                chosen = min(top, key=lambda c: wer[c.layers]).layers  # min keeps the earlier rank on ties
                rows.append({"chooser": f"CoMFLP {name}, K={k}", "dropped": _show(chosen), "wer": wer[chosen],
                             "heldout": held[chosen], "evaluations": len(top)})
        glp = GreedyLayerRemoval(layers, drop)
        used = 0
        while not glp.done:
            asked = glp.ask()
            used += len(asked)
            glp.tell(asked, [wer[s] for s in asked])
        rows.append({"chooser": "GLP", "dropped": _show(glp.removed), "wer": wer[glp.removed],
                     "heldout": held[glp.removed], "evaluations": used})
        print(f"\ndrop {drop} of {layers} layers (search set {len(search_set)} utterances, held-out {len(heldout)}):")
        print_table(rows, [("chooser", "chooser", "s"), ("dropped", "dropped", "s"), ("wer", "WER", ".4f"),
                           ("heldout", "held-out WER", ".4f"), ("evaluations", "evaluations", "d")])
        every = [{"dropped": _show(s), "wer": wer[s], "heldout": held[s],
                  **{name: scores[name].get(_show(s)) for name in matrices}} for s in sets]
        print_table(every, [("dropped", "set", "s"), ("wer", "WER", ".4f"), ("heldout", "held-out", ".4f"),
                            *[(name, f"score {name.split(' (')[0]}{'-V' if 'original' in name else ''}", ".4f")
                              for name in matrices]])
        default = next(r for r in rows if r["chooser"] == f"CoMFLP {next(iter(MEASURES))}, K=10")
        export = _export(checkpoint, [int(i) for i in default["dropped"].split(",")], search_set, args,
                         save_dropped, Wav2Vec2ForCTC, count_parameters, compare_speed, DEFAULT_UTTERANCES)
        print(f"exported ({default['chooser']}, drop {default['dropped']}): {export['params_before']} -> "
              f"{export['params_after']} parameters ({export['params_after'] / export['params_before']:.3f}); "
              f"{export['speed']}")
        payload["drops"][str(drop)] = {"rows": rows, "sets": every, "export": export}

    if not args.skip_coarse:
        from comflp_coarse import coarse_rows

        coarse = coarse_rows(80, 5)
        print("\ncoarse search on random pooled states (80 utterances), medians of 5:")
        print_table(coarse, [("shape", "shape", "s"), ("layers", "layers", "d"), ("drop", "drop", "d"),
                             ("dc_seconds", "DC s", ".4f"), ("dc_u_seconds", "DC(U) s", ".4f"),
                             ("svcca_seconds", "SVCCA s", ".4f"), ("beam_seconds", "beam10 s", ".4f"),
                             ("greedy_seconds", "greedy s", ".4f")])
        payload["coarse"] = coarse
    print(f"\npooled hidden states of the demo search set: {states_seconds:.2f} s; matrices: "
          + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in matrix_seconds.items()))
    write_json(args.json, payload)


class Scores(dict):
    """WER of each set of dropped layers, decoded on first use."""

    def __init__(self, evaluator):
        super().__init__()
        self.evaluator = evaluator

    def __missing__(self, dropped: tuple[int, ...]) -> float:
        self[dropped] = self.evaluator.evaluate(dropped).result.wer
        return self[dropped]


def _show(layers) -> str:
    return ",".join(map(str, layers))


def _export(checkpoint, dropped, search_set, args, save_dropped, model_class, count_parameters, compare_speed,
            utterances) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        save_dropped(checkpoint, dropped, Path(folder))
        smaller = model_class.from_pretrained(folder, local_files_only=True).float().eval()
        speed = compare_speed(checkpoint.model, smaller, checkpoint.processor, search_set.head(utterances).audio(),
                              rounds=args.rounds, threads=args.threads)
        return {"dropped": dropped, "layers_after": smaller.config.num_hidden_layers,
                "params_before": count_parameters(checkpoint.model), "params_after": count_parameters(smaller),
                **speed.report(), "speed": speed.describe()}


if __name__ == "__main__":
    main()
