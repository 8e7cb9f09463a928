"""How similar the representations at two encoder layer boundaries are (numpy only).

Input: for each layer boundary i in 0..L (0 = the encoder input, i = the output
of encoder layer i-1 counted from 0), an (N, D) array of per-utterance
time-pooled hidden states, one row per utterance in the same order for every
boundary (`gridprune.models.layers.pooled_hidden_states` computes them). Output:
an (L+1, L+1) symmetric matrix, 1 on the diagonal, higher = more alike.

Distance correlation (CoMFLP's DC): rows L2-normalised; per batch of B
utterances, the B x B Euclidean distance matrix of each boundary, double-centred
(A); dCor(A, B) = <A, B> / sqrt(<A, A><B, B>), the V-statistic (what
`dcor.distance_correlation_sqr` returns; `dcor` is not used here because it
brings numba and llvmlite, about 210 MB, and 5 s of import, for a computation
numpy does for all pairs at once with one Gram matrix). The value is averaged
over batches. Batches are drawn as a shuffling data loader would: each pass
over a fresh permutation of the utterances yields floor(N / B) disjoint batches.

The V-statistic is biased upward when B is small against the dimension: two
independent clouds of 32 points in 768 dimensions score about 0.99, since
every off-diagonal distance is nearly the same. `bias_corrected=True` gives the
U-centred estimator instead (`dcor.u_distance_correlation_sqr`), about 0 for
independent data, which can be negative.

SVCCA: per boundary, centre the rows, keep the top singular directions whose
cumulative singular-value sum passes `threshold`, then CCA between the two
reduced sets; the value is the mean canonical correlation. The directions are
also capped at N / `samples_per_direction`: with N utterances the centred
states span at most N - 1 directions, and two sets that both span (nearly) all
of them have canonical correlations of 1 whatever they hold. The original
computed SVCCA on 9600 utterances at once; with the 20 to 80 of a search set
the cap is what keeps the measure meaningful.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from gridprune.errors import GridpruneError

DEFAULT_BATCH_SIZE = 32
DEFAULT_BATCHES = 10
DEFAULT_THRESHOLD = 0.99
DEFAULT_SAMPLES_PER_DIRECTION = 5.0


class CorrelationError(GridpruneError, ValueError):
    """Hidden states or settings that a correlation matrix cannot be computed from."""


def _as_states(states: Sequence[np.ndarray] | np.ndarray) -> list[np.ndarray]:
    arrays = [np.asarray(s, dtype=np.float64) for s in states]
    if len(arrays) < 2:
        raise CorrelationError(f"need the hidden states of at least 2 layer boundaries, got {len(arrays)}")
    rows = arrays[0].shape[0] if arrays[0].ndim == 2 else None
    for i, array in enumerate(arrays):
        if array.ndim != 2 or array.shape[0] != rows:
            raise CorrelationError(f"boundary {i}: hidden states of shape {array.shape}; every boundary needs "
                                   f"(utterances, width) with the same {rows} utterances")
        if not np.isfinite(array).all():
            raise CorrelationError(f"boundary {i}: hidden states hold NaN or infinite values")
    return arrays


def l2_normalise_rows(x: np.ndarray) -> np.ndarray:
    """Each row divided by its Euclidean norm (a zero row stays zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def distance_matrix(x: np.ndarray) -> np.ndarray:
    """The (n, n) Euclidean distances between the rows of `x`, exactly 0 on the diagonal."""
    squared = np.sum(x * x, axis=1)
    d2 = squared[:, None] + squared[None, :] - 2.0 * (x @ x.T)
    np.fill_diagonal(d2, 0.0)
    return np.sqrt(np.maximum(d2, 0.0))


def double_centred(d: np.ndarray) -> np.ndarray:
    """d_ij - mean of row i - mean of column j + grand mean."""
    return d - d.mean(axis=0, keepdims=True) - d.mean(axis=1, keepdims=True) + d.mean()


def u_centred(d: np.ndarray) -> np.ndarray:
    """The U-centred distance matrix of the bias-corrected estimator (0 on the diagonal; n > 3)."""
    n = d.shape[0]
    rows = d.sum(axis=1, keepdims=True) / (n - 2)
    cols = d.sum(axis=0, keepdims=True) / (n - 2)
    centred = d - rows - cols + d.sum() / ((n - 1) * (n - 2))
    np.fill_diagonal(centred, 0.0)
    return centred


def batch_distance_correlation(batch: Sequence[np.ndarray], bias_corrected: bool = False) -> np.ndarray:
    """dCor between every pair of boundaries on one batch: (L+1, L+1), rows used as given."""
    centre = u_centred if bias_corrected else double_centred
    flat = np.stack([centre(distance_matrix(x)).ravel() for x in batch])
    gram = flat @ flat.T
    variances = np.diag(gram)
    if (variances <= 0).any():
        boundary = int(np.flatnonzero(variances <= 0)[0])
        raise CorrelationError(f"boundary {boundary}: every utterance of a batch has the same pooled hidden state; "
                               "distance correlation is undefined")
    return gram / np.sqrt(np.outer(variances, variances))


def batch_indices(n: int, batch_size: int, batches: int, rng: np.random.Generator) -> list[np.ndarray]:
    """`batches` index arrays of `batch_size` distinct utterances, disjoint within each pass over a permutation.

    With `batch_size` >= n there is one batch of all utterances (more would be copies of it).
    """
    if batch_size >= n:
        return [np.arange(n)]
    per_pass = n // batch_size
    drawn: list[np.ndarray] = []
    while len(drawn) < batches:
        order = rng.permutation(n)
        drawn.extend(order[k * batch_size:(k + 1) * batch_size] for k in range(per_pass))
    return drawn[:batches]


def distance_correlation_matrix(
    states: Sequence[np.ndarray] | np.ndarray,
    batch_size: int = DEFAULT_BATCH_SIZE,
    batches: int = DEFAULT_BATCHES,
    rng: np.random.Generator | int = 0,
    *,
    bias_corrected: bool = False,
) -> np.ndarray:
    """CoMFLP's DC matrix: dCor between boundaries, rows L2-normalised, averaged over `batches` batches.

    Defaults: batches of 32 (the original ran 4 and 32; 32 scores far less noisily),
    10 of them (the original's count); a search set of at most 32 utterances is one batch.
    """
    arrays = [l2_normalise_rows(x) for x in _as_states(states)]
    n = arrays[0].shape[0]
    minimum = 4 if bias_corrected else 2
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < minimum:
        raise CorrelationError(f"batch_size must be an int >= {minimum}, got {batch_size!r}")
    if isinstance(batches, bool) or not isinstance(batches, (int, np.integer)) or batches < 1:
        raise CorrelationError(f"batches must be an int >= 1, got {batches!r}")
    if n < minimum:
        raise CorrelationError(f"distance correlation needs at least {minimum} utterances, got {n}")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    chosen = batch_indices(n, int(batch_size), int(batches), generator)
    total = sum(batch_distance_correlation([x[idx] for x in arrays], bias_corrected) for idx in chosen)
    matrix = total / len(chosen)
    np.fill_diagonal(matrix, 1.0)
    return (matrix + matrix.T) / 2  # exact symmetry, whatever the rounding


def kept_directions(singular_values: np.ndarray, threshold: float, cap: int) -> int:
    """The fewest top directions whose singular-value sum passes `threshold` of the total, at most `cap`."""
    total = singular_values.sum()
    if total <= 0:
        return 0
    share = np.cumsum(singular_values) / total
    count = int(np.searchsorted(share, threshold, side="right")) + 1
    return max(1, min(count, cap, int(np.count_nonzero(singular_values > singular_values[0] * 1e-10))))


def svd_basis(x: np.ndarray, threshold: float, cap: int) -> np.ndarray:
    """An orthonormal (N, k) basis of the kept singular directions of the centred rows of `x`."""
    centred = x - x.mean(axis=0, keepdims=True)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    return u[:, :kept_directions(s, threshold, cap)]


def canonical_correlations(basis_a: np.ndarray, basis_b: np.ndarray) -> np.ndarray:
    """CCA between two sets given orthonormal bases of their (centred) column spaces."""
    return np.clip(np.linalg.svd(basis_a.T @ basis_b, compute_uv=False), 0.0, 1.0)


def svcca_matrix(
    states: Sequence[np.ndarray] | np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    max_directions: int | None = None,
    samples_per_direction: float = DEFAULT_SAMPLES_PER_DIRECTION,
) -> np.ndarray:
    """SVCCA between boundaries on all utterances at once: the mean canonical correlation.

    Each boundary keeps its top directions up to `threshold` of the singular-value
    sum, at most `max_directions` (default: N / `samples_per_direction`, at least 1).
    """
    arrays = _as_states(states)
    n = arrays[0].shape[0]
    if not 0 < threshold <= 1:
        raise CorrelationError(f"threshold must be in (0, 1], got {threshold!r}")
    if n < 3:
        raise CorrelationError(f"SVCCA needs at least 3 utterances, got {n}")
    if max_directions is None:
        if not samples_per_direction > 0:
            raise CorrelationError(f"samples_per_direction must be > 0, got {samples_per_direction!r}")
        max_directions = max(1, int(n // samples_per_direction))
    elif isinstance(max_directions, bool) or not isinstance(max_directions, (int, np.integer)) or max_directions < 1:
        raise CorrelationError(f"max_directions must be an int >= 1, got {max_directions!r}")
    bases = [svd_basis(x, threshold, int(max_directions)) for x in arrays]
    for i, basis in enumerate(bases):
        if basis.shape[1] == 0:
            raise CorrelationError(f"boundary {i}: every utterance has the same pooled hidden state; SVCCA is undefined")
    size = len(bases)
    matrix = np.eye(size)
    for i in range(size):
        for j in range(i + 1, size):
            matrix[i, j] = matrix[j, i] = canonical_correlations(bases[i], bases[j]).mean()
    return matrix
