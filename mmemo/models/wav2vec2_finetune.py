"""Fine-tuned xlsr-Wav2Vec2.0 speech emotion classifier (the paper's best audio model).

Luna-Jiménez et al. (2022), Sections 3.2.2 and 4.1: the pre-trained wav2vec2 model, a global
average pooling over the transformer's output, and an MLP of 1024 tanh units and 8 outputs; the
conv feature encoder stays frozen and everything else is trained; cross-entropy; AdamW with
learning rate 1e-3, betas (0.9, 0.999), epsilon 1e-6; batches of 100; 10 epochs.

Choices the paper leaves open, recorded in :class:`FinetuneConfig`:

* The paper used the Hugging Face ``Trainer`` "with its default optimizer"; the Trainer's
  defaults that go with it are no weight decay, gradient-norm clipping at 1 and a linear decay
  of the learning rate to 0 without warm-up, and these are the defaults here too.
* Pooling averages only the frames that belong to the clip (frame counts from the model's own
  ``_get_feat_extract_output_lengths``), so a clip's output does not depend on how much padding
  its batch adds. The authors' code averaged over all frames, padding included.
* The authors' published script differs from the paper's text (learning rate 1e-4, batches of
  8, fp16, best checkpoint chosen on the test fold). The paper's text is followed here; set the
  fields to reproduce the script instead.

Inputs follow the checkpoint's feature extractor (``preprocessor_config.json``): with
``do_normalize`` each clip is scaled to zero mean and unit variance over its own samples; the
batch is padded with ``padding_value``; an attention mask is passed to the model only when
``return_attention_mask`` is set (layer-norm checkpoints such as XLSR). Group-norm checkpoints
(wav2vec2-base) get zero padding and no mask, as they were trained.

Distributed training: when ``torch.distributed`` is initialised (for example under
``torchrun``), :func:`finetune` wraps the model in ``DistributedDataParallel``, shards every
epoch with a ``DistributedSampler``, and only rank 0 calls ``on_step``, evaluates and writes
files. The model never touches the store; the job layer stores what it returns.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mmemo.errors import InputError, MissingDependencyError
from mmemo.models.base import check_config_keys
from mmemo.models.torch_utils import (
    autocast,
    dist_info,
    require_torch,
    resolve_device,
    seed_everything,
)

torch = require_torch()
from torch import nn  # noqa: E402

try:
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model
except ImportError as exc:  # pragma: no cover - transformers is installed where tests run
    raise MissingDependencyError("transformers", "ml") from exc

__all__ = [
    "FeatureSettings",
    "FinetuneConfig",
    "TrainedClassifier",
    "Wav2Vec2Classifier",
    "finetune",
    "predict_finetuned",
    "prepare_batch",
]

logger = logging.getLogger(__name__)

StepCallback = Callable[[int, dict[str, float]], None]

_HEAD_FILE = "head.safetensors"
_META_FILE = "mmemo_finetune.json"
_BACKBONE_DIR = "backbone"
_FORMAT = "mmemo.wav2vec2_finetune/1"


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
        n_classes: Output classes (8 RAVDESS emotions).
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
        n_classes: int = 8,
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
        n_classes: int = 8,
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
        """
        backbone = Wav2Vec2Model.from_pretrained(
            str(id_or_path), dtype=torch.float32, **(backbone_overrides or {})
        )
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


@dataclass
class TrainedClassifier:
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

    @property
    def device(self) -> torch.device:
        """The device the model's weights are on."""
        return next(self.model.parameters()).device

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
    def load(cls, path: str | Path, *, device: str | None = None) -> TrainedClassifier:
        """Read a folder written by :meth:`save`.

        Args:
            path: The folder.
            device: Where to put the model; None uses the saved config's device.

        Returns:
            The classifier, in eval mode.

        Raises:
            InputError: The folder is not an mmemo fine-tuned checkpoint.
        """
        from safetensors.torch import load_file

        path = Path(path)
        meta_path = path / _META_FILE
        if not meta_path.is_file():
            raise InputError(f"'{path}' is not an mmemo fine-tuned checkpoint (no {_META_FILE})")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != _FORMAT:
            raise InputError(f"'{path}' has format {meta.get('format')!r}; expected {_FORMAT}")
        cfg = FinetuneConfig.from_dict(meta["config"])
        model = Wav2Vec2Classifier.from_pretrained(
            path / _BACKBONE_DIR,
            n_classes=cfg.n_classes,
            head_hidden=cfg.head_hidden,
            head_dropout=cfg.head_dropout,
            use_attention_mask=bool(meta["use_attention_mask"]),
            freeze_feature_encoder=cfg.freeze_feature_encoder,
        )
        model.head.load_state_dict(load_file(str(path / _HEAD_FILE)))
        model.to(resolve_device(device or cfg.device)).eval()
        return cls(
            model=model,
            config=cfg,
            features=FeatureSettings(**meta["features"]),
            history=list(meta["history"]),
            source=str(meta.get("source", "")),
        )


def _check_waves(waves: Sequence[np.ndarray], what: str, min_samples: int) -> None:
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


