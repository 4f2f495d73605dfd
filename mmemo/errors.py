"""Exceptions the library raises; the CLI turns them into one red line and exit status 2."""

from __future__ import annotations

from collections.abc import Iterable


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


def listing(items: Iterable[object], limit: int = 5) -> str:
    """Up to ``limit`` items joined with commas, and how many were left out, so that a long
    list in a one-line error is cut visibly, never silently.

    >>> listing(["a", "b", "c"])
    'a, b, c'
    >>> listing([f"r{i}" for i in range(35)], 3)
    'r0, r1, r2 and 32 more'
    >>> listing([])
    ''
    """
    shown = list(items)
    rest = len(shown) - limit if limit > 0 else 0
    if rest <= 0:
        return ", ".join(map(str, shown))
    return f"{', '.join(map(str, shown[:limit]))} and {rest} more"


def did_you_mean(name: str, choices: Iterable[str], n: int = 1) -> str:
    """`` (did you mean 'x'?)`` for the ``n`` choices closest to ``name`` (difflib's
    ratio), or ``""`` when none is close: the hint an error puts after the unknown name.

    >>> did_you_mean("acuracy", ["accuracy", "ci95"])
    " (did you mean 'accuracy'?)"
    >>> did_you_mean("zzz", ["accuracy"])
    ''
    """
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=n)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def first_line(exc: BaseException) -> str:
    """The first line of another library's error, for a one-line message (transformers'
    errors run on to several lines of advice).

    >>> first_line(OSError("no file\\ncheck your connection"))
    'no file'
    """
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
