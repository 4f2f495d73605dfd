"""The README, run as written: its tour and every other block marked ``tour``, in order, in one
temporary folder, so that a stale example fails the suite (issue 23).

How README.md marks its fenced blocks (the info string after the opening fence):

1. ``bash tour``: each command line runs in bash, with the environment the tour's ``export``
   lines have set so far; ``mmemo`` and ``python`` are ``python -m mmemo`` and ``python`` of the
   interpreter running the tests. Every line must exit 0.
2. ``console tour``: each ``$ COMMAND`` line runs the same way; the lines under it are what it
   prints, stdout and stderr together as a terminal shows them, compared line by line with
   runs of whitespace collapsed and blank lines left out. A line ``...`` stands for any number
   of lines; without one the output must be exactly the lines shown. A command whose shown
   output has a line starting ``error:`` must fail with exit status 2 (the one-line errors);
   any other must exit 0.
3. ``sql tour``: the block is one query, run with ``mmemo sql``.
4. ``python tour``: the block is a script, run with the interpreter running the tests in the
   tour's folder and environment (``$MMEMO_STORE``); it must exit 0.
5. ``<!-- readme-test: skip (REASON) -->`` on the line just above a block: not run, for the
   reason given.

Every shell block (bash, sh, shell, console) is run or skipped with a reason, and the ``mmemo``
commands of every block, run or skipped, and of the inline code in the text parse against the
CLI (command names, options, arguments): the fast lane catches a renamed option or command
even in the blocks the tour cannot run. The tour itself trains models, so it is ``slow``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

SHELLS = {"bash", "sh", "shell", "console"}
SKIP = re.compile(r"^<!-- readme-test: skip \((?P<reason>[^)].*)\) -->$")
FENCE = re.compile(r"^(?P<indent> *)```(?P<info>.*)$")
#: Shell operators the parse check splits command lines on.
OPERATORS = {"&&", "||", ";", "|", "&"}
#: The bash prelude of every tour line: ``mmemo`` and ``python`` are this interpreter's.
PRELUDE = (
    'mmemo() { "$README_PYTHON" -m mmemo "$@"; }\n'
    'python() { "$README_PYTHON" "$@"; }\n'
    "set -eo pipefail\n"
)
#: Seconds one tour command may take (the demo, the fine-tune: well under a minute here).
COMMAND_TIMEOUT = 600


@dataclass(frozen=True)
class Block:
    """One fenced block of the README: its info string, first line number (1-based, the line
    after the opening fence), text lines and the skip reason written above it, if any."""

    info: tuple[str, ...]
    line: int
    lines: tuple[str, ...]
    skip: str | None

    @property
    def language(self) -> str:
        return self.info[0] if self.info else ""

    @property
    def tour(self) -> bool:
        return "tour" in self.info[1:]

    def where(self, offset: int = 0) -> str:
        return f"README.md:{self.line + offset}"


def _blocks(text: str) -> list[Block]:
    blocks, lines = [], text.split("\n")
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent = opening["indent"]
        end = next(
            j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"
        )  # a fence without its end is a broken README: StopIteration fails the test
        above = SKIP.match(lines[i - 1].strip()) if i else None
        body = tuple(line[len(indent) :] for line in lines[i + 1 : end])
        blocks.append(
            Block(tuple(opening["info"].split()), i + 2, body, above["reason"] if above else None)
        )
        i = end + 1
    return blocks


def _outside_fences(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line outside fenced blocks and their fences."""
    out, inside = [], False
    for number, line in enumerate(text.split("\n"), 1):
        if inside:
            inside = line.strip() != "```"
        elif FENCE.match(line):
            inside = True
        else:
            out.append((number, line))
    return out


def _logical_lines(lines: tuple[str, ...]) -> list[tuple[int, str]]:
    """(offset of the first line, text) of each command line: ``\\``-continued lines joined,
    blank and comment-only lines left out."""
    out, pending, start = [], "", 0
    for offset, line in enumerate(lines):
        if not pending:
            start = offset
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        whole = pending + line
        pending = ""
        if whole.strip() and not whole.lstrip().startswith("#"):
            out.append((start, whole.strip()))
    return out


@dataclass(frozen=True)
class Step:
    """One command of a console block with the output shown under it."""

    offset: int
    command: str
    expected: tuple[str, ...]


def _console_steps(block: Block) -> list[Step]:
    steps: list[Step] = []
    for offset, line in enumerate(block.lines):
        if line.startswith("$ "):
            steps.append(Step(offset, line[2:].strip(), ()))
        elif steps:
            last = steps[-1]
            steps[-1] = Step(last.offset, last.command, (*last.expected, line))
        elif line.strip():
            raise AssertionError(f"{block.where(offset)}: output before any `$ ` command")
    return steps


