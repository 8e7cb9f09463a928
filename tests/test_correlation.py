import numpy as np
import pytest

from gridprune.analysis.correlation import (
    CorrelationError,
    batch_distance_correlation,
    batch_indices,
    distance_correlation_matrix,
    kept_directions,
    l2_normalise_rows,
    svcca_matrix,
)


def dcor_formula(x: np.ndarray, y: np.ndarray) -> float:
    """METHODS.md written out: double-centred distance matrices A, B; <A,B> / sqrt(<A,A><B,B>)."""
    n = len(x)
    a = np.array([[np.sqrt(np.sum((x[i] - x[j]) ** 2)) for j in range(n)] for i in range(n)])
    b = np.array([[np.sqrt(np.sum((y[i] - y[j]) ** 2)) for j in range(n)] for i in range(n)])
    big_a = np.empty_like(a)
    big_b = np.empty_like(b)
    for i in range(n):
        for j in range(n):
            big_a[i, j] = a[i, j] - a[i, :].mean() - a[:, j].mean() + a.mean()
            big_b[i, j] = b[i, j] - b[i, :].mean() - b[:, j].mean() + b.mean()
    return float(np.sum(big_a * big_b) / np.sqrt(np.sum(big_a * big_a) * np.sum(big_b * big_b)))


def u_dcor_formula(x: np.ndarray, y: np.ndarray) -> float:
    """The bias-corrected estimator (Székely and Rizzo 2014) written out with U-centred matrices."""
    def u_centre(z):
        n = len(z)
        d = np.array([[np.linalg.norm(z[i] - z[j]) for j in range(n)] for i in range(n)])
        out = np.zeros_like(d)
        for i in range(n):
            for j in range(n):
                if i != j:
                    out[i, j] = d[i, j] - d[i].sum() / (n - 2) - d[:, j].sum() / (n - 2) + d.sum() / ((n - 1) * (n - 2))
        return out
    a, b = u_centre(x), u_centre(y)
    return float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b)))


def related_states(rng, n=12, width=6, boundaries=4):
    """Boundaries that drift from one another: each adds noise and a nonlinearity to the one before."""
    states = [rng.standard_normal((n, width))]
    for _ in range(boundaries - 1):
        states.append(np.tanh(states[-1] @ rng.standard_normal((width, width))) + 0.3 * rng.standard_normal((n, width)))
    return states


def test_one_batch_equals_the_written_out_formula():
    rng = np.random.default_rng(3)
    states = related_states(rng)
    matrix = batch_distance_correlation(states)
    for i in range(len(states)):
        for j in range(len(states)):
            assert matrix[i, j] == pytest.approx(dcor_formula(states[i], states[j]), abs=1e-12)
    # the whole set in one batch: the same formula on L2-normalised rows
    whole = distance_correlation_matrix(states, batch_size=len(states[0]))
    normalised = [l2_normalise_rows(x) for x in states]
    assert whole[0, 3] == pytest.approx(dcor_formula(normalised[0], normalised[3]), abs=1e-12)
    assert whole[1, 2] == pytest.approx(dcor_formula(normalised[1], normalised[2]), abs=1e-12)


def test_the_bias_corrected_estimator_equals_its_formula():
    rng = np.random.default_rng(4)
    states = related_states(rng, n=9)
    matrix = batch_distance_correlation(states, bias_corrected=True)
    assert matrix[0, 1] == pytest.approx(u_dcor_formula(states[0], states[1]), abs=1e-12)
    assert matrix[2, 3] == pytest.approx(u_dcor_formula(states[2], states[3]), abs=1e-12)


def test_agrees_with_the_dcor_library():
    import dcor  # the test extra's: the package itself computes the Gram matrices with numpy

    rng = np.random.default_rng(5)
    x, y = related_states(rng, n=15, boundaries=2)
    assert batch_distance_correlation([x, y])[0, 1] == pytest.approx(dcor.distance_correlation_sqr(x, y), abs=1e-12)
    assert batch_distance_correlation([x, y], True)[0, 1] == pytest.approx(dcor.u_distance_correlation_sqr(x, y), abs=1e-12)


