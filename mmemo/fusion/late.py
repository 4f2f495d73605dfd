"""Late fusion of per-clip scores (pure functions: arrays in, scores out).

The paper's method: per fold, concatenate the input runs' scores as stored, scale them with
min-max fitted on the fold's training clips, train a multinomial logistic regression (C = 1,
scikit-learn defaults otherwise) on the training clips and apply it to the test clips.
Rule-based alternatives combine probabilities in one class order: the one given (a dataset's
vocabulary), else every class code of the input runs, ascending (RAVDESS's eight codes for runs
on RAVDESS, the order of its record).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from mmemo.errors import InputError
from mmemo.models.base import FoldResult
from mmemo.store.vocabulary import Vocabulary

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
        classes: The class order of the fused scores; empty: every class code of the
            blocks, ascending (what fold models saved before this field read back as).
    """

    method: str
    blocks: tuple[tuple[tuple[int, ...], str], ...]
    classes: tuple[int, ...] = ()

    @classmethod
    def of(
        cls,
        method: str,
        blocks: Sequence[tuple[Sequence[int], str]],
        classes: Sequence[int] | None = None,
    ) -> RuleCombiner:
        """Check the method and freeze the input description; ``classes`` (a dataset's
        class codes, in its order) orders the fused scores.

        Raises:
            InputError: not a rule, or an input class outside ``classes``.
        """
        if method not in METHODS or method == "logreg":
            raise InputError(f"rule {method!r}: expected one of mean, product, vote")
        frozen = tuple((tuple(int(c) for c in cl), str(k)) for cl, k in blocks)
        combiner = cls(method, frozen, tuple(int(c) for c in classes or ()))
        for block, _ in frozen:
            combiner.vocabulary.index_of(list(block))  # refuses a class outside it now
        return combiner

    @property
    def vocabulary(self) -> Vocabulary:
        """The classes of the fused score columns, in order."""
        if self.classes:
            return Vocabulary(self.classes, tuple(map(str, self.classes)))
        return Vocabulary.of_codes([c for block, _ in self.blocks for c in block])

    @property
    def kind(self) -> str:
        """Score kind of the fused scores: probabilities for mean and vote, else log-sums."""
        return "probs" if self.method in ("mean", "vote") else "logits"

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Fused scores (``n × classes``, in :attr:`vocabulary` order) of concatenated input
        scores."""
        vocabulary = self.vocabulary
        X = np.asarray(X, dtype=np.float64)
        if X.size == 0:
            return np.zeros((0, len(vocabulary)))
        width = sum(len(codes) for codes, _ in self.blocks)
        if X.ndim != 2 or X.shape[1] != width:
            raise InputError(
                f"fusion input has shape {X.shape}; expected {width} score columns "
                f"({len(self.blocks)} runs)"
            )
        blocks, offset = [], 0
        for codes, kind in self.blocks:
            block = to_probabilities(X[:, offset : offset + len(codes)], kind)
            offset += len(codes)
            fused_order = np.zeros((len(block), len(vocabulary)))
            fused_order[:, vocabulary.index_of(list(codes))] = block
            blocks.append(fused_order)
        return combine_rule(blocks, self.method)
