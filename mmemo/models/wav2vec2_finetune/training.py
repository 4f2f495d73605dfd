"""The fine-tuning loop (AdamW, transformers' learning-rate schedule, optional DDP, resumable
training state) and prediction with a fine-tuned classifier."""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from mmemo.errors import InputError
from mmemo.models.torch_utils import (
    autocast,
    class_indices,
    dist_info,
    require_torch,
    resolve_device,
    seed_everything,
)
from mmemo.models.wav2vec2_finetune.checkpoint import TrainedClassifier, build_classifier
from mmemo.models.wav2vec2_finetune.config import FinetuneConfig
from mmemo.models.wav2vec2_finetune.modules import (
    FeatureSettings,
    batched_logits,
    check_waves,
    min_input_samples,
    prepare_batch,
)

torch = require_torch()
from torch import nn  # noqa: E402

logger = logging.getLogger(__name__)

StepCallback = Callable[[int, dict[str, float]], None]


def lr_scheduler(optimizer, cfg: FinetuneConfig, total_steps: int):
    """transformers' learning-rate schedule of the Hugging Face Trainer, stepped once per
    optimizer step: ``ceil(warmup_ratio * total_steps)`` linear warm-up steps from 0, then a
    linear decay to 0 at ``total_steps`` (``"linear"``) or the peak rate (``"constant"``).

    Raises:
        InputError: an unknown ``lr_schedule``.
    """
    from transformers import get_scheduler

    if cfg.lr_schedule not in ("linear", "constant"):
        raise InputError(f"unknown lr_schedule '{cfg.lr_schedule}'; expected linear or constant")
    name = "linear" if cfg.lr_schedule == "linear" else "constant_with_warmup"
    warmup = int(math.ceil(cfg.warmup_ratio * total_steps))
    return get_scheduler(name, optimizer, num_warmup_steps=warmup, num_training_steps=total_steps)


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
    y_tr = class_indices(y_train, len(train_waves), cfg.n_classes, "training labels", "clips")
    y_ev = None
    if y_eval is not None:
        if eval_waves is None:
            raise InputError("evaluation labels given without evaluation clips")
        y_ev = class_indices(y_eval, len(eval_waves), cfg.n_classes, "evaluation labels", "clips")

    distributed, rank, world = dist_info()
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed, device=device)
    model = build_classifier(model_path, cfg, backbone_overrides=cfg.backbone_overrides)
    settings = FeatureSettings.from_pretrained(model_path, model.backbone.config)
    min_samples = min_input_samples(model.backbone.config)
    check_waves(train_waves, "training clips", min_samples)
    if eval_waves is not None:
        check_waves(eval_waves, "evaluation clips", min_samples)
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
    scheduler = lr_scheduler(optimizer, cfg, total_steps)
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
            eval_logits = batched_logits(
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
    min_samples = min_input_samples(trained.model.backbone.config)
    check_waves(waves, "clips", min_samples)
    max_samples = None
    if cfg.max_seconds is not None:
        max_samples = max(int(round(cfg.max_seconds * trained.features.sampling_rate)), min_samples)
    return batched_logits(
        trained.model,
        waves,
        trained.features,
        batch_size=max(1, batch_size),
        max_samples=max_samples,
        device=trained.device,
        bf16=cfg.bf16,
    )
