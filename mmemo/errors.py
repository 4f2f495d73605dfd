"""Exceptions the library raises; the CLI turns them into one red line and exit status 2."""

from __future__ import annotations


class MmemoError(Exception):
    """Base class of every error mmemo reports to a user."""


class StoreError(MmemoError):
    """The store is missing, locked, of another version, or inconsistent."""


class NotFoundError(MmemoError):
    """A named thing (run, feature set, clip, fold scheme...) does not exist."""


class InputError(MmemoError):
    """A file, value or option given by the user is invalid."""


class MissingDependencyError(MmemoError):
    """An optional dependency is needed; the message says what to install."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"this command needs '{module}'; install it with: pip install 'mmemo[{extra}]'"
        )
