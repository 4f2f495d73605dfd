"""``mmemo predict``: apply a stored run's fold models to clips, for every kind of run.

A clip that was a test clip of the run is scored by the model of its fold, which reproduces
the stored test posteriors; any other clip gets the mean of all folds' scores.

The run's model kind (:mod:`mmemo.models.registry`) says what it reads per clip and how to
load and apply a fold model; this module only fetches those inputs from the store. A fusion
run's inputs are the scores of its input runs: they are predicted first (recursively), each
fold of the fusion on the same fold's models of its inputs, as the fusion was trained.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mmemo.corpora.ravdess import EMOTIONS
from mmemo.errors import InputError
from mmemo.jobs.cv import select_clips
from mmemo.store.runs import resolve_runs
from mmemo.store.schema import Run
from mmemo.store.store import Store

#: Inputs of one fold model: ``inputs(fold)`` is what the fold's model scores.
FoldInputs = Callable[[int], Any]
#: Fetches what a model kind reads for the clips ``ids`` (:data:`mmemo.models.base.InputKind`).
InputLoader = Callable[[Store, Run, np.ndarray, "str | None"], FoldInputs]


def predict_run(store: Store, run: str, clips: str | None) -> pa.Table:
    """Scores of the selected clips under ``run``'s fold models.

    Returns:
        Columns clip_id, fold (the fold whose model scored it, or -1 for the mean of all
        folds), scores (in the run's class order), predicted_emotion, predicted_label.

    Raises:
        InputError: a run that cannot be applied (imported posteriors), a run without stored
            models, or an input run of a fusion that cannot be applied.
    """
    with store.session() as s:
        (found,) = resolve_runs(s, [run])[:1]
        selected = [r[0] for r in select_clips(s, clips)]
        tested = dict(
            s.fetch(
                "SELECT clip_id, fold FROM posteriors WHERE run_id = ? AND split = 'test'",
                [found.id],
            )
        )
    ids = np.array(selected)
    per_fold = fold_scores(store, found, ids, clips)
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


def fold_scores(store: Store, run: Run, ids: np.ndarray, clips: str | None) -> dict[int, Any]:
    """``{fold: scores of every clip in ids}`` under each fold model of ``run``.

    Raises:
        InputError: as :func:`predict_run`.
    """
    from mmemo.models.registry import get_kind

    if run.kind not in ("train", "fusion"):
        raise InputError(
            f"run '{run.name}' ({run.kind} {run.model}) cannot be applied to clips; "
            "predict supports trained and fusion runs"
        )
    if not run.artefacts:
        raise InputError(f"run '{run.name}' kept no models")
    kind = get_kind(run.model)
    models = {int(a["fold"]): kind.load(store.artefacts.local(a["path"])) for a in run.artefacts}
    inputs = INPUT_LOADERS[kind.inputs](store, run, ids, clips)
    return {fold: kind.score(model, inputs(fold)) for fold, model in sorted(models.items())}


def _vectors(store: Store, run: Run, ids: np.ndarray, clips: str | None) -> FoldInputs:
    features = (run.inputs or {}).get("features")
    if features is None:  # a featureless baseline (zeror)
        X = np.zeros((len(ids), 1))
    else:
        from mmemo.features.sets import load_clip_vectors

        X, _, _ = load_clip_vectors(store, f"{features['name']}@{features['version']}", ids)
    return lambda fold: X


def _sequences(store: Store, run: Run, ids: np.ndarray, clips: str | None) -> FoldInputs:
    from mmemo.features.sets import load_sequences

    features = run.inputs["features"]
    X, _ = load_sequences(store, f"{features['name']}@{features['version']}", ids)
    return lambda fold: X


def _audio(store: Store, run: Run, ids: np.ndarray, clips: str | None) -> FoldInputs:
    """16 kHz mono waveforms, decoded as the fine-tune job decodes its clips."""
    from mmemo.features.embed import audio_clips, decode_clips

    audio = {r[0]: r for r in audio_clips(store, clips)[0]}
    missing = [c for c in ids.tolist() if c not in audio]
    if missing:
        raise InputError(f"{len(missing)} selected clip(s) have no audio, e.g. {missing[0]}")
    with tempfile.TemporaryDirectory(prefix="mmemo-predict-") as tmp:
        waves = dict(decode_clips([audio[c] for c in ids.tolist()], Path(tmp)))
    X = [waves[c] for c in ids.tolist()]
    return lambda fold: X


def _runs(store: Store, run: Run, ids: np.ndarray, clips: str | None) -> FoldInputs:
    """The input runs' scores, concatenated in run order, from the same fold's models."""
    names = list(run.inputs["runs"])
    with store.session() as s:
        inputs = resolve_runs(s, names)
    scored = [fold_scores(store, r, ids, clips) for r in inputs]

    def for_fold(fold: int) -> np.ndarray:
        lacking = [r.name for r, per in zip(inputs, scored, strict=True) if fold not in per]
        if lacking:
            raise InputError(
                f"fusion run '{run.name}': input run(s) {', '.join(lacking)} kept no model "
                f"of fold {fold}"
            )
        return np.concatenate([per[fold] for per in scored], axis=1)

    return for_fold


#: What each model kind's ``inputs`` needs fetched from the store.
INPUT_LOADERS: dict[str, InputLoader] = {
    "vectors": _vectors,
    "sequences": _sequences,
    "audio": _audio,
    "runs": _runs,
}
