"""The ``mmemo`` command: Typer sub-apps joined here, and the one error boundary."""

from __future__ import annotations

import functools
import gc
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from mmemo.cli import (
    corpus,
    demo,
    features,
    jobs,
    predict,
    reports,
    reproduce,
    store,
    synth,
    train,
)
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
synth.register(app)
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


#: The exit status of an interrupted command (128 + SIGINT), as Typer returns it.
INTERRUPTED = 128 + signal.SIGINT


@functools.cache
def command() -> typer.core.TyperGroup:
    """The app as a Click command, built once per process: building it reads the signature of
    every command (about 0.25 s), and the demo, the tour and the tests run many commands in
    one process. A Click command keeps no state between invocations."""
    return typer.main.get_command(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; turn library errors into one red line and exit status 2, an
    interrupt (Ctrl-C, SIGTERM) into one line and exit status 130 (143 after SIGTERM)."""
    try:
        _main(argv)
    finally:
        # Spare the interpreter's last collection over every object the command made (the
        # store's SQLAlchemy and Alembic objects): ~0.15 s of each command's exit.
        gc.freeze()


def _main(argv: list[str] | None) -> None:
    from mmemo.errors import MmemoError

    received: list[int] = []  # the signals that interrupted this command
    with _sigterm_as_interrupt(received):
        try:
            code = command()(args=argv, prog_name="mmemo", standalone_mode=False)
        except MmemoError as exc:
            if os.environ.get("MMEMO_DEBUG") == "1":
                raise
            err_console.print(styled(("error:", "red"), f" {exc}"), highlight=False, soft_wrap=True)
            sys.exit(2)
        except KeyboardInterrupt:
            code = INTERRUPTED
        except typer.Abort:
            err_console.print("aborted")
            sys.exit(1)
        except Exception as exc:  # usage errors from Typer's Click carry show() and exit_code
            handled = _usage_error(exc)
            if handled is not None:
                sys.exit(handled)
            from mmemo.store.backends import out_of_space

            if not out_of_space(exc) or os.environ.get("MMEMO_DEBUG") == "1":
                raise
            err_console.print(
                styled(("error:", "red"), f" {_no_space(argv, exc)}"),
                highlight=False,
                soft_wrap=True,
            )
            sys.exit(2)
    if code == INTERRUPTED:  # Typer turns Ctrl-C (and so SIGTERM) into exit status 130
        err_console.print(
            styled(("interrupted", "red"), ": nothing half-done was kept"), soft_wrap=True
        )
        code = 128 + received[-1] if received else INTERRUPTED  # 143 after SIGTERM
    if isinstance(code, int) and code:
        sys.exit(code)


def _no_space(argv: list[str] | None, exc: BaseException) -> str:
    """The one line of a full disk met outside the store's own writers (a model file a job
    saves, a scratch file), which say so themselves (mmemo.store.backends.no_space_error):
    the store is read back from the command line as the app parsed it (``--store``,
    ``MMEMO_STORE``, the default)."""
    from mmemo.store.backends import no_space_error
    from mmemo.store.store import default_store_path

    args = list(sys.argv[1:] if argv is None else argv)
    with command().make_context("mmemo", args, resilient_parsing=True) as ctx:
        store = ctx.params.get("store_dir") or default_store_path()
    file = getattr(exc, "filename", None)
    doing = f"writing {file}" if file else "writing a file"
    return str(no_space_error(Path(store).expanduser().absolute(), doing))


@contextmanager
def _sigterm_as_interrupt(received: list[int]) -> Iterator[None]:
    """Raise SIGTERM as KeyboardInterrupt while the command runs; append each signal to
    ``received``.

    SIGTERM is how a command is stopped by ``kill``, by Slurm (``scancel``, the time limit,
    pre-emption) and by a container runtime. Left at its default it ends the process at once:
    no message, claims left for a take-over, and joblib's worker processes orphaned to PID 1,
    still fitting and holding the caller's stdout open (4 loky workers were seen alive 10
    minutes later). As an interrupt it takes Ctrl-C's path: the jobs release what they held,
    the command says so, and it exits 143 (128 + SIGTERM) so that a caller can tell the two
    apart. joblib then stops its workers itself (``Parallel`` kills its pool when interrupted,
    loky's exit handler any pool left), so nothing more is done for them here: with an
    explicit shutdown of the pool here or without, tests/faults/test_sigterm.py found no worker
    left. Only the main thread may set handlers; elsewhere SIGTERM keeps its default.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        # A second SIGTERM ends the process as before: Python runs this handler only between
        # bytecodes, so a command stuck inside native code would otherwise not stop at all.
        signal.signal(signal.SIGTERM, previous)
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _usage_error(exc: Exception) -> int | None:
    show = getattr(exc, "show", None)
    code = getattr(exc, "exit_code", None)
    if show is None or code is None:
        return None
    show()
    return int(code)


__all__ = ["app", "main"]
