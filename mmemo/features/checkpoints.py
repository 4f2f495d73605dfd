"""Which checkpoint a model name means, and which exact version an encoder was loaded from.

:func:`resolve_checkpoint` runs before a job reads any data (clips, audio): a checkpoint is a
local folder or a Hugging Face hub id, and only these outcomes are possible, each one line:

1. A path that exists is a folder holding ``config.json`` (else: not a checkpoint folder).
2. A name that is not a valid hub id (``./xlsr-checkpoint``, ``/data/xlsr``) and does not
   exist is a missing folder -- not the ``OSError: Repo id must use alphanumeric chars`` that
   ``from_pretrained`` raises after the audio has been decoded.
3. A hub id is asked about once, with the hub's own metadata timeout
   (``HF_HUB_ETAG_TIMEOUT``) and no retries. An unreachable hub fails at once, naming the fix
   (a local folder, or ``HF_HUB_OFFLINE=1`` with the model in the cache), instead of the five
   backed-off retries (1+2+4+8+8 s, six "Retrying in 1s [Retry 1/5]" lines) that
   ``huggingface_hub`` makes for a file it has no local copy of.
4. A hub id already in the local cache loads from there when the hub cannot be reached.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from mmemo.errors import InputError, NotFoundError, first_line
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


def resolve_checkpoint(source: str | Path, revision: str | None = None) -> str:
    """Check that ``source`` names a loadable checkpoint, before any data is read (see the
    module docstring); return the name to load it by and record: ``source`` as given, with a
    leading ``~`` expanded (``from_pretrained`` would read ``~/xlsr`` as a hub id).

    When the hub cannot be reached but the model is in the local cache, the rest of this
    process loads from the cache (huggingface_hub's ``HF_HUB_OFFLINE``, switched on here):
    otherwise every optional file ``from_pretrained`` probes for and the cache lacks
    (``adapter_config.json``, ...) would cost those five retries again.

    Raises:
        InputError: a missing folder, a folder without ``config.json``, a file, or a hub id
            the hub cannot be asked about and the cache lacks.
        NotFoundError: the hub has no such model (or revision).
    """
    text = str(source)
    local = Path(text).expanduser()
    if local.exists():
        if not local.is_dir():
            raise InputError(f"model '{text}' is a file; give the checkpoint's folder")
        if not (local / "config.json").is_file():
            raise InputError(
                f"model folder '{text}' has no config.json: not a checkpoint folder "
                "(written by save_pretrained)"
            )
        return str(local) if text.startswith("~") else text
    try:
        from huggingface_hub import constants
        from huggingface_hub.errors import HFValidationError
        from huggingface_hub.utils import validate_repo_id
    except ImportError:
        return text  # without huggingface_hub nothing loads; import_ml() says what to install
    try:
        validate_repo_id(text)
    except HFValidationError:  # a path (./xlsr, /data/xlsr), not a hub id
        raise InputError(f"model '{text}': no such folder ({local.absolute()})") from None
    cached = _in_cache(text, revision)
    if constants.HF_HUB_OFFLINE:
        if cached:
            return text
        raise InputError(
            f"model '{text}' is neither a local folder nor in the Hugging Face cache, and "
            "HF_HUB_OFFLINE is set: download it where there is network, or give a local folder"
        )
    problem = _ask_hub(text, revision)
    if problem is None:
        return text
    if cached:
        log.warning("%s; loading '%s' from the local cache", problem, text)
        constants.HF_HUB_OFFLINE = True
        return text
    raise InputError(
        f"model '{text}' is not a local folder and {problem}; give a checkpoint folder, or "
        "download the model where there is network (then HF_HUB_OFFLINE=1 loads it from "
        "the cache)"
    )


def _in_cache(repo_id: str, revision: str | None) -> bool:
    """Whether the local hub cache holds the model's ``config.json`` (at ``revision``)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, "config.json", revision=revision), str)
    except Exception:  # an unusual cache layout: as if not cached
        log.debug("cache lookup failed for %s", repo_id, exc_info=True)
        return False


def _ask_hub(repo_id: str, revision: str | None) -> str | None:
    """None when the hub knows the model; what went wrong when it cannot be asked.

    Raises:
        NotFoundError: the hub answered that it has no such model or revision.
    """
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    try:  # one request, no retries (model_info does not back off)
        HfApi().model_info(repo_id, revision=revision, timeout=constants.HF_HUB_ETAG_TIMEOUT)
    except RevisionNotFoundError:
        raise NotFoundError(f"model '{repo_id}' has no revision '{revision}' on the hub") from None
    except RepositoryNotFoundError:
        raise NotFoundError(
            f"model '{repo_id}': no such local folder, and no such model on the Hugging Face "
            "hub (or it is private: log in with `hf auth login`)"
        ) from None
    except Exception as exc:  # connection refused, DNS, timeout, HTTP 5xx
        reason = first_line(exc)
        return f"the Hugging Face hub ({constants.ENDPOINT}) cannot be reached ({reason})"
    return None
