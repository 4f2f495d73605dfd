"""The bi-LSTM as a model kind of :mod:`mmemo.models.registry` (``runs.model = 'bilstm'``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmemo.models.base import FoldResult, InputKind
from mmemo.models.bilstm.checkpoint import TrainedBiLSTM
from mmemo.models.bilstm.config import BiLSTMConfig
from mmemo.models.bilstm.training import predict_bilstm, train_bilstm
from mmemo.models.registry import register_kind


@register_kind
class BiLSTMKind:
    """Frame sequences in, logits out (class index ``i`` is emotion code ``i + 1``)."""

    name: ClassVar[str] = "bilstm"
    inputs: ClassVar[InputKind] = "sequences"

    def fit(
        self,
        params: Mapping[str, Any],
        *,
        seed: int,
        X_train: Any,
        y_train: np.ndarray,
        X_test: Any,
    ) -> FoldResult:
        """Train with the config fields in ``params`` on all training clips (no validation
        part, so ``max_epochs`` epochs; the job early-stops on an inner split instead)."""
        cfg = BiLSTMConfig.from_dict({**params, "seed": seed})
        trained = train_bilstm(X_train, np.asarray(y_train) - 1, None, None, cfg)
        return FoldResult(
            classes=list(range(1, cfg.n_classes + 1)),
            kind="logits",
            train_scores=self.score(trained, X_train),
            test_scores=self.score(trained, X_test),
            model=trained,
        )

    def score(self, model: TrainedBiLSTM, X: Any) -> np.ndarray:
        """Logits of the clips, as the job stores them."""
        return np.asarray(predict_bilstm(model, X)[0], dtype=np.float64)

    def save(self, model: TrainedBiLSTM, path: Path) -> Path:
        """Write the checkpoint file."""
        return model.save(path)

    def load(self, path: Path) -> TrainedBiLSTM:
        """Read a checkpoint file written by :meth:`save`."""
        return TrainedBiLSTM.load(path)
