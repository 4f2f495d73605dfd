"""Comparison tables in the shape of Luna-Jiménez et al. (2022), Tables 1-3.

:func:`render` turns a list of :class:`RunRow` (a :class:`~mmemo.reports.metrics.RunSummary`
plus the descriptive columns of the paper's tables) into a rich table, Markdown, LaTeX
(booktabs), CSV or JSON. :func:`baseline_rows` gives the rows every comparison starts with: the
ZeroR baseline, computed from the clip counts of the folds, and the human-perception accuracies
the paper quotes (literature values, not measured here).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from rich.console import Group
from rich.table import Table

from mmemo.errors import InputError
from mmemo.reports.metrics import PER_CLASS_METRICS, RunSummary, zeror

Format = Literal["table", "markdown", "latex", "csv", "json"]
FORMATS: tuple[str, ...] = ("table", "markdown", "latex", "csv", "json")
HumanModality = Literal["speech", "visual"]

#: Where the human-perception numbers come from.
PAPER = "Luna-Jiménez et al. (2022)"
#: Human accuracy the paper quotes (§3.1; Table 1 for speech, Table 2 for visual), in %.
HUMAN_PERCEPTION: dict[str, tuple[float, str]] = {
    "speech": (67.00, f"{PAPER}, §3.1 and Table 1: human accuracy on speech stimuli"),
    "visual": (75.00, f"{PAPER}, §3.1 and Table 2: human accuracy with visual information"),
}
LITERATURE_MARK = "†"


@dataclass(frozen=True)
class RunRow:
    """One row of a comparison table.

    Either ``summary`` (a run measured here) or ``reported`` (an accuracy quoted from the
    literature, cited in ``source``) is set.

    Attributes:
        summary: The measured run, or ``None`` for a literature row.
        inputs: Input column (e.g. ``"Average Action Units"``).
        model: Model column (e.g. ``"SVC"``); defaults to the run name.
        params: Hyper-parameter column (e.g. ``"C = 1.0"``).
        norm: Normalisation column (``"Yes"`` / ``"No"`` / ``"-"``).
        group: The group whose best row is set in bold (paper: TL strategy or input type).
        ranked: Whether the row competes for bold (baselines and literature rows do not).
        reported: Literature accuracy in %, for a row without ``summary``.
        source: Citation of a literature number.
    """

    summary: RunSummary | None = None
    inputs: str = "-"
    model: str = ""
    params: str = "-"
    norm: str = "-"
    group: str = ""
    ranked: bool = True
    reported: float | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if (self.summary is None) == (self.reported is None):
            raise InputError("a table row needs exactly one of a run summary or a reported value")

    @property
    def name(self) -> str:
        """The run name, or the model column of a literature row."""
        return self.summary.run if self.summary is not None else self.model

    @property
    def model_label(self) -> str:
        return self.model or self.name

    @property
    def literature(self) -> bool:
        return self.summary is None

    @property
    def accuracy(self) -> float:
        if self.summary is not None:
            return self.summary.accuracy
        return float(self.reported)  # type: ignore[arg-type]

    def to_json(self, *, per_class: bool = False) -> dict[str, Any]:
        """The summary's :meth:`~RunSummary.to_json`; a literature row gets the same keys
        (``None`` where nothing was measured) plus ``source``."""
        if self.summary is not None:
            return self.summary.to_json(per_class=per_class)
        out: dict[str, Any] = {
            "run": self.name,
            "accuracy": self.accuracy,
            "ci95": None,
            "n": None,
            "folds": None,
            "uar": None,
            "macro_f1": None,
        }
        if per_class:
            out["per_class"] = None
        out["source"] = self.source
        return out


def baseline_rows(
    summaries: Iterable[RunSummary | RunRow] = (),
    *,
    fold_support: np.ndarray | None = None,
    human: Iterable[HumanModality] = ("speech", "visual"),
    group: str = "",
) -> list[RunRow]:
    """The rows every comparison starts with: human perception (literature) and ZeroR.

    ZeroR is computed, never typed in: from the per-fold class counts of the given summaries
    (they must agree, i.e. be evaluated on the same folds) or, without summaries, from
    ``fold_support``. On the 1,440 RAVDESS audio-visual speech clips with the paper's folds it
    gives 13.33 ± 1.76.

    Args:
        summaries: Runs evaluated on the folds of the comparison.
        fold_support: Test clips per class in each fold, shape ``(n_folds, C)``; used when no
            summary is given.
        human: Which human-perception rows to add (``"speech"``: 67.00, ``"visual"``: 75.00,
            both quoted by the paper in §3.1 / Tables 1-2).
        group: Group of the returned rows.

    Returns:
        Literature rows first (as in the paper's tables), then ZeroR; none of them ranked.

    Raises:
        InputError: neither summaries nor ``fold_support``, summaries on different folds, or an
            unknown ``human`` modality.
    """
    rows: list[RunRow] = []
    for modality in human:
        if modality not in HUMAN_PERCEPTION:
            raise InputError(
                f"unknown human-perception modality '{modality}'; expected one of "
                f"{', '.join(HUMAN_PERCEPTION)}"
            )
        value, source = HUMAN_PERCEPTION[modality]
        rows.append(
            RunRow(
                model=f"Human perception ({modality})",
                group=group,
                ranked=False,
                reported=value,
                source=source,
            )
        )
    measured = [s.summary if isinstance(s, RunRow) else s for s in summaries]
    measured = [s for s in measured if s is not None]
    labels = None
    if measured:
        support = measured[0].fold_support
        labels = measured[0].labels
        for other in measured[1:]:
            if other.fold_support.shape != support.shape or not np.array_equal(
                other.fold_support, support
            ):
                raise InputError(
                    f"runs '{measured[0].run}' and '{other.run}' were not evaluated on the same "
                    "folds (their per-fold class counts differ); ZeroR needs one fold set"
                )
    elif fold_support is not None:
        support = np.asarray(fold_support)
    else:
        raise InputError("ZeroR needs run summaries or per-fold class counts (fold_support)")
    rows.append(
        RunRow(summary=zeror(support, labels=labels), model="ZeroR", group=group, ranked=False)
    )
    return rows


# --------------------------------------------------------------------------------------------
# Rendering


def _as_rows(
    summaries: Sequence[RunRow | RunSummary], groups: Mapping[str, str] | None
) -> list[RunRow]:
    rows: list[RunRow] = []
    for item in summaries:
        row = item if isinstance(item, RunRow) else RunRow(summary=item)
        if groups is not None and row.name in groups:
            row = replace(row, group=groups[row.name])
        rows.append(row)
    return rows


def best_rows(rows: Sequence[RunRow]) -> set[int]:
    """Indices of the rows with the highest accuracy in their group (ties all count).

    Only ranked, measured rows compete; the comparison uses the values as printed (2 decimals),
    so rows that print the same are all best.
    """
    best: dict[str, float] = {}
    for row in rows:
        if row.ranked and not row.literature:
            acc = round(row.accuracy, 2)
            best[row.group] = max(best.get(row.group, -math.inf), acc)
    return {
        i
        for i, row in enumerate(rows)
        if row.ranked and not row.literature and round(row.accuracy, 2) == best[row.group]
    }


def _fmt(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.2f}"


def _show_group(rows: Sequence[RunRow]) -> bool:
    return any(row.group not in ("", row.inputs) for row in rows)


def _columns(show_group: bool) -> list[str]:
    head = ["Group"] if show_group else []
    return head + [
        "Inputs",
        "Model",
        "Hyper-parameters",
        "Norm.",
        "Accuracy ± 95% CI",
        "UAR",
        "Macro-F1",
    ]


def _cells(row: RunRow, show_group: bool) -> list[str]:
    if row.summary is not None:
        s = row.summary
        acc = f"{_fmt(s.accuracy)} ± {_fmt(s.ci95)}"
        extra = [_fmt(s.uar), _fmt(s.macro_f1)]
        model = row.model_label
    else:
        acc = _fmt(row.accuracy)
        extra = ["-", "-"]
        model = f"{row.model_label}{LITERATURE_MARK}"
    head = [row.group or "-"] if show_group else []
    return head + [row.inputs, model, row.params, row.norm, acc, *extra]


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


def _render_rich(rows: list[RunRow], per_class: bool) -> Table | Group:
    show_group = _show_group(rows)
    bold = best_rows(rows)
    notes = _footnotes(rows)
    table = Table(caption="\n".join(notes) or None, caption_justify="left")
    for i, col in enumerate(_columns(show_group)):
        table.add_column(col, justify="right" if i >= len(_columns(show_group)) - 3 else "left")
    for i, row in enumerate(rows):
        table.add_row(*_cells(row, show_group), style="bold" if i in bold else None)
    if not per_class:
        return table
    parts: list[Table] = [table]
    for row in rows:
        if row.summary is None:
            continue
        sub = Table(title=_per_class_title(row.summary))
        sub.add_column("Metric")
        for label in row.summary.labels:
            sub.add_column(label.capitalize(), justify="right")
        for cells in _per_class_cells(row.summary):
            sub.add_row(*cells)
        parts.append(sub)
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
    show_group = _show_group(rows)
    header = _columns(show_group)
    bold = best_rows(rows)
    body = []
    for i, row in enumerate(rows):
        cells = _cells(row, show_group)
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


def _latex_tabular(
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
    show_group = _show_group(rows)
    header = _columns(show_group)
    body = [_cells(row, show_group) for row in rows]
    lines = ["% needs \\usepackage{booktabs}"]
    lines += _latex_tabular(header, body, best_rows(rows), len(header) - 3, _footnotes(rows))
    if per_class:
        for row in rows:
            if row.summary is None:
                continue
            lines += ["", f"% {latex_escape(_per_class_title(row.summary))}"]
            sub_header = ["Metric"] + [label.capitalize() for label in row.summary.labels]
            lines += _latex_tabular(sub_header, _per_class_cells(row.summary), set(), 1)
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
            "norm": row.norm,
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


_RENDERERS: dict[str, Callable[[list[RunRow], bool], str | Table | Group]] = {
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
) -> str | Table | Group:
    """Render a comparison table in the shape of the paper's Tables 1/2 (and 3 with per_class).

    Columns: (group,) inputs, model, hyper-parameters, norm., accuracy ± 95% CI, UAR, macro-F1.
    The best ranked row of each group is set in bold (Markdown ``**``, LaTeX ``\\textbf``, rich
    bold); literature rows are marked with † and cited in a note. Numbers print with 2 decimals
    except in CSV (unrounded) and JSON.

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
    return _RENDERERS[fmt](_as_rows(summaries, groups), per_class)


__all__ = [
    "FORMATS",
    "HUMAN_PERCEPTION",
    "Format",
    "RunRow",
    "baseline_rows",
    "best_rows",
    "latex_escape",
    "render",
]
