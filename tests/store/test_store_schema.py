"""Creating a store, its layout, and its registry schema (Alembic) across mmemo versions."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import duckdb
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from mmemo.errors import StoreError
from mmemo.resources import migrations_dir
from mmemo.store import migrate
from mmemo.store.inventory import REGISTRY_TABLES
from mmemo.store.store import Store

REGISTRY = {*REGISTRY_TABLES, "lake_migrations", "alembic_version"}


def registry_tables(store: Store) -> set[str]:
    con = duckdb.connect(str(store.paths.registry), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()


def set_registry_revision(store: Store, revision: str) -> None:
    con = duckdb.connect(str(store.paths.registry))
    try:
        con.execute("UPDATE alembic_version SET version_num = ?", [revision])
    finally:
        con.close()


def test_init_creates_the_store_layout(tmp_path):
    store = Store.init(tmp_path / "store")
    assert store.paths.registry.is_file()
    assert store.paths.catalog.is_file()
    assert store.paths.data.is_dir()
    assert store.paths.models.is_dir()
    assert not store.paths.holder.exists()  # nobody holds it once init is done
    assert registry_tables(store) >= REGISTRY
    with store.session() as s:
        assert {"clips", "posteriors"} <= set(s.lake_tables())
        assert s.fetch("SELECT count(*) FROM clips") == [(0,)]
        assert s.fetch("SELECT count(*) FROM posteriors") == [(0,)]
    with store.session() as s:
        assert migrate.current(s.engine) == migrate.head()


def test_init_twice_changes_nothing(tmp_path, store_state):
    store = Store.init(tmp_path / "store")
    before = store_state(store)
    again = Store.init(tmp_path / "store")
    assert store_state(again) == before
    assert again.upgrade() == []


def test_cli_init_twice_is_a_no_op(cli, tmp_path, store_state):
    root = tmp_path / "store"
    first = cli("--store", root, "init")
    assert first.code == 0, first.err
    assert "store ready" in first.out_text
    before = store_state(Store.open(root))
    second = cli("--store", root, "init")
    assert second.code == 0, second.err
    assert store_state(Store.open(root)) == before


def test_init_on_a_file_is_refused(cli, tmp_path):
    target = tmp_path / "not-a-dir"
    target.write_text("x")
    result = cli("--store", target, "init")
    assert result.code == 2
    assert "not a directory" in result.err_text


def test_opening_a_missing_store_says_to_run_init(cli, tmp_path):
    result = cli("--store", tmp_path / "nowhere", "tables")
    assert result.code == 2
    assert "no mmemo store" in result.err_text and "mmemo init" in result.err_text


def test_store_env_var_selects_the_store(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MMEMO_STORE", str(tmp_path / "from-env"))
    assert cli("init").code == 0
    assert Store(tmp_path / "from-env").exists()


def test_migrations_run_from_empty_to_head_and_back(tmp_path):
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'registry.duckdb'}")
    try:
        assert migrate.current(engine) is None
        applied = migrate.upgrade(engine)
        assert applied == [f"registry 000{i}" for i in range(1, 8)]  # oldest first
        assert applied[-1] == f"registry {migrate.head()}"
        assert migrate.current(engine) == migrate.head()
        assert migrate.upgrade(engine) == []
        tables = set(sa.inspect(engine).get_table_names())
        assert tables >= REGISTRY
        with engine.begin() as conn:
            command.downgrade(_alembic(conn), "base")
        assert migrate.current(engine) is None
        assert not (set(REGISTRY_TABLES) & set(sa.inspect(engine).get_table_names()))
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head()
    finally:
        engine.dispose()


def _alembic(conn: sa.Connection) -> Config:
    """Alembic's config of mmemo's migrations on ``conn`` (with DuckDB taught to Alembic, so
    that a test run alone needs no other test to have done it)."""
    return migrate._config(conn)


def _upgrade_to(engine: sa.Engine, revision: str) -> None:
    with engine.begin() as conn:
        command.upgrade(_alembic(conn), revision)


def test_migration_0003_keeps_the_rows_of_a_0002_store_and_adds_keys_and_job(tmp_path):
    """A registry made at 0002 (the release before claims recorded a scheduler job) upgrades:
    its runs and folds stay, a fold whose run is gone (left by an interrupted job) goes, and
    a fold can no longer point at a missing run."""
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'registry.duckdb'}")
    try:
        _upgrade_to(engine, "0002")
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO runs (name, kind, model, params, inputs, scheme, clips, classes, "
                "score_kind, status, fold_seconds, artefacts, code_version, versions, device, "
                "pid, host, created_at) VALUES ('r', 'train', 'svc', '{}', '{}', 'luna2022', "
                "'all', '[1, 2]', 'probs', 'running', '[]', '[]', 'mmemo 0.1.0', '{}', 'cpu', "
                "7, 'h', now())"
            )
            run_id = conn.exec_driver_sql("SELECT id FROM runs").scalar_one()
            for owner, fold in ((run_id, 0), (run_id, 1), (run_id + 100, 0)):
                conn.exec_driver_sql(
                    "INSERT INTO run_folds (run_id, fold, status, pid, host, created_at) "
                    f"VALUES ({owner}, {fold}, 'running', 7, 'h', now())"
                )
        assert migrate.upgrade(engine) == [f"registry 000{i}" for i in range(3, 8)]
        with engine.begin() as conn:
            folds = conn.exec_driver_sql("SELECT run_id, fold, job FROM run_folds ORDER BY 2")
            assert folds.fetchall() == [(run_id, 0, None), (run_id, 1, None)]
            assert conn.exec_driver_sql("SELECT job FROM runs").fetchall() == [(None,)]
        with pytest.raises(sa.exc.DBAPIError, match="foreign key"), engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO run_folds (run_id, fold, status, created_at) "
                f"VALUES ({run_id + 100}, 0, 'running', now())"
            )
        with pytest.raises(sa.exc.DBAPIError, match="foreign key"), engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO feature_set_shards (feature_set_id, shard, shards, status, "
                "created_at) VALUES (1, 0, 2, 'running', now())"
            )
    finally:
        engine.dispose()


#: Feature sets of a 0004 registry: (name, kind, params) and the columns 0005 gives them.
OLD_SETS = [
    (("w/layer=2", "embedding", {"model": "/m/tiny", "layer": 2, "pool": "mean+std"}),
     ("/m/tiny", "2", "mean+std", "w")),
    (("w/layer=conv", "embedding", {"model": "org/w2v", "layer": "conv", "pool": "mean"}),
     ("org/w2v", "conv", "mean", "w")),
    (("one3", "embedding", {"model": "org/w2v", "layer": 3, "pool": "mean"}),
     ("org/w2v", "3", "mean", None)),  # one layer, named alone: no family
    (("odd/layer=5", "embedding", {"model": "org/w2v", "layer": 2, "pool": "mean"}),
     ("org/w2v", "2", "mean", None)),  # named for another layer: the parameters win
    (("w2v/layer=10", "imported", {"columns": ["f0"], "id_col": "clip_id"}),
     (None, "10", None, "w2v")),  # the old way to import a layer: its name
    (("aus", "au_frames", {"filters": {}}), (None, None, None, None)),
]  # fmt: skip


def _registry_engine(dialect: str, request: pytest.FixtureRequest, tmp_path) -> sa.Engine:
    """An empty registry database: DuckDB (a local store's) or PostgreSQL (a team store's)."""
    if dialect == "duckdb":
        return sa.create_engine(f"duckdb:///{tmp_path / 'registry.duckdb'}")
    postgres = request.getfixturevalue("team_backends").postgres
    url = postgres.create_database(f"migrate_{tmp_path.name}"[:60].lower())
    return sa.create_engine(url, connect_args={"password": postgres.password})


@pytest.mark.parametrize("dialect", ["duckdb", pytest.param("postgresql", marks=pytest.mark.slow)])
def test_migration_0005_fills_the_layer_columns_of_existing_sets_and_goes_back(
    dialect, request, tmp_path
):
    """A registry made at 0004 upgrades: each set's encoder, layer and pooling come from its
    parameters, the family of a set named NAME/layer=L from its name (the one time a name is
    read); a downgrade drops the columns and keeps the shards and their foreign key."""
    engine = _registry_engine(dialect, request, tmp_path)
    table = sa.table(
        "feature_sets", *(sa.column(c) for c in ("name", "kind", "version", "fingerprint")),
        sa.column("params", sa.JSON), sa.column("inputs", sa.JSON), sa.column("status"),
        sa.column("code_version"), sa.column("created_at", sa.DateTime),
    )  # fmt: skip
    try:
        _upgrade_to(engine, "0004")
        with engine.begin() as conn:
            for (name, kind, params), _ in OLD_SETS:
                conn.execute(
                    table.insert().values(
                        name=name, kind=kind, version=1, fingerprint="f", params=params,
                        inputs={}, status="complete", code_version="mmemo 0.1.0",
                        created_at=sa.func.now(),
                    )
                )  # fmt: skip
            first = conn.exec_driver_sql("SELECT min(id) FROM feature_sets").scalar_one()
            conn.exec_driver_sql(
                "INSERT INTO feature_set_shards (feature_set_id, shard, shards, status, "
                f"created_at) VALUES ({first}, 0, 2, 'complete', now())"
            )
        assert migrate.upgrade(engine) == ["registry 0005", "registry 0006", "registry 0007"]
        with engine.begin() as conn:
            got = conn.exec_driver_sql(
                "SELECT name, encoder, layer, pooling, family FROM feature_sets ORDER BY id"
            ).fetchall()
        assert [tuple(row) for row in got] == [(old[0], *new) for old, new in OLD_SETS]

        with engine.begin() as conn:
            command.downgrade(_alembic(conn), "0004")
        with engine.begin() as conn:
            columns = conn.exec_driver_sql(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'feature_sets'"
            )
            assert not {c for (c,) in columns} & {"encoder", "layer", "pooling", "family"}
            shards = conn.exec_driver_sql("SELECT feature_set_id, shard FROM feature_set_shards")
            assert shards.fetchall() == [(first, 0)]
        with pytest.raises(sa.exc.DBAPIError, match="foreign key"), engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO feature_set_shards (feature_set_id, shard, shards, status, "
                "created_at) VALUES (9999, 0, 2, 'running', now())"
            )
        assert migrate.upgrade(engine) == ["registry 0005", "registry 0006", "registry 0007"]
    finally:
        engine.dispose()


#: RAVDESS's classes in the corpus's order (Livingstone & Russo, 2018), written out here: what
#: 0006 must record for a store holding RAVDESS clips, whatever mmemo's constants say.
RAVDESS_RECORD = [
    {"code": code, "label": label}
    for code, label in enumerate(
        ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"), start=1
    )
]


def _datasets(engine: sa.Engine) -> list[tuple[str, list]]:
    """(name, labels) of every ``datasets`` row, the JSON parsed whatever the driver gives."""
    import json

    with engine.begin() as conn:
        rows = conn.exec_driver_sql("SELECT name, labels FROM datasets ORDER BY name").fetchall()
    return [(name, json.loads(x) if isinstance(x, str) else x) for name, x in rows]


@pytest.mark.parametrize("dialect", ["duckdb", pytest.param("postgresql", marks=pytest.mark.slow)])
def test_migration_0006_records_ravdess_for_stores_that_hold_it_and_goes_back(
    dialect, request, tmp_path
):
    """A 0005 registry without ingests gets an empty ``datasets``; one with a RAVDESS ingest
    gets RAVDESS's record, its eight classes in order; a downgrade drops the table."""
    engine = _registry_engine(dialect, request, tmp_path)
    ingests = sa.table(
        "ingests", *(sa.column(c) for c in ("dataset", "status", "n_files", "n_added")),
        sa.column("sources", sa.JSON), sa.column("code_version"),
        sa.column("created_at", sa.DateTime),
    )  # fmt: skip
    try:
        _upgrade_to(engine, "0005")
        assert migrate.upgrade(engine) == ["registry 0006", "registry 0007"]
        assert _datasets(engine) == []  # nothing ingested: no dataset yet

        with engine.begin() as conn:
            command.downgrade(_alembic(conn), "0005")
            assert "datasets" not in sa.inspect(conn).get_table_names()
            conn.execute(
                ingests.insert().values(
                    dataset="ravdess", status="complete", n_files=2, n_added=2,
                    sources=["/corpus"], code_version="mmemo 0.1.0", created_at=sa.func.now(),
                )
            )  # fmt: skip
        assert migrate.upgrade(engine) == ["registry 0006", "registry 0007"]
        assert _datasets(engine) == [("ravdess", RAVDESS_RECORD)]
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.exec_driver_sql(  # one record per dataset
                "INSERT INTO datasets (name, labels, created_at) VALUES ('ravdess', '[]', now())"
            )
    finally:
        engine.dispose()


