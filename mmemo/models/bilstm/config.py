"""Hyper-parameters of the bi-LSTM with attention (no torch needed to read or check them)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from mmemo.models.base import check_config_keys


@dataclass
class BiLSTMConfig:
    """Hyper-parameters of the bi-LSTM with attention (paper values unless noted).

    Attributes:
        hidden: LSTM units per direction (paper: 50).
        layers: Stacked bi-LSTM layers (paper: 2).
        attention_hidden: Width of the attention MLP's hidden layer. None means twice ``hidden``
            (the width of the bi-LSTM output, 100), as in the authors' code.
        dropout: Dropout between the LSTM layers (authors' configuration: 0.3).
        attention_dropout: Dropout after the attention MLP's hidden layer (authors': 0.3).
        n_classes: Output classes (the paper's 8; a training job sets the number of classes
            of its clips, :func:`mmemo.jobs.deep.with_class_count`).
        batch_size: Clips per batch (paper: 64).
        max_epochs: Upper bound on epochs (paper: 300).
        patience: Stop when the validation macro-F1 has not improved for this many epochs
            (paper: 30).
        lr: Adam learning rate (authors' configuration: 1e-3).
        weight_decay: Adam weight decay (authors': 0).
        clip_norm: Gradient-norm clipping; None switches it off (authors': 1).
        class_weight: ``"balanced"`` weights the cross-entropy by inverse class frequency of the
            training labels (authors' code); None for plain cross-entropy.
        seed: Seed of weights, dropout and batch order (paper: 2020).
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        eval_batch_size: Clips per batch when predicting.
    """

    hidden: int = 50
    layers: int = 2
    attention_hidden: int | None = None
    dropout: float = 0.3
    attention_dropout: float = 0.3
    n_classes: int = 8
    batch_size: int = 64
    max_epochs: int = 300
    patience: int = 30
    lr: float = 1e-3
    weight_decay: float = 0.0
    clip_norm: float | None = 1.0
    class_weight: Literal["balanced"] | None = "balanced"
    seed: int = 2020
    device: str = "auto"
    eval_batch_size: int = 256

    @property
    def attention_width(self) -> int:
        """The attention MLP's hidden width actually used."""
        return self.attention_hidden if self.attention_hidden is not None else 2 * self.hidden

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-friendly dict (stored with every run)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BiLSTMConfig:
        """Rebuild a config from :meth:`to_dict` output; unknown keys are an error.

        Raises:
            InputError: A key is not a field of the config.
        """
        check_config_keys(cls, data, "bi-LSTM")
        return cls(**data)
