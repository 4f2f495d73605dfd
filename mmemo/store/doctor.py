"""``mmemo doctor``: what a store's parts are, whether they can be reached, and their state."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import duckdb
import sqlalchemy as sa

from mmemo.errors import MmemoError
from mmemo.provenance import code_version, library_versions
from mmemo.store import migrate
from mmemo.store.backends import EXTENSIONS, extension_file, s3_filesystem
from mmemo.store.config import is_postgres, is_s3, registry_url
from mmemo.store.damage import unreadable
from mmemo.store.session import Session
from mmemo.store.store import Store, ducklake_extension
from mmemo.store.team import postgres_engine


@dataclass
class Check:
    part: str
    ok: bool
    detail: str


def diagnose(store: Store, *, deep: bool = False) -> list[Check]:
    """Check each part of the store and the machine's ability to run jobs; never raises for
    a problem it can describe.

    The store's DuckDB files are read back whole, and every file the lake references must be
    there with a readable parquet footer; ``deep`` reads every row of them too.
    """
    checks = [Check("mmemo", True, code_version())]
    try:
        checks.append(Check("ducklake extension", True, str(ducklake_extension())))
    except MmemoError as exc:
        checks.append(Check("ducklake extension", False, str(exc)))
    versions = library_versions()
    pair = (versions.get("duckdb"), versions.get("duckdb-extension-ducklake"))
    checks.append(Check("duckdb / ducklake versions", pair[0] == pair[1], f"{pair[0]} / {pair[1]}"))
    checks += _backend_checks(store)
    if store.exists():
        checks += [_read_back(path) for path in store.database_files() if path.is_file()]
        try:
            with store.session(check_schema=False) as s:
                revision = migrate.current(s.engine)
                pending = s.pending_lake_migrations()
                snapshot = s.current_snapshot()
                lake_files = _lake_files_check(s, deep=deep)
            head = migrate.head()
            checks.append(
                Check(
                    "registry schema",
                    revision == head,
                    f"at {revision}, this mmemo needs {head}"
                    + ("" if revision == head else ": run `mmemo migrate`"),
                )
            )
            checks.append(
                Check(
                    "lake schema",
                    not pending,
                    "up to date" if not pending else f"pending {', '.join(pending)}",
                )
            )
            checks.append(Check("lake snapshot", True, f"latest {snapshot}"))
            checks.append(lake_files)
        except (MmemoError, duckdb.Error, sa.exc.SQLAlchemyError) as exc:
            checks.append(Check("open store", False, str(exc).splitlines()[0]))
    checks.append(_torch_check())
    return checks


def _backend_checks(store: Store) -> list[Check]:
    """Whether each part of the store can be reached: files for the local defaults, the
    PostgreSQL servers (with their version) and the S3 bucket for shared ones."""
    config = store.config
    checks = []
    if config.registry is None:
        checks.append(
            Check("registry file", store.paths.registry.is_file(), str(store.paths.registry))
        )
    else:
        checks.append(_postgres_check("registry", config.registry))
    if config.catalog is None:
        checks.append(
            Check("lake catalog", store.paths.catalog.is_file(), str(store.paths.catalog))
        )
    elif is_postgres(config.catalog):
        checks.append(_postgres_check("lake catalog", config.catalog))
    else:
        checks.append(Check("lake catalog", Path(config.catalog).is_file(), config.catalog))
    data = store.lake_data_path()
    if is_s3(config.data):
        checks.append(_s3_check(data))
    else:
        checks.append(Check("lake data folder", Path(data).is_dir(), data))
    if config.registry is not None or is_postgres(config.catalog) or is_s3(config.data):
        for name in ("postgres", "httpfs"):
            try:
                path = extension_file(name)
                version = metadata.version(EXTENSIONS[name][0])
                ok = version == duckdb.__version__
                detail = f"{version} (duckdb {duckdb.__version__}), {path}"
                checks.append(Check(f"{name} extension", ok, detail))
            except MmemoError as exc:
                checks.append(Check(f"{name} extension", False, str(exc)))
    return checks


def _postgres_check(part: str, url: str) -> Check:
    try:
        engine = postgres_engine(registry_url(url, part))
    except MmemoError as exc:
        return Check(part, False, str(exc))
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("SHOW server_version")).scalar()
        return Check(part, True, f"{url} (PostgreSQL {version})")
    except sa.exc.SQLAlchemyError as exc:
        return Check(part, False, f"{url}: {str(exc.orig or exc).splitlines()[0]}")
    finally:
        engine.dispose()


def _s3_check(data: str) -> Check:
    from pyarrow import fs

    try:
        info = s3_filesystem().get_file_info(data[len("s3://") :].split("/")[0])
        ok = info.type == fs.FileType.Directory
        return Check("lake data (S3)", ok, data if ok else f"{data}: bucket not found")
    except OSError as exc:
        return Check("lake data (S3)", False, f"{data}: {str(exc).splitlines()[0]}")


def _read_back(path: Path) -> Check:
    """Whether a DuckDB file of the store reads back whole (a busy file counts as readable)."""
    problem = unreadable(path)
    return Check(f"{path.name} reads back", problem is None, problem or str(path))


def _lake_files_check(session: Session, *, deep: bool) -> Check:
    """Every data and delete file the lake's current tables reference: present, with a
    parquet footer that reads (``deep``: every row too). Names the first bad file."""
    con = session.con
    files: list[str] = []
    for table in session.lake_tables():
        rows = con.execute(
            "SELECT data_file, delete_file FROM ducklake_list_files('lake', ?)", [table]
        ).fetchall()
        files += [f for row in rows for f in row if f]
    bad = []
    for file in files:
        try:
            con.execute("SELECT count(*) FROM parquet_file_metadata(?)", [file]).fetchall()
            if deep:
                reader = con.execute("SELECT * FROM read_parquet(?)", [file]).to_arrow_reader()
                for _ in reader:
                    pass
        except duckdb.Error as exc:
            problem = str(exc).splitlines()[0]
            missing = "No files found" in problem or "No such file" in problem
            bad.append(f"{file}: {'missing' if missing else problem}")
    read = "read whole" if deep else "footers read"
    if not bad:
        return Check("lake files", True, f"{len(files)} file(s) referenced, all there ({read})")
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    return Check("lake files", False, f"{len(bad)} of {len(files)} bad: {bad[0]}{more}")


def _torch_check() -> Check:
    if importlib.util.find_spec("torch") is None:
        return Check("torch", False, "not installed: pip install 'mmemo[ml]' for deep models")
    import torch

    cuda = torch.cuda.is_available()
    where = f"CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s)" if cuda else "CPU only"
    return Check("torch", True, f"{torch.__version__}, {where}")
