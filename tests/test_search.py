"""Tests of gridprune.search: chromosomes, GA operators, ask/tell and its saved state."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import gridprune.search.genetic
from gridprune.search import (
    GeneticSearch,
    SearchSpace,
    breed,
    canonical,
    crossover,
    crossover_layer,
    elites,
    from_json,
    initial_population,
    l1_seed,
    mutate,
    rank_index,
    rank_order,
    rescue_best,
    select_parents,
    to_json,
)


class ScriptedRng:
    """Stands in for a Generator where a test must force each random choice."""

    def __init__(self, randoms=(), integers=()):
        self.randoms = list(randoms)
        self.integer_values = list(integers)

    def random(self) -> float:
        return self.randoms.pop(0)

    def integers(self, high: int) -> int:
        value = self.integer_values.pop(0)
        assert 0 <= value < high
        return value


def target_distance(target):
    """Synthetic fitness: how many pruned blocks differ from a hidden target chromosome."""

    def fitness(chrom):
        return float(sum(len(set(a) - set(b)) for a, b in zip(chrom, target)))

    return fitness


def run(search: GeneticSearch, fitness, generations: int) -> list[list]:
    """Ask/tell for ``generations`` generations; return the populations asked."""
    seen = []
    for _ in range(generations):
        population = search.ask()
        seen.append(population)
        search.tell(population, [fitness(c) for c in population])
    return seen


SPACE = SearchSpace((0, 1, 2, 3), 16, (8, 8, 6, 10))
TARGET = (
    (0, 1, 2, 3, 4, 5, 6, 7),
    (8, 9, 10, 11, 12, 13, 14, 15),
    (0, 2, 4, 6, 8, 10),
    (0, 1, 2, 3, 4, 11, 12, 13, 14, 15),
)


def test_the_search_layer_imports_numpy_and_the_standard_library_only():
    code = (
        "import sys, gridprune.search; "
        "heavy = {'torch', 'transformers', 'submitit', 'filelock'}; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- the space and the chromosome format -------------------------------------------------


def test_space_normalises_and_validates():
    space = SearchSpace.uniform([np.int64(3), 5], 4, 2)
    assert space == SearchSpace((3, 5), 4, (2, 2))
    assert space.size() == 36
    with pytest.raises(ValueError, match="layer 5"):
        SearchSpace((3, 5), 4, (2, 5))
    with pytest.raises(ValueError, match="entries"):
        SearchSpace((3, 5), 4, (2,))
    with pytest.raises(ValueError, match="distinct"):
        SearchSpace((3, 3), 4, (2, 2))
    with pytest.raises(ValueError, match="granularity"):
        SearchSpace((3,), 0, (0,))


def test_contains_accepts_every_slot_order_of_distinct_genes():
    space = SearchSpace((3, 5), 4, (2, 1))
    assert space.contains(((0, 3), (2,)))
    assert space.contains(((3, 0), (2,)))  # a slot order other than sorted is a chromosome too
    assert not space.contains(((3, 3), (2,)))  # repeated
    assert not space.contains([[0, 3], [2]])  # lists, not tuples
    assert not space.contains(((0, 3),))
    assert not space.contains(((0, 4), (2,)))


def test_json_round_trip_keeps_the_slot_order_and_canonical_sorts():
    space = SearchSpace((3, 5), 8, (3, 2))
    chrom = ((7, 1, 4), (2, 0))
    assert json.loads(json.dumps(to_json(chrom))) == [[7, 1, 4], [2, 0]]
    assert from_json(json.loads(json.dumps(to_json(chrom))), space) == chrom
    parsed = from_json([[7, 1, 4], [np.int32(2), 0]], space)
    assert parsed == chrom
    assert all(type(g) is int for genes in parsed for g in genes)
    assert canonical(parsed) == ((1, 4, 7), (0, 2)) == canonical(((4, 7, 1), (0, 2)))


@pytest.mark.parametrize(
    "obj, message",
    [
        ([[1, 1, 7], [0, 2]], r"layer 3 \(position 0\): repeated genes \[1\]"),
        ([[1, 4, 7], [0]], r"layer 5 \(position 1\): expected 2 genes, got 1"),
        ([[1, 4, 7], [0, 8]], r"layer 5 \(position 1\): genes \[8\] outside \[0, 8\)"),
        ([[1, 4, -1], [0, 2]], r"layer 3 \(position 0\): genes \[-1\] outside"),
        ([[1, 4, 7]], "2 layers, got 1"),
        ([[1, 4, 7.0], [0, 2]], r"layer 3 \(position 0\): gene must be an int"),
        ([[1, 4, True], [0, 2]], r"layer 3 \(position 0\): gene must be an int"),
        ("nope", "must be a list of layers"),
    ],
)
def test_from_json_rejects_bad_chromosomes(obj, message):
    with pytest.raises(ValueError, match=message):
        from_json(obj, SearchSpace((3, 5), 8, (3, 2)))


# --- every individual of every generation is valid ------------------------------------------


@st.composite
def search_settings(draw):
    granularity = draw(st.integers(1, 6))
    n_layers = draw(st.integers(1, 4))
    pruned = tuple(draw(st.integers(0, granularity)) for _ in range(n_layers))
    space = SearchSpace(tuple(range(0, 2 * n_layers, 2)), granularity, pruned)
    size = draw(st.integers(3, 8))
    assume(space.size() >= size)
    return dict(
        space=space,
        population_size=size,
        pressure=draw(st.floats(0.5, 6)),
        mutation_rate=draw(st.sampled_from([0.0, 0.1, 0.5])),
        slot_order=draw(st.sampled_from(["inherited", "shuffled", "sorted"])),
        crossover=draw(st.sampled_from(["paper", "original"])),
        elitism=draw(st.sampled_from(["paper", "original"])),
        rescore_best=draw(st.booleans()),
        keep_best=draw(st.integers(0, size - 1)),
        generations=4,
        seed=draw(st.integers(0, 2**32)),
    )


@settings(max_examples=60, deadline=None)
@given(search_settings())
def test_every_individual_is_valid(kwargs):
    search = GeneticSearch(**kwargs)
    space = kwargs["space"]

    def fitness(chrom):  # some individuals fail
        total = sum(map(sum, chrom))
        return math.inf if total % 5 == 0 else float(total)

    for population in run(search, fitness, 4):
        # with rescore_best, the best so far may follow the population
        assert len(population) in (kwargs["population_size"], kwargs["population_size"] + 1)
        for chrom in population:
            space.validate(chrom)
    assert search.finished


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_crossover_of_unsorted_parents_gives_a_valid_layer(data):
    # Unsorted parents reach the "mutate" branch of Algorithm 2 (sorted ones cannot in the paper's variant).
    granularity = data.draw(st.integers(1, 8))
    n = data.draw(st.integers(0, granularity))
    genes_a = data.draw(st.permutations(range(granularity)))[:n]
    genes_b = data.draw(st.permutations(range(granularity)))[:n]
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    child = crossover_layer(genes_a, genes_b, granularity, rng, data.draw(st.sampled_from(["paper", "original"])))
    assert len(child) == n == len(set(child))
    assert all(0 <= g < granularity for g in child)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_crossover_of_sorted_parents_only_recombines(data):
    # With parents in canonical (sorted) form, both slot-i genes can never be taken
    # already, so Algorithm 2's "mutate" branch is never reached.
    granularity = data.draw(st.integers(1, 8))
    n = data.draw(st.integers(0, granularity))
    genes_a = tuple(sorted(data.draw(st.permutations(range(granularity)))[:n]))
    genes_b = tuple(sorted(data.draw(st.permutations(range(granularity)))[:n]))
    coins = data.draw(st.lists(st.sampled_from([0.1, 0.9]), min_size=n, max_size=n))
    child = crossover_layer(genes_a, genes_b, granularity, ScriptedRng(coins), "paper")  # no integers() available
    assert set(child) <= set(genes_a) | set(genes_b)


# --- initial population -----------------------------------------------------------------------


def test_l1_seed_prunes_smallest_norms_ties_by_lower_index():
    space = SearchSpace((2, 7), 6, (3, 2))
    norms = [
        np.array([5.0, 1.0, 3.0, 0.5, 9.0, 2.0]),
        np.array([1.0, 4.0, 1.0, 1.0, 0.0, 7.0]),  # 0.0 at 4, then ties 1.0 at 0, 2, 3
    ]
    assert l1_seed(norms, space) == ((1, 3, 5), (0, 4))
    with pytest.raises(ValueError, match="layer 7"):
        l1_seed([norms[0], np.ones(5)], space)
    with pytest.raises(ValueError, match="2"):
        l1_seed([norms[0]], space)


def test_initial_population_is_distinct_and_starts_with_the_seeds():
    space = SearchSpace((0, 1), 5, (2, 3))
    seed = l1_seed([np.arange(5.0), np.arange(5.0)[::-1]], space)
    assert seed == ((0, 1), (2, 3, 4))
    population = initial_population(space, 30, np.random.default_rng(0), [seed, seed])
    assert population[0] == seed
    assert len(set(population)) == 30
    for chrom in population:
        space.validate(chrom)


def test_initial_population_can_fill_the_whole_space():
    space = SearchSpace((0, 1), 3, (1, 2))
    population = initial_population(space, space.size(), np.random.default_rng(1))
    assert len(set(population)) == space.size() == 9
    with pytest.raises(ValueError, match="only 9 chromosomes"):
        initial_population(space, 10, np.random.default_rng(1))
    with pytest.raises(ValueError, match="exceed"):
        initial_population(space, 3, np.random.default_rng(1), list(population[:4]))


def test_search_starts_from_the_seed_individuals():
    search = GeneticSearch(SPACE, 10, generations=2, seed=0, seed_individuals=[TARGET, TARGET])
    population = search.ask()
    assert population[0] == TARGET
    assert len(set(population)) == 10


# --- selection -------------------------------------------------------------------------------


def test_rank_index_on_exact_values():
    assert rank_index(0.0, 10, 3.0) == 0
    assert rank_index(1.0, 10, 3.0) == 9
    # v just below 1 never reaches the last rank: floor(9 * (1 - tiny)) = 8
    assert rank_index(math.nextafter(1.0, 0.0), 10, 3.0) == 8
    # 9 * (e^1.5 - 1) / (e^3 - 1) = 9 * 3.48169 / 19.08554 = 1.6418 -> 1
    assert rank_index(0.5, 10, 3.0) == 1
    # 9 * (e^2.7 - 1) / (e^3 - 1) = 9 * 13.87973 / 19.08554 = 6.5451 -> 6
    assert rank_index(0.9, 10, 3.0) == 6


def test_rank_order_is_stable():
    assert rank_order([2.0, 1.0, math.inf, 1.0, 2.0]) == [1, 3, 0, 4, 2]


def test_selection_favours_better_ranks_and_parents_differ():
    order = [7, 2, 9, 0, 4, 1, 8, 3, 6, 5]  # position 7 is best, 5 is worst
    rng = np.random.default_rng(12)
    firsts = Counter()
    for _ in range(20000):
        a, b = select_parents(order, 3.0, rng)
        assert a != b
        firsts[a] += 1
    share = {rank: firsts[position] / 20000 for rank, position in enumerate(order)}
    # exact: P(rank 0) = ln(1 + (e^3-1)/9)/3 = 0.379; P(rank 8) = 1 - ln(1 + 8(e^3-1)/9)/3 = 0.037
    assert 0.35 < share[0] < 0.41
    assert 0.02 < share[8] < 0.06
    assert share[9] == 0.0
    assert all(share[r] >= share[r + 1] for r in range(9))


def test_selection_needs_three_individuals():
    with pytest.raises(ValueError, match="3"):
        select_parents([0, 1], 3.0, np.random.default_rng(0))


# --- crossover (Algorithm 2) -----------------------------------------------------------------


@pytest.mark.parametrize("variant", ["paper", "original"])
def test_crossover_takes_the_chosen_parents_gene_in_its_slot(variant):
    # below 0.5 chooses parent a, otherwise parent b; the child keeps the slot order
    assert crossover_layer((0, 1), (2, 3), 8, ScriptedRng([0.1, 0.9]), variant) == (0, 3)
    assert crossover_layer((0, 1), (2, 3), 8, ScriptedRng([0.9, 0.1]), variant) == (2, 1)


@pytest.mark.parametrize("variant", ["paper", "original"])
def test_crossover_falls_back_to_parent_b_when_parent_a_is_chosen(variant):
    # slot 0 takes b's 2; slot 1 chooses a's 2, already taken, so b's 0, in both variants
    assert crossover_layer((1, 2), (2, 0), 8, ScriptedRng([0.9, 0.1]), variant) == (2, 0)


def test_crossover_falls_back_to_parent_a_only_in_the_paper_variant():
    # slot 0 takes a's 1; slot 1 chooses b's 1, already taken: the paper takes a's 2,
    # the original code mutates at once: free blocks [0, 2, 3, ...], integers() picks index 2 -> 3
    assert crossover_layer((1, 2), (0, 1), 8, ScriptedRng([0.1, 0.9]), "paper") == (1, 2)
    rng = ScriptedRng([0.1, 0.9], integers=[2])
    assert crossover_layer((1, 2), (0, 1), 8, rng, "original") == (1, 3)
    assert rng.integer_values == []


@pytest.mark.parametrize("variant", ["paper", "original"])
def test_crossover_mutates_when_both_genes_are_taken(variant):
    # slot 0: b's 2; slot 1: a's 1; slot 2: a's 2 and b's 1 both taken -> free blocks
    # [0, 3], integers() picks index 1 -> 3
    rng = ScriptedRng([0.9, 0.1, 0.1], integers=[1])
    assert crossover_layer((0, 1, 2), (2, 0, 1), 4, rng, variant) == (2, 1, 3)
    assert rng.randoms == [] and rng.integer_values == []


def test_crossover_of_identical_parents():
    parent = ((5, 0, 3), (2, 1))
    space = SearchSpace((0, 1), 6, (3, 2))
    shuffled = set()
    for seed in range(20):
        for variant in ("paper", "original"):
            assert crossover(parent, parent, space, np.random.default_rng(seed), "inherited", variant) == parent
        assert crossover(parent, parent, space, np.random.default_rng(seed), "sorted") == canonical(parent)
        child = crossover(parent, parent, space, np.random.default_rng(seed), "shuffled")
        space.validate(child)
        shuffled.add(child)
    # shuffled slots pair different genes, and a slot whose two genes are both taken mutates
    assert canonical(parent) in shuffled and len(shuffled) > 1


def test_shuffled_crossover_permutes_each_parents_layer_first():
    space = SearchSpace((4, 9), 8, (2, 3))
    parent_a, parent_b = ((0, 1), (2, 3, 4)), ((1, 7), (2, 4, 6))
    for seed in range(20):
        rng = np.random.default_rng(seed)
        expected = []
        for genes_a, genes_b in zip(parent_a, parent_b):  # per layer: permute a, permute b, Algorithm 2
            genes_a = [genes_a[i] for i in rng.permutation(len(genes_a))]
            genes_b = [genes_b[i] for i in rng.permutation(len(genes_b))]
            expected.append(tuple(sorted(crossover_layer(genes_a, genes_b, 8, rng))))
        child = crossover(parent_a, parent_b, space, np.random.default_rng(seed), "shuffled")
        assert child == tuple(expected)  # canonical: the order of a shuffled child carries nothing
        assert all(type(g) is int for genes in child for g in genes)


def test_crossover_refuses_an_unknown_slot_order_or_variant():
    with pytest.raises(ValueError, match="slot_order"):
        crossover(((0,),), ((1,),), SearchSpace((0,), 2, (1,)), np.random.default_rng(0), "random")
    with pytest.raises(ValueError, match="crossover"):
        crossover(((0,),), ((1,),), SearchSpace((0,), 2, (1,)), np.random.default_rng(0), "inherited", "mine")


def test_crossover_of_disjoint_parents_takes_one_gene_per_slot():
    genes_a, genes_b = (0, 2, 4, 6), (1, 3, 5, 7)
    for seed in range(20):
        coins = np.random.default_rng(seed).random(4) < 0.5  # the draws crossover will make
        expected = tuple(a if coin else b for a, b, coin in zip(genes_a, genes_b, coins))
        assert crossover_layer(genes_a, genes_b, 8, np.random.default_rng(seed)) == expected


def test_crossover_goes_layer_by_layer_in_order():
    space = SearchSpace((4, 9), 8, (2, 3))
    parent_a, parent_b = ((0, 1), (2, 3, 4)), ((6, 7), (5, 6, 7))
    coins = np.random.default_rng(3).random(5) < 0.5
    expected = (
        tuple(sorted(a if c else b for a, b, c in zip((0, 1), (6, 7), coins[:2]))),
        tuple(sorted(a if c else b for a, b, c in zip((2, 3, 4), (5, 6, 7), coins[2:]))),
    )
    assert crossover(parent_a, parent_b, space, np.random.default_rng(3), "sorted") == expected


@pytest.mark.parametrize("slot_order", ["inherited", "shuffled", "sorted"])
def test_only_sorted_slots_never_mutate_inside_the_papers_crossover(slot_order, monkeypatch):
    # With mutation_rate 0, a child's gene outside its parents' genes can only come
    # from Algorithm 2's "mutate" branch (both slot-i genes already in the child):
    # sorted parents never reach it; inherited slot orders differ between parents, so they can.
    crossings = []

    def recording_crossover(parent_a, parent_b, space, rng, slot_order, variant):
        child = crossover(parent_a, parent_b, space, rng, slot_order, variant)
        crossings.append((parent_a, parent_b, child))
        return child

    monkeypatch.setattr(gridprune.search.genetic, "crossover", recording_crossover)
    space = SearchSpace((0, 1), 6, (3, 3))
    search = GeneticSearch(space, 10, slot_order=slot_order, crossover="paper", generations=10, seed=7)
    run(search, lambda chrom: float(sum(chrom[0]) - sum(chrom[1])), 10)
    assert len(crossings) == 100  # every tell breeds, the last one too
    new_genes = sum(
        len(set(child_genes) - set(genes_a) - set(genes_b))
        for parent_a, parent_b, child in crossings
        for genes_a, genes_b, child_genes in zip(parent_a, parent_b, child)
    )
    if slot_order == "sorted":
        assert new_genes == 0
    else:
        assert new_genes > 0


# --- mutation ----------------------------------------------------------------------------------


def test_zero_mutation_rate_changes_nothing_and_draws_nothing():
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    chrom = ((0, 3), (1, 2, 5))
    assert mutate(chrom, SearchSpace((0, 1), 6, (2, 3)), 0.0, rng) == chrom
    assert rng.bit_generator.state == before


def test_full_mutation_replaces_genes_by_free_blocks():
    space = SearchSpace((0, 1, 2), 4, (1, 4, 2))
    for seed in range(30):
        child = mutate(((2,), (3, 1, 0, 2), (0, 1)), space, 1.0, np.random.default_rng(seed))
        space.validate(child)
        assert child[0] != (2,)
        assert child[1] == (3, 1, 0, 2)  # no free block in a full layer; its slot order is kept


def test_mutation_replaces_a_gene_in_its_own_slot():
    space = SearchSpace((0,), 8, (4,))
    # slot by slot: 0.9 keeps, 0.1 (< rate 0.5) mutates; free blocks of (7, 2, 5, 0) are
    # [1, 3, 4, 6] and integers() picks index 2 -> 4, in slot 1
    rng = ScriptedRng([0.9, 0.1, 0.9, 0.9], integers=[2])
    assert mutate(((7, 2, 5, 0),), space, 0.5, rng) == ((7, 4, 5, 0),)


# --- survival ----------------------------------------------------------------------------------


def test_rescue_best_replaces_the_worst_only_when_the_generation_is_worse():
    pop = [((0,),), ((1,),), ((2,),), ((3,),)]
    best = (((9,),), 0.5)
    assert rescue_best(pop, [1.0, 3.0, 2.0, 3.0], best) == (
        [((0,),), ((1,),), ((2,),), ((9,),)],
        [1.0, 3.0, 2.0, 0.5],
    )
    assert rescue_best(pop, [0.5, 3.0, 2.0, 3.0], best) == (pop, [0.5, 3.0, 2.0, 3.0])
    assert rescue_best(pop, [0.4, 3.0, 2.0, 3.0], best) == (pop, [0.4, 3.0, 2.0, 3.0])


def test_elites_are_the_k_best_best_first():
    pop = [((0,),), ((1,),), ((2,),), ((3,),)]
    assert elites(pop, [3.0, 1.0, math.inf, 1.0], 3) == [((1,),), ((3,),), ((0,),)]
    assert elites(pop, [3.0, 1.0, math.inf, 1.0], 0) == []


def _bred_from(search: GeneticSearch, pool, fits):
    """What the search breeds from ``pool`` with the random state it holds now."""
    state = search.state_dict()
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = state["rng"]
    return breed(pool, fits, search.population_size, search.space, pressure=3.0, mutation_rate=0.0, rng=rng,
                 slot_order=state["slot_order"], variant=state["crossover"])


def test_elitism_rescues_the_best_so_far_when_a_generation_is_worse():
    search = GeneticSearch(SPACE, 6, elitism="paper", generations=5, seed=3)
    first = search.ask()
    search.tell(first, [2.0, 1.0, 4.0, 3.0, 5.0, 6.0])
    assert search.best == (first[1], 1.0)

    second = search.ask()
    worse = [9.0, 7.0, 8.0, 9.0, 7.5, 8.5]
    rescued = list(second)
    rescued[3] = first[1]  # the last of the worst (9.0) makes way for the best so far
    expected = _bred_from(search, rescued, [9.0, 7.0, 8.0, 1.0, 7.5, 8.5])
    assert expected != _bred_from(search, second, worse)
    search.tell(second, worse)
    assert search.ask() == expected
    assert search.best == (first[1], 1.0)


def test_no_rescue_when_the_generation_is_as_good():
    search = GeneticSearch(SPACE, 6, elitism="paper", generations=5, seed=3)
    first = search.ask()
    search.tell(first, [2.0, 1.0, 4.0, 3.0, 5.0, 6.0])
    second = search.ask()
    fits = [9.0, 1.0, 8.0, 9.0, 7.5, 8.5]
    expected = _bred_from(search, second, fits)
    search.tell(second, fits)
    assert search.ask() == expected
    assert search.best == (first[1], 1.0)  # ties keep the earlier best


def test_keep_best_copies_the_k_best_unchanged():
    search = GeneticSearch(SPACE, 8, keep_best=3, generations=5, seed=4)
    population = search.ask()
    fits = [5.0, 2.0, 7.0, 1.0, math.inf, 2.0, 9.0, 8.0]
    search.tell(population, fits)
    following = search.ask()
    assert following[-3:] == [population[3], population[1], population[5]]
    assert len(following) == 8


# --- the ask/tell protocol and the best so far ------------------------------------------------


def test_ask_is_idempotent():
    search = GeneticSearch(SPACE, 5, generations=2, seed=0)
    asked = search.ask()
    asked.append("junk")
    assert search.ask() == search.ask() == asked[:5]
    search.tell([list(map(list, c)) for c in asked[:5]], [1.0] * 5)  # JSON-shaped population is fine
    assert search.generation == 1


def test_failed_individuals_are_worst_and_never_best_unless_all_failed():
    search = GeneticSearch(SPACE, 4, generations=4, seed=0)
    population = search.ask()
    search.tell(population, [math.inf, math.nan, None, -math.inf])
    assert search.best == (population[0], math.inf)
    population = search.ask()
    search.tell(population, [math.nan, 3.0, np.float32(2.5), math.inf])
    assert search.best == (population[2], 2.5)
    population = search.ask()
    search.tell(population, [math.inf] * 4)
    assert search.best[1] == 2.5


def test_bad_calls_are_refused():
    search = GeneticSearch(SPACE, 4, generations=1, seed=0)
    population = search.ask()
    with pytest.raises(ValueError, match="population that ask"):
        search.tell(population[::-1], [1.0] * 4)
    with pytest.raises(ValueError, match="population that ask"):
        search.tell(population[:3], [1.0] * 3)
    with pytest.raises(ValueError, match="fitnesses"):
        search.tell(population, [1.0] * 3)
    with pytest.raises(ValueError, match="number"):
        search.tell(population, ["1.0"] * 4)
    search.tell(population, [1.0] * 4)
    assert search.finished
    with pytest.raises(RuntimeError):
        search.ask()
    with pytest.raises(RuntimeError):
        search.tell(population, [1.0] * 4)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(population_size=2), "population_size"),
        (dict(pressure=0.0), "pressure"),
        (dict(pressure=math.nan), "pressure"),
        (dict(mutation_rate=1.5), "mutation_rate"),
        (dict(slot_order="random"), "slot_order"),
        (dict(crossover="random"), "crossover"),
        (dict(elitism="none"), "elitism"),
        (dict(rescore_best=1), "rescore_best"),
        (dict(keep_best=4), "keep_best"),
        (dict(generations=0), "generations"),
        (dict(seed=-1), "seed"),
        (dict(seed_individuals=[((0,),)]), "layers"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    settings_ = dict(population_size=4, generations=3, seed=0) | kwargs
    with pytest.raises(ValueError, match=message):
        GeneticSearch(SPACE, **settings_)


# --- determinism and the saved state -----------------------------------------------------------


@pytest.mark.parametrize("slot_order", ["inherited", "shuffled", "sorted"])
def test_same_seed_same_generations_different_seed_different(slot_order):
    fitness = target_distance(TARGET)
    runs = [
        run(GeneticSearch(SPACE, 8, slot_order=slot_order, generations=6, seed=s), fitness, 6)
        for s in (1, 1, 2)
    ]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_slot_orders_give_different_searches():
    fitness = target_distance(TARGET)
    inherited, shuffled, sorted_ = (
        run(GeneticSearch(SPACE, 8, slot_order=o, generations=3, seed=1), fitness, 3)
        for o in ("inherited", "shuffled", "sorted")
    )
    assert inherited[0] == shuffled[0] == sorted_[0]
    assert len({str(inherited[1:]), str(shuffled[1:]), str(sorted_[1:])}) == 3
    # only the inherited order keeps the slot order of children; the others keep them sorted
    assert any(c != canonical(c) for c in inherited[2])
    assert all(c == canonical(c) for c in shuffled[2] + sorted_[2])


@pytest.mark.parametrize(
    "options",
    [
        {},
        dict(mutation_rate=0.1, keep_best=2, pressure=4.0),
        dict(slot_order="sorted", keep_best=1),
        dict(slot_order="inherited", crossover="original", elitism="original", rescore_best=True),
        dict(slot_order="shuffled", crossover="paper", elitism="paper", rescore_best=True, mutation_rate=0.05),
    ],
)
def test_state_round_trip_through_json_gives_the_same_future(options):
    def fitness(chrom):  # a target distance with some failures
        value = target_distance(TARGET)(chrom)
        return math.nan if sum(chrom[0]) % 7 == 0 else value

    seed_individual = l1_seed([np.arange(16.0)] * 4, SPACE)

    def make():
        return GeneticSearch(
            SPACE, 8, generations=7, seed=5, seed_individuals=[seed_individual], **options
        )

    reference = run(make(), fitness, 7)
    for stop in (0, 1, 3, 6):
        search = make()
        before = run(search, fitness, stop)
        text = json.dumps(search.state_dict(), allow_nan=False)
        restored = GeneticSearch.from_state_dict(json.loads(text))
        assert restored.state_dict() == search.state_dict()
        assert restored.state_dict()["slot_order"] == options.get("slot_order", "inherited")
        assert restored.ask() == search.ask()  # slot order and all
        assert restored.generation == stop
        after = run(restored, fitness, 7 - stop)
        assert before + after == reference
        assert restored.finished


def test_state_keeps_a_failed_best():
    search = GeneticSearch(SPACE, 4, generations=3, seed=0)
    population = search.ask()
    search.tell(population, [math.inf] * 4)
    state = json.loads(json.dumps(search.state_dict(), allow_nan=False))
    assert state["best"] == {"chromosome": to_json(population[0]), "fitness": None}
    assert GeneticSearch.from_state_dict(state).best == (population[0], math.inf)


def test_a_foreign_state_is_refused():
    state = GeneticSearch(SPACE, 4, generations=3, seed=0).state_dict()
    with pytest.raises(ValueError, match="format"):
        GeneticSearch.from_state_dict(state | {"format": "something else"})
    with pytest.raises(ValueError, match="version 1 cannot be continued .* no slot order"):
        GeneticSearch.from_state_dict(state | {"version": 1})
    with pytest.raises(ValueError, match="version 2 cannot be continued .* sorted, so it has no slot order"):
        GeneticSearch.from_state_dict(state | {"version": 2})
    with pytest.raises(ValueError, match="version"):
        GeneticSearch.from_state_dict(state | {"version": 99})
    with pytest.raises(ValueError, match="slot_order"):
        GeneticSearch.from_state_dict(state | {"slot_order": "random"})
    with pytest.raises(ValueError, match="lacks 'elitism'"):
        GeneticSearch.from_state_dict({k: v for k, v in state.items() if k != "elitism"})
    with pytest.raises(ValueError, match="lacks 'rng'"):
        GeneticSearch.from_state_dict({k: v for k, v in state.items() if k != "rng"})
    with pytest.raises(ValueError, match="layer 2"):
        bad = state["population"][0][:2] + [[0, 0, 1, 2, 3, 4]] + state["population"][0][3:]
        GeneticSearch.from_state_dict(state | {"population": [bad] + state["population"][1:]})


# --- the search optimises ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, best_gain, mean_gain",
    [
        ({}, 6, 8),  # the defaults: the original code's GA (inherited slot order, its crossover and elitism)
        (dict(crossover="paper", elitism="paper"), 6, 8),  # the paper's Algorithm 2 and elitism
        (dict(slot_order="shuffled", crossover="paper", elitism="paper"), 6, 6),  # re-shuffled: settles less
        (dict(slot_order="shuffled", crossover="paper", elitism="paper", mutation_rate=0.02), 6, 5),
        (dict(slot_order="sorted", crossover="paper", elitism="paper"), 2, 4),  # only recombines, converges early
    ],
)
def test_search_approaches_a_hidden_target(options, best_gain, mean_gain):
    fitness = target_distance(TARGET)
    search = GeneticSearch(SPACE, 30, generations=30, seed=11, **options)
    populations = run(search, fitness, 30)
    first_best = min(map(fitness, populations[0]))
    first_mean = np.mean([fitness(c) for c in populations[0]])
    last_mean = np.mean([fitness(c) for c in populations[-1]])
    assert first_best >= 8  # a random start is far from the target (16 blocks differ on average)
    assert search.best[1] <= first_best - best_gain
    assert last_mean <= first_mean - mean_gain


# ---------------------------------------------------------------- the original's re-seeding of the L1 chromosome

def _run_generations(search: GeneticSearch, generations: int, rng: np.random.Generator) -> None:
    for _ in range(generations):
        population = search.ask()
        search.tell(population, list(rng.random(len(population))))


@pytest.mark.parametrize("size, keep_best, slot", [(24, 0, 10), (11, 0, 9), (12, 2, 8)])
def test_the_l1_chromosome_is_written_again_after_generation_10_never_over_an_elite(size, keep_best, slot):
    space = SearchSpace((0, 1), 8, (3, 3))
    seed = ((0, 1, 2), (5, 6, 7))
    search = GeneticSearch(space, size, generations=12, seed=3, seed_individuals=[seed], reseed_generation=10,
                           keep_best=keep_best, elitism="original")
    plain = GeneticSearch(space, size, generations=12, seed=3, seed_individuals=[seed], keep_best=keep_best,
                          elitism="original")
    _run_generations(search, 11, np.random.default_rng(0))
    _run_generations(plain, 11, np.random.default_rng(0))
    assert search.ask()[slot] == seed
    differing = [i for i, (a, b) in enumerate(zip(search.ask(), plain.ask())) if a != b]
    assert differing in ([slot], [])  # only that slot (unless breeding put the seed there anyway)
    assert plain.state_dict()["reseed_generation"] is None


def test_a_version_3_state_continues_without_re_seeding():
    space = SearchSpace((0, 1), 8, (3, 3))
    search = GeneticSearch(space, 12, generations=3, seed=1, seed_individuals=[((0, 1, 2), (5, 6, 7))])
    state = {key: value for key, value in search.state_dict().items() if key != "reseed_generation"}
    restored = GeneticSearch.from_state_dict({**state, "version": 3})
    assert restored.state_dict() == search.state_dict()
