"""Figures in the style of Luna-Jiménez et al. (2022): confusion matrices (Figures 5, 6, 8),
accuracy with 95% CI per run (Figure 7) and Action-Unit intensity curves of a clip (Figure 3),
from arrays or, for a clip's AUs, straight from the store (:func:`plot_clip_aus`). The
figures of analyses beyond the paper are in :mod:`mmemo.reports.analysis_figures`.

Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg canvas, never
through ``pyplot``: no screen, no global backend switch, no figure left open. The output format
follows the file suffix (``.png`` or ``.pdf``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mmemo.errors import InputError, NotFoundError, did_you_mean
from mmemo.outputs import FIGURE_FORMATS, atomic_path, output_format
from mmemo.reports.metrics import RunSummary
from mmemo.reports.rows import RunRow

if TYPE_CHECKING:
    from mmemo.store.store import Store

#: Output formats, by file suffix.
SUFFIXES: tuple[str, ...] = tuple(f".{fmt}" for fmt in FIGURE_FORMATS)
#: Bar colours of Figure 7, by group name; other groups cycle through the default palette.
GROUP_COLORS: dict[str, str] = {
    "static": "tab:orange",
    "sequential": "tab:blue",
    "fusion": "tab:cyan",
    "": "tab:gray",
}
#: Colours for other groups (the default cycle without the ones above).
_OTHER_COLORS: tuple[str, ...] = ("C2", "C3", "C4", "C5", "C6", "C8")
_DPI = 150


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, out: Path) -> Path:
    """Write ``fig`` to ``out`` in the format its extension names, atomically (see
    :mod:`mmemo.outputs`: an interrupted save leaves no half-written figure)."""
    out = Path(out)
    fmt = check_suffix(out)
    with atomic_path(out) as temp:
        fig.savefig(temp, dpi=_DPI, format=fmt)
    return out


def check_suffix(out: Path) -> str:
    """The figure format ``out``'s extension names (png, pdf or svg), checked before any work.

    Raises:
        InputError: another extension (see :func:`mmemo.outputs.output_format`).
    """
    return output_format(Path(out), None, FIGURE_FORMATS, option=None)


def _heatmap(ax: Axes, matrix: np.ndarray, labels: Sequence[str], fmt: str, title: str) -> None:
    image = ax.imshow(matrix, cmap="Blues", vmin=0)
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks, labels, rotation=45, ha="right")
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    ax.set_title(title)
    threshold = matrix.max() / 2 if matrix.size and matrix.max() > 0 else 0.0
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            value = matrix[i, j]
            ax.text(
                j,
                i,
                format(value, fmt),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value > threshold else "black",
            )
    ax.figure.colorbar(image, ax=ax, shrink=0.8)


def plot_confusion(summary: RunSummary, out: Path, *, title: str | None = None) -> Path:
    """Draw the run's confusion matrix over all folds (paper's Figures 5, 6, 8) into ``out``
    (``.png`` or ``.pdf``); see :func:`confusion_figure`.

    Raises:
        InputError: unsupported suffix.
    """
    check_suffix(out)
    return save_figure(confusion_figure(summary, title=title), out)


def confusion_figure(summary: RunSummary, *, title: str | None = None) -> Figure:
    """The run's confusion matrix over all folds.

    Left panel: the test clips counted over all folds (each clip is a test clip of exactly one
    fold, so a row sums to the clips of that class; averaging per fold and rounding made rows
    that summed to 7 of 8 clips); right panel: the row-normalised matrix in % (recall on the
    diagonal).

    Args:
        summary: The run.
        title: Figure title; defaults to the run name and its accuracy.
    """
    labels = [label.capitalize() for label in summary.labels]
    total = summary.confusion_sum.astype(float)
    support = total.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised = np.where(support > 0, total / support * 100.0, 0.0)
    fig = new_figure(13, 5.5)
    left, right = fig.subplots(1, 2)
    _heatmap(left, total, labels, ".0f", "Test clips, all folds (count)")
    _heatmap(right, normalised, labels, ".1f", "Row-normalised (%)")
    fig.suptitle(title or f"{summary.run}: accuracy {summary.accuracy:.2f}%")
    return fig


def plot_runs(
    summaries: Sequence[RunSummary | RunRow],
    out: Path,
    *,
    title: str | None = None,
    colors: Mapping[str, str] | None = None,
) -> Path:
    """Bar chart of mean accuracy with 95% CI error bars per run (paper's Figure 7) into
    ``out`` (``.png`` or ``.pdf``); see :func:`runs_figure`.

    Raises:
        InputError: no runs or unsupported suffix.
    """
    check_suffix(out)
    return save_figure(runs_figure(summaries, title=title, colors=colors), out)


#: How a bar label names a row's normalisation column (``RunRow.norm``).
_NORM_LABELS: dict[str, str] = {"minmax": "min-max", "none": "unnormalised"}


def bar_label(row: RunRow) -> str:
    """A bar's label: model, hyper-parameters and normalisation, one per line where set.

    >>> bar_label(RunRow(model="svc", params="C = 1", norm="minmax", reported=1.0))
    'svc\\nC = 1\\nmin-max'
    """
    parts = [row.model_label]
    if row.params not in ("", "-"):
        parts.append(row.params)
    if row.norm is not None:
        parts.append(_NORM_LABELS.get(row.norm, f"norm: {row.norm}"))
    return "\n".join(parts)


def runs_figure(
    summaries: Sequence[RunSummary | RunRow],
    *,
    title: str | None = None,
    colors: Mapping[str, str] | None = None,
) -> Figure:
    """Bar chart of mean accuracy with 95% CI error bars per run.

    Args:
        summaries: Runs in display order; a :class:`~mmemo.reports.rows.RunRow` is labelled
            by its model, hyper-parameters and normalisation (:func:`bar_label`) and coloured
            by its group (ungrouped rows grey; literature rows hatched, without error bar).
            Two bars with the same label get their run names added, so no two look alike.
        title: Figure title.
        colors: ``{group: colour}``, overriding :data:`GROUP_COLORS`.

    Returns:
        The figure; a legend names the colour of each group when there is more than one.

    Raises:
        InputError: no runs.
    """
    if not summaries:
        raise InputError("nothing to plot: no runs given")
    palette = {**GROUP_COLORS, **(colors or {})}
    cycle = itertools.cycle(_OTHER_COLORS)
    rows = [item if isinstance(item, RunRow) else RunRow(summary=item) for item in summaries]
    names = [bar_label(row) for row in rows]
    repeated = {n for n in names if names.count(n) > 1}
    names = [
        f"{n}\n({row.name})" if n in repeated and row.name != n else n
        for n, row in zip(names, rows, strict=True)
    ]
    heights, errors, bar_colors, hatches, groups = [], [], [], [], {}
    for row in rows:
        heights.append(row.accuracy)
        errors.append(row.summary.ci95 if row.summary is not None else 0.0)
        if row.group not in palette:
            palette[row.group] = next(cycle)
        bar_colors.append(palette[row.group])
        groups.setdefault(row.group, palette[row.group])
        hatches.append("//" if row.literature else None)
    fig = new_figure(max(5.0, 1.1 * len(names) + 2), 4.5)
    ax = fig.subplots()
    x = np.arange(len(names))
    bars = ax.bar(x, heights, yerr=errors, capsize=4, color=bar_colors, edgecolor="black")
    for bar, hatch in zip(bars, hatches, strict=True):
        if hatch:
            bar.set_hatch(hatch)
    for xi, h, e in zip(x, heights, errors, strict=True):
        ax.text(xi, h + e + 1.0, f"{h:.2f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("Accuracy (%) ± 95% CI")
    ax.set_ylim(0, min(100.0, max(h + e for h, e in zip(heights, errors, strict=True)) + 10.0))
    ax.grid(axis="y", alpha=0.3)
    literature = any(row.literature for row in rows)
    if len(groups) > 1 or literature:
        from matplotlib.patches import Patch

        handles = [
            Patch(facecolor=color, edgecolor="black", label=group or "other")
            for group, color in groups.items()
        ]
        if literature:
            handles.append(
                Patch(facecolor="white", edgecolor="black", hatch="//", label="literature")
            )
        ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if title:
        ax.set_title(title)
    return fig


def plot_aus(
    times: np.ndarray,
    aus: Mapping[str, np.ndarray],
    out: Path,
    *,
    title: str,
    success: np.ndarray | None = None,
) -> Path:
    """Plot the Action-Unit intensity curves of one clip over time (paper's Figure 3) into
    ``out`` (``.png`` or ``.pdf``); see :func:`aus_figure`.

    Raises:
        InputError: no AUs, a curve whose length differs from ``times``, or unsupported suffix.
    """
    check_suffix(out)
    return save_figure(aus_figure(times, aus, title=title, success=success), out)


def aus_figure(
    times: np.ndarray,
    aus: Mapping[str, np.ndarray],
    *,
    title: str,
    success: np.ndarray | None = None,
) -> Figure:
    """The Action-Unit intensity curves of one clip over time.

    Args:
        times: Frame times in seconds, shape ``(T,)``.
        aus: ``{AU name: intensities}`` (OpenFace ``AUxx_r``, 0-5), each of shape ``(T,)``;
            normally the 17 intensity AUs.
        title: Figure title (e.g. the clip id and its emotion).
        success: OpenFace's per-frame ``success`` (``(T,)``, 0 or 1). Frames where tracking
            failed are left out of every curve (gaps), since OpenFace writes 0 intensities
            there, which would read as every AU dropping to 0.

    Raises:
        InputError: no AUs, or a curve or ``success`` whose length differs from ``times``.
    """
    t = np.asarray(times, dtype=float)
    if t.ndim != 1:
        raise InputError(f"times must be 1-D; got shape {t.shape}")
    if not aus:
        raise InputError("no Action Units to plot")
    for name, values in aus.items():
        if np.shape(values) != t.shape:
            raise InputError(
                f"Action Unit '{name}' has shape {np.shape(values)}; times has {t.shape}"
            )
    failed = np.zeros(t.shape, dtype=bool)
    if success is not None:
        if np.shape(success) != t.shape:
            raise InputError(f"success has shape {np.shape(success)}; times has {t.shape}")
        failed = np.asarray(success, dtype=float) == 0
    fig = new_figure(11, 5)
    ax = fig.subplots()
    colors = [f"C{i % 10}" for i in range(len(aus))]
    styles = ["-", "--", ":"]
    for i, (name, values) in enumerate(aus.items()):
        ax.plot(
            t,
            np.where(failed, np.nan, np.asarray(values, dtype=float)),
            label=name,
            color=colors[i],
            linestyle=styles[(i // 10) % len(styles)],
            linewidth=1.2,
        )
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Intensity (0-5)")
    ax.set_ylim(0, 5)
    if failed.any():
        title = f"{title}; {int(failed.sum())} of {len(t)} frames not tracked (gaps)"
    ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, ncols=1)
    ax.grid(alpha=0.3)
    return fig


def _check_clip(store: Store, clip: str) -> None:
    """Refuse a clip id the store does not hold: without this, a typo reads as a clip that
    exists but has no frames in the AU set."""
    with store.session() as s:
        if s.fetch("SELECT 1 FROM clips WHERE clip_id = ? LIMIT 1", [clip]):
            return
        ids = [r[0] for r in s.fetch("SELECT DISTINCT clip_id FROM clips ORDER BY clip_id")]
    if not ids:
        raise NotFoundError(f"no clip '{clip}': the store has no clips; ingest a corpus first")
    raise NotFoundError(
        f"no clip '{clip}' in the store{did_you_mean(clip, ids, n=2)}; clip ids are file "
        'names without the suffix (`mmemo sql "SELECT clip_id FROM clips"` lists them)'
    )


def plot_clip_aus(store: Store, clip: str, out: Path, *, features: str | None = None) -> Path:
    """Draw the AU intensity curves of ``clip`` from an AU frame set into ``out``.

    Args:
        store: The store.
        clip: Clip id.
        out: Output file; ``.png`` or ``.pdf``.
        features: AU frame set ``NAME[@V]``; default: see
            :func:`mmemo.features.aus.default_au_set`.

    Returns:
        ``out``.

    Raises:
        NotFoundError: no such clip in the store (with the closest ids), no AU frame set, or
            the clip has no frames in it.
        InputError: unsupported suffix, or several AU sets and none named ``aus``.
    """
    from mmemo.features.aus import clip_aus

    check_suffix(out)
    _check_clip(store, clip)
    aus = clip_aus(store, clip, features=features)
    return plot_aus(
        aus.times, aus.curves, out, title=f"{aus.clip} ({aus.features})", success=aus.success
    )
