from __future__ import annotations

import numpy as np
import pytest

from mmemo.errors import InputError
from mmemo.reports.stats import mcnemar_exact, paired_bootstrap_diff


def test_mcnemar_hand_example() -> None:
    # 3 both right, 1 only A right, 5 only B right, 1 both wrong.
    a = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
    b = np.array([1, 1, 1, 0, 1, 1, 1, 1, 1, 0], dtype=bool)
    bb, c, p = mcnemar_exact(a, b)
    assert (bb, c) == (1, 5)
    # Two-sided exact: 2 * P(X <= 1), X ~ Bin(6, 0.5) = 2 * 7/64.
    assert p == pytest.approx(14 / 64)
    assert mcnemar_exact(b, a) == (5, 1, pytest.approx(14 / 64))


def test_mcnemar_no_discordant_pairs() -> None:
    a = np.array([True, False, True])
    assert mcnemar_exact(a, a) == (0, 0, 1.0)


def test_bootstrap_deterministic_and_sane() -> None:
    rng = np.random.default_rng(7)
    a = rng.random(1440) < 0.85
    b = rng.random(1440) < 0.80
    first = paired_bootstrap_diff(a, b, n_boot=2000, seed=2020)
    assert first == paired_bootstrap_diff(a, b, n_boot=2000, seed=2020)
    assert first != paired_bootstrap_diff(a, b, n_boot=2000, seed=1)
    diff, lo, hi = first
    assert diff == pytest.approx((a.mean() - b.mean()) * 100)
    assert lo < diff < hi
    assert hi - lo < 10


def test_bootstrap_identical_runs_have_zero_width() -> None:
    a = np.array([True, False] * 50)
    assert paired_bootstrap_diff(a, a, n_boot=100) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("fn", [mcnemar_exact, paired_bootstrap_diff])
def test_length_mismatch_raises(fn) -> None:
    with pytest.raises(InputError, match="aligned on the same clips"):
        fn(np.ones(3, bool), np.ones(4, bool))
    with pytest.raises(InputError, match="boolean"):
        fn(np.array([0, 2]), np.array([0, 1]))
    with pytest.raises(InputError, match="no clips"):
        fn(np.array([], bool), np.array([], bool))
