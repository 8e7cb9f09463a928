"""Exact early rejection: an evaluation under a WER ceiling stops once the corpus WER is sure to be above it,
and otherwise is the full evaluation; on the demo model and `wav_files_example/dev.hrl`."""

import dataclasses
import math
from pathlib import Path

import pytest
import torch

from gridprune.data import read_hrl
from gridprune.models import Evaluation, Evaluator, load_checkpoint
from gridprune.models.evaluator import decode_dataset
from gridprune.models.pruning import FfnPruner
from gridprune.wer import WerCeiling, score

DEV = Path(__file__).resolve().parent.parent / "wav_files_example" / "dev.hrl"
GRANULARITY = 32
PRUNINGS = {  # layer -> FFN blocks removed
    "unpruned": {},
    "light": {1: list(range(0, 32, 4))},
    "heavy": {0: list(range(24)), 2: list(range(0, 32, 2)), 3: list(range(16, 32))},
    "gutted": {layer: list(range(32)) for layer in range(4)},
}


def without_time(evaluation: Evaluation) -> Evaluation:
    return dataclasses.replace(evaluation, seconds=0.0)


@pytest.fixture(scope="module")
def demo():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the demo model is small: more threads only contend on a busy machine
    checkpoint = load_checkpoint("demo")
    dataset = read_hrl(DEV)
    yield checkpoint, dataset, Evaluator(checkpoint, dataset)
    torch.set_num_threads(threads)


def ceilings_around(wer: float) -> list[float]:
    """Ceilings far below, just below, at and above `wer`."""
    return sorted({0.0, wer / 2, max(0.0, wer - 0.01), math.nextafter(wer, -math.inf), wer, wer + 0.01})


@pytest.mark.parametrize("name", PRUNINGS)
def test_each_decision_is_the_full_decodes(demo, name):
    checkpoint, dataset, evaluator = demo
    pruner = FfnPruner(checkpoint.model, GRANULARITY)
    try:
        model = pruner.apply(PRUNINGS[name])
        full = evaluator.evaluate(model)
        for ceiling in ceilings_around(full.result.wer):
            bounded = evaluator.evaluate(model, wer_ceiling=ceiling)
            assert bounded.rejected == (full.result.wer > ceiling), ceiling
            if bounded.rejected:
                decoded = len(bounded.indices)
                assert bounded.indices == full.indices[:decoded]
                assert bounded.hypotheses == full.hypotheses[:decoded]
                assert bounded.result.utterances == full.result.utterances[:decoded]
                assert bounded.result.wer > ceiling  # the decoded part alone is above the ceiling too
                if ceiling <= full.result.wer / 2:
                    assert decoded < len(dataset.utterances), ceiling
            else:
                assert without_time(bounded) == without_time(full), ceiling
    finally:
        pruner.restore()


def test_the_unpruned_model_at_its_own_wer_is_accepted(demo):
    _, dataset, evaluator = demo
    full = evaluator.evaluate()
    assert 0 < full.result.wer < 1 and full.result.wer == full.result.errors / full.result.words
    assert not evaluator.evaluate(wer_ceiling=full.result.wer).rejected
    first_error = next(i for i, u in enumerate(full.result.utterances) if u.errors)
    at_zero = evaluator.evaluate(wer_ceiling=0.0)
    assert at_zero.rejected and at_zero.indices == tuple(range(first_error + 1))


def test_subsets_and_the_original_split_are_bounded_alike(demo):
    _, _, evaluator = demo
    indices = [3, 1, 4, 15, 9, 2, 6]
    full = evaluator.evaluate(indices=indices, normalise=False)
    for ceiling in ceilings_around(full.result.wer):
        bounded = evaluator.evaluate(indices=indices, normalise=False, wer_ceiling=ceiling)
        assert bounded.rejected == (full.result.wer > ceiling)
        assert bounded.indices == tuple(indices[:len(bounded.indices)])
        if not bounded.rejected:
            assert without_time(bounded) == without_time(full)


def test_decode_dataset_takes_a_ceiling(demo):
    checkpoint, dataset, _ = demo
    full = decode_dataset(checkpoint.model, checkpoint.processor, dataset)
    assert without_time(decode_dataset(checkpoint.model, checkpoint.processor, dataset, full.result.wer)) == \
        without_time(full)
    rejected = decode_dataset(checkpoint.model, checkpoint.processor, dataset, wer_ceiling=0.0)
    assert rejected.rejected and len(rejected.indices) < len(dataset.utterances)
    assert rejected.hypotheses == full.hypotheses[:len(rejected.indices)]


def test_the_utterance_mean_cannot_be_bounded(demo):
    _, _, evaluator = demo
    with pytest.raises(ValueError, match="corpus WER only"):
        evaluator.evaluate(fitness_score="utterance_mean", wer_ceiling=0.5)
    assert evaluator.evaluate(indices=[0], fitness_score="utterance_mean").rejected is False


def running(references: list[str], hypotheses: list[str], ceiling: float, normalise: bool = True) -> list[bool]:
    """`exceeded` after each hypothesis."""
    ceiling_check = WerCeiling(references, ceiling, normalise)
    return [ceiling_check.add(h) for h in hypotheses]


def test_the_ceiling_is_exceeded_once_the_errors_so_far_pass_it():
    references = ["A B C D", "E F G H"]  # 8 words: a ceiling of 0.25 allows 2 errors
    assert running(references, ["A X Y D", "E F G H"], 0.25) == [False, False]  # WER == ceiling: accepted
    assert running(references, ["A X Y D", "E F G Z"], 0.25) == [False, True]
    assert running(references, ["X Y Z", "E F G H"], 0.25) == [True, True]  # known after the first
    assert running(references, ["", ""], 1.0) == [False, False]
    assert running(references, ["", "E F G H I"], 0.5) == [False, True]  # insertions count


def test_a_ceiling_scored_to_the_end_gives_scores_result():
    references = ["It's a pretrained model", "Hello,  world", "one two three"]
    hypotheses = ["ITS A PRETRAINED MODEL", "hello world", "one two three four"]
    for normalise in (True, False):
        full = score(references, hypotheses, normalise)
        check = WerCeiling(references, full.wer, normalise)
        assert check.words == full.words
        assert [check.add(h) for h in hypotheses] == [False] * 3
        assert check.result == full and check.errors == full.errors
    assert WerCeiling(references, 0, normalise=True).words == 9
    assert WerCeiling(references, 0, normalise=False).words == 10  # the double space makes an empty word
    with pytest.raises(ValueError, match="no words"):
        WerCeiling(["A", "..."], 0.5)
    with pytest.raises(ValueError, match="already scored"):
        running(["A"], ["A", "A"], 0.5)


def test_ties_are_exact_for_every_ratio():
    """Whatever the float rounding of errors / words, a ceiling equal to the WER accepts and the next float below
    rejects, as the full decode's `wer > ceiling` decides."""
    for words in range(1, 31):
        reference = " ".join(f"W{i}" for i in range(words))
        for errors in range(words + 1):
            hypothesis = " ".join(["X"] * errors + [f"W{i}" for i in range(errors, words)])
            wer = score([reference], [hypothesis]).wer
            assert wer == errors / words
            assert running([reference], [hypothesis], wer) == [False]
            assert running([reference], [hypothesis], math.nextafter(wer, -math.inf)) == [True]
