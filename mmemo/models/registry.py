"""Registries of named implementations, and the one registry of model kinds.

A :class:`Registry` maps names to implementations that a class decorator registers; a name
that is taken is refused. Built-in entries are ``"module:Class"`` strings imported on first
use, so importing this module (for ``mmemo --help`` or a name list) imports no heavy library.

:data:`MODEL_KINDS` holds every kind of model a run can be made of, under the name the run
records in ``runs.model``: the static scikit-learn models, the bi-LSTM, the wav2vec2
fine-tune and the late-fusion methods. Each kind implements
:class:`mmemo.models.base.ModelKind` (fit on one fold's data, score, save and load its fold
artefact), which is all that ``mmemo predict`` needs to apply any run to clips.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from mmemo.errors import InputError

T = TypeVar("T")
C = TypeVar("C", bound=type)

#: The built-in model kinds: run model name → ``"module:Class"`` (imported on first use).
BUILTIN_KINDS: Mapping[str, str] = {
    "zeror": "mmemo.models.static_models:ZeroR",
    "svc": "mmemo.models.static_models:SVCModel",
    "knn": "mmemo.models.static_models:KNNModel",
    "mlp": "mmemo.models.static_models:MLPModel",
    "logreg": "mmemo.models.static_models:LogRegModel",
    "bilstm": "mmemo.models.bilstm.kind:BiLSTMKind",
    "wav2vec2-finetune": "mmemo.models.wav2vec2_finetune.kind:FinetuneKind",
    "fusion-logreg": "mmemo.fusion.kinds:LogRegFusion",
    "fusion-mean": "mmemo.fusion.kinds:MeanFusion",
    "fusion-product": "mmemo.fusion.kinds:ProductFusion",
    "fusion-vote": "mmemo.fusion.kinds:VoteFusion",
}


def load_target(target: str) -> Any:
    """Import ``"module:attribute"`` and return the attribute."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


class Registry(Generic[T]):
    """Implementations by name: one instance of each registered class.

    Args:
        what: What an entry is, for messages ("static model", "model kind").
        builtin: Names whose class lives in a module imported on first :meth:`get`, as
            ``"module:Class"``; importing that module registers the class.
    """

    def __init__(self, what: str, builtin: Mapping[str, str] | None = None) -> None:
        self._what = what
        self._builtin = dict(builtin or {})
        self._entries: dict[str, T] = {}

    def register(self, cls: C) -> C:
        """Class decorator: register an instance of ``cls`` under ``cls.name``.

        Raises:
            ValueError: the name is already registered, or is a built-in name of another
                class (a programming error).
        """
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise ValueError(f"{cls.__name__} must define a non-empty class attribute 'name'")
        if name in self._entries:
            raise ValueError(
                f"{self._what} '{name}' is already registered "
                f"(by {type(self._entries[name]).__name__})"
            )
        target = f"{cls.__module__}:{cls.__qualname__}"
        if self._builtin.get(name, target) != target:
            raise ValueError(
                f"{self._what} '{name}' is already registered (built in: {self._builtin[name]})"
            )
        self._entries[name] = cls()
        return cls

    def get(self, name: str) -> T:
        """The implementation registered as ``name`` (importing a built-in one on first use).

        Raises:
            InputError: unknown name, listing the valid choices.
        """
        if name not in self._entries and name in self._builtin:
            module = self._builtin[name].partition(":")[0]
            importlib.import_module(module)  # its decorators register the class
        try:
            return self._entries[name]
        except KeyError:
            raise InputError(
                f"unknown {self._what} '{name}'; expected one of {', '.join(self.names())}"
            ) from None

    def names(self) -> tuple[str, ...]:
        """Built-in names in table order, then other registered names in registration order."""
        return tuple(dict.fromkeys([*self._builtin, *self._entries]))

    def __contains__(self, name: object) -> bool:
        return name in self._builtin or name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


#: Every model kind a run can be made of (see the module docstring).
MODEL_KINDS: Registry[Any] = Registry("model kind", BUILTIN_KINDS)
#: Class decorator that registers a model kind; refuses a name that is taken.
register_kind: Callable[[C], C] = MODEL_KINDS.register


def get_kind(name: str) -> Any:
    """The model kind of runs whose ``model`` is ``name`` (a :class:`ModelKind`).

    Raises:
        InputError: no such kind, listing the valid ones.
    """
    return MODEL_KINDS.get(name)
