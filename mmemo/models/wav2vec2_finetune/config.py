"""Hyper-parameters of wav2vec2 fine-tuning (no torch needed to read or check them)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from mmemo.models.base import check_config_keys


@dataclass
class FinetuneConfig:
    """Hyper-parameters of wav2vec2 fine-tuning (paper values unless noted).

    Attributes:
        lr: Peak AdamW learning rate (paper: 1e-3).
        betas: AdamW betas (paper: (0.9, 0.999)).
        eps: AdamW epsilon (paper: 1e-6).
        weight_decay: AdamW weight decay (Hugging Face Trainer default: 0).
        lr_schedule: ``"linear"`` decays to 0 over training (Trainer default); ``"constant"``.
        warmup_ratio: Share of the optimizer steps spent warming up linearly (Trainer: 0).
        max_grad_norm: Gradient-norm clipping, None to switch off (Trainer default: 1).
        batch_size: Clips per optimizer step over all processes (paper: 100).
        gradient_accumulation: Micro-batches per optimizer step, so that a batch of 100 fits in
            memory; each process runs micro-batches of ``ceil(batch_size / world /
            gradient_accumulation)`` clips. The loss is the mean over the whole batch.
        epochs: Passes over the training clips (paper: 10).
        seed: Seed of the head's initial weights, dropout, SpecAugment and batch order
            (paper: 2020).
        max_seconds: Centre-crop longer clips to this many seconds (training and prediction);
            None keeps whole clips (paper).
        n_classes: Output classes (the paper's 8; a training job sets the number of classes
            of its clips, :func:`mmemo.jobs.deep.with_class_count`).
        head_hidden: Units of the head's hidden tanh layer (paper: 1024).
        head_dropout: Dropout before each head layer (paper: none mentioned).
        freeze_feature_encoder: Keep the conv feature encoder frozen (paper: yes).
        gradient_checkpointing: Recompute transformer activations in the backward pass to save
            memory.
        backbone_overrides: Config fields of the backbone to override when loading, for
            example ``{"mask_time_prob": 0.0, "layerdrop": 0.0}``; empty keeps the checkpoint's.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        bf16: bf16 autocast on CUDA (no effect on CPU).
        eval_batch_size: Clips per forward pass when evaluating during training.
    """

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-6
    weight_decay: float = 0.0
    lr_schedule: Literal["linear", "constant"] = "linear"
    warmup_ratio: float = 0.0
    max_grad_norm: float | None = 1.0
    batch_size: int = 100
    gradient_accumulation: int = 1
    epochs: int = 10
    seed: int = 2020
    max_seconds: float | None = None
    n_classes: int = 8
    head_hidden: int = 1024
    head_dropout: float = 0.0
    freeze_feature_encoder: bool = True
    gradient_checkpointing: bool = False
    backbone_overrides: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    bf16: bool = True
    eval_batch_size: int = 16

    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-friendly dict (stored with every run)."""
        data = dataclasses.asdict(self)
        data["betas"] = list(self.betas)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FinetuneConfig:
        """Rebuild a config from :meth:`to_dict` output; unknown keys are an error.

        Raises:
            InputError: A key is not a field of the config.
        """
        check_config_keys(cls, data, "fine-tuning")
        data = dict(data)
        if "betas" in data:
            data["betas"] = tuple(data["betas"])
        return cls(**data)
