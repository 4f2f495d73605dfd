"""Tests of the throwaway PostgreSQL and S3 (moto) servers of the team-mode tests."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from mmemo.testing.servers import (
    PostgresServer,
    S3Server,
    find_postgres_bin,
    port_open,
    postgres_server,
    s3_server,
)

#: Every test here starts a PostgreSQL or an S3 server (or both).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    if find_postgres_bin() is None:
        pytest.skip("no PostgreSQL server binary (initdb) found on PATH or in /usr/lib/postgresql")
    with postgres_server() as server, pytest.MonkeyPatch.context() as env:
        env.setenv("PGPASSWORD", server.password)
        yield server


def test_postgres_refuses_a_client_without_the_password(pg: PostgresServer, monkeypatch) -> None:
    import psycopg

    monkeypatch.delenv("PGPASSWORD")
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(pg.libpq("postgres"), connect_timeout=5).close()


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


def _extension(package: str) -> Path:
    """The ``.duckdb_extension`` file of a ``duckdb_extension_*`` package for this duckdb."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{package} is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "extensions"
    files = sorted((folder / f"v{duckdb.__version__}").glob("*.duckdb_extension"))
    if not files:
        pytest.fail(f"no {package} extension file for duckdb {duckdb.__version__} in {folder}")
    return files[0]


def _duckdb() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that never downloads an extension."""
    return duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )


def test_postgres_database_psycopg_and_sqlalchemy(pg: PostgresServer) -> None:
    import psycopg
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:8]}"
    url = pg.create_database(name)
    assert url == f"postgresql+psycopg://mmemo@127.0.0.1:{pg.port}/{name}"
    assert pg.libpq(name) == f"host=127.0.0.1 port={pg.port} user=mmemo dbname={name}"
    with psycopg.connect(pg.libpq(name)) as conn:
        row = conn.execute("SELECT current_database(), current_user, 1 + 1").fetchone()
        assert row == (name, "mmemo", 2)
        assert conn.execute("SHOW server_encoding").fetchone() == ("UTF8",)
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (x int)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1), (2)"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT sum(x) FROM t")).scalar_one() == 3
    finally:
        engine.dispose()


def test_postgres_is_gone_after_exit(tmp_path: Path) -> None:
    if find_postgres_bin() is None:
        pytest.skip("no PostgreSQL server binary (initdb) found on PATH or in /usr/lib/postgresql")
    with postgres_server(tmp_path) as server:
        assert port_open(server.port)
        assert (server.root / "data" / "PG_VERSION").is_file()
    assert not port_open(server.port)
    assert not server.root.exists()


def test_s3_put_get(s3: S3Server) -> None:
    assert s3.endpoint == f"http://127.0.0.1:{s3.port}"
    assert s3.env["AWS_ENDPOINT_URL"] == s3.endpoint
    assert s3.env["AWS_REGION"] == "us-east-1"
    bucket = f"b-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(bucket)
    client = s3.client()
    client.put_object(Bucket=bucket, Key="a/b.txt", Body=b"hello")
    assert client.get_object(Bucket=bucket, Key="a/b.txt")["Body"].read() == b"hello"


def test_s3_server_is_gone_after_exit() -> None:
    with s3_server() as server:
        assert port_open(server.port)
    assert not port_open(server.port)


def test_duckdb_httpfs_through_s3(s3: S3Server) -> None:
    bucket = f"duck-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(bucket)
    con = _duckdb()
    con.execute(f"LOAD '{_extension('duckdb_extension_httpfs')}'")
    env = s3.env
    con.execute(
        f"CREATE SECRET (TYPE s3, KEY_ID '{env['AWS_ACCESS_KEY_ID']}', "
        f"SECRET '{env['AWS_SECRET_ACCESS_KEY']}', REGION '{env['AWS_REGION']}', "
        f"ENDPOINT '127.0.0.1:{s3.port}', URL_STYLE 'path', USE_SSL false)"
    )
    con.execute(f"COPY (SELECT 42 AS x) TO 's3://{bucket}/x.parquet'")
    assert con.execute(f"SELECT x FROM 's3://{bucket}/x.parquet'").fetchall() == [(42,)]
    keys = [o["Key"] for o in s3.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["x.parquet"]


def test_duckdb_postgres_attach(pg: PostgresServer, tmp_path: Path) -> None:
    name = f"t_{uuid.uuid4().hex[:8]}"
    pg.create_database(name)
    # The file is postgres.duckdb_extension; its entry point is postgres_scanner's.
    link = tmp_path / "postgres_scanner.duckdb_extension"
    link.symlink_to(_extension("duckdb_extension_postgres"))
    con = _duckdb()
    con.execute(f"LOAD '{link}'")
    con.execute(f"ATTACH '{pg.libpq(name)}' AS pg (TYPE postgres)")
    con.execute("CREATE TABLE pg.t AS SELECT range AS x FROM range(3)")
    assert con.execute("SELECT sum(x) FROM pg.t").fetchone() == (3,)
    con.close()

    import psycopg

    with psycopg.connect(pg.libpq(name)) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (3,)
