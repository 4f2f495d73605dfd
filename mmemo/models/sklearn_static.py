"""Static scikit-learn classifiers on per-clip (or per-frame) feature vectors.

Models are registered by name (:data:`STATIC_MODELS`); each wraps one scikit-learn estimator
with scikit-learn's defaults, ``random_state=seed`` where the estimator has one, and the
hyper-parameters the user gives under scikit-learn's own names. A normalisation step
(``minmax``, ``standard`` or ``none``) is fitted on each fold's training part and kept in the
fitted artefact (a :class:`sklearn.pipeline.Pipeline`).

Scores and predictions. For every model the stored scores are the quantity whose argmax *is*
the estimator's prediction, and :func:`fit_fold` checks ``argmax(scores) == predict`` on every
training and test row (a mismatch raises ``RuntimeError``: a bug, not a user error):

- ``zeror``, ``knn``, ``mlp``, ``logreg``: ``predict_proba`` (kind ``probs``); scikit-learn's
  ``predict`` is the argmax of these, ties to the lowest class.
- ``svc`` (default): libsvm predicts by one-vs-one voting, ties to the lowest class. The
  one-vs-rest ``decision_function`` is those votes plus a bounded confidence term in
  (-1/3, 1/3), so its argmax breaks vote ties by confidence instead and *disagrees* with
  ``predict`` on tied clips: on the paper's averaged AUs, 6 to 65 of the 1,440 test
  clips per configuration (5 folds), which moves the accuracy by up to 0.6 points from the paper's
  Table 2. The stored scores are therefore the one-vs-one vote counts per class (kind
  ``decision``), computed from the fitted SVC's ``ovo`` decision values exactly as libsvm
  counts them; their argmax equals ``predict`` and reproduces the paper.
- ``svc`` with ``break_ties=true`` (more than two classes): ``predict`` is then the argmax of
  the one-vs-rest ``decision_function``, which is stored as is (kind ``decision``).
- ``svc`` with ``probability=true``: ``predict_proba`` (kind ``probs``). scikit-learn documents
  that Platt-scaled probabilities may disagree with ``predict``; the number of disagreeing rows
  is reported in ``extra["predict_mismatch"]`` instead of raising.

Heavy imports (scikit-learn, joblib) happen inside the functions that need them, so importing
this module for :data:`MODEL_CHOICES` is cheap.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import logging
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from mmemo.corpora.ravdess import EMOTIONS
from mmemo.errors import InputError
from mmemo.models.base import FoldResult, ScoreKind
from mmemo.params import config_name

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

logger = logging.getLogger(__name__)

#: The paper's seed.
DEFAULT_SEED = 2020
#: Normalisations, fitted on each fold's training part: name → ``"module:Class"`` or None.
NORMS: Mapping[str, str | None] = {
    "minmax": "sklearn.preprocessing:MinMaxScaler",
    "standard": "sklearn.preprocessing:StandardScaler",
    "none": None,
}
NORM_CHOICES = ", ".join(NORMS)

#: One configuration of a grid: model name, hyper-parameters, normalisation.
Config = tuple[str, Mapping[str, object], str]


# ----------------------------------------------------------------------------------- registry


class StaticModel:
    """A registered static model: one scikit-learn estimator and how to read its scores.

    Subclasses set :attr:`name`, :attr:`estimator` (``"module:Class"``, imported on use) and
    :attr:`description`, and override :meth:`coerce` and :meth:`scores` where needed.
    """

    name: ClassVar[str]
    estimator: ClassVar[str]
    description: ClassVar[str]

    def estimator_class(self) -> type:
        """Import and return the estimator class."""
        return _load(self.estimator)

    def valid_params(self) -> list[str]:
        """scikit-learn parameter names a user may set (``random_state`` comes from the seed)."""
        names = self.estimator_class()().get_params(deep=False)
        return sorted(n for n in names if n != "random_state")

    def coerce(self, params: Mapping[str, object]) -> dict[str, object]:
        """Turn parsed values into what the estimator expects (default: unchanged)."""
        return dict(params)

    def build(self, params: Mapping[str, object], seed: int) -> Any:
        """A fresh, unfitted estimator with ``params`` and ``random_state=seed`` if it has one."""
        cls = self.estimator_class()
        kwargs = dict(params)
        if "random_state" in cls().get_params(deep=False):
            kwargs["random_state"] = seed
        return cls(**kwargs)

    def scores(self, estimator: Any, X: np.ndarray) -> tuple[np.ndarray, ScoreKind, bool]:
        """Scores of already-normalised rows ``X``.

        Returns:
            ``(scores, kind, consistent)`` where ``consistent`` says that the argmax of the
            scores is guaranteed to equal ``estimator.predict`` (and is checked).
        """
        return estimator.predict_proba(X), "probs", True


_M = TypeVar("_M", bound=type[StaticModel])


class ModelRegistry:
    """Static models by name; :meth:`register` refuses a name that is already taken."""

    def __init__(self, what: str = "model") -> None:
        self._what = what
        self._models: dict[str, StaticModel] = {}

    def register(self, cls: _M) -> _M:
        """Class decorator: register ``cls`` under ``cls.name``.

        Raises:
            ValueError: the name is already registered (a programming error).
        """
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise ValueError(f"{cls.__name__} must define a non-empty class attribute 'name'")
        if name in self._models:
            raise ValueError(
                f"{self._what} '{name}' is already registered "
                f"(by {type(self._models[name]).__name__})"
            )
        self._models[name] = cls()
        return cls

    def get(self, name: str) -> StaticModel:
        """The model registered as ``name``.

        Raises:
            InputError: unknown name, listing the valid choices.
        """
        try:
            return self._models[name]
        except KeyError:
            raise InputError(
                f"unknown {self._what} '{name}'; expected one of {', '.join(self._models)}"
            ) from None

    def names(self) -> tuple[str, ...]:
        """Registered names, in registration order."""
        return tuple(self._models)

    def __contains__(self, name: object) -> bool:
        return name in self._models

    def __iter__(self) -> Iterator[str]:
        return iter(self._models)


#: The built-in static models.
STATIC_MODELS = ModelRegistry("static model")
register_model = STATIC_MODELS.register


@register_model
class ZeroR(StaticModel):
    """Predicts the majority class of the training part; scores are the class priors."""

    name = "zeror"
    estimator = "sklearn.dummy:DummyClassifier"
    description = "ZeroR baseline (DummyClassifier, strategy='prior')"

    def valid_params(self) -> list[str]:
        # ZeroR is the "prior" strategy by definition; other strategies predict at random.
        return [p for p in super().valid_params() if p not in ("strategy", "constant")]

    def build(self, params: Mapping[str, object], seed: int) -> Any:
        return super().build({**params, "strategy": "prior"}, seed)


@register_model
class SVCModel(StaticModel):
    """Support vector classifier (RBF kernel by default); see the module docstring on scores."""

    name = "svc"
    estimator = "sklearn.svm:SVC"
    description = "support vector classifier, RBF kernel (SVC)"

    def scores(self, estimator: Any, X: np.ndarray) -> tuple[np.ndarray, ScoreKind, bool]:
        if estimator.probability is True:  # "deprecated" (the default) or False: off
            return estimator.predict_proba(X), "probs", False
        if estimator.break_ties and len(estimator.classes_) > 2:
            return estimator.decision_function(X), "decision", True
        return svc_ovo_votes(estimator, X), "decision", True


@register_model
class KNNModel(StaticModel):
    """k nearest neighbours; scores are the neighbour class fractions."""

    name = "knn"
    estimator = "sklearn.neighbors:KNeighborsClassifier"
    description = "k nearest neighbours (KNeighborsClassifier; n_neighbors=K)"


@register_model
class MLPModel(StaticModel):
    """Multi-layer perceptron; ``hidden_layer_sizes=80`` means one layer of 80 units."""

    name = "mlp"
    estimator = "sklearn.neural_network:MLPClassifier"
    description = "multi-layer perceptron (MLPClassifier; hidden_layer_sizes=80 or 80x80)"

    def coerce(self, params: Mapping[str, object]) -> dict[str, object]:
        out = dict(params)
        sizes = out.get("hidden_layer_sizes")
        if isinstance(sizes, int) and not isinstance(sizes, bool):
            out["hidden_layer_sizes"] = (sizes,)
        return out


@register_model
class LogRegModel(StaticModel):
    """Logistic regression (multinomial for more than two classes)."""

    name = "logreg"
    estimator = "sklearn.linear_model:LogisticRegression"
    description = "logistic regression (LogisticRegression)"


#: Model names for help text.
MODEL_CHOICES = ", ".join(STATIC_MODELS.names())


def svc_ovo_votes(estimator: Any, X: np.ndarray) -> np.ndarray:
    """One-vs-one vote counts per class of a fitted SVC, as libsvm's ``predict`` counts them.

    For each pair of classes ``(i, j)``, ``i < j``, a positive decision value is a vote for
    ``i``, otherwise for ``j``; ``predict`` is the class with most votes, ties to the lowest
    index. The fitted estimator is not modified.

    Returns:
        ``n × n_classes`` float array of vote counts.
    """
    n_classes = len(estimator.classes_)
    ovo = copy.copy(estimator)  # shallow: shares the fitted arrays, leaves the original alone
    ovo.decision_function_shape = "ovo"
    dec = np.asarray(ovo.decision_function(X))
    if n_classes == 2:
        # scikit-learn flips the sign for two classes (positive = classes_[1]); undo it.
        dec = -dec.reshape(-1, 1)
    first, second = np.triu_indices(n_classes, k=1)
    eye = np.eye(n_classes)
    wins = (dec > 0).astype(np.float64)
    return wins @ eye[first] + (1.0 - wins) @ eye[second]


# ------------------------------------------------------------------------------ validation


def check_model(
    model: str, params: Mapping[str, object], norm: str | None = None
) -> dict[str, object]:
    """Check a configuration before any fitting and return the coerced parameters.

    Values themselves (``C=-1``) are validated by scikit-learn when fitting; those errors are
    raised as :class:`InputError` by :func:`fit_fold`.

    Args:
        model: a registered model name.
        params: hyper-parameters under scikit-learn's names.
        norm: a normalisation name, checked when given.

    Returns:
        The parameters the estimator will get (without ``random_state``).

    Raises:
        InputError: unknown model, unknown parameter (listing the valid ones),
            ``random_state`` (which comes from the seed), or unknown ``norm``.
    """
    spec = STATIC_MODELS.get(model)
    if norm is not None:
        _check_norm(norm)
    if "random_state" in params:
        raise InputError(
            f"model '{model}': set the seed instead of random_state (random_state=seed)"
        )
    valid = spec.valid_params()
    unknown = sorted(k for k in params if k not in valid)
    if unknown:
        raise InputError(
            f"model '{model}' ({spec.estimator.split(':')[1]}) has no hyper-parameter "
            f"{', '.join(repr(k) for k in unknown)}; expected one of {', '.join(valid)}"
        )
    return spec.coerce(params)


def _check_norm(norm: str) -> None:
    if norm not in NORMS:
        raise InputError(f"unknown normalisation '{norm}'; expected one of {NORM_CHOICES}")


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


def class_label(code: int) -> str:
    """``5 (angry)`` for a RAVDESS emotion code, else the code itself."""
    return f"{code} ({EMOTIONS[code - 1]})" if 1 <= code <= len(EMOTIONS) else str(code)


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


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _pipeline(spec: StaticModel, params: Mapping[str, object], norm: str, seed: int) -> Pipeline:
    from sklearn.pipeline import Pipeline

    scaler = NORMS[norm]
    return Pipeline(
        [
            ("scale", _load(scaler)() if scaler else "passthrough"),
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
            and of :func:`run_grid`'s ``n_jobs``. Parallelism comes from ``n_jobs`` instead.

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


def fit_fold_frames(
    model: str,
    params: Mapping[str, object],
    *,
    norm: str,
    seed: int = DEFAULT_SEED,
    X_train_frames: np.ndarray,
    y_train_frames: np.ndarray,
    train_groups: np.ndarray,
    X_test_frames: np.ndarray,
    test_groups: np.ndarray,
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
        seed: ``random_state`` of estimators that have one.
        X_train_frames: ``n_frames × d`` features of the training clips' frames.
        y_train_frames: the emotion code of each training frame (its clip's).
        train_groups: the clip id of each training frame.
        X_test_frames: features of the test clips' frames.
        test_groups: the clip id of each test frame.
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
    X_train_frames = _features(X_train_frames, "X_train_frames")
    n_train = X_train_frames.shape[0]
    y_train_frames = _labels(y_train_frames, n_train, "y_train_frames")
    train_groups = _groups(train_groups, n_train, "train_groups")
    X_test_frames = _features(X_test_frames, "X_test_frames")
    test_groups = _groups(test_groups, X_test_frames.shape[0], "test_groups")
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
            f"({class_label(int(low[mixed[0]]))} and {class_label(int(high[mixed[0]]))}); "
            "every frame takes its clip's label"
        )


# ------------------------------------------------------------------------ cross-validation


def _fit_cv_fold(
    config: Config,
    seed: int,
    X: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    fold: object,
    blas_threads: int | None,
) -> FoldResult:
    model, params, norm = config
    test = folds == fold
    return fit_fold(
        model,
        params,
        norm=norm,
        seed=seed,
        X_train=X[~test],
        y_train=y[~test],
        X_test=X[test],
        blas_threads=blas_threads,
    )


def check_folds(y: np.ndarray, folds: np.ndarray) -> list[object]:
    """Check that every fold can be trained and tested; return the fold ids in sorted order.

    Raises:
        InputError: a fold whose training part lacks a class present in its test part (naming
            the fold and the class), or a fold with an empty training part.
    """
    fold_ids = sorted(np.unique(folds).tolist())
    for fold in fold_ids:
        test = folds == fold
        if test.all():
            raise InputError(f"fold {fold} has every row in its test part; nothing to train on")
        missing = sorted(set(np.unique(y[test]).tolist()) - set(np.unique(y[~test]).tolist()))
        if missing:
            labels = ", ".join(class_label(int(c)) for c in missing)
            raise InputError(
                f"fold {fold}: class {labels} occurs in the test part but not in the "
                "training part; the model cannot predict it"
            )
    return fold_ids


def run_grid(
    configs: Sequence[Config],
    *,
    seed: int = DEFAULT_SEED,
    X: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    n_jobs: int = 1,
    blas_threads: int | None = 1,
) -> list[list[FoldResult]]:
    """Cross-validate several configurations, folds × configurations in parallel.

    Every configuration is checked before anything is fitted. The work runs through joblib's
    ``loky`` backend; each task depends only on its inputs (fixed seed), so the results are
    bit-identical for any ``n_jobs``.

    Args:
        configs: ``(model, params, norm)`` triples.
        seed: ``random_state`` of estimators that have one.
        X: ``n × d`` features of all rows.
        y: ``n`` emotion codes.
        folds: the test fold of each row (from :mod:`mmemo.corpora.folds`); fold ``f`` trains
            on ``folds != f`` and tests on ``folds == f``.
        n_jobs: parallel workers (joblib semantics: ``-1`` = all cores).
        blas_threads: BLAS threads of each task (see :func:`fit_fold`).

    Returns:
        One list per configuration, in ``configs`` order, of one :class:`FoldResult` per fold
        in sorted fold order.

    Raises:
        InputError: as :func:`fit_fold` and :func:`check_folds`.
    """
    from joblib import Parallel, delayed

    X = _features(X, "X")
    y = _labels(y, X.shape[0], "y")
    folds = _groups(folds, X.shape[0], "folds")
    fold_ids = check_folds(y, folds)
    for model, params, norm in configs:
        check_model(model, params, norm)
    if n_jobs == 0:
        raise InputError("n_jobs must be a positive number of workers or -1 (all cores)")
    tasks = [(config, fold) for config in configs for fold in fold_ids]
    results = Parallel(n_jobs=n_jobs, backend="loky")(
        delayed(_fit_cv_fold)(config, seed, X, y, folds, fold, blas_threads)
        for config, fold in tasks
    )
    per_fold = len(fold_ids)
    return [list(results[i * per_fold : (i + 1) * per_fold]) for i in range(len(configs))]


def run_cv(
    model: str,
    params: Mapping[str, object],
    *,
    norm: str,
    seed: int = DEFAULT_SEED,
    X: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    n_jobs: int = 1,
    blas_threads: int | None = 1,
) -> list[FoldResult]:
    """Cross-validate one configuration: one :class:`FoldResult` per fold, in fold order.

    See :func:`run_grid` for the arguments and errors.
    """
    return run_grid(
        [(model, params, norm)],
        seed=seed,
        X=X,
        y=y,
        folds=folds,
        n_jobs=n_jobs,
        blas_threads=blas_threads,
    )[0]


def accuracy(results: Sequence[FoldResult], y: np.ndarray, folds: np.ndarray) -> list[float]:
    """Test accuracy of each fold from the argmax of the stored scores.

    Args:
        results: :func:`run_cv` output, one per fold in sorted fold order.
        y: the emotion code of every row.
        folds: the test fold of every row.
    """
    fold_ids = sorted(np.unique(folds).tolist())
    if len(fold_ids) != len(results):
        raise InputError(f"{len(results)} results for {len(fold_ids)} folds")
    return [
        float(np.mean(result.predict("test") == np.asarray(y)[np.asarray(folds) == fold]))
        for fold, result in zip(fold_ids, results, strict=True)
    ]


__all__ = [
    "DEFAULT_SEED",
    "MODEL_CHOICES",
    "NORMS",
    "NORM_CHOICES",
    "STATIC_MODELS",
    "Config",
    "ModelRegistry",
    "StaticModel",
    "accuracy",
    "check_folds",
    "check_model",
    "class_label",
    "fit_fold",
    "fit_fold_frames",
    "register_model",
    "run_cv",
    "run_grid",
    "svc_ovo_votes",
]


def score_pipeline(model: str, pipeline: Pipeline, X: np.ndarray) -> np.ndarray:
    """Scores of new rows from a fitted pipeline, defined exactly as :func:`fit_fold` stores
    them (used to apply a stored run's fold models to other clips)."""
    spec = STATIC_MODELS.get(model)
    scores, _, _ = spec.scores(pipeline[-1], pipeline[:-1].transform(_features(X, "X")))
    return np.asarray(scores, dtype=np.float64)