def _min_samples(config: Wav2Vec2Config) -> int:
    """Shortest input that gives one output frame (400 samples = 25 ms for wav2vec2)."""
    n = 1
    for kernel, stride in reversed(list(zip(config.conv_kernel, config.conv_stride, strict=True))):
        n = (n - 1) * stride + kernel
    return n


def _logits(
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


def _lr_lambda(cfg: FinetuneConfig, total_steps: int) -> Callable[[int], float]:
    warmup = int(math.ceil(cfg.warmup_ratio * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if cfg.lr_schedule == "constant":
            return 1.0
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


def finetune(
    model_path: str | Path,
    train_waves: Sequence[np.ndarray],
    y_train: np.ndarray,
    *,
    cfg: FinetuneConfig | None = None,
    eval_waves: Sequence[np.ndarray] | None = None,
    y_eval: np.ndarray | None = None,
    on_step: StepCallback | None = None,
    checkpoint: str | Path | None = None,
) -> TrainedClassifier:
    """Fine-tune a wav2vec2 checkpoint with the paper's head on labelled clips.

    With ``checkpoint``, the full training state (weights, optimizer, scheduler, history and
    random generators) is written there after every epoch, and a call that finds the file
    continues after its last epoch: an interrupted job resumes where it stopped.

    Args:
        model_path: Hub id or local folder of the pre-trained wav2vec2 checkpoint.
        train_waves: Mono 16 kHz float32 waveforms.
        y_train: Their class indices ``0..n_classes-1``.
        cfg: Hyper-parameters; None means the paper's.
        eval_waves: Clips scored after every epoch (rank 0 only); their final logits are
            returned in ``eval_logits``.
        y_eval: Labels of ``eval_waves``; with them, the history gets evaluation loss,
            accuracy and macro-F1. They are reported only: no model selection happens here.
        on_step: Called on rank 0 after every optimizer step with the global step (1-based)
            and ``{"epoch", "loss", "lr"}``.

    Returns:
        The fine-tuned classifier (weights after the last epoch).

    Raises:
        InputError: Empty or non-mono inputs, clips shorter than one frame, labels out of range,
            or invalid batch settings.
    """
    cfg = cfg or FinetuneConfig()
    if cfg.batch_size < 1 or cfg.gradient_accumulation < 1 or cfg.epochs < 1:
        raise InputError("batch_size, gradient_accumulation and epochs must be at least 1")
    if cfg.lr_schedule not in ("linear", "constant"):
        raise InputError(f"unknown lr_schedule '{cfg.lr_schedule}'; expected linear or constant")
    y_tr = _labels(y_train, len(train_waves), cfg.n_classes, "training labels")
    y_ev = None
    if y_eval is not None:
        if eval_waves is None:
            raise InputError("evaluation labels given without evaluation clips")
        y_ev = _labels(y_eval, len(eval_waves), cfg.n_classes, "evaluation labels")

    distributed, rank, world = dist_info()
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed, device=device)
    model = Wav2Vec2Classifier.from_pretrained(
        model_path,
        n_classes=cfg.n_classes,
        head_hidden=cfg.head_hidden,
        head_dropout=cfg.head_dropout,
        freeze_feature_encoder=cfg.freeze_feature_encoder,
        backbone_overrides=cfg.backbone_overrides,
    )
    settings = FeatureSettings.from_pretrained(model_path, model.backbone.config)
    min_samples = _min_samples(model.backbone.config)
    _check_waves(train_waves, "training clips", min_samples)
    if eval_waves is not None:
        _check_waves(eval_waves, "evaluation clips", min_samples)
    max_samples = None
    if cfg.max_seconds is not None:
        max_samples = max(int(round(cfg.max_seconds * settings.sampling_rate)), min_samples)
    if cfg.gradient_checkpointing:
        model.backbone.gradient_checkpointing_enable()
    model.to(device)

    wrapped: nn.Module = model
    if distributed:
        from torch.nn.parallel import DistributedDataParallel

        wrapped = DistributedDataParallel(
            model,
            device_ids=[device.index] if device.type == "cuda" else None,
            # LayerDrop skips whole layers at random: their parameters get no gradient.
            find_unused_parameters=float(getattr(model.backbone.config, "layerdrop", 0.0)) > 0,
        )

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        trainable, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay
    )
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(
        range(len(train_waves)), num_replicas=world, rank=rank, shuffle=True, seed=cfg.seed
    )
    per_rank_batch = max(1, math.ceil(cfg.batch_size / world))
    micro = max(1, math.ceil(per_rank_batch / cfg.gradient_accumulation))
    steps_per_epoch = math.ceil(len(sampler) / per_rank_batch)
    total_steps = steps_per_epoch * cfg.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(cfg, total_steps))
    criterion = nn.CrossEntropyLoss(reduction="sum")

    history: list[dict[str, float]] = []
    eval_logits: np.ndarray | None = None
    step = 0
    first_epoch = 1
    if checkpoint is not None and Path(checkpoint).is_file():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history, step, first_epoch = state["history"], state["step"], state["epoch"] + 1
        _set_rng_state(state["rng"])
        logger.info("resuming fine-tuning after epoch %d from %s", state["epoch"], checkpoint)
    for epoch in range(first_epoch, cfg.epochs + 1):
        sampler.set_epoch(epoch)
        indices = np.fromiter(iter(sampler), dtype=np.int64)
        wrapped.train()
        epoch_loss = 0.0
        for start in range(0, len(indices), per_rank_batch):
            batch = indices[start : start + per_rank_batch]
            optimizer.zero_grad(set_to_none=True)
            batch_loss = 0.0
            chunks = [batch[i : i + micro] for i in range(0, len(batch), micro)]
            for k, chunk in enumerate(chunks):
                x, lengths = prepare_batch(
                    [train_waves[i] for i in chunk], settings, max_samples=max_samples
                )
                target = torch.from_numpy(y_tr[chunk]).to(device)
                sync = contextlib.nullcontext()
                if distributed and k < len(chunks) - 1:
                    sync = wrapped.no_sync()  # type: ignore[operator]
                with sync:
                    with autocast(device, enabled=cfg.bf16):
                        logits = wrapped(x.to(device), lengths.to(device))
                    loss = criterion(logits.float(), target) / len(batch)
                    loss.backward()
                batch_loss += float(loss.detach())
            if cfg.max_grad_norm is not None:
                nn.utils.clip_grad_norm_(trainable, cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            step += 1
            epoch_loss += batch_loss * len(batch)
            if on_step is not None and rank == 0:
                on_step(
                    step,
                    {"epoch": float(epoch), "loss": batch_loss, "lr": scheduler.get_last_lr()[0]},
                )
        record: dict[str, float] = {"epoch": float(epoch), "loss": epoch_loss / len(indices)}
        if eval_waves is not None and rank == 0:
            eval_logits = _logits(
                model,
                eval_waves,
                settings,
                batch_size=cfg.eval_batch_size,
                max_samples=max_samples,
                device=device,
                bf16=cfg.bf16,
            )
            if y_ev is not None:
                record.update(_scores(eval_logits, y_ev))
        history.append(record)
        logger.debug("fine-tuning epoch %d: %s", epoch, record)
        if checkpoint is not None and rank == 0:
            _save_training_state(
                Path(checkpoint), model, optimizer, scheduler, history, step, epoch
            )

    model.eval()
    return TrainedClassifier(
        model=model,
        config=cfg,
        features=settings,
        history=history,
        eval_logits=eval_logits,
        source=str(model_path),
    )


def _save_training_state(path: Path, model, optimizer, scheduler, history, step, epoch) -> None:
    """Write the training state after ``epoch`` atomically (a crash never leaves half a file)."""
    import random

    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "history": history,
        "step": step,
        "epoch": epoch,
        "rng": {
            "torch": torch.get_rng_state(),
            "numpy": np.random.get_state(),
            "python": random.getstate(),
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def _set_rng_state(rng: dict) -> None:
    import random

    torch.set_rng_state(rng["torch"])
    np.random.set_state(rng["numpy"])
    random.setstate(rng["python"])


def _labels(y: np.ndarray, n: int, n_classes: int, what: str) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise InputError(f"{what}: {y.size} labels for {n} clips")
    if not np.issubdtype(y.dtype, np.integer):
        raise InputError(f"{what}: labels must be class indices (integers), got {y.dtype}")
    if n and (y.min() < 0 or y.max() >= n_classes):
        raise InputError(f"{what}: labels must lie in 0..{n_classes - 1}")
    return y.astype(np.int64)


def _scores(logits: np.ndarray, y: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score

    pred = logits.argmax(axis=1)
    t = torch.from_numpy(logits)
    loss = float(nn.functional.cross_entropy(t, torch.from_numpy(y)))
    return {
        "eval_loss": loss,
        "eval_accuracy": float((pred == y).mean()),
        "eval_macro_f1": float(f1_score(y, pred, average="macro", zero_division=0)),
    }


def predict_finetuned(
    trained: TrainedClassifier, waves: Sequence[np.ndarray], *, batch_size: int = 8
) -> np.ndarray:
    """Score clips with a fine-tuned classifier.

    Args:
        trained: From :func:`finetune` or :meth:`TrainedClassifier.load`.
        waves: Mono 16 kHz float32 waveforms.
        batch_size: Clips per forward pass. With an attention-mask checkpoint the results do not
            depend on it (up to float rounding).

    Returns:
        Raw logits ``n × n_classes`` (float32, not soft-maxed) in the order of ``waves``.

    Raises:
        InputError: Empty or non-mono inputs, or clips shorter than one frame.
    """
    cfg = trained.config
    min_samples = _min_samples(trained.model.backbone.config)
    _check_waves(waves, "clips", min_samples)
    max_samples = None
    if cfg.max_seconds is not None:
        max_samples = max(int(round(cfg.max_seconds * trained.features.sampling_rate)), min_samples)
    return _logits(
        trained.model,
        waves,
        trained.features,
        batch_size=max(1, batch_size),
        max_samples=max_samples,
        device=trained.device,
        bf16=cfg.bf16,
    )
