"""Fitting the static scikit-learn models on one fold: per-clip vectors, or frames decided
per clip (the paper's Appendix B).

The models, their scores and their checks live in :mod:`mmemo.models.static_models` and are
re-exported here. A normalisation step (``minmax``, ``standard`` or ``none``) is fitted on each
fold's training part and kept in the fitted artefact (a :class:`sklearn.pipeline.Pipeline`).
:func:`fit_fold` checks ``argmax(scores) == predict`` on every training and test row (a
mismatch raises ``RuntimeError``: a bug, not a user error). Cross-validation over folds is the
job layer's (:mod:`mmemo.jobs.static`).
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mmemo.errors import InputError
from mmemo.models.base import FoldResult, ScoreKind
from mmemo.models.registry import load_target
from mmemo.models.static_models import (
    DEFAULT_SEED,
    MODEL_CHOICES,
    NORM_CHOICES,
    NORMS,
    STATIC_MODELS,
    ModelRegistry,
    StaticModel,
    check_model,
    register_model,
    svc_ovo_votes,
)
from mmemo.params import config_name

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_SEED",
    "MODEL_CHOICES",
    "NORMS",
    "NORM_CHOICES",
    "STATIC_MODELS",
    "ModelRegistry",
    "StaticModel",
    "check_model",
    "fit_fold",
    "FrameFold",
    "fit_fold_frames",
    "register_model",
    "score_pipeline",
    "svc_ovo_votes",
]


def _features(X: object, what: str) -> np.ndarray:
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise InputError(f"{what} must be a 2-D array (rows × features), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"{what} is empty (shape {arr.shape})")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise InputError(f"{what} must be numeric, got dtype {arr.dtype}")
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise InputError(
            f"{what}: {len(rows)} row(s) contain NaN or infinite values (first: row {rows[0]}); "
            "drop or impute them first"
        )
    return arr


def _labels(y: object, n: int, what: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InputError(f"{what} must be 1-D with one label per row ({n}), got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating) and np.isfinite(arr).all() and (arr % 1 == 0).all():
        return arr.astype(np.int64)
    raise InputError(f"{what} must be integer emotion codes (1-8 for RAVDESS), got {arr.dtype}")


def _groups(groups: object, n: int, what: str) -> np.ndarray:
    arr = np.asarray(groups)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InputError(f"{what} must be 1-D with one group id per row ({n}), got {arr.shape}")
    return arr


# --------------------------------------------------------------------------------- fitting


@contextlib.contextmanager
def _blas_threads(limit: int | None) -> Iterator[None]:
    """Limit the BLAS libraries' threads while fitting and scoring (``None``: leave them)."""
    if limit is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=limit, user_api="blas"):
        yield


def _pipeline(spec: StaticModel, params: Mapping[str, object], norm: str, seed: int) -> Pipeline:
    from sklearn.pipeline import Pipeline

    scaler = NORMS[norm]
    return Pipeline(
        [
            ("scale", load_target(scaler)() if scaler else "passthrough"),
            ("model", spec.build(params, seed)),
        ]
    )


@dataclass
class _Fitted:
    spec: StaticModel
    pipeline: Pipeline
    warnings: list[str]
    fit_seconds: float


def _fit(
    model: str, params: Mapping[str, object], norm: str, seed: int, X: np.ndarray, y: np.ndarray
) -> _Fitted:
    spec = STATIC_MODELS.get(model)
    resolved = check_model(model, params, norm)
    pipeline = _pipeline(spec, resolved, norm, seed)
    name = config_name(model, params, norm)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            pipeline.fit(X, y)
        except (ValueError, TypeError) as exc:  # scikit-learn's parameter and data errors
            raise InputError(f"{name}: {exc}") from exc
    seconds = time.perf_counter() - start
    messages = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    for message in messages:  # also kept in FoldResult.extra["warnings"]
        logger.info("%s: %s", name, message)
    return _Fitted(spec, pipeline, messages, seconds)


@dataclass
class _Scored:
    scores: np.ndarray
    kind: ScoreKind
    predicted: np.ndarray
    consistent: bool
    mismatch: int


