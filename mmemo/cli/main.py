"""The ``mmemo`` command: Typer sub-apps joined here, and the one error boundary."""

from __future__ import annotations

import gc
import os
import sys
from typing import Annotated

import typer

from mmemo.cli import corpus, demo, features, jobs, predict, reports, reproduce, store, train
from mmemo.cli.common import StoreOpt, err_console, styled

app = typer.Typer(
    name="mmemo",
    help="Multimodal emotion recognition research on a versioned store (RAVDESS, wav2vec2 "
    "embeddings, OpenFace Action Units, subject-wise CV, late fusion).\n\n"
    "Start with `mmemo demo`, or: mmemo init; mmemo ingest ravdess DIR; "
    "mmemo train static --model zeror --clips av-speech --name zeror; mmemo report zeror",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


@app.callback()
def _global(
    ctx: typer.Context,
    store_dir: StoreOpt = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            help="Show the progress bars and info logs of transformers, huggingface_hub and "
            "tqdm (off by default; also MMEMO_VERBOSE=1).",
        ),
    ] = False,
) -> None:
    from mmemo.cli.progress import quiet_libraries, verbose_requested

    verbose = verbose_requested(verbose)
    quiet_libraries(verbose)
    ctx.obj = {"store": store_dir, "verbose": verbose}


store.register(app)
corpus.register(app)
train.register(app)
# Top-level commands of several files, in the order `mmemo --help` lists them.
app.command()(reports.report)
app.command()(train.fuse)
app.command()(reports.compare)
app.command()(predict.predict)
demo.register(app)
features.register(app, corpus.ingest_app)
jobs.register(app)
reproduce.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; turn library errors into one red line and exit status 2."""
    try:
        _main(argv)
    finally:
        # Spare the interpreter's last collection over every object the command made (the
        # store's SQLAlchemy and Alembic objects): ~0.15 s of each command's exit.
        gc.freeze()


def _main(argv: list[str] | None) -> None:
    from mmemo.errors import MmemoError

    try:
        code = app(args=argv, prog_name="mmemo", standalone_mode=False)
    except MmemoError as exc:
        if os.environ.get("MMEMO_DEBUG") == "1":
            raise
        err_console.print(styled(("error:", "red"), f" {exc}"), highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        code = 130
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except Exception as exc:  # usage errors from Typer's Click carry show() and exit_code
        handled = _usage_error(exc)
        if handled is None:
            raise
        sys.exit(handled)
    if code == 130:  # Typer turns Ctrl-C into exit status 130
        err_console.print(
            styled(("interrupted", "red"), ": nothing half-done was kept"), soft_wrap=True
        )
    if isinstance(code, int) and code:
        sys.exit(code)


def _usage_error(exc: Exception) -> int | None:
    show = getattr(exc, "show", None)
    code = getattr(exc, "exit_code", None)
    if show is None or code is None:
        return None
    show()
    return int(code)


__all__ = ["app", "main"]
