"""Finding runs by name: the run-name and glob resolution that jobs (fusion, predict) and
reports share."""

from __future__ import annotations

import difflib
from fnmatch import fnmatchcase

import sqlalchemy as sa

from mmemo.errors import NotFoundError, listing
from mmemo.store.schema import Run
from mmemo.store.session import Session


def resolve_runs(session: Session, patterns: list[str]) -> list[Run]:
    """Complete runs whose names match any of ``patterns`` (shell globs), in pattern order.

    A pattern that is some run's exact name means that run, even when it holds glob
    characters (``[``, ``*``, ``?``).

    Raises:
        NotFoundError: a pattern that matches no complete run (listing the runs there are, the
            closest names first as "did you mean").
    """
    with session.orm() as orm:
        runs = list(orm.scalars(sa.select(Run).where(Run.status == "complete").order_by(Run.id)))
    chosen: dict[int, Run] = {}
    for pattern in patterns:
        matched = [r for r in runs if r.name == pattern] or [
            r for r in runs if fnmatchcase(r.name, pattern)
        ]
        if not matched:
            names = listing((r.name for r in runs), 20) or "none yet"
            close = difflib.get_close_matches(pattern, [r.name for r in runs], n=3)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            raise NotFoundError(f"no complete run matches '{pattern}'{hint}; runs: {names}")
        for run in matched:
            chosen.setdefault(run.id, run)
    return list(chosen.values())
