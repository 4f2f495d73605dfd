"""What the command modules share: the store option, the console, progress bars, output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from mmemo.display import FitTable

#: Markup is off: strings print as written (paths, run names and SQL hold brackets); styled
#: output is built with :func:`styled`.
console = Console(markup=False)
err_console = Console(stderr=True, markup=False)

StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        envvar="MMEMO_STORE",
        help="Store folder (default ./mmemo-store).",
        show_default=False,
    ),
]
SchemeOpt = Annotated[
    str,
    typer.Option("--scheme", help="Fold scheme: luna2022, loao, kfold:K:SEED, emobox or gender6."),
]
ClipsOpt = Annotated[
    str | None,
    typer.Option(
        "--clips",
        help="Clip selection: a name (all, av-speech, speech, song, audio, video, ...) "
        'or a SQL condition on clips, e.g. "actor <= 12 AND intensity = 2".',
    ),
]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Write to this file.")]


def store_path(ctx: typer.Context, store: Path | None = None) -> Path:
    """The store folder: a command's own --store, else the global one, else the default."""
    from mmemo.store.store import default_store_path

    if store is not None:
        return store
    root = ctx.find_root()
    if root.obj and root.obj.get("store") is not None:
        return root.obj["store"]
    return default_store_path()


def open_store(ctx: typer.Context, store: Path | None = None):
    from mmemo.store.store import Store

    return Store.open(store_path(ctx, store))


# Progress rendering lives in mmemo.cli.progress; re-exported for the command modules.
from mmemo.cli.progress import RichProgress  # noqa: E402, F401


def cell(value: Any) -> Text:
    """A table cell (or header) as plain text: data is never read as rich markup, so a value
    like ``[red]x[/red]`` or ``[bilstm:calm, ...]`` prints as written. None is empty."""
    return Text("" if value is None else str(value))


def styled(*parts: str | tuple[str, str]) -> Text:
    """Text from plain strings and ``(text, style)`` pairs; no part is read as markup."""
    return Text.assemble(*parts)


def simple_table(
    title: str | None,
    columns: list[str],
    rows: list[tuple[Any, ...]],
    *,
    key: int | None = 0,
    caption: str | None = None,
) -> FitTable:
    """A table of ``rows`` that fits the terminal (:class:`mmemo.display.FitTable`): plain
    text, numbers rounded, the identifying column ``key`` first and never cut; when it does
    not fit, columns with one value in every row are said once above it first."""
    return FitTable(columns, rows, key=key, title=title, caption=caption, factor=True)


def emit(text: str, out: Path | None) -> None:
    """Print ``text`` or write it to ``out``."""
    if out is None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)
    else:
        out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        err_console.print(f"wrote {out}")


def show_result(table: Any, fmt: str, out: Path | None) -> None:
    """Print an Arrow result as a rich table, or write it as csv/json/markdown/parquet."""
    from mmemo.store.query import format_result

    rendered = format_result(table, fmt, out)
    if fmt == "parquet":
        err_console.print(f"{rendered} to {out}")
    elif isinstance(rendered, str):
        emit(rendered, out)
    else:
        console.print(rendered)


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)
