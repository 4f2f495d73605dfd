"""Honest fusion: ``--inner K`` gives every training clip an out-of-fold score (split ``oof``)
from a model that never saw its actor, and ``fuse --on oof`` fits the fusion model on those."""

from __future__ import annotations

import numpy as np
import pytest

from mmemo.corpora.ravdess import VOCABULARY
from mmemo.errors import InputError
from mmemo.jobs.cv import CVData
from mmemo.jobs.fold_training import inner_splits

KFOLD2 = "kfold:2:2020"  # with 4 actors: two folds of two test actors, two training actors


def _cv(actors: list[int], folds: list[int]) -> CVData:
    n = len(actors)
    return CVData(
        "s", "all", np.array([f"c{i}" for i in range(n)]), np.ones(n, int), np.array(actors),
        np.array(folds), 1, vocabulary=VOCABULARY,
    )  # fmt: skip


def test_inner_folds_are_actor_disjoint_and_hold_out_every_training_clip_once() -> None:
    actors = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    cv = _cv(actors, [0 if a <= 2 else 1 for a in actors])
    train = np.flatnonzero(cv.folds != 0)
    splits = inner_splits(cv, 0, train, 2, seed=7)
    held = np.concatenate([h for _, h in splits])
    assert sorted(held.tolist()) == train.tolist()  # every training clip once
    for fit_rows, held_rows in splits:
        assert set(cv.actors[fit_rows]).isdisjoint(cv.actors[held_rows])
        assert sorted([*fit_rows, *held_rows]) == train.tolist()
    assert [h.tolist() for _, h in inner_splits(cv, 0, train, 2, seed=7)] == [
        h.tolist() for _, h in splits
    ]  # seeded: the same split every time
    with pytest.raises(InputError, match=r"--inner 5: fold 0 of 's' has 4 training actors"):
        inner_splits(cv, 0, train, 5, seed=7)


@pytest.fixture(scope="module")
def stacked(tmp_path_factory: pytest.TempPathFactory):
    """A 4-actor store with two static runs trained with --inner 2 and both fusions of them."""
    from mmemo.cli.main import main
    from mmemo.corpora.synth import create_ravdess
    from mmemo.store.store import Store

    base = tmp_path_factory.mktemp("stacking")
    corpus = create_ravdess(base / "RAVDESS", actors=4, seconds=0.3)
    store = base / "store"

    def mmemo(*args: object) -> None:
        try:
            main(["--store", str(store), *map(str, args)])
        except SystemExit as exc:
            assert not exc.code, args

    mmemo("init")
    mmemo("ingest", "ravdess", corpus.root)
    mmemo("ingest", "openface", corpus.openface_dir / "01-01-*.csv", "--name", "aus")
    common = ["--features", "aus:mean", "--scheme", KFOLD2, "--inner", "2", "--jobs", "1"]
    mmemo("train", "static", "--model", "logreg", "--name", "a", *common)
    mmemo("train", "static", "--model", "knn", "--param", "n_neighbors=5", "--name", "b", *common)
    mmemo("train", "static", "--model", "svc", "--name", "plain", "--features", "aus:mean",
          "--scheme", KFOLD2)  # fmt: skip
    deep = ["--device", "cpu", "--early-stop-on", "test", "--param", "max_epochs=2"]
    mmemo("train", "bilstm", "--features", "aus", "--scheme", KFOLD2, "--inner", "2", *deep,
          "--name", "lstm")  # fmt: skip
    mmemo("fuse", "a", "b", "--name", "paper")
    mmemo("fuse", "a", "b", "--name", "stacked", "--on", "oof")
    return Store.open(store)


def _scores(store, run: str, split: str) -> dict[tuple[int, str], list[float]]:
    with store.session() as s:
        rows = s.fetch(
            "SELECT fold, clip_id, scores FROM posteriors WHERE run = ? AND split = ?", [run, split]
        )
    return {(f, c): list(v) for f, c, v in rows}


