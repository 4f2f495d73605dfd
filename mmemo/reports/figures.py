"""Figures in the style of Luna-Jiménez et al. (2022): confusion matrices (Figures 5, 6, 8),
accuracy with 95% CI per run (Figure 7), accuracy per encoder layer (layer probing),
Action-Unit intensity curves of a clip (Figure 3) and the complementarity of two runs per
emotion, from arrays or, for a clip's AUs, straight from the store (:func:`plot_clip_aus`).

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

from mmemo.errors import InputError
from mmemo.reports.metrics import RunSummary
from mmemo.reports.rows import RunRow

if TYPE_CHECKING:
    from mmemo.reports.complementarity import Complementarity
    from mmemo.reports.report import LayerPoint
    from mmemo.store.store import Store

#: Output formats, by file suffix.
SUFFIXES: tuple[str, ...] = (".png", ".pdf")
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


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, out: Path) -> Path:
    out = Path(out)
    _check_suffix(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=_DPI)
    return out


def _check_suffix(out: Path) -> None:
    if Path(out).suffix.lower() not in SUFFIXES:
        raise InputError(
            f"unsupported figure format '{Path(out).suffix or Path(out).name}'; expected one of "
            f"{', '.join(SUFFIXES)}"
        )


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
    _check_suffix(out)
    return _save(confusion_figure(summary, title=title), out)


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
    fig = _new_figure(13, 5.5)
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
    _check_suffix(out)
    return _save(runs_figure(summaries, title=title, colors=colors), out)


#: How a bar label names a row's normalisation column (``RunRow.norm``).
_NORM_LABELS: dict[str, str] = {"Yes": "min-max", "No": "unnormalised"}


def bar_label(row: RunRow) -> str:
    """A bar's label: model, hyper-parameters and normalisation, one per line where set.

    >>> bar_label(RunRow(model="svc", params="C = 1", norm="Yes", reported=1.0))
    'svc\\nC = 1\\nmin-max'
    """
    parts = [row.model_label]
    if row.params not in ("", "-"):
        parts.append(row.params)
    if row.norm not in ("", "-"):
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
    fig = _new_figure(max(5.0, 1.1 * len(names) + 2), 4.5)
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
    _check_suffix(out)
    return _save(aus_figure(times, aus, title=title, success=success), out)


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
    fig = _new_figure(11, 5)
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
        NotFoundError: no AU frame set, or the clip has no frames in it.
        InputError: unsupported suffix, or several AU sets and none named ``aus``.
    """
    from mmemo.features.aus import clip_aus

    _check_suffix(out)
    aus = clip_aus(store, clip, features=features)
    return plot_aus(
        aus.times, aus.curves, out, title=f"{aus.clip} ({aus.features})", success=aus.success
    )


def plot_layers(points: Sequence[LayerPoint], out: Path, *, title: str | None = None) -> Path:
    """Accuracy (± 95% CI) per encoder layer, one line per encoder, into ``out`` (``.png`` or
    ``.pdf``); see :func:`layers_figure`.

    Raises:
        InputError: no points or unsupported suffix.
    """
    _check_suffix(out)
    return _save(layers_figure(points, title=title), out)


def layers_figure(points: Sequence[LayerPoint], *, title: str | None = None) -> Figure:
    """Layer probing: test accuracy with 95% CI error bars per layer, one line per encoder.

    Args:
        points: One per run (:func:`mmemo.reports.report.layer_points`); lines follow the
            order of their first point, layers along x in natural order (``conv``, 1, 2, ...),
            and a layer no run of a line has is a gap in that line.
        title: Figure title.

    Returns:
        The figure: one ``errorbar`` line per :attr:`LayerPoint.line`, labelled in a legend.

    Raises:
        InputError: no points, or two points of one line on the same layer.
    """
    from mmemo.jobs.static import layer_key

    if not points:
        raise InputError("nothing to plot: no probe runs given")
    layers = sorted({p.layer for p in points}, key=layer_key)
    position = {layer: i for i, layer in enumerate(layers)}
    lines: dict[str, dict[str, LayerPoint]] = {}
    for point in points:
        line = lines.setdefault(point.line, {})
        if point.layer in line:
            raise InputError(
                f"runs '{line[point.layer].run}' and '{point.run}' are both layer {point.layer} "
                f"of '{point.line}'; plot one configuration per encoder (e.g. 'probe/*C=1*')"
            )
        line[point.layer] = point
    fig = _new_figure(max(6.0, 0.35 * len(layers) + 3), 4.5)
    ax = fig.subplots()
    for label, by_layer in lines.items():
        ordered = sorted(by_layer.values(), key=lambda p: position[p.layer])
        ax.errorbar(
            [position[p.layer] for p in ordered],
            [p.accuracy for p in ordered],
            yerr=[p.ci95 for p in ordered],
            marker="o",
            markersize=4,
            capsize=3,
            label=label,
        )
    ax.set_xticks(range(len(layers)), layers, fontsize=8)
    ax.set_xlabel("Layer")
    ax.set_ylabel("Accuracy (%) ± 95% CI")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    if title:
        ax.set_title(title)
    return fig


