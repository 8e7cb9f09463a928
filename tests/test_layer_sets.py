import itertools
import json
import math

import numpy as np
import pytest

from gridprune.search.layer_sets import (
    GreedyLayerRemoval,
    LayerSearchError,
    LayerSet,
    beam_search,
    drop_score,
    exhaustive_search,
    greedy_search,
    layer_set_count,
    runs,
)


def random_matrix(layers: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.random((layers + 1, layers + 1))
    m = (m + m.T) / 2
    np.fill_diagonal(m, 1.0)
    return m


def test_runs_are_maximal_and_ascending():
    assert runs([5, 1, 2]) == [(1, 2), (5, 5)]
    assert runs([3, 4, 5, 6]) == [(3, 6)]
    assert runs([0, 2, 4]) == [(0, 0), (2, 2), (4, 4)]


def test_drop_score_by_hand():
    m = np.array([[10.0 * i + j for j in range(6)] for i in range(6)])  # M[i, j] = 10 i + j: each entry tells its place
    # layers 0, 1 and 3 of 5: runs 0..1 (boundary 0 to 2) and 3..3 (boundary 3 to 4)
    assert drop_score(m, [3, 0, 1]) == pytest.approx((2.0 + 34.0) / 2)
    assert drop_score(m, [4]) == 45.0
    assert drop_score(m, [1, 2, 3, 4]) == 15.0
    with pytest.raises(LayerSearchError, match="must not be empty"):
        drop_score(m, [])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("drop", [1, 2, 3, 4, 5])
def test_a_full_beam_equals_exhaustive_search(seed, drop):
    layers = 7
    m = random_matrix(layers, seed)
    every = layer_set_count(layers, drop)
    full_beam = layer_set_count(layers, drop - 1) if drop > 1 else 1
    exhaustive = exhaustive_search(m, drop, candidates=every)
    assert len(exhaustive) == every == math.comb(7, drop)
    assert beam_search(m, drop, beam=full_beam, candidates=every) == exhaustive
    # exhaustive is the brute force: every set, best first
    brute = sorted((LayerSet(s, drop_score(m, s)) for s in itertools.combinations(range(layers), drop)),
                   key=lambda c: (-c.score, c.layers))
    assert exhaustive == brute
    # a narrow beam never beats the optimum
    assert beam_search(m, drop, beam=2, candidates=1)[0].score <= exhaustive[0].score


def test_greedy_is_beam_one_and_adds_the_best_layer_each_step():
    m = random_matrix(10, seed=5)
    greedy = greedy_search(m, 4, candidates=3)
    assert greedy == beam_search(m, 4, beam=1, candidates=3)
    path: list[list[int]] = [[]]
    for _ in range(4):
        path.append(max((sorted([*path[-1], layer]) for layer in range(10) if layer not in path[-1]),
                        key=lambda s: drop_score(m, s)))
    assert greedy[0].layers == tuple(path[-1])
    assert [c.score for c in greedy] == sorted((c.score for c in greedy), reverse=True)
    assert all(set(path[3]) < set(c.layers) for c in greedy)  # every candidate extends the greedy path


def test_beam_returns_the_top_candidates_best_first_and_ties_by_layers():
    m = random_matrix(12, seed=6)
    found = beam_search(m, 6, beam=10, candidates=10)
    assert len(found) == 10 and len({c.layers for c in found}) == 10
    assert all(len(c.layers) == 6 and list(c.layers) == sorted(c.layers) for c in found)
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
    flat = np.ones((7, 7))  # every set scores the same: the order is by layer tuple
    assert [c.layers for c in exhaustive_search(flat, 2, candidates=4)] == [(0, 1), (0, 2), (0, 3), (0, 4)]
    assert [c.layers for c in beam_search(flat, 2, beam=3, candidates=4)] == [(0, 1), (0, 2), (0, 3), (0, 4)]


def test_exhaustive_is_refused_above_the_limit_with_the_count():
    m = random_matrix(24, seed=7)
    with pytest.raises(LayerSearchError, match=r"exhaustive search over 2704156 sets of 12 of 24 layers exceeds "
                                               r"the limit of 100000 sets"):
        exhaustive_search(m, 12)
    assert len(exhaustive_search(m, 2)) == 10  # 276 sets: allowed
    with pytest.raises(LayerSearchError, match="limit of 100 sets"):
        exhaustive_search(m, 2, limit=100)


def test_bad_settings_are_named():
    m = random_matrix(4, seed=8)
    for drop in (0, 4, 5, 1.5):
        with pytest.raises(LayerSearchError, match=r"drop must be an int in \[1, 3\] for 4 layers"):
            beam_search(m, drop)
    with pytest.raises(LayerSearchError, match="beam must be an int >= 1"):
        beam_search(m, 1, beam=0)
    with pytest.raises(LayerSearchError, match="candidates must be an int >= 1"):
        exhaustive_search(m, 1, candidates=0)
    with pytest.raises(LayerSearchError, match=r"must be square.*got shape \(5, 4\)"):
        beam_search(m[:, :4], 1)
    bad = m.copy()
    bad[2, 3] = np.nan
    with pytest.raises(LayerSearchError, match=r"non-finite entry at \[2, 3\]"):
        greedy_search(bad, 1)


def additive_cost(weights):
    return lambda layers: float(sum(weights[i] for i in layers))


def run_glp(search: GreedyLayerRemoval, cost) -> int:
    evaluations = 0
    while not search.done:
        sets = search.ask()
        evaluations += len(sets)
        search.tell(sets, [cost(s) for s in sets])
    return evaluations


def test_glp_removes_the_cheapest_layer_each_step_on_an_additive_cost():
    weights = [0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.6, 0.4, 1.0, 0.05, 0.95]
    search = GreedyLayerRemoval(layers=12, drop=6)
    assert search.planned_evaluations == 57  # 12 + 11 + ... + 7, the paper's count for 12 -> 6
    assert search.ask() == [(i,) for i in range(12)]
    evaluations = run_glp(search, additive_cost(weights))
    assert evaluations == 57 and search.ask() == []
    assert search.removed == tuple(sorted(np.argsort(weights)[:6]))
    steps = [layers for layers, _ in search.history]
    assert [len(s) for s in steps] == [1, 2, 3, 4, 5, 6]
    assert steps[0] == (10,) and steps[1] == (1, 10)  # the two smallest weights, in order
    assert search.best == LayerSet(search.removed, pytest.approx(sum(sorted(weights)[:6])))
    with pytest.raises(LayerSearchError, match="done"):
        search.tell([], [])


def test_glp_state_round_trips_through_json_and_continues_the_same():
    weights = [0.4, 0.2, 0.9, 0.1, 0.6, 0.3, 0.8]
    cost = additive_cost(weights)
    whole = GreedyLayerRemoval(7, 4)
    run_glp(whole, cost)
    part = GreedyLayerRemoval(7, 4)
    for _ in range(2):
        sets = part.ask()
        part.tell(sets, [cost(s) for s in sets])
    restored = GreedyLayerRemoval.from_state(json.loads(json.dumps(part.state_dict())))
    assert restored.state_dict() == part.state_dict() and restored.ask() == part.ask()
    run_glp(restored, cost)
    assert restored.state_dict() == whole.state_dict()
    state = part.state_dict()
    with pytest.raises(LayerSearchError, match="state version 9"):
        GreedyLayerRemoval.from_state({**state, "version": 9})
    with pytest.raises(LayerSearchError, match="history step 1 removes"):
        GreedyLayerRemoval.from_state({**state, "history": [state["history"][0], {"removed": [5, 6], "cost": 0.1}]})


def test_glp_tell_checks_the_sets_skips_failures_and_breaks_ties_by_layer():
    search = GreedyLayerRemoval(4, 2)
    with pytest.raises(LayerSearchError, match=r"step 0: tell needs the costs of exactly the sets asked"):
        search.tell([(0,), (1,)], [0.1, 0.2])
    with pytest.raises(LayerSearchError, match="every evaluation failed"):
        search.tell(search.ask(), [None, float("nan"), math.inf, None])
    search.tell(list(reversed(search.ask())), [0.3, 0.3, None, 0.5])  # sets (3,), (2,), (1,), (0,)
    assert search.removed == (2,)  # (3,) and (2,) tie at 0.3; the smaller layer wins; (1,) failed
    assert search.ask() == [(0, 2), (1, 2), (2, 3)]
    with pytest.raises(LayerSearchError, match=r"drop must be an int in \[1, 3\] for 4 layers"):
        GreedyLayerRemoval(4, 4)
