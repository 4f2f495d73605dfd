"""Jobs as typed specs: what a job is, built once by whoever starts it.

A spec is a frozen dataclass of plain values (text, numbers, lists, dicts). The CLI, the Python
API, the demo and ``reproduce`` build one; :meth:`JobSpec.run` runs it in this process (or one
slice of its units: a run's folds, a grid's configurations); ``--slurm`` stores it in the
registry as JSON (:meth:`JobSpec.to_json`) and each array task reads it back
(:func:`spec_from_json`) and runs its slice. Nothing stores or rebuilds a command line.

Every value is checked when the spec is read from JSON (unknown fields, wrong types), before
any data is read; the job's own checks (a model name, a fold scheme) follow in :meth:`run`.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mmemo.errors import InputError
from mmemo.models.base import check_config_keys
from mmemo.progress import Progress
from mmemo.scheduler import Slice
from mmemo.store.store import Store

#: Spec classes by their ``job`` name (what the registry records).
SPECS: dict[str, type[JobSpec]] = {}


def _register(cls: type[JobSpec]) -> type[JobSpec]:
    if cls.job in SPECS:
        raise ValueError(f"job spec '{cls.job}' is already registered")
    SPECS[cls.job] = cls
    return cls


@dataclass(frozen=True, kw_only=True)
class JobSpec(ABC):
    """What every job spec has: the entry it makes and how its work is split."""

    #: The job's name, as the registry records it (``train static``).
    job: ClassVar[str]
    #: What one slice of the job takes: ``fold`` (a run's folds), ``config`` (a grid's
    #: configurations) or ``shard`` (a feature set's files or clips).
    unit: ClassVar[str]

    name: str

    @abstractmethod
    def run(
        self, store: Store, *, part: Slice | None = None, progress: Progress | None = None
    ) -> list[Any]:
        """Run the job in this process (only slice ``part`` of its units when given); return
        what it made (:class:`~mmemo.jobs.run_spec.RunInfo` per run)."""

    def to_json(self) -> dict[str, Any]:
        """The spec as JSON-ready values, with its ``job`` name."""
        return {"job": self.job, **dataclasses.asdict(self)}

    def describe(self) -> str:
        """One line for listings (``mmemo jobs``): the job and its fields that differ from
        the defaults."""
        shown = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            default = f.default if f.default is not dataclasses.MISSING else None
            if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                default = f.default_factory()  # type: ignore[misc]
            if f.name == "name" or value != default:
                shown.append(f"{f.name}={value}")
        return f"{self.job}: {', '.join(shown)}"


def spec_from_json(data: Mapping[str, Any]) -> JobSpec:
    """The spec that :meth:`JobSpec.to_json` wrote.

    Raises:
        InputError: an unknown job, unknown fields or values of the wrong type.
    """
    fields = dict(data)
    job = fields.pop("job", None)
    cls = SPECS.get(str(job))
    if cls is None:
        raise InputError(f"unknown job {job!r}; expected one of {', '.join(sorted(SPECS))}")
    check_config_keys(cls, fields, f"'{job}' spec")
    return cls(**_tuples(cls, fields))


def _tuples(cls: type, fields: dict[str, Any]) -> dict[str, Any]:
    """JSON lists back as the tuples a spec holds (a grid's configurations)."""
    if "grid" in fields and cls is StaticSpec:
        fields["grid"] = tuple((dict(params), str(norm)) for params, norm in fields["grid"])
    return fields


@dataclass(frozen=True, kw_only=True)
class TrainSpec(JobSpec):
    """What every training run has: its cross-validation and its seed.

    ``inner`` K adds out-of-fold scores of the training clips (split ``oof``) from K
    actor-disjoint inner folds per fold, for a stacked fusion.
    """

    scheme: str = "luna2022"
    clips: str | None = "av-speech"
    seed: int = 2020
    inner: int | None = None


@_register
@dataclass(frozen=True, kw_only=True)
class StaticSpec(TrainSpec):
    """``mmemo train static``: a scikit-learn model per fold, for every configuration of
    ``grid`` (``(params, norm)`` pairs; one configuration is stored under ``name``, several
    under ``name/k=v,...,norm=N``) and every feature set ``features`` names (a glob makes a
    probe grid). ``frames`` trains on every frame of a frame set (the paper's Appendix B)."""

    job: ClassVar[str] = "train static"
    unit: ClassVar[str] = "config"

    model: str
    grid: tuple[tuple[dict[str, Any], str], ...] = (({}, "none"),)
    features: str | None = None
    frames: bool = False

    @classmethod
    def one(cls, *, params: Mapping[str, Any] | None = None, norm: str = "none", **fields: Any):
        """The spec of one configuration: ``params`` and ``norm``."""
        return cls(grid=((dict(params or {}), norm),), **fields)

    @classmethod
    def parse(cls, *, param_specs: list[str], norms: list[str], **fields: Any) -> StaticSpec:
        """The spec of a grid given as ``K=V[,V...]`` texts × norms (``--param``, ``--norm``)."""
        from mmemo.params import parse_param_grid

        grid = tuple((params, norm) for params in parse_param_grid(param_specs) for norm in norms)
        return cls(grid=grid, **fields)

    def run(
        self,
        store: Store,
        *,
        part: Slice | None = None,
        progress: Progress | None = None,
        n_jobs: int = -1,
    ) -> list[Any]:
        from mmemo.jobs.static import train_static_frames, train_static_grid

        if self.frames:
            if part is not None:
                raise InputError("--frames runs in one process (no --shard, no --slurm)")
            return train_static_frames(store, self, progress=progress)
        return train_static_grid(store, self, n_jobs=n_jobs, shard=part, progress=progress)


@_register
@dataclass(frozen=True, kw_only=True)
class BiLSTMSpec(TrainSpec):
    """``mmemo train bilstm``: the bi-LSTM with attention on frame sequences ``features``;
    ``params`` override its config (``max_epochs`` ...); early stopping on an actor-disjoint
    split of the training actors (``inner``) or, as the paper did, on the test fold
    (``test``)."""

    job: ClassVar[str] = "train bilstm"
    unit: ClassVar[str] = "fold"

    features: str
    device: str = "auto"
    early_stop_on: str = "inner"
    params: dict[str, Any] = field(default_factory=dict)

    def run(
        self,
        store: Store,
        *,
        part: Slice | list[int] | None = None,
        progress: Progress | None = None,
    ) -> list[Any]:
        from mmemo.jobs.deep import train_bilstm_job

        return [train_bilstm_job(store, self, folds=part, progress=progress)]


@_register
@dataclass(frozen=True, kw_only=True)
class FinetuneSpec(TrainSpec):
    """``mmemo train finetune``: the wav2vec2 checkpoint ``model`` (hub id or folder)
    fine-tuned with the paper's head, one model per fold; ``params`` override its config;
    ``keep`` ``last`` keeps each fold's model, ``none`` none."""

    job: ClassVar[str] = "train finetune"
    unit: ClassVar[str] = "fold"

    model: str
    device: str = "auto"
    keep: str = "last"
    params: dict[str, Any] = field(default_factory=dict)

    def run(
        self,
        store: Store,
        *,
        part: Slice | list[int] | None = None,
        progress: Progress | None = None,
    ) -> list[Any]:
        from mmemo.jobs.deep import train_finetune_job

        info = train_finetune_job(store, self, folds=part, progress=progress)
        return [] if info is None else [info]  # None on the other ranks of torchrun
