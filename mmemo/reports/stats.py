"""Paired significance tests between two runs evaluated on the same clips.

Both functions take per-clip correctness (``True`` where the run predicted the clip's label)
of two runs, aligned on the same clips in the same order: the caller (the store layer) joins
them by clip id, never by sort order.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binomtest

from mmemo.errors import InputError

#: Bootstrap resamples drawn per batch (bounds memory at about 8 MB per 1,000 clips).
_BATCH = 1000


def _paired(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(correct_a)
    b = np.asarray(correct_b)
    if a.ndim != 1 or b.ndim != 1:
        raise InputError(f"correctness must be 1-D arrays; got shapes {a.shape} and {b.shape}")
    if a.shape != b.shape:
        raise InputError(
            f"the two runs must be aligned on the same clips; got {a.size} and {b.size} clips"
        )
    if a.size == 0:
        raise InputError("no clips to compare")
    for name, arr in (("correct_a", a), ("correct_b", b)):
        if arr.dtype != bool and not np.all((arr == 0) | (arr == 1)):
            raise InputError(f"{name} must be boolean (or 0/1) per clip")
    return a.astype(bool), b.astype(bool)


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[int, int, float]:
    """Exact McNemar test of two runs on the same clips.

    Args:
        correct_a: Per-clip correctness of run A, shape ``(n,)``.
        correct_b: Per-clip correctness of run B, aligned with ``correct_a``.

    Returns:
        ``(b, c, p_value)``: ``b`` clips only A gets right, ``c`` clips only B gets right, and
        the two-sided exact binomial p-value of ``b`` among ``b + c`` discordant pairs under
        p = 0.5 (1.0 when there are no discordant pairs).

    Raises:
        InputError: arrays of different length, empty, not 1-D or not boolean.
    """
    a, b_ = _paired(correct_a, correct_b)
    b = int(np.count_nonzero(a & ~b_))
    c = int(np.count_nonzero(~a & b_))
    if b + c == 0:
        return b, c, 1.0
    return b, c, float(binomtest(b, b + c, 0.5, alternative="two-sided").pvalue)


def paired_bootstrap_diff(
    correct_a: np.ndarray,
    correct_b: np.ndarray,
    *,
    n_boot: int = 10000,
    seed: int = 2020,
) -> tuple[float, float, float]:
    """Accuracy difference A − B with a paired percentile-bootstrap 95% interval.

    Clips are resampled with replacement (the same resample for both runs), ``n_boot`` times;
    the interval is the 2.5th and 97.5th percentile of the resampled differences. The resampling
    unit is the clip, so the interval ignores the fold and actor structure.

    Args:
        correct_a: Per-clip correctness of run A, shape ``(n,)``.
        correct_b: Per-clip correctness of run B, aligned with ``correct_a``.
        n_boot: Number of bootstrap resamples.
        seed: Seed of the random generator (results are identical for the same seed).

    Returns:
        ``(diff, lo, hi)`` in % points: the observed difference and the interval bounds.

    Raises:
        InputError: misaligned or invalid inputs, or ``n_boot`` < 1.
    """
    if n_boot < 1:
        raise InputError(f"n_boot must be at least 1; got {n_boot}")
    a, b = _paired(correct_a, correct_b)
    d = a.astype(np.float64) - b.astype(np.float64)
    n = d.size
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    for start in range(0, n_boot, _BATCH):
        stop = min(start + _BATCH, n_boot)
        idx = rng.integers(0, n, size=(stop - start, n))
        diffs[start:stop] = d[idx].mean(axis=1)
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return float(d.mean() * 100.0), float(lo * 100.0), float(hi * 100.0)
