"""``mmemo predict``: apply a run's fold models to clips."""

from __future__ import annotations

from typing import Annotated

import typer

from mmemo.cli.common import (
    ClipsOpt,
    OutOpt,
    err_console,
    format_option,
    open_store,
    show_result,
)


def predict(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help="Run whose fold models to apply.")],
    clips: ClipsOpt = None,
    fmt: Annotated[str | None, format_option("table, csv, json, markdown or parquet")] = None,
    out: OutOpt = None,
) -> None:
    """Apply a run's fold models to clips, never a model that trained on the clip's actor.

    A test clip of the run gets its fold's model (reproducing the stored posteriors); another
    clip of an actor the run held out in a fold (a song, the other modality's file of the same
    take) gets that fold's model; an actor the run never saw gets the mean of all folds. The
    `folds` and `basis` columns say which. Without --clips the run's own selection is used;
    clips without the run's inputs (features, audio) are left out and counted on stderr.

    Example: `mmemo predict aus-svc --clips "actor = 24" --out pred.csv`
    """
    from mmemo.jobs.predict import predict_run
    from mmemo.outputs import RESULT_FORMATS, output_format

    fmt = output_format(out, fmt, RESULT_FORMATS)
    prediction = predict_run(open_store(ctx), run, clips)
    show_result(prediction.table, fmt, out)
    err_console.print(prediction.note(), highlight=False)