def test_a_migrated_store_serves_ravdess_vocabulary_to_its_sessions(ingested_store) -> None:
    """An ingested store taken back to 0005 (as an older mmemo left it) and migrated: its
    sessions' ``emotions`` and ``emotion_label`` read the back-filled record."""
    with ingested_store.session(write=True, check_schema=False) as s, s.engine.begin() as conn:
        command.downgrade(_alembic(conn), "0005")
    assert ingested_store.upgrade() == ["registry 0006", "registry 0007"]
    with ingested_store.session() as s:
        table = s.fetch("SELECT emotion, label, dataset FROM emotions ORDER BY emotion")
        labels = s.fetch("SELECT DISTINCT emotion, emotion_label(emotion), label FROM clips")
    assert table == [(r["code"], r["label"], "ravdess") for r in RAVDESS_RECORD]
    assert len(labels) == 8 and all(named == label for _, named, label in labels)


def test_runs_record_their_dataset_and_0007_back_fills_older_runs(zeror_store, run_row) -> None:
    """A run records the dataset of its clips (its classes are that vocabulary's); a store
    taken back to 0006 (runs without the column) and migrated gets its one dataset on every
    run, and reports read the run's own record."""
    assert run_row(zeror_store, "zeror").dataset == "ravdess"
    with zeror_store.session(write=True, check_schema=False) as s, s.engine.begin() as conn:
        command.downgrade(_alembic(conn), "0006")
        columns = {
            c
            for (c,) in conn.exec_driver_sql(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'runs'"
            )
        }
    assert "dataset" not in columns
    assert zeror_store.upgrade() == ["registry 0007"]
    assert run_row(zeror_store, "zeror").dataset == "ravdess"
    from mmemo.reports.report import summarize_runs

    (summary,) = summarize_runs(zeror_store, ["zeror"])
    assert summary.labels[0] == "neutral"


