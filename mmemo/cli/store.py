"""Store commands: init, migrate, gc, tables, snapshots, runs, sql."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mmemo.cli.common import (
    OutOpt,
    console,
    err_console,
    format_option,
    open_store,
    show_result,
    simple_table,
    store_path,
)
from mmemo.display import FitTable


def register(app: typer.Typer) -> None:
    for command in (init, connect, migrate, gc, tables, snapshots, runs, sql, doctor):
        app.command()(command)


def init(
    ctx: typer.Context,
    registry: Annotated[
        str | None,
        typer.Option(help="Shared registry: postgresql://USER@HOST:PORT/DB (no password)."),
    ] = None,
    catalog: Annotated[
        str | None,
        typer.Option(help="DuckLake catalog: postgresql://USER@HOST:PORT/DB or a file."),
    ] = None,
    data: Annotated[
        str | None, typer.Option(help="Lake files and models: s3://BUCKET/PREFIX or a folder.")
    ] = None,
) -> None:
    """Create a store in --store DIR, or upgrade the one there.

    Without options every part lives in DIR. With them, DIR gets a mmemo.toml pointing at
    shared parts (team mode); passwords and keys come from PGPASSWORD and AWS_* variables.

    Examples: `mmemo --store ./store init`;
    `mmemo --store ./team init --registry postgresql://mmemo@db:5432/mmemo
    --catalog postgresql://mmemo@db:5432/mmemo --data s3://emotion/mmemo`
    """
    from mmemo.store.config import StoreConfig
    from mmemo.store.store import Store

    config = StoreConfig(registry, catalog, data)
    store = Store.init(store_path(ctx), None if config.is_local else config)
    console.print(f"store ready at {store.root} ({store.describe()})")


def connect(
    ctx: typer.Context,
    source: Annotated[
        str, typer.Argument(help="The shared store's registry URL, or a folder connected to it.")
    ],
) -> None:
    """Point --store DIR at an existing team store (writes DIR/mmemo.toml).

    The registry knows the store's catalog and data, so its URL is enough.
    Example: `mmemo --store ./team connect postgresql://mmemo@db.lab:5432/mmemo`
    """
    from mmemo.store.store import Store

    store = Store.connect(store_path(ctx), source)
    console.print(f"connected {store.root} to {store.describe()}")


def migrate(ctx: typer.Context) -> None:
    """Upgrade a store made by an older mmemo to this version's schema."""
    store = open_store(ctx)
    applied = store.upgrade()
    console.print(", ".join(applied) if applied else "store already up to date")


def gc(ctx: typer.Context) -> None:
    """Remove what interrupted jobs left behind (hidden rows, unfinished entries, model files,
    lake files no snapshot references); it only deletes, so it also runs on a full disk."""
    from mmemo.store.gc import collect_garbage

    result = collect_garbage(open_store(ctx))
    console.print(result.describe())


def tables(ctx: typer.Context) -> None:
    """List the tables and views users can query, with row counts."""
    from mmemo.store.inventory import table_overview

    rows = table_overview(open_store(ctx))
    console.print(simple_table(None, ["table", "kind", "rows", "latest snapshot"], rows))


def snapshots(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="Show the newest N.")] = 50,
) -> None:
    """List lake snapshots (versions) with the commit message naming what made each one.

    Query an old version with DuckLake's syntax: on a fresh store versions 0-5 are the lake's
    schema and 6 is the first ingest, so
    `mmemo sql "SELECT count(*) FROM lake.clips AT (VERSION => 6)"` counts its clips.
    """
    from mmemo.store.inventory import snapshot_list

    rows = snapshot_list(open_store(ctx), limit)
    console.print(simple_table(None, ["snapshot", "time (UTC)", "message", "changes"], rows))


def runs(ctx: typer.Context) -> None:
    """List runs, oldest first: name, model (`fusion-logreg`, `imported` ... for fusions and
    imports), fold scheme, clip selection, status, and when it finished (UTC).

    Grid runs keep their whole names (`svc/C=10`); a terminal too narrow for the columns gets
    one record per run. Everything else about a run (its snapshot, parameters, inputs):
    `mmemo sql "SELECT * FROM runs"`.
    """
    from mmemo.store.inventory import run_list

    rows = run_list(open_store(ctx))
    columns = ["name", "model", "scheme", "clips", "status", "finished"]
    console.print(simple_table(None, columns, rows, caption=f"{len(rows)} run(s)"))


