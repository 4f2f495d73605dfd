"""Actor-disjoint splits on scikit-learn's group splitters (``mmemo.splits``): the properties
every user of them relies on, checked on random corpora, and the K-bounds errors."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmemo.errors import InputError
from mmemo.splits import split_actors


@st.composite
def corpora(draw: st.DrawFn, min_actors: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(actor, class) of every clip: 2-12 actors with 1-6 clips of each of up to 4 classes,
    in a random row order (actors need not be numbered 1..N)."""
    n = draw(st.integers(min_actors, 12))
    ids = draw(st.lists(st.integers(1, 99), min_size=n, max_size=n, unique=True))
    rows = []
    for actor in ids:
        per_class = draw(st.lists(st.integers(0, 6), min_size=1, max_size=4))
        if not any(per_class):
            per_class[0] = 1  # every actor has a clip
        rows += [(actor, c) for c, m in enumerate(per_class) for _ in range(m)]
    order = draw(st.permutations(range(len(rows))))
    actors, y = np.array([rows[i] for i in order]).T
    return actors, y


@settings(max_examples=60, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**40))
def test_k_folds_are_actor_disjoint_and_hold_out_every_clip_once(data, seed) -> None:
    actors, y = data.draw(corpora())
    k = data.draw(st.integers(2, len(np.unique(actors))))
    splits = split_actors(actors, y, k=k, seed=seed)
    assert len(splits) == k
    held = np.concatenate([out for _, out in splits])
    assert sorted(held.tolist()) == list(range(len(y)))  # every clip held out exactly once
    for kept, out in splits:
        assert len(out) > 0  # no fold is empty
        assert set(actors[kept].tolist()).isdisjoint(actors[out].tolist())
        assert sorted([*kept, *out]) == list(range(len(y)))  # kept: all the others
        assert kept.tolist() == sorted(kept.tolist()) and out.tolist() == sorted(out.tolist())
    again = split_actors(actors, y, k=k, seed=seed)  # seeded: the same folds every time
    assert [o.tolist() for _, o in again] == [o.tolist() for _, o in splits]


@settings(max_examples=40, deadline=None)
@given(
    per_class=st.lists(st.integers(1, 8), min_size=2, max_size=8),
    n=st.integers(2, 24),
    data=st.data(),
    seed=st.integers(0, 10_000),
)
def test_k_folds_balance_each_class_as_whole_actors_allow(per_class, n, data, seed) -> None:
    """Actors alike in their clips per class (the corpus, a clip selection by sentence or
    intensity): in every class the folds differ by at most one actor's clips of it."""
    k = data.draw(st.integers(2, n))
    actors = np.repeat(np.arange(1, n + 1), sum(per_class))
    y = np.tile(np.repeat(np.arange(len(per_class)), per_class), n)
    folds = split_actors(actors, y, k=k, seed=seed)
    for c, most in enumerate(per_class):
        sizes = [int((y[out] == c).sum()) for _, out in folds]
        assert max(sizes) - min(sizes) <= most, (c, sizes)


def test_k_folds_balance_classes_when_actors_differ() -> None:
    """Stratification, not clip counts alone: two kinds of actors, each with one class only,
    are spread over both folds (a split by clip count could put all of a class in one)."""
    actors = np.repeat(np.arange(1, 9), 4)
    y = np.where(actors <= 4, 0, 1)
    for seed in range(20):
        for _, out in split_actors(actors, y, k=2, seed=seed):
            assert Counter(y[out].tolist()) == {0: 8, 1: 8}


def test_k_folds_of_classes_rarer_than_k_still_split() -> None:
    """Every class smaller than K: nothing to stratify, the folds are still actor-disjoint."""
    actors, y = np.arange(5), np.arange(5)  # one clip of its own class per actor
    folds = split_actors(actors, y, k=5, seed=1)
    assert sorted(o.tolist() for _, o in folds) == [[0], [1], [2], [3], [4]]


