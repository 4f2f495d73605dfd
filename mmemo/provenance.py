"""What a registry entry records about the code and machine that made it."""

from __future__ import annotations

import os
import socket
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

import mmemo

_LIBRARIES = (
    "duckdb",
    "duckdb-extension-ducklake",
    "sqlalchemy",
    "numpy",
    "pyarrow",
    "scikit-learn",
    "torch",
    "transformers",
)


@cache
def code_version() -> str:
    """``mmemo <version>``, plus the git commit (and ``-dirty``) when run from a checkout."""
    version = f"mmemo {mmemo.__version__}"
    root = Path(mmemo.__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return version
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version} ({commit})" if commit else version


@cache
def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a result depends on (absent ones are omitted)."""
    found = {}
    for name in _LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def process_identity() -> tuple[int, str]:
    """(pid, host) of this process, stored with running jobs so `mmemo gc` can tell orphans."""
    return os.getpid(), socket.gethostname()


def pid_alive(pid: int | None, host: str | None) -> bool:
    """True when ``pid`` on ``host`` still runs (assumed alive when on another host)."""
    if pid is None:
        return False
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
