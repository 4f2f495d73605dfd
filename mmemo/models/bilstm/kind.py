"""The bi-LSTM as a model kind of :mod:`mmemo.models.registry` (``runs.model = 'bilstm'``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmemo.errors import InputError
from mmemo.models.base import FoldData, FoldResult, InputKind, ModelKind
from mmemo.models.bilstm.checkpoint import TrainedBiLSTM
from mmemo.models.bilstm.config import BiLSTMConfig
from mmemo.models.bilstm.training import inner_split, predict_bilstm, train_bilstm
from mmemo.models.classes import output_classes
from mmemo.models.registry import register_kind

#: What the bi-LSTM early-stops on: an actor-disjoint split of the training rows (``inner``,
#: needs their speakers), the test part as the paper did (``test``), or nothing (``none``:
#: ``max_epochs`` epochs).
EARLY_STOP = ("inner", "test", "none")


@register_kind
class BiLSTMKind(ModelKind):
    """Frame sequences in, logits out: one column per class code of the training labels,
    in ascending code order (as scikit-learn's kinds order theirs)."""

    name: ClassVar[str] = "bilstm"
    description: ClassVar[str] = "bi-LSTM with attention (2x50 units) on frame sequences"
    inputs: ClassVar[InputKind] = "sequences"

    def fit(self, params: Mapping[str, Any], data: FoldData, *, seed: int) -> FoldResult:
        """Train with the config fields in ``params`` and ``params["early_stop_on"]`` (see
        :data:`EARLY_STOP`; default ``inner``); the result's ``extra`` holds each part's
        attention weights and the epoch kept.

        Raises:
            InputError: an unknown config field or early-stopping choice, or one the data
                cannot serve (``inner`` without speakers, ``test`` without test labels); a
                number of training classes other than ``n_classes``.
        """
        options = dict(params)
        stop_on = options.pop("early_stop_on", "inner")
        cfg = BiLSTMConfig.from_dict({**options, "seed": seed})
        classes = output_classes(data.y_train, cfg.n_classes)
        y = classes.index_of(data.y_train)
        if stop_on == "inner" and data.groups_train is not None:
            fit_idx, val_idx = inner_split(data.groups_train, y, seed=seed)
            fit_x, fit_y = [data.X_train[i] for i in fit_idx], y[fit_idx]
            val_x, val_y = [data.X_train[i] for i in val_idx], y[val_idx]
        elif stop_on == "test" and data.y_test is not None:
            fit_x, fit_y, val_x, val_y = data.X_train, y, data.X_test, classes.index_of(data.y_test)
        elif stop_on == "none":
            fit_x, fit_y, val_x, val_y = data.X_train, y, None, None
        else:
            raise InputError(
                f"early_stop_on={stop_on!r}: expected one of {', '.join(EARLY_STOP)}, with "
                "the training rows' speakers (inner) or the test labels (test)"
            )
        with data.progress.task(*epochs_task(data.label, cfg)) as task:
            trained = train_bilstm(
                fit_x, fit_y, val_x, val_y, cfg, on_epoch=lambda *_: task.advance()
            )
        train_logits, train_attn = predict_bilstm(trained, data.X_train)
        test_logits, test_attn = predict_bilstm(trained, data.X_test)
        return FoldResult(
            classes=list(classes.codes),
            kind="logits",
            train_scores=np.asarray(train_logits, dtype=np.float64),
            test_scores=np.asarray(test_logits, dtype=np.float64),
            model=trained,
            extra={
                "attention": {"train": train_attn, "test": test_attn},
                "best_epoch": trained.best_epoch,
            },
        )

    def score(self, model: TrainedBiLSTM, X: Any) -> np.ndarray:
        """Logits of the clips, as :meth:`fit` gives them."""
        return np.asarray(predict_bilstm(model, X)[0], dtype=np.float64)

    def save(self, model: TrainedBiLSTM, path: Path) -> Path:
        """Write the checkpoint file."""
        return model.save(path)

    def load(self, path: Path) -> TrainedBiLSTM:
        """Read a checkpoint file written by :meth:`save`."""
        return TrainedBiLSTM.load(path)


def epochs_task(label: str, cfg: BiLSTMConfig) -> tuple[str, int | None]:
    """The progress task of one bi-LSTM training: description and total.

    Early stopping ends most trainings long before ``max_epochs`` (the paper's 300, patience
    30), so an ETA over the budget misleads by that much: "epochs 1/300 ... ETA 41:44" was
    shown for a run that took 4 minutes. Where early stopping can end the training, the task
    has no total: it shows epochs and the time per epoch, and only the folds (a known count)
    get an ETA. With ``max_epochs <= patience`` it cannot stop early: the budget is the total.
    """
    if cfg.max_epochs <= cfg.patience:
        return f"{label}: epochs", cfg.max_epochs
    return f"{label}: epochs (early stopping, at most {cfg.max_epochs})", None