@pytest.mark.local_only("edits the local registry or catalog file")
def test_a_store_from_a_newer_mmemo_is_refused(cli, store, store_state):
    set_registry_revision(store, "9999_from_the_future")
    for args in (("tables",), ("sql", "SELECT 1"), ("gc",), ("migrate",), ("init",)):
        result = cli("--store", store.root, *args)
        assert result.code == 2, args
        assert "created by a newer mmemo" in result.err_text, args
        assert "9999_from_the_future" in result.err_text
    with pytest.raises(StoreError, match="created by a newer mmemo"), store.session():
        pass


@pytest.fixture()
def newer_migrations(tmp_path, monkeypatch):
    """This mmemo's migrations plus a revision 9000 (adds runs.note): makes today's stores old."""
    folder = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "versions" / "9000_test_note.py").write_text(
        textwrap.dedent(
            f'''
            """Test-only revision: a note on runs."""
            import sqlalchemy as sa
            from alembic import op

            revision = "9000"
            down_revision = "{migrate.head()}"
            branch_labels = None
            depends_on = None


            def upgrade():
                op.add_column("runs", sa.Column("note", sa.Text))


            def downgrade():
                op.drop_column("runs", "note")
            '''
        )
    )
    monkeypatch.setattr(migrate, "migrations_dir", lambda: folder)
    assert migrate.head() == "9000"
    return folder


