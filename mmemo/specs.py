"""Jobs as typed specs: what a job is, built once by whoever starts it.

A spec is a frozen dataclass of plain values (text, numbers, lists, dicts). The CLI, the Python
API, the demo and ``reproduce`` build one; :meth:`JobSpec.run` runs it in this process (or one
slice of its units: a run's folds, a grid's configurations, a feature set's shards);
``--slurm`` stores it in the registry as JSON (:meth:`JobSpec.to_json`) and each array task
reads it back (:func:`spec_from_json`) and runs its slice. Nothing stores or rebuilds a command
line.

The specs live beside the jobs they describe (:mod:`mmemo.jobs.specs` for training,
:mod:`mmemo.features.embed` and :mod:`mmemo.features.openface` for feature sets); this base
module knows them by name only (:data:`BUILTIN_SPECS`, imported on first use), so it sits below
every layer. Every value is checked when a spec is read from JSON (unknown fields, wrong
types: :func:`check_fields`), before any data is read; the job's own checks (a model name, a
fold scheme) follow in :meth:`JobSpec.run`.
"""

from __future__ import annotations

import dataclasses
import importlib
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from mmemo.errors import InputError

#: The specs by the ``job`` name the registry records → ``"module:Class"``.
BUILTIN_SPECS: Mapping[str, str] = {
    "train static": "mmemo.jobs.specs:StaticSpec",
    "train bilstm": "mmemo.jobs.specs:BiLSTMSpec",
    "train finetune": "mmemo.jobs.specs:FinetuneSpec",
    "embed": "mmemo.features.embed:EmbedSpec",
    "ingest openface": "mmemo.features.openface:AuIngestSpec",
    "fuse": "mmemo.jobs.specs:FuseSpec",
    "import posteriors": "mmemo.jobs.specs:ImportSpec",
}


@dataclass(frozen=True, kw_only=True)
class JobSpec(ABC):
    """What every job spec has: the entry it makes and how its work is split."""

    #: The job's name, as the registry records it (``train static``).
    job: ClassVar[str]
    #: What one slice of the job takes: ``fold`` (a run's folds), ``config`` (a grid's
    #: configurations) or ``shard`` (a feature set's files or clips); ``run``: the job
    #: runs whole, in one process (fusion, imported posteriors).
    unit: ClassVar[str]

    name: str

    @abstractmethod
    def run(self, store: Any, *, part: Any = None, progress: Any = None) -> list[Any]:
        """Run the job in this process on ``store`` (only slice ``part`` of its units when
        given, a :class:`~mmemo.scheduler.Slice`), reporting to ``progress``; return what it
        made (a report per run or feature set)."""

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
            if f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            if f.name == "name" or value != default:
                shown.append(f"{f.name}={value}")
        return f"{self.job}: {', '.join(shown)}"

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> JobSpec:
        """The spec of checked JSON ``fields`` (a spec that holds tuples turns lists back)."""
        return cls(**fields)


def spec_from_json(data: Mapping[str, Any]) -> JobSpec:
    """The spec that :meth:`JobSpec.to_json` wrote.

    Raises:
        InputError: an unknown job, unknown fields or values of the wrong type.
    """
    fields = dict(data)
    job = fields.pop("job", None)
    target = BUILTIN_SPECS.get(str(job))
    if target is None:
        known = ", ".join(sorted(BUILTIN_SPECS))
        raise InputError(f"unknown job {job!r}; expected one of {known}")
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name)
    check_fields(cls, fields, f"'{job}' spec")
    return cls.from_fields(fields)


def check_fields(config_cls: type, data: Mapping[str, object], what: str) -> None:
    """Refuse keys that are not fields of a dataclass (a spec, a model config), listing the
    valid ones, and values whose type does not fit the field.

    Raises:
        InputError: e.g. "unknown bi-LSTM option(s) x; expected one of batch_size, ...".
    """
    names = sorted(f.name for f in dataclasses.fields(config_cls))
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise InputError(
            f"unknown {what} option(s) {', '.join(unknown)}; expected one of {', '.join(names)}"
        )
    hints = typing.get_type_hints(config_cls)
    for key, value in data.items():
        if not _matches(value, hints[key]):
            raise InputError(f"{what} option {key}={value!r}: expected {_describe(hints[key])}")


_KIND_NAMES = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}


def _matches(value: object, hint: Any) -> bool:
    """Whether ``value`` (as parsed from ``K=V``) fits the type ``hint`` of a config field."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in args)
    if origin is Literal:
        return value in args
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if origin in (tuple, list):
        return isinstance(value, list | tuple)
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    return isinstance(value, hint) if isinstance(hint, type) else True


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if hint is type(None):
        return "none"
    if origin in (tuple, list):
        return "a list"
    return _KIND_NAMES.get(hint, getattr(hint, "__name__", str(hint)))
