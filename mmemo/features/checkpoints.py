"""Which exact checkpoint an encoder was loaded from, for the provenance of its features."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mmemo.hashing import sha256_files

log = logging.getLogger(__name__)

#: Files whose bytes are a local checkpoint's weights (hashed to name its version).
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")


def resolve_revision(model: Any, source: str, requested: str | None) -> tuple[str | None, str]:
    """The checkpoint's exact version: hub commit, or a hash of a local directory's weights."""
    local = Path(source)
    if local.is_dir():
        files = sorted(
            p for p in local.iterdir() if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES)
        )
        if files:
            return f"sha256:{sha256_files(files, names=True)}", "sha256"
    commit = getattr(model.config, "_commit_hash", None) or hub_commit(source, requested)
    if commit:
        return str(commit), "hub"
    if requested:
        return requested, "requested"
    return None, "unknown"


def hub_commit(source: str, requested: str | None) -> str | None:
    """The commit of a hub checkpoint, read from the local cache that loading just filled."""
    try:
        from transformers.utils.hub import cached_file, extract_commit_hash

        resolved = cached_file(
            source,
            "config.json",
            revision=requested,
            local_files_only=True,
            _raise_exceptions_for_missing_entries=False,
        )
        return extract_commit_hash(resolved, None) if resolved else None
    except Exception:  # an unusual cache layout only costs the commit hash
        log.debug("no commit hash found for %s", source, exc_info=True)
        return None
