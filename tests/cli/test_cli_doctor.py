"""`mmemo doctor` reports each part of a store and fails when one is missing or outdated."""

from __future__ import annotations

import shutil

import pytest


def test_doctor_on_a_healthy_store(store, cli) -> None:
    result = cli("--store", store.root, "doctor")
    assert result.code == 0, result.out + result.err
    for part in ("registry schema", "lake schema", "duckdb / ducklake versions", "torch"):
        assert part in result.out
    assert "FAIL" not in result.out


def test_doctor_names_what_is_missing(tmp_path, cli) -> None:
    result = cli("--store", tmp_path / "nowhere", "doctor")
    assert result.code == 1
    assert "FAIL" in result.out and "registry file" in result.out


@pytest.mark.local_only("removes the local lake folder")
def test_doctor_fails_on_a_store_with_its_lake_data_gone(store, cli) -> None:
    shutil.rmtree(store.paths.data)
    result = cli("--store", store.root, "doctor")
    assert result.code == 1
    assert "lake data folder" in result.out
