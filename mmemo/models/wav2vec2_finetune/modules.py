"""The classifier (wav2vec2 backbone, masked mean pooling, MLP head) and how waveforms become
its inputs: feature settings of the checkpoint, batch preparation, batched eval-mode logits."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmemo.errors import InputError, MissingDependencyError, first_line
from mmemo.models.torch_utils import autocast, require_torch

torch = require_torch()
from torch import nn  # noqa: E402

try:
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model
except ImportError as exc:  # pragma: no cover - transformers is installed where tests run
    raise MissingDependencyError("transformers", "ml") from exc

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureSettings:
    """How raw waveforms become model inputs, read from the checkpoint's feature extractor.

    Attributes:
        sampling_rate: Rate the waveforms must have (16 kHz for wav2vec2).
        do_normalize: Scale each clip to zero mean, unit variance over its own samples.
        padding_value: Value of padded samples.
        return_attention_mask: Pass an attention mask (layer-norm checkpoints); without it,
            padded batches are fed as they are (group-norm checkpoints).
    """

    sampling_rate: int = 16000
    do_normalize: bool = True
    padding_value: float = 0.0
    return_attention_mask: bool = True

    @classmethod
    def from_pretrained(cls, id_or_path: str | Path, config: Wav2Vec2Config) -> FeatureSettings:
        """Read the settings of a checkpoint's feature extractor.

        A checkpoint without ``preprocessor_config.json`` gets the Hugging Face defaults, with
        the attention mask on for layer-norm models (``feat_extract_norm == "layer"``).
        """
        try:
            fe = Wav2Vec2FeatureExtractor.from_pretrained(str(id_or_path))
        except OSError:
            logger.warning("no feature extractor config at %s; using defaults", id_or_path)
            return cls(return_attention_mask=config.feat_extract_norm == "layer")
        return cls(
            sampling_rate=int(fe.sampling_rate),
            do_normalize=bool(fe.do_normalize),
            padding_value=float(fe.padding_value),
            return_attention_mask=bool(fe.return_attention_mask),
        )

    def to_feature_extractor(self) -> Wav2Vec2FeatureExtractor:
        """An equivalent Hugging Face feature extractor (saved next to the backbone)."""
        return Wav2Vec2FeatureExtractor(
            feature_size=1,
            sampling_rate=self.sampling_rate,
            padding_value=self.padding_value,
            do_normalize=self.do_normalize,
            return_attention_mask=self.return_attention_mask,
        )


class Wav2Vec2Classifier(nn.Module):
    """wav2vec2 backbone, masked mean pooling over its last hidden state, and an MLP head.

    Args:
        backbone: A ``Wav2Vec2Model``.
        n_classes: Output classes.
        head_hidden: Units of the hidden tanh layer.
        head_dropout: Dropout before each head layer.
        use_attention_mask: Pass an attention mask to the backbone (layer-norm checkpoints).
    """

    def __init__(
        self,
        backbone: Wav2Vec2Model,
        *,
        n_classes: int,
        head_hidden: int = 1024,
        head_dropout: float = 0.0,
        use_attention_mask: bool = True,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.use_attention_mask = use_attention_mask
        hidden = backbone.config.hidden_size
        self.head = nn.Sequential(
            nn.Dropout(head_dropout),
            nn.Linear(hidden, head_hidden),
            nn.Tanh(),
            nn.Dropout(head_dropout),
            nn.Linear(head_hidden, n_classes),
        )

    @classmethod
    def from_pretrained(
        cls,
        id_or_path: str | Path,
        *,
        n_classes: int,
        head_hidden: int = 1024,
        head_dropout: float = 0.0,
        use_attention_mask: bool | None = None,
        freeze_feature_encoder: bool = True,
        backbone_overrides: dict[str, Any] | None = None,
    ) -> Wav2Vec2Classifier:
        """Load the backbone with ``Wav2Vec2Model.from_pretrained`` and add a new head.

        Args:
            id_or_path: Hub id or local folder of a wav2vec2 checkpoint (a CTC checkpoint such
                as ``jonatasgrosman/wav2vec2-large-xlsr-53-english`` works; its LM head is
                dropped).
            n_classes: Output classes.
            head_hidden: Units of the hidden tanh layer.
            head_dropout: Dropout before each head layer.
            use_attention_mask: None follows the checkpoint's feature extractor.
            freeze_feature_encoder: Freeze the conv feature encoder.
            backbone_overrides: Backbone config fields to override.

        Returns:
            The classifier (fp32 weights, on CPU).

        Raises:
            InputError: the checkpoint cannot be loaded (one line: the first of
                transformers' message).
        """
        try:
            backbone = Wav2Vec2Model.from_pretrained(
                str(id_or_path), dtype=torch.float32, **(backbone_overrides or {})
            )
        except (OSError, ValueError) as exc:  # e.g. "Repo id must use alphanumeric chars"
            raise InputError(
                f"cannot load wav2vec2 model '{id_or_path}': {first_line(exc)}"
            ) from exc
        if use_attention_mask is None:
            settings = FeatureSettings.from_pretrained(id_or_path, backbone.config)
            use_attention_mask = settings.return_attention_mask
        model = cls(
            backbone,
            n_classes=n_classes,
            head_hidden=head_hidden,
            head_dropout=head_dropout,
            use_attention_mask=use_attention_mask,
        )
        if freeze_feature_encoder:
            backbone.freeze_feature_encoder()
        return model

    def frame_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Valid output frames for clips of ``lengths`` samples."""
        return self.backbone._get_feat_extract_output_lengths(lengths).to(torch.long)

    def forward(self, input_values: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Classify a padded batch of waveforms.

        Args:
            input_values: ``B × S`` prepared samples (see :func:`prepare_batch`).
            lengths: ``B`` valid sample counts.

        Returns:
            ``B × n_classes`` logits (float32).
        """
        attention_mask = None
        if self.use_attention_mask:
            positions = torch.arange(input_values.shape[1], device=input_values.device)
            attention_mask = (positions[None, :] < lengths[:, None]).to(torch.long)
        hidden = self.backbone(input_values, attention_mask=attention_mask).last_hidden_state
        hidden = hidden.float()
        frames = self.frame_lengths(lengths).clamp(min=1)
        positions = torch.arange(hidden.shape[1], device=hidden.device)
        valid = (positions[None, :] < frames[:, None]).to(hidden.dtype)
        pooled = (hidden * valid.unsqueeze(-1)).sum(dim=1) / frames[:, None].to(hidden.dtype)
        return self.head(pooled).float()


def prepare_batch(
    waves: Sequence[np.ndarray], settings: FeatureSettings, *, max_samples: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Crop, normalise and pad waveforms the way the checkpoint expects.

    Args:
        waves: Mono float waveforms at ``settings.sampling_rate``.
        settings: The checkpoint's feature settings.
        max_samples: Centre-crop longer clips to this many samples.

    Returns:
        ``(input_values B × S float32, lengths B int64)``, on CPU.
    """
    clips = []
    for w in waves:
        x = np.asarray(w, dtype=np.float32)
        if max_samples is not None and x.shape[0] > max_samples:
            start = (x.shape[0] - max_samples) // 2
            x = x[start : start + max_samples]
        if settings.do_normalize:
            x64 = x.astype(np.float64)
            x = ((x64 - x64.mean()) / np.sqrt(x64.var() + 1e-7)).astype(np.float32)
        clips.append(x)
    lengths = np.array([c.shape[0] for c in clips], dtype=np.int64)
    batch = np.full((len(clips), int(lengths.max())), settings.padding_value, dtype=np.float32)
    for row, c in enumerate(clips):
        batch[row, : c.shape[0]] = c
    return torch.from_numpy(batch), torch.from_numpy(lengths)


def check_waves(waves: Sequence[np.ndarray], what: str, min_samples: int) -> None:
    if len(waves) == 0:
        raise InputError(f"{what}: no waveforms given")
    for i, w in enumerate(waves):
        w = np.asarray(w)
        if w.ndim != 1:
            raise InputError(f"{what}: waveform {i} has shape {w.shape}; expected mono (1-d)")
        if w.shape[0] < min_samples:
            raise InputError(
                f"{what}: waveform {i} has {w.shape[0]} samples; the model needs at least "
                f"{min_samples}"
            )


def min_input_samples(config: Wav2Vec2Config) -> int:
    """Shortest input that gives one output frame (400 samples = 25 ms for wav2vec2)."""
    n = 1
    for kernel, stride in reversed(list(zip(config.conv_kernel, config.conv_stride, strict=True))):
        n = (n - 1) * stride + kernel
    return n


def batched_logits(
    model: Wav2Vec2Classifier,
    waves: Sequence[np.ndarray],
    settings: FeatureSettings,
    *,
    batch_size: int,
    max_samples: int | None,
    device: torch.device,
    bf16: bool,
) -> np.ndarray:
    """Eval-mode logits in the order of ``waves``; similar lengths are batched together."""
    model.eval()
    order = np.argsort([len(w) for w in waves], kind="stable")
    out = np.zeros((len(waves), model.head[-1].out_features), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(waves), batch_size):
            idx = order[start : start + batch_size]
            x, lengths = prepare_batch([waves[i] for i in idx], settings, max_samples=max_samples)
            with autocast(device, enabled=bf16):
                logits = model(x.to(device), lengths.to(device))
            out[idx] = logits.float().cpu().numpy()
    return out
