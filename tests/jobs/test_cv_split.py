"""``CVData.split`` and the inner folds of ``--inner K`` (``inner_splits``) on it: actor-disjoint,
every training clip held out once, classes balanced, seeded by the run seed and outer fold."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmemo.corpora.ravdess import VOCABULARY
from mmemo.errors import InputError
from mmemo.jobs.cv import CVData
from mmemo.jobs.fold_training import inner_splits


def _cv(actors: list[int], emotions: list[int], folds: list[int]) -> CVData:
    n = len(actors)
    return CVData(
        "s", "all", np.array([f"c{i:03d}" for i in range(n)]), np.array(emotions),
        np.array(actors), np.array(folds), 1, vocabulary=VOCABULARY,
    )  # fmt: skip


@st.composite
def outer_folds(draw: st.DrawFn) -> CVData:
    """4-10 actors with 0-4 clips of each of 8 emotions (one at least), rows in random order, in two
    or three outer folds that each leave at least two training actors."""
    n = draw(st.integers(4, 10))
    rows = []
    for actor in range(1, n + 1):
        per_emotion = draw(st.lists(st.integers(0, 4), min_size=8, max_size=8))
        per_emotion[draw(st.integers(0, 7))] += 1  # every actor has a clip
        rows += [(actor, e + 1) for e, m in enumerate(per_emotion) for _ in range(m)]
    rows = draw(st.permutations(rows))
    k = draw(st.integers(2, 3))
    return _cv([a for a, _ in rows], [e for _, e in rows], [a % k for a, _ in rows])


@settings(max_examples=50, deadline=None)
@given(cv=outer_folds(), data=st.data(), seed=st.integers(0, 10_000))
def test_inner_folds_hold_out_every_training_clip_once_by_actor(cv, data, seed) -> None:
    fold = data.draw(st.sampled_from(cv.fold_ids))
    train = np.flatnonzero(cv.folds != fold)
    k = data.draw(st.integers(2, len(np.unique(cv.actors[train]))))
    splits = inner_splits(cv, fold, train, k, seed)
    assert len(splits) == k
    assert sorted(np.concatenate([h for _, h in splits]).tolist()) == train.tolist()
    for fit_rows, held in splits:
        assert len(held) > 0
        assert set(cv.actors[fit_rows].tolist()).isdisjoint(cv.actors[held].tolist())
        assert sorted([*fit_rows, *held]) == train.tolist()  # only the fold's training rows
    again = inner_splits(cv, fold, train, k, seed)
    assert [h.tolist() for _, h in again] == [h.tolist() for _, h in splits]


def test_inner_folds_balance_emotions_and_differ_per_outer_fold() -> None:
    """Twelve actors of whom four have no "surprised" clips: each inner fold gets some of them
    (the inner folds are stratified, as the outer kfold ones are)."""
    actors, emotions = [], []
    for actor in range(1, 13):
        for emotion in range(1, 9 if actor > 4 else 8):
            actors += [actor] * 2
            emotions += [emotion] * 2
    cv = _cv(actors, emotions, [0] * len(actors))  # every row is a training row of outer fold 1
    train = np.arange(len(actors))
    for seed in range(10):
        for _, held in inner_splits(cv, 1, train, 4, seed):
            counts = Counter(cv.emotions[held].tolist())
            assert counts[8] == 4 and counts[1] == 6, counts  # 2 of the 8, 3 of 12 actors
    draws = {
        tuple(tuple(h.tolist()) for _, h in inner_splits(cv, fold, train, 4, seed=7))
        for fold in range(1, 8)
    }
    assert len(draws) > 1  # each outer fold gets its own draw


def test_inner_k_out_of_range_names_the_fold_and_its_actors() -> None:
    actors = [1, 1, 2, 2, 3, 3, 4, 4]
    cv = _cv(actors, [1, 2] * 4, [0 if a == 1 else 1 for a in actors])
    train = np.flatnonzero(cv.folds != 0)
    for k in (1, 4):
        with pytest.raises(
            InputError,
            match=rf"--inner {k}: fold 0 of 's' has 3 training actors; K must be at least 2 "
            "and at most that",
        ):
            inner_splits(cv, 0, train, k, seed=0)


def test_cv_split_holds_out_a_share_of_the_actors_as_row_indices() -> None:
    actors = list(np.repeat(np.arange(1, 11), 4))
    cv = _cv(actors, [1, 2, 3, 4] * 10, [0] * 40)
    rows = np.arange(8, 40)  # actors 3..10
    ((kept, held),) = cv.split(rows, fraction=0.25, seed=5)
    assert sorted([*kept, *held]) == rows.tolist()
    assert len(set(cv.actors[held].tolist())) == 2  # round(0.25 × 8)
    assert set(cv.actors[kept].tolist()).isdisjoint(cv.actors[held].tolist())
    ((kept2, held2),) = cv.split(rows, fraction=0.25, seed=5)
    assert held2.tolist() == held.tolist()
