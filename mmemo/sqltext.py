"""Quoting for the few pieces of SQL that cannot take bound parameters (identifiers, and
statements such as ATTACH or LOAD): every piece of dynamic SQL in mmemo goes through here.

>>> ident('posteriors')
'"posteriors"'
>>> ident('a"b')
'"a""b"'
>>> literal("it's")
"'it''s'"
>>> placeholders(3)
'?, ?, ?'
"""

from __future__ import annotations

from collections.abc import Iterable


def ident(name: str) -> str:
    """A quoted SQL identifier (double quotes doubled)."""
    return '"' + str(name).replace('"', '""') + '"'


def qualified(*parts: str) -> str:
    """A dotted, quoted name: ``qualified("lake", "clips")`` is ``"lake"."clips"``."""
    return ".".join(ident(p) for p in parts)


def literal(text: str) -> str:
    """A SQL string literal (single quotes doubled), for statements that take no parameters."""
    return "'" + str(text).replace("'", "''") + "'"


def idents(names: Iterable[str]) -> str:
    """Comma-separated quoted identifiers."""
    return ", ".join(ident(n) for n in names)


def placeholders(n: int) -> str:
    """Comma-separated question marks for ``n`` bound values."""
    return ", ".join("?" * n)
