"""``mmemo train bilstm`` and ``mmemo train finetune``: PyTorch models under subject-wise CV."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from mmemo.errors import InputError
from mmemo.jobs.cv import CVData, load_cv
from mmemo.jobs.fold_training import fold_label
from mmemo.jobs.runs import Execution, RunInfo, RunSpec, execute_run
from mmemo.jobs.specs import BiLSTMSpec, FinetuneSpec
from mmemo.models.base import FoldData, FoldResult
from mmemo.progress import NullProgress, Progress
from mmemo.scheduler import Slice
from mmemo.store.store import Store


def train_bilstm_job(
    store: Store,
    spec: BiLSTMSpec,
    *,
    folds: list[int] | Slice | None = None,
    progress: Progress | None = None,
) -> RunInfo:
    """Train the bi-LSTM with attention on frame sequences (AU frames or frame embeddings).

    Early stopping selects on an actor-disjoint split of the training actors (``inner``) or,
    as the paper did, on the test fold (``test``); the run records which. ``folds`` (numbers,
    or a slice ``I/N`` of the scheme's folds) trains only those folds of a run that other
    processes complete (see :mod:`mmemo.jobs.shared_runs`). ``spec.inner`` K adds
    out-of-fold scores of the training clips (split ``oof``) at the cost of K more trainings
    per fold.
    """
    from mmemo.features.loading import load_sequences
    from mmemo.models.bilstm import BiLSTMConfig
    from mmemo.models.registry import get_kind

    if spec.early_stop_on not in ("inner", "test"):
        raise InputError(f"--early-stop-on {spec.early_stop_on!r}: expected inner or test")
    progress = progress or NullProgress()
    seed = spec.seed
    cfg = BiLSTMConfig.from_dict({**spec.params, "seed": seed, "device": spec.device})
    cv = load_cv(store, spec.scheme, spec.clips, spec.labels)
    options = with_class_count(spec.params, cv)
    cfg = replace(cfg, n_classes=options["n_classes"])
    seqs, info = load_sequences(store, spec.features, cv.clip_ids)
    kind = get_kind("bilstm")
    params = {**options, "device": spec.device, "early_stop_on": spec.early_stop_on}

    fit = _kind_fit(kind, params, seed, cv, seqs, progress)

    def attention_rows(run_id: int, results: dict[int, FoldResult]) -> dict[str, pa.Table]:
        return {"attention": _attention_table(run_id, cv, results)}

    run = _deep_run(
        spec,
        "bilstm",
        {"early_stop_on": spec.early_stop_on, "config": cfg.to_dict()},
        {"features": info},
    )
    how = Execution(resumable=True, extra_rows=attention_rows, inner=spec.inner)
    return execute_run(store, run, cv, fit, folds=folds, progress=progress, how=how)


def _kind_fit(
    kind: Any,
    params: dict[str, Any],
    seed: int,
    cv: CVData,
    inputs: list[Any],
    progress: Progress,
    *,
    checkpoints: Path | None = None,
) -> Callable[..., FoldResult]:
    """The function that trains one fold (or an inner fit of ``--inner``) through ``kind``:
    the fold's rows of ``inputs`` (one per clip of ``cv``), their labels, the training
    speakers (for an inner validation split) and, with ``checkpoints``, a file per fit that
    a long fit keeps its state in and resumes from."""

    def fit(fold: int, train: np.ndarray, test: np.ndarray, part: int | None = None) -> FoldResult:
        key = f"fold-{fold}" + (f"-inner-{part}" if part is not None else "")
        data = FoldData(
            X_train=[inputs[i] for i in train],
            y_train=cv.emotions[train],
            X_test=[inputs[i] for i in test],
            y_test=cv.emotions[test],
            groups_train=cv.actors[train],
            label=fold_label(fold, part),
            checkpoint=checkpoints / f"{key}.ckpt" if checkpoints is not None else None,
            progress=progress,
        )
        return kind.fit(params, data, seed=seed)

    return fit


def _deep_run(
    spec: BiLSTMSpec | FinetuneSpec, model: str, recorded: dict[str, Any], inputs: dict[str, Any]
) -> RunSpec:
    """The run a deep spec makes: its params overrides, then what the job ``recorded`` (the
    whole config among them) and ``inner`` where set, on the device it resolves to."""
    from mmemo.models.torch_utils import resolve_device  # imports torch

    return RunSpec(
        name=spec.name,
        kind="train",
        model=model,
        params={**spec.params, **recorded, **({"inner": spec.inner} if spec.inner else {})},
        inputs=inputs,
        seed=spec.seed,
        device=str(resolve_device(spec.device)),
    )


def with_class_count(params: dict[str, Any], cv: CVData) -> dict[str, Any]:
    """``params`` with ``n_classes``, where they do not give it, the number of classes of the
    selected clips: a deep kind has one output per class of its training labels
    (:func:`mmemo.models.classes.output_classes`), and every fold trains on every selected
    class (:func:`~mmemo.jobs.fold_training.check_folds`); RAVDESS's speech gives the
    configs' default, 8."""
    return {"n_classes": len(np.unique(cv.emotions)), **params}


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
    spec: FinetuneSpec,
    *,
    folds: list[int] | Slice | None = None,
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

    if spec.keep not in ("last", "none"):
        raise InputError(f"--keep {spec.keep!r}: expected last or none")
    # a missing folder or unreachable hub: one line, before torch loads or a clip is decoded
    model = resolve_checkpoint(spec.model)
    seed, scheme, clips = spec.seed, spec.scheme, spec.clips

    from mmemo.features.embed import audio_clips, decode_clips
    from mmemo.models.registry import get_kind
    from mmemo.models.torch_utils import barrier, init_distributed_from_env
    from mmemo.models.wav2vec2_finetune import FinetuneConfig

    progress = progress or NullProgress()
    cfg = FinetuneConfig.from_dict({**spec.params, "seed": seed, "device": spec.device})
    _, rank, _ = init_distributed_from_env()
    if rank == 0:  # the first use of a scheme records it: one writer
        cv = load_cv(store, scheme, clips, spec.labels)
    barrier()
    if rank != 0:
        cv = load_cv(store, scheme, clips, spec.labels)
    options = with_class_count(spec.params, cv)
    cfg = replace(cfg, n_classes=options["n_classes"])
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
    cfg_dict = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(cfg).items()}
    run = _deep_run(
        spec,
        "wav2vec2-finetune",
        {"keep": spec.keep, "config": cfg_dict},
        {"model": model, "audio": "16 kHz mono"},
    )
    work = run.work_dir(store.paths.models, cv)
    kind = get_kind("wav2vec2-finetune")
    params = {**options, "model": model, "device": spec.device, "keep": spec.keep}

    fit = _kind_fit(kind, params, seed, cv, waves, progress, checkpoints=work)

    how = Execution(resumable=True, write=rank == 0, inner=spec.inner)
    info = execute_run(store, run, cv, fit, folds=folds, progress=progress, how=how)
    barrier()
    return info
