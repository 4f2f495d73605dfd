"""A damaged or missing store file is one line naming the file, from every command, and
``mmemo doctor`` finds it (issue 21). Before: an overwritten registry read as a busy store
("waited 10 s": DuckDB's checksum error speaks of a "block"), or a 94-line traceback; a deleted
lake file passed ``doctor`` and made ``report`` print a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.local_only("damages the store's own files")

#: Commands that open the store in different ways: listing, SQL, a report, a write.
COMMANDS = [
    ("runs",),
    ("tables",),
    ("sql", "SELECT count(*) FROM clips"),
    ("report", "zeror"),
    ("gc",),
]


def _overwrite(path, offset: int, size: int = 4096) -> None:
    with open(path, "r+b") as fh:
        fh.seek(min(offset, path.stat().st_size - size))
        fh.write(os.urandom(size))


def _one_line(result) -> str:
    lines = result.err.strip().splitlines()
    assert result.code == 2, (result.out, result.err)
    assert len(lines) == 1, result.err
    return lines[0]


@pytest.mark.parametrize("offset", [8192, 1 << 20], ids=["8 KiB", "1 MiB"])
def test_an_overwritten_registry_is_named_by_every_command(store_cli, zeror_store, offset):
    registry = zeror_store.paths.registry
    _overwrite(registry, offset)
    for command in COMMANDS:
        line = _one_line(store_cli(zeror_store, *command))
        assert str(registry) in line and "damaged" in line, (command, line)
        assert "busy" not in line and "Traceback" not in line
    doctor = store_cli(zeror_store, "doctor")
    assert doctor.code == 1
    assert "FAIL" in doctor.out and "registry.duckdb" in doctor.out_text


def test_an_overwritten_lake_catalog_is_named(store_cli, zeror_store):
    catalog = zeror_store.paths.catalog
    _overwrite(catalog, 1 << 20)
    line = _one_line(store_cli(zeror_store, "sql", "SELECT count(*) FROM lake.posteriors"))
    assert str(catalog) in line and "damaged" in line
    assert store_cli(zeror_store, "doctor").code == 1


def _posteriors_file(store):
    with store.session() as s:
        rows = s.fetch("SELECT data_file FROM ducklake_list_files('lake', 'posteriors')")
    assert rows, "the ZeroR posteriors are in a parquet file, not inlined"
    return rows[0][0]


def test_a_deleted_lake_file_is_named_by_report_and_doctor(store_cli, zeror_store):
    path = _posteriors_file(zeror_store)
    os.remove(path)
    line = _one_line(store_cli(zeror_store, "report", "zeror"))
    assert f"lake file {path}" in line and "mmemo doctor" in line
    doctor = store_cli(zeror_store, "doctor")
    assert doctor.code == 1
    assert "lake files" in doctor.out and "missing" in doctor.out_text
    assert path in doctor.out.replace("\n", "").replace(" ", "")


def test_an_overwritten_lake_file_fails_doctor(store_cli, zeror_store):
    path = _posteriors_file(zeror_store)
    with open(path, "r+b") as fh:
        fh.seek(-8, os.SEEK_END)
        fh.write(b"\0" * 8)  # the footer's length and its magic bytes
    doctor = store_cli(zeror_store, "doctor")
    assert doctor.code == 1
    assert "lake files" in doctor.out and "1 of" in doctor.out_text


def test_doctor_deep_reads_every_row(store_cli, zeror_store):
    result = store_cli(zeror_store, "doctor", "--deep")
    assert result.code == 0, result.out
    assert "read whole" in result.out_text


@pytest.mark.slow
def test_a_store_held_by_another_writer_is_still_busy(store_cli, zeror_store, lock_timeout):
    """The lock is told apart from damage by DuckDB's own words for it, not by "lock"."""
    with zeror_store.session(write=True):
        held = subprocess.run(
            [sys.executable, "-m", "mmemo", "--store", str(zeror_store.root), "gc"],
            capture_output=True,
            text=True,
            env={**os.environ, "MMEMO_LOCK_TIMEOUT": "1"},
            timeout=120,
        )
    assert held.returncode == 2
    assert "is busy" in held.stderr and "is damaged" not in held.stderr
