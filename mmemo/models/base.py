"""The contract between models and the job layer: what one fold of training returns.

Models never touch the store. A job gives a model the arrays of one fold and stores the
:class:`FoldResult` it gets back: the scores of every training and test clip, in the model's own
class order, exactly as the model produced them, and the fitted artefact.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from mmemo.progress import NullProgress, Progress
from mmemo.specs import check_fields as check_config_keys  # noqa: F401 - the configs' check

#: What the score columns are: probabilities, unnormalised logits, or decision values.
ScoreKind = Literal["probs", "logits", "decision"]
SCORE_KINDS: tuple[ScoreKind, ...] = ("probs", "logits", "decision")
#: What a model kind reads per clip: a feature vector, a frame sequence, the clip's 16 kHz
#: waveform, or the scores of other runs (fusion).
InputKind = Literal["vectors", "sequences", "audio", "runs"]


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


@dataclass(frozen=True)
class FoldData:
    """One fold's data as a model kind takes it; ``X`` is what :attr:`ModelKind.inputs` names:
    an ``n × d`` matrix (``vectors``; for ``runs`` the input runs' scores concatenated in run
    order), a list of ``T_i × D`` frame arrays (``sequences``) or a list of mono 16 kHz
    waveforms (``audio``). Labels are emotion codes.

    Attributes:
        X_train: the training rows.
        y_train: their emotion codes.
        X_test: the test rows (scored, never trained on, unless a kind early-stops on them).
        y_test: the test rows' codes, for a kind told to early-stop on the test part (as the
            paper's bi-LSTM did); None where the caller does not give them.
        groups_train: the speaker of each training row, for a kind that holds out
            speaker-disjoint validation rows (None: no groups known).
        label: the fold as progress shows it (``fold 3``, ``fold 3, inner 1``).
        checkpoint: a file a long fit may keep its state in and resume from.
        progress: where a long fit reports its epochs or steps.
    """

    X_train: Any
    y_train: np.ndarray
    X_test: Any
    y_test: np.ndarray | None = None
    groups_train: np.ndarray | None = None
    label: str = "fold"
    checkpoint: Path | None = None
    progress: Progress = field(default_factory=NullProgress)


class ModelKind(ABC):
    """What every registered model kind does (see :mod:`mmemo.models.registry`): train on one
    fold, score clips with a fold model, save and load that model. Training jobs call
    :meth:`fit` and ``mmemo predict`` calls :meth:`load` and :meth:`score`, so a run's
    stored posteriors are what :meth:`score` gives for its fold models: the two cannot drift
    apart. The signature is written here once; a kind implements the four methods."""

    name: ClassVar[str]
    inputs: ClassVar[InputKind]

    def check(self, params: Mapping[str, Any]) -> None:
        """Refuse ``params`` the kind cannot take, before any data is read (a job calls it
        once per configuration; the default takes anything). Raise
        :class:`~mmemo.errors.InputError` with one line naming the parameter."""
        return None

    @abstractmethod
    def fit(self, params: Mapping[str, Any], data: FoldData, *, seed: int) -> FoldResult:
        """Train on ``data``'s training part with ``params`` and score both parts. A vectors
        kind trained by ``mmemo train static`` also finds the scaling asked for (``--norm``)
        in ``params["norm"]``."""

    @abstractmethod
    def score(self, model: Any, X: Any) -> np.ndarray:
        """Scores (``n × classes``, float64) of ``X`` under a fitted fold model, defined as the
        stored posteriors of the run's clips."""

    @abstractmethod
    def save(self, model: Any, path: Path) -> Path:
        """Write a fold model to ``path`` (a file or a folder); return it."""

    @abstractmethod
    def load(self, path: Path) -> Any:
        """Read a fold model that :meth:`save` wrote."""


class JoblibArtefacts(ModelKind):
    """Fold models that pickle (scikit-learn pipelines, fusion rules) go through joblib."""

    def save(self, model: Any, path: Path) -> Path:
        """``joblib.dump`` the model to ``path``."""
        import joblib

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(model, path)
        return path

    def load(self, path: Path) -> Any:
        """``joblib.load`` a model written by :meth:`save`."""
        import joblib

        return joblib.load(Path(path))
