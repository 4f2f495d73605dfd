"""Named clip selections, the SQL WHERE clauses they stand for, and the checks that turn a
mistyped ``--clips`` into an error that points at the fix.

A ``--clips`` value is either a selection name (:data:`SELECTIONS`) or a SQL condition over the
``clips`` view. :func:`clip_where` resolves it on a session in three steps:

1. a selection name is replaced by its condition;
2. the condition is parsed on its own, so a syntax error quotes only what the user typed (the
   condition is later wrapped in parentheses, and DuckDB would report a ``)`` nobody typed);
3. it is bound against the ``clips`` view: an unknown bare name is reported as an unknown
   selection (with the closest names), an unknown column in a condition lists the columns of
   ``clips``.

A condition that matches nothing is told apart from an empty store by
:func:`empty_selection_error`.
"""

from __future__ import annotations

import difflib
import re

import duckdb

from mmemo.errors import InputError
from mmemo.store.guard import plan_writes
from mmemo.store.session import Session

#: Named selections, usable everywhere a ``--clips`` option is taken.
SELECTIONS: dict[str, str] = {
    "all": "TRUE",
    "av-speech": "modality = 1 AND vocal_channel = 1",  # the paper's 1,440 clips
    "av": "modality = 1",
    "speech": "vocal_channel = 1",
    "song": "vocal_channel = 2",
    "audio": "has_audio",
    "video": "has_video",
    "audio-speech": "modality = 3 AND vocal_channel = 1",
}

# A bare word (with - or _) that a user most likely meant as a selection name.
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_UNKNOWN_COLUMN = re.compile(r'Referenced column "([^"]+)" not found')
_UNKNOWN_TABLE = re.compile(r'Referenced table "([^"]+)" not found')


def selection_where(clips: str | None) -> str:
    """The WHERE clause (over the ``clips`` view) of a named selection or a SQL condition."""
    if clips is None or not clips.strip():
        return SELECTIONS["all"]
    return SELECTIONS.get(clips.strip(), clips)


def clip_where(session: Session, clips: str | None) -> str:
    """:func:`selection_where`, checked against the store's ``clips`` view.

    Raises:
        InputError: an unknown selection name (with the closest ones), a condition that does
            not parse (quoting the user's text), or one that names an unknown column or table
            (listing the columns of ``clips``).
    """
    where = selection_where(clips)
    if where == SELECTIONS["all"] or (clips or "").strip() in SELECTIONS:
        return where
    text = clips.strip()  # type: ignore[union-attr]
    _check_syntax(text)
    probe = f"SELECT count(*) FROM clips WHERE ({where}) LIMIT 0"
    try:
        session.ensure_views(probe)
        writes = plan_writes(session.con, probe)
        if writes is not None:
            raise InputError(f"--clips {text!r}: a selection only reads; this one runs {writes}")
        session.fetch(probe)
    except duckdb.Error as exc:
        raise _binding_error(session, text, exc) from None
    return where


def empty_selection_error(session: Session, clips: str | None, what: str = "clips") -> InputError:
    """The error for a selection that matched nothing: an empty store says to ingest a corpus,
    otherwise the message says how many clips the condition was tried on."""
    total = session.fetch("SELECT count(*) FROM clips")[0][0]
    shown = (clips or "all").strip() or "all"
    if not total:
        return InputError(
            f"--clips {shown!r} selects no clips: the store has none; ingest a corpus first"
        )
    return InputError(
        f"--clips {shown!r} selects no clips: it matched none of the {total:,} {what} in the store"
    )


def _check_syntax(text: str) -> None:
    try:
        statements = duckdb.connect().extract_statements(f"SELECT 1 WHERE {text}")
    except duckdb.Error as exc:
        detail = str(exc).splitlines()[0].removeprefix("Parser Error: ")
        raise InputError(f"--clips {text!r} is not a valid condition: {detail}") from None
    if len(statements) != 1:
        raise InputError(f"--clips {text!r} is not a valid condition: one condition, no ';'")


def _binding_error(session: Session, text: str, exc: duckdb.Error) -> InputError:
    message = str(exc).splitlines()[0]
    column = _UNKNOWN_COLUMN.search(message)
    if column and _NAME.match(text) and column.group(1) == text:
        return unknown_selection(text)
    if column or _UNKNOWN_TABLE.search(message):
        name = (column or _UNKNOWN_TABLE.search(message)).group(1)  # type: ignore[union-attr]
        columns = _clip_columns(session)
        close = difflib.get_close_matches(name, columns, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return InputError(
            f"unknown column '{name}' in --clips {text!r}{hint}; clips has: {', '.join(columns)}"
        )
    return InputError(f"--clips {text!r}: {message}")


def unknown_selection(name: str) -> InputError:
    """The error for a selection name that does not exist, with the closest names."""
    close = difflib.get_close_matches(name, list(SELECTIONS), n=1, cutoff=0.5)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return InputError(
        f"unknown selection '{name}'{hint}; choose from {', '.join(SELECTIONS)} "
        'or write a condition on the clips\' columns, e.g. "actor <= 12"'
    )


def _clip_columns(session: Session) -> list[str]:
    rows = session.fetch("SELECT column_name FROM (DESCRIBE SELECT * FROM clips)")
    return [r[0] for r in rows]
