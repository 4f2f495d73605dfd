"""How the CLI shows the library's progress, and how it keeps other libraries quiet.

The library reports through :mod:`mmemo.progress` and never prints; this module renders:

1. On a terminal, :class:`RichProgress` draws rich bars on stderr (nested tasks, e.g. the
   epochs inside a fold, share one live display) that move with every ``advance``.
2. Off a terminal (``2> log``, a batch job), bars would only smear control codes over the log,
   so the same object writes plain lines instead: one per task every few seconds at most
   (``MMEMO_PROGRESS_INTERVAL``, default 5 s) with done/total, a rate and an ETA, plus a final
   line when a task that took a while ends, e.g.
   ``train finetune: training folds 2/5 | fold 2: steps 41/300  2.1/s  ETA 1:52``.
   A task without a total (epochs that early stopping may end at any time) shows its count
   and the time per item, never an ETA; the outer task (the folds) carries the ETA:
   ``train bilstm: training folds 2/5 (ETA 3:10) | fold 2: epochs (early stopping, at most
   300) 41  0.52 s each``.
3. :func:`quiet_libraries` turns off the progress bars and info logs of transformers,
   huggingface_hub and tqdm ("Loading weights", "Writing model shards") unless ``--verbose``
   (or ``MMEMO_VERBOSE=1``) asks for them. It sets the libraries' environment switches, which
   they read when imported, so the CLI does not import them at start-up; modules already
   imported (a long-lived process, in-process tests) are switched through their own functions.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = [
    "DEFAULT_INTERVAL",
    "PlainProgress",
    "RichProgress",
    "format_duration",
    "quiet_libraries",
    "verbose_requested",
]

#: Seconds between two plain progress lines of one task (``MMEMO_PROGRESS_INTERVAL``).
DEFAULT_INTERVAL = 5.0

#: A task that ran at least this long gets a final plain line even if it printed none before.
_FINAL_LINE_AFTER = 1.0

#: Environment switches of the libraries, when quiet (value) and verbose (removed).
_QUIET_ENV = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TQDM_DISABLE": "1",
}
#: What ``quiet_libraries(verbose=False)`` found before setting its switches: restored when
#: verbose is asked for later in the same process.
_saved_env: dict[str, str | None] = {}


def verbose_requested(flag: bool) -> bool:
    """``--verbose`` given, or ``MMEMO_VERBOSE`` set to 1/true/yes."""
    return flag or os.environ.get("MMEMO_VERBOSE", "").strip().lower() in ("1", "true", "yes")


def quiet_libraries(verbose: bool) -> None:
    """Silence (or, with ``verbose``, restore) third-party progress bars and info logs."""
    if verbose:
        for key, value in _saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _saved_env.clear()
    else:
        for key, value in _QUIET_ENV.items():
            if os.environ.get(key) != value:
                _saved_env.setdefault(key, os.environ.get(key))
                os.environ[key] = value
    _switch_imported(verbose)


def _switch_imported(verbose: bool) -> None:
    """The same switches for libraries this process imported already (they read the
    environment only once)."""
    hub = sys.modules.get("huggingface_hub.utils")
    if hub is not None:
        if verbose and "HF_HUB_DISABLE_PROGRESS_BARS" not in os.environ:
            # the hub froze the variable it was imported under; it would refuse to enable
            for name in ("huggingface_hub.constants", "huggingface_hub.utils.tqdm"):
                module = sys.modules.get(name)
                if getattr(module, "HF_HUB_DISABLE_PROGRESS_BARS", None) is True:
                    module.HF_HUB_DISABLE_PROGRESS_BARS = None  # type: ignore[union-attr]
        (hub.enable_progress_bars if verbose else hub.disable_progress_bars)()
    hf_logging = sys.modules.get("transformers.utils.logging")
    if hf_logging is not None:
        if verbose:
            hf_logging.enable_progress_bar()
            hf_logging.set_verbosity_warning()
        else:
            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()


def format_duration(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _interval() -> float:
    text = os.environ.get("MMEMO_PROGRESS_INTERVAL")
    try:
        return max(0.0, float(text)) if text else DEFAULT_INTERVAL
    except ValueError:
        return DEFAULT_INTERVAL


class _PlainTask:
    """One task of :class:`PlainProgress`: counts and throttles its own lines."""

    def __init__(self, owner: PlainProgress, description: str, total: int | None) -> None:
        self._owner = owner
        self.description = description
        self.total = total
        self.done = 0
        self.started = owner.clock()
        self._last_line = self.started
        self._last_advance = self.started
        self.printed = False

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = self._last_advance = self._owner.clock()
        if self.total is not None and self.done >= self.total:
            return  # the final line follows when the task ends
        if now - self._last_line >= self._owner.interval:
            self._last_line = now
            self.printed = True
            self._owner.write(self._owner.line(self, now))

    def status(self) -> str:
        """``description done/total``, or ``description done`` for a task without a total."""
        if self.total is None:
            return f"{self.description} {self.done}"
        return f"{self.description} {self.done}/{self.total}"

    def eta(self, now: float) -> float | None:
        """Seconds left at the mean time per finished item, less the time spent on the item
        under way (so an outer task's ETA counts down between its items); None without a
        total or before the first item."""
        spent = self._last_advance - self.started
        if self.total is None or self.done <= 0 or spent <= 0:
            return None
        left = max(0, self.total - self.done) * spent / self.done
        return max(0.0, left - (now - self._last_advance))


class PlainProgress:
    """The Progress protocol as plain, throttled lines: for logs and pipes.

    Args:
        label: Put before every line (the command, e.g. ``train bilstm``).
        write: Where lines go (default: stderr, flushed).
        interval: Seconds between two lines of one task; None reads
            ``MMEMO_PROGRESS_INTERVAL`` (default 5).
        clock: Monotonic seconds (tests pass a fake one).
    """

    def __init__(
        self,
        label: str | None = None,
        *,
        write: Callable[[str], None] | None = None,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.write = write or _write_stderr
        self.interval = _interval() if interval is None else interval
        self.clock = clock
        self._stack: list[_PlainTask] = []

    @contextmanager
    def task(self, description: str, total: int | None) -> Iterator[_PlainTask]:
        task = _PlainTask(self, description, total)
        self._stack.append(task)
        try:
            yield task
        finally:
            self._stack.remove(task)
        now = self.clock()
        if task.printed or now - task.started >= min(_FINAL_LINE_AFTER, self.interval):
            self.write(self.line(task, now, final=True))

    def line(self, task: _PlainTask, now: float, *, final: bool = False) -> str:
        """``label: outer tasks | task done/total  rate/s  ETA`` (or ``done in`` its time).

        An outer task with a total shows its own ETA once it has one (the folds' ETA beside
        the epochs of a fold); a task without a total shows the time per item instead of a
        rate and never an ETA.
        """
        outer = [_with_eta(t, now) for t in self._stack if t is not task]
        parts = [*outer, task.status()]
        text = " | ".join(parts)
        elapsed = now - task.started
        rate = task.done / elapsed if elapsed > 0 else 0.0
        pace = _rate(rate) if task.total is not None or not rate else _each(1 / rate)
        if final:
            text += f"  done in {format_duration(elapsed)}"
            if rate:
                text += f"  {pace}"
        else:
            text += f"  {pace}"
            eta = task.eta(now)
            if eta is not None:
                text += f"  ETA {format_duration(eta)}"
        return f"{self.label}: {text}" if self.label else text


def _with_eta(task: _PlainTask, now: float) -> str:
    eta = task.eta(now) if task.done < (task.total or 0) else None
    return task.status() + (f" (ETA {format_duration(eta)})" if eta is not None else "")


def _each(seconds: float) -> str:
    """Time per item: ``0.52 s each``, ``12.0 s each``."""
    return f"{seconds:.2f} s each" if seconds < 1 else f"{seconds:.1f} s each"


def _rate(per_second: float) -> str:
    if per_second >= 1 or per_second == 0:
        return f"{per_second:.1f}/s"
    return f"{1 / per_second:.1f} s each"


def _write_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _RichTask:
    def __init__(self, progress: Progress, task_id: Any) -> None:
        self._progress = progress
        self._id = task_id

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._id, n)


class _RateColumn(ProgressColumn):
    """Items per second, or the time per item for a task without a total (epochs)."""

    def render(self, task: Any) -> Text:
        if not task.speed:
            return Text("")
        pace = f"{task.speed:.1f}/s" if task.total is not None else _each(1 / task.speed)
        return Text(pace, style="cyan")


class _CountColumn(MofNCompleteColumn):
    """``done/total``, or ``done`` alone for a task without a total (not ``done/?``)."""

    def render(self, task: Any) -> Text:
        if task.total is None:
            return Text(str(int(task.completed)), style="progress.download")
        return super().render(task)


class _RemainingColumn(TimeRemainingColumn):
    """The ETA, left blank for a task without a total (not ``-:--:--``)."""

    def render(self, task: Any) -> Text:
        return Text("") if task.total is None else super().render(task)


class RichProgress:
    """The library's Progress protocol on stderr: rich bars on a terminal, plain lines
    (:class:`PlainProgress`) otherwise.

    Nested tasks (folds, then epochs inside a fold) share one live display.

    Args:
        label: The command, put before plain lines (e.g. ``train bilstm``).
        console: The console to draw on (default: the CLI's stderr console).
    """

    def __init__(self, label: str | None = None, *, console: Console | None = None) -> None:
        self._console = console
        self._label = label
        self._live: Progress | None = None
        self._plain: PlainProgress | None = None

    def _target(self) -> Console:
        if self._console is None:
            from mmemo.cli.common import err_console

            self._console = err_console
        return self._console

    @contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Any]:
        console = self._target()
        if not console.is_terminal:
            if self._plain is None:
                self._plain = PlainProgress(self._label, write=_console_writer(console))
            with self._plain.task(description, total) as plain:
                yield plain
            return
        if self._live is not None:
            task_id = self._live.add_task(description, total=total)
            try:
                yield _RichTask(self._live, task_id)
            finally:
                self._live.remove_task(task_id)
            return
        columns = [
            TextColumn("{task.description}", style="bold", markup=False),
            BarColumn(),
            _CountColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            _RemainingColumn(),
        ]
        with Progress(*columns, console=console, transient=True) as progress:
            self._live = progress
            try:
                yield _RichTask(progress, progress.add_task(description, total=total))
            finally:
                self._live = None


def _console_writer(console: Console) -> Callable[[str], None]:
    def write(line: str) -> None:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
        console.file.flush()

    return write