def _score(fitted: _Fitted, X: np.ndarray, what: str) -> _Scored:
    """Scores and predictions of raw rows ``X``; checks the argmax against ``predict``."""
    pipeline = fitted.pipeline
    estimator = pipeline[-1]
    Xt = pipeline[:-1].transform(X)
    scores, kind, consistent = fitted.spec.scores(estimator, Xt)
    predicted = estimator.predict(Xt)
    mismatch = int((estimator.classes_[np.argmax(scores, axis=1)] != predicted).sum())
    if consistent and mismatch:
        raise RuntimeError(
            f"{fitted.spec.name}: argmax of the {kind} scores disagrees with predict on "
            f"{mismatch} {what} row(s); the score definition is wrong for this estimator"
        )
    return _Scored(scores, kind, predicted, consistent, mismatch)


def fit_fold(
    model: str,
    params: Mapping[str, object],
    *,
    norm: str,
    seed: int = DEFAULT_SEED,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    blas_threads: int | None = 1,
) -> FoldResult:
    """Train one model on one fold's training part and score both parts.

    Args:
        model: a registered model name (:data:`MODEL_CHOICES`).
        params: hyper-parameters under scikit-learn's names (as from
            :func:`mmemo.params.parse_param_grid`).
        norm: ``minmax``, ``standard`` or ``none``, fitted on ``X_train``.
        seed: ``random_state`` of estimators that have one.
        X_train: ``n_train × d`` features.
        y_train: ``n_train`` emotion codes (1-8).
        X_test: ``n_test × d`` features.
        blas_threads: BLAS threads while fitting and scoring; ``None`` leaves the library
            default. One thread is the default because these models multiply small matrices:
            on a busy 2-core machine multi-threaded OpenBLAS made the (80, 80) MLP 10-20 times
            slower, and a fixed thread count keeps results independent of the machine's load
            and of the job's ``n_jobs``. Parallelism comes from the job's ``n_jobs`` instead.

    Returns:
        The scores of both parts in the model's class order (see the module docstring for what
        the scores are), the fitted pipeline, and ``extra`` with ``warnings`` (messages
        scikit-learn emitted while fitting, e.g. convergence) and ``fit_seconds``; for
        ``svc`` with ``probability=true`` also ``predict_mismatch`` (rows per part where
        ``predict`` disagrees with the probabilities).

    Raises:
        InputError: unknown model, norm or parameter; NaN/inf features; bad shapes; a value
            or data set scikit-learn rejects.
    """
    X_train = _features(X_train, "X_train")
    y_train = _labels(y_train, X_train.shape[0], "y_train")
    X_test = _features(X_test, "X_test")
    _same_width(X_train, X_test)
    with _blas_threads(blas_threads):
        fitted = _fit(model, params, norm, seed, X_train, y_train)
        train = _score(fitted, X_train, "training")
        test = _score(fitted, X_test, "test")
    extra: dict[str, object] = {"warnings": fitted.warnings, "fit_seconds": fitted.fit_seconds}
    if not train.consistent:
        extra["predict_mismatch"] = {"train": train.mismatch, "test": test.mismatch}
    return FoldResult(
        classes=[int(c) for c in fitted.pipeline[-1].classes_],
        kind=train.kind,
        train_scores=train.scores,
        test_scores=test.scores,
        model=fitted.pipeline,
        extra=extra,
    )


def _same_width(X_train: np.ndarray, X_test: np.ndarray) -> None:
    if X_train.shape[1] != X_test.shape[1]:
        raise InputError(
            f"X_train has {X_train.shape[1]} features but X_test has {X_test.shape[1]}"
        )