def sql(
    ctx: typer.Context,
    query: Annotated[str | None, typer.Argument(help="SQL to run.")] = None,
    file: Annotated[
        str | None,
        typer.Option(
            "-f",
            "--file",
            help="Run a recipe by name (accuracy_by_actor, analysis/accuracy_by_actor) "
            "or the SQL in a file.",
        ),
    ] = None,
    params: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help='Recipe parameter NAME=VALUE (repeatable); VALUE is JSON (3, ["a","b"]) or '
            "text, taken whole where one value is wanted (run_b=svc/C=1,norm=minmax). A list "
            "takes one item per --param (--param runs=ft --param runs=svc/C=1,norm=minmax), "
            'or a,b with "double quotes" around an item that holds a comma.',
        ),
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the recipes -f takes.")] = False,
    fmt: Annotated[str | None, format_option("table, csv, json, markdown or parquet")] = None,
    out: OutOpt = None,
    write: Annotated[bool, typer.Option("--write", help="Allow changes to the store.")] = False,
    read: Annotated[
        list[Path] | None,
        typer.Option(
            "--read",
            help="A file or folder the query may read, e.g. with read_csv (repeatable); "
            "without --write a query opens no other file.",
        ),
    ] = None,
) -> None:
    """Query the store in SQL: clips, folds, posteriors, predictions, runs ... (read-only).

    Without --write a query reads the store and nothing else: statements that write files
    (COPY ... TO, EXPORT), change settings or the lake's files (SET, CALL, the lake's
    maintenance functions), attach or load anything are refused before they run.

    Examples:

    * `mmemo sql "SELECT label, count(*) FROM clips GROUP BY label"`

    * `mmemo sql --list` (the recipes shipped with mmemo)

    * `mmemo sql -f accuracy_by_actor --out actors.csv` (the extension says the format)

    * `mmemo sql -f fusion_input --param runs=audio-ft,aus-mlp` (runs of `mmemo demo`)

    * `mmemo sql "SELECT count(*) FROM lake.clips AT (VERSION => 6)"` (time travel: the
      clips of the first ingest of a fresh store; `mmemo snapshots` lists the versions)

    * `mmemo sql --read labels.csv "SELECT * FROM read_csv('labels.csv') JOIN clips
      USING (clip_id)"` (a read-only query reads no other file)

    Snapshots made with --write are labelled "mmemo sql --write: ..." in `mmemo snapshots`.
    """
    from mmemo.errors import InputError
    from mmemo.outputs import RESULT_FORMATS, output_format
    from mmemo.store.query import run_query
    from mmemo.store.recipes import find_recipe, list_recipes, parse_params, prepare, write_message

    fmt = output_format(out, fmt, RESULT_FORMATS)
    if list_:
        # one line per recipe: its name and as much of its description as the line holds
        rows = [(r.key, r.description) for r in list_recipes()]
        title = "recipes (mmemo sql -f NAME)"
        console.print(FitTable(["name", "about"], rows, title=title, shorten=1))
        return
    if (query is None) == (file is None):
        raise InputError("give either a QUERY or -f FILE (a recipe name or a file)")
    recipe = None
    if file is not None:
        recipe = find_recipe(file)
        try:
            query = recipe.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{file}: cannot read ({exc.strerror})") from None
    message = write_message(query, recipe) if write else None
    prepared = prepare(query, parse_params(params), recipe=recipe, write_message=message)
    origin = None if recipe is None else str(file)
    table = run_query(open_store(ctx), prepared, write=write, origin=origin, readable=read or ())
    if table is None:
        err_console.print("done")
        return
    show_result(table, fmt, out)


def doctor(
    ctx: typer.Context,
    deep: Annotated[
        bool, typer.Option("--deep", help="Read every row of every lake file, not only footers.")
    ] = False,
) -> None:
    """Check the store's parts (registry, lake, extension, schema versions) and torch/CUDA:
    the store's DuckDB files read back whole, and every file the lake references is there
    with a readable footer.

    Exits with status 1 when something is wrong. Example: `mmemo doctor --deep`
    """
    from mmemo.store.doctor import diagnose
    from mmemo.store.store import Store

    checks = diagnose(Store(store_path(ctx)), deep=deep)
    rows = [("ok" if c.ok else "FAIL", c.part, c.detail) for c in checks]
    console.print(simple_table(None, ["", "part", "detail"], rows))
    if not all(c.ok for c in checks):
        raise typer.Exit(1)
