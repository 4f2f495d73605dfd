"""Which exact checkpoint an encoder was loaded from, for the provenance of its features."""

from __future__ import annotations

import logging
import re
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


def files_stamp(source: str | Path) -> str | None:
    """A cheap stamp of a local checkpoint folder: its files' names, sizes and modification
    times (no bytes read), or None for a hub id. Equal stamps mean the weights hashed into the
    revision have not been touched, so a finished feature set can be recognised without
    loading (or hashing) a 1.2 GB checkpoint."""
    from mmemo.hashing import sha256_json

    local = Path(source)
    if not local.is_dir():
        return None
    entries = [
        [p.name, p.stat().st_size, p.stat().st_mtime_ns]
        for p in sorted(local.iterdir())
        if p.is_file()
    ]
    return f"files:{sha256_json(entries)}" if entries else None


def hub_revision(source: str, requested: str | None) -> str | None:
    """The commit a hub checkpoint would load from, without loading it: a full commit hash
    as given, else the hub's answer for the branch or tag, else (offline) the local cache's;
    None when none of these is known."""
    if requested and re.fullmatch(r"[0-9a-f]{40}", requested):
        return requested
    try:
        from huggingface_hub import HfApi, constants, try_to_load_from_cache
    except ImportError:
        return None
    if not constants.HF_HUB_OFFLINE:
        try:
            return HfApi().model_info(source, revision=requested, timeout=10).sha
        except Exception:  # offline or unknown: from_pretrained would use the cache too
            log.debug("hub did not answer for %s", source, exc_info=True)
    try:
        cached = try_to_load_from_cache(source, "config.json", revision=requested)
    except Exception:
        return None
    return Path(cached).parent.name if isinstance(cached, str) else None
