"""Late-fusion methods as model kinds of :mod:`mmemo.models.registry` (``fusion-<method>``).

Their input (``inputs = "runs"``) is the fused runs' scores of each clip, concatenated in the
order the runs are given, as stored (``sql/fusion/fusion_input.sql``). Every method leaves a
fold model: the fitted pipeline for ``logreg``, a :class:`~mmemo.fusion.late.RuleCombiner`
(which input columns are which classes) for the rules, so that a fusion run can be applied to
new clips once its input runs have scored them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from mmemo.fusion.late import RuleCombiner, fit_logreg_fold
from mmemo.models.base import FoldData, FoldResult, InputKind, JoblibArtefacts
from mmemo.models.registry import register_kind


@register_kind
class LogRegFusion(JoblibArtefacts):
    """The paper's fusion: scaled input scores into a multinomial logistic regression."""

    name: ClassVar[str] = "fusion-logreg"
    inputs: ClassVar[InputKind] = "runs"

    def fit(self, params: Mapping[str, Any], data: FoldData, *, seed: int) -> FoldResult:
        """:func:`~mmemo.fusion.late.fit_logreg_fold` with ``params`` ``C`` and ``norm``."""
        return fit_logreg_fold(
            np.asarray(data.X_train, dtype=np.float64),
            np.asarray(data.y_train),
            np.asarray(data.X_test, dtype=np.float64),
            C=float(params.get("C", 1.0)),
            norm=str(params.get("norm", "minmax")),
            seed=seed,
        )

    def score(self, model: Any, X: Any) -> np.ndarray:
        """Class probabilities of the fitted pipeline."""
        return np.asarray(model.predict_proba(np.asarray(X, dtype=np.float64)), np.float64)


class RuleFusion(JoblibArtefacts):
    """A fixed rule over the input runs' probabilities; nothing is trained.

    ``params["blocks"]`` describes the inputs: per run, its class order and score kind;
    ``params["classes"]``, where given (a dataset's class codes in its order), orders the fused
    scores, else every input class ascending (:class:`~mmemo.fusion.late.RuleCombiner`).
    """

    name: ClassVar[str]
    inputs: ClassVar[InputKind] = "runs"
    method: ClassVar[str]

    def fit(self, params: Mapping[str, Any], data: FoldData, *, seed: int) -> FoldResult:
        """Apply the rule to both parts; the fold model is the rule and its input layout."""
        combiner = RuleCombiner.of(self.method, params["blocks"], params.get("classes"))
        return FoldResult(
            classes=list(combiner.vocabulary.codes),
            kind=combiner.kind,  # type: ignore[arg-type]
            train_scores=combiner(data.X_train),
            test_scores=combiner(data.X_test),
            model=combiner,
        )

    def score(self, model: RuleCombiner, X: Any) -> np.ndarray:
        """The rule's fused scores, in the combiner's class order."""
        return model(X)


@register_kind
class MeanFusion(RuleFusion):
    """Average probability of the input runs."""

    name = "fusion-mean"
    method = "mean"


@register_kind
class ProductFusion(RuleFusion):
    """Product rule: sum of the input runs' log-probabilities."""

    name = "fusion-product"
    method = "product"


@register_kind
class VoteFusion(RuleFusion):
    """Share of input runs voting for each class."""

    name = "fusion-vote"
    method = "vote"
