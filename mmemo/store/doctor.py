"""``mmemo doctor``: what a store's parts are, whether they can be reached, and their state."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import duckdb

from mmemo.errors import MmemoError
from mmemo.provenance import code_version, library_versions
from mmemo.store import migrate
from mmemo.store.store import Store, ducklake_extension


@dataclass
class Check:
    part: str
    ok: bool
    detail: str


def diagnose(store: Store) -> list[Check]:
    """Check each part of the store and the machine's ability to run jobs; never raises for
    a problem it can describe."""
    checks = [Check("mmemo", True, code_version())]
    try:
        checks.append(Check("ducklake extension", True, str(ducklake_extension())))
    except MmemoError as exc:
        checks.append(Check("ducklake extension", False, str(exc)))
    versions = library_versions()
    pair = (versions.get("duckdb"), versions.get("duckdb-extension-ducklake"))
    checks.append(Check("duckdb / ducklake versions", pair[0] == pair[1], f"{pair[0]} / {pair[1]}"))
    checks.append(Check("registry file", store.paths.registry.is_file(), str(store.paths.registry)))
    checks.append(Check("lake catalog", store.paths.catalog.is_file(), str(store.paths.catalog)))
    checks.append(Check("lake data folder", store.paths.data.is_dir(), str(store.paths.data)))
    if store.exists():
        try:
            with store.session(check_schema=False) as s:
                revision = migrate.current(s.engine)
                pending = s.pending_lake_migrations()
                snapshot = s.current_snapshot()
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
        except (MmemoError, duckdb.Error) as exc:
            checks.append(Check("open store", False, str(exc).splitlines()[0]))
    checks.append(_torch_check())
    return checks


def _torch_check() -> Check:
    if importlib.util.find_spec("torch") is None:
        return Check("torch", False, "not installed: pip install 'mmemo[ml]' for deep models")
    import torch

    cuda = torch.cuda.is_available()
    where = f"CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s)" if cuda else "CPU only"
    return Check("torch", True, f"{torch.__version__}, {where}")
