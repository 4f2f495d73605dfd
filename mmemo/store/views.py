"""Which files of ``sql/views`` a query needs: the ones that create a view it names, and
those the views read in turn.

A session creates its temporary views on first use. Creating all of them binds every view
against the lake's catalog (about 0.07 s of each session that reads a view); a session that
queries ``runs`` or ``clips`` needs one or two files. What a query names is read from its
words, so a name inside a string (``query('SELECT * FROM predictions')``) counts too: a word
that only looks like a view's name costs a file more, never a view too few.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from mmemo.resources import read_sql, sql_dir

#: The name of each view a file creates (every file creates its views this one way).
_CREATES = re.compile(r"\bcreate\s+or\s+replace\s+temp\s+view\s+([a-z_][a-z0-9_]*)")
_WORD = re.compile(r"[a-z_][a-z0-9_]*")


@dataclass(frozen=True)
class ViewFile:
    """One file of ``sql/views``: its name, its SQL, the views it creates and the earlier
    files whose views it reads."""

    name: str
    sql: str
    creates: frozenset[str]
    reads: frozenset[str]


@cache
def view_files() -> tuple[ViewFile, ...]:
    """The files of ``sql/views`` in the order they run (by name: a file reads only views of
    files before it)."""
    files: list[ViewFile] = []
    for path in sorted((sql_dir() / "views").glob("*.sql")):
        sql = read_sql(f"views/{path.name}")
        text = sql.lower()
        creates = frozenset(_CREATES.findall(text))
        words = set(_WORD.findall(text))
        reads = frozenset(f.name for f in files if f.creates & words)
        files.append(ViewFile(path.name, sql, creates, reads))
    return tuple(files)


def files_for(query: str | None) -> list[ViewFile]:
    """The view files ``query`` needs, in the order they run; every file for None."""
    files = view_files()
    if query is None:
        return list(files)
    words = set(_WORD.findall(query.lower()))
    wanted = {f.name for f in files if f.creates & words}
    for f in reversed(files):  # a file reads only earlier ones: one pass backwards closes it
        if f.name in wanted:
            wanted |= f.reads
    return [f for f in files if f.name in wanted]
