"""The GA as the seed paper's code runs it, beside the paper's own operators.

Slot order, the asymmetric repeat branch of crossover, the elitism that writes the
best over the last child, the elite re-scored on each generation's subset, and the
fitness options (corpus or mean per-utterance WER, normalised or raw text, a
per-evaluation subsample), down to the results a worker writes.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from factories import make_checkpoint, write_dataset
from test_search import _bred_from  # what a search breeds with the random state it holds
from gridprune.engine import Trial, execute, make_task, trial_key
from gridprune.methods.ga_blocks import (KIND, FfnHandler, FfnWorkerSpec, FitnessSettings, chromosome_mapping, fitness_key,
                                         subsample_indices, subset_indices)
from gridprune.models.evaluator import scored
from gridprune.search import (
    GeneticSearch,
    SearchSpace,
    breed,
    canonical,
    crossover,
    crossover_layer,
    to_json,
)
from gridprune.store import RunDir
from test_search import SPACE, ScriptedRng

REPO = Path(__file__).resolve().parent.parent
A, B = 0.1, 0.9  # coins: below 0.5 picks parent a, otherwise parent b


# --- slot order -------------------------------------------------------------------------------


def test_identical_parents_give_that_parent_with_the_originals_operators():
    space = SearchSpace((0, 1, 2), 8, (3, 5, 1))
    parent = ((6, 1, 3), (7, 0, 5, 2, 4), (3,))
    for seed in range(30):
        rng = np.random.default_rng(seed)
        assert crossover(parent, parent, space, rng, "inherited", "original") == parent
    children = breed([parent] * 5, [1.0, 2.0, 3.0, 4.0, 5.0], 40, space, pressure=3.0, mutation_rate=0.0,
                     rng=np.random.default_rng(0), slot_order="inherited", variant="original")
    assert children == [parent] * 40
    # re-shuffling the slots first changes such a child (here most of the time)
    shuffled = [crossover(parent, parent, space, np.random.default_rng(s), "shuffled", "original") for s in range(30)]
    assert sum(child != canonical(parent) for child in shuffled) > 15


def _search_of(population, **options) -> GeneticSearch:
    """A search (the defaults unless ``options``) whose current population is ``population``."""
    state = GeneticSearch(SPACE, len(population), generations=5, seed=2, **options).state_dict()
    return GeneticSearch.from_state_dict(state | {"population": [to_json(c) for c in population]})


def test_slot_order_survives_a_generation_and_a_json_round_trip():
    ordered = ((7, 0, 5, 2, 1, 6, 4, 3), (15, 8, 9, 10, 14, 11, 12, 13), (10, 0, 8, 2, 6, 4),
               (4, 15, 3, 14, 2, 13, 1, 12, 0, 11))
    search = _search_of([ordered] * 6)
    assert search.ask() == [ordered] * 6
    search.tell(search.ask(), [3.0, 1.0, 2.0, 5.0, 4.0, 6.0])
    assert search.ask() == [ordered] * 6  # bred and kept, slot by slot
    assert search.best == (ordered, 1.0)
    state = json.loads(json.dumps(search.state_dict()))
    assert state["population"] == [to_json(ordered)] * 6 and state["best"]["chromosome"] == to_json(ordered)
    restored = GeneticSearch.from_state_dict(state)
    assert restored.ask() == [ordered] * 6 and restored.best == (ordered, 1.0)
    # sorted slots give the canonical form instead
    sorted_search = _search_of([ordered] * 6, slot_order="sorted")
    sorted_search.tell(sorted_search.ask(), [1.0] * 6)
    assert sorted_search.ask() == [canonical(ordered)] * 6


def test_mutation_keeps_the_slot_order_during_a_search():
    ordered = ((7, 0, 5, 2, 1, 6, 4, 3), (15, 8, 9, 10, 14, 11, 12, 13), (10, 0, 8, 2, 6, 4),
               (4, 15, 3, 14, 2, 13, 1, 12, 0, 11))
    search = _search_of([ordered] * 6, mutation_rate=0.2)
    search.tell(search.ask(), [1.0] * 6)
    children = search.ask()
    assert len(children) == 6 and all(child != ordered for child in children)
    for child in children:
        SPACE.validate(child)
        # a mutated gene takes its parent gene's slot, so about 80% of the slots still hold the parent's
        same_slot = sum(a == b for genes, parent in zip(child, ordered) for a, b in zip(genes, parent))
        assert same_slot >= 16  # of 32; a sorted child would keep 4


# --- crossover: paper against original ----------------------------------------------------------


@pytest.mark.parametrize(
    "genes_a, genes_b, coins, paper, original",
    [
        # (child, integers() drawn) per variant
        # the coin picks a and a's gene is free: both take it
        ((0, 1), (2, 3), [A, A], ((0, 1), []), ((0, 1), [])),
        # picks a, a's gene held, b's free: both take b's
        ((1, 2), (2, 0), [B, A], ((2, 0), []), ((2, 0), [])),
        # picks a, both held: both mutate (free blocks [0, 3], index 1 -> 3)
        ((0, 1, 2), (2, 0, 1), [B, A, A], ((2, 1, 3), [1]), ((2, 1, 3), [1])),
        # picks b and b's gene is free: both take it
        ((0, 1), (2, 3), [B, B], ((2, 3), []), ((2, 3), [])),
        # picks b, b's gene held, a's free: the paper takes a's, the original mutates
        # (free blocks [0, 2, 3], index 2 -> 3)
        ((1, 2), (0, 1), [A, B], ((1, 2), []), ((1, 3), [2])),
        # picks b, both held: both mutate (free blocks [0, 3], index 0 -> 0)
        ((0, 1, 2), (2, 0, 1), [B, A, B], ((2, 1, 0), [0]), ((2, 1, 0), [0])),
    ],
)
def test_paper_and_original_crossover_case_by_case(genes_a, genes_b, coins, paper, original):
    for variant, (expected, integers) in (("paper", paper), ("original", original)):
        rng = ScriptedRng(coins, integers=integers)
        assert crossover_layer(genes_a, genes_b, 4, rng, variant) == expected
        assert rng.randoms == [] and rng.integer_values == []  # exactly these draws, no more


def test_paper_and_original_crossover_differ_only_in_the_asymmetric_case():
    # every 2-slot layer pair over 4 blocks and every pair of coins: the variants differ
    # exactly when slot 1 picks b, b's gene is held and a's is not
    pairs = list(itertools.permutations(range(4), 2))
    differing = 0
    for genes_a, genes_b, coins in itertools.product(pairs, pairs, itertools.product((A, B), repeat=2)):
        first = genes_a[0] if coins[0] == A else genes_b[0]
        asymmetric = coins[1] == B and genes_b[1] == first and genes_a[1] != first
        # the original mutates to the first free block other than a's gene, which shows it did not take a's
        free = [g for g in range(4) if g != first]
        pick = next(i for i, g in enumerate(free) if g != genes_a[1])
        paper = crossover_layer(genes_a, genes_b, 4, ScriptedRng(list(coins), integers=[0]), "paper")
        original = crossover_layer(genes_a, genes_b, 4, ScriptedRng(list(coins), integers=[pick]), "original")
        assert (paper != original) == asymmetric, (genes_a, genes_b, coins)
        if asymmetric:
            differing += 1
            assert paper == (first, genes_a[1]) and original == (first, free[pick])
    assert differing > 0


# --- elitism ----------------------------------------------------------------------------------------


def test_original_elitism_overwrites_the_last_child_which_is_evaluated_again():
    search = GeneticSearch(SPACE, 6, elitism="original", generations=5, seed=3)
    first = search.ask()
    search.tell(first, [2.0, 1.0, 4.0, 3.0, 5.0, 6.0])
    assert search.best == (first[1], 1.0)

    second = search.ask()
    worse = [9.0, 7.0, 8.0, 9.0, 7.5, 8.5]
    bred = _bred_from(search, second, worse)  # from the generation as it is: no rescue into it
    search.tell(second, worse)
    third = search.ask()
    assert third == bred[:-1] + [first[1]]
    assert bred[-1] != first[1]
    assert search.best == (first[1], 1.0)

    # its new evaluation (the same data: the same fitness) counts as the generation's best
    fits = [3.0, 2.5, 4.0, 5.0, 6.0, 1.0]
    search.tell(third, fits)
    assert search.best == (first[1], 1.0)
    assert len(search.ask()) == 6


def test_paper_elitism_puts_the_best_into_breeding_and_not_into_the_next_generation():
    search = GeneticSearch(SPACE, 6, elitism="paper", generations=5, seed=3)
    first = search.ask()
    search.tell(first, [2.0, 1.0, 4.0, 3.0, 5.0, 6.0])
    second = search.ask()
    worse = [9.0, 7.0, 8.0, 9.0, 7.5, 8.5]
    rescued = [*second[:3], first[1], *second[4:]]
    expected = _bred_from(search, rescued, [9.0, 7.0, 8.0, 1.0, 7.5, 8.5])
    search.tell(second, worse)
    assert search.ask() == expected


@pytest.mark.parametrize("elitism, ties_update", [("original", True), ("paper", False)])
def test_ties_update_the_best_so_far_only_with_the_originals_elitism(elitism, ties_update):
    search = GeneticSearch(SPACE, 6, elitism=elitism, generations=5, seed=3)
    first = search.ask()
    search.tell(first, [2.0, 1.0, 4.0, 3.0, 5.0, 6.0])
    second = search.ask()
    assert first[1] not in second
    fits = [3.0, 4.0, 1.0, 5.0, 6.0, 7.0]
    expected = _bred_from(search, second, fits)  # a tie is no degradation: neither elitism acts
    search.tell(second, fits)
    assert search.best == ((second[2] if ties_update else first[1]), 1.0)
    assert search.ask() == expected


# --- the elite re-scored on each generation's data -------------------------------------------------


@pytest.mark.parametrize("elitism", ["paper", "original"])
def test_the_best_so_far_is_compared_on_the_current_generations_data(elitism):
    search = GeneticSearch(SPACE, 6, elitism=elitism, rescore_best=True, generations=5, seed=3)
    first = search.ask()
    assert len(first) == 6  # nothing to re-score yet
    search.tell(first, [2.0, 1.0, 4.0, 3.0, 5.0, 6.0])
    second = search.ask()
    assert len(second) == 7 and second[-1] == first[1]  # the best so far, to be scored on this generation's data
    with pytest.raises(ValueError, match="7 individuals"):
        search.tell(second, [1.0] * 6)
    # on the new data the elite scores 4.5: the generation's best (3.0) beats it, though not its old 1.0
    search.tell(second, [3.0, 5.0, 6.0, 7.0, 8.0, 9.0, 4.5])
    assert search.best == (second[0], 3.0)


def test_the_rescored_elite_goes_back_with_its_new_fitness_paper():
    search = GeneticSearch(SPACE, 6, elitism="paper", rescore_best=True, generations=5, seed=3)
    first = search.ask()
    search.tell(first, [2.0, 1.0, 4.0, 3.0, 5.0, 6.0])
    second = search.ask()
    assert second[-1] == first[1]
    rescued = [*second[:5], first[1]]  # the worst (9.0) makes way for the elite, at its new 2.0
    expected = _bred_from(search, rescued, [3.0, 5.0, 6.0, 7.0, 8.0, 2.0])
    search.tell(second, [3.0, 5.0, 6.0, 7.0, 8.0, 9.0, 2.0])
    assert search.best == (first[1], 2.0)
    assert search.ask()[:6] == expected
    # the next comparison is against 2.0 scored again, not the old 1.0 nor 2.0
    third = search.ask()
    search.tell(third, [1.5, 5.0, 6.0, 7.0, 8.0, 9.0] + [1.8] * (len(third) - 6))
    assert search.best == (third[0], 1.5) if len(third) == 7 else search.best[1] <= 1.5


def test_the_rescored_elite_is_the_last_child_with_the_originals_elitism():
    search = GeneticSearch(SPACE, 6, elitism="original", rescore_best=True, generations=5, seed=3)
    first = search.ask()
    search.tell(first, [2.0, 1.0, 4.0, 3.0, 5.0, 6.0])
    second = search.ask()
    search.tell(second, [3.0, 5.0, 6.0, 7.0, 8.0, 9.0, 2.0])  # the elite, re-scored at 2.0, stays best
    assert search.best == (first[1], 2.0)
    third = search.ask()
    assert len(third) == 6 and third[-1] == first[1]  # in the population: no extra evaluation
    search.tell(third, [3.0, 4.0, 5.0, 6.0, 7.0, 3.5])  # scored 3.5 on this generation's data
    assert search.best == (third[0], 3.0)


def test_an_elite_already_in_the_population_is_not_asked_twice():
    search = GeneticSearch(SPACE, 6, elitism="paper", keep_best=1, rescore_best=True, generations=5, seed=3)
    first = search.ask()
    search.tell(first, [2.0, 1.0, 4.0, 3.0, 5.0, 6.0])
    second = search.ask()
    assert len(second) == 6 and second[-1] == first[1]  # keep_best copied it
    search.tell(second, [3.0, 5.0, 6.0, 7.0, 8.0, 0.5])
    assert search.best == (first[1], 0.5)


# --- fitness options -----------------------------------------------------------------------------------

REFERENCES = ["Hello, world.", "the  cat sat", "b c."]
HYPOTHESES = ["HELLO WORLD", "THE CAT SAT", ""]


@pytest.mark.parametrize(
    "score, normalise, fitness, other",
    [
        # normalised: 0/2, 0/3, 2/2 (empty hypothesis): corpus 2/7, mean (0 + 0 + 1)/3
        ("corpus", True, 2 / 7, 1 / 3),
        ("utterance_mean", True, 1 / 3, 2 / 7),
        # the original's split: "hello," "world." are 2 substitutions of 2; "the  cat sat" has an
        # empty fourth word, deleted: 1 of 4; "b c." against nothing: 2 of 2;
        # corpus 5/8, mean (1 + 1/4 + 1)/3
        ("corpus", False, 5 / 8, 0.75),
        ("utterance_mean", False, 0.75, 5 / 8),
    ],
)
def test_each_fitness_option_on_hand_made_transcripts(score, normalise, fitness, other):
    evaluation = scored(REFERENCES, HYPOTHESES, (0, 1, 2), 0.5, fitness_score=score, normalise=normalise)
    assert evaluation.fitness == pytest.approx(fitness, abs=1e-12)
    corpus, mean = (fitness, other) if score == "corpus" else (other, fitness)
    assert evaluation.result.wer == pytest.approx(corpus, abs=1e-12)
    assert evaluation.result.utterance_mean == pytest.approx(mean, abs=1e-12)
    assert evaluation.fitness_score == score
    with pytest.raises(ValueError, match="fitness score"):
        scored(REFERENCES, HYPOTHESES, (0, 1, 2), 0.5, fitness_score="median")


def test_fitness_settings_are_validated():
    assert FitnessSettings() == FitnessSettings(subset=None, score="corpus", normalise=True, subsample=None)
    FitnessSettings(subsample=1)
    for bad in (dict(subsample=0.0), dict(subsample=1.5), dict(score="mean"), dict(normalise="yes")):
        with pytest.raises(ValueError):
            FitnessSettings(**bad)


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    root = tmp_path_factory.mktemp("worker")
    model = make_checkpoint(root / "model", stable_layer_norm=True)
    data = write_dataset(root / "data", ["One,  two.", "THREE", "four five six"])
    run = RunDir.create(root / "run", {"note": "test"})
    return run, {(score, normalise): FfnHandler(FfnWorkerSpec(model=str(model), data=str(data), granularity=8,
                                                              start_layer=0, score=score, normalise=normalise), 1)
                 for score, normalise in itertools.product(["corpus", "utterance_mean"], [True, False])}


def ga_key(chrom, model: str, data: str, space: SearchSpace, fitness: FitnessSettings, indices=None) -> str:
    """The key `ga_blocks` gives the result of `chrom` scored on `indices`."""
    trial = Trial(KIND, {"blocks": chromosome_mapping(chrom, space), "indices": indices})
    context = {"method": "ga_blocks", "model_fingerprint": model, "dataset_fingerprint": data}
    return trial_key(trial, {**context, **fitness_key(space, fitness)})


@pytest.mark.parametrize("score, normalise", itertools.product(["corpus", "utterance_mean"], [True, False]))
def test_the_worker_records_both_wers_and_which_is_the_fitness(worker, score, normalise):
    run, handlers = worker
    fitness = FitnessSettings(score=score, normalise=normalise)
    space = SearchSpace((0, 1), 8, (2, 2))
    key = ga_key([[1, 2], [0, 7]], "model", "data", space, fitness)
    trial = Trial(KIND, {"blocks": {"0": [1, 2], "1": [0, 7]}, "indices": None})
    record = run.read_result(execute(handlers[score, normalise], make_task(trial, key), run).key)
    metrics = record["metrics"]
    assert metrics["fitness_score"] == score and metrics["normalise"] is normalise
    assert record["value"] == metrics["wer" if score == "corpus" else "utterance_mean_wer"]
    assert metrics["wer"] == pytest.approx(metrics["errors"] / metrics["words"])
    # "One,  two." is 2 words normalised, 3 split on single spaces (an empty one between)
    assert metrics["words"] == (2 + 1 + 3 if normalise else 3 + 1 + 3)


def test_fitness_options_are_part_of_the_result_key():
    space = SearchSpace((0, 1), 8, (2, 2))

    def key(chrom, indices=None, **fitness):
        return ga_key(chrom, "model", "data", space, FitnessSettings(**fitness), indices)

    keys = {key([[1, 2], [0, 7]]), key([[1, 2], [0, 7]], score="utterance_mean"),
            key([[1, 2], [0, 7]], normalise=False), key([[1, 2], [0, 7]], subsample=0.8),
            key([[1, 2], [0, 7]], indices=[0, 2]), key([[1, 3], [0, 7]])}
    assert len(keys) == 6
    # the slot order is not: equal block sets share one result
    assert key([[2, 1], [7, 0]]) == key([[1, 2], [0, 7]])


def test_subsample_is_a_reproducible_fraction_per_generation_and_individual():
    draws = {(g, i): subsample_indices(20, None, 0.8, seed=4, generation=g, individual=i)
             for g in range(3) for i in range(4)}
    assert all(len(d) == 16 and d == sorted(set(d)) and all(0 <= x < 20 for x in d) for d in draws.values())
    assert len({tuple(d) for d in draws.values()}) == len(draws)
    assert subsample_indices(20, None, 0.8, seed=4, generation=1, individual=2) == draws[1, 2]
    assert subsample_indices(20, None, 0.8, seed=5, generation=1, individual=2) != draws[1, 2]
    subset = subset_indices(20, 10, seed=4, generation=1)
    drawn = subsample_indices(20, subset, 0.25, seed=4, generation=1, individual=0)
    assert len(drawn) == 3 and set(drawn) <= set(subset)  # 2.5 rounds up: the nearest, half up
    assert subsample_indices(20, subset, None, 4, 1, 0) == subset
    assert subsample_indices(20, None, 1.0, 4, 1, 0) is None
    assert subsample_indices(3, None, 0.01, 4, 1, 0) is not None and len(subsample_indices(3, None, 0.01, 4, 1, 0)) == 1


# --- end to end: a search with a per-generation subset on the demo model --------------------------------


def gridprune(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "gridprune.cli", *map(str, args)], capture_output=True, text=True)
    if check and proc.returncode:
        raise AssertionError(f"gridprune {args} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def subset_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("subset")
    config = root / "search.yaml"
    config.write_text(
        f"method: ga_blocks\nmodel: demo\ndata: {REPO / 'wav_files_example' / 'example.hrl'}\nseed: 1\n"
        "local: {workers: 1, threads_per_worker: 1}\nfitness: {subset: 4}\n"
        "ga: {population: 4, generations: 4, granularity: 32, pruned_blocks: 16, layers: [2, 3]}\n")
    gridprune("run", config, "--run-dir", root / "run")
    return root / "run"


def test_the_elite_is_rescored_on_every_new_subset(subset_run):
    run = RunDir.open(subset_run)
    space = SearchSpace((2, 3), 32, (16, 16))
    generations = [json.loads(p.read_text()) for p in sorted(run.generations_dir.glob("*.json"))]
    history = run.read_history()
    assert len(generations) == len(history) == 4
    for g, generation in enumerate(generations):
        records = [run.read_result(key) for key in generation["keys"]]
        indices = subset_indices(15, 4, seed=1, generation=g)
        assert all(record["status"] == "ok" and record["metrics"]["utterances"] == 4 for record in records)
        fitness = {}
        for chrom, record in zip(generation["population"], records):
            fitness.setdefault(canonical(tuple(map(tuple, chrom))), record["value"])
        # the best so far after generation g is scored on generation g's subset: it is one of its fitnesses
        assert history[g]["best_so_far"] in fitness.values()
        assert history[g]["best_so_far"] == min(fitness.values())
        if g:
            # and the best after generation g - 1 was among those scored in generation g
            previous = [canonical(tuple(map(tuple, c))) for c, key in zip(generations[g - 1]["population"],
                                                                           generations[g - 1]["keys"])
                        if run.read_result(key)["value"] == history[g - 1]["best_so_far"]]
            assert any(chrom in fitness for chrom in previous)
        expected_keys = [ga_key(c, run.run_info["model_fingerprint"], run.run_info["dataset_fingerprint"], space,
                                FitnessSettings(subset=4), indices) for c in generation["population"]]
        assert generation["keys"] == expected_keys
    assert any(len(generation["population"]) == 5 for generation in generations)  # an extra elite was asked
    saved = run.read_checkpoint()
    best = saved["strategy"]["search"]["best"]
    assert saved["strategy"]["search"]["rescore_best"] is True
    assert best["fitness"] == history[-1]["best_so_far"]
    # generation files keep each layer's slot order, as the checkpoint does
    assert any(genes != sorted(genes) for chrom in generations[-1]["population"] for genes in chrom)


def test_a_run_saved_by_the_sorted_genes_version_is_refused(subset_run, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(subset_run, old)
    checkpoint = json.loads((old / "checkpoint.json").read_text())
    checkpoint["strategy"]["search"]["version"] = 2
    (old / "checkpoint.json").write_text(json.dumps(checkpoint))
    shutil.rmtree(old / "best")  # not exported yet: resume goes on to the search
    proc = gridprune("resume", old, check=False)
    assert proc.returncode == 2
    assert "checkpoint.json" in proc.stderr and "version 2" in proc.stderr and "slot order" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_synthetic_benchmark_reports_a_gap_that_never_grows(tmp_path):
    out = tmp_path / "synthetic.json"
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "synthetic_ga.py"), "--layers", "2",
                           "--granularity", "8", "--pruned", "3", "--population", "6", "--generations", "12",
                           "--seeds", "0", "1", "--json", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(out.read_text())
    assert len(figures["rows"]) == 3 * 2 * 2
    for row in figures["rows"]:
        for seed, gaps in row["gap"].items():
            # the best so far never loses ground, and beats a random chromosome's mean
            assert 0 <= gaps["12"] <= gaps["10"] < figures["random_gap"][seed]
    assert "inherited" in proc.stdout and "shuffled" in proc.stdout
