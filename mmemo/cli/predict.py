"""``mmemo predict``: apply a run's fold models to clips."""

from __future__ import annotations

from typing import Annotated

import typer

from mmemo.cli.common import ClipsOpt, OutOpt, open_store, show_result


def predict(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help="Run whose fold models to apply.")],
    clips: ClipsOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, json or parquet.")] = "table",
    out: OutOpt = None,
) -> None:
    """Apply a run's fold models to clips: a run's own test clips get their fold's model
    (reproducing the stored posteriors), other clips the mean over folds.

    Example: `mmemo predict aus-svc --clips "actor = 24" --format csv --out pred.csv`
    """
    from mmemo.jobs.predict import predict_run

    show_result(predict_run(open_store(ctx), run, clips), fmt, out)
