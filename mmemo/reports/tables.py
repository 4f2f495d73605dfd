"""Comparison tables in the shape of Luna-Jiménez et al. (2022), Tables 1-3.

:func:`render` turns a list of :class:`~mmemo.reports.rows.RunRow` (a
:class:`~mmemo.reports.metrics.RunSummary` plus the descriptive columns of the paper's tables;
built in :mod:`mmemo.reports.rows`) into a rich table, Markdown, LaTeX (booktabs), CSV or JSON.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.console import Group

from mmemo.display import FitTable
from mmemo.errors import InputError
from mmemo.reports.metrics import PER_CLASS_METRICS, RunSummary
from mmemo.reports.rows import LITERATURE_MARK, RunRow, as_rows, best_rows, norm_cell

Format = Literal["table", "markdown", "latex", "csv", "json"]
FORMATS: tuple[str, ...] = ("table", "markdown", "latex", "csv", "json")


# --------------------------------------------------------------------------------------------
# Cells


def _fmt(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.2f}"


@dataclass(frozen=True)
class _Shape:
    """Which optional columns a table has: the group (when rows carry groups of their own)
    and the model (unless every row's model only repeats its run name)."""

    group: bool
    model: bool

    @classmethod
    def of(cls, rows: Sequence[RunRow]) -> _Shape:
        return cls(
            group=any(row.group not in ("", row.inputs) for row in rows),
            model=any(row.literature or row.model_label != row.name for row in rows),
        )


def _columns(shape: _Shape) -> list[str]:
    return (
        ["Run"]
        + (["Group"] if shape.group else [])
        + ["Inputs"]
        + (["Model"] if shape.model else [])
        + ["Parameters", "Norm.", "Accuracy ± 95% CI", "UAR", "Macro-F1"]
    )


def _cells(row: RunRow, shape: _Shape) -> list[str]:
    """The row's cells: the run's name first (a literature row: its model, marked †)."""
    if row.summary is not None:
        s = row.summary
        acc = f"{_fmt(s.accuracy)} ± {_fmt(s.ci95)}"
        extra = [_fmt(s.uar), _fmt(s.macro_f1)]
        name, model = row.name, row.model_label
    else:  # a number quoted from the literature: no run; the model column names it
        acc = _fmt(row.accuracy)
        extra = ["-", "-"]
        name, model = "-", f"{row.model_label}{LITERATURE_MARK}"
    return (
        [name]
        + ([row.group or "-"] if shape.group else [])
        + [row.inputs]
        + ([model] if shape.model else [])
        + [row.params, norm_cell(row.norm), acc, *extra]
    )


def _footnotes(rows: Sequence[RunRow]) -> list[str]:
    notes = []
    for row in rows:
        if row.literature:
            notes.append(f"{LITERATURE_MARK} {row.model_label}: literature value, {row.source}.")
    return notes


def _per_class_cells(summary: RunSummary) -> list[list[str]]:
    return [
        [metric.capitalize()] + [_fmt(summary.per_class[label][metric]) for label in summary.labels]
        for metric in PER_CLASS_METRICS
    ]


def _per_class_title(summary: RunSummary) -> str:
    return (
        f"Per-class metrics of '{summary.run}' (accuracy {_fmt(summary.accuracy)}%), "
        "mean over folds"
    )


# --------------------------------------------------------------------------------------------
# Formats


def _render_rich(rows: list[RunRow], per_class: bool) -> FitTable | Group:
    shape = _Shape.of(rows)
    notes = _footnotes(rows)
    # a terminal is narrow: the shortest header that still says it, and a descriptive column
    # that holds one value in every row said once above the table instead
    columns = ["Params" if c == "Parameters" else c for c in _columns(shape)]
    body = [_cells(row, shape) for row in rows]
    same = [
        j
        for j, c in enumerate(columns)
        if c in ("Group", "Inputs", "Model", "Params", "Norm.")
        and len(body) > 1
        and len({cells[j] for cells in body}) == 1
    ]
    title = " · ".join(f"{columns[j]}: {body[0][j]}" for j in same) or None
    keep = [j for j in range(len(columns)) if j not in same]
    table = FitTable(
        [columns[j] for j in keep],
        [[cells[j] for j in keep] for cells in body],
        title=title,
        caption="\n".join(notes) or None,
        bold_rows=best_rows(rows),
    )
    if not per_class:
        return table
    parts: list[FitTable] = [table]
    for row in rows:
        if row.summary is None:
            continue
        header = ["Metric"] + [label.capitalize() for label in row.summary.labels]
        title = _per_class_title(row.summary)
        parts.append(FitTable(header, _per_class_cells(row.summary), title=f"\n{title}"))
    return Group(*parts)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _md_table(header: list[str], body: list[list[str]], align_right_from: int) -> list[str]:
    lines = ["| " + " | ".join(_md_escape(h) for h in header) + " |"]
    lines.append(
        "|" + "|".join("---:" if j >= align_right_from else "---" for j in range(len(header))) + "|"
    )
    lines += ["| " + " | ".join(_md_escape(c) for c in cells) + " |" for cells in body]
    return lines


def _render_markdown(rows: list[RunRow], per_class: bool) -> str:
    shape = _Shape.of(rows)
    header = _columns(shape)
    bold = best_rows(rows)
    body = []
    for i, row in enumerate(rows):
        cells = _cells(row, shape)
        if i in bold:
            cells = [f"**{c}**" for c in cells]
        body.append(cells)
    lines = _md_table(header, body, len(header) - 3)
    notes = _footnotes(rows)
    if notes:
        lines.append("")
        lines += notes
    if per_class:
        for row in rows:
            if row.summary is None:
                continue
            lines += ["", _per_class_title(row.summary), ""]
            sub_header = ["Metric"] + [label.capitalize() for label in row.summary.labels]
            lines += _md_table(sub_header, _per_class_cells(row.summary), 1)
    return "\n".join(lines) + "\n"


_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "_": r"\_",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "$": r"\$",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "±": r"$\pm$",
    "§": r"\S{}",
    LITERATURE_MARK: r"$^\dagger$",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters (``_ % & # $ { } ~ ^ \\``); map ±, † and § to commands."""
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in text)


def latex_tabular(
    header: list[str],
    body: list[list[str]],
    bold_rows: set[int],
    right_from: int,
    notes: Sequence[str] = (),
) -> list[str]:
    spec = "".join("r" if j >= right_from else "l" for j in range(len(header)))
    lines = [f"\\begin{{tabular}}{{{spec}}}", r"\toprule"]
    lines.append(" & ".join(latex_escape(h) for h in header) + r" \\")
    lines.append(r"\midrule")
    for i, cells in enumerate(body):
        escaped = [latex_escape(c) for c in cells]
        if i in bold_rows:
            escaped = [f"\\textbf{{{c}}}" for c in escaped]
        lines.append(" & ".join(escaped) + r" \\")
    lines.append(r"\bottomrule")
    for note in notes:
        lines.append(
            f"\\multicolumn{{{len(header)}}}{{l}}{{\\footnotesize {latex_escape(note)}}}"
            r" \\"
        )
    lines.append(r"\end{tabular}")
    return lines


def _render_latex(rows: list[RunRow], per_class: bool) -> str:
    shape = _Shape.of(rows)
    header = _columns(shape)
    body = [_cells(row, shape) for row in rows]
    lines = ["% needs \\usepackage{booktabs}"]
    lines += latex_tabular(header, body, best_rows(rows), len(header) - 3, _footnotes(rows))
    if per_class:
        for row in rows:
            if row.summary is None:
                continue
            lines += ["", f"% {latex_escape(_per_class_title(row.summary))}"]
            sub_header = ["Metric"] + [label.capitalize() for label in row.summary.labels]
            lines += latex_tabular(sub_header, _per_class_cells(row.summary), set(), 1)
    return "\n".join(lines) + "\n"


def _render_csv(rows: list[RunRow], per_class: bool) -> str:
    fields = [
        "group",
        "run",
        "inputs",
        "model",
        "params",
        "norm",
        "accuracy",
        "ci95",
        "n",
        "uar",
        "macro_f1",
        "best",
        "source",
    ]
    labels: tuple[str, ...] = ()
    if per_class:
        for row in rows:
            if row.summary is not None:
                labels = row.summary.labels
                break
        fields += [f"{metric}_{label}" for metric in PER_CLASS_METRICS for label in labels]
    bold = best_rows(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for i, row in enumerate(rows):
        s = row.summary
        rec: dict[str, Any] = {
            "group": row.group,
            "run": row.name,
            "inputs": row.inputs,
            "model": row.model_label,
            "params": row.params,
            "norm": norm_cell(row.norm),
            "accuracy": repr(row.accuracy),
            "ci95": repr(s.ci95) if s else "",
            "n": s.n if s else "",
            "uar": repr(s.uar) if s else "",
            "macro_f1": repr(s.macro_f1) if s else "",
            "best": int(i in bold),
            "source": row.source,
        }
        if per_class:
            for metric in PER_CLASS_METRICS:
                for label in labels:
                    value = s.per_class.get(label, {}).get(metric) if s else None
                    ok = value is not None and not math.isnan(value)
                    rec[f"{metric}_{label}"] = repr(value) if ok else ""
        writer.writerow(rec)
    return buf.getvalue()


def _render_json(rows: list[RunRow], per_class: bool) -> str:
    records = [row.to_json(per_class=per_class) for row in rows]
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


_RENDERERS: dict[str, Callable[[list[RunRow], bool], str | FitTable | Group]] = {
    "table": _render_rich,
    "markdown": _render_markdown,
    "latex": _render_latex,
    "csv": _render_csv,
    "json": _render_json,
}


def render(
    summaries: Sequence[RunRow | RunSummary],
    *,
    fmt: Format,
    per_class: bool = False,
    groups: Mapping[str, str] | None = None,
) -> str | FitTable | Group:
    """Render a comparison table in the shape of the paper's Tables 1/2 (and 3 with per_class).

    Columns: run, (group,) inputs, (model,) parameters, norm., accuracy ± 95% CI, UAR,
    macro-F1; the group column appears when rows carry groups, the model column unless it
    would only repeat the run names. The best ranked row of each group is set in bold
    (Markdown ``**``, LaTeX ``\\textbf``, rich bold); literature rows are marked with † and
    cited in a note. Numbers print with 2 decimals except in CSV (unrounded) and JSON.

    Args:
        summaries: Rows in display order; a bare :class:`RunSummary` becomes a row named after
            the run with empty descriptive columns.
        fmt: ``"table"`` (a rich renderable), ``"markdown"``, ``"latex"`` (booktabs),
            ``"csv"`` or ``"json"`` (a list of ``to_json()`` dicts).
        per_class: Add the per-class precision / recall / accuracy of every measured run
            (paper's Table 3): extra tables, extra CSV columns or the JSON ``per_class`` key.
        groups: ``{run name: group}``, overriding the rows' own groups.

    Returns:
        A rich renderable for ``"table"``, a string otherwise.

    Raises:
        InputError: unknown format or no rows.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown table format '{fmt}'; expected one of {', '.join(FORMATS)}")
    if not summaries:
        raise InputError("nothing to render: no runs given")
    return _RENDERERS[fmt](as_rows(summaries, groups), per_class)


__all__ = ["FORMATS", "Format", "latex_escape", "latex_tabular", "render"]
