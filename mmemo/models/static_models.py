"""The static scikit-learn models: which estimator each name builds and what its scores are.

Models are registered by name (:data:`STATIC_MODELS`); each wraps one scikit-learn estimator
with scikit-learn's defaults, ``random_state=seed`` where the estimator has one, and the
hyper-parameters the user gives under scikit-learn's own names. A normalisation step
(``minmax``, ``standard`` or ``none``) is fitted on each fold's training part and kept in the
fitted artefact (a :class:`sklearn.pipeline.Pipeline`).

Scores and predictions. For every model the stored scores are the quantity whose argmax *is*
the estimator's prediction, and :func:`~mmemo.models.sklearn_static.fit_fold` checks
``argmax(scores) == predict`` on every training and test row (a mismatch raises
``RuntimeError``: a bug, not a user error):

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

Each model is also a model kind of :mod:`mmemo.models.registry` (fit, score, save and load
a fold's pipeline); fitting itself lives in :mod:`mmemo.models.sklearn_static`. Heavy imports
(scikit-learn, joblib) happen inside the functions that need them, so importing this module for
:data:`MODEL_CHOICES` is cheap.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from mmemo.errors import InputError
from mmemo.models.base import FoldData, FoldResult, InputKind, JoblibArtefacts, ScoreKind
from mmemo.models.registry import Registry, load_target, register_kind

#: The paper's seed.
DEFAULT_SEED = 2020
#: Normalisations, fitted on each fold's training part: name → ``"module:Class"`` or None.
NORMS: Mapping[str, str | None] = {
    "minmax": "sklearn.preprocessing:MinMaxScaler",
    "standard": "sklearn.preprocessing:StandardScaler",
    "none": None,
}
NORM_CHOICES = ", ".join(NORMS)


class StaticModel(JoblibArtefacts):
    """A registered static model: one scikit-learn estimator and how to read its scores.

    Subclasses set :attr:`name`, :attr:`estimator` (``"module:Class"``, imported on use) and
    :attr:`description`, and override :meth:`coerce` and :meth:`scores` where needed.
    """

    name: ClassVar[str]
    estimator: ClassVar[str]
    description: ClassVar[str]

    def estimator_class(self) -> type:
        """Import and return the estimator class."""
        return load_target(self.estimator)

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

    # -- the model-kind interface (mmemo.models.registry) ---------------------------------

    inputs: ClassVar[InputKind] = "vectors"

    def fit(self, params: Mapping[str, Any], data: FoldData, *, seed: int) -> FoldResult:
        """:func:`mmemo.models.sklearn_static.fit_fold` with ``params["norm"]`` (default
        ``none``) and the other parameters as hyper-parameters."""
        from mmemo.models.sklearn_static import fit_fold

        hyper = {k: v for k, v in params.items() if k != "norm"}
        return fit_fold(
            self.name,
            hyper,
            norm=str(params.get("norm", "none")),
            seed=seed,
            X_train=data.X_train,
            y_train=data.y_train,
            X_test=data.X_test,
        )

    def score(self, model: Any, X: Any) -> np.ndarray:
        """Scores of new rows from a fitted pipeline, exactly as :meth:`fit` stores them."""
        from mmemo.models.sklearn_static import score_pipeline

        return score_pipeline(self.name, model, X)


class EstimatorByPath(StaticModel):
    """Any scikit-learn classifier named by its import path, ``module:Class``
    (``sklearn.ensemble:RandomForestClassifier``, ``xgboost:XGBClassifier`` if installed):
    its own defaults, parameters checked by its own ``get_params`` and parameter constraints,
    ``random_state`` from the seed where it has one. Scores are ``predict_proba`` where the
    estimator has it (kind ``probs``), else ``decision_function`` (``decision``); where their
    argmax and ``predict`` disagree the rows are counted (``extra["predict_mismatch"]``), not
    refused: mmemo cannot know how a foreign estimator predicts."""

    def __init__(self, target: str) -> None:
        self.name = target  # type: ignore[misc]  # the class attributes of a named model
        self.estimator = target  # type: ignore[misc]
        self.description = f"{target} (a scikit-learn classifier by import path)"  # type: ignore[misc]

    def library(self) -> dict[str, str]:
        """The estimator's package and its version, for the run's record."""
        import importlib.metadata

        package = self.estimator.partition(":")[0].split(".")[0]
        try:
            version = importlib.metadata.version({"sklearn": "scikit-learn"}.get(package, package))
        except importlib.metadata.PackageNotFoundError:
            version = str(getattr(importlib.import_module(package), "__version__", "unknown"))
        return {"estimator": self.estimator, "package": package, "version": version}

    def scores(self, estimator: Any, X: np.ndarray) -> tuple[np.ndarray, ScoreKind, bool]:
        if hasattr(estimator, "predict_proba"):
            return estimator.predict_proba(X), "probs", False
        scores = np.asarray(estimator.decision_function(X), dtype=np.float64)
        if scores.ndim == 1:  # two classes: one value, positive for classes_[1]
            scores = np.column_stack([-scores, scores])
        return scores, "decision", False


def static_model_of(name: str) -> StaticModel | None:
    """The static model a name that is not built in stands for: a scikit-learn classifier by
    import path (``module:Class``), or a model kind an installed package registers
    (:data:`~mmemo.models.registry.MODEL_KINDS`) that is a :class:`StaticModel`; else None.

    Raises:
        InputError: the path cannot be imported, or names no scikit-learn classifier.
    """
    if ":" not in name:
        from mmemo.models.registry import MODEL_KINDS

        kind = MODEL_KINDS.get(name) if name in MODEL_KINDS.plugins() else None
        return kind if isinstance(kind, StaticModel) else None
    import importlib

    module, _, attr = name.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise InputError(f"--model {name!r}: cannot import it ({exc})") from None
    from sklearn.base import is_classifier

    try:
        classifier = isinstance(cls, type) and is_classifier(cls())
    except TypeError:  # needs constructor arguments
        classifier = False
    if not classifier:
        raise InputError(
            f"--model {name!r}: not a scikit-learn classifier (a class with fit, predict and "
            "default parameters, whose estimator type is 'classifier')"
        )
    return EstimatorByPath(name)


#: Static models by name; ``register`` refuses a name that is already taken.
ModelRegistry = Registry
#: The built-in static models, installed packages' static kinds, and any scikit-learn
#: classifier by its import path.
STATIC_MODELS: Registry[StaticModel] = Registry("static model", dynamic=static_model_of)
register_model = STATIC_MODELS.register


@register_kind
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


@register_kind
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


@register_kind
@register_model
class KNNModel(StaticModel):
    """k nearest neighbours; scores are the neighbour class fractions."""

    name = "knn"
    estimator = "sklearn.neighbors:KNeighborsClassifier"
    description = "k nearest neighbours (KNeighborsClassifier; n_neighbors=K)"


@register_kind
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


@register_kind
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


def check_model(
    model: str, params: Mapping[str, object], norm: str | None = None
) -> dict[str, object]:
    """Check a configuration before any fitting and return the coerced parameters.

    Values are checked against the estimator's own parameter constraints (scikit-learn's
    ``_validate_params``: types and ranges, ``C=abc`` or ``C=-1``) here, before any data is
    read, so a typo fails at once rather than after the features are loaded.

    Args:
        model: a registered model name.
        params: hyper-parameters under scikit-learn's names.
        norm: a normalisation name, checked when given.

    Returns:
        The parameters the estimator will get (without ``random_state``).

    Raises:
        InputError: unknown model, unknown parameter (listing the valid ones),
            ``random_state`` (which comes from the seed), a value of the wrong type or range,
            or unknown ``norm``.
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
    coerced = spec.coerce(params)
    _check_values(spec, coerced, params, norm)
    return coerced


def _check_values(
    spec: StaticModel,
    coerced: Mapping[str, object],
    params: Mapping[str, object],
    norm: str | None,
) -> None:
    """Validate parameter values with scikit-learn's constraints, without fitting anything."""
    from mmemo.params import config_name

    estimator = spec.build(coerced, DEFAULT_SEED)
    validate = getattr(estimator, "_validate_params", None)
    if validate is None:  # an estimator without declared constraints: checked when fitting
        return
    try:
        validate()
    except (ValueError, TypeError) as exc:  # InvalidParameterError is both
        name = config_name(spec.name, params, norm or "none")
        raise InputError(f"{name}: {str(exc).splitlines()[0]}") from None


def _check_norm(norm: str) -> None:
    if norm not in NORMS:
        raise InputError(f"unknown normalisation '{norm}'; expected one of {NORM_CHOICES}")
