"""The specs of the training jobs (:mod:`mmemo.specs` says what a spec is): one per
``mmemo train`` command, run in this process by :meth:`~mmemo.specs.JobSpec.run` or slice by
slice in Slurm array tasks (a grid's configurations, a run's folds)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mmemo.errors import InputError
from mmemo.progress import Progress
from mmemo.scheduler import Slice
from mmemo.specs import JobSpec
from mmemo.store.store import Store


@dataclass(frozen=True, kw_only=True)
class TrainSpec(JobSpec):
    """What every training run has: its cross-validation and its seed.

    ``inner`` K adds out-of-fold scores of the training clips (split ``oof``) from K
    actor-disjoint inner folds per fold, for a stacked fusion. ``labels`` names a label map
    (:mod:`mmemo.corpora.label_maps`): the run's classes are the map's, over clips of any
    corpus it takes.
    """

    scheme: str = "luna2022"
    clips: str | None = "av-speech"
    seed: int = 2020
    inner: int | None = None
    labels: str | None = None


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
    def from_fields(cls, fields: dict[str, Any]) -> StaticSpec:
        """JSON gives the grid back as lists: the configurations become tuples again."""
        grid = tuple((dict(params), str(norm)) for params, norm in fields.pop("grid", ()))
        return cls(**fields, **({"grid": grid} if grid else {}))

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


@dataclass(frozen=True, kw_only=True)
class DeepSpec(TrainSpec):
    """What the deep kinds' specs share: one unit per fold, a device (``auto``: CUDA when
    present) and ``params`` overriding the model's config."""

    unit: ClassVar[str] = "fold"

    device: str = "auto"
    params: dict[str, Any] = field(default_factory=dict)

    def run(
        self,
        store: Store,
        *,
        part: Slice | list[int] | None = None,
        progress: Progress | None = None,
    ) -> list[Any]:
        info = self._train(store, folds=part, progress=progress)
        return [] if info is None else [info]  # None on the other ranks of torchrun

    @abstractmethod
    def _train(self, store: Store, *, folds: Any, progress: Progress | None) -> Any:
        """Train the folds ``folds`` (all when None) of the run; its RunInfo."""


@dataclass(frozen=True, kw_only=True)
class BiLSTMSpec(DeepSpec):
    """``mmemo train bilstm``: the bi-LSTM with attention on frame sequences ``features``;
    ``params`` override its config (``max_epochs`` ...); early stopping on an actor-disjoint
    split of the training actors (``inner``) or, as the paper did, on the test fold
    (``test``)."""

    job: ClassVar[str] = "train bilstm"

    features: str
    early_stop_on: str = "inner"

    def _train(self, store: Store, *, folds: Any, progress: Progress | None) -> Any:
        from mmemo.jobs.deep import train_bilstm_job

        return train_bilstm_job(store, self, folds=folds, progress=progress)


@dataclass(frozen=True, kw_only=True)
class FinetuneSpec(DeepSpec):
    """``mmemo train finetune``: the wav2vec2 checkpoint ``model`` (hub id or folder)
    fine-tuned with the paper's head, one model per fold; ``params`` override its config;
    ``keep`` ``last`` keeps each fold's model, ``none`` none."""

    job: ClassVar[str] = "train finetune"

    model: str
    keep: str = "last"

    def _train(self, store: Store, *, folds: Any, progress: Progress | None) -> Any:
        from mmemo.jobs.deep import train_finetune_job

        return train_finetune_job(store, self, folds=folds, progress=progress)


class _OneProcess(ABC):
    """A job that writes one run in one process: no slice of it can run apart."""

    job: ClassVar[str]

    def run(
        self, store: Store, *, part: Slice | None = None, progress: Progress | None = None
    ) -> list[Any]:
        if part is not None and part.count > 1:
            raise InputError(f"{self.job} runs in one process: one task, no --shard")
        return [self._make(store, progress)]

    @abstractmethod
    def _make(self, store: Store, progress: Progress | None) -> Any:
        """Make the run; its RunInfo."""


@dataclass(frozen=True, kw_only=True)
class FuseSpec(_OneProcess, JobSpec):
    """``mmemo fuse``: the scores of ``runs`` (names or globs, in order) fused per fold into
    the run ``name`` by ``method`` (``logreg``, trained per fold on the training clips' scores
    (``on`` ``train``, the paper) or their out-of-fold scores (``oof``); or a rule: ``mean``,
    ``product``, ``vote``). ``C`` and ``norm`` are the logistic regression's."""

    job: ClassVar[str] = "fuse"
    unit: ClassVar[str] = "run"

    runs: tuple[str, ...]
    method: str = "logreg"
    C: float = 1.0
    norm: str = "minmax"
    seed: int = 2020
    on: str = "train"

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> FuseSpec:
        """JSON gives the runs back as a list."""
        return cls(**{**fields, "runs": tuple(fields.get("runs", ()))})

    def _make(self, store: Store, progress: Progress | None) -> Any:
        from mmemo.jobs.fusion import fuse_runs

        return fuse_runs(store, self, progress=progress)


@dataclass(frozen=True, kw_only=True)
class ImportSpec(_OneProcess, JobSpec):
    """``mmemo import posteriors``: per-clip scores in CSV/parquet ``files`` as the run
    ``name``. ``classes`` labels the score columns in order (names or codes); the fold comes
    from the column ``fold_col`` or is ``fold`` for every row, the split likewise
    (``split_col`` / ``split``); ``score_cols`` (a regex) picks the score columns, else every
    numeric one; ``kind`` says what the scores are (``logits``, ``probs``, ``decision``)."""

    job: ClassVar[str] = "import posteriors"
    unit: ClassVar[str] = "run"

    files: tuple[str, ...]
    classes: str
    id_col: str | None = None
    score_cols: str | None = None
    fold_col: str | None = None
    fold: int | None = None
    split_col: str | None = None
    split: str | None = None
    scheme: str = "luna2022"
    kind: str = "logits"

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> ImportSpec:
        """JSON gives the files back as a list."""
        return cls(**{**fields, "files": tuple(fields.get("files", ()))})

    def _make(self, store: Store, progress: Progress | None) -> Any:
        from mmemo.jobs.import_posteriors import import_posteriors

        return import_posteriors(store, self)
