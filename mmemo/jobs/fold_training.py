"""Training one model per fold, the part every run kind shares: the folds' train and test
indices, a checkpoint of each finished fold so that an interrupted long job resumes with the
next one, the fold models' files (with their sha256) and the posterior rows of every fold."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from mmemo.errors import InputError
from mmemo.hashing import sha256_tree
from mmemo.jobs.cv import CVData
from mmemo.models.base import FoldResult
from mmemo.progress import Progress

#: Trains on one fold: (fold, train row indices, test row indices) -> FoldResult; called with
#: ``part=j`` for the j-th inner fit of ``--inner K`` (a fit that keeps files per fold must
#: keep an inner fit's apart).
FitFold = Callable[..., FoldResult]


def fold_label(fold: int, part: int | None = None) -> str:
    """A fold as progress shows it: ``fold 3``, or ``fold 3, inner 1`` for an inner fit."""
    return f"fold {fold}" + (f", inner {part}" if part is not None else "")


def check_folds(cv: CVData, fold_ids: list[int]) -> None:
    """Refuse folds without test clips, and a fold whose test part holds a class its
    training part lacks (the model could never predict it), naming the class by the
    dataset's record (``cv.vocabulary``).

    Raises:
        InputError: the first such fold.
    """
    unknown = sorted(set(fold_ids) - set(cv.fold_ids))
    if unknown:
        raise InputError(
            f"fold(s) {unknown} have no test clips under '{cv.scheme}' for --clips {cv.clips!r}; "
            f"folds with clips: {cv.fold_ids}"
        )
    for fold in fold_ids:
        train = set(cv.emotions[cv.folds != fold].tolist())
        test = set(cv.emotions[cv.folds == fold].tolist())
        absent = sorted(test - train)
        if absent:
            labels = ", ".join(cv.vocabulary.label_of(c) for c in absent)
            raise InputError(
                f"fold {fold} of '{cv.scheme}': class {labels} is in its test part but absent "
                "from its training part"
            )


def train_folds(
    cv: CVData,
    fold_ids: list[int],
    fit_fold: FitFold,
    progress: Progress,
    work_dir: Path | None = None,
    *,
    keep: bool = True,
    inner: int | None = None,
    seed: int = 0,
) -> tuple[dict[int, FoldResult], list[float]]:
    """Train each fold; with ``work_dir``, keep each finished fold there and reuse it, so a
    job interrupted after some folds resumes with the next one. With ``inner`` K, each fold
    also trains K models on actor-disjoint inner folds of its training clips, for the
    out-of-fold scores of every training clip (``extra["oof"]``, see :func:`inner_splits`)."""
    results: dict[int, FoldResult] = {}
    seconds: list[float] = []
    with progress.task("training folds", len(fold_ids)) as task:
        for fold in fold_ids:
            done = work_dir / f"fold-{fold}.joblib" if work_dir is not None else None
            if done is not None and done.is_file():
                results[fold], spent = _load_fold(done)
            else:
                t0 = time.perf_counter()
                train = np.flatnonzero(cv.folds != fold)
                test = np.flatnonzero(cv.folds == fold)
                results[fold] = fit_fold(fold, train, test)
                if inner:
                    results[fold] = with_oof(cv, fold, train, results[fold], fit_fold, inner, seed)
                spent = time.perf_counter() - t0
                if done is not None and keep:
                    _keep_fold(done, results[fold], spent)
            seconds.append(spent)
            task.advance()
    return results, seconds


def inner_splits(
    cv: CVData, fold: int, train: np.ndarray, k: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """K actor-disjoint inner folds over the training rows ``train`` of outer fold ``fold``:
    (fit rows, held-out rows) per inner fold, as row indices of ``cv``; every training clip is
    held out exactly once, and each inner fold's classes are balanced as whole actors allow
    (:meth:`CVData.split`). The draw is seeded by ``seed`` and the outer fold, so each outer
    fold gets its own and a re-run the same.

    Raises:
        InputError: K below 2 or above the number of training actors.
    """
    n = len(np.unique(cv.actors[train]))
    if not 2 <= k <= n:
        raise InputError(
            f"--inner {k}: fold {fold} of '{cv.scheme}' has {n} training actor"
            f"{'s' if n != 1 else ''}; K must be at least 2 and at most that"
        )
    return cv.split(train, k=k, seed=(seed, fold))


def with_oof(
    cv: CVData,
    fold: int,
    train: np.ndarray,
    outer: FoldResult,
    fit_fold: FitFold,
    k: int,
    seed: int,
) -> FoldResult:
    """``outer`` with the out-of-fold scores of its training clips (``extra["oof"]``, rows in
    the order of ``train``): each from the inner model that did not see the clip's actor."""
    position = {int(row): i for i, row in enumerate(train)}
    oof = np.full((len(train), len(outer.classes)), np.nan)
    for j, (fit_rows, held) in enumerate(inner_splits(cv, fold, train, k, seed)):
        result = fit_fold(fold, fit_rows, held, part=j)
        if list(result.classes) != list(outer.classes) or result.kind != outer.kind:
            raise InputError(
                f"fold {fold}, inner fold {j}: the model saw classes {list(result.classes)}, the "
                f"fold's model {list(outer.classes)}; --inner needs every class in every inner "
                "training part"
            )
        scores = np.asarray(result.test_scores)
        if len(held) and not len(scores):
            continue  # a helper rank of a distributed fine-tune: rank 0 keeps the scores
        oof[[position[int(row)] for row in held]] = scores
    return replace(outer, extra={**outer.extra, "oof": oof})


