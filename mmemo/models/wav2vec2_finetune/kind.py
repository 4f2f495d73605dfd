"""The wav2vec2 fine-tune as a model kind of :mod:`mmemo.models.registry`
(``runs.model = 'wav2vec2-finetune'``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmemo.errors import InputError
from mmemo.models.base import FoldData, FoldResult, InputKind, ModelKind
from mmemo.models.classes import output_classes
from mmemo.models.registry import register_kind
from mmemo.models.torch_utils import is_main_process
from mmemo.models.wav2vec2_finetune.checkpoint import TrainedClassifier
from mmemo.models.wav2vec2_finetune.config import FinetuneConfig
from mmemo.models.wav2vec2_finetune.training import finetune, predict_finetuned


@register_kind
class FinetuneKind(ModelKind):
    """16 kHz waveforms in, logits out: one column per class code of the training labels,
    in ascending code order (:func:`~mmemo.models.classes.output_classes`)."""

    name: ClassVar[str] = "wav2vec2-finetune"
    description: ClassVar[str] = "wav2vec2/XLSR fine-tuned, mean pooling and a 1024-tanh head"
    inputs: ClassVar[InputKind] = "audio"

    def fit(self, params: Mapping[str, Any], data: FoldData, *, seed: int) -> FoldResult:
        """Fine-tune the checkpoint ``params["model"]`` with the other config fields;
        ``params["keep"]`` (``last``, the default, or ``none``) says whether the result holds
        the fine-tuned model. The fit resumes from ``data.checkpoint`` and reports its steps to
        ``data.progress``. Under ``torchrun`` every rank trains and rank 0 alone scores: the
        other ranks return no scores.

        Raises:
            InputError: no ``model`` given, an unknown config field or ``keep`` value; a
                number of training classes other than ``n_classes``.
        """
        options = dict(params)
        source = options.pop("model", None)
        keep = options.pop("keep", "last")
        if not source:
            raise InputError(
                "a wav2vec2 fine-tune needs params['model']: the checkpoint to start from"
            )
        if keep not in ("last", "none"):
            raise InputError(f"keep={keep!r}: expected last or none")
        cfg = FinetuneConfig.from_dict({**options, "seed": seed})
        vocabulary = output_classes(data.y_train, cfg.n_classes)
        steps = cfg.epochs * -(-len(data.X_train) // cfg.batch_size)
        with data.progress.task(f"{data.label}: steps", steps) as task:
            trained = finetune(
                source,
                data.X_train,
                vocabulary.index_of(data.y_train),
                cfg=cfg,
                on_step=lambda *_: task.advance(),
                checkpoint=data.checkpoint,
            )
        classes = list(vocabulary.codes)
        if not is_main_process():  # other ranks only help train; rank 0 scores and stores
            empty = np.empty((0, len(classes)))
            return FoldResult(classes, "logits", empty, empty, None)
        return FoldResult(
            classes=classes,
            kind="logits",
            train_scores=self.score(trained, data.X_train),
            test_scores=self.score(trained, data.X_test),
            model=trained if keep == "last" else None,
            extra={"history": trained.history},
        )

    def score(self, model: TrainedClassifier, X: Any) -> np.ndarray:
        """Logits of the waveforms, as :meth:`fit` gives them."""
        return np.asarray(predict_finetuned(model, X), dtype=np.float64)

    def save(self, model: TrainedClassifier, path: Path) -> Path:
        """Write the checkpoint folder."""
        model.save(path)
        return Path(path)

    def load(self, path: Path) -> TrainedClassifier:
        """Read a checkpoint folder written by :meth:`save`."""
        return TrainedClassifier.load(path)
