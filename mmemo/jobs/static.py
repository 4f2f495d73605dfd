"""``mmemo train static``: scikit-learn models on per-clip vectors under subject-wise CV."""

from __future__ import annotations

from typing import Any

import numpy as np

from mmemo.errors import InputError
from mmemo.jobs.cv import CVData, load_cv
from mmemo.jobs.runs import RunInfo, RunSpec, execute_run
from mmemo.models.base import FoldResult
from mmemo.progress import Progress
from mmemo.store.store import Store

FEATURELESS_MODELS = frozenset({"zeror"})


def train_static(
    store: Store,
    *,
    name: str,
    model: str,
    params: dict[str, Any] | None = None,
    norm: str = "none",
    features: str | None = None,
    scheme: str = "luna2022",
    clips: str | None = None,
    seed: int = 2020,
    progress: Progress | None = None,
) -> RunInfo:
    """Train ``model`` once per fold of ``scheme`` on the selected clips and store the run."""
    from mmemo.models import sklearn_static

    params = dict(params or {})
    sklearn_static.check_model(model, params)
    cv = load_cv(store, scheme, clips)
    X, inputs = _inputs(store, cv, model, features)

    def fit(fold: int, train: np.ndarray, test: np.ndarray) -> FoldResult:
        return sklearn_static.fit_fold(
            model,
            params,
            norm=norm,
            seed=seed,
            X_train=X[train],
            y_train=cv.emotions[train],
            X_test=X[test],
        )

    spec = RunSpec(
        name=name,
        kind="train",
        model=model,
        params={**params, "norm": norm},
        inputs=inputs,
        seed=seed,
    )
    return execute_run(store, spec, cv, fit, progress=progress)


def _inputs(
    store: Store, cv: CVData, model: str, features: str | None
) -> tuple[np.ndarray, dict[str, Any]]:
    if features is None:
        if model not in FEATURELESS_MODELS:
            raise InputError(f"model '{model}' needs --features NAME (a feature set in the store)")
        return np.zeros((len(cv.clip_ids), 1)), {}
    from mmemo.features.store import load_clip_vectors

    matrix, info = load_clip_vectors(store, features, cv.clip_ids)
    return matrix, {"features": info}


def train_static_grid(
    store: Store,
    *,
    name: str,
    model: str,
    param_specs: list[str],
    norms: list[str],
    features: str | None = None,
    scheme: str = "luna2022",
    clips: str | None = None,
    seed: int = 2020,
    progress: Progress | None = None,
) -> list[RunInfo]:
    """Train every configuration of a grid (``K=V[,V...]`` specs × norms), one run each.

    A single configuration is stored under ``name``; several under ``name/k=v,...,norm=N``.
    """
    from mmemo.models import sklearn_static
    from mmemo.models.params import config_name, parse_param_grid

    grid = [(params, norm) for params in parse_param_grid(param_specs) for norm in norms]
    for params, norm in grid:
        sklearn_static.check_model(model, params, norm=norm)
    single = len(grid) == 1
    return [
        train_static(
            store,
            name=name if single else config_name(name, params, norm),
            model=model,
            params=params,
            norm=norm,
            features=features,
            scheme=scheme,
            clips=clips,
            seed=seed,
            progress=progress,
        )
        for params, norm in grid
    ]
