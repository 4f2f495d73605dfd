"""``mmemo predict`` on trained runs of every model kind: a run's own test clips get their
fold's model, which reproduces the stored test posteriors."""

from __future__ import annotations

import numpy as np
import pytest

KFOLD2 = "kfold:2:2020"
FEW = "modality = 1 AND vocal_channel = 1 AND statement = 1 AND repetition = 1"


def _stored_test(store, run: str) -> dict[str, tuple[int, list[float]]]:
    with store.session() as s:
        rows = s.fetch(
            "SELECT clip_id, fold, scores FROM posteriors WHERE run = ? AND split = 'test'", [run]
        )
    return {clip: (fold, list(scores)) for clip, fold, scores in rows}


def _check_reproduces(store, run: str, clips: str | None, *, atol: float) -> None:
    from mmemo.jobs.predict import predict_run

    stored = _stored_test(store, run)
    table = predict_run(store, run, clips).table.to_pylist()
    assert table and {r["clip_id"] for r in table} == set(stored)
    for row in table:
        fold, scores = stored[row["clip_id"]]
        assert row["folds"] == [fold] and row["basis"] == "test clip"
        np.testing.assert_allclose(row["scores"], scores, rtol=0, atol=atol)
        assert row["predicted_emotion"] == int(np.argmax(scores)) + 1


@pytest.mark.slow
def test_predict_static_run_reproduces_its_test_posteriors(jobs_store) -> None:
    from mmemo.jobs.specs import StaticSpec
    from mmemo.jobs.static import train_static

    train_static(
        jobs_store,
        StaticSpec.one(
            name="lr",
            model="logreg",
            norm="minmax",
            features="aus",
            scheme=KFOLD2,
            clips="av-speech",
        ),
    )
    _check_reproduces(jobs_store, "lr", "av-speech", atol=0)


@pytest.mark.slow
def test_predict_bilstm_run_reproduces_its_test_posteriors(jobs_store) -> None:
    pytest.importorskip("torch")
    from mmemo.jobs.deep import train_bilstm_job
    from mmemo.jobs.specs import BiLSTMSpec

    train_bilstm_job(
        jobs_store,
        BiLSTMSpec(
            name="bl",
            features="aus",
            scheme=KFOLD2,
            clips=FEW,
            device="cpu",
            early_stop_on="test",
            params={"max_epochs": 2},
        ),
    )
    # float32 logits: other batch mates change the last bits of a matrix product
    _check_reproduces(jobs_store, "bl", FEW, atol=1e-6)


@pytest.mark.slow
def test_predict_finetune_run_scores_audio_like_the_job(jobs_store, tiny_w2v2) -> None:
    from mmemo.jobs.deep import train_finetune_job
    from mmemo.jobs.specs import FinetuneSpec

    train_finetune_job(
        jobs_store,
        FinetuneSpec(
            model=str(tiny_w2v2[True]),
            name="ft",
            scheme=KFOLD2,
            clips=FEW,
            device="cpu",
            params={"epochs": 1, "batch_size": 8, "max_seconds": 0.5},
        ),
    )
    _check_reproduces(jobs_store, "ft", FEW, atol=1e-5)


def test_predict_refuses_imported_posteriors_and_runs_without_models(jobs_store) -> None:
    from mmemo.errors import InputError
    from mmemo.jobs.predict import predict_run
    from mmemo.jobs.specs import StaticSpec
    from mmemo.jobs.static import train_static_frames

    train_static_frames(
        jobs_store,
        StaticSpec.one(
            name="fr", model="knn", features="aus", scheme=KFOLD2, clips=FEW, frames=True
        ),
    )
    with pytest.raises(InputError, match="run 'fr/vote' kept no models"):
        predict_run(jobs_store, "fr/vote", FEW)


@pytest.mark.slow
def test_predict_uses_the_runs_own_clips_and_only_models_that_never_saw_the_actor(
    jobs_store,
) -> None:
    """A run trained on statement 1 of the av-speech clips, asked for ``actor = 1``: files
    without AU features (audio-only, songs: the AU set holds av-speech) are left out and
    counted; actor 1's statement-2 clips, never test clips of the run, get the model of the
    fold that held actor 1 out (the same rule serves the video-only file of a take: the same
    face), never the mean over folds that trained on the actor."""
    from mmemo.jobs.predict import HELD_OUT_ACTOR, TEST_CLIP, fold_scores, predict_run
    from mmemo.jobs.specs import StaticSpec
    from mmemo.jobs.static import train_static
    from mmemo.store.runs import resolve_runs

    half = "modality = 1 AND vocal_channel = 1 AND statement = 1"
    train_static(
        jobs_store,
        StaticSpec.one(name="lr", model="logreg", features="aus", scheme=KFOLD2, clips=half),
    )
    own = predict_run(jobs_store, "lr")
    assert own.selection == half and not own.left_out
    assert set(own.table.column("basis").to_pylist()) == {TEST_CLIP}

    with jobs_store.session() as s:
        clips = dict(s.fetch("SELECT clip_id, statement FROM clips WHERE actor = 1"))
        with_aus = {c for (c,) in s.fetch("SELECT clip_id FROM au_means")} & set(clips)
        (run,) = resolve_runs(s, ["lr"])
        (fold,) = {
            f
            for (f,) in s.fetch(
                "SELECT DISTINCT fold FROM posteriors WHERE run = 'lr' AND split = 'test' "
                "AND clip_id IN (SELECT clip_id FROM clips WHERE actor = 1)"
            )
        }
    prediction = predict_run(jobs_store, "lr", "actor = 1")
    rows = prediction.table.to_pylist()
    assert prediction.selected == len(clips)
    assert set(prediction.left_out) == set(clips) - with_aus
    assert prediction.reason == "no features in aus@1"
    assert "left out, no features in aus@1" in prediction.note()
    held = [r for r in rows if r["basis"] == HELD_OUT_ACTOR]
    assert {r["clip_id"] for r in held} == {c for c in with_aus if clips[c] == 2}
    assert all(r["folds"] == [fold] for r in rows)
    ids = np.array([r["clip_id"] for r in held])
    alone = fold_scores(jobs_store, run, ids, None)[fold]
    np.testing.assert_allclose([r["scores"] for r in held], alone, rtol=0, atol=0)


def test_a_new_actor_gets_every_fold_and_a_missing_fold_model_is_refused() -> None:
    from types import SimpleNamespace

    from mmemo.errors import InputError
    from mmemo.jobs.predict import NEW_ACTOR, _folds_for

    run = SimpleNamespace(name="r")
    per_fold = {0: None, 1: None}
    assert _folds_for("c", 9, {}, {1: 0, 2: 1}, per_fold, run) == ([0, 1], NEW_ACTOR)
    with pytest.raises(InputError, match="kept no model of fold 1, the only one that never saw"):
        _folds_for("c", 2, {}, {1: 0, 2: 1}, {0: None}, run)


def test_a_selection_without_the_runs_inputs_is_one_clear_error(jobs_store) -> None:
    from mmemo.errors import InputError
    from mmemo.jobs.predict import predict_run
    from mmemo.jobs.specs import StaticSpec
    from mmemo.jobs.static import train_static

    train_static(
        jobs_store,
        StaticSpec.one(name="lr", model="logreg", features="aus", scheme=KFOLD2, clips="av-speech"),
    )
    with pytest.raises(InputError, match=r"none of the \d+ clip\(s\) .* no features in aus@1"):
        predict_run(jobs_store, "lr", "modality = 3")
