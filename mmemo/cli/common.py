"""What the command modules share: the options, the console, progress bars, output.

An option two commands take is declared once here, as an ``Annotated`` alias (like the ``hf``
CLI's ``TokenOpt``), so that its flag and help read the same wherever it appears; an option
only one command takes stays with that command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, RenderableType
from rich.text import Text

from mmemo.display import FitTable


class _Console(Console):
    """A rich console that prints every message whole, on one line, when it does not write to
    a terminal (a log file, a pipe, a Slurm job's output), whatever ``COLUMNS`` says: scripts
    grep those lines, and ``run grid-name/C=1,norm=minmax (240 clips ...) -> snapshot 15``
    hard-wrapped at 80 columns is found by no pattern. Tables still fit the width:
    :class:`~mmemo.display.FitTable` lays itself out from it and its columns wrap their own
    cells. On a terminal, messages wrap at its width as before."""

    def print(self, *objects: Any, soft_wrap: bool | None = None, **options: Any) -> None:
        wrap_off = not self.is_terminal if soft_wrap is None else soft_wrap
        super().print(*objects, soft_wrap=wrap_off, **options)


#: Markup is off: strings print as written (paths, run names and SQL hold brackets); styled
#: output is built with :func:`styled`.
console = _Console(markup=False)
err_console = _Console(stderr=True, markup=False)

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
    typer.Option(
        "--scheme",
        help="Fold scheme: luna2022, loao, kfold:K:SEED, emobox, gender6, corpora (leave one "
        "corpus out), cross:FROM:TO or sessions (IEMOCAP's).",
    ),
]
LabelsOpt = Annotated[
    str | None,
    typer.Option(
        "--labels",
        help="Train on a label map's classes: common4, common6, or a comma list of classes; "
        "clips of labels outside it are left out (and counted). Needed where the clips span "
        "corpora.",
    ),
]
ClipsOpt = Annotated[
    str | None,
    typer.Option(
        "--clips",
        help="Clip selection: a name (all, av-speech, speech, song, audio, video, ...) "
        'or a SQL condition on clips, e.g. "actor <= 12 AND intensity = 2".',
    ),
]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Write to this file instead of printing; its extension (.csv, .json, .md ...) "
        "says the format.",
    ),
]

#: The name of the run a command makes.
RunNameOpt = Annotated[str, typer.Option("--name", help="Run name.")]
#: The name of the feature set a command makes.
SetNameOpt = Annotated[str, typer.Option("--name", help="Feature set name.")]
SeedOpt = Annotated[
    int, typer.Option("--seed", help="Random seed of the run's models (recorded with the run).")
]
DeviceOpt = Annotated[
    str, typer.Option("--device", help="auto (CUDA when present), cpu, cuda or cuda:N.")
]
#: A deep model's hyper-parameter overrides (one value each: no grids).
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", help="Hyper-parameter override K=V (repeatable), e.g. max_epochs=50."),
]
InnerOpt = Annotated[
    int | None,
    typer.Option(
        "--inner",
        help="K actor-disjoint inner folds per fold: out-of-fold scores of every training clip "
        "(split 'oof') for a stacked fusion (`fuse --on oof`); K more trainings per fold.",
    ),
]
FoldsOpt = Annotated[
    str | None,
    typer.Option(
        "--folds",
        help="Train only these folds, e.g. 0,1 (other hosts run the rest with the same command; "
        "the run is complete when every fold is stored); I/N for every N-th fold from I; "
        "auto in a Slurm array task.",
    ),
]
#: A slice of the clips or files of a feature set (``embed``, ``ingest openface``).
ShardOpt = Annotated[
    str | None,
    typer.Option(
        "--shard",
        help="I/N: make only slice I of N of the clips (0-based), for N hosts; auto in a "
        "Slurm array task (or a torchrun process).",
    ),
]
SlurmOpt = Annotated[
    bool,
    typer.Option(
        "--slurm",
        help="Submit the work to Slurm as a job array instead of running it here; prints "
        "the job id (follow it with `mmemo jobs`).",
    ),
]
TasksOpt = Annotated[
    int | None,
    typer.Option(
        "--tasks",
        help="Array tasks of a --slurm job: shards of the clips or files, or parts of a grid "
        "(deep models: one per fold unless given).",
    ),
]
SlurmOptsOpt = Annotated[
    str | None,
    typer.Option(
        "--slurm-opts",
        help='sbatch options for --slurm, e.g. "--partition=gpu --gres=gpu:1 --time=4:00:00" '
        "(after the store's [slurm] options in mmemo.toml).",
    ),
]


def format_option(formats: str) -> Any:
    """A ``--format`` option (``None`` when not given: :func:`mmemo.outputs.output_format`
    then takes the format from ``--out``'s extension)."""
    return typer.Option(
        "--format",
        help=f"{formats} (default: table, or what --out's extension says).",
        show_default=False,
    )


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


def emit(text: str) -> None:
    """Print ``text`` as written (no markup, no highlighting; whole lines off a terminal)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def show(rendered: str | RenderableType, out: Path | None, rows: int) -> None:
    """Print what a command rendered, or write it (text: the format was resolved by
    :func:`mmemo.outputs.output_format`, never ``table`` with ``out``) atomically to ``out``
    and say so (``wrote N rows to PATH``, ``rows`` being the rows it holds)."""
    from mmemo.outputs import write_text, wrote

    if out is None:
        if isinstance(rendered, str):
            emit(rendered)
        else:
            console.print(rendered)
        return
    if not isinstance(rendered, str):
        raise TypeError(f"only text is written to --out, not {type(rendered).__name__}")
    write_text(out, rendered)
    console.print(wrote(out, rows))


def show_result(table: Any, fmt: str, out: Path | None) -> None:
    """Print an Arrow result as a table that fits the terminal, or as csv/json/markdown text;
    with ``out``, write it in ``fmt`` (resolved by :func:`mmemo.outputs.output_format`)."""
    from mmemo.outputs import result_table, result_text, write_result

    if out is not None:
        console.print(write_result(table, fmt, out))
    elif fmt == "table":
        console.print(result_table(table))
    else:
        emit(result_text(table, fmt))


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)
