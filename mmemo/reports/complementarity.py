"""Which modality knows what: the complementarity of two runs on the test clips they share.

For two runs A and B of one fold scheme, every test clip both scored (in the same fold) falls
in one cell of a 2x2 table: both right, only A right, only B right, neither. Per emotion (or
per actor) and over all shared clips, :func:`complementarity` reads from the store's
``complementarity`` view (``sql/views/90_complementarity.sql``):

1. the four counts and each run's accuracy;
2. the oracle: the accuracy of a fusion that is right whenever either run is (an upper bound
   for any late fusion that picks one of the two predictions);
3. the error correlation: Cohen's kappa between the two runs' predicted labels, and Yule's Q
   on correctness, ``(both * neither - only_a * only_b) / (both * neither + only_a * only_b)``.
   Either is ``None`` where its denominator is 0 (kappa: both runs predict one same label on
   every clip of the group; Q: a zero in each diagonal product of the table).

:func:`render_complementarity` prints it as a table, Markdown, LaTeX (booktabs), CSV or JSON;
:func:`mmemo.reports.analysis_figures.plot_complementarity` draws it.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from mmemo.display import FitTable
from mmemo.errors import InputError, listing
from mmemo.reports.tables import FORMATS, _md_table, latex_tabular
from mmemo.store.runs import resolve_runs
from mmemo.store.schema import Run
from mmemo.store.store import Store

By = Literal["emotion", "actor"]
#: What a complementarity table is broken down by.
BY_CHOICES: tuple[str, ...] = ("emotion", "actor")
#: The label of the row over all shared clips.
OVERALL = "overall"


@dataclass(frozen=True)
class PairRow:
    """The 2x2 correctness table of two runs on one group of clips, and what follows from it.

    Attributes:
        group: The emotion label, the actor number (as text) or :data:`OVERALL`.
        n: Shared test clips in the group.
        both: Clips both runs get right.
        only_a: Clips only run A gets right.
        only_b: Clips only run B gets right.
        neither: Clips both runs get wrong.
        accuracy_a: Run A's accuracy, %.
        accuracy_b: Run B's accuracy, %.
        oracle: Accuracy of an oracle fusion (right if either run is), %.
        kappa: Cohen's kappa between the predicted labels; None where undefined.
        yule_q: Yule's Q on correctness; None where undefined.
    """

    group: str
    n: int
    both: int
    only_a: int
    only_b: int
    neither: int
    accuracy_a: float
    accuracy_b: float
    oracle: float
    kappa: float | None
    yule_q: float | None


@dataclass(frozen=True)
class Complementarity:
    """Two runs' complementarity per group (emotion or actor) and over all shared clips.

    Attributes:
        run_a: Name of run A.
        run_b: Name of run B.
        scheme: Their fold scheme.
        by: What :attr:`rows` are per: ``"emotion"`` (in emotion-code order) or ``"actor"``.
        rows: One per group.
        overall: All shared clips.
    """

    run_a: str
    run_b: str
    scheme: str
    by: str
    rows: tuple[PairRow, ...]
    overall: PairRow

    @property
    def all_rows(self) -> list[PairRow]:
        """The groups, then the overall row."""
        return [*self.rows, self.overall]

    def to_json(self) -> dict[str, Any]:
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "scheme": self.scheme,
            "by": self.by,
            "rows": [asdict(row) for row in self.rows],
            "overall": asdict(self.overall),
        }


_QUERY = (
    "SELECT value, n, both_right, only_a, only_b, neither, accuracy_a, accuracy_b, oracle, "
    "kappa, yule_q FROM complementarity "
    "WHERE run_a = ? AND run_b = ? AND attribute IN (?, 'all') "
    "ORDER BY attribute = 'all', value_order"
)


def complementarity(
    store: Store, run_a: str, run_b: str, *, by: str = "emotion"
) -> Complementarity:
    """How runs ``run_a`` and ``run_b`` complement each other on their shared test clips.

    Args:
        store: The store.
        run_a: Name (or a glob matching one run) of run A.
        run_b: Name (or a glob matching one run) of run B.
        by: ``"emotion"`` or ``"actor"``: what the rows are per.

    Raises:
        NotFoundError: no complete run matches a name.
        InputError: ``by`` is not one of :data:`BY_CHOICES`, a glob matches several runs, the
            runs use different fold schemes, or they share no test clip.
    """
    if by not in BY_CHOICES:
        raise InputError(f"unknown breakdown '{by}'; expected one of {', '.join(BY_CHOICES)}")
    with store.session() as s:
        a, b = _one_run(s, run_a), _one_run(s, run_b)
        if a.scheme != b.scheme:
            raise InputError(
                f"runs '{a.name}' (scheme {a.scheme}) and '{b.name}' (scheme {b.scheme}) use "
                "different fold schemes; complementarity pairs runs of one scheme"
            )
        rows = s.fetch(_QUERY, [a.name, b.name, by])
    if not rows:
        raise InputError(
            f"runs '{a.name}' and '{b.name}' have no test clips in common (same clip in the "
            f"same fold of scheme {a.scheme})"
        )
    pairs = [_pair_row(row) for row in rows]
    return Complementarity(a.name, b.name, a.scheme, by, tuple(pairs[:-1]), pairs[-1])


def _one_run(session: Any, pattern: str) -> Run:
    runs = resolve_runs(session, [pattern])
    if len(runs) > 1:
        raise InputError(
            f"'{pattern}' matches {len(runs)} runs ({listing(r.name for r in runs)}); "
            "complementarity takes one run per side"
        )
    return runs[0]


def _pair_row(row: tuple[Any, ...]) -> PairRow:
    value, n, both, only_a, only_b, neither, acc_a, acc_b, oracle, kappa, q = row
    return PairRow(
        group=OVERALL if value == "all" else str(value),
        n=int(n),
        both=int(both),
        only_a=int(only_a),
        only_b=int(only_b),
        neither=int(neither),
        accuracy_a=float(acc_a),
        accuracy_b=float(acc_b),
        oracle=float(oracle),
        kappa=None if kappa is None else float(kappa),
        yule_q=None if q is None else float(q),
    )


# --------------------------------------------------------------------------------------------
# Rendering


def _columns(result: Complementarity) -> list[str]:
    return [
        result.by.capitalize(),
        "Clips",
        "Both",
        "Only A",
        "Only B",
        "Neither",
        "Acc. A",
        "Acc. B",
        "Oracle",
        "Kappa",
        "Yule's Q",
    ]


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _cells(row: PairRow) -> list[str]:
    return [
        row.group,
        str(row.n),
        str(row.both),
        str(row.only_a),
        str(row.only_b),
        str(row.neither),
        _number(row.accuracy_a, 2),
        _number(row.accuracy_b, 2),
        _number(row.oracle, 2),
        _number(row.kappa, 3),
        _number(row.yule_q, 3),
    ]


def describe(result: Complementarity) -> str:
    """The line that says what A and B are: ``A = audio, B = aus-mlp; 1440 shared test clips
    (scheme luna2022); accuracies and oracle in %``."""
    return (
        f"A = {result.run_a}, B = {result.run_b}; {result.overall.n} shared test clips "
        f"(scheme {result.scheme}); accuracies and oracle in %; oracle = right if either is"
    )


def _render_table(result: Complementarity) -> FitTable:
    body = [_cells(row) for row in result.all_rows]
    return FitTable(
        _columns(result),
        body,
        title=describe(result),
        caption="'-': undefined (kappa: one same label throughout; Q: ad + bc = 0)",
        bold_rows={len(body) - 1},
    )


def _render_markdown(result: Complementarity) -> str:
    body = [_cells(row) for row in result.all_rows]
    body[-1] = [f"**{c}**" for c in body[-1]]
    return "\n".join([describe(result), "", *_md_table(_columns(result), body, 1)]) + "\n"


def _render_latex(result: Complementarity) -> str:
    header = _columns(result)
    body = [_cells(row) for row in result.all_rows]
    lines = latex_tabular(header, body, set(), 1, notes=[describe(result)])
    # a rule between the groups and the overall row: the tabular's body starts after its
    # \begin, \toprule, header and \midrule lines
    lines.insert(4 + len(body) - 1, r"\midrule")
    return "\n".join(["% needs \\usepackage{booktabs}", *lines]) + "\n"


_CSV_FIELDS = [
    "run_a",
    "run_b",
    "scheme",
    "by",
    "group",
    "n",
    "both",
    "only_a",
    "only_b",
    "neither",
    "accuracy_a",
    "accuracy_b",
    "oracle",
    "kappa",
    "yule_q",
]


def _render_csv(result: Complementarity) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in result.all_rows:
        record = {
            k: ("" if v is None else repr(v) if isinstance(v, float) else v)
            for k, v in asdict(row).items()
        }
        writer.writerow(
            {
                "run_a": result.run_a,
                "run_b": result.run_b,
                "scheme": result.scheme,
                "by": result.by,
                **record,
            }
        )
    return buf.getvalue()


def _render_json(result: Complementarity) -> str:
    return json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n"


_RENDERERS = {
    "table": _render_table,
    "markdown": _render_markdown,
    "latex": _render_latex,
    "csv": _render_csv,
    "json": _render_json,
}


def render_complementarity(result: Complementarity, *, fmt: str = "table") -> str | FitTable:
    """Render a complementarity table: one row per group, then the overall row.

    Columns: the group (emotion or actor), shared clips, both right, only A, only B, neither,
    accuracy of A and of B, oracle (in %, 2 decimals), Cohen's kappa and Yule's Q (3 decimals;
    ``-`` where undefined). A line above (LaTeX: a note below) names runs A and B.

    Args:
        result: From :func:`complementarity`.
        fmt: ``"table"`` (a rich renderable), ``"markdown"``, ``"latex"`` (booktabs; the
            overall row below a rule), ``"csv"`` (unrounded, empty where undefined) or
            ``"json"``.

    Raises:
        InputError: unknown format.
    """
    if fmt not in _RENDERERS:
        raise InputError(f"unknown table format '{fmt}'; expected one of {', '.join(FORMATS)}")
    return _RENDERERS[fmt](result)


__all__ = [
    "BY_CHOICES",
    "OVERALL",
    "By",
    "Complementarity",
    "PairRow",
    "complementarity",
    "describe",
    "render_complementarity",
]