@settings(max_examples=60, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**40), fraction=st.floats(0.01, 0.99))
def test_a_hold_out_is_actor_disjoint_and_keeps_every_class(data, seed, fraction) -> None:
    actors, y = data.draw(corpora())
    ((kept, out),) = split_actors(actors, y, fraction=fraction, seed=seed)
    n = len(np.unique(actors))
    assert len(np.unique(actors[out])) == min(max(round(fraction * n), 1), n - 1)
    assert set(actors[kept].tolist()).isdisjoint(actors[out].tolist())
    assert sorted([*kept, *out]) == list(range(len(y)))
    # where most hold-outs of that many actors keep every class, 100 draws find one (a miss:
    # 2**-100); where none does, the first draw is taken
    keeps = [
        set(y[~np.isin(actors, drop)].tolist()) == set(y.tolist())
        for drop in combinations(np.unique(actors).tolist(), len(np.unique(actors[out])))
    ]
    if np.mean(keeps) >= 0.5:
        assert set(y[kept].tolist()) == set(y.tolist())
    ((kept2, out2),) = split_actors(actors, y, fraction=fraction, seed=seed)
    assert kept2.tolist() == kept.tolist() and out2.tolist() == out.tolist()


def test_a_hold_out_passes_over_draws_that_take_a_class_away() -> None:
    """Actor 1 alone has class 9: it is never held out, for any seed."""
    actors = np.repeat(np.arange(1, 6), 4)
    y = np.where(actors == 1, 9, actors % 2)
    for seed in range(50):
        ((kept, out),) = split_actors(actors, y, fraction=0.4, seed=seed)
        assert 1 not in actors[out] and len(np.unique(actors[out])) == 2
    # no draw can keep every class (each actor has a class of its own): the first is taken
    ((kept, out),) = split_actors(actors, actors, fraction=0.4, seed=3)
    assert len(np.unique(actors[out])) == 2


def test_seeds_are_any_integers_or_tuples_of_them() -> None:
    actors = np.repeat(np.arange(10), 3)
    y = np.tile(np.arange(3), 10)
    for seed in (0, 2**32 - 1, 2**32, 2**70, -1, (2020, 0), (2020, 1)):
        first = split_actors(actors, y, k=3, seed=seed)
        assert [o.tolist() for _, o in first] == [
            o.tolist() for _, o in split_actors(actors, y, k=3, seed=seed)
        ]
    draws = {
        tuple(tuple(o.tolist()) for _, o in split_actors(actors, y, k=3, seed=(2020, fold)))
        for fold in range(10)
    }
    assert len(draws) > 1  # the outer fold changes the draw


@pytest.mark.parametrize(
    ("actors", "kwargs", "message"),
    [
        ([1, 1, 2, 2], {"k": 3}, r"3 folds of 2 actors; K must be at least 2 and at most"),
        ([1, 1, 2, 2], {"k": 1}, r"1 folds of 2 actors; K must be at least 2"),
        ([1, 1, 1, 1], {"k": 2}, r"need at least two actors, got 1"),
        ([1, 1, 1, 1], {"fraction": 0.5}, r"need at least two actors, got 1"),
        ([1, 1, 2, 2], {"fraction": 1.0}, r"fraction must lie strictly between 0 and 1, got 1.0"),
        ([1, 2, 3], {"k": 2}, r"\(3,\) actor ids for \(4,\) labels"),
    ],
)
def test_out_of_range_requests_are_one_line_input_errors(actors, kwargs, message) -> None:
    with pytest.raises(InputError, match=message):
        split_actors(np.array(actors), np.arange(4), seed=0, **kwargs)


def test_k_and_fraction_are_one_or_the_other() -> None:
    with pytest.raises(ValueError, match="not both"):
        split_actors(np.array([1, 2]), np.array([0, 1]), k=2, fraction=0.5, seed=0)
    with pytest.raises(ValueError, match="give k or fraction"):
        split_actors(np.array([1, 2]), np.array([0, 1]), seed=0)


def test_the_fold_schemes_load_neither_numpy_nor_scikit_learn() -> None:
    """``mmemo --help`` lists the fold schemes: loading them costs neither library (NumPy alone
    took ~60 ms); ``mmemo.splits`` loads scikit-learn only when it splits."""
    code = (
        "import sys, mmemo.corpora.folds; a = sorted({'numpy', 'sklearn'} & set(sys.modules)); "
        "import mmemo.splits; print(a, 'sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] False"