def _commands_of(block: Block) -> list[tuple[int, str]]:
    """The command lines of a block, with their offsets."""
    if block.language == "console":
        return [(step.offset, step.command) for step in _console_steps(block)]
    if block.language in SHELLS:
        return _logical_lines(block.lines)
    return []


# --- every block runs or says why not --------------------------------------------------------


def test_every_shell_block_is_run_or_skipped_with_a_reason() -> None:
    text = README.read_text(encoding="utf-8")
    blocks = _blocks(text)
    problems = []
    for block in blocks:
        if block.tour and block.skip:
            problems.append(f"{block.where()}: marked both tour and skip")
        elif block.language in SHELLS and not block.tour and not block.skip:
            problems.append(
                f"{block.where()}: a {block.language} block neither marked `tour` nor "
                "preceded by <!-- readme-test: skip (REASON) -->"
            )
        elif block.tour and block.language not in {"bash", "console", "sql", "python"}:
            problems.append(
                f"{block.where()}: the test runs bash, console, sql and python blocks only"
            )
        elif not block.language and any(re.match(r"^(\$ )?mmemo ", x) for x in block.lines):
            problems.append(f"{block.where()}: commands in a block without a language")
    # an indented code block of commands would escape both: fence it
    for number, line in _outside_fences(text):
        if re.match(r"^ {4,}(\$ )?mmemo ", line):
            problems.append(f"README.md:{number}: indented command block; fence it and mark it")
    assert not problems, "\n".join(problems)
    assert any(block.tour for block in blocks)


# --- every mmemo command parses ----------------------------------------------------------------


def _mmemo_argv(tokens: list[str]) -> list[str] | None:
    """The arguments ``mmemo`` gets from one simple command, or None when it runs no mmemo:
    ``mmemo ...``, ``torchrun ... -m mmemo ...``, and the GPU image or compose ``job`` service
    (whose entrypoint is mmemo)."""
    while tokens and re.match(r"^[A-Z_][A-Z0-9_]*=", tokens[0]):  # VAR=value mmemo ...
        tokens = tokens[1:]
    if not tokens:
        return None
    if tokens[0] == "mmemo":
        return tokens[1:]
    for i in range(len(tokens) - 1):
        if tokens[i : i + 2] == ["-m", "mmemo"]:
            return tokens[i + 2 :]
    if tokens[0] == "docker" and "run" in tokens and "--entrypoint" not in tokens:
        for i, token in enumerate(tokens[tokens.index("run") :], tokens.index("run")):
            if token in {"job", "mmemo-gpu"}:
                return tokens[i + 1 :]
    return None


def _simple_commands(line: str) -> list[list[str]]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in OPERATORS:
            commands.append([])
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


#: Errors of a command named without its required parts: inline text may name a command and
#: some of its options without giving a whole command line.
INCOMPLETE = ("MissingParameter", "NoArgsIsHelpError")


def _parse_error(argv: list[str], *, whole: bool = True) -> str | None:
    """Parse ``mmemo ARGV`` as the CLI would, without running it; the error, or None.
    ``whole=False``: missing arguments and option values are no error."""
    from mmemo.cli.main import command as mmemo_command

    command, name, args, ctx = mmemo_command(), "mmemo", argv, None
    try:
        while True:
            ctx = command.make_context(name, args, parent=ctx)
            if not hasattr(command, "resolve_command"):
                return None
            # a group keeps its subcommand's name in protected args (a private attribute of
            # the Click that Typer vendors; public ``protected_args`` in Click itself)
            rest = [*getattr(ctx, "_protected_args", ()), *ctx.args]
            if not rest:
                return None
            name, command, args = command.resolve_command(ctx, rest)
    except Exception as exc:  # Click's usage errors: no such command or option, missing ...
        kind = type(exc).__name__
        if not whole and (kind in INCOMPLETE or "requires an argument" in str(exc)):
            return None
        return f"{kind}: {exc}"


def _inline_commands(text: str) -> list[tuple[int, str]]:
    """Inline code spans that are whole mmemo commands (placeholders ``...`` and ``<...>``
    left out), outside fenced blocks."""
    out = []
    for number, line in _outside_fences(text):
        for span in re.findall(r"`(mmemo [^`]+)`", line):
            if not re.search(r"\.\.\.|…|<|\bNAME\b|\bI/N\b|--help", span):
                out.append((number, span))
    return out


def test_every_mmemo_command_in_the_readme_parses() -> None:
    text = README.read_text(encoding="utf-8")
    problems, parsed = [], 0
    commands = [
        (block.where(offset), line, True)
        for block in _blocks(text)
        for offset, line in _commands_of(block)
    ]
    commands += [(f"README.md:{number}", span, False) for number, span in _inline_commands(text)]
    for where, line, whole in commands:
        for tokens in _simple_commands(line):
            argv = _mmemo_argv(tokens)
            if argv is None:
                continue
            parsed += 1
            error = _parse_error(argv, whole=whole)
            if error:
                problems.append(f"{where}: {line}\n    {error}")
    assert not problems, "\n".join(problems)
    assert parsed > 100  # the README's commands were found


