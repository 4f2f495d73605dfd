"""Result commands: ``mmemo report``, ``compare``, ``export``, ``plot runs``, ``plot layers`` and
``plot complementarity``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mmemo.cli.common import (
    OutOpt,
    console,
    emit,
    err_console,
    format_option,
    open_store,
    show,
    to_json,
)
from mmemo.errors import InputError
from mmemo.outputs import FIGURE_FORMATS, output_format, wrote

FigureOpt = Annotated[
    Path, typer.Option("--out", help="Figure file: .png, .pdf or .svg (the extension decides).")
]


def report(
    ctx: typer.Context,
    runs: Annotated[list[str], typer.Argument(help="Run names or globs, e.g. 'svc/*'.")],
    fmt: Annotated[str | None, format_option("table, markdown, latex, csv or json")] = None,
    per_class: Annotated[
        bool, typer.Option("--per-class", help="Add per-emotion precision, recall, accuracy.")
    ] = False,
    baselines: Annotated[
        bool, typer.Option("--baselines", help="Add ZeroR and the human-perception rows.")
    ] = False,
    confusion: Annotated[
        Path | None,
        typer.Option(
            help="Write the average confusion matrix over folds (one run) as a figure "
            "(.png, .pdf or .svg)."
        ),
    ] = None,
    complementarity: Annotated[
        bool,
        typer.Option(
            "--complementarity",
            help="Two runs A B: test clips both, only A, only B or neither get right, per "
            "emotion and overall, with the oracle of fusing them, Cohen's kappa and Yule's Q.",
        ),
    ] = False,
    by: Annotated[
        str | None,
        typer.Option("--by", help="With --complementarity: rows per emotion (default) or actor."),
    ] = None,
    scheme: Annotated[
        str | None,
        typer.Option(
            help="Keep the runs of this fold scheme (and name those left out); without it, "
            "runs of different schemes are refused."
        ),
    ] = None,
    matrix: Annotated[
        bool,
        typer.Option(
            "--matrix",
            help="Cross-corpus runs: accuracy and UAR per corpus trained on (rows) and corpus "
            "tested (columns).",
        ),
    ] = False,
    paired: Annotated[
        bool,
        typer.Option(
            "--paired",
            help="Two runs: also their paired tests below the table (McNemar's exact test "
            "and a paired bootstrap CI of the accuracy difference, as `mmemo compare`).",
        ),
    ] = False,
    out: OutOpt = None,
) -> None:
    """Accuracy (mean over folds, % ± 95% CI), UAR and macro-F1 of runs, in paper form.

    Examples:

    * `mmemo report zeror`

    * `mmemo report 'svc/*' 'knn/*' --baselines --out table2.tex` (LaTeX: the extension
      says the format)

    * `mmemo report fusion --per-class --confusion fusion.png`

    * `mmemo report audio-ft aus-mlp --complementarity --out which.tex`

    * `mmemo report 'svc/*' --scheme emobox`

    * `mmemo report fusion stacked --paired` (the paper's fusion and the stacked one)

    * `mmemo report loco --matrix --out matrix.tex` (a `--scheme corpora` run: each
      corpus tested after training on the others)
    """
    from mmemo.reports.tables import FORMATS

    fmt = output_format(out, fmt, FORMATS)
    if confusion is not None:
        output_format(confusion, None, FIGURE_FORMATS, option="--confusion")
    if by is not None and not complementarity:
        raise InputError(f"--by {by} goes with --complementarity (report A B --complementarity)")
    if complementarity:
        _report_complementarity(ctx, runs, fmt, by, out, per_class, baselines, confusion)
        return
    if matrix:
        _report_matrix(ctx, runs, fmt, out, per_class, baselines, confusion, paired)
        return
    from mmemo.reports.report import left_out_of_scheme, report_rows
    from mmemo.reports.rows import baseline_rows
    from mmemo.reports.tables import render

    store = open_store(ctx)
    rows = report_rows(store, runs, scheme=scheme)
    if scheme is not None:
        for name, other in left_out_of_scheme(store, runs, scheme):
            err_console.print(f"left out {name}: fold scheme {other}, not {scheme}")
    if baselines:
        rows = baseline_rows([r.summary for r in rows if r.summary is not None]) + rows
    if confusion is not None:
        from mmemo.reports.figures import plot_confusion

        measured = [r.summary for r in rows if r.summary is not None and r.ranked]
        if len(measured) != 1:
            raise InputError(f"--confusion draws one run; {len(measured)} match")
        # a side file: its message goes to stderr, clear of the report on stdout
        err_console.print(wrote(plot_confusion(measured[0], confusion)))
    pair = _paired_runs(rows, fmt) if paired else None
    rendered = render(rows, fmt=fmt, per_class=per_class)  # type: ignore[arg-type]
    show(rendered, out, len(rows))
    if pair is not None:
        from mmemo.reports.report import compare_runs

        _print_comparison(compare_runs(store, *pair))


def _paired_runs(rows, fmt: str) -> tuple[str, str]:
    """The two runs a ``report --paired`` compares."""
    if fmt not in ("table", "markdown"):
        raise InputError(f"--paired prints below a table or markdown report, not --format {fmt}")
    names = [r.summary.run for r in rows if r.summary is not None and r.ranked]
    if len(names) != 2:
        raise InputError(f"--paired compares two runs; {len(names)} match")
    return names[0], names[1]


def _print_comparison(c) -> None:
    console.print(
        f"{c.n} shared test clips (accuracy pooled over folds): "
        f"{c.run_a} {c.accuracy_a:.2f}%, {c.run_b} {c.accuracy_b:.2f}%\n"
        f"only {c.run_a} right: {c.only_a}, only {c.run_b} right: {c.only_b}; "
        f"McNemar exact p = {c.p_value:.4g}\n"
        f"difference {c.diff:+.2f} points, paired bootstrap 95% CI [{c.diff_low:+.2f}, "
        f"{c.diff_high:+.2f}]"
    )


def _report_matrix(
    ctx: typer.Context, runs: list[str], fmt: str, out: Path | None, *others: Any
) -> None:
    """``report RUNS --matrix``: the train-corpus x test-corpus table."""
    from mmemo.reports.corpus_matrix import corpus_cells, render_matrix

    names = ("--per-class", "--baselines", "--confusion", "--paired")
    given = [name for name, value in zip(names, others, strict=True) if value]
    if given:
        raise InputError(f"--matrix does not combine with {', '.join(given)}")
    cells = corpus_cells(open_store(ctx), runs)
    show(render_matrix(cells, fmt), out, len(cells))


def _report_complementarity(
    ctx: typer.Context,
    runs: list[str],
    fmt: str,
    by: str | None,
    out: Path | None,
    per_class: bool,
    baselines: bool,
    confusion: Path | None,
) -> None:
    """``report A B --complementarity [--by actor]``."""
    from mmemo.reports.complementarity import complementarity, render_complementarity

    given = [
        name
        for name, on in (
            ("--complementarity", True),
            ("--per-class", per_class),
            ("--baselines", baselines),
            ("--confusion", confusion is not None),
        )
        if on
    ]
    if len(given) > 1:
        raise InputError(f"--complementarity does not combine with {', '.join(given[1:])}")
    if len(runs) != 2:
        raise InputError(f"--complementarity takes two runs, A and B; {len(runs)} given")
    result = complementarity(open_store(ctx), runs[0], runs[1], by=by or "emotion")
    show(render_complementarity(result, fmt=fmt), out, len(result.all_rows))


def export(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help="Run name.")],
    out: Annotated[
        Path, typer.Option(help="Output file: .parquet or .csv (the extension decides).")
    ],
    fmt: Annotated[str | None, format_option("parquet or csv")] = None,
) -> None:
    """Export a run's posteriors with clip metadata, for analysis elsewhere.

    Example: `mmemo export fusion --out fusion.csv`
    """
    from mmemo.outputs import atomic_path
    from mmemo.reports.report import export_run

    fmt = output_format(out, fmt, ("parquet", "csv"))
    with atomic_path(out) as temp:
        n = export_run(open_store(ctx), run, temp, fmt)
    console.print(wrote(out, n))


def compare(
    ctx: typer.Context,
    run_a: Annotated[str, typer.Argument(help="First run.")],
    run_b: Annotated[str, typer.Argument(help="Second run.")],
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Paired significance of two runs on the same test clips: McNemar's exact test and a
    paired bootstrap 95% CI of the accuracy difference.

    Example: `mmemo compare fusion audio-ft`
    """
    from mmemo.reports.report import compare_runs

    c = compare_runs(open_store(ctx), run_a, run_b)
    if fmt == "json":
        emit(to_json(c.to_json()))
        return
    _print_comparison(c)


def plot_runs(
    ctx: typer.Context,
    runs: Annotated[list[str], typer.Argument(help="Run names or globs.")],
    out: FigureOpt,
) -> None:
    """Accuracy bars with 95% CI of runs (the paper's Figure 7).

    Example: `mmemo plot runs 'svc/*' fusion --out runs.png`
    """
    from mmemo.reports.figures import plot_runs as draw
    from mmemo.reports.report import report_rows

    output_format(out, None, FIGURE_FORMATS)
    console.print(wrote(draw(report_rows(open_store(ctx), runs), out)))


def plot_layers(
    ctx: typer.Context,
    runs: Annotated[list[str], typer.Argument(help="Probe run names or globs, e.g. 'probe/*'.")],
    out: FigureOpt,
) -> None:
    """Accuracy (± 95% CI) per encoder layer, one line per encoder (layer probing).

    The runs are probe runs (`mmemo train static --features 'NAME/layer=*'`); their points
    come from the recipe `analysis/layer_accuracy` (`mmemo sql -f layer_accuracy`).

    Example: `mmemo plot layers 'probe/*' --out layers.png`
    """
    from mmemo.reports.analysis_figures import plot_layers as draw
    from mmemo.reports.report import layer_points

    output_format(out, None, FIGURE_FORMATS)
    console.print(wrote(draw(layer_points(open_store(ctx), runs), out)))


def plot_complementarity(
    ctx: typer.Context,
    run_a: Annotated[str, typer.Argument(help="Run A.")],
    run_b: Annotated[str, typer.Argument(help="Run B.")],
    out: FigureOpt,
    by: Annotated[str, typer.Option("--by", help="Bars per emotion or actor.")] = "emotion",
) -> None:
    """Stacked bars per emotion of the test clips both runs, only A, only B or neither get
    right, with the oracle of fusing them and each run's accuracy marked.

    The numbers are `mmemo report A B --complementarity`'s.

    Example: `mmemo plot complementarity audio-ft aus-mlp --out which.png`
    """
    from mmemo.reports.analysis_figures import plot_complementarity as draw
    from mmemo.reports.complementarity import complementarity

    output_format(out, None, FIGURE_FORMATS)
    result = complementarity(open_store(ctx), run_a, run_b, by=by)
    console.print(wrote(draw(result, out)))
