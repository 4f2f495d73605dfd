"""The audits of ``sql/checks``: run them by name, over the store or over one run's rows.

An audit is a query that returns offending rows (none = pass), like sqlmesh's audits. Every
job that stores a run calls :func:`audit_run` with the leakage audits of :data:`AFTER_JOB`:
no actor and no performance (one take, through any of its full-AV, video-only and audio-only
files) is both trained and tested on in a fold of the run.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmemo.errors import StoreError
from mmemo.resources import read_sql, sql_dir
from mmemo.store.store import Store

#: Audits run after every job that stores a run; each returns a ``run`` column.
AFTER_JOB = ("actor_not_in_train_and_test", "performance_not_in_train_and_test")


@dataclass(frozen=True)
class AuditResult:
    """The offending rows one audit found (none: it passed)."""

    name: str
    columns: list[str]
    rows: list[tuple]

    @property
    def passed(self) -> bool:
        return not self.rows


def audit_names() -> list[str]:
    """Every audit shipped in ``sql/checks``, by file stem."""
    return sorted(p.stem for p in (sql_dir() / "checks").glob("*.sql"))


def run_audits(
    store: Store, names: list[str] | tuple[str, ...] | None = None, *, run: str | None = None
) -> list[AuditResult]:
    """Run the audits ``names`` (default: all); with ``run``, only that run's rows are checked
    (each audit named must return a ``run`` column).

    Raises:
        StoreError: an audit name that is not in ``sql/checks`` (listing the valid ones).
    """
    known = audit_names()
    names = list(names) if names is not None else known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise StoreError(f"no audit {', '.join(unknown)} in sql/checks; audits: {', '.join(known)}")
    results = []
    with store.session() as s:
        for name in names:
            query = read_sql(f"checks/{name}.sql").strip().rstrip(";")
            s.ensure_views(query)
            params: list = []
            if run is not None:
                query = f"SELECT * FROM ({query}) AS audit WHERE audit.run = ?"
                params = [run]
            relation = s.con.execute(query, params)
            columns = [d[0] for d in relation.description]
            results.append(AuditResult(name, columns, [tuple(r) for r in relation.fetchall()]))
    return results


def audit_run(store: Store, run: str) -> None:
    """Run the :data:`AFTER_JOB` audits over run ``run``'s rows (the job that stored it calls
    this).

    Raises:
        StoreError: an audit found offending rows; the run stays stored, and the message says
            how to see every row.
    """
    for result in run_audits(store, AFTER_JOB, run=run):
        if not result.passed:
            row = zip(result.columns, result.rows[0], strict=True)
            first = ", ".join(f"{column} {value}" for column, value in row)
            raise StoreError(
                f"run '{run}' fails the audit {result.name}: {len(result.rows)} row(s), first: "
                f"{first}; see them with `mmemo sql -f checks/{result.name}` (the run is stored)"
            )