#: Stack colours of the complementarity figure, bottom to top.
COMPLEMENTARITY_COLORS: dict[str, str] = {
    "both right": "tab:green",
    "only A right": "tab:blue",
    "only B right": "tab:orange",
    "neither": "lightgray",
}


def plot_complementarity(result: Complementarity, out: Path, *, title: str | None = None) -> Path:
    """Draw two runs' complementarity per group into ``out`` (``.png`` or ``.pdf``); see
    :func:`complementarity_figure`.

    Raises:
        InputError: unsupported suffix.
    """
    _check_suffix(out)
    return _save(complementarity_figure(result, title=title), out)


def complementarity_figure(result: Complementarity, *, title: str | None = None) -> Figure:
    """Stacked bars of two runs' correctness per group (emotion or actor) and overall.

    Each bar is one group's shared test clips, 100%: both right, only A right, only B right and
    neither, bottom to top (:data:`COMPLEMENTARITY_COLORS`); so the top of the "only B" part
    is the oracle (right if either run is), marked with a black bar, and each run's accuracy
    is marked too (A: a triangle pointing left, B: one pointing right). The overall bar stands
    apart, after the groups.

    Args:
        result: From :func:`mmemo.reports.complementarity.complementarity`.
        title: Figure title; defaults to the two runs and the overall oracle.
    """
    rows = result.all_rows
    labels = [row.group.capitalize() if result.by == "emotion" else row.group for row in rows]
    x = np.arange(len(rows), dtype=float)
    x[-1] += 0.5  # the overall bar stands apart
    parts = {
        "both right": [row.both for row in rows],
        "only A right": [row.only_a for row in rows],
        "only B right": [row.only_b for row in rows],
        "neither": [row.neither for row in rows],
    }
    n = np.array([row.n for row in rows], dtype=float)
    fig = _new_figure(max(6.0, 0.7 * len(rows) + 3.5), 4.8)
    ax = fig.subplots()
    bottom = np.zeros(len(rows))
    for part, counts in parts.items():
        share = 100.0 * np.array(counts, dtype=float) / n
        ax.bar(
            x,
            share,
            0.7,
            bottom=bottom,
            color=COMPLEMENTARITY_COLORS[part],
            edgecolor="black",
            linewidth=0.5,
            label=part,
        )
        bottom += share
    ax.scatter(
        x,
        [row.oracle for row in rows],
        marker="_",
        s=500,
        color="black",
        zorder=3,
        label="oracle (either right)",
    )
    ax.scatter(
        x - 0.22,
        [row.accuracy_a for row in rows],
        marker="<",
        s=30,
        color="navy",
        zorder=3,
        label=f"accuracy A ({result.run_a})",
    )
    ax.scatter(
        x + 0.22,
        [row.accuracy_b for row in rows],
        marker=">",
        s=30,
        color="darkred",
        zorder=3,
        label=f"accuracy B ({result.run_b})",
    )
    ax.set_xticks(
        x,
        labels,
        rotation=30 if result.by == "emotion" else 0,
        ha="right" if result.by == "emotion" else "center",
        fontsize=8,
    )
    ax.set_xlabel(result.by.capitalize())
    ax.set_ylabel("Shared test clips (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(
        title
        or f"A = {result.run_a}, B = {result.run_b}: oracle {result.overall.oracle:.2f}% "
        f"(A {result.overall.accuracy_a:.2f}%, B {result.overall.accuracy_b:.2f}%)",
        fontsize=9,
    )
    return fig
