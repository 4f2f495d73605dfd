"""``mmemo demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mmemo.cli.common import RichProgress, console, store_path


def register(app: typer.Typer) -> None:
    app.command()(demo)


def demo(
    ctx: typer.Context,
    store: Annotated[
        Path | None, typer.Option("--store", help="Store folder for the demo.", show_default=False)
    ] = None,
    actors: Annotated[int, typer.Option(help="Actors in the synthetic corpus.")] = 4,
) -> None:
    """Run the whole loop on a synthetic corpus: synth → init → ingest → train → fuse → report.

    Example: `mmemo demo --store ./demo-store`
    """
    from mmemo.demo import run_demo
    from mmemo.reports.tables import render

    result = run_demo(
        store_path(ctx, store), actors=actors, say=console.print, progress=RichProgress()
    )
    console.print(render(result.rows, fmt="table"))
