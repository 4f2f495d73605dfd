"""mmemo: multimodal emotion recognition research on a versioned store.

From Python::

    import mmemo

    with mmemo.open("./demo-store") as store:
        store.sql("SELECT label, count(*) FROM clips GROUP BY label").df()
        fm = store.features.load("aus:mean", clips="av-speech")
        for train_idx, test_idx in fm.folds("luna2022"):
            ...
        (run,) = store.train(mmemo.StaticSpec.one(model="svc", features="aus:mean", name="s"))

Everything here is imported on first use (:mod:`mmemo.api`, the job specs), so ``import mmemo``
loads neither DuckDB nor PyTorch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public names → the module that defines them (imported on first access).
_EXPORTS = {
    "open": "mmemo.api",
    "Store": "mmemo.api",
    "Run": "mmemo.api",
    "FeatureMatrix": "mmemo.api",
    "ClipDataset": "mmemo.api",
    "StaticSpec": "mmemo.jobs.specs",
    "BiLSTMSpec": "mmemo.jobs.specs",
    "FinetuneSpec": "mmemo.jobs.specs",
    "FuseSpec": "mmemo.jobs.specs",
    "ImportSpec": "mmemo.jobs.specs",
    "EmbedSpec": "mmemo.features.embed",
    "AuIngestSpec": "mmemo.features.openface",
    "MmemoError": "mmemo.errors",
    "InputError": "mmemo.errors",
}

if TYPE_CHECKING:
    from mmemo.api import ClipDataset, FeatureMatrix, Run, Store, open
    from mmemo.errors import InputError, MmemoError
    from mmemo.features.embed import EmbedSpec
    from mmemo.features.openface import AuIngestSpec
    from mmemo.jobs.specs import BiLSTMSpec, FinetuneSpec, FuseSpec, ImportSpec, StaticSpec


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mmemo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "AuIngestSpec",
    "BiLSTMSpec",
    "ClipDataset",
    "EmbedSpec",
    "FeatureMatrix",
    "FinetuneSpec",
    "FuseSpec",
    "ImportSpec",
    "InputError",
    "MmemoError",
    "Run",
    "StaticSpec",
    "Store",
    "__version__",
    "open",
]
