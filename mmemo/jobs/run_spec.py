"""What a run is before it runs (:class:`RunSpec`) and what a finished run (or one process's
part of it) reports (:class:`RunInfo`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmemo.hashing import sha256_json
from mmemo.jobs.cv import CVData
from mmemo.models.base import FoldResult
from mmemo.provenance import library_versions


@dataclass
class RunSpec:
    """What a run is, before it runs."""

    name: str
    kind: str
    model: str
    params: dict[str, Any]
    inputs: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    device: str = "cpu"

    def fields(self, cv: CVData) -> dict[str, Any]:
        """Registry fields of the run on ``cv`` before it has results."""
        return {
            "name": self.name,
            "kind": self.kind,
            "model": self.model,
            "params": self.params,
            "inputs": {**self.inputs, "clips_snapshot": cv.snapshot_id, **_labels(cv)},
            "scheme": cv.scheme,
            "clips": cv.clips,
            "dataset": cv.vocabulary.dataset,
            "seed": self.seed,
            "classes": [],
            "score_kind": "",
            "fold_seconds": [],
            "artefacts": [],
            "versions": library_versions(),
            "device": self.device,
        }

    def work_dir(self, models: Path, cv: CVData) -> Path:
        """Where finished folds of a long job wait until the run is stored (keyed by all that
        defines the run, so only the very same job resumes from them)."""
        key = [
            self.name,
            self.model,
            self.params,
            self.inputs,
            self.seed,
            cv.scheme,
            cv.clips,
            cv.clip_ids.tolist(),
        ]
        return models / ".work" / sha256_json(key)[:16]


def _labels(cv: CVData) -> dict[str, Any]:
    """A label-mapped run records the map and how many selected clips it left out."""
    if cv.label_map is None:
        return {}
    return {"labels": {"map": cv.label_map.name, "left_out": cv.left_out}}


@dataclass(frozen=True)
class Execution:
    """How a run's folds are trained, apart from what the run is.

    Attributes:
        resumable: keep finished folds under ``models/.work/`` so that re-running the same job
            after a crash continues with the next fold.
        extra_rows: more lake rows to store with the posteriors, from the run id and the
            fold results (the bi-LSTM's attention weights).
        write: store the run (False on the non-zero ranks of a distributed job, which only
            take part in training).
        inner: K actor-disjoint inner folds per fold, for out-of-fold scores of the training
            clips (split ``oof``; K more trainings per fold), seeded by the run's seed.
    """

    resumable: bool = False
    extra_rows: Callable[[int, dict[int, FoldResult]], dict[str, Any]] | None = None
    write: bool = True
    inner: int | None = None


@dataclass
class RunInfo:
    """A finished run (or, with ``--folds``, this process's part of one)."""

    id: int
    name: str
    snapshot_id: int | None  # None: a part of a run that waits for other folds
    n_clips: int
    fold_seconds: list[float]
    wall_seconds: float
    waiting: list[int] = field(default_factory=list)  # folds other processes have yet to store
