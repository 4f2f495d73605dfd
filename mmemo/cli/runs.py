"""Job and result commands: train, report."""

from __future__ import annotations

from typing import Annotated

import typer

from mmemo.cli.common import (
    ClipsOpt,
    OutOpt,
    RichProgress,
    SchemeOpt,
    console,
    emit,
    open_store,
)

train_app = typer.Typer(
    help="Train models under subject-wise cross-validation.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")
    app.command()(report)


@train_app.command("static")
def train_static(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Run name (a grid appends /k=v,... per config).")],
    model: Annotated[str, typer.Option(help="zeror, svc, knn, mlp or logreg.")],
    features: Annotated[
        str | None, typer.Option(help="Per-clip feature set (not needed for zeror).")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="scikit-learn parameter K=V[,V...] (repeatable; several values make a grid; "
            "tuples as 80x80).",
        ),
    ] = None,
    norm: Annotated[
        str, typer.Option(help="minmax, standard or none (comma list = grid).")
    ] = "none",
    scheme: SchemeOpt = "luna2022",
    clips: ClipsOpt = "av-speech",
    seed: Annotated[int, typer.Option(help="Random seed of the model.")] = 2020,
    jobs: Annotated[int, typer.Option(help="Parallel workers (-1 = all cores).")] = -1,
) -> None:
    """Train a static (per-clip) scikit-learn model, one per fold, and store its posteriors.

    Examples:

    * `mmemo train static --model zeror --name zeror`

    * `mmemo train static --features au_means --model svc --param C=0.1,1,10
      --norm minmax,none --name svc`
    """
    from mmemo.jobs.static import train_static_grid

    infos = train_static_grid(
        open_store(ctx),
        name=name,
        model=model,
        param_specs=param or [],
        norms=norm.split(","),
        features=features,
        scheme=scheme,
        clips=clips,
        seed=seed,
        n_jobs=jobs,
        progress=RichProgress(),
    )
    for info in infos:
        console.print(
            f"run [bold]{info.name}[/bold] ({info.n_clips} clips, {len(info.fold_seconds)} folds, "
            f"{info.wall_seconds:.1f} s) -> snapshot {info.snapshot_id}"
        )


def report(
    ctx: typer.Context,
    runs: Annotated[list[str], typer.Argument(help="Run names or globs, e.g. 'svc/*'.")],
    fmt: Annotated[
        str, typer.Option("--format", help="table, markdown, latex, csv or json.")
    ] = "table",
    per_class: Annotated[
        bool, typer.Option("--per-class", help="Add per-emotion precision, recall, accuracy.")
    ] = False,
    out: OutOpt = None,
) -> None:
    """Accuracy (mean over folds, % ± 95% CI), UAR and macro-F1 of runs, in paper form.

    Examples:

    * `mmemo report zeror`

    * `mmemo report 'svc/*' 'knn/*' --format latex --out table2.tex`
    """
    from mmemo.reports.report import report_rows
    from mmemo.reports.tables import render

    rows = report_rows(open_store(ctx), runs)
    rendered = render(rows, fmt=fmt, per_class=per_class)  # type: ignore[arg-type]
    if isinstance(rendered, str):
        emit(rendered, out)
    else:
        console.print(rendered)
