"""Registries of named implementations (layer 0): a name maps to one instance of a class.

A :class:`Registry` maps names to implementations that a class decorator registers; a name
that is taken is refused. Built-in entries are ``"module:Class"`` strings imported on first
use, so importing a registry (for ``mmemo --help`` or a name list) imports no heavy library;
installed packages add entries through an entry-point group. The model kinds
(:data:`mmemo.models.registry.MODEL_KINDS`) and the corpus adapters
(:data:`mmemo.corpora.adapters.CORPORA`) are registries.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from mmemo.errors import InputError

T = TypeVar("T")
C = TypeVar("C", bound=type)


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
        entry_points: The entry-point group through which installed packages add entries
            (name → ``"module:Class"``); their classes need no decorator.
        dynamic: Makes the entry of a name no table holds (an import path), or returns None.
    """

    def __init__(
        self,
        what: str,
        builtin: Mapping[str, str] | None = None,
        *,
        entry_points: str | None = None,
        dynamic: Callable[[str], T | None] | None = None,
    ) -> None:
        self._what = what
        self._builtin = dict(builtin or {})
        self._entries: dict[str, T] = {}
        self._group = entry_points
        self._dynamic = dynamic
        self._made: set[str] = set()  # entries made on demand (import paths): not choices
        self._plugins: dict[str, Any] | None = None  # name -> entry point, read on first use

    def plugins(self) -> dict[str, Any]:
        """The installed packages' entries of this registry's group: name → entry point
        (a name a built-in holds is left out: built-ins win)."""
        if self._plugins is None:
            from importlib.metadata import entry_points

            found = entry_points(group=self._group) if self._group else ()
            self._plugins = {ep.name: ep for ep in found if ep.name not in self._builtin}
        return self._plugins

    def origin(self, name: str) -> str:
        """Where entry ``name`` comes from: ``built-in``, ``plugin DIST VERSION`` (an installed
        package's entry point) or ``import path``.

        Raises:
            InputError: unknown name.
        """
        if name in self._builtin:
            return "built-in"
        if name in self.plugins():
            dist = self.plugins()[name].dist
            return f"plugin {dist.name} {dist.version}" if dist is not None else "plugin"
        self.get(name)
        return "import path" if ":" in name else "registered in code"

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
            cls = load_target(self._builtin[name])  # importing it, its decorator registers it
            if name not in self._entries:  # a module imported before (into another registry)
                self.register(cls)
        elif name not in self._entries and name in self.plugins():
            self._load_plugin(name)
        elif name not in self._entries and self._dynamic is not None:
            made = self._dynamic(name)
            if made is not None:
                self._entries[name] = made
                self._made.add(name)
        try:
            return self._entries[name]
        except KeyError:
            raise InputError(
                f"unknown {self._what} '{name}'; expected one of {', '.join(self.names())}"
            ) from None

    def _load_plugin(self, name: str) -> None:
        """Import an installed package's entry and register its class (unless importing it
        registered it already)."""
        point = self.plugins()[name]
        try:
            cls = point.load()
        except Exception as exc:  # a broken plug-in: one line naming it
            raise InputError(
                f"{self._what} '{name}' ({point.value}) cannot be loaded: {exc}"
            ) from None
        if name not in self._entries:
            if getattr(cls, "name", None) != name:
                raise InputError(
                    f"{self._what} '{name}' ({point.value}): the class's name is "
                    f"{getattr(cls, 'name', None)!r}, not the entry point's"
                )
            self.register(cls)

    def names(self) -> tuple[str, ...]:
        """Built-in names in table order, installed packages' entries by name, then other
        registered names in registration order; not the entries made on demand for an import
        path (any classifier is one: they are no list of choices)."""
        registered = [n for n in self._entries if n not in self._made]
        return tuple(dict.fromkeys([*self._builtin, *sorted(self.plugins()), *registered]))

    def __contains__(self, name: object) -> bool:
        return name in self._builtin or name in self._entries or name in self.plugins()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
