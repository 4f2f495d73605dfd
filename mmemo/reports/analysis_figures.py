"""Figures of the analyses beyond the paper: accuracy per encoder layer (layer probing) and
the complementarity of two runs per emotion or actor. Drawn as :mod:`mmemo.reports.figures`
draws (Agg canvas, no ``pyplot``; ``.png`` or ``.pdf`` by suffix).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from mmemo.errors import InputError
from mmemo.reports.figures import check_suffix, new_figure, save_figure

if TYPE_CHECKING:
    from mmemo.reports.complementarity import Complementarity
    from mmemo.reports.report import LayerPoint


def plot_layers(points: Sequence[LayerPoint], out: Path, *, title: str | None = None) -> Path:
    """Accuracy (± 95% CI) per encoder layer, one line per encoder, into ``out`` (``.png`` or
    ``.pdf``); see :func:`layers_figure`.

    Raises:
        InputError: no points or unsupported suffix.
    """
    check_suffix(out)
    return save_figure(layers_figure(points, title=title), out)


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
    from mmemo.jobs.probes import layer_key

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
    fig = new_figure(max(6.0, 0.35 * len(layers) + 3), 4.5)
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
    check_suffix(out)
    return save_figure(complementarity_figure(result, title=title), out)


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
    fig = new_figure(max(6.0, 0.7 * len(rows) + 3.5), 4.8)
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
    for offset, accuracy, marker, color, label in (
        (-0.22, [row.accuracy_a for row in rows], "<", "navy", f"accuracy A ({result.run_a})"),
        (0.22, [row.accuracy_b for row in rows], ">", "darkred", f"accuracy B ({result.run_b})"),
    ):
        ax.scatter(x + offset, accuracy, marker=marker, s=30, color=color, zorder=3, label=label)
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