def _keep_fold(done: Path, result: FoldResult, spent: float) -> None:
    """Keep a finished fold: torch models through their own ``save`` (they do not pickle),
    everything else with joblib; the marker file is written last."""
    import joblib

    done.parent.mkdir(parents=True, exist_ok=True)
    model, loader = result.model, None
    if callable(getattr(model, "save", None)):
        model.save(done.with_suffix(".model"))
        loader = f"{type(model).__module__}:{type(model).__qualname__}"
        model = None
    payload = (replace(result, model=model), spent, loader)
    joblib.dump(payload, done.with_suffix(".tmp"))
    done.with_suffix(".tmp").replace(done)


def _load_fold(done: Path) -> tuple[FoldResult, float]:
    import importlib

    import joblib

    result, spent, loader = joblib.load(done)
    if loader is not None:
        module, _, name = loader.partition(":")
        cls = getattr(importlib.import_module(module), name)
        result = replace(result, model=cls.load(done.with_suffix(".model")))
    return result, spent


def save_artefacts(model_dir: Path, root: Path, results: dict[int, FoldResult]) -> list[dict]:
    """Write each fold's model under ``model_dir``; return their paths and sha256."""
    import joblib

    model_dir.mkdir(parents=True, exist_ok=True)
    artefacts = []
    for fold, result in results.items():
        if result.model is None:  # the job was asked not to keep models
            continue
        save = getattr(result.model, "save", None)
        if callable(save):  # torch models write their own checkpoint (file or folder)
            path = model_dir / f"fold-{fold}.pt"
            save(path)
        else:
            path = model_dir / f"fold-{fold}.joblib"
            joblib.dump(result.model, path)
        digest = sha256_tree(path)
        artefacts.append({"fold": fold, "path": str(path.relative_to(root)), "sha256": digest})
    return artefacts


def posteriors(run_id: int, cv: CVData, results: dict[int, FoldResult]) -> pa.Table:
    """Posterior rows of every fold: the test rows of all folds first, then the train rows
    (and the out-of-fold ``oof`` rows of ``--inner``), so that the parquet row groups that
    test-only queries (reports, analysis) read hold test rows only (measured at 100k clips ×
    20 runs: the report 1.1 s -> 0.8 s)."""
    parts = []
    for split in ("test", "train", "oof"):
        for fold, result in results.items():
            if split == "oof" and result.extra.get("oof") is None:
                continue
            ids = cv.part(fold, split)
            if not len(ids):  # scores of given parts: a fusion of test-only runs
                continue
            scores = {
                "test": result.test_scores,
                "train": result.train_scores,
                "oof": result.extra.get("oof"),
            }[split]
            scores = np.asarray(scores, dtype=np.float64)
            if scores.shape[0] != len(ids):
                raise InputError(
                    f"fold {fold}: the model returned {scores.shape[0]} {split} rows for "
                    f"{len(ids)} clips"
                )
            parts.append(posterior_table(run_id, fold, split, ids, scores))
    return pa.concat_tables(parts)


def posterior_table(
    run_id: int,
    fold: int | Sequence[int],
    split: str | Sequence[str],
    clip_ids: Sequence[str],
    scores: Sequence[Sequence[float]] | np.ndarray,
) -> pa.Table:
    """Rows of ``lake.posteriors``; ``fold`` and ``split`` are one value or one per clip."""
    n = len(clip_ids)
    folds = [int(fold)] * n if np.ndim(fold) == 0 else list(fold)
    splits = [split] * n if isinstance(split, str) else list(split)
    return pa.table(
        {
            "run_id": pa.array([run_id] * n, pa.int32()),
            "fold": pa.array(folds, pa.int16()),
            "split": pa.array(splits, pa.string()),
            "clip_id": pa.array(list(clip_ids), pa.string()),
            "scores": pa.array(list(np.asarray(scores, np.float64)), pa.list_(pa.float64())),
        }
    )
