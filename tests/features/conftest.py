"""Fixtures of the feature-store tests (``test_store_*.py``): a synthetic corpus, a store that
holds it and tiny wav2vec2 checkpoints (the CLI runs through ``store_cli`` of the root conftest).

The names are distinct from those of ``tests/conftest.py`` so that neither shadows the other.
A store is restored by copying a session template back to the path it was built at (a DuckLake
catalog records its data folder).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mmemo.testing.stores import init_store, restorable

#: Actors and clip length of the feature tests' synthetic corpus (2 actors: 624 files).
FEAT_ACTORS = (1, 2)
FEAT_SECONDS = 0.3


@pytest.fixture(scope="session")
def feat_corpus(tmp_path_factory: pytest.TempPathFactory):
    """Synthetic RAVDESS of actors 1-2 with OpenFace CSVs (416 video files, 624 files)."""
    from mmemo.corpora.synth import create_ravdess

    root = tmp_path_factory.mktemp("feat-synth") / "RAVDESS"
    return create_ravdess(root, actors=FEAT_ACTORS, seconds=FEAT_SECONDS)


@pytest.fixture(scope="session")
def _feat_store_restore(
    tmp_path_factory: pytest.TempPathFactory, feat_corpus, backend
) -> Callable[[], Path]:
    from mmemo.corpora.ingest import ingest_ravdess

    base = tmp_path_factory.mktemp("feat-store")
    work = base / "store"
    report = ingest_ravdess(init_store(work, backend), [feat_corpus.root])
    assert report.added == len(feat_corpus.files)
    template = base / "template"
    return restorable(work, template, backend)


@pytest.fixture()
def feat_store(_feat_store_restore):
    """A store holding the synthetic corpus (media ingested), restored for each test."""
    from mmemo.store.store import Store

    return Store.open(_feat_store_restore())


@pytest.fixture()
def feat_store_reset(_feat_store_restore) -> Callable[[], Any]:
    """``reset()``: put the ingested store back as it was and return it (a second fresh copy
    within one test, at the same path)."""
    from mmemo.store.store import Store

    return lambda: Store.open(_feat_store_restore())


@pytest.fixture(scope="session")
def tiny_w2v2(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """Tiny wav2vec2 checkpoints by ``stable_layer_norm`` (True: large/XLSR style, attention
    mask; False: base style, group norm, no mask)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from mmemo.testing.tiny_models import build_tiny_wav2vec2

    base = tmp_path_factory.mktemp("tiny-w2v2")
    return {
        flag: build_tiny_wav2vec2(base / ("large" if flag else "base"), stable_layer_norm=flag)
        for flag in (True, False)
    }


@pytest.fixture()
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads and lose a lot on a busy machine."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def store_snapshot_state(store) -> dict[str, Any]:
    """What a refused command must leave as it was: the newest lake snapshot, the lake's row
    counts and the feature-set registry rows."""
    with store.session() as s:
        state: dict[str, Any] = {"snapshot": s.current_snapshot()}
        for table in s.lake_tables():
            state[table] = s.con.execute(f'SELECT count(*) FROM lake."{table}"').fetchone()
        state["feature_sets"] = sorted(
            s.con.execute("SELECT * FROM feature_sets").fetchall(), key=repr
        )
    return state


@pytest.fixture()
def feat_state() -> Callable[[Any], dict[str, Any]]:
    """``feat_state(store)``: snapshot id, lake row counts, feature-set rows (for equality)."""
    return store_snapshot_state
