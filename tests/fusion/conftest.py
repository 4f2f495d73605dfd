"""Fixtures of the fusion, import and report tests: a store holding a few finished runs.

Names start with ``fus_`` so that they shadow nothing in ``tests/conftest.py``. The store is
restored at the ingested store's path (a DuckLake catalog records its data folder), so a test
takes ``fus_store`` or one of the root store fixtures, never both.

Runs of the template (synthetic actors 1-2, AU means of the full-AV speech videos: the root
conftest's ``aus_store``):

=========  ==========================================================================
``zeror``  ZeroR, luna2022, av-speech
``svc``    SVC C=1, min-max, luna2022, av-speech (scores: one-vs-one votes, kind decision)
``lr``     logistic regression, min-max, luna2022, av-speech (probabilities)
``knn``    k-NN k=5, luna2022, av-speech (probabilities)
``lr-k2``  as ``lr`` on another fold scheme (kfold:2:7)
``lr-n1``  as ``lr`` on other clips (normal intensity only), luna2022
=========  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmemo.testing.stores import restorable

OTHER_SCHEME = "kfold:2:7"
NORMAL_INTENSITY = "modality = 1 AND vocal_channel = 1 AND intensity = 1"


@pytest.fixture(scope="session")
def _fus_restore(_aus_store_restore, backend) -> Callable[[], Path]:
    from mmemo.jobs.specs import StaticSpec
    from mmemo.jobs.static import train_static_grid
    from mmemo.store.store import Store

    work = _aus_store_restore()  # the root conftest's AU store: frame set "aus"
    store = Store.open(work)
    runs = [
        ("zeror", "zeror", [], "none", None, "luna2022", "av-speech"),
        ("svc", "svc", ["C=1"], "minmax", "aus", "luna2022", "av-speech"),
        ("lr", "logreg", [], "minmax", "aus", "luna2022", "av-speech"),
        ("knn", "knn", ["n_neighbors=5"], "none", "aus", "luna2022", "av-speech"),
        ("lr-k2", "logreg", [], "minmax", "aus", OTHER_SCHEME, "av-speech"),
        ("lr-n1", "logreg", [], "minmax", "aus", "luna2022", NORMAL_INTENSITY),
    ]
    for name, model, params, norm, features, scheme, clips in runs:
        train_static_grid(
            store,
            StaticSpec.parse(
                name=name,
                model=model,
                param_specs=params,
                norms=[norm],
                features=features,
                scheme=scheme,
                clips=clips,
            ),
            n_jobs=1,
        )
    template = work.parent / "fus-template"
    return restorable(work, template, backend)


@pytest.fixture()
def fus_store(_fus_restore):
    """The synthetic store with the runs listed in this module's docstring."""
    from mmemo.store.store import Store

    return Store.open(_fus_restore())


@pytest.fixture()
def fus_scores() -> Callable[..., dict]:
    """``fus_scores(store, run)``: {(fold, split): (clip ids, score matrix)} ordered by clip."""

    def get(store: Any, run: str) -> dict[tuple[int, str], tuple[list[str], np.ndarray]]:
        with store.session() as s:
            rows = s.fetch(
                "SELECT fold, split, clip_id, scores FROM posteriors WHERE run = ? "
                "ORDER BY fold, split, clip_id",
                [run],
            )
        out: dict[tuple[int, str], tuple[list[str], list]] = {}
        for fold, split, clip, scores in rows:
            ids, matrix = out.setdefault((fold, split), ([], []))
            ids.append(clip)
            matrix.append(scores)
        return {k: (ids, np.array(m, dtype=np.float64)) for k, (ids, m) in out.items()}

    return get
