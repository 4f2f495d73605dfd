"""Late fusion of per-clip scores (pure functions: arrays in, scores out).

The paper's method: per fold, concatenate the input runs' scores as stored, scale them with
min-max fitted on the fold's training clips, train a multinomial logistic regression (C = 1,
scikit-learn defaults otherwise) on the training clips and apply it to the test clips.
Rule-based alternatives combine probabilities in the canonical class order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from mmemo.corpora.ravdess import EMOTIONS
from mmemo.errors import InputError
from mmemo.models.base import FoldResult

Method = Literal["logreg", "mean", "product", "vote"]
METHODS: tuple[str, ...] = ("logreg", "mean", "product", "vote")
NORMS: tuple[str, ...] = ("minmax", "standard", "none")
#: The class order of rule-based fusion scores: every emotion code, ascending.
CANONICAL: list[int] = list(range(1, len(EMOTIONS) + 1))


def fit_logreg_fold(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    *,
    C: float = 1.0,
    norm: str = "minmax",
    seed: int = 2020,
) -> FoldResult:
    """Scale (fitted on the training rows) and fit a multinomial logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    if norm not in NORMS:
        raise InputError(f"--norm {norm!r}: expected one of {', '.join(NORMS)}")
    steps = {"minmax": [MinMaxScaler()], "standard": [StandardScaler()], "none": []}[norm]
    model = make_pipeline(*steps, LogisticRegression(C=C, random_state=seed))
    model.fit(X_train, y_train)
    classes = [int(c) for c in model.classes_]
    return FoldResult(
        classes=classes,
        kind="probs",
        train_scores=model.predict_proba(X_train),
        test_scores=model.predict_proba(X_test),
        model=model,
    )


def to_probabilities(scores: np.ndarray, kind: str) -> np.ndarray:
    """Scores as probabilities: probabilities as they are, anything else soft-maxed."""
    from scipy.special import softmax

    scores = np.asarray(scores, dtype=np.float64)
    if kind == "probs":
        return scores
    return softmax(scores, axis=1)


def combine_rule(blocks: list[np.ndarray], method: str) -> np.ndarray:
    """Combine per-run probability blocks (each n × classes, same class order) by a rule.

    ``mean``: average probability; ``product``: sum of log-probabilities (product rule);
    ``vote``: share of runs voting for each class (ties resolve to the first class).
    """
    if method == "mean":
        return np.mean(blocks, axis=0)
    if method == "product":
        return np.sum([np.log(np.clip(b, 1e-12, None)) for b in blocks], axis=0)
    if method == "vote":
        votes = np.zeros_like(blocks[0])
        for block in blocks:
            votes[np.arange(len(block)), np.argmax(block, axis=1)] += 1
        return votes / len(blocks)
    raise InputError(f"--method {method!r}: expected one of {', '.join(METHODS)}")


@dataclass(frozen=True)
class RuleCombiner:
    """A rule-based fusion as a fold model: how to read the concatenated input scores.

    Attributes:
        method: ``mean``, ``product`` or ``vote``.
        blocks: Per input run, in order: its class order (emotion codes) and score kind.
    """

    method: str
    blocks: tuple[tuple[tuple[int, ...], str], ...]

    @classmethod
    def of(cls, method: str, blocks: Sequence[tuple[Sequence[int], str]]) -> RuleCombiner:
        """Check the method and freeze the input description."""
        if method not in METHODS or method == "logreg":
            raise InputError(f"rule {method!r}: expected one of mean, product, vote")
        return cls(method, tuple((tuple(int(c) for c in cl), str(k)) for cl, k in blocks))

    @property
    def kind(self) -> str:
        """Score kind of the fused scores: probabilities for mean and vote, else log-sums."""
        return "probs" if self.method in ("mean", "vote") else "logits"

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Fused scores (``n × 8``, canonical class order) of concatenated input scores."""
        X = np.asarray(X, dtype=np.float64)
        if X.size == 0:
            return np.zeros((0, len(CANONICAL)))
        width = sum(len(classes) for classes, _ in self.blocks)
        if X.ndim != 2 or X.shape[1] != width:
            raise InputError(
                f"fusion input has shape {X.shape}; expected {width} score columns "
                f"({len(self.blocks)} runs)"
            )
        blocks, offset = [], 0
        for classes, kind in self.blocks:
            block = to_probabilities(X[:, offset : offset + len(classes)], kind)
            offset += len(classes)
            canonical = np.zeros((len(block), len(CANONICAL)))
            for j, code in enumerate(classes):
                canonical[:, CANONICAL.index(code)] = block[:, j]
            blocks.append(canonical)
        return combine_rule(blocks, self.method)
