"""What the team backends need: DuckDB extensions loaded from their PyPI packages, S3
credentials from the environment, and model files on the data location (local or S3); and how
every writer of the store tells that a disk is full (:func:`out_of_space`).

Extensions are never ``INSTALL``-ed: each ``duckdb-extension-*`` package ships the binary built
for one duckdb version, and it is loaded from that file.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from mmemo.errors import StoreError
from mmemo.sqltext import literal as sql_literal

#: extension -> (PyPI package, the name DuckDB derives its entry point from)
EXTENSIONS = {
    "ducklake": ("duckdb-extension-ducklake", "ducklake"),
    "postgres": ("duckdb-extension-postgres", "postgres_scanner"),
    "httpfs": ("duckdb-extension-httpfs", "httpfs"),
}


def extension_file(name: str) -> Path:
    """The binary of DuckDB extension ``name`` from its PyPI package, for this duckdb.

    DuckDB finds an extension's entry point from the file name; where a package names the
    file differently (postgres ships ``postgres.duckdb_extension`` for ``postgres_scanner``),
    a correctly named link to it in the user's cache is returned.
    """
    package, entry = EXTENSIONS[name]
    try:
        module = importlib.import_module(package.replace("-", "_"))
    except ImportError:
        hint = "mmemo[team]" if name != "ducklake" else "mmemo"
        raise StoreError(
            f"the {name} extension needs the {package}=={duckdb.__version__} package "
            f"(pip install '{hint}')"
        ) from None
    base = Path(module.__file__).parent / "extensions"
    found = sorted(base.glob(f"v{duckdb.__version__}/*.duckdb_extension"))
    if not found:
        available = sorted(p.parent.name for p in base.glob("*/*.duckdb_extension"))
        raise StoreError(
            f"{package} has no build for duckdb {duckdb.__version__} "
            f"(has {', '.join(available) or 'none'}); install matching versions"
        )
    file = found[0]
    if file.stem == entry:
        return file
    return _named_link(file, f"{entry}.duckdb_extension")


def _named_link(target: Path, name: str) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "mmemo" / "extensions" / f"v{duckdb.__version__}"
    link = folder / name
    if link.exists() and link.resolve() == target.resolve():
        return link
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:  # atomic: other processes may race
        staged = Path(tmp) / name
        try:
            staged.symlink_to(target)
        except OSError:
            shutil.copyfile(target, staged)
        staged.replace(link)
    return link


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.execute(f"LOAD {sql_literal(str(extension_file(name)))}")


#: How the C library words ENOSPC. DuckDB reports its IO errors as text only (an IOException,
#: or a TransactionException when a COMMIT cannot write its log), and so do PostgreSQL and
#: pyarrow: these words in the message are all there is to go by.
NO_SPACE = os.strerror(errno.ENOSPC)


def out_of_space(exc: BaseException | None) -> bool:
    """Whether ``exc``, or an exception it was raised from, says that a disk is full.

    Only explicit causes (``raise ... from``, as SQLAlchemy wraps a driver's error) are
    followed, not the exceptions being handled when ``exc`` was raised: a failure while
    cleaning up after a full disk is not itself a full disk.
    """
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if NO_SPACE in str(exc):
            return True
        exc = exc.__cause__
    return False


def no_space_error(root: Path, doing: str) -> StoreError:
    """The one line a full disk gives: the store, what was being written, what to do."""
    return StoreError(
        f"store {root}: no space left on device while {doing}; free space and run it again"
    )


#: Model artefacts of run N live in ``models/run-N/`` (here and on a team store's data location).
RUN_FOLDER_PREFIX = "run-"


def run_folder(run_id: int) -> str:
    """The name of run ``run_id``'s artefact folder under ``models/``: the one place it is
    spelled."""
    return f"{RUN_FOLDER_PREFIX}{run_id}"


@dataclass(frozen=True)
class S3Settings:
    """S3 access from the standard AWS environment variables."""

    key_id: str | None
    secret: str | None
    region: str
    endpoint: str | None  # host[:port] of an S3-compatible server; None for AWS
    use_ssl: bool

    @classmethod
    def from_env(cls) -> S3Settings:
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        use_ssl = True
        if endpoint:
            parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
            use_ssl = parts.scheme != "http"
            endpoint = parts.netloc
        return cls(
            key_id=os.environ.get("AWS_ACCESS_KEY_ID"),
            secret=os.environ.get("AWS_SECRET_ACCESS_KEY"),
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "",
            endpoint=endpoint or None,
            use_ssl=use_ssl,
        )


def create_s3_secret(con: duckdb.DuckDBPyConnection) -> None:
    """Give DuckDB (httpfs) the environment's S3 credentials, for this connection only."""
    s3 = S3Settings.from_env()
    options = ["TYPE s3"]
    if s3.key_id and s3.secret:
        options += [f"KEY_ID {sql_literal(s3.key_id)}", f"SECRET {sql_literal(s3.secret)}"]
    if s3.region:
        options.append(f"REGION {sql_literal(s3.region)}")
    if s3.endpoint:
        options += [f"ENDPOINT {sql_literal(s3.endpoint)}", "URL_STYLE 'path'"]
    options.append(f"USE_SSL {str(s3.use_ssl).lower()}")
    con.execute(f"CREATE OR REPLACE TEMPORARY SECRET mmemo_s3 ({', '.join(options)})")


def s3_filesystem():
    """A pyarrow S3 filesystem with the environment's settings (for model files)."""
    from pyarrow import fs

    s3 = S3Settings.from_env()
    return fs.S3FileSystem(
        access_key=s3.key_id,
        secret_key=s3.secret,
        region=s3.region or None,
        endpoint_override=s3.endpoint,
        scheme="https" if s3.use_ssl else "http",
    )


class Artefacts:
    """Model files of runs. Jobs write them under the store folder's ``models/``; where the
    store's data lives elsewhere (a shared folder or S3) they are published there, and read
    back into the folder on demand. Paths recorded in the registry are relative
    (``models/run-N/fold-0.joblib``), so they mean the same on every host."""

    def __init__(self, root: Path, data: str | None) -> None:
        self.root = root
        self.data = data

    @property
    def models(self) -> Path:
        return self.root / "models"

    def run_dir(self, run_id: int) -> Path:
        """The local folder of run ``run_id``'s model files."""
        return self.models / run_folder(run_id)

    def _remote(self):
        """(pyarrow filesystem, base path) of the shared data location, or None."""
        if self.data is None:
            return None
        from pyarrow import fs

        if self.data.startswith("s3://"):
            return s3_filesystem(), self.data[len("s3://") :]
        return fs.LocalFileSystem(), self.data

    def publish(self, run_dir: Path) -> None:
        """Copy a run's model folder to the shared data location (nothing for a local store)."""
        remote = self._remote()
        if remote is None or not run_dir.exists():
            return
        from pyarrow import fs

        filesystem, base = remote
        target = f"{base}/{run_dir.relative_to(self.root).as_posix()}"
        try:
            filesystem.create_dir(target, recursive=True)
            fs.copy_files(
                str(run_dir),
                target,
                source_filesystem=fs.LocalFileSystem(),
                destination_filesystem=filesystem,
            )
        except OSError as exc:  # the job that publishes removes what was copied of the run
            if out_of_space(exc):
                doing = f"publishing {run_dir.name} to {self.data}"
                raise no_space_error(self.root, doing) from None
            raise StoreError(f"could not publish {run_dir} to {self.data}: {exc}") from None

    def local(self, relative: str) -> Path:
        """The local path of a recorded model file or folder, fetched first if needed."""
        path = self.root / relative
        remote = self._remote()
        if path.exists() or remote is None:
            return path
        from pyarrow import fs

        filesystem, base = remote
        source = f"{base}/{relative}"
        info = filesystem.get_file_info(source)
        if info.type == fs.FileType.NotFound:
            raise StoreError(f"model file {relative} is missing from {self.data}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=path.parent) as tmp:  # a partial copy goes
                staged = Path(tmp) / path.name
                if info.type == fs.FileType.Directory:
                    staged.mkdir()
                fs.copy_files(
                    source,
                    str(staged),
                    source_filesystem=filesystem,
                    destination_filesystem=fs.LocalFileSystem(),
                )
                staged.replace(path)
        except OSError as exc:
            if out_of_space(exc):
                raise no_space_error(self.root, f"fetching {relative} from {self.data}") from None
            raise
        return path

    def run_dirs(self) -> set[str]:
        """Names of the run folders (``run-N``) in the folder and on the data location."""
        pattern = f"{RUN_FOLDER_PREFIX}*"
        names = {p.name for p in self.models.glob(pattern)} if self.models.is_dir() else set()
        remote = self._remote()
        if remote is not None:
            from pyarrow import fs

            filesystem, base = remote
            selector = fs.FileSelector(f"{base}/models", allow_not_found=True)
            names |= {
                Path(i.path).name
                for i in filesystem.get_file_info(selector)
                if Path(i.path).name.startswith(RUN_FOLDER_PREFIX)
            }
        return names

    def remove_files(self, run_dir: Path, patterns: list[str]) -> None:
        """Delete files of a run folder matching ``patterns`` (globs), here and on the data
        location (the folds of a run that one process failed to store)."""
        remote = self._remote()
        names = {p.name for pattern in patterns for p in run_dir.glob(pattern)}
        for name in names:
            path = run_dir / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
            if remote is not None:
                filesystem, base = remote
                target = f"{base}/{run_dir.relative_to(self.root).as_posix()}/{name}"
                with contextlib.suppress(OSError):
                    filesystem.delete_file(target)
                with contextlib.suppress(OSError):
                    filesystem.delete_dir(target)

    def remove(self, name: str) -> None:
        """Delete run folder ``name`` here and on the data location."""
        shutil.rmtree(self.models / name, ignore_errors=True)
        remote = self._remote()
        if remote is not None:
            filesystem, base = remote
            with contextlib.suppress(OSError):  # FileNotFoundError included
                filesystem.delete_dir(f"{base}/models/{name}")
