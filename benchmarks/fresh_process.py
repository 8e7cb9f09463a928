"""One evaluation the way the original design ran it: a fresh process per individual.

    python benchmarks/fresh_process.py MODEL DATA.hrl CHROMOSOME_JSON [--granularity G] [--utterances N]

Imports the libraries, loads the checkpoint, prunes it by slicing, decodes the
dataset through the whole model (no cached front end) and prints the WER as
JSON. `throughput.py` runs it as the baseline; the process is timed from outside.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("chromosome", help='JSON: {"<layer>": [pruned blocks...]}')
    parser.add_argument("--granularity", type=int, default=32)
    parser.add_argument("--utterances", type=int, help="decode only the first N utterances")
    args = parser.parse_args(argv)

    import torch

    from gridprune.data import read_hrl
    from gridprune.models import load_checkpoint
    from gridprune.models.evaluator import decode_dataset
    from gridprune.models.pruning import FfnPruner

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    checkpoint = load_checkpoint(args.model)
    dataset = read_hrl(args.data).head(args.utterances)
    pruned = {int(layer): blocks for layer, blocks in json.loads(args.chromosome).items()}
    model = FfnPruner(checkpoint.model, args.granularity).apply(pruned)
    evaluation = decode_dataset(model, checkpoint.processor, dataset)
    print(json.dumps({"wer": evaluation.result.wer, "decode_seconds": evaluation.seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
