"""The train-corpus × test-corpus matrix of cross-corpus runs (``mmemo report --matrix``).

Each run's folds say which corpora they trained on (the datasets of their training clips)
and which they tested (their test clips'); ``sql/analysis/corpus_matrix.sql`` gives accuracy
and UAR per (run, trained on, tested on), and :func:`matrix_table` sets them out as a matrix:
a row per run and training corpora, two columns (accuracy, UAR) per test corpus. A run of
``--scheme corpora`` fills every off-diagonal cell of its corpora in one row each;
``cross:A:B`` runs fill one cell each.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from mmemo.display import FitTable, display_rows
from mmemo.errors import NotFoundError
from mmemo.outputs import result_table, result_text
from mmemo.reports.tables import latex_tabular
from mmemo.resources import read_sql
from mmemo.store.runs import resolve_runs
from mmemo.store.store import Store


@dataclass(frozen=True)
class Cell:
    """One run's results on one test corpus after training on ``trained_on``."""

    run: str
    trained_on: str
    tested_on: str
    clips: int
    accuracy: float
    uar: float


def corpus_cells(store: Store, patterns: list[str]) -> list[Cell]:
    """Every (run, trained on, tested on) cell of the complete runs ``patterns`` match.

    Raises:
        NotFoundError: no run matches, or the runs have no test scores.
    """
    with store.session() as s:
        names = [r.name for r in resolve_runs(s, patterns)]
        rows = s.fetch(read_sql("analysis/corpus_matrix.sql"), {"runs": names})
    if not rows:
        raise NotFoundError(f"{', '.join(names)}: no test scores")
    return [Cell(*row) for row in rows]


def matrix_table(cells: list[Cell]) -> pa.Table:
    """The cells as a matrix: columns ``run``, ``trained on``, then ``CORPUS acc`` and
    ``CORPUS UAR`` for every test corpus (by name); empty where a row did not test it."""
    tested = sorted({c.tested_on for c in cells})
    keys = list(dict.fromkeys((c.run, c.trained_on) for c in cells))
    found = {(c.run, c.trained_on, c.tested_on): c for c in cells}
    columns: dict[str, list] = {"run": [k[0] for k in keys], "trained on": [k[1] for k in keys]}
    for corpus in tested:
        for title, attribute in (("acc", "accuracy"), ("UAR", "uar")):
            columns[f"{corpus} {title}"] = [
                getattr(found[(*k, corpus)], attribute) if (*k, corpus) in found else None
                for k in keys
            ]
    return pa.table(columns)


def render_matrix(cells: list[Cell], fmt: str) -> str | FitTable:
    """The matrix for the terminal (``table``), or as ``markdown``, ``latex`` (booktabs),
    ``csv`` or ``json`` text (CSV and JSON unrounded).

    Raises:
        InputError: another format.
    """
    table = matrix_table(cells)
    if fmt == "table":
        return result_table(table)
    if fmt == "latex":
        header = table.column_names
        body = display_rows([[row[c] for c in header] for row in table.to_pylist()])
        lines = ["% needs \\usepackage{booktabs}", *latex_tabular(header, body, set(), 2)]
        return "\n".join(lines) + "\n"
    return result_text(table, fmt)
