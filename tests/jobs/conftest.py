"""Fixtures of the job tests: the session's synthetic store with its AU frame set, posteriors
and artefact digests.

Names start with ``jobs_`` so that they shadow nothing in ``tests/conftest.py``. ``jobs_store``
is the root ``aus_store`` (at the ingested store's path: a test takes it or one of the root
store fixtures, never both); the tiny wav2vec2 is the root ``tiny_w2v2``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _jobs_one_torch_thread(one_torch_thread: None) -> None:
    """Every job test runs torch on one thread (see the root conftest's ``one_torch_thread``)."""


@pytest.fixture()
def jobs_store(aus_store):
    """The synthetic store (actors 1-2) with the AU frame set ``aus``; no runs, no schemes: the
    root conftest's ``aus_store``."""
    return aus_store


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
