"""``mmemo train bilstm`` and ``mmemo train finetune``: PyTorch models under subject-wise CV."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa

from mmemo.corpora.ravdess import EMOTION_CODES
from mmemo.errors import InputError
from mmemo.jobs.cv import CVData, load_cv
from mmemo.jobs.runs import RunInfo, RunSpec, execute_run
from mmemo.models.base import FoldResult
from mmemo.progress import NullProgress, Progress
from mmemo.scheduler import Slice
from mmemo.store.store import Store

if TYPE_CHECKING:
    from mmemo.models.bilstm import BiLSTMConfig

CLASSES = list(EMOTION_CODES)  # the models' class index i is emotion code i + 1


def train_bilstm_job(
    store: Store,
    *,
    name: str,
    features: str,
    scheme: str = "luna2022",
    clips: str | None = None,
    seed: int = 2020,
    device: str = "auto",
    early_stop_on: Literal["inner", "test"] = "inner",
    overrides: dict[str, Any] | None = None,
    folds: list[int] | Slice | None = None,
    inner: int | None = None,
    progress: Progress | None = None,
) -> RunInfo:
    """Train the bi-LSTM with attention on frame sequences (AU frames or frame embeddings).

    Early stopping selects on an actor-disjoint split of the training actors (``inner``) or,
    as the paper did, on the test fold (``test``); the run records which. ``folds`` (numbers,
    or a slice ``I/N`` of the scheme's folds) trains only those folds of a run that other
    processes complete (see :mod:`mmemo.jobs.shared_runs`). ``inner`` K adds out-of-fold
    scores of the training clips (split ``oof``) at the cost of K more trainings per fold.
    """
    from mmemo.features.loading import load_sequences
    from mmemo.models.bilstm import BiLSTMConfig, inner_split, predict_bilstm, train_bilstm
    from mmemo.models.torch_utils import resolve_device

    if early_stop_on not in ("inner", "test"):
        raise InputError(f"--early-stop-on {early_stop_on!r}: expected inner or test")
    progress = progress or NullProgress()
    cfg = BiLSTMConfig.from_dict({**(overrides or {}), "seed": seed, "device": device})
    cv = load_cv(store, scheme, clips)
    seqs, info = load_sequences(store, features, cv.clip_ids)
    y = cv.emotions - 1

    def fit(fold: int, train: np.ndarray, test: np.ndarray, part: int | None = None) -> FoldResult:
        train_seqs = [seqs[i] for i in train]
        test_seqs = [seqs[i] for i in test]
        if early_stop_on == "inner":
            fit_idx, val_idx = inner_split(cv.actors[train], y[train], seed=seed)
            fit_seqs = [train_seqs[i] for i in fit_idx]
            val_seqs = [train_seqs[i] for i in val_idx]
            fit_y, val_y = y[train][fit_idx], y[train][val_idx]
        else:
            fit_seqs, fit_y, val_seqs, val_y = train_seqs, y[train], test_seqs, y[test]
        label = f"fold {fold}" + (f", inner {part}" if part is not None else "")
        with progress.task(*_epochs_task(label, cfg)) as task:
            trained = train_bilstm(
                fit_seqs, fit_y, val_seqs, val_y, cfg, on_epoch=lambda *_: task.advance()
            )
        train_logits, train_attn = predict_bilstm(trained, train_seqs)
        test_logits, test_attn = predict_bilstm(trained, test_seqs)
        return FoldResult(
            classes=CLASSES,
            kind="logits",
            train_scores=train_logits,
            test_scores=test_logits,
            model=trained,
            extra={
                "attention": {"train": train_attn, "test": test_attn},
                "best_epoch": trained.best_epoch,
            },
        )

    def attention_rows(run_id: int, results: dict[int, FoldResult]) -> dict[str, pa.Table]:
        return {"attention": _attention_table(run_id, cv, results)}

    spec = RunSpec(
        name=name,
        kind="train",
        model="bilstm",
        params={
            **(overrides or {}),
            "early_stop_on": early_stop_on,
            "config": cfg.to_dict(),
            **({"inner": inner} if inner else {}),
        },
        inputs={"features": info},
        seed=seed,
        device=str(resolve_device(device)),
    )
    return execute_run(
        store,
        spec,
        cv,
        fit,
        folds=folds,
        progress=progress,
        resumable=True,
        extra_rows=attention_rows,
        inner=inner,
    )


def _epochs_task(label: str, cfg: BiLSTMConfig) -> tuple[str, int | None]:
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


def _attention_table(run_id: int, cv: CVData, results: dict[int, FoldResult]) -> pa.Table:
    clip, fold_col, split_col, frame, weight = [], [], [], [], []
    for fold, result in results.items():
        for split, mask in (("train", cv.folds != fold), ("test", cv.folds == fold)):
            for clip_id, attn in zip(
                cv.clip_ids[mask], result.extra["attention"][split], strict=True
            ):
                n = len(attn)
                clip += [clip_id] * n
                fold_col += [fold] * n
                split_col += [split] * n
                frame += list(range(n))
                weight.append(np.asarray(attn, np.float32))
    return pa.table(
        {
            "run_id": pa.array([run_id] * len(clip), pa.int32()),
            "fold": pa.array(fold_col, pa.int16()),
            "split": pa.array(split_col, pa.string()),
            "clip_id": pa.array(clip, pa.string()),
            "frame": pa.array(frame, pa.int32()),
            "weight": pa.array(np.concatenate(weight) if weight else [], pa.float32()),
        }
    )


def train_finetune_job(
    store: Store,
    model: str,
    *,
    name: str,
    scheme: str = "luna2022",
    clips: str | None = None,
    seed: int = 2020,
    device: str = "auto",
    overrides: dict[str, Any] | None = None,
    keep: Literal["last", "none"] = "last",
    folds: list[int] | Slice | None = None,
    inner: int | None = None,
    progress: Progress | None = None,
) -> RunInfo | None:
    """Fine-tune a wav2vec2 checkpoint with the paper's head, one model per fold.

    Finished folds are kept under ``models/.work`` until the run is stored, so re-running the
    same command after a crash resumes with the next fold. ``inner`` K adds out-of-fold
    scores of the training clips (split ``oof``) at the cost of K more fine-tunes per fold.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) every process trains with DistributedDataParallel;
    rank 0 alone scores the clips and writes to the store, and returns the run (others None).

    Raises:
        InputError: ``model`` is a missing folder or a hub id the hub cannot be asked about
            (:func:`~mmemo.features.checkpoints.resolve_checkpoint`), checked before any
            clip is read; bad options; clips without audio.
    """
    from mmemo.features.checkpoints import resolve_checkpoint

    if keep not in ("last", "none"):
        raise InputError(f"--keep {keep!r}: expected last or none")
    # a missing folder or unreachable hub: one line, before torch loads or a clip is decoded
    model = resolve_checkpoint(model)

    from mmemo.features.embed import audio_clips, decode_clips
    from mmemo.models.torch_utils import barrier, init_distributed_from_env, resolve_device
    from mmemo.models.wav2vec2_finetune import FinetuneConfig, finetune, predict_finetuned

    progress = progress or NullProgress()
    cfg = FinetuneConfig.from_dict({**(overrides or {}), "seed": seed, "device": device})
    _, rank, _ = init_distributed_from_env()
    if rank == 0:  # the first use of a scheme records it: one writer
        cv = load_cv(store, scheme, clips)
    barrier()
    if rank != 0:
        cv = load_cv(store, scheme, clips)
    audio = {r[0]: r for r in audio_clips(store, clips)[0]}
    missing = [c for c in cv.clip_ids.tolist() if c not in audio]
    if missing:
        raise InputError(f"{len(missing)} selected clip(s) have no audio, e.g. {missing[0]}")
    waves_by_clip = {}
    with (
        tempfile.TemporaryDirectory(prefix="mmemo-finetune-") as tmp,
        progress.task("decoding audio", len(cv.clip_ids)) as task,
    ):
        for clip_id, wave in decode_clips([audio[c] for c in cv.clip_ids.tolist()], Path(tmp)):
            waves_by_clip[clip_id] = wave
            task.advance()
    waves = [waves_by_clip[c] for c in cv.clip_ids.tolist()]
    y = cv.emotions - 1
    cfg_dict = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(cfg).items()}
    spec = RunSpec(
        name=name,
        kind="train",
        model="wav2vec2-finetune",
        params={
            **(overrides or {}),
            "keep": keep,
            "config": cfg_dict,
            **({"inner": inner} if inner else {}),
        },
        inputs={"model": model, "audio": "16 kHz mono"},
        seed=seed,
        device=str(resolve_device(device)),
    )
    work = spec.work_dir(store.paths.models, cv)

    def fit(fold: int, train: np.ndarray, test: np.ndarray, part: int | None = None) -> FoldResult:
        steps = cfg.epochs * -(-len(train) // cfg.batch_size)
        key = f"fold-{fold}" + (f"-inner-{part}" if part is not None else "")
        with progress.task(f"{key.replace('-', ' ')}: steps", steps) as task:
            trained = finetune(
                model,
                [waves[i] for i in train],
                y[train],
                cfg=cfg,
                on_step=lambda *_: task.advance(),
                checkpoint=work / f"{key}.ckpt",
            )
        if rank != 0:  # other ranks only help train; rank 0 scores and stores
            empty = np.empty((0, len(CLASSES)))
            return FoldResult(CLASSES, "logits", empty, empty, None)
        train_logits = predict_finetuned(trained, [waves[i] for i in train])
        test_logits = predict_finetuned(trained, [waves[i] for i in test])
        return FoldResult(
            classes=CLASSES,
            kind="logits",
            train_scores=train_logits,
            test_scores=test_logits,
            model=trained if keep == "last" else None,
            extra={"history": getattr(trained, "history", None)},
        )

    info = execute_run(
        store,
        spec,
        cv,
        fit,
        folds=folds,
        progress=progress,
        resumable=True,
        write=rank == 0,
        inner=inner,
    )
    barrier()
    return info