def _per_group(
    scores: np.ndarray, predicted: np.ndarray, classes: np.ndarray, groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean frame scores and majority vote per group, groups in sorted order."""
    ids, inverse = np.unique(groups, return_inverse=True)
    n_frames = np.bincount(inverse, minlength=len(ids)).astype(np.float64)
    sums = np.zeros((len(ids), scores.shape[1]), dtype=np.float64)
    np.add.at(sums, inverse, scores)
    votes = np.zeros((len(ids), len(classes)), dtype=np.int64)
    np.add.at(votes, (inverse, np.searchsorted(classes, predicted)), 1)
    return ids, sums / n_frames[:, None], classes[np.argmax(votes, axis=1)]


@dataclass(frozen=True)
class FrameFold:
    """One fold's frames, as :func:`fit_fold_frames` takes them.

    Attributes:
        X_train_frames: ``n_frames × d`` features of the training clips' frames.
        y_train_frames: the emotion code of each training frame (its clip's).
        train_groups: the clip id of each training frame.
        X_test_frames: features of the test clips' frames.
        test_groups: the clip id of each test frame.
    """

    X_train_frames: np.ndarray
    y_train_frames: np.ndarray
    train_groups: np.ndarray
    X_test_frames: np.ndarray
    test_groups: np.ndarray


def fit_fold_frames(
    model: str,
    params: Mapping[str, object],
    frames: FrameFold,
    *,
    norm: str,
    seed: int = DEFAULT_SEED,
    blas_threads: int | None = 1,
) -> FoldResult:
    """Frame-level variant (the paper's Appendix B): train on frames, decide per clip.

    The model is trained on every frame of the training clips, each labelled with its clip's
    emotion. Each clip (group) then gets:

    - scores: the mean of its frames' scores (mean posterior for ``probs``); rows are ordered
      by sorted unique group id (``numpy.unique``);
    - a vote: the class predicted for most of its frames; a tie goes to the lowest class
      index of the model's class order (``classes``, ascending emotion codes), i.e. the
      lowest emotion code.

    Args:
        model: a registered model name.
        params: hyper-parameters under scikit-learn's names.
        norm: ``minmax``, ``standard`` or ``none``, fitted on the training frames.
        frames: the fold's training and test frames, with their clips (:class:`FrameFold`).
        seed: ``random_state`` of estimators that have one.
        blas_threads: as in :func:`fit_fold`.

    Returns:
        Per-clip ``train_scores``/``test_scores``; ``extra`` holds ``train_groups`` and
        ``test_groups`` (the clip id of each score row), ``train_vote`` and ``test_vote``
        (majority-vote emotion codes, aligned with those rows), ``warnings`` and
        ``fit_seconds``.

    Raises:
        InputError: as :func:`fit_fold`, and a training clip whose frames carry different
            labels.
    """
    X_train_frames = _features(frames.X_train_frames, "X_train_frames")
    n_train = X_train_frames.shape[0]
    y_train_frames = _labels(frames.y_train_frames, n_train, "y_train_frames")
    train_groups = _groups(frames.train_groups, n_train, "train_groups")
    X_test_frames = _features(frames.X_test_frames, "X_test_frames")
    test_groups = _groups(frames.test_groups, X_test_frames.shape[0], "test_groups")
    _same_width(X_train_frames, X_test_frames)
    _check_one_label_per_group(y_train_frames, train_groups)

    with _blas_threads(blas_threads):
        fitted = _fit(model, params, norm, seed, X_train_frames, y_train_frames)
        classes = np.asarray(fitted.pipeline[-1].classes_)
        parts: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        kind: ScoreKind = "probs"
        for part, X, groups in (
            ("train", X_train_frames, train_groups),
            ("test", X_test_frames, test_groups),
        ):
            scored = _score(fitted, X, f"{part} frame")
            kind = scored.kind
            parts[part] = _per_group(scored.scores, scored.predicted, classes, groups)
    return FoldResult(
        classes=[int(c) for c in classes],
        kind=kind,
        train_scores=parts["train"][1],
        test_scores=parts["test"][1],
        model=fitted.pipeline,
        extra={
            "train_groups": parts["train"][0],
            "test_groups": parts["test"][0],
            "train_vote": parts["train"][2],
            "test_vote": parts["test"][2],
            "warnings": fitted.warnings,
            "fit_seconds": fitted.fit_seconds,
        },
    )


def _check_one_label_per_group(y: np.ndarray, groups: np.ndarray) -> None:
    ids, inverse = np.unique(groups, return_inverse=True)
    low = np.full(len(ids), np.iinfo(np.int64).max)
    high = np.full(len(ids), np.iinfo(np.int64).min)
    np.minimum.at(low, inverse, y)
    np.maximum.at(high, inverse, y)
    mixed = np.flatnonzero(low != high)
    if len(mixed):
        raise InputError(
            f"training clip {ids[mixed[0]].item()!r} has frames with different labels "
            f"(class codes {low[mixed[0]].item()} and {high[mixed[0]].item()}); "
            "every frame takes its clip's label"
        )


def score_pipeline(model: str, pipeline: Pipeline, X: np.ndarray) -> np.ndarray:
    """Scores of new rows from a fitted pipeline, defined exactly as :func:`fit_fold` stores
    them (used to apply a stored run's fold models to other clips)."""
    spec = STATIC_MODELS.get(model)
    scores, _, _ = spec.scores(pipeline[-1], pipeline[:-1].transform(_features(X, "X")))
    return np.asarray(scores, dtype=np.float64)
