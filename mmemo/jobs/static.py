"""``mmemo train static``: scikit-learn models on per-clip vectors under subject-wise CV."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from mmemo.errors import InputError
from mmemo.features.loading import resolve_feature_ref
from mmemo.jobs.cv import CVData, load_cv
from mmemo.jobs.fold_training import check_folds, with_oof
from mmemo.jobs.probes import is_glob, match_feature_sets, probe_run_names
from mmemo.jobs.runs import (
    RunInfo,
    RunSpec,
    check_run_name,
    execute_run,
    store_run,
    stored_runs,
)
from mmemo.jobs.shared_runs import spec_identity
from mmemo.jobs.specs import StaticSpec
from mmemo.models.base import FoldData, FoldResult
from mmemo.progress import NullProgress, Progress
from mmemo.scheduler import Slice
from mmemo.store.store import Store

FEATURELESS_MODELS = frozenset({"zeror"})


def train_static(
    store: Store, spec: StaticSpec, *, n_jobs: int = 1, progress: Progress | None = None
) -> RunInfo:
    """One configuration of :func:`train_static_grid` (the path ``mmemo train static`` takes):
    ``model`` once per fold of ``scheme`` on the selected clips, stored as run ``spec.name``.

    Raises:
        InputError: a spec of several configurations or feature sets, or what
            :func:`train_static_grid` raises.
    """
    infos = train_static_grid(store, spec, n_jobs=n_jobs, progress=progress)
    if len(infos) != 1:
        raise InputError(f"train_static makes one run; '{spec.name}' made {len(infos)}")
    return infos[0]


def check_static(model: str, params: dict[str, Any], norm: str) -> None:
    """Check a configuration of ``train static`` before any data is read: a scikit-learn
    model against the estimator's own constraints
    (:func:`~mmemo.models.sklearn_static.check_model`), any other kind that takes per-clip
    vectors by its :meth:`~mmemo.models.base.ModelKind.check`.

    Raises:
        InputError: an unknown kind, a kind that does not take vectors, or bad parameters.
    """
    from mmemo.models import sklearn_static
    from mmemo.models.registry import get_kind

    kind = get_kind(model)
    if isinstance(kind, sklearn_static.StaticModel):
        sklearn_static.check_model(model, params, norm=norm)
        return
    if kind.inputs != "vectors":
        raise InputError(
            f"--model {model}: a kind that takes {kind.inputs}; train static trains kinds "
            "that take one vector per clip (see `mmemo models`)"
        )
    kind.check({**params, "norm": norm})


def static_spec(
    name: str,
    model: str,
    params: dict[str, Any],
    norm: str,
    seed: int,
    inner: int | None,
    inputs: dict[str, Any] | None = None,
) -> RunSpec:
    """The spec of one static run: its configuration's parameters with the scaling (and the
    inner folds, if any) among them; a classifier given by import path records its package
    and version among the inputs."""
    inputs = dict(inputs or {})
    if ":" in model:
        from mmemo.models.static_models import STATIC_MODELS

        inputs["estimator"] = STATIC_MODELS.get(model).library()
    return RunSpec(
        name=name,
        kind="train",
        model=model,
        params={**params, "norm": norm, **({"inner": inner} if inner else {})},
        inputs=inputs,
        seed=seed,
    )


def _inputs(
    store: Store, cv: CVData, model: str, features: str | None
) -> tuple[CVData, np.ndarray, dict[str, Any]]:
    """The clips (in the feature set's order) and their feature matrix."""
    if features is None:
        if model not in FEATURELESS_MODELS:
            raise InputError(f"model '{model}' needs --features NAME (a feature set in the store)")
        return cv, np.zeros((len(cv.clip_ids), 1)), {}
    from mmemo.features.loading import load_clip_vectors

    matrix, ordinals, info = load_clip_vectors(store, features, cv.clip_ids)
    order = np.argsort(ordinals, kind="stable")
    return cv.take(order), matrix[order], {"features": info}


def train_static_grid(
    store: Store,
    spec: StaticSpec,
    *,
    n_jobs: int = -1,
    shard: Slice | None = None,
    progress: Progress | None = None,
) -> list[RunInfo]:
    """Train every configuration of ``spec.grid``, one run each.

    A single configuration is stored under ``name``; several under ``name/k=v,...,norm=N``.
    ``features`` may be a glob over feature-set names (``w2v/layer=*``, a probe grid): then
    every matching complete set (in :func:`feature_set_order`) is trained with every
    configuration, as runs ``name/layer=L`` (one configuration) or
    ``name/layer=L,k=v,...,norm=N`` (see :func:`probe_run_names`).
    Folds and configurations run in parallel (joblib, ``n_jobs``); every task is seeded, so
    the posteriors are identical to a serial run. With ``shard`` (``I/N``: a Slurm array task
    of a grid), only configurations I, I+N, ... of the (feature set × configuration) list are
    trained. A grid of several runs (or a task's part of one) skips the runs already stored
    complete as it would make them (:func:`~mmemo.jobs.runs.stored_runs`), so the same grid
    run again after an interruption, or a resubmitted task, makes only the rest; a single run
    refuses a name in use. With ``inner`` K, every fold also trains K models on
    actor-disjoint inner folds of its training actors for the out-of-fold scores of its
    training clips (split ``oof``), the input of a stacked fusion (``fuse --on oof``).

    Raises:
        InputError: invalid model or parameters, a run name in use (by another run, by a
            live process, or left by an interrupted job with other settings), or a glob that
            matches no complete feature set (listing the sets there are).
    """
    from mmemo.params import config_name

    progress = progress or NullProgress()
    name, model, features, seed, inner = (
        spec.name, spec.model, spec.features, spec.seed, spec.inner
    )  # fmt: skip
    grid = list(spec.grid)
    for params, norm in grid:
        check_static(model, params, norm)
    if features is not None and is_glob(features):
        names = probe_run_names(name, match_feature_sets(store, features), grid)
        sets = list(names)  # in layer order
    else:
        sets = [features]
        single = [name] if len(grid) == 1 else [config_name(name, p, n) for p, n in grid]
        names = {features: single}
    mine = [(fs, c) for fs in sets for c in range(len(grid))]
    if shard is not None:
        mine = shard.take(mine)
    base_cv = load_cv(store, spec.scheme, spec.clips, spec.labels)
    if shard is None and len(mine) == 1:  # one run: a name in use is a mistake, not a re-run
        check_run_name(store, names[sets[0]][0])
        stored: set[str] = set()
    else:
        with store.session() as s:
            pinned = {fs: resolve_feature_ref(s, fs).text if fs else None for fs in sets}
        wanted = {
            names[fs][c]: spec_identity(
                static_spec(names[fs][c], model, *grid[c], seed, inner), base_cv, pinned[fs]
            )
            for fs, c in mine
        }
        stored = stored_runs(store, wanted)
    todo = {fs: [c for f, c in mine if f == fs and names[fs][c] not in stored] for fs in sets}
    infos: list[RunInfo] = []
    for feature_set in sets:
        configs = todo[feature_set]
        if not configs:
            continue
        matrix = _inputs(store, base_cv, model, feature_set)
        check_folds(matrix[0], matrix[0].fold_ids)
        configs = {names[feature_set][c]: grid[c] for c in configs}
        infos += _train_grid(store, spec, configs, matrix, n_jobs, progress)
    return infos


def _train_grid(
    store: Store,
    spec: StaticSpec,
    configs: dict[str, tuple[dict[str, Any], str]],
    matrix: tuple[CVData, np.ndarray, dict[str, Any]],
    n_jobs: int,
    progress: Progress,
) -> list[RunInfo]:
    """Every configuration (by run name) × fold on one feature matrix (clips, features and
    the inputs to record); one stored run each (with ``spec.inner``, each fold's inner fits
    too, in the same parallel pool)."""
    from joblib import Parallel, delayed

    from mmemo.jobs.fold_training import inner_splits

    cv, X, inputs = matrix
    model, seed, inner = spec.model, spec.seed, spec.inner
    names, grid = list(configs), list(configs.values())
    started = time.perf_counter()
    splits = {}  # (fold, part) -> (train rows, test rows); part None is the outer fit
    for fold in cv.fold_ids:
        train, test = np.flatnonzero(cv.folds != fold), np.flatnonzero(cv.folds == fold)
        splits[fold, None] = (train, test)
        for j, rows in enumerate(inner_splits(cv, fold, train, inner, seed) if inner else []):
            splits[fold, j] = rows
    tasks = [(c, fold, part) for c in range(len(grid)) for fold, part in splits]
    label = f"training {len(grid)} config(s) × {len(cv.fold_ids)} folds"
    with progress.task(label + (f" (+{inner} inner each)" if inner else ""), len(tasks)) as task:
        outputs = []
        for output in Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_timed_fit)(
                model,
                grid[c][0],
                grid[c][1],
                seed,
                X[splits[fold, part][0]],
                cv.emotions[splits[fold, part][0]],
                X[splits[fold, part][1]],
            )
            for c, fold, part in tasks
        ):
            outputs.append(output)
            task.advance()
    done = {task: output for task, output in zip(tasks, outputs, strict=True)}
    infos = []
    for c, (params, norm) in enumerate(grid):
        results = {}
        for fold in cv.fold_ids:
            result = done[c, fold, None][0]
            if inner:
                inner_results = {part: done[c, fold, part][0] for part in range(inner)}
                result = with_oof(
                    cv,
                    fold,
                    splits[fold, None][0],
                    result,
                    lambda f, fit_rows, held, part, got=inner_results: got[part],
                    inner,
                    seed,
                )
            results[fold] = result
        seconds = [
            sum(output[1] for (cc, f, _), output in done.items() if cc == c and f == fold)
            for fold in cv.fold_ids
        ]
        spec = static_spec(names[c], model, params, norm, seed, inner, inputs)
        infos.append(store_run(store, spec, cv, results, seconds, started=started))
    return infos


