"""Fixtures of the model tests: a store holding the paper's 1,440 audio-visual speech clips (by
name) and the authors' averaged Action Units as the feature set ``luna_aus``, so that the
Table 2 numbers are checked through the job that users run (``mmemo train static``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mmemo.testing.stores import restorable

DATA = Path(__file__).resolve().parents[1] / "data"
LUNA_CSV = DATA / "luna2022" / "openface_au_means.csv"
LUNA_CLIPS = DATA / "luna2022_clips" / "ravdess_av_speech_clips.txt"


@pytest.fixture(scope="session")
def _models_luna_restore(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Path]:
    """Template: the 1,440 clips by name (no media) and ``luna_aus`` (35 AU means)."""
    from mmemo.corpora.ingest import ingest_ravdess
    from mmemo.features.imported import import_features
    from mmemo.store.store import Store

    base = tmp_path_factory.mktemp("models-luna")
    work = base / "store"
    store = Store.init(work)
    assert ingest_ravdess(store, [LUNA_CLIPS]).added == 1440
    import_features(store, LUNA_CSV, name="luna_aus", id_col="name", sep=";", columns="AU.*")
    return restorable(work, base / "template")


@pytest.fixture()
def models_luna_store(_models_luna_restore):
    """A fresh copy of the Luna store (no runs yet)."""
    from mmemo.store.store import Store

    return Store.open(_models_luna_restore())
