"""The registry of feature-set kinds: every kind a job writes is registered, and each knows its
table and its queries."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mmemo
from mmemo.errors import InputError
from mmemo.features.kinds import FEATURE_KINDS, feature_kind, sequence_query


def _kinds_written_by_jobs() -> set[str]:
    """Every ``kind="..."`` passed to ``create_feature_set``-style calls under features/."""
    found = set()
    for path in (Path(mmemo.__file__).parent / "features").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg == "kind" and isinstance(kw.value, ast.Constant):
                        found.add(kw.value.value)
    return found


def test_every_kind_a_job_writes_is_registered() -> None:
    written = _kinds_written_by_jobs()
    assert written == {"embedding", "imported", "au_frames"}
    assert written <= set(FEATURE_KINDS)


def test_kinds_name_their_tables_and_queries() -> None:
    assert feature_kind("au_frames").table == "au_frames"
    assert feature_kind("embedding").table == "clip_embeddings"  # float32 (lake 0004)
    assert feature_kind("embedding").older_tables == ("clip_vectors",)
    assert feature_kind("imported").table == "clip_vectors"  # DOUBLE, as imported
    for kind in FEATURE_KINDS.values():
        assert kind.clip_query.count("?") == 2
        if kind.sequence_query is not None:
            assert kind.sequence_query.count("?") == 2
            assert kind.mean_query is not None and kind.mean_query.count("?") == 2
        else:
            assert kind.mean_query is None


def test_which_sets_have_frames() -> None:
    assert feature_kind("au_frames").has_frames({})
    assert feature_kind("embedding").has_frames({"frames": True})
    assert not feature_kind("embedding").has_frames({"frames": False})
    assert not feature_kind("imported").has_frames({"frames": True})


def test_unknown_kind_and_kind_without_frames_are_clear_errors() -> None:
    with pytest.raises(InputError, match=r"unknown feature-set kind 'pca'; known kinds: au_fr"):
        feature_kind("pca")
    with pytest.raises(InputError, match=r"'x@1' \(imported\) has one vector per clip"):
        sequence_query("imported", "x@1")
