"""Read-only means read-only (issue 21): a query without ``--write`` can neither change the store
nor write any file, whatever statement form it takes; with ``--write`` nothing but the store
writes inside the store's folder. Each case was seen to break before ``mmemo.store.guard``.

The oracle is outside the guard: the store's state (snapshot, row counts, registry rows), the
files on disk before and after, and a query that must still read every lake file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Every lake row of these tables is read: a clobbered or missing parquet file fails them.
READ_EVERYTHING = (
    "SELECT (SELECT count(*) FROM (SELECT DISTINCT * FROM lake.clips)) "
    "+ (SELECT count(*) FROM (SELECT DISTINCT * FROM lake.scratch)) "
    "+ (SELECT count(*) FROM (SELECT DISTINCT * FROM lake.holes))"
)
#: What READ_EVERYTHING counts: the corpus' clips, scratch's rows, what holes keeps.
EVERYTHING = str(624 + 6000 + 2000)


def _files(*folders: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file under ``folders``, by path."""
    found = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                stat = path.stat()
                found[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return found


@pytest.fixture(scope="session")
def _lake_store_restore(_ingested_store_restore, backend):
    """Template of ``lake_store``, built once per session: the six writes take longer than
    copying the result back."""
    from mmemo.store.query import run_query
    from mmemo.store.recipes import prepare, write_message
    from mmemo.store.store import Store
    from mmemo.testing.stores import restorable

    queries = [
        "CREATE TABLE lake.scratch AS SELECT range AS i FROM range(2000)",
        "INSERT INTO lake.scratch SELECT range + 2000 FROM range(2000)",
        "INSERT INTO lake.scratch SELECT range + 4000 FROM range(2000)",
        "CREATE TABLE lake.holes AS SELECT range AS i FROM range(2000)",
        "INSERT INTO lake.holes SELECT range + 2000 FROM range(2000)",
        "DELETE FROM lake.holes WHERE i % 2 = 0",
    ]
    work = _ingested_store_restore()  # shares the ingested store's path (see conftest)
    for query in queries:  # one commit each, as `mmemo sql --write QUERY` makes it
        prepared = prepare(query, write_message=write_message(query, None))
        run_query(Store.open(work), prepared, write=True)
    return restorable(work, work.parent / "lake-template", backend)


@pytest.fixture()
def lake_store(_lake_store_restore):
    """The ingested store plus user tables ``lake.scratch`` in three parquet files (three
    commits of 2,000 rows: data files, not inlined) and ``lake.holes`` in two with half of
    their rows deleted, so that the lake's maintenance functions have files to merge and
    rewrite."""
    from mmemo.store.store import Store

    return Store.open(_lake_store_restore())


@pytest.fixture(scope="module")
def lake_before(_lake_store_restore, store_state):
    """``(store_state, files)`` of a freshly restored ``lake_store``: every restore is the same
    copy of the template (files, sizes and times included), so it is read once."""
    from mmemo.store.store import Store

    store = Store.open(_lake_store_restore())
    return store_state(store), _files(store.root)


def _reads_everything(store) -> bool:
    """Whether every lake row READ_EVERYTHING reads is still there to read."""
    with store.session() as s:
        return str(s.fetch(READ_EVERYTHING)[0][0]) == EVERYTHING


def _parquet_file(store) -> str:
    files = sorted((store.root / "lake").rglob("*.parquet"))
    return str(files[0]) if files else "s3://nowhere/x.parquet"


#: Statements a read-only query must refuse; ``{registry}``, ``{parquet}``, ``{store}`` and
#: ``{tmp}`` are filled in per test.
REFUSED = {
    "copy over the registry": "COPY (SELECT 'x') TO '{registry}' (FORMAT csv)",
    "copy over a lake file": "COPY (SELECT 'x') TO '{parquet}' (FORMAT parquet)",
    "copy anywhere": "COPY (SELECT 1 AS x) TO '{tmp}/anywhere.csv'",
    "copy a lake table": "COPY lake.clips TO '{tmp}/clips.parquet'",
    "export database": "EXPORT DATABASE '{tmp}/export'",
    "merge files": "SELECT * FROM ducklake_merge_adjacent_files('lake')",
    "merge files by call": "CALL lake.merge_adjacent_files()",
    "merge through a macro": (
        "CREATE TEMP MACRO m() AS TABLE SELECT * FROM ducklake_merge_adjacent_files('lake'); "
        "SELECT * FROM m()"
    ),
    "merge through a view": (
        "CREATE TEMP VIEW v AS SELECT * FROM ducklake_merge_adjacent_files('lake'); SELECT * FROM v"
    ),
    "merge through query()": (
        "SELECT * FROM query('SELECT * FROM ducklake_merge_adjacent_files(''lake'')')"
    ),
    "merge into a temp table": (
        "CREATE TEMP TABLE t AS SELECT * FROM ducklake_merge_adjacent_files('lake')"
    ),
    "merge under explain analyze": (
        "EXPLAIN ANALYZE SELECT * FROM ducklake_merge_adjacent_files('lake')"
    ),
    "merge in a subquery": (
        "SELECT count(*) FROM clips WHERE 0 < (SELECT count(*) FROM "
        "ducklake_merge_adjacent_files('lake'))"
    ),
    "rewrite files": (
        "SELECT * FROM ducklake_rewrite_data_files('lake', 'holes', delete_threshold => 0.1)"
    ),
    "flush inlined data": "SELECT * FROM ducklake_flush_inlined_data('lake')",
    "clean up old files": "SELECT * FROM ducklake_cleanup_old_files('lake', cleanup_all => true)",
    "delete orphaned files": (
        "SELECT * FROM ducklake_delete_orphaned_files('lake', cleanup_all => true)"
    ),
    "expire snapshots": "SELECT * FROM ducklake_expire_snapshots('lake', older_than => now())",
    "set a commit message": "SELECT * FROM ducklake_set_commit_message('lake', 'a', 'b')",
    "checkpoint": "CHECKPOINT",
    "checkpoint the lake": "CHECKPOINT lake",
    "checkpoint function": "SELECT * FROM checkpoint('lake')",
    "vacuum": "VACUUM",
    "install": "INSTALL httpfs",
    "load": "LOAD json",
    "load a file": "LOAD '{tmp}/evil.duckdb_extension'",
    "attach a file": "ATTACH '{tmp}/new.duckdb' AS n",
    "attach the lake again": "ATTACH 'ducklake:{store}/lake.ducklake' AS l2",
    "detach": "DETACH lake",
    "set": "SET threads = 1",
    "set a temp folder": "SET temp_directory = '{store}/spill'",
    "set profiling output": "SET profiling_output = '{registry}'",
    "pragma": "PRAGMA enable_profiling",
    "reset": "RESET threads",
    "prepared copy": "PREPARE p AS COPY (SELECT 1) TO '{tmp}/p.csv'; EXECUTE p",
    "writable cte": "WITH d AS (DELETE FROM lake.clips RETURNING *) SELECT count(*) FROM d",
    "insert into the lake": "INSERT INTO lake.scratch VALUES (1)",
    "read another file": "SELECT * FROM read_csv('{tmp}/mine.csv')",
}


@pytest.mark.parametrize("statement", list(REFUSED.values()), ids=list(REFUSED))
def test_a_read_only_query_changes_nothing_and_writes_no_file(
    store_cli, lake_store, lake_before, store_state, tmp_path, statement
):
    (tmp_path / "mine.csv").write_text("a\n1\n")
    query = statement.format(
        registry=lake_store.paths.registry,
        parquet=_parquet_file(lake_store),
        store=lake_store.root,
        tmp=tmp_path,
    )
    before, files = lake_before
    mine = _files(tmp_path)
    result = store_cli(lake_store, "sql", query)
    assert result.code == 2, result.out
    assert len(result.err.strip().splitlines()) == 1, result.err
    if "RETURNING" not in statement:  # DuckDB has no writable CTEs: a syntax error
        assert "--write" in result.err_text or "--read" in result.err_text, result.err
    assert _files(lake_store.root) == files
    assert _files(tmp_path) == mine
    assert store_state(lake_store) == before
    assert _reads_everything(lake_store)
    if lake_store.config.registry is not None:
        # a team store's registry and files live on its servers, beyond the folder's file
        # list: doctor reads them back (a local store's file list above is the stronger check)
        doctor = store_cli(lake_store, "doctor")
        assert doctor.code == 0, doctor.out


def test_scratch_work_and_reads_stay_allowed(store_cli, lake_store, tmp_path):
    query = (
        "SET VARIABLE n = 2; CREATE TEMP TABLE t AS SELECT i FROM lake.scratch WHERE i < 3; "
        "INSERT INTO t VALUES (getvariable('n') * 100); "
        "SELECT count(*) AS n, (SELECT count(*) FROM lake.snapshots()) > 0 AS snaps, "
        "(SELECT count(*) FROM ducklake_table_info('lake')) > 0 AS info FROM t"
    )
    result = store_cli(lake_store, "sql", "--format", "csv", query)
    assert result.code == 0, result.err
    assert result.out.strip().splitlines()[-1] == "4,true,true"
    explained = store_cli(lake_store, "sql", "EXPLAIN SELECT count(*) FROM clips")
    assert explained.code == 0, explained.err


def test_read_names_the_files_a_read_only_query_may_read(store_cli, lake_store, tmp_path):
    mine = tmp_path / "labels.csv"
    mine.write_text("clip_id,mine\n01-01-01-01-01-01-01,yes\n")
    query = f"SELECT count(*) FROM read_csv('{mine}') JOIN clips USING (clip_id)"
    assert store_cli(lake_store, "sql", query).code == 2
    result = store_cli(lake_store, "sql", "--read", mine, "--format", "csv", query)
    assert result.code == 0, result.err
    assert result.out.strip().splitlines()[-1] == "1"
    missing = store_cli(lake_store, "sql", "--read", tmp_path / "nope.csv", "SELECT 1")
    assert missing.code == 2 and "nope.csv" in missing.err


def test_a_clips_condition_cannot_maintain_the_lake(store_cli, lake_store, store_state):
    before, files = store_state(lake_store), _files(lake_store.root)
    condition = "actor IN (SELECT 1 FROM ducklake_merge_adjacent_files('lake') UNION SELECT 1)"
    result = store_cli(
        lake_store, "train", "static", "--model", "zeror", "--clips", condition, "--name", "z"
    )
    assert result.code == 2
    assert "--clips" in result.err and "DUCKLAKE_COMPACTION" in result.err
    assert _files(lake_store.root) == files
    assert store_state(lake_store) == before


@pytest.mark.local_only("looks for an orphan file in the store's folder")
def test_planning_delete_orphaned_files_deletes_nothing(store_cli, lake_store):
    """EXPLAIN binds the statement: binding the orphan sweep must not already sweep."""
    folder = lake_store.root / "lake" / "main" / "scratch"
    orphan = folder / "not-in-the-catalog.parquet"
    orphan.write_bytes(b"PAR1")
    os.utime(orphan, (1, 1))  # older than any age limit
    result = store_cli(
        lake_store,
        "sql",
        "SELECT * FROM ducklake_delete_orphaned_files('lake', cleanup_all => true)",
    )
    assert result.code == 2
    assert orphan.exists()


WRITE_REFUSED = {
    "copy over the registry": "COPY (SELECT 'x') TO '{registry}' (FORMAT csv)",
    "copy over a lake file": "COPY (SELECT 'x') TO '{parquet}' (FORMAT parquet)",
    "copy into the store folder": "COPY (SELECT 1) TO '{store}/../{name}/x.csv'",
    "copy to an expression": "COPY (SELECT 1) TO ('{store}' || '/x.csv')",
    "export into the store": "EXPORT DATABASE '{store}/export'",
    "attach inside the store": "ATTACH '{store}/other.duckdb' AS o",
    "spill into the store": "SET temp_directory = '{store}/spill'",
    "profile into the store": "PRAGMA profiling_output = '{store}/profile.json'",
    "log into the store": "CALL enable_logging(storage_path => '{store}/logs')",
}


@pytest.mark.local_only("the store's folder holds its files only on a local store")
@pytest.mark.parametrize("statement", list(WRITE_REFUSED.values()), ids=list(WRITE_REFUSED))
def test_with_write_nothing_but_the_store_writes_in_its_folder(
    store_cli, lake_store, lake_before, store_state, statement
):
    query = statement.format(
        registry=lake_store.paths.registry,
        parquet=_parquet_file(lake_store),
        store=lake_store.root,
        name=lake_store.root.name,
    )
    before, files = lake_before
    result = store_cli(lake_store, "sql", "--write", query)
    assert result.code == 2, result.out
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert _files(lake_store.root) == files
    assert store_state(lake_store) == before


def test_with_write_files_elsewhere_and_maintenance_are_allowed(store_cli, lake_store, tmp_path):
    out = tmp_path / "clips.csv"
    result = store_cli(lake_store, "sql", "--write", f"COPY (SELECT 1 AS x) TO '{out}'")
    assert result.code == 0, result.err
    assert out.read_text().splitlines() == ["x", "1"]
    merged = store_cli(lake_store, "sql", "--write", "CALL lake.merge_adjacent_files()")
    assert merged.code == 0, merged.err
    still = store_cli(lake_store, "sql", "--format", "csv", READ_EVERYTHING)
    assert still.out.strip().splitlines()[-1] == EVERYTHING
