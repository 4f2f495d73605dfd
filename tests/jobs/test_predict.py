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
    table = predict_run(store, run, clips).to_pylist()
    assert table and {r["clip_id"] for r in table} == set(stored)
    for row in table:
        fold, scores = stored[row["clip_id"]]
        assert row["fold"] == fold
        np.testing.assert_allclose(row["scores"], scores, rtol=0, atol=atol)
        assert row["predicted_emotion"] == int(np.argmax(scores)) + 1


def test_predict_static_run_reproduces_its_test_posteriors(jobs_store) -> None:
    from mmemo.jobs.static import train_static

    train_static(
        jobs_store,
        name="lr",
        model="logreg",
        norm="minmax",
        features="aus",
        scheme=KFOLD2,
        clips="av-speech",
    )
    _check_reproduces(jobs_store, "lr", "av-speech", atol=0)


def test_predict_bilstm_run_reproduces_its_test_posteriors(jobs_store) -> None:
    pytest.importorskip("torch")
    from mmemo.jobs.deep import train_bilstm_job

    train_bilstm_job(
        jobs_store,
        name="bl",
        features="aus",
        scheme=KFOLD2,
        clips=FEW,
        device="cpu",
        early_stop_on="test",
        overrides={"max_epochs": 2},
    )
    # float32 logits: other batch mates change the last bits of a matrix product
    _check_reproduces(jobs_store, "bl", FEW, atol=1e-6)


@pytest.mark.slow
def test_predict_finetune_run_scores_audio_like_the_job(jobs_store, tiny_w2v2) -> None:
    from mmemo.jobs.deep import train_finetune_job

    train_finetune_job(
        jobs_store,
        str(tiny_w2v2[True]),
        name="ft",
        scheme=KFOLD2,
        clips=FEW,
        device="cpu",
        overrides={"epochs": 1, "batch_size": 8, "max_seconds": 0.5},
    )
    _check_reproduces(jobs_store, "ft", FEW, atol=1e-5)


def test_predict_refuses_imported_posteriors_and_runs_without_models(jobs_store) -> None:
    from mmemo.errors import InputError
    from mmemo.jobs.predict import predict_run
    from mmemo.jobs.static import train_static_frames

    train_static_frames(
        jobs_store, name="fr", model="knn", features="aus", scheme=KFOLD2, clips=FEW
    )
    with pytest.raises(InputError, match="run 'fr/vote' kept no models"):
        predict_run(jobs_store, "fr/vote", FEW)
