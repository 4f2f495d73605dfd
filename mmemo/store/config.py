"""Where a store's parts live: ``mmemo.toml`` in the store folder, overridden by environment.

A store has three parts. Each is local by default and can be shared for a team::

    [store]
    registry = "postgresql://mmemo@db.lab:5432/mmemo"   # default: registry.duckdb in the folder
    catalog = "postgresql://mmemo@db.lab:5432/mmemo"    # DuckLake catalog; default lake.ducklake
    data = "s3://emotion/mmemo"                         # lake files and models; default the folder

``MMEMO_REGISTRY``, ``MMEMO_CATALOG`` and ``MMEMO_DATA`` override the file. Credentials never go
in the config: PostgreSQL reads ``PGPASSWORD`` or ``~/.pgpass`` (libpq), S3 reads
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION`` and ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from mmemo.errors import StoreError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_FILE = "mmemo.toml"
ENV = {"registry": "MMEMO_REGISTRY", "catalog": "MMEMO_CATALOG", "data": "MMEMO_DATA"}
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


@dataclass(frozen=True)
class StoreConfig:
    """Locations of a store's parts; ``None`` means "in the store folder"."""

    registry: str | None = None
    catalog: str | None = None
    data: str | None = None

    @property
    def is_local(self) -> bool:
        return self.registry is None and self.catalog is None and self.data is None

    def with_overrides(self, **values: str | None) -> StoreConfig:
        return replace(self, **{k: v for k, v in values.items() if v})

    def check(self, where: str) -> StoreConfig:
        """Validate each location; return the config with URLs in their canonical form."""
        registry = self.registry and registry_url(self.registry, where)
        catalog = self.catalog and _catalog_location(self.catalog, where)
        data = self.data and _data_location(self.data, where)
        if registry and not (is_postgres(catalog) and data):
            # A shared registry with a per-folder catalog or data would be a store each
            # member sees differently.
            raise StoreError(
                f"{where}: a shared registry needs a shared catalog (PostgreSQL) and data "
                "location (s3://... or a shared folder): give --catalog and --data too"
            )
        return StoreConfig(registry, catalog, data)


def load_config(root: Path, *, environ: dict[str, str] | None = None) -> StoreConfig:
    """The config of the store folder ``root``: its ``mmemo.toml`` (if any), then overrides
    from the environment."""
    env = os.environ if environ is None else environ
    path = root / CONFIG_FILE
    config = StoreConfig()
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise StoreError(f"{path}: not a valid mmemo config: {exc}") from None
        section = data.get("store", {})
        unknown = sorted(set(section) - {f.name for f in fields(StoreConfig)}) + sorted(
            set(data) - {"store", "slurm"}
        )
        if unknown:
            raise StoreError(
                f"{path}: unknown key(s) {', '.join(unknown)}; "
                "expected [store] with registry, catalog, data (and [slurm] with options)"
            )
        if not all(isinstance(v, str) for v in section.values()):
            raise StoreError(f"{path}: registry, catalog and data must be strings")
        config = StoreConfig(**section)
    config = config.with_overrides(**{key: env.get(name) for key, name in ENV.items()})
    return config.check(str(path))


def slurm_options(root: Path) -> list[str]:
    """The default sbatch options of the store folder ``root``: ``options`` of the ``[slurm]``
    table of its ``mmemo.toml`` (a string, split as a shell would, or a list of strings)::

        [slurm]
        options = "--partition=gpu --gres=gpu:1 --time=04:00:00"
    """
    import shlex

    path = root / CONFIG_FILE
    if not path.is_file():
        return []
    try:
        section = tomllib.loads(path.read_text(encoding="utf-8")).get("slurm", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise StoreError(f"{path}: not a valid mmemo config: {exc}") from None
    unknown = sorted(set(section) - {"options"})
    if unknown:
        raise StoreError(
            f"{path}: [slurm] has unknown key(s) {', '.join(unknown)}; expected options"
        )
    options = section.get("options", [])
    if isinstance(options, str):
        return shlex.split(options)
    if isinstance(options, list) and all(isinstance(o, str) for o in options):
        return list(options)
    raise StoreError(f"{path}: [slurm] options must be a string or a list of strings")


def save_config(root: Path, config: StoreConfig) -> Path:
    """Write ``root/mmemo.toml`` (only the parts that are not local)."""
    config = config.check(str(root / CONFIG_FILE))
    lines = [
        "# mmemo store config: where the registry, the lake catalog and the data live.",
        "# Credentials come from the environment (PGPASSWORD, AWS_*), never from this file.",
        "[store]",
    ]
    for field in fields(StoreConfig):
        value = getattr(config, field.name)
        if value is not None:
            lines.append(f"{field.name} = {json.dumps(value)}")  # a JSON string is a TOML string
    path = root / CONFIG_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def is_postgres(url: str | None) -> bool:
    return url is not None and urlsplit(url).scheme in _POSTGRES_SCHEMES


def is_s3(location: str | None) -> bool:
    return location is not None and location.startswith("s3://")


#: Seconds to wait for a PostgreSQL server before giving up (unless the URL says otherwise).
CONNECT_TIMEOUT = 10


def libpq(url: str) -> str:
    """The libpq keyword string of a PostgreSQL URL (what DuckDB's postgres extension takes)."""
    parts = urlsplit(url)
    keywords = {
        "host": parts.hostname,
        "port": parts.port,
        "user": unquote(parts.username) if parts.username else None,
        "dbname": unquote(parts.path.lstrip("/")) or None,
        "connect_timeout": CONNECT_TIMEOUT,
        **dict(parse_qsl(parts.query)),
    }
    return " ".join(f"{k}={libpq_value(str(v))}" for k, v in keywords.items() if v is not None)


def libpq_value(value: str) -> str:
    """A value in a libpq keyword string, quoted where needed."""
    if value and not any(c.isspace() or c in "'\\" for c in value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _no_password(url: str, part: str, where: str) -> None:
    parts = urlsplit(url)
    in_query = {k.lower() for k, _ in parse_qsl(parts.query)} & {"password", "sslpassword"}
    if parts.password is not None or in_query:
        raise StoreError(
            f"{where}: the {part} URL holds a password; remove it and set PGPASSWORD "
            "(or use ~/.pgpass) instead"
        )


def registry_url(url: str, where: str) -> str:
    if not is_postgres(url):
        raise StoreError(
            f"{where}: registry {url!r}: expected a PostgreSQL URL "
            "(postgresql://user@host:port/db) or no registry key for the local file"
        )
    _no_password(url, "registry", where)
    _, _, rest = url.partition("://")
    return f"postgresql+psycopg://{rest}"


def _catalog_location(location: str, where: str) -> str:
    if is_postgres(location):
        _no_password(location, "catalog", where)
        _, _, rest = location.partition("://")
        return f"postgresql://{rest}"
    if "://" in location:
        raise StoreError(
            f"{where}: catalog {location!r}: expected a PostgreSQL URL or a DuckDB file path"
        )
    return str(Path(location).expanduser().absolute())


def _data_location(location: str, where: str) -> str:
    if is_s3(location):
        bucket, _, prefix = location[len("s3://") :].partition("/")
        if not bucket:
            raise StoreError(f"{where}: data {location!r}: no bucket (s3://bucket/prefix)")
        return f"s3://{bucket}/{prefix.strip('/')}".rstrip("/")
    if "://" in location:
        raise StoreError(f"{where}: data {location!r}: expected a folder or s3://bucket/prefix")
    return str(Path(location).expanduser().absolute())