# --- the tour ----------------------------------------------------------------------------------


def _collapse(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` is ``expected`` with each ``...`` line standing for any lines."""
    parts: list[list[str]] = [[]]
    for line in expected:
        if line == "...":
            parts.append([])
        else:
            parts[-1].append(line)
    if len(parts) == 1:
        return actual == expected
    head, *middle, tail = parts
    if actual[: len(head)] != head or len(actual) < len(head) + len(tail):
        return False
    if tail and actual[len(actual) - len(tail) :] != tail:
        return False
    at, stop = len(head), len(actual) - len(tail)
    for part in middle:  # leftmost match of each part in turn is a match if any is
        found = next(
            (i for i in range(at, stop - len(part) + 1) if actual[i : i + len(part)] == part),
            None,
        )
        if found is None:
            return False
        at = found + len(part)
    return True


class Tour:
    """Runs README commands in one folder with an environment that ``export`` lines change."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MMEMO_")}
        self.env.update(
            README_PYTHON=sys.executable,
            COLUMNS="100",
            PYTHONIOENCODING="utf-8",
            HF_HUB_OFFLINE="1",  # the tour downloads nothing
            TRANSFORMERS_OFFLINE="1",
        )
        self.env.pop("NO_COLOR", None)
        self.seconds: list[tuple[float, str]] = []

    def run(self, line: str, where: str) -> subprocess.CompletedProcess[str]:
        if line.startswith("export "):
            for assignment in shlex.split(line)[1:]:
                key, _, value = assignment.partition("=")
                self.env[key] = value
            return subprocess.CompletedProcess(line, 0, "", "")
        started = time.perf_counter()
        try:
            done = subprocess.run(
                ["bash", "-c", PRELUDE + line],
                cwd=self.folder,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,  # interleaved as a terminal shows them
                text=True,
                timeout=COMMAND_TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"{where}: `{line}` ran over {COMMAND_TIMEOUT} s") from exc
        self.seconds.append((time.perf_counter() - started, line))
        return done

    def bash(self, block: Block) -> None:
        for offset, line in _logical_lines(block.lines):
            done = self.run(line, block.where(offset))
            assert done.returncode == 0, _failed(block.where(offset), line, done)

    def console(self, block: Block) -> None:
        for step in _console_steps(block):
            where = block.where(step.offset)
            done = self.run(step.command, where)
            expected = _collapse("\n".join(step.expected))
            wants_error = any(line.startswith("error:") for line in expected)
            assert done.returncode == (2 if wants_error else 0), _failed(where, step.command, done)
            actual = _collapse(done.stdout)
            assert _matches(expected, actual), (
                f"{where}: `{step.command}` printed other lines than the README shows\n"
                "README:\n  " + "\n  ".join(expected) + "\nprinted:\n  " + "\n  ".join(actual)
            )

    def sql(self, block: Block) -> None:
        query = self.folder / f"readme-{block.line}.sql"
        query.write_text("\n".join(block.lines) + "\n", encoding="utf-8")
        line = f"mmemo sql -f {query.name}"
        done = self.run(line, block.where())
        assert done.returncode == 0, _failed(block.where(), line, done)

    def python(self, block: Block) -> None:
        script = self.folder / f"readme-{block.line}.py"
        script.write_text("\n".join(block.lines) + "\n", encoding="utf-8")
        line = f"python {script.name}"
        done = self.run(line, block.where())
        print(f"{block.where()}: `{line}` printed:\n{done.stdout}")
        assert done.returncode == 0, _failed(block.where(), line, done)


def _failed(where: str, line: str, done: subprocess.CompletedProcess[str]) -> str:
    return f"{where}: `{line}` exited {done.returncode}:\n{done.stdout[-4000:]}"


@pytest.mark.slow
@pytest.mark.integration
def test_the_tour_runs_as_written(tmp_path: Path) -> None:
    """Every ``tour`` block, in README order, in one empty folder (about 3 minutes on 2 cores:
    the demo, a synthetic corpus of 3 actors, the tiny wav2vec2, models trained briefly)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    tour = Tour(tmp_path)
    try:
        for block in _blocks(README.read_text(encoding="utf-8")):
            if block.tour:
                getattr(tour, block.language)(block)
    finally:  # where the time went, shown with -s or beside a failure
        total = sum(seconds for seconds, _ in tour.seconds)
        print(f"tour: {len(tour.seconds)} commands, {total:.0f} s; the slowest:")
        for seconds, line in sorted(tour.seconds, reverse=True)[:8]:
            print(f"{seconds:6.1f} s  {line}")
