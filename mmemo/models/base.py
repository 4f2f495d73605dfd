"""The contract between models and the job layer: what one fold of training returns.

Models never touch the store. A job gives a model the arrays of one fold and stores the
:class:`FoldResult` it gets back: the scores of every training and test clip, in the model's own
class order, exactly as the model produced them, and the fitted artefact.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from mmemo.errors import InputError

#: What the score columns are: probabilities, unnormalised logits, or decision values.
ScoreKind = Literal["probs", "logits", "decision"]
SCORE_KINDS: tuple[ScoreKind, ...] = ("probs", "logits", "decision")


@dataclass
class FoldResult:
    """The outcome of training a model on one fold.

    Attributes:
        classes: emotion code of each score column, in the model's own order.
        kind: what the scores are (see :data:`ScoreKind`).
        train_scores: ``n_train × n_classes`` scores of the training rows, as produced.
        test_scores: ``n_test × n_classes`` scores of the test rows, as produced.
        model: the fitted artefact (picklable with joblib), including any fitted scaler.
        extra: model-specific results, e.g. ``{"test_vote": ..., "test_groups": ...}`` for the
            frame-level variant, or ``{"warnings": [...]}``.
    """

    classes: list[int]
    kind: ScoreKind
    train_scores: np.ndarray
    test_scores: np.ndarray
    model: object
    extra: dict = field(default_factory=dict)

    def predict(self, split: Literal["train", "test"] = "test") -> np.ndarray:
        """Emotion codes predicted for ``split``: the argmax of the stored scores.

        Ties go to the first column (``numpy.argmax``).
        """
        scores = self.train_scores if split == "train" else self.test_scores
        return np.asarray(self.classes)[np.argmax(scores, axis=1)]


def check_config_keys(config_cls: type, data: Mapping[str, object], what: str) -> None:
    """Refuse keys that are not fields of a config dataclass, listing the valid ones.

    Raises:
        InputError: e.g. "unknown bi-LSTM option(s) x; expected one of batch_size, ...".
    """
    names = sorted(f.name for f in dataclasses.fields(config_cls))
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise InputError(
            f"unknown {what} option(s) {', '.join(unknown)}; expected one of {', '.join(names)}"
        )
