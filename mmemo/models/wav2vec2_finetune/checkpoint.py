"""A fine-tuned classifier and its checkpoint folder (backbone, head, metadata)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmemo.errors import InputError
from mmemo.models.torch_utils import dist_info, require_torch
from mmemo.models.trained import TrainedNetwork
from mmemo.models.wav2vec2_finetune.config import FinetuneConfig
from mmemo.models.wav2vec2_finetune.modules import FeatureSettings, Wav2Vec2Classifier

torch = require_torch()

_HEAD_FILE = "head.safetensors"
_META_FILE = "mmemo_finetune.json"
_BACKBONE_DIR = "backbone"
_FORMAT = "mmemo.wav2vec2_finetune/1"


def build_classifier(path: str | Path, cfg: FinetuneConfig, **options: Any) -> Wav2Vec2Classifier:
    """The classifier ``cfg`` describes, on the backbone at ``path``: fine-tuning builds it
    from its starting checkpoint and :meth:`TrainedClassifier.load` from a saved one, the
    same way, so a loaded model has the head it was trained with. ``options`` go to
    :meth:`Wav2Vec2Classifier.from_pretrained` as they are."""
    return Wav2Vec2Classifier.from_pretrained(
        path,
        n_classes=cfg.n_classes,
        head_hidden=cfg.head_hidden,
        head_dropout=cfg.head_dropout,
        freeze_feature_encoder=cfg.freeze_feature_encoder,
        **options,
    )


@dataclass
class TrainedClassifier(TrainedNetwork):
    """A fine-tuned classifier with what is needed to use and store it.

    Attributes:
        model: The classifier, in eval mode (unwrapped from DDP).
        config: The configuration it was trained with.
        features: How waveforms are prepared for it.
        history: One record per epoch: ``epoch``, ``loss`` (mean training loss on this
            process) and, with labelled evaluation clips, ``eval_loss``, ``eval_accuracy``,
            ``eval_macro_f1``.
        eval_logits: Logits of the evaluation clips after the last epoch, or None.
        source: The checkpoint fine-tuning started from.
    """

    model: Wav2Vec2Classifier
    config: FinetuneConfig
    features: FeatureSettings
    history: list[dict[str, float]] = field(default_factory=list)
    eval_logits: np.ndarray | None = None
    source: str = ""

    def save(self, path: str | Path) -> Path | None:
        """Write a folder: ``backbone/`` (``save_pretrained``, with its feature extractor),
        ``head.safetensors`` and ``mmemo_finetune.json`` (config, feature settings, history).

        In a distributed job only rank 0 writes; other ranks return None.

        Args:
            path: Folder to write (created if missing).

        Returns:
            The folder, or None on ranks other than 0.
        """
        if dist_info()[1] != 0:
            return None
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.backbone.save_pretrained(path / _BACKBONE_DIR)
        self.features.to_feature_extractor().save_pretrained(path / _BACKBONE_DIR)
        head = {k: v.detach().cpu().contiguous() for k, v in self.model.head.state_dict().items()}
        save_file(head, str(path / _HEAD_FILE))
        meta = {
            "format": _FORMAT,
            "config": self.config.to_dict(),
            "features": dataclasses.asdict(self.features),
            "use_attention_mask": self.model.use_attention_mask,
            "history": self.history,
            "source": self.source,
        }
        (path / _META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def _read(cls, path: str | Path) -> TrainedClassifier:
        """The folder :meth:`save` wrote (:meth:`load` reads it through this)."""
        from safetensors.torch import load_file

        path = Path(path)
        meta_path = path / _META_FILE
        if not meta_path.is_file():
            raise InputError(f"'{path}' is not an mmemo fine-tuned checkpoint (no {_META_FILE})")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != _FORMAT:
            raise InputError(f"'{path}' has format {meta.get('format')!r}; expected {_FORMAT}")
        cfg = FinetuneConfig.from_dict(meta["config"])
        model = build_classifier(
            path / _BACKBONE_DIR, cfg, use_attention_mask=bool(meta["use_attention_mask"])
        )
        model.head.load_state_dict(load_file(str(path / _HEAD_FILE)))
        return cls(
            model=model,
            config=cfg,
            features=FeatureSettings(**meta["features"]),
            history=list(meta["history"]),
            source=str(meta.get("source", "")),
        )
