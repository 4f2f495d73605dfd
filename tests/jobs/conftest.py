"""Fixtures of the job tests: the session's synthetic store plus an OpenFace AU frame set.

Names start with ``jobs_`` so that they shadow nothing in ``tests/conftest.py``. A restored store
lives at the ingested store's path (a DuckLake catalog records its data folder), so a test
takes ``jobs_store`` or one of the root fixtures, never both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mmemo.testing.stores import restorable

#: The full-AV speech videos' OpenFace CSVs (the clips of ``--clips av-speech``).
AV_SPEECH_CSVS = "01-01-*.csv"
#: Two actor-disjoint folds of the two synthetic actors (one actor per fold).
KFOLD2 = "kfold:2:2020"


@pytest.fixture(autouse=True)
def jobs_one_torch_thread() -> Iterator[None]:
    """Tiny models gain nothing from intra-op threads and lose a lot on a busy machine."""
    try:
        import torch
    except ImportError:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def _jobs_aus_restore(_ingested_store_restore, synth_corpus, backend) -> Callable[[], Path]:
    """Template: the ingested synthetic store plus the AU frame set ``aus`` (120 clips)."""
    from mmemo.features.openface import ingest_openface
    from mmemo.store.store import Store

    work = _ingested_store_restore()
    report = ingest_openface(
        Store.open(work), [str(synth_corpus.openface_dir / AV_SPEECH_CSVS)], name="aus"
    )
    assert report.clips == 120
    template = work.parent / "jobs-aus-template"
    return restorable(work, template, backend)


@pytest.fixture()
def jobs_store(_jobs_aus_restore):
    """The synthetic store (actors 1-2) with the AU frame set ``aus``; no runs, no schemes."""
    from mmemo.store.store import Store

    return Store.open(_jobs_aus_restore())


@pytest.fixture(scope="session")
def jobs_tiny_w2v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny wav2vec2 checkpoint (XLSR flavour) built from a config."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from mmemo.testing.tiny_models import build_tiny_wav2vec2

    return build_tiny_wav2vec2(tmp_path_factory.mktemp("jobs-tiny") / "w2v2", seed=0)


@pytest.fixture()
def jobs_posteriors() -> Callable[..., Any]:
    """``jobs_posteriors(store, run)``: {(fold, split, clip_id): scores} of a complete run."""

    def get(store: Any, run: str) -> dict[tuple[int, str, str], list[float]]:
        with store.session() as s:
            rows = s.fetch(
                "SELECT fold, split, clip_id, scores FROM posteriors WHERE run = ?", [run]
            )
        return {(f, sp, c): list(v) for f, sp, c, v in rows}

    return get


@pytest.fixture()
def jobs_sha256() -> Callable[[Path], str]:
    """``jobs_sha256(path)``: the registry's artefact recipe computed here, apart from the
    library's, so that a stored digest is checked against the documented recipe: sha256 of
    the file (or a folder's files in name order), names and bytes."""
    import hashlib

    def digest(path: Path) -> str:
        sha = hashlib.sha256()
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            sha.update(str(file.relative_to(path.parent)).encode())
            sha.update(file.read_bytes())
        return sha.hexdigest()

    return digest
