"""Content hashes (sha256) of bytes, files, folders and JSON-able values: the one way mmemo
fingerprints what it stores, so that the same content always gives the same digest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_BLOCK = 1 << 20


def sha256_bytes(data: bytes | memoryview) -> str:
    """Hex sha256 of ``data`` (any contiguous buffer)."""
    return hashlib.sha256(data).hexdigest()


def sha256_json(value: Any) -> str:
    """Hex sha256 of ``value`` as canonical JSON (sorted keys; other objects as ``str``)."""
    return sha256_bytes(json.dumps(value, sort_keys=True, default=str).encode())


def _update_from_file(digest: Any, path: Path) -> None:
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    _update_from_file(digest, Path(path))
    return digest.hexdigest()


def sha256_files(
    paths: Iterable[Path], *, names: bool = False, relative_to: Path | None = None
) -> str:
    """Hex sha256 of several files' bytes in the given order; with ``names`` each file's name
    (relative to ``relative_to`` when given) goes in before its bytes, NUL-terminated."""
    digest = hashlib.sha256()
    for path in paths:
        path = Path(path)
        if names:
            label = str(path.relative_to(relative_to)) if relative_to is not None else path.name
            digest.update(label.encode() + b"\0")
        _update_from_file(digest, path)
    return digest.hexdigest()


def sha256_tree(path: Path) -> str:
    """Hex sha256 of a file, or of a folder's files (relative names and bytes, in name order)."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.relative_to(path.parent)).encode())
        _update_from_file(digest, file)
    return digest.hexdigest()