def _timed_fit(model, params, norm, seed, X_train, y_train, X_test) -> tuple[FoldResult, float]:
    """One fold of a static model through its kind (what ``mmemo predict`` loads and scores
    with), and the seconds it took; a joblib task of a grid."""
    from mmemo.models.registry import get_kind

    t0 = time.perf_counter()
    data = FoldData(X_train=X_train, y_train=y_train, X_test=X_test)
    result = get_kind(model).fit({**params, "norm": norm}, data, seed=seed)
    return result, time.perf_counter() - t0


def train_static_frames(
    store: Store, spec: StaticSpec, *, progress: Progress | None = None
) -> list[RunInfo]:
    """Frame-level variant (the paper's Appendix B): train on every frame of the training
    clips with its clip's label; each clip gets the mean frame posterior (run ``name``) and
    the majority vote of its frames (run ``name/vote``, one-hot scores)."""
    from mmemo.features.loading import load_sequences
    from mmemo.models import sklearn_static

    ((params, norm),) = spec.grid
    name, model, seed = spec.name, spec.model, spec.seed
    check_static(model, params, norm)
    vote_name = f"{name}/vote"
    check_run_name(store, vote_name)
    cv = load_cv(store, spec.scheme, spec.clips, spec.labels)
    seqs, info = load_sequences(store, spec.features, cv.clip_ids)
    frames = np.concatenate(seqs).astype(np.float64)
    groups = np.repeat(cv.clip_ids, [len(s) for s in seqs])
    labels = np.repeat(cv.emotions, [len(s) for s in seqs])
    votes: dict[int, FoldResult] = {}

    def fit(fold: int, train: np.ndarray, test: np.ndarray) -> FoldResult:
        in_train = np.isin(groups, cv.clip_ids[train])
        in_test = np.isin(groups, cv.clip_ids[test])
        fold_frames = sklearn_static.FrameFold(
            X_train_frames=frames[in_train],
            y_train_frames=labels[in_train],
            train_groups=groups[in_train],
            X_test_frames=frames[in_test],
            test_groups=groups[in_test],
        )
        result = sklearn_static.fit_fold_frames(model, params, fold_frames, norm=norm, seed=seed)
        for split, idx in (("train", train), ("test", test)):
            if list(result.extra[f"{split}_groups"]) != list(cv.clip_ids[idx]):
                raise InputError(f"fold {fold}: frame groups do not line up with the clips")
        votes[fold] = FoldResult(
            classes=result.classes,
            kind="decision",
            train_scores=_one_hot(result.extra["train_vote"], result.classes),
            test_scores=_one_hot(result.extra["test_vote"], result.classes),
            model=None,
        )
        return result

    spec = RunSpec(
        name=name,
        kind="train",
        model=model,
        params={**params, "norm": norm, "frames": True},
        inputs={"features": info},
        seed=seed,
    )
    started = time.perf_counter()
    info_mean = execute_run(store, spec, cv, fit, progress=progress)
    vote_spec = RunSpec(
        name=vote_name,
        kind="train",
        model=model,
        params={**spec.params, "decision": "majority vote of frames"},
        inputs={**spec.inputs, "frames_of": name},
        seed=seed,
    )
    info_vote = store_run(store, vote_spec, cv, votes, info_mean.fold_seconds, started=started)
    return [info_mean, info_vote]


def _one_hot(codes: np.ndarray, classes: list[int]) -> np.ndarray:
    out = np.zeros((len(codes), len(classes)))
    out[np.arange(len(codes)), [classes.index(int(c)) for c in codes]] = 1.0
    return out
