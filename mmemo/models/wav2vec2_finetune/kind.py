"""The wav2vec2 fine-tune as a model kind of :mod:`mmemo.models.registry`
(``runs.model = 'wav2vec2-finetune'``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmemo.errors import InputError
from mmemo.models.base import FoldResult, InputKind
from mmemo.models.registry import register_kind
from mmemo.models.wav2vec2_finetune.checkpoint import TrainedClassifier
from mmemo.models.wav2vec2_finetune.config import FinetuneConfig
from mmemo.models.wav2vec2_finetune.training import finetune, predict_finetuned


@register_kind
class FinetuneKind:
    """16 kHz waveforms in, logits out (class index ``i`` is emotion code ``i + 1``)."""

    name: ClassVar[str] = "wav2vec2-finetune"
    inputs: ClassVar[InputKind] = "audio"

    def fit(
        self,
        params: Mapping[str, Any],
        *,
        seed: int,
        X_train: Any,
        y_train: np.ndarray,
        X_test: Any,
    ) -> FoldResult:
        """Fine-tune the checkpoint ``params["model"]`` with the other config fields.

        Raises:
            InputError: no ``model`` given, or an unknown config field.
        """
        options = dict(params)
        source = options.pop("model", None)
        if not source:
            raise InputError(
                "a wav2vec2 fine-tune needs params['model']: the checkpoint to start from"
            )
        cfg = FinetuneConfig.from_dict({**options, "seed": seed})
        trained = finetune(source, X_train, np.asarray(y_train) - 1, cfg=cfg)
        return FoldResult(
            classes=list(range(1, cfg.n_classes + 1)),
            kind="logits",
            train_scores=self.score(trained, X_train),
            test_scores=self.score(trained, X_test),
            model=trained,
            extra={"history": trained.history},
        )

    def score(self, model: TrainedClassifier, X: Any) -> np.ndarray:
        """Logits of the waveforms, as the fine-tune job stores them."""
        return np.asarray(predict_finetuned(model, X), dtype=np.float64)

    def save(self, model: TrainedClassifier, path: Path) -> Path:
        """Write the checkpoint folder."""
        model.save(path)
        return Path(path)

    def load(self, path: Path) -> TrainedClassifier:
        """Read a checkpoint folder written by :meth:`save`."""
        return TrainedClassifier.load(path)
