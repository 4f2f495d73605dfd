"""``mmemo predict``: apply a stored run's fold models to clips, for every kind of run.

Which fold models score a clip (never one that trained on the clip's actor):

* a test clip of the run: the model of its fold, which reproduces the stored test posteriors;
* another clip of an actor the run held out in some fold (the song or audio-only file of a
  speech run's actor, or the other modality's file of the same take: the same face and
  voice): that fold's model, which never saw the actor;
* a clip of an actor none of the run's clips has (a new speaker): the mean of all folds.

The result records the folds averaged and which of the three cases applied. By default the
clips are the run's own selection; either way, clips without the run's inputs (no features in
its feature set, no audio) are left out and counted, not failed on.

The run's model kind (:mod:`mmemo.models.registry`) says what it reads per clip and how to
load and apply a fold model; this module only fetches those inputs from the store. A fusion
run's inputs are the scores of its input runs: they are predicted first (recursively), each
fold of the fusion on the same fold's models of its inputs, as the fusion was trained.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mmemo.errors import InputError
from mmemo.jobs.cv import select_clips
from mmemo.store.runs import resolve_runs
from mmemo.store.schema import Run
from mmemo.store.store import Store
from mmemo.store.vocabulary import dataset_vocabulary

#: Inputs of one fold model: ``inputs(fold)`` is what the fold's model scores.
FoldInputs = Callable[[int], Any]
#: Fetches what a model kind reads for the clips ``ids`` (:data:`mmemo.models.base.InputKind`).
InputLoader = Callable[[Store, Run, np.ndarray, "str | None"], FoldInputs]
#: Finds which of the clips ``ids`` have what a run reads; returns them and why others lack it.
Availability = Callable[[Store, Run, list[str]], tuple[set[str], str]]

#: How a clip's fold models were chosen (the ``basis`` column).
TEST_CLIP = "test clip"
HELD_OUT_ACTOR = "held-out actor"
NEW_ACTOR = "new actor"


@dataclass(frozen=True)
class Prediction:
    """What :func:`predict_run` scored, and what it left out.

    Attributes:
        table: One row per scored clip (see :func:`predict_run`).
        run: The run's name.
        selection: The clip selection used (the run's own unless one was given).
        selected: How many clips the selection holds.
        left_out: Selected clips without the run's inputs, in clip order.
        reason: Why those clips lack the inputs.
    """

    table: pa.Table
    run: str
    selection: str
    selected: int
    left_out: list[str]
    reason: str

    def note(self) -> str:
        """One line for the user: what was scored, and what was left out and why."""
        text = (
            f"run '{self.run}': {self.table.num_rows} of {self.selected} clip(s) of "
            f"--clips {self.selection!r} scored"
        )
        if self.left_out:
            text += f"; {len(self.left_out)} left out, {self.reason} (e.g. {self.left_out[0]})"
        return text


def predict_run(store: Store, run: str, clips: str | None = None) -> Prediction:
    """Scores of the selected clips under ``run``'s fold models.

    Args:
        run: The run's name.
        clips: A clip selection; ``None`` means the run's own.

    Returns:
        The prediction; its table has columns clip_id, folds (the fold models averaged),
        basis (``test clip``, ``held-out actor`` or ``new actor``), scores (in the run's class
        order), predicted_emotion, predicted_label.

    Raises:
        InputError: a run that cannot be applied (imported posteriors), a run without stored
            models, a selection with no clip that has the run's inputs, or an input run of a
            fusion that cannot be applied.
    """
    with store.session() as s:
        (found,) = resolve_runs(s, [run])[:1]
        selection = clips if clips is not None else found.clips
        rows = select_clips(s, selection)
        tested = dict(
            s.fetch(
                "SELECT clip_id, fold FROM posteriors WHERE run_id = ? AND split = 'test'",
                [found.id],
            )
        )
        held_out = dict(
            s.fetch(
                "SELECT DISTINCT c.actor, p.fold FROM posteriors p JOIN clips c USING (clip_id) "
                "WHERE p.run_id = ? AND p.split = 'test'",
                [found.id],
            )
        )
        vocabulary = dataset_vocabulary(s.con, found.dataset)
    check_applicable(found)
    selected = [r[0] for r in rows]
    actor_of = {r[0]: r[2] for r in rows}
    have, reason = AVAILABILITY[_input_kind(found)](store, found, selected)
    kept = [c for c in selected if c in have]
    left_out = [c for c in selected if c not in have]
    if not kept:
        raise InputError(
            f"run '{found.name}': none of the {len(selected)} clip(s) of --clips "
            f"{selection!r} can be scored: {reason}"
        )
    ids = np.array(kept)
    per_fold = fold_scores(store, found, ids, selection)
    folds_of = [_folds_for(c, actor_of[c], tested, held_out, per_fold, found) for c in kept]
    scores = np.array(
        [np.mean([per_fold[f][i] for f in folds], axis=0) for i, (folds, _) in enumerate(folds_of)]
    )
    classes = np.asarray(found.classes)
    predicted = classes[np.argmax(scores, axis=1)]
    table = pa.table(
        {
            "clip_id": pa.array(kept, pa.string()),
            "folds": pa.array([folds for folds, _ in folds_of], pa.list_(pa.int16())),
            "basis": pa.array([basis for _, basis in folds_of], pa.string()),
            "scores": pa.array(list(scores), pa.list_(pa.float64())),
            "predicted_emotion": pa.array(predicted, pa.int8()),
            "predicted_label": pa.array([vocabulary.label_of(c) for c in predicted], pa.string()),
        }
    )
    return Prediction(table, found.name, selection, len(selected), left_out, reason)


def _folds_for(
    clip: str,
    actor: int,
    tested: dict[str, int],
    held_out: dict[int, int],
    per_fold: dict[int, Any],
    run: Run,
) -> tuple[list[int], str]:
    """The fold models that may score ``clip`` (none trained on its actor), and why."""
    if clip in tested:
        fold, basis = tested[clip], TEST_CLIP
    elif actor in held_out:
        fold, basis = held_out[actor], HELD_OUT_ACTOR
    else:
        return sorted(per_fold), NEW_ACTOR
    if fold not in per_fold:
        raise InputError(
            f"run '{run.name}' kept no model of fold {fold}, the only one that never saw actor "
            f"{actor} (clip {clip})"
        )
    return [fold], basis


def check_applicable(run: Run) -> None:
    """Refuse runs whose fold models cannot be applied to clips."""
    if run.kind not in ("train", "fusion"):
        raise InputError(
            f"run '{run.name}' ({run.kind} {run.model}) cannot be applied to clips; "
            "predict supports trained and fusion runs"
        )
    if not run.artefacts:
        raise InputError(f"run '{run.name}' kept no models")


def _input_kind(run: Run) -> str:
    from mmemo.models.registry import get_kind

    return get_kind(run.model).inputs


def fold_scores(store: Store, run: Run, ids: np.ndarray, clips: str | None) -> dict[int, Any]:
    """``{fold: scores of every clip in ids}`` under each fold model of ``run``.

    Raises:
        InputError: as :func:`predict_run`.
    """
    from mmemo.models.registry import get_kind

    check_applicable(run)
    kind = get_kind(run.model)
    models = {int(a["fold"]): kind.load(store.artefacts.local(a["path"])) for a in run.artefacts}
    inputs = INPUT_LOADERS[kind.inputs](store, run, ids, clips)
    return {fold: kind.score(model, inputs(fold)) for fold, model in sorted(models.items())}


def _vectors(store: Store, run: Run, ids: np.ndarray, clips: str | None) -> FoldInputs:
    features = (run.inputs or {}).get("features")
    if features is None:  # a featureless baseline (zeror)
        X = np.zeros((len(ids), 1))
    else:
        from mmemo.features.loading import feature_ref, load_clip_vectors

        X, _, _ = load_clip_vectors(store, feature_ref(features), ids)
    return lambda fold: X


def _sequences(store: Store, run: Run, ids: np.ndarray, clips: str | None) -> FoldInputs:
    from mmemo.features.loading import load_sequences

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


def _with_features(store: Store, run: Run, ids: list[str]) -> tuple[set[str], str]:
    features = (run.inputs or {}).get("features")
    if features is None:  # a featureless baseline (zeror) scores any clip
        return set(ids), ""
    from mmemo.features.loading import clips_with_features, feature_ref

    ref = feature_ref(features)
    return clips_with_features(store, ref) & set(ids), f"no features in {ref}"


def _with_audio(store: Store, run: Run, ids: list[str]) -> tuple[set[str], str]:
    with store.session() as s:
        have = {c for (c,) in s.fetch("SELECT clip_id FROM clips WHERE has_audio")}
    return have & set(ids), "no audio"


def _with_input_runs(store: Store, run: Run, ids: list[str]) -> tuple[set[str], str]:
    with store.session() as s:
        inputs = resolve_runs(s, list(run.inputs["runs"]))
    have, reasons = set(ids), []
    for r in inputs:
        theirs, reason = AVAILABILITY[_input_kind(r)](store, r, ids)
        if theirs != have:
            reasons.append(f"{reason} (input run '{r.name}')")
        have &= theirs
    return have, "; ".join(reasons)


#: How to find the clips that have what each model kind's ``inputs`` reads.
AVAILABILITY: dict[str, Availability] = {
    "vectors": _with_features,
    "sequences": _with_features,
    "audio": _with_audio,
    "runs": _with_input_runs,
}