@pytest.mark.slow
def test_an_older_store_asks_for_migrate_and_migrate_upgrades_it(
    cli, ingested_store, store_state, newer_migrations
):
    before = store_state(ingested_store)
    result = cli("--store", ingested_store.root, "sql", "SELECT count(*) AS n FROM clips")
    assert result.code == 2
    assert "run `mmemo migrate`" in result.err_text
    assert "9000" in result.err_text
    assert store_state(ingested_store) == before  # refused without touching it

    migrated = cli("--store", ingested_store.root, "migrate")
    assert migrated.code == 0, migrated.err
    assert "registry 9000" in migrated.out_text

    result = cli("--store", ingested_store.root, "sql", "SELECT count(*) AS n FROM clips")
    assert result.code == 0, result.err
    assert "624" in result.out
    with ingested_store.session() as s:
        assert migrate.current(s.engine) == "9000"
        columns = s.fetch("SELECT column_name FROM duckdb_columns() WHERE table_name = 'runs'")
        assert ("note",) in columns
    again = cli("--store", ingested_store.root, "migrate")
    assert again.code == 0
    assert "already up to date" in again.out_text


def test_a_store_moved_to_another_folder_still_opens(ingested_store, tmp_path):
    moved = tmp_path / "moved-store"
    shutil.copytree(ingested_store.root, moved)
    shutil.rmtree(ingested_store.root)
    store = Store.open(moved)
    with store.session() as s:
        assert s.fetch("SELECT count(*) FROM clips") == [(624,)]


@pytest.mark.local_only("edits the local registry or catalog file")
def test_an_unopenable_lake_is_a_store_error_not_a_crash(cli, ingested_store, tmp_path):
    moved = tmp_path / "moved-store"
    shutil.copytree(ingested_store.root, moved)
    (moved / "lake.ducklake").write_bytes(b"this is not a duckdb file" * 100)
    result = cli("--store", moved, "tables")
    assert result.code == 2
    assert "lake.ducklake" in result.err_text


def test_the_head_written_in_the_migration_files_is_alembics_head() -> None:
    """Opening a store at head compares its stamp with the files' head, without Alembic."""
    assert migrate.written_head() == migrate.head()


def test_a_session_on_a_store_at_head_does_not_import_alembic(tmp_path) -> None:
    """Every command opens a session; at head it must not pay Alembic's import (0.2 s)."""
    Store.init(tmp_path / "s")
    code = (
        "import sys\nfrom mmemo.store.store import Store\n"
        f"with Store.open({str(tmp_path / 's')!r}).session():\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_older_registry_is_still_refused_without_the_alembic_shortcut(tmp_path) -> None:
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'registry.duckdb'}")
    try:
        _upgrade_to(engine, "0003")
        with pytest.raises(StoreError, match="has registry schema 0003.*run `mmemo migrate`"):
            migrate.check(engine, tmp_path)
        migrate.upgrade(engine)
        migrate.check(engine, tmp_path)  # at head: passes
    finally:
        engine.dispose()