@pytest.mark.slow
def test_every_training_clip_gets_the_score_of_a_model_that_never_saw_its_actor(stacked):
    from mmemo.jobs.cv import load_cv
    from mmemo.jobs.static import _inputs
    from mmemo.models import sklearn_static

    oof = _scores(stacked, "a", "oof")
    train = _scores(stacked, "a", "train")
    assert oof.keys() == train.keys() and len(oof) > 0  # one per training clip of each fold
    assert oof != train  # not the in-sample scores

    cv, X, _ = _inputs(stacked, load_cv(stacked, KFOLD2, "av-speech"), "logreg", "aus:mean")
    position = {c: i for i, c in enumerate(cv.clip_ids.tolist())}
    for fold in cv.fold_ids:  # recompute each clip's score from scratch, by actor
        rows = np.flatnonzero(cv.folds != fold)
        for actor in np.unique(cv.actors[rows]):
            seen = rows[cv.actors[rows] != actor]
            held = rows[cv.actors[rows] == actor]
            # the inner model of the clip's actor was trained on the other inner fold: with two
            # training actors, exactly the other actor's clips
            result = sklearn_static.fit_fold(
                "logreg", {}, norm="none", seed=2020, X_train=X[seen],
                y_train=cv.emotions[seen], X_test=X[held],
            )  # fmt: skip
            for clip, expected in zip(cv.clip_ids[held], result.test_scores, strict=True):
                assert oof[fold, clip] == pytest.approx(list(expected), abs=1e-12)
                assert position[clip] in rows


@pytest.mark.slow
def test_a_deep_model_gets_out_of_fold_scores_too(stacked, run_row):
    oof, train = _scores(stacked, "lstm", "oof"), _scores(stacked, "lstm", "train")
    assert oof.keys() == train.keys() and len(oof) == 240  # 120 training clips × 2 folds
    assert all(np.isfinite(v).all() for v in oof.values())
    assert run_row(stacked, "lstm").params["inner"] == 2


@pytest.mark.slow
def test_the_stacked_fusion_learns_from_out_of_fold_scores(stacked, store_cli):
    from mmemo.models.base import FoldData
    from mmemo.models.registry import get_kind

    a, b = _scores(stacked, "a", "oof"), _scores(stacked, "b", "oof")
    ta, tb = _scores(stacked, "a", "test"), _scores(stacked, "b", "test")
    stacked_test = _scores(stacked, "stacked", "test")
    with stacked.session() as s:
        emotion = dict(s.fetch("SELECT clip_id, emotion FROM clips"))
    for fold in sorted({f for f, _ in ta}):
        fit = sorted(c for f, c in a if f == fold)
        test = sorted(c for f, c in ta if f == fold)
        data = FoldData(
            X_train=np.array([a[fold, c] + b[fold, c] for c in fit]),
            y_train=np.array([emotion[c] for c in fit]),
            X_test=np.array([ta[fold, c] + tb[fold, c] for c in test]),
        )
        result = get_kind("fusion-logreg").fit({"C": 1.0, "norm": "minmax"}, data, seed=2020)
        for clip, expected in zip(test, result.test_scores, strict=True):
            assert stacked_test[fold, clip] == pytest.approx(list(expected), abs=1e-12)
    assert _scores(stacked, "paper", "test") != stacked_test

    both = store_cli(stacked, "compare", "paper", "stacked")
    assert both.code == 0, both.err
    report = store_cli(stacked, "report", "paper", "stacked", "--paired")
    assert report.code == 0 and "stacked" in report.out and "paper" in report.out
    assert "McNemar exact p" in report.out and "on = oof" in report.out
    one = store_cli(stacked, "report", "paper", "--paired")
    assert one.code == 2 and "--paired compares two runs; 1 match" in one.err_text
    for check in ("posteriors_complete", "actor_not_in_train_and_test"):
        audit = store_cli(stacked, "sql", "-f", check, "--format", "csv")
        assert audit.code == 0, audit.err
        assert len(audit.out.strip().splitlines()) <= 1, audit.out  # the header only


@pytest.mark.slow
def test_stacking_on_runs_without_out_of_fold_scores_is_refused(stacked, store_cli, store_state):
    before = store_state(stacked)
    refused = store_cli(stacked, "fuse", "a", "plain", "--name", "x", "--on", "oof")
    assert refused.code == 2
    assert "run plain has no out-of-fold scores" in refused.err_text
    assert "--inner K" in refused.err_text
    assert store_state(stacked) == before
    frames = store_cli(stacked, "train", "static", "--model", "svc", "--features", "aus",
                       "--frames", "--inner", "2", "--name", "y")  # fmt: skip
    assert frames.code == 2 and "no --inner" in frames.err_text


def test_out_of_range_inner_is_a_one_line_error(zeror_store, store_cli) -> None:
    result = store_cli(zeror_store, "train", "static", "--model", "zeror", "--name", "z2",
                       "--scheme", KFOLD2, "--inner", "2")  # fmt: skip
    assert result.code == 2
    assert "--inner 2: fold" in result.err_text and "has 1 training actor" in result.err_text
