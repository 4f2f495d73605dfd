"""Synthetic fold predictions for the report tests (no store, no files)."""

from __future__ import annotations

import numpy as np
import pytest

from mmemo.corpora.ravdess import EMOTIONS
from mmemo.reports.metrics import FoldPredictions, RunSummary, summarize

#: Actors per test fold in the paper's scheme: four folds of five actors, fold 4 of four.
ACTORS_PER_FOLD = (5, 5, 5, 5, 4)


def actor_labels() -> np.ndarray:
    """The 60 AV-speech clip labels of one RAVDESS actor: 4 neutral, 8 of every other emotion."""
    return np.concatenate([np.zeros(4, dtype=int)] + [np.full(8, k) for k in range(1, 8)])


def ravdess_fold_labels() -> list[np.ndarray]:
    """True labels of the test part of each of the five folds (1,440 clips in all)."""
    return [np.tile(actor_labels(), n) for n in ACTORS_PER_FOLD]


def noisy_folds(accuracy: float, seed: int) -> list[FoldPredictions]:
    """RAVDESS-shaped folds whose predictions are right with probability ``accuracy``."""
    rng = np.random.default_rng(seed)
    folds = []
    for k, y_true in enumerate(ravdess_fold_labels()):
        wrong = rng.random(y_true.size) >= accuracy
        y_pred = y_true.copy()
        y_pred[wrong] = (y_true[wrong] + rng.integers(1, 8, wrong.sum())) % 8
        folds.append(FoldPredictions(k, y_true, y_pred))
    return folds


@pytest.fixture()
def fold_labels() -> list[np.ndarray]:
    return ravdess_fold_labels()


@pytest.fixture()
def make_folds():
    return noisy_folds


@pytest.fixture()
def make_summary():
    def _make(run: str, accuracy: float, seed: int = 0) -> RunSummary:
        return summarize(run, noisy_folds(accuracy, seed), labels=EMOTIONS)

    return _make
