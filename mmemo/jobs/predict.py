"""``mmemo predict``: apply a stored run's fold models to clips.

A clip that was a test clip of the run is scored by the model of its fold, which reproduces
the stored test posteriors; any other clip gets the mean of all folds' scores.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from mmemo.corpora.ravdess import EMOTIONS
from mmemo.errors import InputError
from mmemo.jobs.cv import select_clips
from mmemo.store.runs import resolve_runs
from mmemo.store.store import Store


def predict_run(store: Store, run: str, clips: str | None) -> pa.Table:
    """Scores of the selected clips under ``run``'s fold models.

    Returns:
        Columns clip_id, fold (the fold whose model scored it, or -1 for the mean of all
        folds), scores (in the run's class order), predicted_emotion, predicted_label.

    Raises:
        InputError: a run kind that cannot be applied (fusion, import, fine-tune) or without
            stored models.
    """
    import joblib

    with store.session() as s:
        (found,) = resolve_runs(s, [run])[:1]
        selected = [r[0] for r in select_clips(s, clips)]
        tested = dict(
            s.fetch(
                "SELECT clip_id, fold FROM posteriors WHERE run_id = ? AND split = 'test'",
                [found.id],
            )
        )
    if found.kind != "train" or found.model in ("wav2vec2-finetune",):
        raise InputError(
            f"run '{found.name}' ({found.kind} {found.model}) cannot be applied to clips; "
            "predict supports static and bi-LSTM runs"
        )
    if not found.artefacts:
        raise InputError(f"run '{found.name}' kept no models")
    models = {
        a["fold"]: _load_model(found.model, store.artefacts.local(a["path"]), joblib)
        for a in found.artefacts
    }
    ids = np.array(selected)
    features = (found.inputs or {}).get("features")
    if features is None:
        X = np.zeros((len(ids), 1))
    elif found.model == "bilstm":
        from mmemo.features.sets import load_sequences

        X, _ = load_sequences(store, f"{features['name']}@{features['version']}", ids)
    else:
        from mmemo.features.sets import load_clip_vectors

        X, _, _ = load_clip_vectors(store, f"{features['name']}@{features['version']}", ids)
    per_fold = {fold: _score(found.model, model, X) for fold, model in models.items()}
    mean = np.mean(list(per_fold.values()), axis=0)
    folds = np.array([tested.get(c, -1) for c in selected])
    folds = np.where(np.isin(folds, list(per_fold)), folds, -1)
    scores = np.array([per_fold[f][i] if f >= 0 else mean[i] for i, f in enumerate(folds)])
    classes = np.asarray(found.classes)
    predicted = classes[np.argmax(scores, axis=1)]
    return pa.table(
        {
            "clip_id": pa.array(selected, pa.string()),
            "fold": pa.array(folds, pa.int16()),
            "scores": pa.array(list(scores), pa.list_(pa.float64())),
            "predicted_emotion": pa.array(predicted, pa.int8()),
            "predicted_label": pa.array([EMOTIONS[c - 1] for c in predicted], pa.string()),
        }
    )


def _load_model(model: str, path: Path, joblib):
    if model == "bilstm":
        from mmemo.models.bilstm import TrainedBiLSTM

        return TrainedBiLSTM.load(path)
    return joblib.load(path)


def _score(model: str, fitted, X) -> np.ndarray:
    if model == "bilstm":
        from mmemo.models.bilstm import predict_bilstm

        return np.asarray(predict_bilstm(fitted, X)[0], dtype=np.float64)
    from mmemo.models.sklearn_static import score_pipeline

    return score_pipeline(model, fitted, X)
