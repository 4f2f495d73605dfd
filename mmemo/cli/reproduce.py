"""``mmemo reproduce PAPER``: a paper's published numbers beside the store's, and the commands
that make the matching runs (``--recipe`` prints them, ``--run`` runs them here)."""

from __future__ import annotations

import contextlib
import json
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from mmemo.cli.common import console, err_console, open_store, simple_table, store_path, styled
from mmemo.errors import InputError, MmemoError


def register(app: typer.Typer) -> None:
    app.command()(reproduce)


def reproduce(
    ctx: typer.Context,
    paper: Annotated[
        str, typer.Argument(help="A built-in paper (luna2022) or the path of a .toml cells file.")
    ],
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Only this group of cells (repeatable), e.g. table2-static."),
    ] = None,
    show_recipe: Annotated[
        bool, typer.Option("--recipe", help="Print the commands that make the runs; no check.")
    ] = False,
    run: Annotated[
        bool,
        typer.Option(
            "--run",
            help="Run those commands here first (steps whose runs exist are skipped), then check.",
        ),
    ] = False,
    inputs: Annotated[
        list[Path] | None,
        typer.Option(
            "--inputs",
            help="A folder to look for the paper's input files in "
            "(repeatable), e.g. a checkout of the authors' repository.",
        ),
    ] = None,
    given: Annotated[
        list[str] | None,
        typer.Option("--input", help="NAME=PATH for one input (repeatable); see --recipe."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Cells missing from the store fail the check too.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Check the store against a paper's published tables, cell by cell (paper, store,
    difference, within tolerance or missing); exit status 1 on a mismatch.

    Examples:

    * `mmemo reproduce luna2022 --recipe` (the commands, from the authors' files or raw inputs)

    * `mmemo reproduce luna2022 --run --only table2-static --inputs tests/data`

    * `mmemo reproduce luna2022 --strict`

    * `mmemo reproduce my-paper.toml`
    """
    from mmemo.reports.recipes import recipe, resolve_inputs
    from mmemo.reports.reproduce import check_cells, load_paper

    if fmt not in ("table", "json"):
        raise InputError(f"--format {fmt!r}: expected table or json")
    found = load_paper(paper)
    groups = found.select(only)
    where = resolve_inputs(found, inputs or [], _pairs(given or []))
    lines = recipe(found, groups, where)
    if show_recipe:
        _print_recipe(found, groups, lines, where)
        return
    if run:
        _run(ctx, lines)
    check = check_cells(open_store(ctx), found, groups)
    if fmt == "json":
        console.print_json(json.dumps([_json(r) for r in check.results]))
    else:
        _print_check(found, check)
    if not check.passed(strict=strict):
        raise typer.Exit(1)


def _pairs(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise InputError(f"--input {item!r}: expected NAME=PATH")
        out[name] = value
    return out


def _print_recipe(paper, groups, lines, where) -> None:
    console.print(f"# {paper.key}: {paper.citation}", highlight=False, soft_wrap=True)
    console.print(
        "# in a store made with `mmemo init`; each group's cells need its commands", highlight=False
    )
    group = None
    for line in lines:
        if line.group != group:
            group = line.group
            console.print(
                f"\n# {group}: {paper.groups[group].about}", highlight=False, soft_wrap=True
            )
        console.print(line.cmd, highlight=False, soft_wrap=True)
    needed = sorted({m for line in lines for m in line.missing})
    if needed:
        console.print(
            "\n# inputs not found (give --inputs DIR or --input NAME=PATH):", highlight=False
        )
        for name in needed:
            console.print(
                f"#   <{name}>: {paper.inputs[name].about}", highlight=False, soft_wrap=True
            )


def _run(ctx: typer.Context, lines) -> None:
    """Each command through the ``mmemo`` app in this process, on this store."""
    from mmemo.cli.main import app
    from mmemo.store.store import Store

    missing = sorted({m for line in lines for m in line.missing})
    if missing:
        groups = sorted({line.group for line in lines if line.missing})
        raise InputError(
            f"--run: input(s) {', '.join(missing)} not found for group(s) {', '.join(groups)}; "
            "give --inputs DIR or --input NAME=PATH (see --recipe), or --only other groups"
        )
    root = store_path(ctx)
    for i, line in enumerate(lines, 1):
        if line.makes:
            with Store.open(root).session() as s:
                done = {r[0] for r in s.fetch("SELECT name FROM runs WHERE status = 'complete'")}
            if set(line.makes) <= done:
                err_console.print(
                    f"[{i}/{len(lines)}] skipped (runs exist): {line.cmd}",
                    highlight=False,
                    soft_wrap=True,
                )
                continue
        err_console.print(f"[{i}/{len(lines)}] {line.cmd}", highlight=False, soft_wrap=True)
        argv = shlex.split(line.cmd)[1:]
        try:  # the steps' own output goes to stderr: stdout holds the check
            with contextlib.redirect_stdout(sys.stderr):
                code = app(
                    args=["--store", str(root), *argv], prog_name="mmemo", standalone_mode=False
                )
        except MmemoError as exc:
            raise type(exc)(f"step {i} ({line.cmd}) failed: {exc}") from None
        if isinstance(code, int) and code:
            raise InputError(f"step {i} ({line.cmd}) exited with status {code}")


def _print_check(paper, check) -> None:
    rows = [
        (
            r.cell.table,
            r.cell.row,
            r.cell.column,
            f"{r.cell.value:.2f}",
            "" if r.store is None else f"{r.store:.2f}",
            "" if r.difference is None else f"{r.difference:+.2f}",
            f"±{r.cell.tolerance:g}",
            r.status,
        )
        for r in check.results
    ]
    columns = ["table", "row", "column", "paper", "store", "diff", "tol", "status"]
    console.print(simple_table(f"{paper.key}: {paper.citation}", columns, rows, key=None))
    summary = (
        f"{check.count('ok')} ok, {check.count('mismatch')} mismatch, "
        f"{check.count('missing')} missing"
    )
    style = "red" if check.count("mismatch") else "green"
    console.print(styled((summary, style)), highlight=False)
    notes: dict[str, int] = {}
    for r in check.results:
        if r.status == "missing" and r.note:
            notes[r.note] = notes.get(r.note, 0) + 1
    for note, n in notes.items():  # said once per cause, not in every row
        console.print(f"missing: {note} ({n} cell{'s' if n != 1 else ''})", soft_wrap=True)
    for r in check.results:
        if r.status == "mismatch":
            err_console.print(
                styled(
                    ("mismatch", "red"),
                    f": {r.cell.label}: paper {r.cell.value:g}, "
                    f"store {r.store:.4f} (run '{r.cell.run}', {r.cell.metric})",
                ),
                highlight=False,
                soft_wrap=True,
            )


def _json(r) -> dict:
    return {
        "table": r.cell.table,
        "row": r.cell.row,
        "column": r.cell.column,
        "group": r.cell.group,
        "run": r.cell.run,
        "metric": r.cell.metric,
        "paper": r.cell.value,
        "store": r.store,
        "difference": r.difference,
        "tolerance": r.cell.tolerance,
        "status": r.status,
    }