def test_batches_average_the_per_batch_values_over_shuffled_passes():
    rng = np.random.default_rng(6)
    states = related_states(rng, n=20)
    matrix = distance_correlation_matrix(states, batch_size=6, batches=7, rng=11)
    chosen = batch_indices(20, 6, 7, np.random.default_rng(11))
    normalised = [l2_normalise_rows(x) for x in states]
    expected = np.mean([dcor_formula(normalised[0][idx], normalised[2][idx]) for idx in chosen])
    assert matrix[0, 2] == pytest.approx(expected, abs=1e-12)
    assert np.array_equal(matrix, matrix.T) and np.all(np.diag(matrix) == 1.0)
    assert np.array_equal(matrix, distance_correlation_matrix(states, batch_size=6, batches=7, rng=11))
    assert not np.array_equal(matrix, distance_correlation_matrix(states, batch_size=6, batches=7, rng=12))
    # 3 disjoint batches per pass over a permutation of 20, then a fresh pass
    assert len(chosen) == 7 and all(len(set(idx)) == 6 for idx in chosen)
    for first in (0, 3):
        assert len(set(np.concatenate(chosen[first:first + 3]))) == 18
    # a set no larger than a batch is one batch of everything, whatever the seed
    assert [list(b) for b in batch_indices(20, 32, 10, np.random.default_rng(0))] == [list(range(20))]


def test_identical_representations_correlate_fully():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((40, 16))
    rotation, _ = np.linalg.qr(rng.standard_normal((16, 16)))
    dc = distance_correlation_matrix([x, x.copy(), 3.0 * x], batch_size=10, batches=4)
    assert dc == pytest.approx(np.ones((3, 3)), abs=1e-12)
    # the kept singular directions, and so SVCCA, ignore rotations, scaling and shifts
    svcca = svcca_matrix([x, x.copy(), 2.0 * x @ rotation + 5.0])
    assert svcca == pytest.approx(np.ones((3, 3)), abs=1e-9)


def test_independent_noise_correlates_little():
    rng = np.random.default_rng(8)
    low = [rng.standard_normal((80, 3)) for _ in range(2)]
    assert distance_correlation_matrix(low, batch_size=80)[0, 1] < 0.15
    wide = [rng.standard_normal((80, 768)) for _ in range(2)]
    # the V-statistic's known bias with few points in many dimensions, which the U-statistic removes
    assert distance_correlation_matrix(wide)[0, 1] > 0.9
    assert abs(distance_correlation_matrix(wide, bias_corrected=True)[0, 1]) < 0.1
    assert svcca_matrix(wide)[0, 1] < 0.5
    # without the cap on directions, 80 utterances in 768 dimensions look perfectly correlated
    assert svcca_matrix(wide, max_directions=80)[0, 1] > 0.95


def test_svcca_keeps_the_directions_that_pass_the_threshold_up_to_the_cap():
    s = np.array([5.0, 3.0, 1.5, 0.4, 0.1])  # cumulative shares 0.5, 0.8, 0.95, 0.99, 1.0
    assert kept_directions(s, 0.9, cap=10) == 3
    assert kept_directions(s, 0.97, cap=10) == 4
    assert kept_directions(s, 0.5, cap=10) == 2  # "passes" is strictly more than the threshold
    assert kept_directions(s, 0.97, cap=2) == 2
    assert kept_directions(np.array([2.0, 1.0, 0.0]), 1.0, cap=10) == 2  # a zero direction is never kept
    # three strong directions shared by two boundaries, weak noise apart: 0.99 keeps them and finds them alike
    rng = np.random.default_rng(10)
    signal = rng.standard_normal((200, 3)) * [30.0, 20.0, 10.0]
    a = signal @ rng.standard_normal((3, 50)) + 0.01 * rng.standard_normal((200, 50))
    b = signal @ rng.standard_normal((3, 40)) + 0.01 * rng.standard_normal((200, 40))
    assert svcca_matrix([a, b], threshold=0.9)[0, 1] > 0.99
    assert svcca_matrix([a, rng.standard_normal((200, 40))], threshold=0.9)[0, 1] < 0.4


def test_bad_states_and_settings_are_named():
    rng = np.random.default_rng(9)
    good = rng.standard_normal((10, 4))
    with pytest.raises(CorrelationError, match=r"boundary 1: hidden states of shape \(9, 4\)"):
        distance_correlation_matrix([good, good[:9]])
    bad = good.copy()
    bad[2, 1] = np.nan
    with pytest.raises(CorrelationError, match="boundary 1: hidden states hold NaN"):
        svcca_matrix([good, bad])
    with pytest.raises(CorrelationError, match="batch_size must be an int >= 2"):
        distance_correlation_matrix([good, good], batch_size=1)
    with pytest.raises(CorrelationError, match="batches must be an int >= 1"):
        distance_correlation_matrix([good, good], batches=0)
    with pytest.raises(CorrelationError, match="boundary 1: every utterance of a batch has the same"):
        distance_correlation_matrix([good, np.ones((10, 4))])
    with pytest.raises(CorrelationError, match=r"threshold must be in \(0, 1\]"):
        svcca_matrix([good, good], threshold=1.5)
    with pytest.raises(CorrelationError, match="at least 2 layer boundaries"):
        svcca_matrix([good])
