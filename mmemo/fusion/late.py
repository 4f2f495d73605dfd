"""Late fusion of per-clip scores (pure functions: arrays in, scores out).

The paper's method: per fold, concatenate the input runs' scores as stored, scale them with
min-max fitted on the fold's training clips, train a multinomial logistic regression (C = 1,
scikit-learn defaults otherwise) on the training clips and apply it to the test clips.
Rule-based alternatives combine probabilities in the canonical class order.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from mmemo.errors import InputError
from mmemo.models.base import FoldResult

Method = Literal["logreg", "mean", "product", "vote"]
METHODS: tuple[str, ...] = ("logreg", "mean", "product", "vote")
NORMS: tuple[str, ...] = ("minmax", "standard", "none")


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
    scores = np.asarray(scores, dtype=np.float64)
    if kind == "probs":
        return scores
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


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
