"""Rows of the comparison tables of Luna-Jiménez et al. (2022), Tables 1-3.

A :class:`RunRow` is a :class:`~mmemo.reports.metrics.RunSummary` plus the descriptive columns
of the paper's tables (inputs, model, hyper-parameters, normalisation, group), or an accuracy
quoted from the literature. :func:`baseline_rows` gives the rows every comparison starts with:
the ZeroR baseline, computed from the clip counts of the folds, and the human-perception
accuracies the paper quotes (literature values, not measured here). :func:`best_rows` says which
rows are set in bold. :mod:`mmemo.reports.tables` renders the rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from mmemo.errors import InputError
from mmemo.reports.metrics import RunSummary, zeror

HumanModality = Literal["speech", "visual"]

#: Where the human-perception numbers come from.
PAPER = "Luna-Jiménez et al. (2022)"
#: Human accuracy the paper quotes (§3.1; Table 1 for speech, Table 2 for visual), in %.
HUMAN_PERCEPTION: dict[str, tuple[float, str]] = {
    "speech": (67.00, f"{PAPER}, §3.1 and Table 1: human accuracy on speech stimuli"),
    "visual": (75.00, f"{PAPER}, §3.1 and Table 2: human accuracy with visual information"),
}
LITERATURE_MARK = "†"


def norm_cell(norm: str | None) -> str:
    """The normalisation column of the paper's tables: ``Yes`` for min-max scaling, ``No``
    for none, ``-`` for a run that has no such choice, any other scaling by its name.

    >>> [norm_cell(n) for n in ("minmax", "none", None, "standard")]
    ['Yes', 'No', '-', 'standard']
    """
    return {"minmax": "Yes", "none": "No", None: "-"}.get(norm, str(norm))


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
        norm: The scaling the run used, as recorded (``minmax``, ``standard``, ``none``), or
            None for a run without one; the tables show it as the paper does
            (:func:`norm_cell`).
        group: The group whose best row is set in bold (paper: TL strategy or input type).
        ranked: Whether the row competes for bold (baselines and literature rows do not).
        reported: Literature accuracy in %, for a row without ``summary``.
        source: Citation of a literature number.
    """

    summary: RunSummary | None = None
    inputs: str = "-"
    model: str = ""
    params: str = "-"
    norm: str | None = None
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


def as_rows(
    summaries: Sequence[RunRow | RunSummary], groups: Mapping[str, str] | None
) -> list[RunRow]:
    """Rows of ``summaries`` (a bare summary becomes a row named after its run), with the
    groups of ``groups`` (``{run name: group}``) replacing the rows' own."""
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


__all__ = [
    "HUMAN_PERCEPTION",
    "LITERATURE_MARK",
    "HumanModality",
    "RunRow",
    "as_rows",
    "baseline_rows",
    "best_rows",
]
