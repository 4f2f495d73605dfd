"""Progress reporting: the library reports, the CLI renders (a rich progress bar)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Task(Protocol):
    def advance(self, n: int = 1) -> None: ...


class Progress(Protocol):
    """Something that shows how far long work has come."""

    def task(self, description: str, total: int | None) -> Iterator[Task]: ...


class _NullTask:
    def advance(self, n: int = 1) -> None:
        pass


class NullProgress:
    """Reports nothing: the default for library calls."""

    @contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Task]:
        yield _NullTask()
